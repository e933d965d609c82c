// `capflow run` end to end: the real binary runs pipelines/data-only.yaml on a tiny generated
// dataset. Identical batches for 1 and 2 threads, corrupt and missing images skipped and
// counted, configuration mistakes all reported with line:column (exit 2), shards covering
// every sample once, Ctrl-C stopping cleanly (with a summary once the run has started, before
// any run folder while a dataset is made, at whatever moment it comes), and the node
// reference in docs/ matching the schemas.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "graph/cpu_info.h"
#include "nodes/io/labels_csv.h"
#include "tests/test_support.h"
#include "tools/process/openblas_core.h"

namespace fs = std::filesystem;
using capflow::testing::read_text;
using capflow::testing::run_command;

namespace {

const std::string kBin = CAPFLOW_BINARY;
const std::string kSource = CAPFLOW_SOURCE_DIR;
const std::string kPipeline = kSource + "/pipelines/data-only.yaml";

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

// Lines of a fingerprint file without its header.
std::vector<std::string> fingerprint_rows(const std::string& path) {
  std::istringstream in(read_text(path));
  std::vector<std::string> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) rows.push_back(line);
  return rows;
}

class RunCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = capflow::testing::make_temp_dir("runcli");
    const auto r =
        run_command(kBin + " data make --out " + base_ + "/data --count 40 --seed 5 --no-progress");
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() { fs::remove_all(base_); }

  static std::string run(const std::string& name, const std::string& extra, int expected_status = 0,
                         const std::string& env = "") {
    const auto r = run_command(env + " " + kBin + " run " + kPipeline + " --quiet --out " + base_ +
                               "/" + name + " --set data.root=" + base_ + "/data " + extra);
    EXPECT_EQ(r.status, expected_status) << r.output;
    return r.output;
  }

  static inline std::string base_;
};

TEST_F(RunCli, OneAndTwoThreadsComposeTheSameBatches) {
  const std::string out1 = run(
      "t1", "--set resources.threads=1 --set nodes.batch.size=8 --set nodes.sink.fingerprints=" +
                base_ + "/t1.tsv");
  run("t2", "--set resources.threads=2 --set nodes.batch.size=8 --set nodes.sink.fingerprints=" +
                base_ + "/t2.tsv");
  const auto rows1 = fingerprint_rows(base_ + "/t1.tsv");
  EXPECT_EQ(rows1.size(), 5u);
  EXPECT_EQ(rows1, fingerprint_rows(base_ + "/t2.tsv"));

  EXPECT_NE(out1.find("images/s"), std::string::npos) << out1;
  EXPECT_NE(out1.find("bottleneck"), std::string::npos) << out1;
  const auto summary = read_json(base_ + "/t1/summary.json");
  EXPECT_EQ(summary.at("images"), 40);
  EXPECT_EQ(summary.at("world_size"), 1);
  EXPECT_EQ(summary.at("threads_per_rank"), 1);
  for (const char* key : {"seconds", "images_per_second", "loss_first", "loss_last", "topology"})
    EXPECT_TRUE(summary.contains(key)) << key;
  for (const char* node : {"read", "decode", "augment", "batch", "sink"}) {
    const auto& n = summary.at("nodes").at(node);
    for (const char* key : {"items", "busy_seconds", "busy_fraction"})
      EXPECT_TRUE(n.contains(key)) << node << key;
  }
  EXPECT_EQ(summary.at("nodes").at("decode").at("items"), 40);
  EXPECT_EQ(summary.at("nodes").at("batch").at("items"), 5);
  EXPECT_TRUE(fs::exists(base_ + "/t1/config.yaml"));
  EXPECT_TRUE(fs::exists(base_ + "/t1/metrics.jsonl"));
  EXPECT_NE(read_text(base_ + "/t1/config.yaml").find("size: 8"), std::string::npos);
}

// The kind that docs/architecture.md ("Adding a node kind") adds, put into a pipeline with
// --set: it sees every image and changes the batches.
TEST_F(RunCli, AMedianFilterNodeRunsInThePipeline) {
  const std::string common =
      "--set resources.threads=1 --set nodes.batch.size=8 --set nodes.sink.fingerprints=";
  run("plain", common + base_ + "/plain.tsv");
  run("median", common + base_ +
                    "/median.tsv --set nodes.denoise.kind=median_filter "
                    "--set 'edges=[read, decode, denoise, augment, batch, sink]'");
  const auto summary = read_json(base_ + "/median/summary.json");
  EXPECT_EQ(summary.at("nodes").at("denoise").at("items"), 40);
  const auto plain = fingerprint_rows(base_ + "/plain.tsv");
  const auto median = fingerprint_rows(base_ + "/median.tsv");
  ASSERT_EQ(plain.size(), 5u);
  ASSERT_EQ(median.size(), 5u);
  EXPECT_NE(plain, median);  // the maker's specks are gone
}

