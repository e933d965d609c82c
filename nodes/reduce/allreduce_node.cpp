// The gradient-reduce node: averages gradients across ranks with c10d's ProcessGroupGloo
// (bucketed, overlapped with backward), and makes the ranks agree on the loss they report
// and on when to stop. At world size 1 it passes the step through.
#include <cstdlib>
#include <functional>

#include "graph/errors.h"
#include "graph/registry.h"
#include "nodes/metric_names.h"
#include "nodes/model/model_share.h"
#include "nodes/reduce/communicator.h"
#include "nodes/reduce/digest.h"
#include "nodes/reduce/gradient_buckets.h"
#include "nodes/register_nodes.h"

namespace capflow::nodes {

namespace {

using graph::Item;
using graph::NodeContext;

class AllReduce : public graph::TransformNode {
 public:
  explicit AllReduce(const NodeContext& ctx) : ctx_(ctx), share_(model_share(ctx)) {
    if (ctx.world_size <= 1) return;
    const graph::Args& a = ctx.args();
    reduce::CommOptions o;
    o.env = reduce::read_rank_env();
    if (o.env.rank != ctx.rank || o.env.world_size != ctx.world_size)
      throw ConfigError("the launcher's variables say rank " + std::to_string(o.env.rank) + " of " +
                        std::to_string(o.env.world_size) + ", the run was started as rank " +
                        std::to_string(ctx.rank) + " of " + std::to_string(ctx.world_size));
    o.timeout = std::chrono::milliseconds(static_cast<long long>(a.get_float("timeout_s") * 1000));
    const char* token = std::getenv("CAPFLOW_JOB_TOKEN");
    o.token = token != nullptr && *token != '\0'
                  ? token
                  : (a.is_null("token") ? "" : a.get_string("token"));
    o.gloo_threads = static_cast<int>(a.get_int("gloo_threads"));
    if (a.get_string("backend") != "gloo")  // the schema's choices: only a new one gets here
      throw std::logic_error("allreduce: backend '" + a.get_string("backend") + "' is not wired");
    bucket_bytes_ = static_cast<std::size_t>(a.get_float("bucket_mb") * 1024 * 1024);
    comm_ = std::make_unique<reduce::Communicator>(o);
    // The configuration without the token (it may legitimately come from the environment).
    comm_->require_same("configuration", reduce::Digest().add(ctx.pipeline->resolved_yaml).hex());
    ctx.coordinate_stops();
  }

  ~AllReduce() override {
    if (comm_ && finished_) comm_->finished();
  }

  std::string exclusive_span() const override { return kModelSpan; }

  // Every node exists now (the optimizer may have loaded a checkpoint): rank 0's weights
  // become everyone's, checked by digest; then the gradient buckets and their hooks.
  void start() override {
    if (!comm_) return;
    std::vector<torch::Tensor> parameters = share_->trainable_parameters();
    std::int64_t elements = 0;
    for (const auto& p : parameters) elements += p.numel();
    comm_->require_same("model shape", std::to_string(parameters.size()) + " tensors, " +
                                           std::to_string(elements) + " values, " +
                                           std::to_string(share_->vocabulary->size()) + " tokens");
    std::vector<torch::Tensor> everything = share_->decoder->parameters();
    for (auto& p : share_->encoder->parameters()) everything.push_back(p);
    for (auto& b : share_->encoder->buffers()) everything.push_back(b);  // batch-norm statistics
    comm_->broadcast(everything);
    comm_->require_same("weights after the broadcast", reduce::tensors_digest(everything));
    for (auto& b : share_->encoder->buffers())
      if (b.is_floating_point()) statistics_.push_back(b);
    buckets_ =
        std::make_unique<reduce::GradientBuckets>(std::move(parameters), *comm_, bucket_bytes_);
    accumulate_ = std::max(1, share_->accumulate);
    // Replicas merge their gradients after backward: no bucket may start during it.
    overlap_ = share_->replica_count == 1;
    buckets_->arm(overlap_ && accumulate_ == 1);
    ctx_.counters->add("buckets", buckets_->bucket_count());
  }

