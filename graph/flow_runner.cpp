// The builder and runner: a validated spec becomes a tbb::flow::graph (see flow_runner.h for
// its shape), runs inside an arena of the run's thread budget, and reports per-node figures.
#include "graph/flow_runner.h"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>

#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "graph/errors.h"
#include "graph/instrumentation.h"

namespace capflow::graph {

namespace {

namespace flow = tbb::flow;

// ---------------------------------------------------------------------------------------
// Plan: roles, concurrency and where order must be restored. Shared by the runner and DOT.

struct StagePlan {
  const NodeSpec* spec = nullptr;
  NodeRole role = NodeRole::kTransform;
  int concurrency = 1;  // resolved limit (auto: the thread budget)
  bool automatic = false;
  bool sequenced = false;   // a sequencer goes in front of it
  bool span_start = false;  // first node of an exclusive span (a one-token limiter in front)
  bool in_span = false;     // inside an exclusive span, first node included
  std::string span;
};

void place_sequencers(std::vector<StagePlan>& plan);

// Validation (parse_pipeline) rejects every spec these checks catch: they only guard
// against a spec built or changed without it.
void assert_validated(const PipelineSpec& spec, const std::vector<StagePlan>& plan) {
  const auto internal = [&](const std::string& what) {
    throw std::logic_error("internal error: " + spec.file + ": " + what +
                           " (pipeline validation should have rejected it)");
  };
  int collects = 0;
  for (const StagePlan& s : plan) {
    if (s.role != NodeRole::kTransform && (s.automatic || s.concurrency != 1))
      internal("node '" + s.spec->name + "' is a " + node_role_name(s.role) + " with concurrency");
    if (s.role == NodeRole::kCollect && ++collects > 1) internal("more than one collect node");
  }
  if (plan.empty() || plan.front().role != NodeRole::kSource || plan.back().role != NodeRole::kSink)
    internal("the pipeline does not run from a source to a sink");
}

std::vector<StagePlan> plan_stages(const PipelineSpec& spec, int threads) {
  std::vector<StagePlan> plan;
  for (const NodeSpec& node : spec.nodes) {
    if (node.schema == nullptr)
      throw std::logic_error("internal error: node '" + node.name + "' has no schema");
    StagePlan s;
    s.spec = &node;
    s.role = node.schema->role;
    s.automatic = node.concurrency.automatic;
    s.concurrency = s.automatic ? threads : node.concurrency.count;
    plan.push_back(s);
  }
  assert_validated(spec, plan);
  return plan;  // sequencers are placed by create_nodes, once the exclusive spans are known
}

// A sequencer goes in front of a node that needs stream order (a collector, an ordered sink,
// the first node of an exclusive span) when a parallel node since the last point of restored
// order may have shuffled the stream. Nodes inside a span see one item at a time: no shuffle.
void place_sequencers(std::vector<StagePlan>& plan) {
  bool disordered = false;
  for (StagePlan& s : plan) {
    const bool needs_order =
        s.role == NodeRole::kCollect || s.spec->schema->ordered || s.span_start;
    s.sequenced = needs_order && disordered;
    if (s.sequenced) disordered = false;
    if (s.role == NodeRole::kTransform && !s.in_span && (s.automatic || s.concurrency > 1))
      disordered = true;
  }
}

std::string concurrency_label(const StagePlan& s) {
  if (s.automatic) return "auto (" + std::to_string(s.concurrency) + ")";
  return s.concurrency == 1 ? "serial" : std::to_string(s.concurrency);
}

std::string dot_from_plan(const std::vector<StagePlan>& plan, int max_in_flight) {
  std::ostringstream out;
  out << "digraph capflow {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  auto quoted = [](const std::string& s) { return "\"" + s + "\""; };
  const std::string source = plan.front().spec->name;
  out << "  " << quoted(source) << " [shape=box, style=rounded, label=\"" << source << "\\n"
      << plan.front().spec->kind << "\\nsource, serial\"];\n";
  out << "  \"tokens\" [shape=diamond, label=\"tokens\\nlimiter_node\\nmax_in_flight="
      << max_in_flight << "\"];\n  \"split\" [shape=box, label=\"split\\ngroup → items\"];\n";
  out << "  " << quoted(source) << " -> \"tokens\";\n  \"tokens\" -> \"split\";\n";
  std::string previous = "split";
  for (std::size_t i = 1; i < plan.size(); ++i) {
    const StagePlan& s = plan[i];
    if (s.sequenced) {
      const std::string seq = "sequencer before " + s.spec->name;
      out << "  " << quoted(seq) << " [shape=cds, label=\"sequencer_node\\n(stream order)\"];\n";
      out << "  " << quoted(previous) << " -> " << quoted(seq) << ";\n";
      previous = seq;
    }
    if (s.span_start) {
      const std::string gate = "span " + s.span;
      out << "  " << quoted(gate) << " [shape=diamond, label=\"span '" << s.span
          << "'\\nlimiter_node, 1 item\"];\n";
      out << "  " << quoted(previous) << " -> " << quoted(gate) << ";\n";
      previous = gate;
    }
    out << "  " << quoted(s.spec->name) << " [shape=box, style=rounded, label=\"" << s.spec->name
        << "\\n"
        << s.spec->kind << " (" << s.spec->device << ")\\n"
        << node_role_name(s.role) << ", " << concurrency_label(s) << "\"];\n";
    out << "  " << quoted(previous) << " -> " << quoted(s.spec->name) << ";\n";
    previous = s.spec->name;
  }
  out << "  " << quoted(previous)
      << " -> \"tokens\" [style=dashed, label=\"token returns\", constraint=false];\n}\n";
  return out.str();
}

void write_text_file(const std::string& path, const std::string& text, const char* what) {
  std::ofstream out(path);
  if (!out || !(out << text) || !out.flush())
    throw Error(std::string("cannot write ") + what + " file '" + path + "'");
}

// ---------------------------------------------------------------------------------------
// Messages and the token loop.

struct TokenLoop;

// Held (shared) by every message of a group; its destruction returns the group's token.
struct GroupTicket {
  std::shared_ptr<TokenLoop> loop;
  ~GroupTicket();
};

struct Envelope {
  enum Kind : std::uint8_t { kItem, kSkipped, kEndOfEpoch };
  Kind kind = kItem;
  bool last_in_group = false;  // the group's last sample: a collector emits after it
  std::uint64_t seq = 0;       // position in the stream, for sequencers
  std::int64_t sent_ns = -1;   // when the previous node sent it (waiting time)
  Item item;
  std::shared_ptr<GroupTicket> ticket;
};

using Group = std::vector<Envelope>;
using GroupPtr = std::shared_ptr<Group>;
using Limiter = flow::limiter_node<GroupPtr>;

struct TokenLoop {
  std::atomic<bool> open{true};
  Limiter* limiter = nullptr;
  std::atomic<std::int64_t> live{0};
  std::atomic<std::int64_t> peak{0};

