// Node adapters of the model family: one training step as graph nodes,
//   resnet_encoder → attention_lstm → backward → allreduce → adam | adamw
// sharing one model (SharedObjects "model"). Every node that reads or writes weights the
// optimizer updates belongs to the exclusive span "model", so two batches never meet inside
// it; a frozen encoder stays outside, so encoding batch k+1 overlaps training on batch k.
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>

#include "graph/errors.h"
#include "graph/registry.h"
#include "nodes/io/atom_positions.h"
#include "nodes/io/sample_listing.h"
#include "nodes/metric_names.h"
#include "nodes/model/captioning.h"
#include "nodes/model/checkpoint.h"
#include "nodes/model/device_batch.h"
#include "nodes/model/model_share.h"
#include "nodes/model/precision_choice.h"
#include "nodes/model/trainer.h"
#include "nodes/model/weights_io.h"
#include "nodes/payloads.h"
#include "nodes/register_nodes.h"
#include "nodes/replica_count.h"
#include "nodes/text/inchi_formula.h"

namespace capflow::nodes {

namespace {

namespace fs = std::filesystem;
using graph::Item;
using graph::NodeContext;
using namespace model;

// Model FLOPs a node computed, in its counters (summary.json: nodes.<name>.counters.flops; the
// run's GFLOP/s and share of the machine's peak are computed from them).
void add_flops(graph::NodeCounters& counters, double flops) {
  counters.add("flops", static_cast<std::uint64_t>(flops));
}

// The step's batch as one part per replica: itself for one replica, else split_rows, each
// part weighted by its share of the rows.
std::vector<StepPart> split_step(const BatchPtr& batch, std::size_t replicas) {
  std::vector<StepPart> parts;
  if (replicas <= 1) {
    parts.emplace_back();
    parts.back().batch = batch;
    return parts;
  }
  for (auto& rows : batch::split_rows(*batch, static_cast<int>(replicas))) {
    StepPart part;
    part.weight = static_cast<double>(rows.size) / batch->size;
    part.batch = std::make_shared<const batch::ImageBatch>(std::move(rows));
    parts.push_back(std::move(part));
  }
  return parts;
}

// LibTorch threads of each part's task: the node's own with one replica, else its share.
int part_threads(int node_threads, const ModelShare& share) {
  return share.replica_count == 1 ? node_threads
                                  : replica_threads(node_threads, share.replica_count);
}

// The node's `precision` on its device (precision_choice.h); an explicit bf16 on a CPU where it
// is slower than fp32 gets a warning.
Precision node_precision(const NodeContext& ctx, const torch::Device& device) {
  const std::string argument = ctx.args().get_string("precision");
  const std::string warning = slow_bf16_warning(argument, device.is_cuda());
  if (!warning.empty()) ctx.warn(warning);
  return parse_precision(choose_precision(argument, device.is_cuda()));
}

class Encode : public graph::TransformNode {
 public:
  explicit Encode(const NodeContext& ctx)
      : share_(model_share(ctx)),
        threads_(torch_threads(ctx)),
        device_(node_device(ctx.spec->device)),
        counters_(ctx.counters) {
    const graph::Args& a = ctx.args();
    share_->replica_count = replica_count(ctx);
    if (share_->replica_count > 1 && !device_.is_cpu())
      throw ConfigError("resources.replicas " + std::to_string(share_->replica_count) +
                        " splits the CPU's threads: the model runs on " + ctx.spec->device +
                        " (set resources.replicas: 1 there, e.g. --set resources.replicas=1)");
    for (int k = 0; k < share_->replica_count; ++k)
      stagers_.emplace_back(device_, a.get_bool("channels_last"));
    EncoderOptions options;
    options.depth = static_cast<int>(a.get_int("depth"));
    options.stages = static_cast<int>(a.get_int("stages"));
    options.width = static_cast<int>(a.get_int("width"));
    if (options.depth != 18 && options.depth != 34)
      throw ConfigError("depth must be 18 or 34, got " + std::to_string(options.depth));
    // Initial weights from the pipeline's seed (LibTorch's default generator starts random).
    torch::manual_seed(hash_keys({ctx.pipeline->seed, 0x656e63ULL /* "enc" */}));
    share_->encoder = ResNetEncoder(options);
    share_->encoder_shape = {options.depth, options.in_channels, options.stages, options.width};
    if (!a.is_null("weights")) load_encoder_weights(share_->encoder, a.get_string("weights"));
    share_->frozen = a.get_bool("freeze");
    share_->channels_last = a.get_bool("channels_last");
    share_->encoder_precision = node_precision(ctx, device_);
    share_->device = device_;
    share_->encoder->to(device_);  // weights start on the CPU (seeded, loaded), then move
    if (device_.is_cuda())
      at::globalContext().setBenchmarkCuDNN(true);  // fixed shapes: pick the fastest
    if (share_->channels_last) to_channels_last(*share_->encoder);
    if (share_->frozen) {
      share_->encoder->eval();
      for (auto& p : share_->encoder->parameters()) p.set_requires_grad(false);
    } else {
      share_->encoder->train();
    }
  }

