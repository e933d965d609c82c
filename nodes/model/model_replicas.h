// Model replicas inside one process (resources.replicas): data parallelism on the cores of
// one box without a second process. Each replica is an (encoder, decoder) pair that trains on
// its share of a step's batch on its own thread; their parameters share storage, so the one
// optimizer step reaches them all, while gradients, batch-norm statistics and dropout draws
// are each replica's own until merged. Kernel code: no graph, no YAML.
#pragma once

#include <functional>
#include <vector>

#include "nodes/model/caption_decoder.h"
#include "nodes/model/resnet_encoder.h"

namespace capflow::model {

struct ModelReplica {
  ResNetEncoder encoder{nullptr};
  CaptionDecoder decoder{nullptr};
};

// `count` replicas, the first being (encoder, decoder) themselves; the others have the same
// architecture, device, memory format, training mode and values. Their parameters share the
// originals' storage (parameters replaced in place, e.g. by loading a checkpoint, keep
// sharing; replaced tensors would not). A frozen encoder (no parameter requires a gradient) is
// shared as it is, not copied. With count > 1 every decoder draws dropout from a generator of
// its own (CaptionDecoderImpl::generator), so replicas running at once stay deterministic.
// Throws ConfigError for count < 1.
std::vector<ModelReplica> make_replicas(const ResNetEncoder& encoder, const CaptionDecoder& decoder,
                                        int count, bool channels_last);

// Adds the gradients of replicas 1.. into replica 0's and zeroes theirs (call when every
// replica's backward of a micro-batch is done; the losses back-propagated must already carry
// each replica's weight, e.g. its share of the rows). Parameters without a gradient are left.
void merge_gradients(std::vector<ModelReplica>& replicas);

// Sets every floating-point buffer of the replicas' encoders (batch-norm running statistics)
// to their mean over the replicas. No-op for one replica or a shared encoder.
void average_statistics(std::vector<ModelReplica>& replicas);

// Runs fn(k) for k in [0, count), in parallel as oneTBB tasks of the calling arena when
// count > 1, each with `threads` LibTorch intra-op threads; count 1 runs inline on the
// calling thread. Thread-local LibTorch state (autocast, grad mode) is the task's own: set it
// inside fn. Rethrows the first exception after every task ended.
void for_each_replica(int count, int threads, const std::function<void(int)>& fn);

}  // namespace capflow::model
