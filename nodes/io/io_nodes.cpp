// Node adapters of the io family: read_files (source) and decode_image (transform).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "graph/errors.h"
#include "graph/registry.h"
#include "nodes/io/image_codec.h"
#include "nodes/metric_names.h"
#include "nodes/payloads.h"
#include "nodes/register_nodes.h"

namespace capflow::nodes {

namespace {

namespace fs = std::filesystem;
using graph::Item;
using graph::NodeContext;

// The samples of data.root (BMS layout or a plain folder), in a per-epoch shuffled order,
// this rank's share only.
class ReadFiles : public graph::SourceNode {
 public:
  explicit ReadFiles(const NodeContext& ctx)
      : seed_(ctx.pipeline->seed), rank_(ctx.rank), world_size_(ctx.world_size) {
    const graph::Args& data = ctx.pipeline->section("data");
    const graph::Args& train = ctx.pipeline->section("train");
    const std::string root = data.get_string("root");
    auto listing = std::make_shared<io::Listing>(data.get_string("layout") == "folder"
                                                     ? io::list_image_folder(root)
                                                     : io::list_bms(root, data.get_string("labels"),
                                                                    data.get_string("images"),
                                                                    data.get_string("extension")));
    if (listing->rejected > 0) {
      ctx.counters->add("rejected", listing->rejected);
      std::string examples;
      for (const auto& e : listing->rejected_examples) examples += "\n  " + e;
      ctx.warn(std::to_string(listing->rejected) +
               " row(s) rejected (unsafe or malformed ids):" + examples);
    }
    const auto limit = ctx.args().get_int("limit");
    if (limit > 0) listing->truncate(static_cast<std::size_t>(limit));
    if (listing->empty()) throw ConfigError("no samples found under '" + root + "'");
    listing_ = std::move(listing);
    shuffle_ = ctx.args().get_bool("shuffle");
    // Sharding in blocks: the collect node's group size unless given; even shares where ranks
    // must take equal numbers of steps (a reduce node in the pipeline).
    const auto block = ctx.args().get_int("shard_block");
    const std::string even = ctx.args().get_string("even_shares");
    bool averages = false;
    for (const graph::NodeSpec& n : ctx.pipeline->nodes) {
      if (n.schema == nullptr) continue;
      const std::string& group_arg = n.schema->group_size_arg;
      if (block <= 0 && !group_arg.empty() && shard_block_ == 1)
        shard_block_ = static_cast<std::size_t>(n.args.get_int(group_arg));
      if (n.schema->node_stage == graph::NodeStage::kReduce) averages = true;
    }
    if (block > 0) shard_block_ = static_cast<std::size_t>(block);
    even_ = even == "true" || (even == "auto" && averages);
    if (even_ && world_size_ > 1 &&
        listing_->size() < shard_block_ * static_cast<std::size_t>(world_size_))
      throw ConfigError("data.root has " + std::to_string(listing_->size()) +
                        " samples, fewer than one block of " + std::to_string(shard_block_) +
                        " for each of " + std::to_string(world_size_) + " ranks");
    epochs_ = ctx.args().is_null("epochs")
                  ? static_cast<std::uint64_t>(train.get_int("epochs"))
                  : static_cast<std::uint64_t>(ctx.args().get_int("epochs"));
    // Samples per epoch on this rank (about), for the progress line's epoch % and ETA.
    const std::size_t ranks = static_cast<std::size_t>(world_size_ > 1 ? world_size_ : 1);
    ctx.report(metrics::kEpochImages, static_cast<double>((listing_->size() + ranks - 1) / ranks),
               0);
  }

  bool next(Item& item) override {
    while (position_ >= order_.size()) {
      if (started_) ++epoch_;
      if (epoch_ >= epochs_) return false;
      order_ = io::epoch_order(listing_->size(), seed_, epoch_, shuffle_, rank_, world_size_,
                               shard_block_, even_);
      position_ = 0;
      started_ = true;
    }
    // The sample's strings are copied out of the compact listing here, so only the items in
    // flight (bounded by resources.max_in_flight) hold them.
    auto sample = std::make_shared<const io::SampleRef>(listing_->sample(order_[position_++]));
    item.id = sample->id;
    item.epoch = epoch_;
    item.payload = SamplePtr(std::move(sample));
    return true;
  }

