// Inference and scoring.
#include "nodes/model/captioning.h"

#include <oneapi/tbb/parallel_for.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "graph/errors.h"
#include "nodes/chem/inchi_isolated.h"
#include "nodes/io/image_codec.h"
#include "nodes/io/labels_csv.h"
#include "nodes/model/attention_decoder.h"
#include "nodes/model/caption_search.h"
#include "nodes/model/checkpoint.h"
#include "nodes/model/chunked_conversion.h"
#include "nodes/model/device_batch.h"
#include "nodes/model/hypothesis_choice.h"
#include "nodes/model/inference.h"
#include "nodes/model/precision_choice.h"
#include "nodes/model/torchscript_export.h"
#include "nodes/text/levenshtein.h"

namespace capflow::model {

CaptionModel load_caption_model(const std::string& checkpoint_path, CheckpointInfo* info_out) {
  const std::string path = resolve_checkpoint(checkpoint_path);
  const CheckpointInfo info = read_checkpoint_info(path);
  CaptionModel m;
  text::Notation notation = text::Notation::kInchi;
  try {
    notation = text::parse_notation(info.notation);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("checkpoint '" + path + "': " + e.what());
  }
  m.vocabulary = text::Vocabulary::from_tokens(info.vocabulary, path, notation);
  EncoderOptions eo;
  eo.depth = static_cast<int>(info.encoder_depth);
  eo.stages = static_cast<int>(info.encoder_stages);
  eo.width = static_cast<int>(info.encoder_width);
  m.encoder = ResNetEncoder(eo);
  DecoderOptions d;
  try {
    d.kind = parse_decoder_kind(info.decoder);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("checkpoint '" + path + "': " + e.what());
  }
  d.layers = static_cast<int>(info.layers);
  d.heads = static_cast<int>(info.heads);
  d.ffn = static_cast<int>(info.ffn);
  d.vocab_size = static_cast<int>(m.vocabulary.size());
  d.embed = static_cast<int>(info.embed);
  d.hidden = static_cast<int>(info.hidden);
  d.attention = static_cast<int>(info.attention);
  d.dropout = info.dropout;
  d.formula_head = static_cast<int>(info.formula_head);
  d.atom_classes = static_cast<int>(info.atom_head);
  d.encoder_channels = m.encoder->feature_channels();
  m.decoder = make_decoder(d);
  load_checkpoint(path, *m.encoder, *m.decoder, nullptr);
  // A model trained in bf16 runs in bf16 where bf16 is fast on this CPU, else in fp32 (its
  // weights are fp32; precision_choice.h).
  const bool bf16 = parse_precision(info.precision) == Precision::kBf16;
  m.precision = bf16 && cpu_runs_bf16_fast() ? Precision::kBf16 : Precision::kFp32;
  m.width = static_cast<int>(info.image_width);
  m.height = static_cast<int>(info.image_height);
  if (m.channels_last) to_channels_last(*m.encoder);
  m.encoder->eval();
  m.decoder->eval();
  if (info_out) *info_out = info;
  return m;
}

io::GrayImage load_model_image(const CaptionModel& model, const std::string& path,
                               const image::AugmentOptions& augment) {
  image::AugmentOptions fixed = augment;
  fixed.width = model.width;
  fixed.height = model.height;
  fixed.rotate = 0;
  fixed.noise = 0;
  fixed.jitter = 0;
  const auto bytes = io::read_file(path);
  const io::GrayImage img =
      io::decode_image_gray_fit(bytes.data(), bytes.size(), path, {}, model.width, model.height);
  SeededRng unused{0};
  return image::bms_augment(img, fixed, unused);
}

namespace {

// The candidates' InChIs: the texts themselves, or their SMILES converted by Open Babel.
// `valid` (when asked for): the InChI parses back, or the SMILES converted as written.
struct Spelled {
  std::vector<std::string> inchis;
  std::vector<bool> valid;
};

Spelled spell_as_inchis(const CaptionModel& model, std::vector<std::string> texts,
                        bool with_validity) {
  Spelled out;
  if (model.vocabulary.notation() == text::Notation::kInchi) {
    if (with_validity) out.valid = chem::check_inchis_isolated(texts).valid;
    out.inchis = std::move(texts);
    return out;
  }
  for (auto& c : chem::inchis_from_smiles_isolated(texts)) {
    out.inchis.push_back(std::move(c.inchi));
    out.valid.push_back(c.as_written);
  }
  return out;
}

// Beam search keeping, per image, the best hypothesis that is valid (else the best).
std::vector<std::string> decode_preferring_valid(CaptionModel& model, const torch::Tensor& features,
                                                 const PredictOptions& options) {
  const auto ranked = beam_search_ranked(*model.decoder, features, options.beam, options.max_length,
                                         text::Vocabulary::kSos, text::Vocabulary::kEos);
  std::vector<std::string> texts;  // every candidate of the batch: one round of checks
  for (const auto& hyps : ranked)
    for (const auto& h : hyps) texts.push_back(model.vocabulary.decode(h.tokens));
  Spelled spelled = spell_as_inchis(model, std::move(texts), true);
  std::vector<std::string> out;
  out.reserve(ranked.size());
  std::size_t first = 0;  // the image's first candidate in `spelled`
  for (const auto& hyps : ranked) {
    std::vector<double> scores;
    std::vector<bool> valid;
    for (std::size_t k = 0; k < hyps.size(); ++k) {
      scores.push_back(hyps[k].score);
      valid.push_back(spelled.valid[first + k]);
    }
    out.push_back(std::move(spelled.inchis[first + choose_hypothesis(scores, valid)]));
    first += hyps.size();
  }
  return out;
}

// Each image's caption from a batch of features: InChIs already when a beam chose among valid
// hypotheses (`spelled`), else what the model wrote (SMILES or InChI), spelled later.
struct Decoded {
  std::vector<std::string> texts;
  bool spelled = false;
};

Decoded decode_batch(CaptionModel& model, const torch::Tensor& features,
                     const PredictOptions& options) {
  if (options.beam > 1 && options.prefer_valid)
    return {decode_preferring_valid(model, features, options), true};
  const auto sequences =
      options.beam > 1 ? beam_search(*model.decoder, features, options.beam, options.max_length,
                                     text::Vocabulary::kSos, text::Vocabulary::kEos)
                       : greedy_decode(*model.decoder, features, options.max_length,
                                       text::Vocabulary::kSos, text::Vocabulary::kEos);
  Decoded out;
  out.texts.reserve(sequences.size());
  for (const auto& seq : sequences) out.texts.push_back(model.vocabulary.decode(seq));
  return out;
}

}  // namespace

std::vector<std::string> as_inchis(const CaptionModel& model, std::vector<std::string> texts) {
  return spell_as_inchis(model, std::move(texts), false).inchis;
}

namespace {

// Reads and preprocesses samples [begin, end) in parallel into `pixels` (white when a sample
// fails), setting each prediction's id, ok and error; never throws for a bad image.
void load_batch(const CaptionModel& model, const std::vector<io::SampleRef>& samples,
                std::size_t begin, std::size_t end, const image::AugmentOptions& augment,
                std::vector<std::uint8_t>& pixels, std::vector<Prediction>& out) {
  const std::size_t frame = static_cast<std::size_t>(model.width) * model.height;
  pixels.assign((end - begin) * frame, 255);
  tbb::parallel_for(begin, end, [&](std::size_t i) {
    Prediction& p = out[i];
    p.id = samples[i].id;
    try {
      const io::GrayImage fitted = load_model_image(model, samples[i].path, augment);
      std::memcpy(&pixels[(i - begin) * frame], fitted.pixels.data(), fitted.pixels.size());
      p.ok = true;
    } catch (const std::exception& e) {
      p.ok = false;
      p.error = e.what();
    }
  });
}

}  // namespace

std::vector<Prediction> predict_captions(CaptionModel& model,
                                         const std::vector<io::SampleRef>& samples,
                                         const PredictOptions& options) {
  std::vector<Prediction> out(samples.size());
  const int w = model.width, h = model.height;
  const bool was_training = model.encoder->is_training() || model.decoder->is_training();
  model.encoder->eval();
  model.decoder->eval();
  const std::size_t batch = static_cast<std::size_t>(std::max(1, options.batch));
  std::vector<std::uint8_t> pixels;
  // SMILES spelled as InChIs 2,048 at a time (chunked_conversion.h: each conversion forks).
  ChunkedConversion pending(
      2048, [&model](std::vector<std::string> texts) { return as_inchis(model, std::move(texts)); },
      [&out](std::size_t i, std::string inchi) { out[i].inchi = std::move(inchi); });
  for (std::size_t begin = 0; begin < samples.size(); begin += batch) {
    const std::size_t end = std::min(samples.size(), begin + batch);
    load_batch(model, samples, begin, end, options.augment, pixels, out);
    std::vector<std::int64_t> rows;
    for (std::size_t i = begin; i < end; ++i)
      if (out[i].ok) rows.push_back(static_cast<std::int64_t>(i - begin));
    if (!rows.empty()) {
      torch::NoGradGuard no_grad;
      torch::Tensor x =
          to_model_input(pixels.data(), static_cast<int>(end - begin), h, w, model.channels_last);
      if (rows.size() != end - begin) x = x.index_select(0, torch::tensor(rows));
      const torch::Device device = module_device(*model.encoder);  // a GPU run's evaluation: there
      x = x.to(device);
      Decoded decoded;
      {
        AutocastGuard autocast(model.precision, device.type());
        decoded = decode_batch(model, model.encoder->forward(x), options);
      }
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const std::size_t i = begin + static_cast<std::size_t>(rows[r]);
        if (decoded.spelled)
          out[i].inchi = std::move(decoded.texts[r]);
        else
          pending.add(i, std::move(decoded.texts[r]));
      }
    }
    if (end == samples.size()) pending.flush();
    if (options.progress) options.progress(end, samples.size());
  }
  if (was_training) {
    model.encoder->train();
    model.decoder->train();
  }
  return out;
}

