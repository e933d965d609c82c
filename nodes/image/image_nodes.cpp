// Node adapters of the image family: bms_augment and median_filter (transforms).
#include <memory>

#include "graph/fnv1a.h"
#include "graph/registry.h"
#include "nodes/image/bms_augment.h"
#include "nodes/image/median_filter.h"
#include "nodes/payloads.h"
#include "nodes/register_nodes.h"

namespace capflow::nodes {

namespace {

using graph::Item;
using graph::NodeContext;

// A sample id's key for random draws.
std::uint64_t id_key(const std::string& id) { return fnv1a(id); }

// BMS-style augmentation; every draw keyed by (seed, epoch, sample id), never by scheduling.
class BmsAugment : public graph::TransformNode {
 public:
  explicit BmsAugment(const NodeContext& ctx) : seed_(ctx.pipeline->seed) {
    const graph::Args& a = ctx.args();
    const auto size = a.get_int_list("size");
    options_.width = static_cast<int>(size[0]);
    options_.height = static_cast<int>(size[1]);
    options_.crop_margins = a.get_bool("crop_margins");
    options_.upright = a.get_bool("upright");
    options_.rotate = a.get_float("rotate");
    options_.noise = a.get_float("noise");
    options_.jitter = static_cast<int>(a.get_int("jitter"));
    image::validate(options_);
  }

  std::any process(Item& item) override {
    const ImagePtr& in = graph::payload_as<const ImageSample>(item);
    SeededRng rng{seed_, item.epoch, id_key(item.id), 0x617567ULL /* "aug" */};
    auto out = std::make_shared<ImageSample>();
    io::PixelMap map;
    out->image = image::bms_augment(in->image, options_, rng, &map);
    out->from_file = in->from_file.then(map);
    out->sample = in->sample;
    return ImagePtr(std::move(out));
  }

 private:
  std::uint64_t seed_;
  image::AugmentOptions options_;
};

// Median filter; the pixels stay where they were, so does the map from the file.
class MedianFilter : public graph::TransformNode {
 public:
  explicit MedianFilter(const NodeContext& ctx)
      : radius_(static_cast<int>(ctx.args().get_int("radius"))) {}

  std::any process(Item& item) override {
    const ImagePtr& in = graph::payload_as<const ImageSample>(item);
    auto out = std::make_shared<ImageSample>(
        ImageSample{image::median_filter(in->image, radius_), in->sample, in->from_file});
    return ImagePtr(std::move(out));
  }

 private:
  int radius_;
};

}  // namespace

void register_image_nodes(graph::Registry& registry) {
  using namespace graph;
  add_node<BmsAugment>(
      registry,
      NodeSchema(
          "bms_augment",
          "BMS-style augmentation: crop margins, turn upright, random 90° turns, fit with padding, "
          "noise")
          .transform("image", "image")
          .concurrency("auto")
          .stage(NodeStage::kData)
          .args_from({
              arg_int_list(
                  "size", "[224, 224]", 2,
                  "output [width, height]; the picture keeps its aspect ratio, padded white", 8,
                  4096),
              arg_bool("crop_margins", "true", "crop white margins first"),
              arg_bool("upright", "true", "turn tall pictures 90° so they lie wide"),
              arg_float("rotate", "0", "probability of one more random 90° turn", 0, 1),
              arg_float("noise", "0", "salt-and-pepper density (share of pixels flipped)", 0, 1),
              arg_int("jitter", "0", "random crop/pad of up to this many pixels per side", 0, 1024),
          }));
  add_node<MedianFilter>(
      registry,
      NodeSchema(
          "median_filter",
          "median of each pixel's neighbourhood: removes salt-and-pepper specks, keeps lines")
          .transform("image", "image")
          .concurrency("auto")
          .stage(NodeStage::kData)
          .arg(arg_int("radius", "1", "neighbourhood radius: (2·radius+1)² pixels", 1, 3)));
}

}  // namespace capflow::nodes