  std::string exclusive_span() const override { return share_->frozen ? "" : kModelSpan; }

  std::any process(Item& item) override {
    if (share_->done) return {};
    auto step = std::make_shared<TrainStep>();
    // From a transfer node (already on its way to the device; one replica), or a host batch
    // staged here, one share of its rows per replica.
    const auto* staged = std::any_cast<std::shared_ptr<const DeviceBatch>>(&item.payload);
    std::vector<ModelReplica>& replicas = share_->ready_replicas();
    if (staged != nullptr && *staged) {
      use_threads(threads_);
      step->batch = (*staged)->host;
      step->parts.resize(1);
      encode(*replicas[0].encoder, **staged, step->parts[0]);
    } else {
      step->batch = graph::payload_as<const batch::ImageBatch>(item);
      step->parts = split_step(step->batch, replicas.size());
      for_each_replica(static_cast<int>(step->parts.size()), part_threads(threads_, *share_),
                       [&](int k) {
                         StepPart& part = step->parts[static_cast<std::size_t>(k)];
                         encode(*replicas[static_cast<std::size_t>(k)].encoder,
                                stagers_[static_cast<std::size_t>(k)].stage(part.batch), part);
                       });
    }
    const batch::ImageBatch& b = *step->batch;
    step->encoder_flops = static_cast<double>(b.size) *
                          encoder_forward_flops(share_->encoder_shape, b.height, b.width);
    add_flops(*counters_, step->encoder_flops);
    return StepPtr(std::move(step));
  }

 private:
  // One replica's forward on its staged rows, on the calling thread.
  void encode(ResNetEncoderImpl& encoder, const DeviceBatch& d, StepPart& part) const {
    d.wait();
    part.tokens = d.tokens;
    const torch::Tensor x = share_->channels_last ? d.input : d.input.contiguous();
    AutocastGuard autocast(share_->encoder_precision, device_.type());
    if (share_->frozen) {
      torch::NoGradGuard no_grad;
      part.features = encoder.forward(x);
    } else {
      part.features = encoder.forward(x);
    }
  }

  std::shared_ptr<ModelShare> share_;
  int threads_;
  torch::Device device_;
  std::vector<DeviceStager> stagers_;  // one per replica (a stager serves one thread)
  graph::NodeCounters* counters_ = nullptr;
};

// attention_lstm and transformer_decoder: teacher-forced logits and the loss.
class CaptionDecode : public graph::TransformNode {
 public:
  explicit CaptionDecode(const NodeContext& ctx)
      : share_(model_share(ctx)),
        threads_(torch_threads(ctx)),
        seed_(ctx.pipeline->seed),
        rank_(ctx.rank),
        world_size_(ctx.world_size),
        counters_(ctx.counters) {
    const graph::Args& a = ctx.args();
    share_->vocabulary = ctx.shared->find<const text::Vocabulary>("vocabulary");
    if (!share_->vocabulary)
      throw ConfigError("needs a batch node before it (the vocabulary comes from there)");
    if (!share_->encoder) throw ConfigError("needs a resnet_encoder node before it");
    const torch::Device device = node_device(ctx.spec->device);
    if (device != share_->device)
      throw ConfigError("runs on " + ctx.spec->device + " but the encoder runs on " +
                        share_->device.str() + ": put resnet_encoder and " + ctx.spec->kind +
                        " on the same device");
    DecoderOptions& o = share_->decoder_options;
    o.kind = parse_decoder_kind(ctx.spec->kind);
    o.vocab_size = static_cast<int>(share_->vocabulary->size());
    o.hidden = static_cast<int>(a.get_int("hidden"));
    o.dropout = a.get_float("dropout");
    o.token_dropout = a.get_float("token_dropout");
    label_smoothing_ = a.get_float("label_smoothing");
    if (o.kind == DecoderKind::kTransformer) {
      o.layers = static_cast<int>(a.get_int("layers"));
      o.heads = static_cast<int>(a.get_int("heads"));
      o.ffn = static_cast<int>(a.get_int("ffn"));
    } else {
      read_lstm_args(ctx, o);
    }
    o.encoder_channels = share_->encoder->feature_channels();
    torch::manual_seed(hash_keys({seed_, 0x646563ULL /* "dec" */}));
    share_->decoder = make_decoder(o);
    o = share_->decoder->options();  // as the decoder completed them
    share_->decoder->to(device);  // seeded on the CPU, then moved: the same weights on every device
    share_->decoder->train();
    share_->decoder_precision = node_precision(ctx, device);
  }

  std::string exclusive_span() const override { return kModelSpan; }

