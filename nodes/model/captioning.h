// Inference: a trained captioner turns image files into InChI strings (greedy or beam
// search; a model that writes SMILES has them converted), and predictions are scored the way the
// competition does (mean Levenshtein distance) plus exact matches and InChI validity. Used by
// `capflow eval`, `capflow predict` and the evaluation inside training runs.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "nodes/image/bms_augment.h"
#include "nodes/io/sample_listing.h"
#include "nodes/model/caption_decoder.h"
#include "nodes/model/checkpoint_info.h"
#include "nodes/model/precision.h"
#include "nodes/model/resnet_encoder.h"
#include "nodes/text/vocabulary.h"

namespace capflow::model {

// Modules and settings a prediction needs; the modules may be shared with a training run.
struct CaptionModel {
  ResNetEncoder encoder{nullptr};
  CaptionDecoder decoder{nullptr};
  text::Vocabulary vocabulary;
  Precision precision = Precision::kBf16;
  bool channels_last = true;
  int width = 224, height = 224;
};

// Builds the modules a checkpoint describes and loads its weights (eval mode).
CaptionModel load_caption_model(const std::string& checkpoint_path, CheckpointInfo* info = nullptr);

// What the model wrote (decoded tokens) as InChI: the texts themselves for an InChI model; for
// a SMILES model, each converted by Open Babel in child processes (repaired when it does not
// parse as written; empty when even that fails).
std::vector<std::string> as_inchis(const CaptionModel& model, std::vector<std::string> texts);

struct PredictOptions {
  int batch = 32;
  int beam = 1;  // 1: greedy
  // With beam > 1: keep, per image, the best-scoring of the K final hypotheses that is a valid
  // standard InChI (checked in child processes, one batch of candidates at a time) or, for a
  // SMILES model, a SMILES that converts as written; else the best-scoring one. Without effect
  // on greedy decoding.
  bool prefer_valid = true;
  int max_length = 256;  // decoding steps at most
  // Preprocessing: the training run's augmentation without the random parts.
  image::AugmentOptions augment;
  std::function<void(std::size_t done, std::size_t total)> progress;
};

// The picture as prediction feeds it to the model: decoded for a fit into the model's input
// size, then `augment` (its size and random parts overridden: the model's size, no rotation,
// noise or jitter). Throws what reading and decoding throw (DataError naming the file).
io::GrayImage load_model_image(const CaptionModel& model, const std::string& path,
                               const image::AugmentOptions& augment = {});

struct Prediction {
  std::string id;
  std::string inchi;  // empty when the image could not be read
  bool ok = false;
  std::string error;  // why not, naming the file
};

// One prediction per sample, in sample order; unreadable images give ok = false and an
// empty InChI (never an exception). Images are read and decoded in parallel (oneTBB).
std::vector<Prediction> predict_captions(CaptionModel& model,
                                         const std::vector<io::SampleRef>& samples,
                                         const PredictOptions& options);

struct EvalResult {
  double levenshtein_mean = 0;
  double exact_match = 0;           // share of predictions equal to the label
  double valid_inchi_fraction = 0;  // share that the InChI library parses back into a structure
  std::size_t images = 0;
  std::size_t unreadable = 0;
  double seconds = 0;  // prediction time
  double images_per_second = 0;
};

// Scores predictions against the samples' labels (same order); unreadable images count with
// an empty prediction (their whole label length as distance).
EvalResult score_predictions(const std::vector<Prediction>& predictions,
                             const std::vector<io::SampleRef>& samples);

}  // namespace capflow::model
