// Training, checkpoints, eval and predict end to end: the real binary on a tiny generated
// dataset with a small pipeline (tests/pipelines/tiny-train.yaml).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nodes/io/image_codec.h"
#include "nodes/io/labels_csv.h"
#include "nodes/model/model_flops.h"
#include "nodes/model/precision_choice.h"
#include "tests/run_metrics.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using capflow::testing::losses;
using capflow::testing::metric;
using capflow::testing::read_text;
using capflow::testing::run_command;

namespace {

const std::string kBin = CAPFLOW_BINARY;
const std::string kPipeline = std::string(CAPFLOW_SOURCE_DIR) + "/tests/pipelines/tiny-train.yaml";

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = capflow::testing::make_temp_dir("traincli");
    auto r =
        run_command(kBin + " data make --out " + base_ + "/data --count 24 --seed 5 --no-progress");
    ASSERT_EQ(r.status, 0) << r.output;
    r = run_command(kBin + " data make --out " + base_ +
                    "/holdout --count 8 --seed 6 --no-progress --exclude " + base_ +
                    "/data/train_labels.csv");
    ASSERT_EQ(r.status, 0) << r.output;
    // The uninterrupted reference run: 6 steps, checkpoints at 3 and 6.
    r = train("whole", "");
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() { fs::remove_all(base_); }

  static capflow::testing::RunResult train(const std::string& name, const std::string& extra) {
    return run_command(kBin + " run " + kPipeline + " --quiet --out " + base_ + "/" + name +
                       " --set data.root=" + base_ + "/data --set data.val_root=" + base_ +
                       "/holdout " + extra);
  }

  static inline std::string base_;
};

TEST_F(TrainCli, TrainsWritesCheckpointsAndEvaluates) {
  const auto summary = read_json(base_ + "/whole/summary.json");
  EXPECT_EQ(summary.at("steps"), 6);
  EXPECT_EQ(summary.at("images"), 48);
  EXPECT_TRUE(summary.at("loss_first").is_number());
  EXPECT_TRUE(summary.at("loss_last").is_number());
  const auto& eval = summary.at("eval");
  EXPECT_EQ(eval.at("images"), 8);
  EXPECT_GT(eval.at("levenshtein_mean").get<double>(), 0.0);
  EXPECT_GE(eval.at("exact_match").get<double>(), 0.0);
  EXPECT_LE(eval.at("valid_inchi_fraction").get<double>(), 1.0);
  EXPECT_EQ(eval.at("beam"), 1);  // greedy by default
  EXPECT_TRUE(fs::exists(base_ + "/whole/checkpoints/step-00000003.pt"));
  EXPECT_TRUE(fs::exists(base_ + "/whole/checkpoints/step-00000006.pt"));
  for (const auto& e : fs::directory_iterator(base_ + "/whole/checkpoints"))
    EXPECT_EQ(e.path().extension(), ".pt") << e.path();  // no .partial left behind
}

TEST_F(TrainCli, SummaryHasModelFlopsAndTheShareOfThePeak) {
  const auto summary = read_json(base_ + "/whole/summary.json");
  const auto& mfu = summary.at("mfu");
  // The encode node counted 6 steps × 8 images of its 64×64 forward (ResNet-18, 1 channel).
  const double encoder = capflow::model::encoder_forward_flops({18, 1, 4, 64}, 64, 64);
  EXPECT_EQ(summary.at("nodes").at("encode").at("counters").at("flops").get<double>(),
            48 * encoder);
  // Forward + backward: 3 × (encoder + decoder) per image, so more than 3 × the encoder.
  EXPECT_GT(mfu.at("model_flops_per_image").get<double>(), 3 * encoder);
  EXPECT_EQ(mfu.at("model_flops").get<double>(),
            48 * mfu.at("model_flops_per_image").get<double>());
  EXPECT_GT(mfu.at("gflops_per_second").get<double>(), 0.0);
  // tiny-train.yaml asks for auto: bf16 where this CPU runs it natively, else fp32.
  EXPECT_EQ(mfu.at("precision"), capflow::model::choose_precision("auto", /*on_cuda=*/false));
  EXPECT_GT(mfu.at("peak_gflops").get<double>(), 0.0);
  EXPECT_GT(mfu.at("peak_fraction").get<double>(), 0.0);
  EXPECT_EQ(mfu.at("peak_threads"), 2);
  for (const char* node : {"encode", "lstm", "backward"}) {
    const auto& n = summary.at("nodes").at(node);
    EXPECT_GT(n.at("gflops_per_second").get<double>(), 0.0) << node;
    EXPECT_GT(n.at("peak_fraction").get<double>(), 0.0) << node;
  }
  EXPECT_FALSE(summary.at("nodes").at("decode").contains("gflops_per_second"));
}