  std::any process(Item& item) override {
    if (share_->done || !comm_) return item.payload;
    const StepPtr& step = graph::payload_as<TrainStep>(item);
    const bool completes_step = micro_ + 1 == accumulate_;
    try {
      if (completes_step) {
        buckets_->finish_step();
        average_statistics();
      }
      const bool stop_wanted = completes_step && ctx_.stop_requests() >= 1;
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - share_->started).count();
      const std::vector<double> sums =
          comm_->sum({step->loss_value, stop_wanted ? 1.0 : 0.0,
                      static_cast<double>(step->batch->size), seconds},
                     "agreeing on the loss, the clock and on stopping");
      step->loss_value = sums[0] / comm_->world_size();
      images_all_ranks_ += sums[2];
      share_->agreed_seconds = sums[3] / comm_->world_size();
      if (sums[1] > 0) share_->stop_after_step = true;
    } catch (const CommError&) {
      if (share_->save_now) {
        try {
          share_->save_now();  // the last finished step is not lost
        } catch (const std::exception& e) {
          ctx_.warn(std::string("could not write a checkpoint after the failure: ") + e.what());
        }
      }
      throw;
    }
    micro_ = completes_step ? 0 : micro_ + 1;
    if (completes_step) {
      ++steps_;
      comm_->set_step(steps_);
      ctx_.report(metrics::kImagesAllRanks, images_all_ranks_, steps_);
      ctx_.report(metrics::kCommunicationSeconds, buckets_->wait_seconds(), steps_);
      ctx_.counters->add("buckets_overlapped",
                         buckets_->started_during_backward() - overlapped_reported_);
      overlapped_reported_ = buckets_->started_during_backward();
    }
    buckets_->arm(overlap_ && micro_ + 1 == accumulate_);
    return item.payload;
  }

  void finish() override { finished_ = true; }

 private:
  // Batch-norm running statistics: each rank saw only its batches; their mean stands for
  // what one rank seeing every batch would hold (DDP instead copies rank 0's).
  void average_statistics() {
    if (statistics_.empty() || share_->frozen) return;
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> flat{torch::cat([&] {
      std::vector<torch::Tensor> parts;
      for (const auto& t : statistics_) parts.push_back(t.reshape({-1}).to(torch::kFloat32));
      return parts;
    }())};
    comm_->wait(comm_->allreduce_async(flat), "averaging the batch-norm statistics");
    flat[0].div_(comm_->world_size());
    std::int64_t offset = 0;
    for (auto& t : statistics_) {
      t.copy_(flat[0].narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }

  NodeContext ctx_;
  std::shared_ptr<ModelShare> share_;
  std::unique_ptr<reduce::Communicator> comm_;
  std::unique_ptr<reduce::GradientBuckets> buckets_;
  std::vector<torch::Tensor> statistics_;
  std::size_t bucket_bytes_ = 25u << 20;
  int accumulate_ = 1;
  bool overlap_ = true;  // buckets start during backward (one replica)
  int micro_ = 0;
  std::uint64_t steps_ = 0;
  std::uint64_t overlapped_reported_ = 0;
  double images_all_ranks_ = 0;
  bool finished_ = false;
};

}  // namespace

void register_reduce_nodes(graph::Registry& registry) {
  using namespace graph;
  add_node<AllReduce>(
      registry,
      NodeSchema(
          "allreduce",
          "averages gradients across ranks with c10d Gloo, bucketed and overlapped with backward "
          "(passes through at "
          "world size 1)")
          .transform("grads", "grads")
          .in_order()
          .stage(NodeStage::kReduce)
          .args_from(
              {arg_choice(
                   "backend", "gloo", {"gloo"},
                   "c10d process group; Gloo is the only one this build has (the argument lets a "
                   "pipeline say so; NCCL is not wired)"),
               arg_float("bucket_mb", "25", "gradient bucket size in MB", 0.001),
               arg_float("timeout_s", "60",
                         "longest wait for a peer before the run fails naming it", 1),
               arg_int("gloo_threads", "2", "Gloo's worker threads per rank", 1, 64),
               nullable(arg_string("token", "null",
                                   "job token every rank must present beyond loopback "
                                   "(CAPFLOW_JOB_TOKEN wins)"))}));
}

}  // namespace capflow::nodes