EvalResult score_predictions(const std::vector<Prediction>& predictions,
                             const std::vector<io::SampleRef>& samples) {
  if (predictions.size() != samples.size())
    throw std::logic_error("score_predictions: predictions and samples differ in number");
  EvalResult r;
  r.images = samples.size();
  if (samples.empty()) return r;
  double distance = 0;
  std::size_t exact = 0, valid = 0;
  std::vector<std::string> texts;  // what validity is checked on (empty: unreadable image)
  texts.reserve(predictions.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const Prediction& p = predictions[i];
    if (!p.ok) ++r.unreadable;
    distance += static_cast<double>(text::levenshtein(p.inchi, samples[i].label));
    if (p.ok && p.inchi == samples[i].label) ++exact;
    texts.push_back(p.ok ? p.inchi : std::string());
  }
  // The InChI library can crash on a malformed prediction: check in child processes.
  const chem::IsolatedChecks checks = chem::check_inchis_isolated(texts);
  for (const bool v : checks.valid) valid += v ? 1 : 0;
  if (!checks.crashed.empty()) {
    std::cerr << "warning: " << checks.crashed.size() << " of " << texts.size()
              << " predictions crashed the InChI library's parser and count as invalid InChIs "
              << "(first: image " << samples[checks.crashed.front()].id << ", predicted '"
              << texts[checks.crashed.front()] << "')\n";
  }
  const double n = static_cast<double>(samples.size());
  r.levenshtein_mean = distance / n;
  r.exact_match = static_cast<double>(exact) / n;
  r.valid_inchi_fraction = static_cast<double>(valid) / n;
  return r;
}

