// Process-wide settings that LibTorch work runs fastest with on a shared, busy box, applied by
// `capflow` (to its LibTorch commands) and by `capflow-bench` (always), so that benchmark
// figures are what a run sees.
#pragma once

namespace capflow::process {

// Starts the program again (execv of /proc/self/exe, same argv) with OMP_WAIT_POLICY=ACTIVE
// and GOMP_SPINCOUNT=30000: idle OpenMP workers spin briefly, then sleep. libgomp reads these
// only when it loads, before main(). Does nothing when the caller set either variable (and so
// after the restart); returns normally when exec fails.
void restart_with_short_openmp_spins(char** argv);

// Keeps freed heap memory in the process (no mmap'd blocks, no trimming), so the large
// tensors allocated and freed every step do not fault and zero-fill their pages again.
void keep_freed_memory();

}  // namespace capflow::process
