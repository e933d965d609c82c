// capflow info: the facts a benchmark needs beside its numbers: versions, cores, NUMA nodes,
// LibTorch threads and build (BLAS, oneDNN), and whether the CPU has a fast bf16 path.
#include <CLI/CLI.hpp>
#ifndef CAPFLOW_NO_CHEMISTRY
#include <RDGeneral/versions.h>
#endif
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/version.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "graph/topology.h"
#include "nodes/chem/inchi_openbabel.h"
#include "nodes/model/peak_cache.h"
#include "nodes/model/torch_runtime.h"
#include "tools/cli/commands.h"
#include "tools/process/openblas_core.h"
#include "tools/process/process_settings.h"

namespace capflow::cli {

namespace {

// capflow info --peak: the fp32 and bf16 peak of this machine (matmul and convolution probes),
// printed and cached for the runs' model FLOP utilisation.
void print_peak(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  const graph::Topology topology = graph::plan_topology(threads, false, 0);
  const model::MachinePeak p =
      model::measure_and_cache_peak(threads, topology.cpu_model, 0.5, "capflow info --peak");
  std::printf("peak at %d threads (%s):\n", p.threads, topology.cpu_model.c_str());
  for (const auto& probe : p.probes)
    std::printf("  %-4s %-40s %8.1f GFLOP/s\n", probe.precision.c_str(), probe.name.c_str(),
                probe.gflops);
  std::printf("fp32 peak %.1f GFLOP/s, bf16 peak %.1f GFLOP/s (cached in %s)\n", p.fp32_gflops,
              p.bf16_gflops, model::peak_cache_path().c_str());
}

// "OpenBLAS core: SkylakeX (chosen by capflow: OpenBLAS took this CPU for a Prescott)\n".
std::string openblas_line() {
  const std::string core = process::openblas_core_in_use();
  if (core.empty()) return "BLAS: not OpenBLAS\n";
  const char* own = std::getenv(process::kOpenblasOwnChoiceVariable);
  const char* asked = std::getenv("OPENBLAS_CORETYPE");
  std::string why;
  if (own != nullptr && *own != '\0') {
    why = " (chosen by capflow from the CPU's flags: OpenBLAS took this CPU for a " +
          std::string(own) + ")";
  } else if (asked != nullptr && *asked != '\0') {
    why = " (OPENBLAS_CORETYPE=" + std::string(asked) + ")";
  }
  return "OpenBLAS core: " + core + why + "\n";
}

// The bracketed choice in /sys/kernel/mm/transparent_hugepage/enabled ("always", "madvise",
// "never"), or "unknown".
std::string transparent_huge_pages() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(in, line);
  const auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "unknown";
  return line.substr(open + 1, close - open - 1);
}

// "Heap in huge pages: yes (GLIBC_TUNABLES=glibc.malloc.hugetlb=1; transparent huge pages:
// madvise)\n": whether glibc asks for them (the process settings set the tunable unless the
// caller named it) and whether the kernel gives them.
std::string huge_pages_line() {
  const char* set = std::getenv("GLIBC_TUNABLES");
  const std::string tunables = set != nullptr ? set : "";
  const std::string thp = transparent_huge_pages();
  const bool asked =
      tunables.find(std::string(process::kHeapHugePagesTunable) + "=1") != std::string::npos;
  const bool yes = thp == "always" || (asked && thp == "madvise");
  return std::string("Heap in huge pages: ") + (yes ? "yes" : "no") +
         " (GLIBC_TUNABLES=" + (tunables.empty() ? "unset" : tunables) +
         "; transparent huge pages: " + thp + ")\n";
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto show_config = std::make_shared<bool>(false);
  auto peak = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(0);
  auto* info = app.add_subcommand(
      "info", "Versions, cores, NUMA nodes, LibTorch threads, BLAS and bf16 support");
  info->add_flag("--torch-config", *show_config, "Also print LibTorch's build configuration");
  info->add_flag(
      "--peak", *peak,
      "Measure this machine's fp32 and bf16 peak (oneDNN matmul and convolution probes, a few "
      "seconds) and cache it for the runs' model FLOP utilisation");
  info->add_option("--threads", *threads, "Threads for --peak (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  info->callback([show_config, peak, threads] {
    if (*peak) return print_peak(*threads);
    const auto t = model::torch_info();
    std::cout << "capflow " << CAPFLOW_VERSION << "\n"
              << "cores (hardware threads): " << std::thread::hardware_concurrency() << "\n"
              << "oneTBB " << TBB_runtime_version() << ", default parallelism "
              << tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism)
              << ", NUMA nodes " << tbb::info::numa_nodes().size() << "\n"
              << "LibTorch " << t.version << ", intra-op threads " << t.intra_op_threads
              << ", oneDNN " << (t.mkldnn ? "yes" : "no") << "\n"
              << openblas_line() << huge_pages_line()
              << "bf16 faster than fp32 on this CPU (precision: auto): "
              << (t.bf16_fast ? "yes" : "no") << ", " << t.bf16_basis << "\n"
              << "CUDA " << (t.cuda_built ? "built in" : "not built in (CPU-only LibTorch)")
              << ", devices " << t.cuda_devices
              << (t.cuda_device_name.empty() ? "" : " (" + t.cuda_device_name + ")") << "\n"
#ifndef CAPFLOW_NO_CHEMISTRY
              << "RDKit " << RDKit::rdkitVersion << ", Open Babel " << chem::openbabel_version()
              << "\n";
#else
              << "RDKit and Open Babel: not in this build (CAPFLOW_CHEMISTRY=OFF)\n";
#endif
    if (*show_config) std::cout << t.build_config;
  });
}

}  // namespace capflow::cli
