// Process settings for LibTorch work (see process_settings.h).
#include "tools/process/process_settings.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tools/process/openblas_core.h"

namespace capflow::process {

// LibTorch runs its intra-op work on OpenMP (libgomp). By default idle OpenMP workers spin for
// a long time, and here they share the cores with the flow graph's threads: a spinning worker
// then steals the core that the thread it waits for needs (training measured 1.7 images/s
// against 4.8 under load). Never spinning (OMP_WAIT_POLICY=PASSIVE) pays a futex wake-up per
// parallel region, which the decoder's many small steps feel: a short spin, then sleep, was
// fastest (2 cores, 8 steps of train-cpu.yaml: 15-18 images/s against 13.8 passive).
// Whether the OpenMP spin settings are to be set (the caller set neither); sets them.
bool set_short_openmp_spins() {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr)
    return false;
  ::setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
  ::setenv("GOMP_SPINCOUNT", "30000", 1);
  return true;
}

// Whether OpenBLAS is to be given other kernels (openblas_core.h); sets OPENBLAS_CORETYPE and
// notes the core it had chosen by itself.
bool set_openblas_core() {
  const std::string in_use = openblas_core_in_use();
  const std::string core = openblas_core_to_request(in_use);
  if (core.empty()) return false;
  ::setenv(kOpenblasOwnChoiceVariable, in_use.c_str(), 1);
  ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  return true;
}

// Transparent huge pages for the heap. This kernel gives them only to memory that asks
// (transparent_hugepage=madvise), and glibc (2.35 and later) asks for its heap when its tunable
// glibc.malloc.hugetlb is 1; with keep_freed_memory() every block comes from that heap. The
// step's activations and the data path's pictures then take a TLB entry per 2 MB instead of
// per 4 KB (30 steps of train-cpu.yaml on 2 cores: 112.0 and 110.8 images/s against 119.8 and
// 117.4 with huge pages). Whether the tunable is to be set (the caller did not name it); sets
// it, keeping the caller's other tunables.
bool set_heap_huge_pages() {
  const char* set = std::getenv("GLIBC_TUNABLES");
  const std::string tunables = set != nullptr ? set : "";
  if (tunables.find(kHeapHugePagesTunable) != std::string::npos) return false;
  const std::string mine = std::string(kHeapHugePagesTunable) + "=1";
  ::setenv("GLIBC_TUNABLES", (tunables.empty() ? mine : tunables + ":" + mine).c_str(), 1);
  return true;
}

void restart_with_process_settings(char** argv) {
  const bool spins = set_short_openmp_spins();
  const bool blas = set_openblas_core();
  const bool huge = set_heap_huge_pages();
  if (!spins && !blas && !huge) return;
  ::execv("/proc/self/exe", argv);
  // exec failed: go on with the libraries' defaults
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