  void acquired() {
    const std::int64_t now = live.fetch_add(1) + 1;
    std::int64_t seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
  }
};

GroupTicket::~GroupTicket() {
  loop->live.fetch_sub(1);
  if (loop->open.load()) loop->limiter->decrementer().try_put(flow::continue_msg());
}

// ---------------------------------------------------------------------------------------

struct Stage {
  StagePlan plan;
  std::unique_ptr<Node> node;
  NodeCounters counters;
  NodeMeter meter;
  NodeMeter* next = nullptr;  // the meter of the node it sends to
  int index = 0;
  std::size_t span_last = 0;  // for a span's first stage: the index of its last stage
  // The one-token limiter of the exclusive span this stage ends, if any: its token returns
  // after every message the stage finishes with.
  flow::limiter_node<Envelope>* span_end = nullptr;
  void leave_span() const {
    if (span_end) span_end->decrementer().try_put(flow::continue_msg());
  }
};

using SplitNode = flow::multifunction_node<GroupPtr, std::tuple<Envelope>>;
using SpanLimiter = flow::limiter_node<Envelope>;
using CollectFlowNode = flow::multifunction_node<Envelope, std::tuple<Envelope>>;

// One run of a pipeline; also the host of its nodes (warnings, metrics, stops).
class FlowRun : public RunHost {
 public:
  FlowRun(const PipelineSpec& spec, const Registry& registry, const RunOptions& options)
      : spec_(spec), registry_(registry), options_(options), trace_(!options.trace_path.empty()) {}

  RunStats run();

