// LibTorch runtime settings and facts, behind a torch-free header. Intra-op threads must be
// set explicitly: on these machines at::get_num_threads() starts at 1.
#pragma once

#include <string>

namespace capflow::model {

// Sets LibTorch's intra-op (OpenMP) and inter-op thread counts.
void set_torch_threads(int intra_op, int inter_op = 1);

struct TorchInfo {
  std::string version;           // LibTorch version
  int intra_op_threads = 0;      // at::get_num_threads()
  bool mkldnn = false;           // oneDNN (MKL-DNN) compiled in
  bool bf16_fast = false;        // bf16 is faster than fp32 here (precision_choice.h)
  std::string bf16_basis;        // the figures that say so, bf16_speed_basis()
  std::string build_config;      // at::show_config(): BLAS, oneDNN, OpenMP
  bool cuda_built = false;       // capflow's cuda node implementations are compiled in
  int cuda_devices = 0;          // CUDA devices LibTorch sees (0 without CUDA)
  std::string cuda_device_name;  // of device 0, when there is one
};

TorchInfo torch_info();

}  // namespace capflow::model