TEST_F(TrainCli, AFewStepsLowerTheLossOnATinySet) {
  // 8 images seen over and over: the captions are learnt quickly.
  const auto ok =
      train("memorise",
            "--set nodes.read.limit=8 --set train.max_steps=20 "
            "--set nodes.optimize.checkpoint_every=0 --set nodes.optimize.eval_images=0");
  ASSERT_EQ(ok.status, 0) << ok.output;
  const auto l = losses(base_ + "/memorise");
  ASSERT_EQ(l.size(), 20u);
  double first = 0, last = 0;
  for (int s = 1; s <= 3; ++s) first += l.at(s) / 3;
  for (int s = 18; s <= 20; ++s) last += l.at(s) / 3;
  // About 3.8 → 3.1 (log(V) ≈ 4 for an untrained model).
  EXPECT_LT(last, first - 0.4) << "first " << first << ", last " << last;
}

TEST_F(TrainCli, ResumeGivesTheSameFollowingLosses) {
  auto r = train("part", "--set train.max_steps=3");
  ASSERT_EQ(r.status, 0) << r.output;
  // As if the run had started on a machine where a `when:` condition held: resuming says that
  // the values it set now follow this machine.
  const std::string config = base_ + "/part/config.yaml";
  const std::string resolved = read_text(config);
  std::ofstream(config, std::ios::trunc)
      << "# when elsewhere: nodes.batch.size=4 (held on the machine that resolved this; in the "
         "values below)\n"
      << resolved;
  r = run_command(kBin + " run " + kPipeline + " --quiet --resume " + base_ +
                  "/part --set data.root=" + base_ + "/data --set data.val_root=" + base_ +
                  "/holdout");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resuming from"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("warning: resuming " + base_ +
                          "/part: it started where the "
                          "pipeline's `when:` applied elsewhere: nodes.batch.size=4; here it "
                          "applies none."),
            std::string::npos)
      << r.output;
  EXPECT_EQ(read_text(config).find("# when"), std::string::npos);  // resolved here again
  const auto whole = losses(base_ + "/whole"), resumed = losses(base_ + "/part");
  ASSERT_EQ(whole.size(), 6u);
  ASSERT_EQ(resumed.size(), 6u);  // steps 1-3, then 4-6 appended by the resumed run
  for (int s = 1; s <= 6; ++s)
    EXPECT_NEAR(resumed.at(s), whole.at(s), 1e-5 * whole.at(s)) << "step " << s;
  EXPECT_EQ(read_json(base_ + "/part/summary.json").at("images"), 24);  // the resumed part
}