  std::any process(Item& item) override {
    if (share_->done) return {};
    const StepPtr& step = graph::payload_as<TrainStep>(item);
    const batch::ImageBatch& b = *step->batch;
    if (b.max_length < 2) throw DataError("the batch has no captions to learn from (empty labels)");
    // Dropout draws depend on (seed, epoch, batch, replica) only: a resumed run repeats them.
    // The batch's index across ranks: N ranks draw what one rank accumulating N batches draws.
    const std::uint64_t global_index =
        item.index * static_cast<std::uint64_t>(world_size_) + static_cast<std::uint64_t>(rank_);
    const bool one = share_->replica_count == 1;
    if (one) torch::manual_seed(hash_keys({seed_, item.epoch, global_index, 0x6c73746dULL}));
    step->decoder_flops = decoder_flops(b, step->parts.at(0).features);
    add_flops(*counters_, step->decoder_flops);
    std::vector<PartLosses> losses(step->parts.size());
    for_each_replica(
        static_cast<int>(step->parts.size()), part_threads(threads_, *share_), [&](int k) {
          const auto i = static_cast<std::size_t>(k);
          CaptionDecoder& decoder = share_->replicas.at(i).decoder;
          if (!one) {
            at::Generator g = *decoder->generator();
            g.set_current_seed(
                hash_keys({seed_, item.epoch, global_index, i, 0x72706c63ULL /* "rplc" */}));
          }
          losses[i] = part_loss(*decoder, step->parts[i]);
        });
    step->loss_value = step->formula_loss_value = step->atom_loss_value = 0;
    for (std::size_t i = 0; i < losses.size(); ++i) {
      const double w = step->parts[i].weight;
      step->loss_value += w * losses[i].caption;
      step->formula_loss_value += w * losses[i].formula;
      step->atom_loss_value += w * losses[i].atom;
    }
    if (formula_weight_ <= 0) step->formula_loss_value = -1;
    if (atom_weight_ <= 0) step->atom_loss_value = -1;
    return step;
  }

 private:
  // The losses of one part, for the metrics (the heads' are 0 when there is no head).
  struct PartLosses {
    double caption = 0, formula = 0, atom = 0;
  };

  // attention_lstm's own arguments: sizes and the auxiliary heads.
  void read_lstm_args(const NodeContext& ctx, DecoderOptions& o) {
    const graph::Args& a = ctx.args();
    o.embed = static_cast<int>(a.get_int("embed"));
    o.attention = static_cast<int>(a.get_int("attention"));
    formula_weight_ = a.get_float("formula_loss");
    o.formula_head = formula_weight_ > 0 ? static_cast<int>(a.get_int("formula_hidden")) : 0;
    atom_weight_ = a.get_float("atom_loss");
    if (atom_weight_ > 0 && !ctx.shared->find<const bool>("atom_positions"))
      throw ConfigError("atom_loss needs atom positions: set the batch node's atoms: true");
    o.atom_classes = atom_weight_ > 0 ? io::kAtomClasses : 0;
  }

  // One replica's forward on its part: the loss to back-propagate into part.loss.
  PartLosses part_loss(CaptionDecoderImpl& decoder, StepPart& part) const {
    const batch::ImageBatch& b = *part.batch;
    // On the model's device (staged with the batch by the encode node or a transfer node).
    const torch::Tensor tokens = part.tokens.defined()
                                     ? part.tokens
                                     : torch::from_blob(const_cast<std::int64_t*>(b.tokens.data()),
                                                        {b.size, b.max_length}, torch::kInt64)
                                           .clone();
    AutocastGuard autocast(share_->decoder_precision, share_->device.type());
    const torch::Tensor& features = part.features;
    const torch::Tensor logits = decoder.forward(features, tokens);
    PartLosses out;
    part.loss = caption_loss(logits.to(torch::kFloat), tokens, label_smoothing_);
    // The reported loss is the plain cross entropy, comparable across smoothing settings.
    out.caption = label_smoothing_ > 0 ? plain_loss(logits, tokens) : part.loss.item<double>();
    if (formula_weight_ > 0) {
      const torch::Tensor aux =
          formula_loss(decoder.predict_formula(features), formula_targets(b).to(features.device()));
      out.formula = aux.item<double>();
      part.loss = part.loss + formula_weight_ * aux;
    }
    if (atom_weight_ > 0) {
      const torch::Tensor aux =
          atom_loss(decoder.predict_atoms(features),
                    atom_cells(b, features.size(2), features.size(3)).to(features.device()));
      out.atom = aux.item<double>();
      part.loss = part.loss + atom_weight_ * aux;
    }
    part.features = torch::Tensor();
    part.tokens = torch::Tensor();
    return out;
  }

  // The unsmoothed caption loss, for the metrics (no graph: it is not back-propagated).
  static double plain_loss(const torch::Tensor& logits, const torch::Tensor& tokens) {
    torch::NoGradGuard no_grad;
    return caption_loss(logits.to(torch::kFloat), tokens).item<double>();
  }

  // Atom counts per element of every row's label, float [rows, kFormulaSlots].
  static torch::Tensor formula_targets(const batch::ImageBatch& b) {
    auto counts = torch::zeros({b.size, static_cast<int64_t>(text::kFormulaSlots)});
    auto acc = counts.accessor<float, 2>();
    for (int r = 0; r < b.size; ++r) {
      text::FormulaCounts c;
      try {
        c = text::formula_counts(b.labels.at(static_cast<std::size_t>(r)));
      } catch (const std::invalid_argument& e) {
        throw DataError("sample " + b.ids.at(static_cast<std::size_t>(r)) + ": " + e.what());
      }
      for (std::size_t k = 0; k < c.size(); ++k) acc[r][static_cast<int64_t>(k)] = c[k];
    }
    return counts;
  }

