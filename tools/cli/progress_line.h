// The progress line of `capflow run`: images, images/s, loss, epoch %, ETA. A plain function
// of the figures so it is tested alone; run_command.cpp prints it in place on a terminal
// (\r) and as a plain line every 10 s otherwise.
#pragma once

#include <cstdint>
#include <string>

namespace capflow::cli {

struct ProgressFigures {
  double seconds = 0;
  std::uint64_t images = 0;  // so far, this rank
  std::uint64_t epoch = 0;   // current epoch (0-based)
  bool have_loss = false;
  double loss = 0;
  std::uint64_t step = 0;
  // What the run will do, when known (0: unknown / no limit):
  std::uint64_t epoch_images = 0;    // samples per epoch on this rank
  std::uint64_t epochs = 0;          // train.epochs
  std::uint64_t planned_images = 0;  // train.max_steps × batch size
  double max_seconds = 0;            // train.max_seconds
};

// "1,280 images, 12.1 images/s, step 40, loss 3.214, epoch 1 (64%), ETA 2 min 10 s, 106 s"
std::string format_progress(const ProgressFigures& figures);

// Seconds left until the first limit the run will reach; negative when none is known.
double eta_seconds(const ProgressFigures& figures);

}  // namespace capflow::cli