TEST_F(TrainCli, ReplicasTrainDeterministicallyAndResumeOnlyWithTheirSplit) {
  // Two replicas of one thread each, a batch of 8 rows each: 16 images a step (the 24-image
  // epoch ends with a step of 8, one part per replica).
  const std::string two = "--set resources.replicas=2 --set nodes.optimize.eval_images=0 ";
  auto r = train("replicas", two + "--set train.max_steps=4");
  ASSERT_EQ(r.status, 0) << r.output;
  r = train("replicas-again", two + "--set train.max_steps=4");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto first = losses(base_ + "/replicas"), again = losses(base_ + "/replicas-again");
  ASSERT_EQ(first.size(), 4u);
  for (int s = 1; s <= 4; ++s) {
    EXPECT_TRUE(std::isfinite(first.at(s))) << "step " << s;
    EXPECT_EQ(again.at(s), first.at(s)) << "step " << s;  // the same split: the same numbers
  }
  const auto summary = read_json(base_ + "/replicas/summary.json");
  EXPECT_EQ(summary.at("images"), 48);
  EXPECT_EQ(summary.at("replicas"), 2);
  EXPECT_EQ(read_json(base_ + "/whole/summary.json").at("replicas"), 1);
  EXPECT_NE(r.output.find("2 replicas"), std::string::npos) << r.output;

  r = train("replicas-part", two + "--set train.max_steps=2");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string resume = kBin + " run " + kPipeline + " --quiet --resume " + base_ +
                             "/replicas-part --set data.root=" + base_ + "/data " + two;
  r = run_command(resume + "--set resources.replicas=1");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("resources.replicas 2, this run has 1"), std::string::npos) << r.output;
  r = run_command(resume + "--set train.max_steps=4");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto resumed = losses(base_ + "/replicas-part");
  ASSERT_EQ(resumed.size(), 4u);
  for (int s = 1; s <= 4; ++s)
    EXPECT_NEAR(resumed.at(s), first.at(s), 1e-5 * first.at(s)) << "step " << s;
}

TEST_F(TrainCli, CtrlCKeepsTheWorkDoneInACheckpoint) {
  // Far more steps than fit in the time: SIGINT after a few seconds ends the run cleanly.
  const auto r =
      run_command("timeout --preserve-status -s INT 8 " + kBin + " run " + kPipeline +
                  " --quiet --out " + base_ + "/interrupted --set data.root=" + base_ +
                  "/data --set train.max_steps=100000 --set nodes.optimize.checkpoint_every=0");
  EXPECT_EQ(r.status, 130) << r.output;
  const auto summary = read_json(base_ + "/interrupted/summary.json");
  EXPECT_TRUE(summary.at("stopped_early").get<bool>());
  const int steps = summary.at("steps").get<int>();
  ASSERT_GT(steps, 0) << r.output;
  char name[32];
  std::snprintf(name, sizeof name, "step-%08d.pt", steps);
  EXPECT_TRUE(fs::exists(base_ + "/interrupted/checkpoints/" + name)) << name;
}