  // The class of each cell of an h x w grid over the batch's pictures, int64 [rows, h*w]: the
  // highest atom class among the atoms drawn in it (a heteroatom's label over a carbon), else 0.
  static torch::Tensor atom_cells(const batch::ImageBatch& b, int64_t h, int64_t w) {
    if (b.atom_offsets.size() != static_cast<std::size_t>(b.size) + 1)
      throw DataError("atom_loss: the batch carries no atom positions");
    auto cells = torch::zeros({b.size, h * w}, torch::kInt64);
    auto acc = cells.accessor<int64_t, 2>();
    for (int r = 0; r < b.size; ++r) {
      for (auto k = b.atom_offsets[r]; k < b.atom_offsets[r + 1]; ++k) {
        const io::AtomPoint& a = b.atoms[static_cast<std::size_t>(k)];
        const auto cx = std::clamp<int64_t>(static_cast<int64_t>(a.x * w / b.width), 0, w - 1);
        const auto cy = std::clamp<int64_t>(static_cast<int64_t>(a.y * h / b.height), 0, h - 1);
        int64_t& cell = acc[r][cy * w + cx];
        cell = std::max<int64_t>(cell, a.cls);
      }
    }
    return cells;
  }

  // Forward FLOPs of the decoder on this batch: per image, plus per predicted token (the
  // real tokens after <sos>, padding excluded).
  double decoder_flops(const batch::ImageBatch& b, const torch::Tensor& features) const {
    const DecoderOptions& o = share_->decoder_options;
    DecoderShape shape{o.vocab_size,
                       o.embed,
                       o.hidden,
                       o.attention,
                       o.encoder_channels,
                       o.formula_head,
                       static_cast<int>(text::kFormulaSlots)};
    shape.transformer = o.kind == DecoderKind::kTransformer;
    shape.layers = o.layers;
    shape.ffn = o.ffn;
    const DecoderFlops f =
        decoder_forward_flops(shape, static_cast<int>(features.size(2) * features.size(3)));
    double tokens = 0, pairs = 0;
    for (const std::int32_t length : b.lengths) {
      const double n = length > 1 ? length - 1 : 0;
      tokens += n;
      pairs += n * (n + 1) / 2;
    }
    return b.size * f.per_image + tokens * f.per_token + pairs * f.per_attended;
  }

  std::shared_ptr<ModelShare> share_;
  int threads_;
  std::uint64_t seed_;
  int rank_, world_size_;
  double formula_weight_ = 0;
  double atom_weight_ = 0;
  double label_smoothing_ = 0;
  graph::NodeCounters* counters_ = nullptr;
};

class Backward : public graph::TransformNode {
 public:
  explicit Backward(const NodeContext& ctx)
      : share_(model_share(ctx)), threads_(torch_threads(ctx)), counters_(ctx.counters) {}
  std::string exclusive_span() const override { return kModelSpan; }
  std::any process(Item& item) override {
    if (share_->done) return {};
    const StepPtr& step = graph::payload_as<TrainStep>(item);
    // Each replica back-propagates its share (weight × its mean loss), then the gradients meet
    // in replica 0's and the batch-norm statistics become the replicas' mean.
    for_each_replica(
        static_cast<int>(step->parts.size()), part_threads(threads_, *share_), [&](int k) {
          StepPart& part = step->parts[static_cast<std::size_t>(k)];
          (part.loss * part.weight / static_cast<double>(share_->accumulate)).backward();
          part.loss = torch::Tensor();
        });
    merge_gradients(share_->replicas);
    average_statistics(share_->replicas);
    add_flops(*counters_, kBackwardFactor *
                              ((share_->frozen ? 0.0 : step->encoder_flops) + step->decoder_flops));
    return step;
  }

