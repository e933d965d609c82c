// One libFuzzer executable: the entry named CAPFLOW_FUZZ_TARGET (fuzz/CMakeLists.txt).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_entries.h"

namespace {

capflow::fuzz::Entry entry() {
#ifdef CAPFLOW_FUZZ_TORCH
  static const capflow::fuzz::Entry e = capflow::fuzz::torch_entry(CAPFLOW_FUZZ_TARGET);
#else
  static const capflow::fuzz::Entry e = capflow::fuzz::plain_entry(CAPFLOW_FUZZ_TARGET);
#endif
  return e;
}

}  // namespace

// CAPFLOW_FUZZ_WRITE_CHECKPOINT_SEED=FILE (checkpoint target): writes a seed checkpoint first.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!entry()) {
    std::fprintf(stderr, "no fuzz entry named %s\n", CAPFLOW_FUZZ_TARGET);
    std::exit(2);
  }
#ifdef CAPFLOW_FUZZ_TORCH
  if (const char* seed = std::getenv("CAPFLOW_FUZZ_WRITE_CHECKPOINT_SEED"))
    capflow::fuzz::write_checkpoint_seed(seed);
#endif
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  entry()(data, size);
  return 0;
}
