// The engine alone, with test node kinds: order and batch composition independent of thread
// timing, the token loop bounding live groups, epoch markers, skips, failures naming node and
// item, clean stops, builder errors, DOT and Chrome trace output.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "graph/errors.h"
#include "graph/flow_runner.h"
#include "graph/registry.h"
#include "tests/test_support.h"

namespace capflow::graph {
namespace {

// Counts live objects of a kind and remembers the peak.
struct LiveCount {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  void up() {
    const int n = ++now;
    int seen = peak.load();
    while (n > seen && !peak.compare_exchange_weak(seen, n)) {
    }
  }
  void reset() { now = 0, peak = 0; }
};
LiveCount live_samples;
LiveCount live_batches;

struct TestSample {
  int value = 0;
  explicit TestSample(int v) : value(v) { live_samples.up(); }
  TestSample(const TestSample&) = delete;
  ~TestSample() { --live_samples.now; }
};
struct TestBatch {
  std::vector<int> values;
  TestBatch() { live_batches.up(); }
  TestBatch(const TestBatch&) = delete;
  ~TestBatch() { --live_batches.now; }
};

// What the sink saw, in order.
struct Record {
  std::mutex mutex;
  std::vector<std::string> events;  // "e<epoch>:b<index>:<v,v,...>" or "end<epoch>"
  void clear() {
    std::lock_guard<std::mutex> lock(mutex);
    events.clear();
  }
};
Record record;
LiveCount in_span;  // items between a span's first and last node

class Numbers : public SourceNode {
 public:
  explicit Numbers(const NodeContext& ctx)
      : count_(static_cast<int>(ctx.args().get_int("count"))),
        epochs_(static_cast<int>(ctx.args().get_int("epochs"))) {}
  bool next(Item& item) override {
    if (k_ == count_) {
      k_ = 0;
      ++epoch_;
    }
    if (epoch_ >= epochs_) return false;
    item.id = "s" + std::to_string(k_);
    item.epoch = static_cast<std::uint64_t>(epoch_);
    item.payload = std::make_shared<TestSample>(k_);
    ++k_;
    return true;
  }

 private:
  int count_, epochs_, k_ = 0, epoch_ = 0;
};

// Sleeps a pseudo-random time per item (so threads finish out of order), fails or skips on
// request, and maps value v to v * 10.
class Work : public TransformNode {
 public:
  explicit Work(const NodeContext& ctx)
      : counters_(ctx.counters),
        sleep_us_(static_cast<int>(ctx.args().get_int("sleep_us"))),
        skip_every_(static_cast<int>(ctx.args().get_int("skip_every"))),
        fail_on_(ctx.args().is_null("fail_on") ? "" : ctx.args().get_string("fail_on")),
        span_(ctx.args().get_string("span")),
        enter_(ctx.args().get_bool("enter")) {}
  std::string exclusive_span() const override { return span_; }
  std::any process(Item& item) override {
    if (enter_) in_span.up();
    const int v = payload_as<TestSample>(item)->value;
    if (sleep_us_ > 0)
      std::this_thread::sleep_for(std::chrono::microseconds((v * 7919) % (sleep_us_ + 1)));
    if (item.id == fail_on_) throw DataError("cannot work on this one");
    if (skip_every_ > 0 && v % skip_every_ == 0) {
      counters_->add("skipped_on_purpose");
      return {};
    }
    return std::make_shared<TestSample>(v * 10);
  }

 private:
  NodeCounters* counters_;
  int sleep_us_, skip_every_;
  std::string fail_on_;
  std::string span_;
  bool enter_;
};

class GroupOf : public CollectNode {
 public:
  explicit GroupOf(const NodeContext& ctx)
      : size_(static_cast<std::size_t>(ctx.args().get_int("size"))) {}
  std::size_t group_size() const override { return size_; }
  std::any collect(std::vector<Item>& items) override {
    auto batch = std::make_shared<TestBatch>();
    for (auto& item : items) batch->values.push_back(payload_as<TestSample>(item)->value);
    return batch;
  }