 private:
  std::shared_ptr<ModelShare> share_;
  int threads_;
  graph::NodeCounters* counters_ = nullptr;
};

// Adam/AdamW step, schedule, checkpoints, evaluation, the end of training.
class Optimize : public graph::SinkNode {
 public:
  Optimize(const NodeContext& ctx, bool decoupled)
      : ctx_(ctx), share_(model_share(ctx)), threads_(torch_threads(ctx)) {
    if (!share_->decoder)
      throw ConfigError("needs a decoder node (attention_lstm or transformer_decoder) before it");
    const graph::Args& a = ctx.args();
    const graph::Args& train = ctx.pipeline->section("train");
    TrainerOptions o;
    o.decoupled_weight_decay = decoupled;
    const auto betas = a.get_float_list("betas");
    o.beta1 = betas[0];
    o.beta2 = betas[1];
    o.eps = a.get_float("eps");
    o.weight_decay = a.get_float("weight_decay");
    o.clip_norm = a.get_float("clip_norm");
    o.accumulate = static_cast<int>(a.get_int("accumulate"));
    o.schedule.base = a.get_float("lr");
    o.schedule.warmup_steps = static_cast<std::uint64_t>(a.get_int("warmup_steps"));
    o.schedule.cosine = a.get_string("schedule") == "cosine";
    o.schedule.min_ratio = a.get_float("min_lr_ratio");
    max_steps_ = static_cast<std::uint64_t>(train.get_int("max_steps"));
    o.schedule.total_steps = a.get_int("total_steps") > 0
                                 ? static_cast<std::uint64_t>(a.get_int("total_steps"))
                                 : max_steps_;
    max_seconds_ = train.get_float("max_seconds");
    // A run bounded by time alone decays over its time: the rate ends low when the time does.
    // Ranks must apply equal rates: with several, the clock is the one the reduce node agrees.
    const bool open_cosine = o.schedule.cosine && o.schedule.total_steps == 0;
    o.schedule.by_time = open_cosine && max_seconds_ > 0;
    if (open_cosine && !o.schedule.by_time)
      ctx.warn(
          "schedule cosine without total_steps, train.max_steps or train.max_seconds: "
          "constant rate after warm-up");
    share_->accumulate = o.accumulate;
    trainer_ =
        std::make_unique<Trainer>(share_->parameter_groups(a.get_float("encoder_lr_scale")), o);
    checkpoint_every_ = static_cast<std::uint64_t>(a.get_int("checkpoint_every"));
    keep_ = static_cast<int>(a.get_int("keep"));
    eval_every_ = static_cast<std::uint64_t>(a.get_int("eval_every"));
    eval_every_seconds_ = a.get_float("eval_every_seconds");
    beam_ = static_cast<int>(a.get_int("beam"));
    // Ranks hold equal weights: rank 0 alone writes checkpoints and evaluates.
    if (!ctx.run_dir.empty() && ctx.rank == 0)
      checkpoint_dir_ = (fs::path(ctx.run_dir) / "checkpoints").string();
    if (ctx.rank == 0) load_validation_set(ctx, static_cast<std::size_t>(a.get_int("eval_images")));
    if (!train.is_null("resume")) resume(resolve_checkpoint(train.get_string("resume")));
    started_ = std::chrono::steady_clock::now();
    share_->started = started_;
    if (!checkpoint_dir_.empty())
      share_->save_now = [this] {
        if (trainer_->step() > 0 && trainer_->step() != last_checkpoint_step_) checkpoint();
      };
  }

  std::string exclusive_span() const override { return kModelSpan; }

  void consume(Item& item) override {
    if (share_->done) return;
    // With replicas the update runs on one replica's share of the threads: a wider OpenMP
    // team, idle while the replicas work, would sleep between steps and be woken at each of
    // the update's operations. Evaluations take every thread again.
    use_threads(part_threads(threads_, *share_));
    const StepPtr& step = graph::payload_as<TrainStep>(item);
    const batch::ImageBatch& b = *step->batch;
    if (width_ == 0) width_ = b.width, height_ = b.height;
    pending_images_ += static_cast<std::uint64_t>(b.size);
    pending_epoch_ = item.epoch;
    pending_groups_ = item.index + 1;
    if (max_seconds_ > 0) trainer_->set_progress(training_clock() / max_seconds_);
    if (!trainer_->after_backward(step->loss_value)) return;
    images_ +=
        pending_images_ * static_cast<std::uint64_t>(ctx_.world_size);  // ranks take equal shares
    pending_images_ = 0;
    epoch_ = pending_epoch_;
    groups_done_ = pending_groups_;
    const std::uint64_t s = trainer_->step();
    ctx_.report(metrics::kLoss, trainer_->last_loss(), s);
    ctx_.report(metrics::kLearningRate, trainer_->last_lr(), s);
    if (trainer_->options().clip_norm > 0)
      ctx_.report(metrics::kGradNorm, trainer_->last_grad_norm(), s);
    for (std::size_t g = 0; g < trainer_->groups().size(); ++g)
      ctx_.report(std::string(metrics::kGradNorm) + "." + trainer_->groups()[g].name,
                  trainer_->last_group_norms()[g], s);
    if (step->formula_loss_value >= 0)
      ctx_.report(metrics::kFormulaLoss, step->formula_loss_value, s);
    if (step->atom_loss_value >= 0) ctx_.report(metrics::kAtomLoss, step->atom_loss_value, s);
    ctx_.report(metrics::kImages, static_cast<double>(images_), s);
    if (checkpoint_every_ > 0 && s % checkpoint_every_ == 0) checkpoint();
    if ((eval_every_ > 0 && s % eval_every_ == 0) ||
        (eval_every_seconds_ > 0 &&
         train_seconds() - last_eval_train_seconds_ >= eval_every_seconds_))
      evaluate();
    if ((max_steps_ > 0 && s >= max_steps_) || share_->stop_after_step) {
      share_->done = true;
      ctx_.request_stop();
    }
  }

  void end_of_epoch(std::uint64_t epoch) override {
    pending_epoch_ = epoch + 1;
    pending_groups_ = 0;
    if (trainer_->at_step_boundary()) {
      epoch_ = pending_epoch_;
      groups_done_ = 0;
    }
  }

  void finish() override {
    trainer_->discard_partial_step();
    if (trainer_->step() > 0 && trainer_->step() != last_checkpoint_step_) checkpoint();
    if (!validation_.empty()) evaluate();
  }