namespace {
PredictOptions predict_options(const InferenceOptions& o) {
  PredictOptions p;
  p.beam = o.beam;
  p.prefer_valid = o.prefer_valid;
  p.batch = o.batch;
  p.max_length = o.max_length;
  p.progress = o.progress;
  return p;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

EvalReport evaluate_checkpoint(const std::string& checkpoint, const std::string& data_dir,
                               std::size_t limit, const InferenceOptions& options) {
  CheckpointInfo info;
  CaptionModel m = load_caption_model(checkpoint, &info);
  const std::vector<io::SampleRef> samples =
      io::list_bms(data_dir, "train_labels.csv", "train", "auto").samples(limit);
  const auto t0 = std::chrono::steady_clock::now();
  const auto predictions = predict_captions(m, samples, predict_options(options));
  const double seconds = seconds_since(t0);
  for (const auto& p : predictions)
    if (!p.ok && options.warn) options.warn(p.error);
  const EvalResult r = score_predictions(predictions, samples);
  EvalReport out;
  out.levenshtein_mean = r.levenshtein_mean;
  out.exact_match = r.exact_match;
  out.valid_inchi_fraction = r.valid_inchi_fraction;
  out.images = r.images;
  out.unreadable = r.unreadable;
  out.seconds = seconds;
  out.images_per_second = seconds > 0 ? static_cast<double>(r.images) / seconds : 0.0;
  out.checkpoint = info.path;
  if (options.reliance)
    out.reliance = measure_image_reliance(
        m, batch::CaptionTargets(m.vocabulary.notation(), data_dir + "/" + io::kSmilesFile),
        samples, options.batch, options.max_length);
  return out;
}

PredictReport predict_folder(const std::string& checkpoint, const std::string& images_dir,
                             const std::string& out_csv, const InferenceOptions& options) {
  CheckpointInfo info;
  CaptionModel m = load_caption_model(checkpoint, &info);
  const std::vector<io::SampleRef> samples = io::list_image_folder(images_dir).samples();
  const auto t0 = std::chrono::steady_clock::now();
  const auto predictions = predict_captions(m, samples, predict_options(options));
  PredictReport out;
  out.seconds = seconds_since(t0);
  out.images = predictions.size();
  out.images_per_second = out.seconds > 0 ? static_cast<double>(out.images) / out.seconds : 0.0;
  out.checkpoint = info.path;
  const std::string tmp = out_csv + ".partial";
  {
    std::ofstream csv(tmp, std::ios::trunc);
    if (!csv) throw ConfigError("cannot write '" + tmp + "'");
    csv << io::kLabelsHeader << '\n';
    for (const auto& p : predictions) {
      if (!p.ok) {
        ++out.unreadable;
        if (options.warn) options.warn(p.error + " (written with an empty InChI)");
      }
      csv << io::format_label_line(p.id, p.inchi);
    }
    csv.flush();
    if (!csv) throw Error("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), out_csv.c_str()) != 0)
    throw Error("cannot rename '" + tmp + "' to '" + out_csv + "': " + std::strerror(errno));
  return out;
}

std::string export_torchscript(const std::string& checkpoint, const std::string& out_dir) {
  CheckpointInfo info;
  CaptionModel m = load_caption_model(checkpoint, &info);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw ConfigError("cannot create '" + out_dir + "': " + ec.message());
  export_encoder_torchscript(m.encoder, out_dir + "/encoder.pt");
  auto lstm = std::dynamic_pointer_cast<AttentionDecoderImpl>(m.decoder.ptr());
  if (!lstm)
    throw ConfigError("checkpoint '" + info.path + "' has a " + info.decoder +
                      ": TorchScript export covers attention_lstm decoders only");
  AttentionDecoder decoder(lstm);
  export_decoder_torchscript(decoder, out_dir + "/decoder.pt");
  m.vocabulary.save(out_dir + "/vocab.txt");
  return info.path;
}

}  // namespace capflow::model