 private:
  std::size_t size_;
};

class RecordSink : public SinkNode {
 public:
  explicit RecordSink(const NodeContext& ctx)
      : ctx_(ctx),
        sleep_us_(static_cast<int>(ctx.args().get_int("sleep_us"))),
        stop_after_(static_cast<int>(ctx.args().get_int("stop_after"))),
        span_(ctx.args().get_string("span")),
        leave_(ctx.args().get_bool("leave")) {}
  std::string exclusive_span() const override { return span_; }
  void consume(Item& item) override {
    if (leave_) --in_span.now;
    if (sleep_us_ > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    std::string event = "e" + std::to_string(item.epoch) + ":b" + std::to_string(item.index) + ":";
    if (auto* b = std::any_cast<std::shared_ptr<TestBatch>>(&item.payload)) {
      for (int v : (*b)->values) event += std::to_string(v) + ",";
    } else {
      event += std::to_string(payload_as<TestSample>(item)->value);
    }
    {
      std::lock_guard<std::mutex> lock(record.mutex);
      record.events.push_back(event);
    }
    if (stop_after_ > 0 && ++seen_ == stop_after_) ctx_.request_stop();
  }
  void end_of_epoch(std::uint64_t epoch) override {
    std::lock_guard<std::mutex> lock(record.mutex);
    record.events.push_back("end" + std::to_string(epoch));
  }

 private:
  NodeContext ctx_;
  int sleep_us_, stop_after_, seen_ = 0;
  std::string span_;
  bool leave_;
};

Registry test_registry() {
  Registry r;
  register_engine_sections(r);
  NodeSchema numbers = NodeSchema("numbers", "0..count-1, per epoch")
                           .source("n")
                           .arg(arg_int("count", "100", "items per epoch", 0))
                           .arg(arg_int("epochs", "1", "epochs", 1));
  NodeSchema work = NodeSchema("work", "v -> 10 v")
                        .transform("n", "n")
                        .concurrency("auto")
                        .args_from({arg_int("sleep_us", "0", "max sleep", 0),
                                    arg_int("skip_every", "0", "skip v % k == 0", 0),
                                    nullable(arg_string("fail_on", "null", "id that throws")),
                                    arg_string("span", "''", "exclusive span"),
                                    arg_bool("enter", "false", "counts span entries")});
  NodeSchema group = NodeSchema("group", "groups")
                         .collect("n", "g", "size")
                         .in_order()
                         .arg(arg_int("size", "4", "group size", 1));
  NodeSchema sink = NodeSchema("record", "records")
                        .sink("g")
                        .in_order()
                        .args_from({arg_int("sleep_us", "0", "sleep per item", 0),
                                    arg_int("stop_after", "0", "request stop", 0),
                                    arg_string("span", "''", "exclusive span"),
                                    arg_bool("leave", "false", "counts span exits")});
  NodeSchema sink_n = sink;
  sink_n.kind = "record_n";
  sink_n.input = "n";
  for (NodeSchema* s : {&numbers, &work, &group, &sink, &sink_n}) r.add_kind(*s);
  r.add_implementation("numbers", "cpu",
                       [](const NodeContext& c) { return std::make_unique<Numbers>(c); });
  r.add_implementation("work", "cpu",
                       [](const NodeContext& c) { return std::make_unique<Work>(c); });
  r.add_implementation("group", "cpu",
                       [](const NodeContext& c) { return std::make_unique<GroupOf>(c); });
  r.add_implementation("record", "cpu",
                       [](const NodeContext& c) { return std::make_unique<RecordSink>(c); });
  r.add_implementation("record_n", "cpu",
                       [](const NodeContext& c) { return std::make_unique<RecordSink>(c); });
  return r;
}

const char* kPipeline = R"(seed: 1
resources: {threads: 2, max_in_flight: 3}
nodes:
  src:   {kind: numbers, count: 50, epochs: 2}
  work:  {kind: work, concurrency: auto, sleep_us: 300}
  more:  {kind: work, concurrency: 2, sleep_us: 200}
  group: {kind: group, size: 4}
  sink:  {kind: record}
)";

struct Outcome {
  RunStats stats;
  std::vector<std::string> events;
};

Outcome run_text(const std::string& yaml, const std::vector<std::string>& sets = {},
                 RunOptions options = {}) {
  const Registry registry = test_registry();
  const PipelineSpec spec = parse_pipeline(yaml, "test.yaml", sets, registry);
  record.clear();
  live_samples.reset();
  live_batches.reset();
  Outcome out;
  options.on_warning = [](const std::string&) {};
  out.stats = run_pipeline(spec, registry, options);
  out.events = record.events;
  return out;
}

TEST(FlowRunner, BatchesAreTheSameWhateverTheThreadCount) {
  const Outcome one = run_text(kPipeline, {"resources.threads=1"});
  const Outcome two = run_text(kPipeline, {"resources.threads=2"});
  const Outcome four = run_text(kPipeline, {"resources.threads=4", "resources.max_in_flight=1"});
  ASSERT_EQ(one.events.size(), 2u * 13u + 2u);  // 50 items in groups of 4 → 13 per epoch, + 2 ends
  EXPECT_EQ(one.events, two.events);
  EXPECT_EQ(one.events, four.events);
  EXPECT_EQ(one.events.front(), "e0:b0:0,100,200,300,");
  EXPECT_EQ(one.events[12], "e0:b12:4800,4900,");  // the epoch's last group holds the rest
  EXPECT_EQ(one.events[13], "end0");
  EXPECT_EQ(one.events[14], "e1:b0:0,100,200,300,");
  EXPECT_EQ(one.events.back(), "end1");
  EXPECT_EQ(two.stats.images, 100u);
  EXPECT_EQ(two.stats.epochs_completed, 2u);
  EXPECT_EQ(two.stats.group_size, 4u);
}

TEST(FlowRunner, LiveGroupsNeverExceedMaxInFlight) {
  for (const int m : {1, 2, 5}) {
    RunOptions options;
    const Outcome out = run_text(kPipeline,
                                 {"resources.max_in_flight=" + std::to_string(m),
                                  "nodes.sink.sleep_us=2000", "nodes.work.sleep_us=50"},
                                 options);
    EXPECT_GE(live_batches.peak.load(), 1);
    EXPECT_LE(live_batches.peak.load(), m) << "max_in_flight " << m;
    EXPECT_LE(out.stats.peak_live_groups, m);
    // Samples (each in up to three versions): the groups past the limiter plus the one the
    // source holds ready.
    EXPECT_LE(live_samples.peak.load(), 3 * 4 * (m + 1)) << "max_in_flight " << m;
    EXPECT_EQ(live_samples.now.load(), 0);
    EXPECT_EQ(live_batches.now.load(), 0);
  }
}

TEST(FlowRunner, SkippedItemsLeaveTheirGroupAndAreCounted) {
  const Outcome out = run_text(kPipeline, {"nodes.work.skip_every=5", "nodes.src.epochs=1"});
  ASSERT_EQ(out.events.size(), 14u);
  EXPECT_EQ(out.events[0], "e0:b0:100,200,300,");  // 0 skipped
  EXPECT_EQ(out.events[1], "e0:b1:400,600,700,");  // 5 skipped
  EXPECT_EQ(out.stats.images, 40u);
  ASSERT_EQ(out.stats.nodes.size(), 5u);
  EXPECT_EQ(out.stats.nodes[1].skipped, 10u);
  EXPECT_EQ(out.stats.nodes[1].counters.at("skipped_on_purpose"), 10u);
  EXPECT_EQ(out.stats.nodes[1].items, 40u);
}

TEST(FlowRunner, AFailureNamesTheNodeAndTheItem) {
  try {
    run_text(kPipeline, {"nodes.more.fail_on=s17"});
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("node 'more'"), std::string::npos) << what;
    EXPECT_NE(what.find("test.yaml:6:3"), std::string::npos) << what;
    EXPECT_NE(what.find("'s17'"), std::string::npos) << what;
    EXPECT_NE(what.find("cannot work on this one"), std::string::npos) << what;
  }
  EXPECT_EQ(live_samples.now.load(), 0);
  EXPECT_EQ(live_batches.now.load(), 0);
}

TEST(FlowRunner, RequestStopFinishesInFlightWorkCleanly) {
  const Outcome out = run_text(kPipeline, {"nodes.sink.stop_after=2", "nodes.src.count=1000"});
  EXPECT_TRUE(out.stats.stopped_early);
  EXPECT_GE(out.events.size(), 2u);
  EXPECT_LE(out.events.size(), 2u + 3u + 1u);  // what was in flight, at most max_in_flight more
  for (std::size_t i = 0; i < out.events.size(); ++i)
    EXPECT_EQ(out.events[i].rfind("e0:b" + std::to_string(i) + ":", 0), 0u) << out.events[i];
  EXPECT_EQ(out.stats.epochs_completed, 0u);
}

TEST(FlowRunner, ExternalStopRequestsStopTheSource) {
  std::atomic<int> stop{1};
  RunOptions options;
  options.stop_requests = &stop;
  const Outcome out = run_text(kPipeline, {}, options);
  EXPECT_TRUE(out.stats.stopped_early);
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(out.stats.source_items, 0u);
}

TEST(FlowRunner, ResumeContinuesWhereTheRunStopped) {
  const Outcome whole = run_text(kPipeline);
  RunOptions options;
  options.resume.epoch = 1;
  options.resume.groups_done = 5;
  const Outcome resumed = run_text(kPipeline, {}, options);
  // The whole run: 13 groups + end of epoch 0, then epoch 1; the resumed one starts at its 6th
  // group.
  const std::vector<std::string> tail(whole.events.begin() + 14 + 5, whole.events.end());
  EXPECT_EQ(resumed.events, tail);
  EXPECT_EQ(resumed.events.front().rfind("e1:b5:", 0), 0u) << resumed.events.front();
  EXPECT_EQ(resumed.stats.images, 50u - 20u);
}

TEST(FlowRunner, WithoutCollectEveryItemIsItsOwnGroup) {
  const std::string yaml = R"(resources: {threads: 2, max_in_flight: 2}
nodes:
  src:  {kind: numbers, count: 20}
  work: {kind: work, sleep_us: 100}
  sink: {kind: record_n}
)";
  const Outcome out = run_text(yaml);
  ASSERT_EQ(out.events.size(), 21u);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(out.events[i], "e0:b" + std::to_string(i) + ":" + std::to_string(10 * i));
  EXPECT_LE(live_samples.peak.load(), 2 * (2 + 1));
  EXPECT_TRUE(out.stats.nodes[2].sequenced);
}