 private:
  void load_validation_set(const NodeContext& ctx, std::size_t limit) {
    const graph::Args& data = ctx.pipeline->section("data");
    if (data.is_null("val_root") || limit == 0) return;
    const io::Listing listing =
        io::list_bms(data.get_string("val_root"), data.get_string("labels"),
                     data.get_string("images"), data.get_string("extension"));
    validation_ = listing.samples(limit);
  }

  void resume(const std::string& path) {
    const CheckpointInfo info = read_checkpoint_info(path);
    const std::string notation = text::notation_name(share_->vocabulary->notation());
    if (info.vocabulary != share_->vocabulary->tokens() || info.notation != notation)
      throw ConfigError("checkpoint '" + path + "' was trained with another vocabulary (" +
                        std::to_string(info.vocabulary.size()) + " " + info.notation +
                        " tokens, this run has " + std::to_string(share_->vocabulary->size()) +
                        " " + notation + " tokens)");
    const std::string decoder = decoder_kind_name(share_->decoder_options.kind);
    if (info.decoder != decoder)
      throw ConfigError("checkpoint '" + path + "' was trained with a " + info.decoder +
                        " decoder, this run's is " + decoder);
    // The data position counts batches of replicas × batch size: another split would shift it.
    if (info.replicas != share_->replica_count)
      throw ConfigError("checkpoint '" + path + "' was trained with resources.replicas " +
                        std::to_string(info.replicas) + ", this run has " +
                        std::to_string(share_->replica_count) +
                        ": resume with replicas: " + std::to_string(info.replicas));
    load_checkpoint(path, *share_->encoder, *share_->decoder, &trainer_->optimizer());
    trainer_->set_step(info.step);
    images_ = info.images;
    seconds_before_ = info.seconds;
    last_eval_train_seconds_ = info.seconds;
    epoch_ = info.epoch;
    groups_done_ = resume_groups(info, ctx_.world_size);
    last_checkpoint_step_ = info.step;
  }

  CheckpointInfo info() const {
    CheckpointInfo i;
    i.step = trainer_->step();
    i.epoch = epoch_;
    i.groups_done = groups_done_;
    i.images = images_;
    i.loss = trainer_->last_loss();
    i.seconds = seconds_before_ + seconds_since(started_);
    i.world_size = ctx_.world_size;
    i.replicas = share_->replica_count;
    i.precision = precision_name(share_->encoder_precision);
    i.encoder_depth = share_->encoder->options().depth;
    i.encoder_stages = share_->encoder->options().stages;
    i.encoder_width = share_->encoder->options().width;
    i.formula_head = share_->decoder_options.formula_head;
    i.atom_head = share_->decoder_options.atom_classes;
    i.decoder = decoder_kind_name(share_->decoder_options.kind);
    i.layers = share_->decoder_options.layers;
    i.heads = share_->decoder_options.heads;
    i.ffn = share_->decoder_options.ffn;
    i.embed = share_->decoder_options.embed;
    i.hidden = share_->decoder_options.hidden;
    i.attention = share_->decoder_options.attention;
    i.dropout = share_->decoder_options.dropout;
    i.image_width = width_;
    i.image_height = height_;
    i.vocabulary = share_->vocabulary->tokens();
    i.notation = text::notation_name(share_->vocabulary->notation());
    i.config_yaml = ctx_.pipeline->resolved_yaml;
    return i;
  }

  void checkpoint() {
    if (checkpoint_dir_.empty()) return;
    fs::create_directories(checkpoint_dir_);
    const std::string path =
        (fs::path(checkpoint_dir_) / checkpoint_file_name(trainer_->step())).string();
    write_checkpoint(path, info(), *share_->encoder, *share_->decoder, &trainer_->optimizer(),
                     keep_);
    last_checkpoint_step_ = trainer_->step();
  }