  // RunHost
  void warn(const std::string& node, const std::string& message) override;
  void report(const std::string& node, const std::string& name, double value,
              std::uint64_t step) override;
  void request_stop() override { internal_stop_ = true; }
  int stop_requests() const override { return external_stop_level(); }
  void coordinate_stops() override { coordinated_stops_ = true; }

 private:
  void create_nodes();
  void execute_graph();
  GroupPtr next_group(tbb::flow_control& fc);
  void close_epoch(Group& group);
  bool skip_on_resume(const Item& item);
  std::uint64_t first_index_of(std::uint64_t epoch) const;
  void split(const GroupPtr& group, SplitNode::output_ports_type& ports);
  Envelope run_transform(Stage& s, const Envelope& in);
  void run_collect(Stage& s, const Envelope& in, CollectFlowNode::output_ports_type& ports);
  void run_sink(Stage& s, const Envelope& in);
  void run_sink_body(Stage& s, const Envelope& in);
  void send(Stage& s, Envelope& out, std::int64_t now);
  void fail(const Stage& s, const std::string& item, std::exception_ptr error);
  void record_failure(const std::string& prefix, std::exception_ptr error);
  // Runs `body`; a failure is recorded against stage s and the item `what()` names, and false
  // is returned (`what` is called only then).
  template <typename What, typename Body>
  bool guarded(const Stage& s, What&& what, Body&& body);
  // Ends a timed call of stage s begun at t0 (meter, trace); returns the end time.
  std::int64_t timed(Stage& s, std::int64_t t0, bool skipped, std::size_t units,
                     const std::string& id);
  int stop_level() const;
  int external_stop_level() const;
  // Cancels the graph's work: tasks not yet started are dropped by oneTBB, running ones see
  // cancelled() and skip their item. (graph::is_cancelled() cannot tell them: oneTBB sets that
  // plain bool only when wait_for_all returns, and reading it from a task is a data race.)
  void cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  void rethrow_failure();
  void progress_loop();
  RunStats collect_stats(double seconds) const;

  const PipelineSpec& spec_;
  const Registry& registry_;
  const RunOptions& options_;
  Topology topology_;
  int max_in_flight_ = 4;
  std::size_t group_size_ = 1;
  std::vector<std::unique_ptr<Stage>> stages_;
  RunClock clock_;
  TraceRecorder trace_;
  flow::graph* graph_ = nullptr;
  std::shared_ptr<TokenLoop> loop_;

  // Source state (touched only by the serial input_node body).
  std::optional<Item> lookahead_;
  bool source_done_ = false;
  bool epoch_open_ = false;
  std::uint64_t epoch_ = 0;
  std::uint64_t index_in_epoch_ = 0;
  std::uint64_t next_seq_ = 0;
  std::string last_source_id_;
  bool resuming_ = false;
  std::uint64_t skipped_in_epoch_ = 0;

  // Collector state (serial node).
  std::vector<Item> gathered_;
  std::uint64_t collect_seq_ = 0;
  std::uint64_t collect_index_ = 0;

  std::atomic<std::uint64_t> images_{0};
  std::atomic<std::uint64_t> source_items_{0};
  std::atomic<std::uint64_t> epochs_completed_{0};
  std::atomic<std::uint64_t> latest_epoch_{0};
  std::atomic<bool> internal_stop_{false};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> stop_seen_{false};
  std::atomic<bool> coordinated_stops_{false};

  std::mutex failure_mutex_;
  std::atomic<bool> failed_{false};  // failure_ is set (readable without the lock)
  std::exception_ptr failure_;
  std::string failure_prefix_;

  std::mutex warn_mutex_;
  std::mutex report_mutex_;
  SharedObjects shared_;

