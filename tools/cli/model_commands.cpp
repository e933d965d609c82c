// capflow eval --checkpoint PATH --data DIR [--limit N] [--beam K] [--no-prefer-valid]
//              [--reliance]
// capflow predict --checkpoint PATH --images DIR --out submission.csv [--beam K]
//                 [--no-prefer-valid]
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "nodes/model/inference.h"
#include "nodes/model/torch_runtime.h"
#include "tools/cli/commands.h"

namespace capflow::cli {

namespace {

struct ModelCommandOptions {
  std::string checkpoint;
  std::string data;
  std::string images;
  std::string out;
  std::size_t limit = 0;
  int threads = 0;
  model::InferenceOptions inference;
};

// The thread budget of an inference: oneTBB (reading, decoding) and LibTorch alike.
std::unique_ptr<tbb::global_control> use_threads(int threads) {
  if (threads <= 0) threads = tbb::info::default_concurrency();
  model::set_torch_threads(threads);
  return std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                               static_cast<std::size_t>(threads));
}

void add_common(CLI::App* cmd, ModelCommandOptions& o) {
  cmd->add_option("--checkpoint", o.checkpoint, "Checkpoint file, checkpoints folder or run folder")
      ->required();
  cmd->add_option("--beam", o.inference.beam, "Beam width (1: greedy)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_flag_callback(
      "--no-prefer-valid", [&o] { o.inference.prefer_valid = false; },
      "With --beam > 1: keep the best-scoring hypothesis even when it is not a valid InChI "
      "(default: the best valid one)");
  cmd->add_option("--batch", o.inference.batch, "Images per batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--max-length", o.inference.max_length, "Decoding steps at most")
      ->capture_default_str()
      ->check(CLI::Range(2, 4096));
  cmd->add_option("--threads", o.threads, "Threads (0: all cores)")->capture_default_str();
  o.inference.warn = [](const std::string& line) {
    std::cerr << "capflow: warning: " << line << std::endl;
  };
}

nlohmann::json reliance_json(const model::RelianceResult& r) {
  return {{"loss_real", r.loss_real},
          {"loss_shuffled", r.loss_shuffled},
          {"levenshtein_real", r.levenshtein_real},
          {"levenshtein_shuffled", r.levenshtein_shuffled},
          {"ratio", r.ratio},  // null when infinite
          {"images", r.images},
          {"skipped", r.skipped}};
}

}  // namespace

void add_export_command(CLI::App& app);

void add_model_commands(CLI::App& app) {
  add_export_command(app);
  auto e = std::make_shared<ModelCommandOptions>();
  auto* eval =
      app.add_subcommand("eval", "Score a checkpoint on a labelled dataset (one JSON object)");
  add_common(eval, *e);
  eval->add_option("--data", e->data, "Dataset folder (BMS layout: train_labels.csv, train/a/b/c/)")
      ->required();
  eval->add_option("--limit", e->limit, "Only the first N images (0: all)")->capture_default_str();
  eval->add_flag("--reliance", e->inference.reliance,
                 "Also measure how much the model relies on the image: loss and Levenshtein with "
                 "each image vs with the images swapped across the batch");
  eval->callback([e] {
    const auto threads = use_threads(e->threads);
    const model::EvalReport r =
        model::evaluate_checkpoint(e->checkpoint, e->data, e->limit, e->inference);
    nlohmann::json out = {{"levenshtein_mean", r.levenshtein_mean},
                          {"exact_match", r.exact_match},
                          {"valid_inchi_fraction", r.valid_inchi_fraction},
                          {"images", r.images},
                          {"unreadable", r.unreadable},
                          {"images_per_second", r.images_per_second},
                          {"seconds", r.seconds},
                          {"beam", e->inference.beam},
                          {"prefer_valid", e->inference.prefer_valid && e->inference.beam > 1},
                          {"checkpoint", r.checkpoint}};
    if (r.reliance) out["reliance"] = reliance_json(*r.reliance);
    std::cout << out.dump(2) << std::endl;
  });

  auto p = std::make_shared<ModelCommandOptions>();
  auto* predict =
      app.add_subcommand("predict", "Write a submission (image_id,InChI) for a folder of images");
  add_common(predict, *p);
  predict->add_option("--images", p->images, "Folder of PNG/JPEG images (any depth)")->required();
  predict->add_option("--out", p->out, "Submission file")->required();
  predict->callback([p] {
    const auto threads = use_threads(p->threads);
    const model::PredictReport r =
        model::predict_folder(p->checkpoint, p->images, p->out, p->inference);
    std::printf(
        "predict: %zu rows written to %s (%zu unreadable images with an empty InChI) in %.2f s = "
        "%.1f images/s\n",
        r.images, p->out.c_str(), r.unreadable, r.seconds, r.images_per_second);
  });
}

void add_export_command(CLI::App& app) {
  auto checkpoint = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "export", "Write a checkpoint's encoder and decoder as TorchScript (torch.jit.load)");
  cmd->add_option("--checkpoint", *checkpoint, "Checkpoint file, checkpoints folder or run folder")
      ->required();
  cmd->add_option("--out", *out, "Folder for encoder.pt, decoder.pt and vocab.txt")->required();
  cmd->callback([checkpoint, out] {
    const std::string used = model::export_torchscript(*checkpoint, *out);
    std::printf("export: %s -> %s/encoder.pt, %s/decoder.pt, %s/vocab.txt\n", used.c_str(),
                out->c_str(), out->c_str(), out->c_str());
  });
}

}  // namespace capflow::cli