  void evaluate() {
    if (validation_.empty() || width_ == 0) return;
    use_threads(threads_);
    CaptionModel m;
    m.encoder = share_->encoder;
    m.decoder = share_->decoder;
    m.vocabulary = *share_->vocabulary;
    m.precision = share_->encoder_precision;
    m.channels_last = share_->channels_last;
    m.width = width_;
    m.height = height_;
    PredictOptions options;
    options.beam = beam_;
    const auto t0 = std::chrono::steady_clock::now();
    const auto predictions = predict_captions(m, validation_, options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const EvalResult r = score_predictions(predictions, validation_);
    if (share_->frozen) share_->encoder->eval();  // predict_captions restores train mode
    const std::uint64_t s = trainer_->step();
    eval_seconds_ += seconds_since(t0);  // prediction and scoring
    last_eval_train_seconds_ = train_seconds();
    ctx_.report(metrics::kEvalTrainSeconds, last_eval_train_seconds_, s);
    ctx_.report(metrics::kEvalLevenshtein, r.levenshtein_mean, s);
    ctx_.report(metrics::kEvalExactMatch, r.exact_match, s);
    ctx_.report(metrics::kEvalValidInchi, r.valid_inchi_fraction, s);
    ctx_.report(metrics::kEvalImages, static_cast<double>(r.images), s);
    ctx_.report(metrics::kEvalImagesPerSecond,
                seconds > 0 ? static_cast<double>(r.images) / seconds : 0.0, s);
    ctx_.report(metrics::kEvalBeam, beam_, s);
  }

  static double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  // The clock of a time-bound schedule: this run's seconds, the ranks' agreed ones when several.
  double training_clock() const {
    const double agreed = share_->agreed_seconds.load();
    return agreed >= 0 ? agreed : seconds_since(started_);
  }
  // Training time so far: earlier runs of a resumed training plus this one, less evaluations.
  double train_seconds() const { return seconds_before_ + seconds_since(started_) - eval_seconds_; }

  NodeContext ctx_;
  std::shared_ptr<ModelShare> share_;
  int threads_;
  std::unique_ptr<Trainer> trainer_;
  double max_seconds_ = 0, eval_every_seconds_ = 0, eval_seconds_ = 0, last_eval_train_seconds_ = 0;
  std::uint64_t max_steps_ = 0;
  std::uint64_t checkpoint_every_ = 0, eval_every_ = 0, last_checkpoint_step_ = 0;
  int keep_ = 3, beam_ = 1;
  std::string checkpoint_dir_;
  std::vector<io::SampleRef> validation_;
  std::uint64_t images_ = 0, pending_images_ = 0;
  std::uint64_t epoch_ = 0, groups_done_ = 0, pending_epoch_ = 0, pending_groups_ = 0;
  int width_ = 0, height_ = 0;
  double seconds_before_ = 0;
  std::chrono::steady_clock::time_point started_;
};

// The `threads` argument every node that runs LibTorch work takes (one definition, one doc).
graph::ArgSpec torch_threads_arg() {
  return graph::arg_int_or_auto("threads", "auto",
                                "LibTorch intra-op threads (auto: the run's budget)");
}

// The decoders' shared training arguments.
graph::ArgSpec token_dropout_arg() {
  return graph::arg_float("token_dropout", "0",
                          "training: share of the teacher-forced input tokens replaced by <unk> "
                          "(the picture has to tell the next token more often)",
                          0, 0.9);
}

graph::ArgSpec label_smoothing_arg() {
  return graph::arg_float("label_smoothing", "0",
                          "training: the caption loss's targets keep 1 - this on the next token "
                          "and spread this over the vocabulary (metrics report the plain loss; "
                          "0: none)",
                          0, 0.5);
}

std::vector<graph::ArgSpec> optimizer_args(const char* weight_decay) {
  using namespace graph;
  return {
      arg_float("lr", "3.0e-4", "peak learning rate", 0),
      arg_float_list("betas", "[0.9, 0.999]", 2, "Adam's moment decay rates", 0, 1),
      arg_float("eps", "1.0e-8", "Adam's epsilon", 0),
      arg_float("weight_decay", weight_decay, "weight decay (AdamW: decoupled)", 0),
      arg_int("warmup_steps", "100", "steps of linear warm-up", 0),
      arg_choice("schedule", "cosine", {"cosine", "constant"},
                 "after warm-up: cosine decay or constant"),
      arg_int("total_steps", "0", "steps of the cosine (0: train.max_steps)", 0),
      arg_float("min_lr_ratio", "0.05", "the cosine ends at this share of lr", 0, 1),
      arg_float("clip_norm", "5.0", "clip gradients to this global norm (0: no clipping)", 0),
      arg_int("accumulate", "1", "micro-batches per optimizer step", 1, 1024),
      arg_int("checkpoint_every", "500", "steps between checkpoints (0: only at the end)", 0),
      arg_int("keep", "3", "checkpoints kept (0: all)", 0),
      arg_int("eval_every", "0", "steps between evaluations on data.val_root (0: only at the end)",
              0),
      arg_float("eval_every_seconds", "0",
                "training seconds between evaluations on data.val_root (0: by steps only)", 0),
      arg_float("encoder_lr_scale", "1", "the encoder's learning rate is lr times this", 0),
      arg_int("eval_images", "200", "images of data.val_root evaluated (0: no evaluation)", 0),
      arg_int("beam", "1", "beam width of the evaluation (1: greedy)", 1, 64),
      torch_threads_arg(),
  };
}

}  // namespace

constexpr const char* kPrecisionHelp =
    "auto: bf16 where it is the faster precision (a CUDA device; a CPU with AMX or AVX512-BF16 "
    "whose measured bf16 peak is above its fp32 peak, `capflow info --peak`), else fp32; bf16: "
    "autocast (slower than fp32 on other CPUs, with a warning); fp32: full precision";

void register_model_nodes(graph::Registry& registry) {
  using namespace graph;
  add_node<Encode>(
      registry,
      NodeSchema("resnet_encoder",
                 "ResNet-18/34 (torchvision layout, 1-channel stem) turning a batch into features")
          .transform("batch", "features")
          .also_takes("device_batch")
          .in_order()
          .stage(NodeStage::kModel)
          .args_from({
              arg_int("depth", "18", "18 or 34", 18, 34),
              arg_int(
                  "stages", "4",
                  "residual stages kept: 4 (output stride 32, 7x7 at 224) or 3 (stride 16, 14x14)",
                  1, 4),
              arg_int("width", "64",
                      "channels of the stem and layer1 (doubling per stage; torchvision: 64)", 8,
                      256),
              nullable(arg_string(
                  "weights", "null",
                  "torchvision state_dict (torch.save) or capflow checkpoint to start from")),
              arg_bool("freeze", "false",
                       "no gradients: a fixed feature extractor (transfer learning)"),
              arg_choice("precision", "auto", {"auto", "bf16", "fp32"}, kPrecisionHelp),
              arg_bool("channels_last", "true", "channels-last tensors (the fast oneDNN path)"),
              torch_threads_arg(),
          }));
  add_node<CaptionDecode>(
      registry, NodeSchema("attention_lstm",
                           "Show, Attend and Tell decoder: teacher-forced logits and the loss")
                    .transform("features", "loss")
                    .in_order()
                    .stage(NodeStage::kModel)
                    .args_from({
                        arg_int("embed", "256", "token embedding size", 1),
                        arg_int("hidden", "512", "LSTM hidden size", 1),
                        arg_int("attention", "256", "attention size", 1),
                        arg_float("dropout", "0.5", "dropout before the output layer", 0, 0.95),
                        token_dropout_arg(),
                        arg_float("formula_loss", "0",
                                  "weight of the auxiliary formula loss (atom counts per element "
                                  "from pooled features; 0: no head)",
                                  0),
                        arg_int("formula_hidden", "256", "hidden size of the formula head", 1),
                        arg_float("atom_loss", "0",
                                  "weight of the auxiliary atom loss: which element, if any, is "
                                  "drawn in each cell of the encoder's grid (needs the batch "
                                  "node's atoms: true; 0: no head)",
                                  0),
                        label_smoothing_arg(),
                        arg_choice("precision", "auto", {"auto", "bf16", "fp32"}, kPrecisionHelp),
                        torch_threads_arg(),
                    }));
  add_node<CaptionDecode>(
      registry,
      NodeSchema("transformer_decoder",
                 "transformer decoder (pre-norm layers: causal self-attention, attention over "
                 "the encoder's grid, feed-forward): every token of a caption trained at once; "
                 "teacher-forced logits and the loss")
          .transform("features", "loss")
          .in_order()
          .stage(NodeStage::kModel)
          .args_from({
              arg_int("hidden", "256", "width d of the layers (a multiple of 4 and of heads)", 4),
              arg_int("layers", "3", "decoder layers", 1, 24),
              arg_int("heads", "8", "attention heads per layer", 1),
              arg_int("ffn", "1024", "feed-forward units per layer", 1),
              arg_float("dropout", "0.1", "dropout after each sublayer and on the embeddings", 0,
                        0.95),
              token_dropout_arg(),
              label_smoothing_arg(),
              arg_choice("precision", "auto", {"auto", "bf16", "fp32"}, kPrecisionHelp),
              torch_threads_arg(),
          }));
  add_node<Backward>(registry,
                     NodeSchema("backward", "back-propagates the loss into the model's gradients")
                         .transform("loss", "grads")
                         .in_order()
                         .stage(NodeStage::kModel)
                         .arg(torch_threads_arg()));
  registry.add_kind(
      NodeSchema("adam",
                 "Adam step, schedule, checkpoints and evaluation: the end of a training pipeline")
          .sink("grads")
          .in_order()
          .stage(NodeStage::kOptimizer)
          .args_from(optimizer_args("0")));
  registry.add_implementation(
      "adam", "cpu", [](const NodeContext& ctx) { return std::make_unique<Optimize>(ctx, false); });
  registry.add_kind(NodeSchema("adamw", "AdamW (decoupled weight decay); otherwise as adam")
                        .sink("grads")
                        .in_order()
                        .stage(NodeStage::kOptimizer)
                        .args_from(optimizer_args("0.01")));
  registry.add_implementation(
      "adamw", "cpu", [](const NodeContext& ctx) { return std::make_unique<Optimize>(ctx, true); });
  // The same adapters with the model on a CUDA device (docs/gpu.md), in a CUDA build: one
  // runtime check, model::cuda_built(), decides here and in register_device_nodes() (the
  // transfer in front of the encoder, or the note a CPU-only build gives).
  if (model::cuda_built()) {
    registry.add_implementation("resnet_encoder", "cuda", [](const NodeContext& ctx) {
      return std::make_unique<Encode>(ctx);
    });
    for (const char* kind : {"attention_lstm", "transformer_decoder"})
      registry.add_implementation(kind, "cuda", [](const NodeContext& ctx) {
        return std::make_unique<CaptionDecode>(ctx);
      });
  }
  registry.add_condition(
      {"cpu_without_native_bf16",
       "bf16 is not the faster precision on this CPU: it has neither AMX nor AVX512-BF16, or its "
       "measured bf16 peak is not above its fp32 peak (`capflow info --peak`; cached, else "
       "measured once, about 2 s), so a model node's `precision: auto` computes in fp32 there "
       "(on a CPU device)",
       [] { return !model::cpu_runs_bf16_fast(); }});
}

}  // namespace capflow::nodes