  std::mutex progress_mutex_;
  std::condition_variable progress_cv_;
  bool finished_ = false;
};

int FlowRun::external_stop_level() const {
  return options_.stop_requests ? options_.stop_requests->load() : 0;
}

int FlowRun::stop_level() const {
  int level = external_stop_level();
  if (level == 1 && coordinated_stops_.load()) level = 0;  // a node decides with its peers
  if (internal_stop_.load()) level = std::max(level, 1);
  return level;
}

void FlowRun::warn(const std::string& node, const std::string& message) {
  const std::string line = "node '" + node + "': " + message;
  std::lock_guard<std::mutex> lock(warn_mutex_);
  if (options_.on_warning)
    options_.on_warning(line);
  else
    std::cerr << "capflow: warning: " << line << std::endl;
}

void FlowRun::report(const std::string& node, const std::string& name, double value,
                     std::uint64_t step) {
  if (!options_.on_report) return;
  std::lock_guard<std::mutex> lock(report_mutex_);
  options_.on_report(node, name, value, step);
}

void FlowRun::fail(const Stage& s, const std::string& item, std::exception_ptr error) {
  record_failure("node '" + s.plan.spec->name + "' (" + format_location(s.plan.spec->where) +
                     ") failed on " + item + ": ",
                 error);
}

// The first failure wins; the graph is cancelled so that the others stop.
void FlowRun::record_failure(const std::string& prefix, std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(failure_mutex_);
    if (!failure_) {
      failed_ = true;
      failure_ = error;
      failure_prefix_ = prefix;
    }
  }
  cancel();
}

void FlowRun::cancel() {
  cancelled_.store(true, std::memory_order_release);
  if (graph_) graph_->cancel();
}

template <typename What, typename Body>
bool FlowRun::guarded(const Stage& s, What&& what, Body&& body) {
  try {
    body();
    return true;
  } catch (...) {
    fail(s, what(), std::current_exception());
    return false;
  }
}

std::int64_t FlowRun::timed(Stage& s, std::int64_t t0, bool skipped, std::size_t units,
                            const std::string& id) {
  const std::int64_t t1 = clock_.now_ns();
  s.meter.finished(t1 - t0, skipped, units);
  if (trace_.enabled()) trace_.record(s.index, t0, t1 - t0, id);
  return t1;
}

void FlowRun::rethrow_failure() {
  if (!failure_) return;
  const std::string& prefix = failure_prefix_;
  try {
    std::rethrow_exception(failure_);
  } catch (const ConfigError& e) {
    throw ConfigError(prefix + e.what());
  } catch (const DataError& e) {
    throw DataError(prefix + e.what());
  } catch (const CommError& e) {
    throw CommError(prefix + e.what());
  } catch (const std::exception& e) {
    throw Error(prefix + e.what());
  } catch (...) {
    throw Error(prefix + "unknown exception");
  }
}

void FlowRun::create_nodes() {
  const std::vector<StagePlan> plan = plan_stages(spec_, topology_.threads);
  for (std::size_t i = 0; i < plan.size(); ++i) {
    auto stage = std::make_unique<Stage>();
    stage->plan = plan[i];
    stage->index = static_cast<int>(i);
    NodeContext context;
    context.spec = plan[i].spec;
    context.pipeline = &spec_;
    context.rank = options_.rank;
    context.world_size = options_.world_size;
    context.threads = topology_.threads;
    context.counters = &stage->counters;
    context.host = this;
    context.shared = &shared_;
    context.resume = options_.resume;
    context.run_dir = options_.run_dir;
    stage->node = registry_.create(context);
    const bool role_matches =
        (plan[i].role == NodeRole::kSource && dynamic_cast<SourceNode*>(stage->node.get())) ||
        (plan[i].role == NodeRole::kTransform && dynamic_cast<TransformNode*>(stage->node.get())) ||
        (plan[i].role == NodeRole::kCollect && dynamic_cast<CollectNode*>(stage->node.get())) ||
        (plan[i].role == NodeRole::kSink && dynamic_cast<SinkNode*>(stage->node.get()));
    if (!role_matches)
      throw std::logic_error("node kind '" + plan[i].spec->kind + "' does not implement its role " +
                             node_role_name(plan[i].role));
    if (auto* collect = dynamic_cast<CollectNode*>(stage->node.get())) {
      group_size_ = collect->group_size();
      if (group_size_ == 0) throw std::logic_error("collect node with group size 0");
    }
    stages_.push_back(std::move(stage));
  }
  for (std::size_t i = 0; i + 1 < stages_.size(); ++i) stages_[i]->next = &stages_[i + 1]->meter;
  // Exclusive spans: maximal runs of consecutive stages (after the source) naming one span.
  for (std::size_t i = 1; i < stages_.size();) {
    const std::string span = stages_[i]->node->exclusive_span();
    std::size_t j = i;
    while (!span.empty() && j + 1 < stages_.size() &&
           stages_[j + 1]->node->exclusive_span() == span)
      ++j;
    if (!span.empty()) {
      if (stages_[i]->plan.role == NodeRole::kCollect ||
          stages_[j]->plan.role == NodeRole::kCollect)
        throw ConfigError("exclusive span '" + span + "' may not begin or end at a collect node");
      stages_[i]->plan.span_start = true;
      stages_[i]->span_last = j;
      for (std::size_t k = i; k <= j; ++k) {
        stages_[k]->plan.in_span = true;
        stages_[k]->plan.span = span;
      }
    }
    i = j + 1;
  }
  std::vector<StagePlan> plan_now;
  for (const auto& st : stages_) plan_now.push_back(st->plan);
  place_sequencers(plan_now);
  for (std::size_t k = 0; k < stages_.size(); ++k)
    stages_[k]->plan.sequenced = plan_now[k].sequenced;
}