TEST_F(TrainCli, ATruncatedOrForeignCheckpointIsRefusedAndThePreviousKept) {
  const std::string dir = base_ + "/broken";
  fs::create_directories(dir);
  fs::copy(base_ + "/whole/checkpoints", dir + "/checkpoints", fs::copy_options::recursive);
  const std::string newest = dir + "/checkpoints/step-00000006.pt",
                    previous = dir + "/checkpoints/step-00000003.pt";
  const std::string bytes = read_text(newest);
  std::ofstream(newest, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 3);
  const std::string before = read_text(previous);
  auto r = run_command(kBin + " run " + kPipeline + " --quiet --resume " + dir +
                       " --set data.root=" + base_ + "/data");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(newest), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
  EXPECT_EQ(read_text(previous), before);
  // A file that is not a capflow checkpoint at all.
  std::ofstream(newest, std::ios::trunc) << "not a checkpoint\n";
  r = run_command(kBin + " eval --checkpoint " + newest + " --data " + base_ + "/holdout");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(newest), std::string::npos) << r.output;
  // The previous one still serves.
  r = run_command(kBin + " eval --checkpoint " + previous + " --data " + base_ +
                  "/holdout --limit 4");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(TrainCli, EvalPrintsSaneNumbers) {
  const auto r = run_command(kBin + " eval --checkpoint " + base_ + "/whole --data " + base_ +
                             "/holdout --limit 6 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(j.at("images"), 6);
  EXPECT_GT(j.at("levenshtein_mean").get<double>(), 0.0);
  EXPECT_GE(j.at("exact_match").get<double>(), 0.0);
  EXPECT_LE(j.at("exact_match").get<double>(), 1.0);
  EXPECT_GE(j.at("valid_inchi_fraction").get<double>(), 0.0);
  EXPECT_LE(j.at("valid_inchi_fraction").get<double>(), 1.0);
  EXPECT_GT(j.at("images_per_second").get<double>(), 0.0);
  // Beam width 1 is greedy: the same numbers.
  const auto b = run_command(kBin + " eval --checkpoint " + base_ + "/whole --data " + base_ +
                             "/holdout --limit 6 --beam 1 2>/dev/null");
  const auto jb = nlohmann::json::parse(b.output.substr(b.output.find('{')));
  EXPECT_EQ(jb.at("levenshtein_mean"), j.at("levenshtein_mean"));
  const auto b3 = run_command(kBin + " eval --checkpoint " + base_ + "/whole --data " + base_ +
                              "/holdout --limit 6 --beam 3 2>/dev/null");
  EXPECT_EQ(b3.status, 0) << b3.output;
}

TEST_F(TrainCli, BeamPrefersValidInchis) {
  const auto eval = [](const std::string& flags) {
    const auto r = run_command(kBin + " eval --checkpoint " + base_ + "/whole --data " + base_ +
                               "/holdout --limit 8 " + flags + " 2>/dev/null");
    EXPECT_EQ(r.status, 0) << r.output;
    return nlohmann::json::parse(r.output.substr(r.output.find('{')));
  };
  const auto greedy = eval("--beam 1"), valid_first = eval("--beam 3"),
             best_first = eval("--beam 3 --no-prefer-valid");
  EXPECT_FALSE(greedy.at("prefer_valid").get<bool>());
  EXPECT_TRUE(valid_first.at("prefer_valid").get<bool>());
  EXPECT_FALSE(best_first.at("prefer_valid").get<bool>());
  const double v_greedy = greedy.at("valid_inchi_fraction"),
               v_valid = valid_first.at("valid_inchi_fraction"),
               v_best = best_first.at("valid_inchi_fraction");
  EXPECT_GE(v_valid, v_greedy);
  EXPECT_GE(v_valid, v_best);  // the best hypothesis is among the candidates
}

TEST_F(TrainCli, ExplainDrawsTheAttentionOfEveryToken) {
  std::string image;
  for (const auto& e : fs::recursive_directory_iterator(base_ + "/holdout/train"))
    if (e.is_regular_file()) image = e.path().string();
  const std::string out = base_ + "/explained";
  const auto r = run_command(kBin + " explain --checkpoint " + base_ + "/whole --image " + image +
                             " --out " + out + " --max-length 30");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = read_json(out + "/attention.json");
  EXPECT_NE(r.output.find(j.at("inchi").get<std::string>()), std::string::npos) << r.output;
  const auto& alpha = j.at("alpha");
  const std::size_t steps = alpha.size();
  ASSERT_GT(steps, 0u);
  ASSERT_LE(steps, 30u);
  EXPECT_EQ(j.at("tokens").size(), steps);
  const int gh = j.at("grid").at("height"), gw = j.at("grid").at("width");
  EXPECT_EQ(gh, 2);  // a 64x64 input through ResNet-18: 2x2
  EXPECT_EQ(gw, 2);
  for (const auto& row : alpha) {
    ASSERT_EQ(row.size(), static_cast<std::size_t>(gh * gw));
    double sum = 0;
    for (const auto& a : row) sum += a.get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-4);
  }
  // The sheet: one 128x128 frame per step (the 64x64 input doubled), 8 per row, and its label.
  const int columns = static_cast<int>(std::min<std::size_t>(steps, 8));
  const int rows = static_cast<int>((steps + 7) / 8);
  const auto bytes = read_text(out + "/attention.png");
  const auto png = capflow::io::decode_image_gray(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), out + "/attention.png");
  EXPECT_EQ(png.width, columns * (128 + 4) + 4);
  EXPECT_EQ(png.height, rows * (128 + 11 + 4) + 4);
  EXPECT_EQ(j.at("sheet").at("width"), png.width);
  EXPECT_EQ(j.at("sheet").at("height"), png.height);
  EXPECT_TRUE(fs::exists(out + "/tokens.txt"));
}

