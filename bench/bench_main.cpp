// capflow-bench's main: Google Benchmark's, run with the process settings `capflow run` uses
// (short OpenMP spins, OpenBLAS's kernels for this CPU, freed memory kept), so that LibTorch
// figures are what a run sees.
#include <benchmark/benchmark.h>

#include "tools/process/process_settings.h"

int main(int argc, char** argv) {
  capflow::process::restart_with_process_settings(argv);
  capflow::process::keep_freed_memory();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