// The source's serial body: up to group_size samples of one epoch, plus the epoch's end
// marker when the epoch ends inside the group.
GroupPtr FlowRun::next_group(tbb::flow_control& fc) {
  auto group = std::make_shared<Group>();
  Stage& s = *stages_.front();
  auto* source = static_cast<SourceNode*>(s.node.get());
  if (stop_level() >= 1) stop_seen_ = true;
  if (stop_level() < 1 && !cancelled()) {
    std::size_t items = 0;
    while (items < group_size_) {
      Item item;
      bool have = false;
      if (lookahead_) {
        item = std::move(*lookahead_);
        lookahead_.reset();
        have = true;
      } else if (!source_done_) {
        const std::int64_t t0 = clock_.now_ns();
        const auto what = [this] {
          return last_source_id_.empty() ? std::string("its first item")
                                         : "the item after '" + last_source_id_ + "'";
        };
        bool got = false;
        have = guarded(s, what, [&] { got = source->next(item); }) && got;
        if (have) {
          timed(s, t0, false, 1, item.id);
        } else {
          source_done_ = true;
          s.meter.busy(clock_.now_ns() - t0);
        }
      }
      if (!have) break;
      if (resuming_ && skip_on_resume(item)) continue;
      if (epoch_open_ && item.epoch != epoch_) {
        lookahead_ = std::move(item);
        close_epoch(*group);
        break;
      }
      if (!epoch_open_) {
        epoch_ = item.epoch;
        epoch_open_ = true;
        index_in_epoch_ = first_index_of(item.epoch);
        latest_epoch_ = item.epoch;
      }
      item.index = index_in_epoch_++;
      item.units = 1;
      last_source_id_ = item.id;
      Envelope env;
      env.seq = next_seq_++;
      env.item = std::move(item);
      group->push_back(std::move(env));
      ++items;
      ++source_items_;
    }
    if (source_done_ && !lookahead_ && epoch_open_ && !failed_.load()) close_epoch(*group);
  }
  if (group->empty()) {
    fc.stop();
    return {};
  }
  for (auto it = group->rbegin(); it != group->rend(); ++it)
    if (it->kind == Envelope::kItem) {
      it->last_in_group = true;
      break;
    }
  return group;
}

// Items of a resumed run that the interrupted run had already processed.
bool FlowRun::skip_on_resume(const Item& item) {
  const ResumePoint& r = options_.resume;
  if (item.epoch < r.epoch) return true;
  if (item.epoch == r.epoch && skipped_in_epoch_ < r.groups_done * group_size_) {
    ++skipped_in_epoch_;
    return true;
  }
  resuming_ = false;
  return false;
}

std::uint64_t FlowRun::first_index_of(std::uint64_t epoch) const {
  const ResumePoint& r = options_.resume;
  return epoch == r.epoch ? r.groups_done * group_size_ : 0;
}

void FlowRun::close_epoch(Group& group) {
  Envelope marker;
  marker.kind = Envelope::kEndOfEpoch;
  marker.seq = next_seq_++;
  marker.item.id = "end of epoch " + std::to_string(epoch_);
  marker.item.epoch = epoch_;
  marker.item.units = 0;
  group.push_back(std::move(marker));
  epoch_open_ = false;
}

