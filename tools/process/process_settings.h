// Process-wide settings that LibTorch work runs fastest with on a shared, busy box, applied by
// `capflow` (to its LibTorch commands) and by `capflow-bench` (always), so that benchmark
// figures are what a run sees.
#pragma once

namespace capflow::process {

// Starts the program again (execv of /proc/self/exe, same argv) with the settings that
// libraries read only when they load, before main(), each where the caller did not choose it:
// - OMP_WAIT_POLICY=ACTIVE and GOMP_SPINCOUNT=30000 (unless either is set): idle OpenMP
//   workers spin briefly, then sleep;
// - OPENBLAS_CORETYPE where OpenBLAS took this CPU for one from before AVX2 (openblas_core.h);
// - GLIBC_TUNABLES with glibc.malloc.hugetlb=1 (unless it names that tunable): the heap in
//   transparent huge pages where the kernel gives them on request.
// Does nothing when nothing is to change (and so after the restart); returns normally when
// exec fails.
void restart_with_process_settings(char** argv);

// The glibc tunable that puts the heap in transparent huge pages ("=1"), for `capflow info`.
constexpr const char* kHeapHugePagesTunable = "glibc.malloc.hugetlb";

// Keeps freed heap memory in the process (no mmap'd blocks, no trimming), so the large
// tensors allocated and freed every step do not fault and zero-fill their pages again.
void keep_freed_memory();

}  // namespace capflow::process
