// Products of a recurrence step's rows by a weight (see step_weight.h).
#include "nodes/model/step_weight.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>

#include "graph/cpu_info.h"
#include "nodes/model/kernel_switches.h"

namespace capflow::model {

namespace {

const uint16_t* bf16_bits(const at::Tensor& t) {
  return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>());
}

// Calls f(p0, p1) over the panels of a product of n rows, split between LibTorch's intra-op
// threads where each thread gets at least some 32k multiply-adds.
template <typename F>
void for_panels(int64_t n, int64_t K, int64_t panels, int64_t panel_cols, const F& f) {
  const int64_t per_panel = std::max<int64_t>(1, n * K * panel_cols);
  at::parallel_for(0, panels, std::max<int64_t>(1, 32768 / per_panel), f);
}

}  // namespace

bool bf16_step_products_packed() {
  // With AMX, oneDNN's matmul takes its tiles; ours is not measured against it there.
  static const bool amx = graph::cpu_has_flag("amx_bf16");
  return packed_bf16_available() && !amx && decoder_kernels_enabled();
}

StepWeight::StepWeight(const at::Tensor& w, bool transposed) {
  const auto c = w.device().is_cpu() ? w.contiguous() : w;
  if (w.device().is_cpu() && w.scalar_type() == at::kFloat) {
    const float* p = c.data_ptr<float>();
    packed_ = transposed ? PackedMatrix::from_transposed(p, c.size(0), c.size(1), c.size(1))
                         : PackedMatrix::from_rows(p, c.size(0), c.size(1), c.size(1));
  } else if (w.device().is_cpu() && w.scalar_type() == at::kBFloat16 &&
             bf16_step_products_packed()) {
    const uint16_t* p = bf16_bits(c);
    packed_bf16_ = transposed
                       ? PackedBf16Matrix::from_transposed(p, c.size(0), c.size(1), c.size(1))
                       : PackedBf16Matrix::from_rows(p, c.size(0), c.size(1), c.size(1));
    bf16_ = true;
  } else {
    w_ = transposed ? w.t() : w;
  }
}

at::Tensor StepWeight::times(const at::Tensor& x, const at::Tensor& bias) const {
  if (w_.defined()) return bias.defined() ? at::addmm(bias, x, w_) : at::mm(x, w_);
  if (bf16_) {
    auto out = at::empty({x.size(0), packed_bf16_.cols()}, x.options());
    packed_bf16(x, out, bias, false);
    return out;
  }
  auto out = at::empty({x.size(0), packed_.cols()}, x.options());
  packed(x, out, bias.defined() ? bias.data_ptr<float>() : nullptr, false);
  return out;
}

void StepWeight::into(const at::Tensor& x, at::Tensor& out, bool accumulate) const {
  if (w_.defined()) {
    const auto r = at::mm(x, w_);
    accumulate ? out.add_(r) : out.copy_(r);
    return;
  }
  if (bf16_) {
    packed_bf16(x, out, {}, accumulate);
    return;
  }
  packed(x, out, nullptr, accumulate);
}

void StepWeight::packed(const at::Tensor& x, at::Tensor& out, const float* bias,
                        bool accumulate) const {
  TORCH_INTERNAL_ASSERT(x.scalar_type() == at::kFloat && x.stride(1) == 1 && out.stride(1) == 1 &&
                        out.scalar_type() == at::kFloat);
  const int64_t n = x.size(0);
  for_panels(n, packed_.rows(), packed_.panels(), PackedMatrix::kPanel,
             [&](int64_t p0, int64_t p1) {
               packed_gemm(n, x.data_ptr<float>(), x.stride(0), packed_, out.data_ptr<float>(),
                           out.stride(0), bias, accumulate, p0, p1);
             });
}

void StepWeight::packed_bf16(const at::Tensor& x, at::Tensor& out, const at::Tensor& bias,
                             bool accumulate) const {
  TORCH_INTERNAL_ASSERT(
      x.scalar_type() == at::kBFloat16 && x.stride(1) == 1 && out.stride(1) == 1 &&
      (out.scalar_type() == at::kBFloat16 || out.scalar_type() == at::kFloat) &&
      (!bias.defined() || (bias.scalar_type() == at::kBFloat16 && bias.is_contiguous())));
  const int64_t n = x.size(0);
  const uint16_t* a = bf16_bits(x);
  const uint16_t* b = bias.defined() ? bf16_bits(bias) : nullptr;
  const bool to_float = out.scalar_type() == at::kFloat;
  for_panels(n, packed_bf16_.rows(), packed_bf16_.panels(), PackedBf16Matrix::kPanel,
             [&](int64_t p0, int64_t p1) {
               if (to_float) {
                 packed_gemm_bf16(n, a, x.stride(0), packed_bf16_, out.data_ptr<float>(),
                                  out.stride(0), b, accumulate, p0, p1);
               } else {
                 auto* c = reinterpret_cast<uint16_t*>(out.data_ptr<at::BFloat16>());
                 packed_gemm_bf16(n, a, x.stride(0), packed_bf16_, c, out.stride(0), b, accumulate,
                                  p0, p1);
               }
             });
}

}  // namespace capflow::model