void FlowRun::split(const GroupPtr& group, SplitNode::output_ports_type& ports) {
  auto ticket = std::make_shared<GroupTicket>();
  ticket->loop = loop_;
  loop_->acquired();
  for (const Envelope& member : *group) {
    Envelope env = member;
    env.ticket = ticket;
    env.sent_ns = clock_.now_ns();
    stages_[1]->meter.enqueued();
    std::get<0>(ports).try_put(env);
  }
}

void FlowRun::send(Stage& s, Envelope& out, std::int64_t now) {
  out.sent_ns = now;
  if (s.next) s.next->enqueued();
}

Envelope FlowRun::run_transform(Stage& s, const Envelope& in) {
  const std::int64_t t0 = clock_.now_ns();
  s.meter.started(in.sent_ns, t0);
  if (stop_level() >= 2) cancel();
  Envelope out = in;
  if (out.kind == Envelope::kItem) {
    if (cancelled()) {
      out.kind = Envelope::kSkipped;
      out.item.payload.reset();
    } else {
      std::any payload;
      const bool ok = guarded(
          s, [&] { return "'" + in.item.id + "'"; },
          [&] { payload = static_cast<TransformNode*>(s.node.get())->process(out.item); });
      if (ok && payload.has_value()) {
        out.item.payload = std::move(payload);
      } else {
        out.kind = Envelope::kSkipped;
        out.item.payload.reset();
      }
      send(s, out, timed(s, t0, out.kind == Envelope::kSkipped, out.item.units, in.item.id));
      s.leave_span();
      return out;
    }
  }
  send(s, out, clock_.now_ns());
  s.leave_span();
  return out;
}

void FlowRun::run_collect(Stage& s, const Envelope& in, CollectFlowNode::output_ports_type& ports) {
  const std::int64_t t0 = clock_.now_ns();
  s.meter.started(in.sent_ns, t0);
  if (in.kind == Envelope::kEndOfEpoch) {
    Envelope marker = in;
    marker.seq = collect_seq_++;
    collect_index_ = 0;
    send(s, marker, clock_.now_ns());
    std::get<0>(ports).try_put(marker);
    return;
  }
  if (gathered_.empty() && collect_index_ == 0 && in.item.epoch == options_.resume.epoch)
    collect_index_ = options_.resume.groups_done;
  if (in.kind == Envelope::kItem) gathered_.push_back(in.item);
  if (!in.last_in_group) {
    s.meter.busy(clock_.now_ns() - t0);
    return;
  }
  Envelope out;
  out.seq = collect_seq_++;
  out.ticket = in.ticket;
  out.item.epoch = in.item.epoch;
  out.item.index = collect_index_++;
  out.item.units = gathered_.size();
  out.item.id =
      "batch " + std::to_string(out.item.index) + " of epoch " + std::to_string(out.item.epoch);
  if (!gathered_.empty())
    out.item.id += " ['" + gathered_.front().id + "' .. '" + gathered_.back().id + "']";
  bool skipped = gathered_.empty() || cancelled();
  if (!skipped) {
    std::any payload;
    const bool ok = guarded(
        s, [&] { return out.item.id; },
        [&] { payload = static_cast<CollectNode*>(s.node.get())->collect(gathered_); });
    skipped = !ok || !payload.has_value();
    if (!skipped) out.item.payload = std::move(payload);
  }
  gathered_.clear();
  out.kind = skipped ? Envelope::kSkipped : Envelope::kItem;
  send(s, out, timed(s, t0, skipped, out.item.units, out.item.id));
  std::get<0>(ports).try_put(out);
}

void FlowRun::run_sink(Stage& s, const Envelope& in) {
  run_sink_body(s, in);
  s.leave_span();
}

void FlowRun::run_sink_body(Stage& s, const Envelope& in) {
  const std::int64_t t0 = clock_.now_ns();
  s.meter.started(in.sent_ns, t0);
  if (stop_level() >= 2) cancel();
  auto* sink = static_cast<SinkNode*>(s.node.get());
  if (cancelled()) return;
  if (in.kind == Envelope::kEndOfEpoch) {
    if (guarded(
            s, [&] { return in.item.id; }, [&] { sink->end_of_epoch(in.item.epoch); }))
      ++epochs_completed_;
    s.meter.busy(clock_.now_ns() - t0);
    return;
  }
  if (in.kind != Envelope::kItem) return;
  Item item = in.item;
  if (guarded(
          s, [&] { return "'" + in.item.id + "'"; }, [&] { sink->consume(item); }))
    images_ += in.item.units;
  timed(s, t0, false, in.item.units, in.item.id);
}