TEST_F(TrainCli, EvalMeasuresImageReliance) {
  const auto r = run_command(kBin + " eval --checkpoint " + base_ + "/whole --data " + base_ +
                             "/holdout --limit 7 --batch 4 --reliance 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  const auto& rel = j.at("reliance");
  for (const char* key :
       {"loss_real", "loss_shuffled", "levenshtein_real", "levenshtein_shuffled", "ratio"}) {
    ASSERT_TRUE(rel.at(key).is_number()) << key << ": " << rel.dump();
    EXPECT_TRUE(std::isfinite(rel.at(key).get<double>())) << key;
    EXPECT_GT(rel.at(key).get<double>(), 0.0) << key;
  }
  EXPECT_EQ(rel.at("images"), 7);  // batches of 4 and 3: none of a single image
  // The real side is eval's own greedy prediction.
  EXPECT_NEAR(rel.at("levenshtein_real").get<double>(), j.at("levenshtein_mean").get<double>(),
              1e-9);
  EXPECT_NEAR(
      rel.at("ratio").get<double>(),
      rel.at("levenshtein_shuffled").get<double>() / rel.at("levenshtein_real").get<double>(),
      1e-9);
  // Without the flag, no reliance object.
  const auto plain = run_command(kBin + " eval --checkpoint " + base_ + "/whole --data " + base_ +
                                 "/holdout --limit 2 2>/dev/null");
  EXPECT_FALSE(
      nlohmann::json::parse(plain.output.substr(plain.output.find('{'))).contains("reliance"));
}

TEST_F(TrainCli, RecipeOptionsTrainReportAndLoadBack) {
  // The time-to-quality options together: a 3-stage narrow encoder, the formula head, the
  // encoder's own rate, evaluations by training time.
  const std::string run = base_ + "/recipe";
  const auto r = train("recipe",
                       "--set nodes.encode.stages=3 --set nodes.encode.width=16 "
                       "--set nodes.lstm.formula_loss=1 --set nodes.optimize.encoder_lr_scale=2 "
                       "--set nodes.optimize.eval_every_seconds=0.001 --set train.max_steps=4");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* name : {"loss.formula", "grad_norm.encoder", "grad_norm.decoder"}) {
    const auto rows = metric(run, name);
    ASSERT_EQ(rows.size(), 4u) << name;
    for (const auto& [step, value] : rows)
      EXPECT_TRUE(std::isfinite(value) && value > 0) << name << " " << step;
  }
  // An evaluation after every step, each with its training time: rising, and less than the
  // wall time of the run (the evaluations are left out).
  const auto train_seconds = metric(run, "eval.train_seconds");
  ASSERT_GE(train_seconds.size(), 4u);
  double previous = 0;
  for (const auto& [step, seconds] : train_seconds) {
    EXPECT_GT(seconds, previous) << step;
    previous = seconds;
  }
  const auto summary = read_json(run + "/summary.json");
  EXPECT_LT(previous, summary.at("seconds").get<double>());
  // The checkpoint records the shapes: eval rebuilds the same model and loads it.
  const auto e = run_command(kBin + " eval --checkpoint " + run + " --data " + base_ + "/holdout");
  ASSERT_EQ(e.status, 0) << e.output;
  const auto out = nlohmann::json::parse(e.output.substr(e.output.find('{')));
  EXPECT_EQ(out.at("images"), 8);
}

TEST_F(TrainCli, ATimeBoundRunDecaysItsRateOverItsTime) {
  const std::string run = base_ + "/by-time";
  const auto r =
      train("by-time",
            "--set train.max_steps=0 --set train.max_seconds=4 "
            "--set nodes.optimize.schedule=cosine --set nodes.optimize.min_lr_ratio=0.01 "
            "--set nodes.optimize.checkpoint_every=0 --set nodes.optimize.eval_images=0");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto lr = metric(run, "lr");
  ASSERT_GE(lr.size(), 3u) << r.output;
  double previous = 1;
  for (const auto& [step, rate] : lr) {
    EXPECT_LE(rate, previous + 1e-12) << step;  // never rises (no warm-up in this pipeline)
    previous = rate;
  }
  // Lower at the last step than at the first. How far down depends on when the last step fell
  // in the 4 s, which the machine's load decides; a constant rate would fail here.
  EXPECT_LT(lr.rbegin()->second, 0.9 * lr.begin()->second);
}