TEST(FlowRunner, SequencersOnlyWhereOrderWasLost) {
  const Outcome serial =
      run_text(kPipeline, {"nodes.work.concurrency=serial", "nodes.more.concurrency=serial"});
  EXPECT_FALSE(serial.stats.nodes[3].sequenced);
  const Outcome parallel = run_text(kPipeline);
  EXPECT_TRUE(parallel.stats.nodes[3].sequenced);
  EXPECT_FALSE(parallel.stats.nodes[4].sequenced);  // the collect's output is in order
  EXPECT_EQ(serial.events, parallel.events);
}

TEST(FlowRunner, AnExclusiveSpanHoldsOneItemAtATime) {
  const std::string yaml = R"(resources: {threads: 4, max_in_flight: 8}
nodes:
  src:  {kind: numbers, count: 40}
  pre:  {kind: work, concurrency: auto, sleep_us: 300}
  a:    {kind: work, concurrency: auto, sleep_us: 300, span: model, enter: true}
  b:    {kind: work, concurrency: 2, sleep_us: 300, span: model}
  sink: {kind: record_n, span: model, leave: true}
)";
  in_span.reset();
  const Outcome out = run_text(yaml);
  ASSERT_EQ(out.events.size(), 41u);
  EXPECT_EQ(in_span.peak.load(), 1);
  EXPECT_EQ(in_span.now.load(), 0);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(out.events[i], "e0:b" + std::to_string(i) + ":" + std::to_string(1000 * i));
}