void FlowRun::execute_graph() {
  flow::graph g;
  graph_ = &g;
  loop_ = std::make_shared<TokenLoop>();

  flow::input_node<GroupPtr> source(g, [this](tbb::flow_control& fc) { return next_group(fc); });
  Limiter limiter(g, static_cast<std::size_t>(max_in_flight_));
  loop_->limiter = &limiter;
  SplitNode splitter(
      g, flow::serial,
      [this](const GroupPtr& group, SplitNode::output_ports_type& ports) { split(group, ports); });
  flow::make_edge(source, limiter);
  flow::make_edge(limiter, splitter);

  std::vector<std::unique_ptr<flow::graph_node>> owned;
  flow::sender<Envelope>* tail = &flow::output_port<0>(splitter);
  for (std::size_t i = 1; i < stages_.size(); ++i) {
    Stage& s = *stages_[i];
    if (s.plan.sequenced) {
      auto sequencer = std::make_unique<flow::sequencer_node<Envelope>>(
          g, [](const Envelope& e) { return static_cast<std::size_t>(e.seq); });
      flow::make_edge(*tail, *sequencer);
      tail = sequencer.get();
      owned.push_back(std::move(sequencer));
    }
    if (s.plan.span_start) {
      // A buffer in front (a function_node would drop what a full limiter refuses): the
      // sequencer when there is one, else a queue; then the one-token limiter.
      if (!s.plan.sequenced) {
        auto queue = std::make_unique<flow::queue_node<Envelope>>(g);
        flow::make_edge(*tail, *queue);
        tail = queue.get();
        owned.push_back(std::move(queue));
      }
      auto gate = std::make_unique<SpanLimiter>(g, 1);
      flow::make_edge(*tail, *gate);
      tail = gate.get();
      stages_[s.span_last]->span_end = gate.get();
      owned.push_back(std::move(gate));
    }
    const std::size_t limit = s.plan.automatic ? static_cast<std::size_t>(flow::unlimited)
                                               : static_cast<std::size_t>(s.plan.concurrency);
    switch (s.plan.role) {
      case NodeRole::kTransform: {
        auto fn = std::make_unique<flow::function_node<Envelope, Envelope>>(
            g, limit, [this, &s](const Envelope& in) { return run_transform(s, in); });
        flow::make_edge(*tail, *fn);
        tail = fn.get();
        owned.push_back(std::move(fn));
        break;
      }
      case NodeRole::kCollect: {
        auto fn = std::make_unique<CollectFlowNode>(
            g, flow::serial,
            [this, &s](const Envelope& in, CollectFlowNode::output_ports_type& ports) {
              run_collect(s, in, ports);
            });
        flow::make_edge(*tail, *fn);
        tail = &flow::output_port<0>(*fn);
        owned.push_back(std::move(fn));
        break;
      }
      case NodeRole::kSink: {
        auto fn = std::make_unique<flow::function_node<Envelope, flow::continue_msg>>(
            g, flow::serial, [this, &s](const Envelope& in) {
              run_sink(s, in);
              return flow::continue_msg();
            });
        flow::make_edge(*tail, *fn);
        tail = nullptr;
        owned.push_back(std::move(fn));
        break;
      }
      case NodeRole::kSource:
        throw std::logic_error("a source inside the chain");
    }
  }

  source.activate();
  try {
    g.wait_for_all();
  } catch (...) {
    // Node bodies catch their own failures: this one came from the graph's machinery.
    record_failure("the flow graph failed outside any node: ", std::current_exception());
  }
  // Messages still buffered in a cancelled graph die with their nodes: their tickets must not
  // reach the limiter any more.
  loop_->open = false;
  owned.clear();
  graph_ = nullptr;
}

void FlowRun::progress_loop() {
  std::unique_lock<std::mutex> lock(progress_mutex_);
  const auto interval = std::chrono::duration<double>(options_.progress_interval);
  while (!progress_cv_.wait_for(lock, interval, [this] { return finished_; })) {
    RunProgress p;
    p.seconds = clock_.now_ns() * 1e-9;
    p.images = images_.load();
    p.epoch = latest_epoch_.load();
    lock.unlock();
    options_.on_progress(p);
    lock.lock();
  }
}

