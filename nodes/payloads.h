// What flows on the edges between the data nodes (edge type names in the schemas):
//   "sample": std::shared_ptr<const io::SampleRef>  (id, path, label) from read_files
//   "image":  std::shared_ptr<const ImageSample>    (8-bit gray picture + its sample, and where
//                                                    the file's pixels went: atoms follow it)
//   "batch":  std::shared_ptr<const batch::ImageBatch>
//   "device_batch": std::shared_ptr<const model::DeviceBatch> (nodes/model/device_batch.h: a
//             batch that `to_device` staged on the next node's device; the model nodes take
//             it or a host "batch". Not included here: it needs LibTorch)
#pragma once

#include <memory>

#include "nodes/batch/image_batch.h"
#include "nodes/io/gray_image.h"
#include "nodes/io/pixel_map.h"
#include "nodes/io/sample_listing.h"

namespace capflow::nodes {

struct ImageSample {
  io::GrayImage image;
  std::shared_ptr<const io::SampleRef> sample;
  io::PixelMap from_file;  // a point of the image file → this picture (scaled decode, augment)
};

using SamplePtr = std::shared_ptr<const io::SampleRef>;
using ImagePtr = std::shared_ptr<const ImageSample>;
using BatchPtr = std::shared_ptr<const batch::ImageBatch>;

}  // namespace capflow::nodes
