// What the model-family node adapters of one run share: the model (SharedObjects "model"),
// the training step that travels from node to node, and LibTorch thread settings. Only for
// the node adapters (model_nodes.cpp, reduce/allreduce_node.cpp); kernels do not see it.
#pragma once

#include <ATen/Parallel.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "graph/node.h"
#include "nodes/batch/image_batch.h"
#include "nodes/model/caption_decoder.h"
#include "nodes/model/model_flops.h"
#include "nodes/model/model_replicas.h"
#include "nodes/model/precision.h"
#include "nodes/model/resnet_encoder.h"
#include "nodes/model/trainer.h"
#include "nodes/payloads.h"
#include "nodes/text/vocabulary.h"

namespace capflow::nodes {

inline constexpr const char* kModelSpan = "model";

// One model replica's share of a training step (the whole step with one replica).
struct StepPart {
  BatchPtr batch;  // the rows this replica trains on
  torch::Tensor features;
  torch::Tensor tokens;  // on the model's device, from encode to lstm
  torch::Tensor loss;
  double weight = 1;  // its share of the step's rows: the weight of its loss in the step's
};

// One batch's training step, filled in node by node ("features" → "loss" → "grads").
struct TrainStep {
  BatchPtr batch;                  // the step's whole batch
  std::vector<StepPart> parts;     // one per replica at work (fewer for a batch of fewer rows)
  double loss_value = 0;           // the caption loss (what the run reports as "loss")
  double formula_loss_value = -1;  // the auxiliary formula loss (< 0: no formula head)
  double atom_loss_value = -1;     // the auxiliary atom loss (< 0: no atom head)
  // Forward model FLOPs of this batch (model_flops.h), counted by encode and lstm; backward
  // counts kBackwardFactor times those of the trainable parts.
  double encoder_flops = 0;
  double decoder_flops = 0;
};
using StepPtr = std::shared_ptr<TrainStep>;

// The model the training nodes of one run share.
struct ModelShare {
  model::ResNetEncoder encoder{nullptr};
  torch::Device device{torch::kCPU};  // where encoder and decoder live (the encode node's device)
  bool frozen = false;
  model::EncoderShape encoder_shape;
  bool channels_last = true;
  model::Precision encoder_precision = model::Precision::kBf16;
  model::CaptionDecoder decoder{nullptr};
  model::DecoderOptions decoder_options;
  model::Precision decoder_precision = model::Precision::kBf16;
  std::shared_ptr<const text::Vocabulary> vocabulary;
  // Model replicas (resources.replicas, model_replicas.h): made by ready_replicas() at the
  // first step, once every node has started (the optimizer may have loaded a checkpoint, ranks
  // broadcast weights); the first is (encoder, decoder).
  int replica_count = 1;
  std::vector<model::ModelReplica> replicas;
  std::atomic<bool> done{false};  // max_steps reached: nodes skip what is still in flight
  int accumulate = 1;
  // Set by the reduce node when every rank agreed to stop: the optimizer ends the run after
  // the current step.
  std::atomic<bool> stop_after_step{false};
  // The training clock of a time-bound schedule, one for all ranks: the optimizer sets
  // `started` when it starts timing; with several ranks the reduce node sets `agreed_seconds`
  // every step to the mean over ranks of the seconds since their start (each rank reads its own
  // clock; the mean is the same number everywhere). -1: one rank, its own clock.
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<double> agreed_seconds{-1.0};
  // Writes a checkpoint of the last finished step (set by the optimizer where this rank
  // writes checkpoints; the reduce node calls it when a peer fails).
  std::function<void()> save_now;

  std::vector<model::ModelReplica>& ready_replicas() {
    if (replicas.empty())
      replicas = model::make_replicas(encoder, decoder, replica_count, channels_last);
    return replicas;
  }

  // What the optimizer updates and the reduce node averages: the decoder's parameters, then
  // the encoder's unless it is frozen (one order for both).
  std::vector<torch::Tensor> trainable_parameters() const {
    std::vector<torch::Tensor> out;
    for (const auto& g : parameter_groups(1.0))
      out.insert(out.end(), g.parameters.begin(), g.parameters.end());
    return out;
  }
  // The same parameters as named groups for the optimizer: "decoder" (with its formula head)
  // and, unless frozen, "encoder" at encoder_lr_scale times the learning rate.
  std::vector<model::ParameterGroup> parameter_groups(double encoder_lr_scale) const {
    std::vector<model::ParameterGroup> out{{"decoder", decoder->parameters(), 1.0}};
    if (!frozen) out.push_back({"encoder", encoder->parameters(), encoder_lr_scale});
    return out;
  }
};

inline std::shared_ptr<ModelShare> model_share(const graph::NodeContext& ctx) {
  return ctx.shared->get_or_create<ModelShare>("model",
                                               [] { return std::make_shared<ModelShare>(); });
}

inline int torch_threads(const graph::NodeContext& ctx) {
  const auto n = ctx.args().get_int("threads");
  return n > 0 ? static_cast<int>(n) : ctx.threads;
}

// LibTorch's intra-op (OpenMP) threads for the calling thread.
inline void use_threads(int n) {
  if (at::get_num_threads() != n) at::set_num_threads(n);
}

}  // namespace capflow::nodes