RunStats FlowRun::run() {
  const Args& resources = spec_.section("resources");
  topology_ = plan_topology(static_cast<int>(resources.get_int("threads")),
                            resources.get_string("numa") == "auto", options_.local_rank);
  max_in_flight_ = static_cast<int>(resources.get_int("max_in_flight"));

  const auto arena = make_arena(topology_);
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism,
                                  static_cast<std::size_t>(topology_.threads));
  double seconds = 0;
  arena->execute([&] {
    if (options_.on_threads) options_.on_threads(topology_.threads);
    create_nodes();
    if (!options_.dot_path.empty()) {
      std::vector<StagePlan> plan;
      for (const auto& st : stages_) plan.push_back(st->plan);
      write_text_file(options_.dot_path, dot_from_plan(plan, max_in_flight_), "DOT");
    }
    for (auto& s : stages_) {
      try {
        s->node->start();
      } catch (...) {
        fail(*s, "starting", std::current_exception());
        return;
      }
    }
    resuming_ = options_.resume.active();
    std::thread progress;
    if (options_.on_progress) progress = std::thread([this] { progress_loop(); });
    const std::int64_t t0 = clock_.now_ns();
    execute_graph();
    seconds = (clock_.now_ns() - t0) * 1e-9;
    if (progress.joinable()) {
      {
        std::lock_guard<std::mutex> lock(progress_mutex_);
        finished_ = true;
      }
      progress_cv_.notify_all();
      progress.join();
    }
    if (!failure_)
      for (auto& s : stages_) {
        try {
          s->node->finish();
        } catch (...) {
          fail(*s, "finishing", std::current_exception());
          break;
        }
      }
  });
  rethrow_failure();
  if (!options_.trace_path.empty()) {
    std::vector<std::string> names;
    for (const auto& s : stages_) names.push_back(s->plan.spec->name);
    write_chrome_trace(options_.trace_path, trace_, names);
  }
  return collect_stats(seconds);
}

RunStats FlowRun::collect_stats(double seconds) const {
  RunStats stats;
  stats.seconds = seconds;
  stats.images = images_.load();
  stats.source_items = source_items_.load();
  stats.epochs_completed = epochs_completed_.load();
  stats.stopped_early = stop_seen_.load() || stop_level() >= 1;
  stats.world_size = options_.world_size;
  stats.rank = options_.rank;
  stats.max_in_flight = max_in_flight_;
  stats.replicas =
      resolve_replicas(spec_.section("resources").get_int("replicas"), topology_.threads);
  stats.group_size = group_size_;
  stats.peak_live_groups = loop_ ? loop_->peak.load() : 0;
  stats.topology = topology_;
  double worst = -1;
  for (const auto& s : stages_) {
    NodeStats n;
    n.name = s->plan.spec->name;
    n.kind = s->plan.spec->kind;
    n.device = s->plan.spec->device;
    n.role = node_role_name(s->plan.role);
    n.stage = node_stage_name(s->plan.spec->schema != nullptr ? s->plan.spec->schema->node_stage
                                                              : NodeStage::kOther);
    n.concurrency = s->plan.concurrency;
    n.sequenced = s->plan.sequenced;
    n.items = s->meter.calls() - s->meter.skipped();
    n.skipped = s->meter.skipped();
    n.busy_seconds = s->meter.busy_seconds();
    const int capacity = std::max(1, std::min(s->plan.concurrency, topology_.threads));
    n.busy_fraction = seconds > 0 ? n.busy_seconds / (seconds * capacity) : 0.0;
    n.wait_seconds = s->meter.wait_seconds();
    n.queue_mean = s->meter.queue_mean();
    n.queue_max = s->meter.queue_max();
    n.counters = s->counters.snapshot();
    if (n.busy_fraction > worst) {
      worst = n.busy_fraction;
      stats.bottleneck = n.name;
    }
    stats.nodes.push_back(std::move(n));
  }
  return stats;
}

}  // namespace

RunStats run_pipeline(const PipelineSpec& spec, const Registry& registry,
                      const RunOptions& options) {
  FlowRun run(spec, registry, options);
  return run.run();
}

}  // namespace capflow::graph
