// `capflow eval` and `capflow predict` behind a torch-free header: a checkpoint applied to a
// labelled dataset (scored) or to a folder of images (a Kaggle submission).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "nodes/model/image_reliance.h"

namespace capflow::model {

struct InferenceOptions {
  int beam = 1;              // 1: greedy
  bool prefer_valid = true;  // beam > 1: the best hypothesis that is a valid InChI, else the best
  int batch = 32;
  int max_length = 256;
  bool reliance = false;  // eval: also measure the image reliance (image_reliance.h)
  std::function<void(std::size_t done, std::size_t total)> progress;
  std::function<void(const std::string&)> warn;  // one line per unreadable image
};

struct EvalReport {
  double levenshtein_mean = 0, exact_match = 0, valid_inchi_fraction = 0;
  std::size_t images = 0, unreadable = 0;
  double seconds = 0, images_per_second = 0;  // prediction only (scoring excluded)
  std::string checkpoint;                     // the file used
  std::optional<RelianceResult> reliance;     // when asked for
};

// Predicts the first `limit` (0: all) images of a BMS-layout dataset and scores them.
EvalReport evaluate_checkpoint(const std::string& checkpoint, const std::string& data_dir,
                               std::size_t limit, const InferenceOptions& options);

struct PredictReport {
  std::size_t images = 0, unreadable = 0;
  double seconds = 0, images_per_second = 0;
  std::string checkpoint;
};

// Writes `out_csv` (image_id,InChI; atomically) with one row per image found under
// `images_dir` (PNG/JPEG, any depth, id = file name without extension), in path order; an
// unreadable image gets an empty InChI and a warning, so the rows always match the images.
PredictReport predict_folder(const std::string& checkpoint, const std::string& images_dir,
                             const std::string& out_csv, const InferenceOptions& options);

// Writes OUT_DIR/encoder.pt and OUT_DIR/decoder.pt (TorchScript, for Python's torch.jit.load)
// and OUT_DIR/vocab.txt (token per line, id order). Returns the checkpoint file used.
std::string export_torchscript(const std::string& checkpoint, const std::string& out_dir);

}  // namespace capflow::model