TEST_F(TrainCli, PredictWritesOneRowPerImageEvenUnreadableOnes) {
  const std::string images = base_ + "/test-images";
  fs::create_directories(images + "/x");
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(base_ + "/holdout/train"))
    if (e.is_regular_file() && n < 5)
      fs::copy(e.path(), images + "/x/" + e.path().filename().string()), ++n;
  std::ofstream(images + "/x/broken.png") << "not a png";
  const auto r = run_command(kBin + " predict --checkpoint " + base_ + "/whole --images " + images +
                             " --out " + base_ + "/submission.csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("broken.png"), std::string::npos) << r.output;
  const auto rows = capflow::io::read_labels_csv(base_ + "/submission.csv");
  ASSERT_EQ(rows.size(), 6u);
  int empty = 0;
  for (const auto& row : rows) empty += row.inchi.empty() ? 1 : 0;
  EXPECT_EQ(empty, 1);
}

// The maker writes each drawn structure's SMILES beside the labels; a run with `target: smiles`
// learns them, records the notation, and its predictions come out as InChI.
TEST_F(TrainCli, SmilesTargetsTrainAndPredictInchi) {
  const auto labels = capflow::io::read_labels_csv(base_ + "/data/train_labels.csv");
  const auto smiles =
      capflow::io::read_labels_csv(base_ + "/data/train_smiles.csv", capflow::io::kSmilesHeader);
  ASSERT_EQ(smiles.size(), labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    EXPECT_EQ(smiles[i].image_id, labels[i].image_id);
    EXPECT_FALSE(smiles[i].inchi.empty());
    EXPECT_EQ(smiles[i].inchi.find("InChI"), std::string::npos);
  }
  const std::string run = base_ + "/smiles";
  const auto r = train("smiles",
                       "--set nodes.batch.target=smiles --set train.max_steps=3 "
                       "--set nodes.optimize.beam=2");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto eval = read_json(run + "/summary.json").at("eval");
  EXPECT_EQ(eval.at("images"), 8);
  EXPECT_EQ(eval.at("beam"), 2);  // the evaluation's decoding, said in the summary and the log
  EXPECT_NE(r.output.find("(8 images, beam 2)"), std::string::npos) << r.output;
  EXPECT_GE(eval.at("valid_inchi_fraction").get<double>(), 0.0);
  const auto p = run_command(kBin + " predict --checkpoint " + run + " --images " + base_ +
                             "/holdout/train --out " + base_ + "/smiles.csv");
  ASSERT_EQ(p.status, 0) << p.output;
  const auto rows = capflow::io::read_labels_csv(base_ + "/smiles.csv");
  ASSERT_EQ(rows.size(), 8u);
  for (const auto& row : rows)  // InChI (or empty when even the repaired SMILES does not parse)
    EXPECT_TRUE(row.inchi.empty() || row.inchi.rfind("InChI=1S/", 0) == 0) << row.inchi;
  // The notation is part of the vocabulary: an InChI checkpoint does not resume a SMILES run.
  const auto mixed = train("mixed", "--set nodes.batch.target=smiles --resume " + base_ +
                                        "/whole/checkpoints/step-00000006.pt");
  EXPECT_NE(mixed.status, 0);
  EXPECT_NE(mixed.output.find("inchi tokens"), std::string::npos) << mixed.output;
}

// Atom positions from the maker's side file reach the model through the augment; the atom head
// trains, reports its loss, and its checkpoint loads back for evaluation.
TEST_F(TrainCli, AtomLossTrainsReportsAndLoadsBack) {
  const std::string run = base_ + "/atoms";
  const auto r = train("atoms",
                       "--set nodes.batch.atoms=true --set nodes.lstm.atom_loss=1 "
                       "--set train.max_steps=3");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto rows = metric(run, "loss.atoms");
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& [step, value] : rows) EXPECT_TRUE(std::isfinite(value) && value > 0) << step;
  // Twelve classes: an untrained head starts near ln 12 ≈ 2.5 (then this tiny run's high rate
  // makes it jump about).
  EXPECT_LT(rows.begin()->second, 4.0);
  const auto e = run_command(kBin + " eval --checkpoint " + run + " --data " + base_ + "/holdout");
  ASSERT_EQ(e.status, 0) << e.output;
  // Without its prerequisite: a clear refusal before any work.
  const auto no_atoms = train("no-atoms", "--set nodes.lstm.atom_loss=1 --set train.max_steps=1");
  EXPECT_NE(no_atoms.status, 0);
  EXPECT_NE(no_atoms.output.find("atoms: true"), std::string::npos) << no_atoms.output;
}

