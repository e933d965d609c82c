// capflow info: the facts a benchmark needs beside its numbers: versions, cores, NUMA nodes,
// LibTorch threads and build (BLAS, oneDNN), and whether the CPU has a fast bf16 path.
#include <CLI/CLI.hpp>
#ifndef CAPFLOW_NO_CHEMISTRY
#include <RDGeneral/versions.h>
#endif
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/version.h>

#include <iostream>
#include <thread>

#include "nodes/chem/inchi_openbabel.h"
#include "nodes/model/torch_runtime.h"
#include "tools/cli/commands.h"

namespace capflow::cli {

void add_info_command(CLI::App& app) {
  auto show_config = std::make_shared<bool>(false);
  auto* info = app.add_subcommand("info", "Versions, cores, NUMA nodes, LibTorch threads, BLAS and bf16 support");
  info->add_flag("--torch-config", *show_config, "Also print LibTorch's build configuration");
  info->callback([show_config] {
    const auto t = model::torch_info();
    std::cout << "capflow " << CAPFLOW_VERSION << "\n"
              << "cores (hardware threads): " << std::thread::hardware_concurrency() << "\n"
              << "oneTBB " << TBB_runtime_version() << ", default parallelism "
              << tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism)
              << ", NUMA nodes " << tbb::info::numa_nodes().size() << "\n"
              << "LibTorch " << t.version << ", intra-op threads " << t.intra_op_threads << ", oneDNN "
              << (t.mkldnn ? "yes" : "no") << ", CPU fast bf16 (AMX/AVX512-BF16) " << (t.bf16_fast ? "yes" : "no")
              << "\n"
              << "CUDA " << (t.cuda_built ? "built in" : "not built in (CPU-only LibTorch)") << ", devices "
              << t.cuda_devices << (t.cuda_device_name.empty() ? "" : " (" + t.cuda_device_name + ")") << "\n"
#ifndef CAPFLOW_NO_CHEMISTRY
              << "RDKit " << RDKit::rdkitVersion << ", Open Babel " << chem::openbabel_version() << "\n";
#else
              << "RDKit and Open Babel: not in this build (CAPFLOW_CHEMISTRY=OFF)\n";
#endif
    if (*show_config) std::cout << t.build_config;
  });
}

}  // namespace capflow::cli
