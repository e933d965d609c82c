#include "nodes/model/torch_runtime.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/cuda.h>
#include <torch/version.h>
#ifdef CAPFLOW_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <string>

#include "nodes/model/precision_choice.h"

namespace capflow::model {

void set_torch_threads(int intra_op, int inter_op) {
  if (intra_op > 0) at::set_num_threads(intra_op);
  static bool inter_set = false;  // LibTorch allows setting inter-op threads once
  if (inter_op > 0 && !inter_set) {
    at::set_num_interop_threads(inter_op);
    inter_set = true;
  }
}

TorchInfo torch_info() {
  TorchInfo info;
  info.version = TORCH_VERSION;
  info.intra_op_threads = at::get_num_threads();
  info.mkldnn = at::hasMKLDNN();
  info.bf16_fast = cpu_runs_bf16_fast();
  info.bf16_basis = bf16_speed_basis();
  info.build_config = at::show_config();
#ifdef CAPFLOW_WITH_CUDA
  info.cuda_built = true;
  info.cuda_devices = static_cast<int>(torch::cuda::device_count());
  if (info.cuda_devices > 0) info.cuda_device_name = at::cuda::getDeviceProperties(0)->name;
#endif
  return info;
}

}  // namespace capflow::model