TEST(FlowRunner, NodesShareObjectsByNameAndType) {
  SharedObjects shared;
  auto a = shared.get_or_create<int>("model", [] { return std::make_shared<int>(7); });
  auto b = shared.get_or_create<int>("model", [] { return std::make_shared<int>(8); });
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(*b, 7);
  EXPECT_THROW(shared.get_or_create<double>("model", [] { return std::make_shared<double>(1); }),
               std::logic_error);
  EXPECT_EQ(shared.find<double>("model"), nullptr);
}

TEST(FlowRunner, ValidationRejectsConcurrentCollectors) {
  const Registry registry = test_registry();
  try {
    parse_pipeline(kPipeline, "test.yaml", {"nodes.group.concurrency=2"}, registry);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("node 'group'"), std::string::npos) << e.what();
  }
}

TEST(FlowRunner, RunnerAssertsWhatValidationChecks) {
  // A spec changed after validation is an internal error, not a user's mistake.
  const Registry registry = test_registry();
  PipelineSpec spec = parse_pipeline(kPipeline, "test.yaml", {}, registry);
  for (NodeSpec& node : spec.nodes)
    if (node.name == "group") node.concurrency.count = 2;
  try {
    run_pipeline(spec, registry, {});
    FAIL() << "expected std::logic_error";
  } catch (const ConfigError& e) {
    FAIL() << "not a configuration error: " << e.what();
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("internal error"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("node 'group'"), std::string::npos) << e.what();
  }
  PipelineSpec reversed = parse_pipeline(kPipeline, "test.yaml", {}, registry);
  std::swap(reversed.nodes.front(), reversed.nodes.back());
  EXPECT_THROW(run_pipeline(reversed, registry, {}), std::logic_error);
}

TEST(FlowRunner, DotAndChromeTrace) {
  const std::string dir = capflow::testing::make_temp_dir("flow_trace");
  RunOptions options;
  options.trace_path = dir + "/trace.json";
  options.dot_path = dir + "/graph.dot";
  const Outcome out = run_text(kPipeline, {}, options);
  const std::string dot = capflow::testing::read_text(options.dot_path);
  for (const char* name : {"\"src\"", "\"work\"", "\"more\"", "\"group\"", "\"sink\"",
                           "sequencer_node", "max_in_flight=3"})
    EXPECT_NE(dot.find(name), std::string::npos) << name;
  std::ifstream in(options.trace_path);
  const nlohmann::json trace = nlohmann::json::parse(in);
  std::map<std::string, int> slices;
  for (const auto& e : trace.at("traceEvents"))
    if (e.at("ph") == "X") ++slices[e.at("name").get<std::string>()];
  EXPECT_EQ(slices["src"], 100);
  EXPECT_EQ(slices["work"], 100);
  EXPECT_EQ(slices["group"], 26);
  EXPECT_EQ(slices["sink"], 26);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace capflow::graph