TEST_F(TrainCli, ExportsTorchScriptThatPythonRuns) {
  const auto r =
      run_command(kBin + " export --checkpoint " + base_ + "/whole --out " + base_ + "/exported");
  ASSERT_EQ(r.status, 0) << r.output;
  if (!fs::exists("/usr/bin/python3"))
    GTEST_SKIP() << "no /usr/bin/python3 (Debian's python3-torch)";
  const auto py = run_command("/usr/bin/python3 -c \"import torch; e = torch.jit.load('" + base_ +
                              "/exported/encoder.pt'); f = e(torch.zeros(1, 1, 64, 64)); "
                              "print('features', tuple(f.shape)); "
                              "d = torch.jit.load('" +
                              base_ + "/exported/decoder.pt'); print('decoder ok')\"");
  ASSERT_EQ(py.status, 0) << py.output;
  EXPECT_NE(py.output.find("features (1, 512, 2, 2)"), std::string::npos) << py.output;
  EXPECT_NE(py.output.find("decoder ok"), std::string::npos) << py.output;
}

// The transformer decoder through the real binary: it trains, records itself in the
// checkpoint, resumes to the same losses, evaluates with greedy and beam search, and export
// says it covers the LSTM only.
TEST_F(TrainCli, TransformerDecoderTrainsResumesAndEvaluates) {
  const std::string pipeline =
      std::string(CAPFLOW_SOURCE_DIR) + "/tests/pipelines/tiny-transformer.yaml";
  const std::string data =
      " --set data.root=" + base_ + "/data --set data.val_root=" + base_ + "/holdout";
  auto r = run_command(kBin + " run " + pipeline + " --quiet --out " + base_ + "/tf" + data);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto summary = read_json(base_ + "/tf/summary.json");
  EXPECT_GT(summary.at("nodes").at("decoder").at("gflops_per_second").get<double>(), 0.0);
  r = run_command(kBin + " run " + pipeline + " --quiet --out " + base_ + "/tf-part" + data +
                  " --set train.max_steps=3");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_command(kBin + " run " + pipeline + " --quiet --resume " + base_ + "/tf-part" + data);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto whole = losses(base_ + "/tf"), resumed = losses(base_ + "/tf-part");
  ASSERT_EQ(whole.size(), 6u);
  ASSERT_EQ(resumed.size(), 6u);
  for (int s = 1; s <= 6; ++s)
    EXPECT_NEAR(resumed.at(s), whole.at(s), 1e-5 * whole.at(s)) << "step " << s;
  for (const char* beam : {"1", "3"}) {
    r = run_command(kBin + " eval --checkpoint " + base_ + "/tf --data " + base_ +
                    "/holdout --limit 6 --beam " + beam + " 2>/dev/null");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
    EXPECT_EQ(j.at("images"), 6);
    EXPECT_GT(j.at("levenshtein_mean").get<double>(), 0.0);
  }
  r = run_command(kBin + " export --checkpoint " + base_ + "/tf --out " + base_ + "/tf-export");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("TorchScript export covers attention_lstm decoders only"),
            std::string::npos)
      << r.output;
  // A transformer checkpoint does not resume an LSTM pipeline: the message names what differs.
  fs::copy(base_ + "/tf", base_ + "/tf-copy", fs::copy_options::recursive);
  r = run_command(kBin + " run " + kPipeline + " --quiet --resume " + base_ + "/tf-copy" + data +
                  " --set train.max_steps=8");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("transformer_decoder"), std::string::npos) << r.output;
}

}  // namespace