 private:
  std::shared_ptr<const io::Listing> listing_;
  std::uint64_t seed_;
  int rank_;
  int world_size_;
  bool shuffle_ = true;
  std::size_t shard_block_ = 1;
  bool even_ = false;
  std::uint64_t epochs_ = 1;
  std::uint64_t epoch_ = 0;
  bool started_ = false;
  std::vector<std::size_t> order_;
  std::size_t position_ = 0;
};

// Reads and decodes one image file to 8-bit gray. Missing, corrupt or truncated files are
// counted, reported once each with their path, and skipped.
class DecodeImage : public graph::TransformNode {
 public:
  explicit DecodeImage(const NodeContext& ctx) : ctx_(ctx) {
    const graph::Args& a = ctx.args();
    limits_.max_width = limits_.max_height = static_cast<int>(a.get_int("max_side"));
    limits_.max_pixels = static_cast<std::uint64_t>(a.get_float("max_megapixels") * 1e6);
    if (!a.is_null("fit")) {
      const auto fit = a.get_int_list("fit");
      fit_width_ = static_cast<int>(fit[0]);
      fit_height_ = static_cast<int>(fit[1]);
    }
    max_reports_ = static_cast<int>(a.get_int("max_reports"));
  }

  std::any process(Item& item) override {
    const SamplePtr& sample = graph::payload_as<const io::SampleRef>(item);
    std::vector<std::uint8_t> bytes;
    try {
      bytes = io::read_file(sample->path);
    } catch (const DataError& e) {
      std::error_code ec;
      const bool missing = !fs::exists(sample->path, ec);
      return skip(missing ? "missing" : "unreadable", e.what());
    }
    try {
      auto out = std::make_shared<ImageSample>();
      out->image = io::decode_image_gray_fit(bytes.data(), bytes.size(), sample->path, limits_,
                                             fit_width_, fit_height_, &out->from_file);
      out->sample = sample;
      return ImagePtr(std::move(out));
    } catch (const DataError& e) {
      return skip("corrupt", e.what());
    }
  }

 private:
  std::any skip(const char* counter, const std::string& message) {
    ctx_.counters->add(counter);
    const int n = ++reports_;
    if (n <= max_reports_)
      ctx_.warn(std::string("skipped (") + counter + "): " + message);
    else if (n == max_reports_ + 1)
      ctx_.warn("more skipped images: counted in the summary, not reported one by one");
    return {};
  }

  NodeContext ctx_;
  io::DecodeLimits limits_;
  int fit_width_ = 0;
  int fit_height_ = 0;
  int max_reports_ = 20;
  std::atomic<int> reports_{0};
};

}  // namespace

void register_io_nodes(graph::Registry& registry) {
  using namespace graph;
  add_node<ReadFiles>(
      registry,
      NodeSchema(
          "read_files",
          "lists the samples of data.root (section data) and emits this rank's share, shuffled per "
          "epoch")
          .source("sample")
          .stage(NodeStage::kData)
          .args_from({
              arg_bool("shuffle", "true",
                       "shuffle every epoch from (seed, epoch); false: file order"),
              nullable(arg_int("epochs", "null", "passes over the data (null: train.epochs)", 1)),
              arg_int("limit", "0", "use only the first N samples of the listing (0: all)", 0),
              arg_int_or_auto(
                  "shard_block", "auto",
                  "ranks are dealt blocks of this many consecutive samples (auto: the batch node's "
                  "size, so N ranks see what one rank accumulating N batches sees)"),
              arg_choice("even_shares", "auto", {"auto", "true", "false"},
                         "every rank gets the same number of whole blocks per epoch, the remainder "
                         "sits the epoch out (auto: when the pipeline averages gradients across "
                         "ranks)"),
          }));

  add_node<DecodeImage>(
      registry,
      NodeSchema("decode_image",
                 "reads and decodes PNG (libspng) or JPEG (TurboJPEG) to 8-bit gray; bad files are "
                 "counted and skipped")
          .transform("sample", "image")
          .concurrency("auto")
          .stage(NodeStage::kData)
          .args_from({
              arg_int("max_side", "16384",
                      "refuse pictures wider or taller than this (decompression bombs)", 1),
              arg_float("max_megapixels", "64",
                        "refuse pictures with more pixels than this, in millions", 0.001),
              nullable(
                  arg_int_list("fit", "null", 2,
                               "[width, height] the picture will be fitted into: JPEGs are decoded "
                               "with DCT scaling down to no less than that",
                               1, 65535)),
              arg_int("max_reports", "20",
                      "skipped files reported one by one (the rest only counted)", 0),
          }));
}

}  // namespace capflow::nodes
