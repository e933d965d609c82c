// Switches for the hand-written CPU kernels (see kernel_switches.h).
#include "nodes/model/kernel_switches.h"

#include <cstdlib>
#include <string>

namespace capflow::model {

namespace {

bool enabled(const char* variable) {
  const char* v = std::getenv(variable);
  return !(v && std::string(v) == "aten");
}

}  // namespace

bool encoder_kernels_enabled() {
  static const bool on = enabled("CAPFLOW_ENCODER_KERNELS");
  return on;
}

bool decoder_kernels_enabled() {
  static const bool on = enabled("CAPFLOW_DECODER_KERNELS");
  return on;
}

bool optimizer_kernels_enabled() {
  static const bool on = enabled("CAPFLOW_OPTIMIZER_KERNELS");
  return on;
}

}  // namespace capflow::model
