// Products of a recurrence step's rows by a weight (see step_weight.h).
#include "nodes/model/step_weight.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>

namespace capflow::model {

StepWeight::StepWeight(const at::Tensor& w, bool transposed) {
  if (w.device().is_cpu() && w.scalar_type() == at::kFloat) {
    const auto c = w.contiguous();
    const float* p = c.data_ptr<float>();
    packed_ = transposed ? PackedMatrix::from_transposed(p, c.size(0), c.size(1), c.size(1))
                         : PackedMatrix::from_rows(p, c.size(0), c.size(1), c.size(1));
  } else {
    w_ = transposed ? w.t() : w;
  }
}

at::Tensor StepWeight::times(const at::Tensor& x, const at::Tensor& bias) const {
  if (w_.defined()) return bias.defined() ? at::addmm(bias, x, w_) : at::mm(x, w_);
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
  packed(x, out, nullptr, accumulate);
}

void StepWeight::packed(const at::Tensor& x, at::Tensor& out, const float* bias,
                        bool accumulate) const {
  TORCH_INTERNAL_ASSERT(x.scalar_type() == at::kFloat && x.stride(1) == 1 && out.stride(1) == 1 &&
                        out.scalar_type() == at::kFloat);
  const int64_t n = x.size(0);
  const int64_t per_panel = std::max<int64_t>(1, n * packed_.rows() * PackedMatrix::kPanel);
  at::parallel_for(0, packed_.panels(), std::max<int64_t>(1, 32768 / per_panel),
                   [&](int64_t p0, int64_t p1) {
                     packed_gemm(n, x.data_ptr<float>(), x.stride(0), packed_,
                                 out.data_ptr<float>(), out.stride(0), bias, accumulate, p0, p1);
                   });
}

}  // namespace capflow::model
