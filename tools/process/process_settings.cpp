// Process settings for LibTorch work (see process_settings.h).
#include "tools/process/process_settings.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>

namespace capflow::process {

// LibTorch runs its intra-op work on OpenMP (libgomp). By default idle OpenMP workers spin for
// a long time, and here they share the cores with the flow graph's threads: a spinning worker
// then steals the core that the thread it waits for needs (training measured 1.7 images/s
// against 4.8 under load). Never spinning (OMP_WAIT_POLICY=PASSIVE) pays a futex wake-up per
// parallel region, which the decoder's many small steps feel: a short spin, then sleep, was
// fastest (2 cores, 8 steps of train-cpu.yaml: 15-18 images/s against 13.8 passive).
void restart_with_short_openmp_spins(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
  ::setenv("GOMP_SPINCOUNT", "30000", 1);
  ::execv("/proc/self/exe", argv);
  // exec failed: go on with the default policy
}

// Training allocates and frees the same large activation tensors every step. By default glibc
// serves blocks above its mmap threshold with fresh mappings and returns freed heap tops to
// the kernel, so every step faults and zero-fills hundreds of MB again (a sixth of a training
// run's time went to the kernel).
void keep_freed_memory() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

}  // namespace capflow::process