TEST_F(RunCli, CorruptAndMissingImagesAreSkippedCountedAndNamedOnce) {
  const std::string data = base_ + "/broken";
  fs::copy(base_ + "/data", data, fs::copy_options::recursive);
  const auto rows = capflow::io::read_labels_csv(data + "/train_labels.csv");
  auto path_of = [&](const std::string& id) {
    return data + "/train/" + id.substr(0, 1) + "/" + id.substr(1, 1) + "/" + id.substr(2, 1) +
           "/" + id + ".png";
  };
  const std::string truncated = path_of(rows[3].image_id), missing = path_of(rows[7].image_id);
  const std::string bytes = read_text(truncated);
  std::ofstream(truncated, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  fs::remove(missing);

  const auto r = run_command(kBin + " run " + kPipeline + " --quiet --out " + base_ +
                             "/broken-run --set data.root=" + data);
  ASSERT_EQ(r.status, 0) << r.output;
  auto count = [&](const std::string& s) {
    std::size_t n = 0;
    for (auto p = r.output.find(s); p != std::string::npos; p = r.output.find(s, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(truncated), 1u) << r.output;
  EXPECT_EQ(count(missing), 1u) << r.output;
  const auto summary = read_json(base_ + "/broken-run/summary.json");
  EXPECT_EQ(summary.at("images"), 38);
  const auto& decode = summary.at("nodes").at("decode");
  EXPECT_EQ(decode.at("skipped"), 2);
  EXPECT_EQ(decode.at("counters").at("corrupt"), 1);
  EXPECT_EQ(decode.at("counters").at("missing"), 1);
}

TEST_F(RunCli, ThreeMistakesGiveThreeMessagesWithLineAndColumn) {
  const std::string file = base_ + "/bad.yaml";
  std::ofstream(file) << "seed: 1\n"
                         "nodes:\n"
                         "  read:    {kind: read_files, shufle: true}\n"
                         "  decode:  {kind: decode_image, max_side: big}\n"
                         "  augment: {kind: bms_augmnt}\n"
                         "  batch:   {kind: batch}\n"
                         "  sink:    {kind: discard}\n";
  const auto r = run_command(kBin + " run " + file + " --out " + base_ + "/bad-run");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(
                file + ":3:31: node 'read': unknown argument 'shufle' (did you mean 'shuffle'?)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(
      r.output.find(file + ":4:43: node 'decode': argument 'max_side' expects int, got 'big'"),
      std::string::npos)
      << r.output;
  EXPECT_NE(
      r.output.find(
          file + ":5:19: node 'augment': unknown kind 'bms_augmnt' (did you mean 'bms_augment'?)"),
      std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("3 problems"), std::string::npos) << r.output;
}

TEST_F(RunCli, AMissingDataRootNamesTheNodeAndThePath) {
  const auto r = run_command(kBin + " run " + kPipeline + " --quiet --out " + base_ +
                             "/nodata --set data.root=" + base_ + "/no-such-dir");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("node 'read'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(base_ + "/no-such-dir"), std::string::npos) << r.output;
}

TEST_F(RunCli, ConcurrencyOnASerialNodeIsRejectedBeforeAnyWork) {
  // data.make_count would make the missing data root; validation must stop the run first.
  const std::string data = base_ + "/not-made";
  const auto r = run_command(kBin + " run " + kPipeline + " --quiet --out " + base_ +
                             "/serial-run --set data.root=" + data +
                             " --set data.make_count=20 --set nodes.batch.concurrency=2");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--set nodes.batch.concurrency=2: node 'batch': a collect node runs "
                          "serially; remove its concurrency (got '2')"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(data)) << "no dataset made";
  EXPECT_FALSE(fs::exists(base_ + "/serial-run")) << "no run folder, no config.yaml";
}

TEST_F(RunCli, ShardsCoverEverySampleExactlyOnce) {
  std::multiset<std::string> seen;
  std::size_t images = 0;
  for (int rank = 0; rank < 3; ++rank) {
    const std::string name = "shard" + std::to_string(rank);
    run(name,
        "--set nodes.batch.size=1 --set nodes.sink.fingerprints=" + base_ + "/" + name + ".tsv", 0,
        "RANK=" + std::to_string(rank) + " WORLD_SIZE=3");
    for (const auto& row : fingerprint_rows(base_ + "/" + name + ".tsv")) {
      std::vector<std::string> cells;
      std::istringstream in(row);
      for (std::string cell; std::getline(in, cell, '\t');) cells.push_back(cell);
      ASSERT_EQ(cells.size(), 6u) << row;
      seen.insert(cells[4]);
    }
    // Rank 0 owns the run folder; rank r > 0 writes under RUN_DIR/rank-r.
    const std::string dir = base_ + "/" + name + (rank == 0 ? "" : "/rank-" + std::to_string(rank));
    images += read_json(dir + "/summary.json").at("images").get<std::size_t>();
  }
  EXPECT_EQ(images, 40u);
  std::multiset<std::string> all;
  for (const auto& row : capflow::io::read_labels_csv(base_ + "/data/train_labels.csv"))
    all.insert(row.image_id);
  EXPECT_EQ(seen, all);
}

// `capflow run ARGS` started in the background, its output going to `log`.
pid_t start_run(const std::string& args, const std::string& log) {
  const std::string line = "exec " + kBin + " run " + args + " > " + log + " 2>&1";
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGINT, SIG_DFL);
    ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// The exit status, or 128 + the signal that ended it (as a shell reports it).
int wait_for_exit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Polls `ready` every 20 ms for up to two minutes.
bool wait_until(const std::function<bool()>& ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Whether metrics.jsonl in `run_dir` has a progress line counting images.
bool run_has_made_progress(const std::string& run_dir) {
  std::istringstream in(read_text(run_dir + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.value("images", 0) > 0) return true;
  }
  return false;
}

TEST_F(RunCli, InterruptStopsCleanlyWithASummary) {
  // Many epochs of 40 images; SIGINT once the run reports images: in-flight work finishes,
  // exit 130. (Waiting for the run, not a fixed time, keeps this right on a loaded machine.)
  const std::string dir = base_ + "/interrupted";
  const pid_t pid = start_run(kPipeline + " --quiet --out " + dir + " --set data.root=" + base_ +
                                  "/data --set train.epochs=100000",
                              base_ + "/interrupted.log");
  ASSERT_GT(pid, 0);
  const bool started = wait_until([&] { return run_has_made_progress(dir); });
  ::kill(pid, SIGINT);
  const int status = wait_for_exit(pid);
  const std::string output = read_text(base_ + "/interrupted.log");
  ASSERT_TRUE(started) << output;
  EXPECT_EQ(status, 130) << output;
  EXPECT_NE(output.find("stopping"), std::string::npos) << output;
  const auto summary = read_json(dir + "/summary.json");
  EXPECT_TRUE(summary.at("stopped_early").get<bool>());
  EXPECT_GT(summary.at("images").get<int>(), 0);
}

TEST_F(RunCli, InterruptWhileMakingTheDatasetStopsBeforeTheRun) {
  const std::string data = base_ + "/made-on-demand", dir = base_ + "/interrupted-making";
  const pid_t pid = start_run(kPipeline + " --quiet --out " + dir + " --set data.root=" + data +
                                  " --set data.make_count=100000",
                              base_ + "/interrupted-making.log");
  ASSERT_GT(pid, 0);
  const bool making = wait_until([&] { return fs::exists(data); });
  ::kill(pid, SIGINT);
  const int status = wait_for_exit(pid);
  const std::string output = read_text(base_ + "/interrupted-making.log");
  ASSERT_TRUE(making) << output;
  EXPECT_EQ(status, 130) << output;
  EXPECT_NE(output.find("is incomplete"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(dir)) << "the run had not started: no run folder\n" << output;
}

TEST_F(RunCli, InterruptAtAnyMomentOfStartingExitsCleanly) {
  // Before main, SIGINT's default action ends the process (130, nothing written); from the
  // run command on, a clean stop: 130, and no run folder or one with a complete summary.
  for (const int ms : {0, 50, 150, 300, 600, 1000, 1500}) {
    const std::string name = "early-" + std::to_string(ms), dir = base_ + "/" + name;
    const pid_t pid = start_run(kPipeline + " --quiet --out " + dir + " --set data.root=" + base_ +
                                    "/data --set train.epochs=100000",
                                base_ + "/" + name + ".log");
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    ::kill(pid, SIGINT);
    const int status = wait_for_exit(pid);
    const std::string output = read_text(base_ + "/" + name + ".log");
    EXPECT_EQ(status, 130) << "SIGINT after " << ms << " ms\n" << output;
    if (fs::exists(dir + "/config.yaml")) {
      const auto summary = read_json(dir + "/summary.json");
      EXPECT_TRUE(summary.at("stopped_early").get<bool>()) << ms << " ms";
    }
  }
}

TEST_F(RunCli, TraceAndDot) {
  run("traced", "--trace " + base_ + "/trace.json --dot " + base_ + "/graph.dot");
  const auto trace = read_json(base_ + "/trace.json");
  std::map<std::string, int> slices;
  for (const auto& e : trace.at("traceEvents"))
    if (e.at("ph") == "X") ++slices[e.at("name").get<std::string>()];
  EXPECT_EQ(slices["decode"], 40);
  EXPECT_EQ(slices["augment"], 40);
  EXPECT_EQ(slices["batch"], 2);
  EXPECT_NE(read_text(base_ + "/graph.dot").find("sequencer_node"), std::string::npos);
}

TEST(NodesReference, DocsMatchTheSchemas) {
  const auto r = run_command(kBin + " nodes --markdown");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, read_text(kSource + "/docs/pipeline-nodes.md"))
      << "docs/pipeline-nodes.md is stale: run `build/capflow nodes --markdown > "
         "docs/pipeline-nodes.md`";
}

// `capflow info` names the OpenBLAS core LibTorch's fp32 matmuls run: never one from before AVX2
// on a CPU with AVX2 and FMA (capflow restarts with OPENBLAS_CORETYPE when OpenBLAS takes the
// CPU for an older one), and the caller's own OPENBLAS_CORETYPE wins.
TEST(InfoCli, OpenblasRunsKernelsForTheCpusInstructions) {
  const auto r = run_command("env -u OPENBLAS_CORETYPE " + kBin + " info");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string prefix = "OpenBLAS core: ";
  const auto at = r.output.find(prefix);
  if (at == std::string::npos) {
    EXPECT_NE(r.output.find("BLAS: not OpenBLAS"), std::string::npos) << r.output;
    GTEST_SKIP() << "LibTorch's BLAS here is not OpenBLAS";
  }
  const auto from = at + prefix.size();
  const std::string core = r.output.substr(from, r.output.find_first_of(" \n", from) - from);
  const std::string better =
      capflow::process::openblas_core_for_flags(capflow::graph::cpuinfo_value("flags"));
  if (!better.empty()) {
    EXPECT_FALSE(capflow::process::openblas_core_predates_avx2(core)) << r.output;
  }
  const auto asked = run_command("OPENBLAS_CORETYPE=Haswell " + kBin + " info");
  EXPECT_NE(asked.output.find("OpenBLAS core: Haswell (OPENBLAS_CORETYPE=Haswell)"),
            std::string::npos)
      << asked.output;
}

// capflow runs with its heap in transparent huge pages (glibc.malloc.hugetlb=1 in
// GLIBC_TUNABLES, read when the program loads: capflow restarts with it), keeping the caller's
// other tunables; a caller who names the tunable keeps their choice.
TEST(InfoCli, HeapAsksForHugePagesUnlessTheCallerChose) {
  const auto plain = run_command("env -u GLIBC_TUNABLES " + kBin + " info");
  ASSERT_EQ(plain.status, 0) << plain.output;
  EXPECT_NE(plain.output.find("(GLIBC_TUNABLES=glibc.malloc.hugetlb=1; transparent huge pages: "),
            std::string::npos)
      << plain.output;
  const auto other = run_command("GLIBC_TUNABLES=glibc.malloc.arena_max=4 " + kBin + " info");
  EXPECT_NE(other.output.find("GLIBC_TUNABLES=glibc.malloc.arena_max=4:glibc.malloc.hugetlb=1;"),
            std::string::npos)
      << other.output;
  const auto own = run_command("GLIBC_TUNABLES=glibc.malloc.hugetlb=0 " + kBin + " info");
  EXPECT_NE(own.output.find("Heap in huge pages: no (GLIBC_TUNABLES=glibc.malloc.hugetlb=0;"),
            std::string::npos)
      << own.output;
}

}  // namespace
