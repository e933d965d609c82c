// Batch norm's fused passes over channels-last rows (see batch_norm_kernels.h).
#include "nodes/model/batch_norm_kernels.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nodes/model/cpu_vector.h"

namespace capflow::model {

namespace {

using cpu::load;
using cpu::store;

// Rows per chunk: each chunk's sums are taken in float, the chunks' in double, in chunk order.
constexpr int64_t kChunkRows = 256;

// The operands of one pass, as raw pointers (null where absent).
template <typename T>
struct Rows {
  const T* x = nullptr;
  const T* y = nullptr;   // the forward's output (the ReLU's mask)
  const T* dy = nullptr;  // or the residual, in the forward
  T* out = nullptr;       // y in the forward, dx in the backward
  T* dr = nullptr;
  const float* scale = nullptr;  // the backward's ReLU mask from x (Act::kReluFromX)
  const float* shift = nullptr;
  int64_t C = 0;
};

// What follows the norm, as the backward sees it: nothing, or the ReLU with its mask read from
// the forward's output y or recomputed from x (where no residual was added).
enum class Act { kNone, kReluFromY, kReluFromX };

// The forward's pre-activation value, written once for both passes that need it (the forward,
// and the backward's mask from x), so both round alike.
[[gnu::always_inline]] inline float affine(float x, float scale, float shift) {
  return x * scale + shift;
}

// Σ (x − pivot) and Σ (x − pivot)² per channel over rows [m0, m1), added to s and q.
template <typename T>
[[gnu::always_inline]] inline void moment_rows(const Rows<T>& r, const float* __restrict pivot,
                                               float* __restrict s, float* __restrict q, int64_t m0,
                                               int64_t m1) {
  for (int64_t m = m0; m < m1; ++m) {
    const T* __restrict row = r.x + m * r.C;
    for (int64_t c = 0; c < r.C; ++c) {
      const float v = load(row[c]) - pivot[c];
      s[c] += v;
      q[c] += v * v;
    }
  }
}

template <typename T, bool kResidual, bool kRelu>
[[gnu::always_inline]] inline void apply_rows(const Rows<T>& r, const float* __restrict a,
                                              const float* __restrict b, int64_t m0, int64_t m1) {
  for (int64_t m = m0; m < m1; ++m) {
    const T* __restrict xr = r.x + m * r.C;
    const T* __restrict rr = kResidual ? r.dy + m * r.C : nullptr;
    T* __restrict yr = r.out + m * r.C;
    for (int64_t c = 0; c < r.C; ++c) {
      float v = affine(load(xr[c]), a[c], b[c]);
      if constexpr (kResidual) v += load(rr[c]);
      if constexpr (kRelu) v = std::max(v, 0.0f);
      store(yr[c], v);
    }
  }
}

// g: dy where the forward's output is positive (ReLU) or everywhere; element o, channel c.
template <Act kAct, typename T>
[[gnu::always_inline]] inline float masked(const Rows<T>& r, int64_t o, int64_t c) {
  const float g = load(r.dy[o + c]);
  if constexpr (kAct == Act::kReluFromY) return load(r.y[o + c]) > 0.0f ? g : 0.0f;
  if constexpr (kAct == Act::kReluFromX) {
    return affine(load(r.x[o + c]), r.scale[c], r.shift[c]) > 0.0f ? g : 0.0f;
  }
  return g;
}

template <typename T, Act kAct>
[[gnu::always_inline]] inline void sum_rows(const Rows<T>& r, const float* __restrict mean,
                                            float* __restrict sg, float* __restrict sgx, int64_t m0,
                                            int64_t m1) {
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t o = m * r.C;
    for (int64_t c = 0; c < r.C; ++c) {
      const float g = masked<kAct>(r, o, c);
      sg[c] += g;
      sgx[c] += g * (load(r.x[o + c]) - mean[c]);
    }
  }
}

template <typename T, Act kAct, bool kResidual>
[[gnu::always_inline]] inline void grad_rows(const Rows<T>& r, const float* __restrict mean,
                                             const float* __restrict k1, const float* __restrict k2,
                                             const float* __restrict k3, int64_t m0, int64_t m1) {
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t o = m * r.C;
    for (int64_t c = 0; c < r.C; ++c) {
      const float g = masked<kAct>(r, o, c);
      store(r.out[o + c], k1[c] * (g - k2[c] - (load(r.x[o + c]) - mean[c]) * k3[c]));
      if constexpr (kResidual) store(r.dr[o + c], g);
    }
  }
}

// One copy per dtype and x86-64 level; the flags pick an inlined variant.
template <typename T>
[[gnu::always_inline]] inline void apply_any(const Rows<T>& r, const float* a, const float* b,
                                             bool residual, bool relu, int64_t m0, int64_t m1) {
  if (residual) {
    relu ? apply_rows<T, true, true>(r, a, b, m0, m1) : apply_rows<T, true, false>(r, a, b, m0, m1);
  } else {
    relu ? apply_rows<T, false, true>(r, a, b, m0, m1)
         : apply_rows<T, false, false>(r, a, b, m0, m1);
  }
}
template <typename T>
[[gnu::always_inline]] inline void grad_any(const Rows<T>& r, const float* mean, const float* k1,
                                            const float* k2, const float* k3, Act act, int64_t m0,
                                            int64_t m1) {
  const bool residual = r.dr != nullptr;
  switch (act) {
    case Act::kNone:
      return residual ? grad_rows<T, Act::kNone, true>(r, mean, k1, k2, k3, m0, m1)
                      : grad_rows<T, Act::kNone, false>(r, mean, k1, k2, k3, m0, m1);
    case Act::kReluFromY:
      return residual ? grad_rows<T, Act::kReluFromY, true>(r, mean, k1, k2, k3, m0, m1)
                      : grad_rows<T, Act::kReluFromY, false>(r, mean, k1, k2, k3, m0, m1);
    case Act::kReluFromX:  // no residual: the caller checked
      return grad_rows<T, Act::kReluFromX, false>(r, mean, k1, k2, k3, m0, m1);
  }
}
template <typename T>
[[gnu::always_inline]] inline void sum_any(const Rows<T>& r, const float* mean, float* sg,
                                           float* sgx, Act act, int64_t m0, int64_t m1) {
  switch (act) {
    case Act::kNone:
      return sum_rows<T, Act::kNone>(r, mean, sg, sgx, m0, m1);
    case Act::kReluFromY:
      return sum_rows<T, Act::kReluFromY>(r, mean, sg, sgx, m0, m1);
    case Act::kReluFromX:
      return sum_rows<T, Act::kReluFromX>(r, mean, sg, sgx, m0, m1);
  }
}

CAPFLOW_VECTOR_CLONES void moments_float(const Rows<float>& r, const float* pivot, float* s,
                                         float* q, int64_t m0, int64_t m1) {
  moment_rows(r, pivot, s, q, m0, m1);
}
CAPFLOW_VECTOR_CLONES void moments_bf16(const Rows<c10::BFloat16>& r, const float* pivot, float* s,
                                        float* q, int64_t m0, int64_t m1) {
  moment_rows(r, pivot, s, q, m0, m1);
}
CAPFLOW_VECTOR_CLONES void apply_float(const Rows<float>& r, const float* a, const float* b,
                                       bool residual, bool relu, int64_t m0, int64_t m1) {
  apply_any(r, a, b, residual, relu, m0, m1);
}
CAPFLOW_VECTOR_CLONES void apply_bf16(const Rows<c10::BFloat16>& r, const float* a, const float* b,
                                      bool residual, bool relu, int64_t m0, int64_t m1) {
  apply_any(r, a, b, residual, relu, m0, m1);
}
CAPFLOW_VECTOR_CLONES void sums_float(const Rows<float>& r, const float* mean, float* sg,
                                      float* sgx, Act act, int64_t m0, int64_t m1) {
  sum_any(r, mean, sg, sgx, act, m0, m1);
}
CAPFLOW_VECTOR_CLONES void sums_bf16(const Rows<c10::BFloat16>& r, const float* mean, float* sg,
                                     float* sgx, Act act, int64_t m0, int64_t m1) {
  sum_any(r, mean, sg, sgx, act, m0, m1);
}
CAPFLOW_VECTOR_CLONES void grads_float(const Rows<float>& r, const float* mean, const float* k1,
                                       const float* k2, const float* k3, Act act, int64_t m0,
                                       int64_t m1) {
  grad_any(r, mean, k1, k2, k3, act, m0, m1);
}
CAPFLOW_VECTOR_CLONES void grads_bf16(const Rows<c10::BFloat16>& r, const float* mean,
                                      const float* k1, const float* k2, const float* k3, Act act,
                                      int64_t m0, int64_t m1) {
  grad_any(r, mean, k1, k2, k3, act, m0, m1);
}

// Rows of [M, C]: a channels-last 4-d tensor or a contiguous 2-d one.
void check_rows(const at::Tensor& t, const at::Tensor& like, const char* what) {
  TORCH_CHECK(
      t.device().is_cpu() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16),
      "batch norm kernels: ", what, " must be a float or bfloat16 CPU tensor");
  TORCH_CHECK(t.sizes() == like.sizes() && t.scalar_type() == like.scalar_type(),
              "batch norm kernels: ", what, " must match x (", like.sizes(), " ",
              like.scalar_type(), "), got ", t.sizes(), " ", t.scalar_type());
  const bool rows = (t.dim() == 4 && t.is_contiguous(at::MemoryFormat::ChannelsLast)) ||
                    (t.dim() == 2 && t.is_contiguous());
  TORCH_CHECK(rows, "batch norm kernels: ", what,
              " must be channels-last [N, C, H, W] or contiguous [M, C]");
}

void check_channels(const at::Tensor& t, int64_t C, const char* what) {
  TORCH_CHECK(
      t.scalar_type() == at::kFloat && t.is_contiguous() && t.numel() == C && t.device().is_cpu(),
      "batch norm kernels: ", what, " must be a contiguous float CPU tensor of ", C, " channels");
}

int64_t channels(const at::Tensor& x) { return x.size(1); }
int64_t row_count(const at::Tensor& x) { return x.numel() / channels(x); }

template <typename T>
Rows<T> rows_of(const at::Tensor& x, int64_t C) {
  Rows<T> r;
  r.x = x.data_ptr<T>();
  r.C = C;
  return r;
}

// Per-chunk sums of two [C] quantities, by `body(rows, a, b, m0, m1)`, added up in double in
// chunk order.
template <typename Body>
void chunked_sums(int64_t M, int64_t C, std::vector<double>& first, std::vector<double>& second,
                  const Body& body) {
  const int64_t chunks = (M + kChunkRows - 1) / kChunkRows;
  std::vector<float> partial(static_cast<size_t>(chunks * 2 * C), 0.0f);
  at::parallel_for(0, chunks, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      float* a = partial.data() + k * 2 * C;
      body(a, a + C, k * kChunkRows, std::min(M, (k + 1) * kChunkRows));
    }
  });
  first.assign(static_cast<size_t>(C), 0.0);
  second.assign(static_cast<size_t>(C), 0.0);
  for (int64_t k = 0; k < chunks; ++k) {
    const float* a = partial.data() + k * 2 * C;
    for (int64_t c = 0; c < C; ++c) {
      first[c] += a[c];
      second[c] += a[C + c];
    }
  }
}

}  // namespace

void channel_mean_var(const at::Tensor& x, at::Tensor& mean, at::Tensor& var) {
  check_rows(x, x, "x");
  const int64_t C = channels(x), M = row_count(x);
  TORCH_CHECK(M >= 1, "batch norm kernels: no rows");
  check_channels(mean, C, "mean");
  check_channels(var, C, "var");
  // Sums of x − (its first row): no cancellation where a channel's mean is far from 0.
  const auto first_row = x.dim() == 4 ? x.permute({0, 2, 3, 1}).reshape({M, C})[0] : x[0];
  const auto pivot = first_row.to(at::kFloat).contiguous();
  const float* pv = pivot.data_ptr<float>();
  std::vector<double> s, q;
  chunked_sums(M, C, s, q, [&](float* a, float* b, int64_t m0, int64_t m1) {
    if (x.scalar_type() == at::kFloat) {
      moments_float(rows_of<float>(x, C), pv, a, b, m0, m1);
    } else {
      moments_bf16(rows_of<c10::BFloat16>(x, C), pv, a, b, m0, m1);
    }
  });
  float* mo = mean.data_ptr<float>();
  float* vo = var.data_ptr<float>();
  for (int64_t c = 0; c < C; ++c) {
    const double d = s[c] / static_cast<double>(M);
    mo[c] = static_cast<float>(pv[c] + d);
    vo[c] = static_cast<float>(std::max(q[c] / static_cast<double>(M) - d * d, 0.0));
  }
}

void scale_shift_act(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift,
                     const at::Tensor& residual, bool relu, at::Tensor& y) {
  check_rows(x, x, "x");
  check_rows(y, x, "y");
  if (residual.defined()) check_rows(residual, x, "residual");
  const int64_t C = channels(x), M = row_count(x);
  check_channels(scale, C, "scale");
  check_channels(shift, C, "shift");
  const float* a = scale.data_ptr<float>();
  const float* b = shift.data_ptr<float>();
  at::parallel_for(0, M, kChunkRows, [&](int64_t m0, int64_t m1) {
    if (x.scalar_type() == at::kFloat) {
      auto r = rows_of<float>(x, C);
      r.dy = residual.defined() ? residual.data_ptr<float>() : nullptr;
      r.out = y.data_ptr<float>();
      apply_float(r, a, b, residual.defined(), relu, m0, m1);
    } else {
      auto r = rows_of<c10::BFloat16>(x, C);
      r.dy = residual.defined() ? residual.data_ptr<c10::BFloat16>() : nullptr;
      r.out = y.data_ptr<c10::BFloat16>();
      apply_bf16(r, a, b, residual.defined(), relu, m0, m1);
    }
  });
}

namespace {

// The backward's activation as the row passes take it.
Act act_of(const BackwardAct& act) {
  if (!act.relu) return Act::kNone;
  return act.y.defined() ? Act::kReluFromY : Act::kReluFromX;
}

void check_act(const BackwardAct& act, const at::Tensor& x, bool residual) {
  if (!act.relu) return;
  if (act.y.defined()) return check_rows(act.y, x, "y");
  TORCH_CHECK(!residual,
              "batch norm kernels: the ReLU's mask from x needs a norm without a residual");
  check_channels(act.scale, channels(x), "scale");
  check_channels(act.shift, channels(x), "shift");
}

// The backward's operands dy, x, the activation's (and, for the gradients, dx and dr) as rows
// of T.
template <typename T>
Rows<T> backward_rows(const at::Tensor& dy, const at::Tensor& x, const BackwardAct& act, int64_t C,
                      at::Tensor* dx = nullptr, at::Tensor* dr = nullptr) {
  auto r = rows_of<T>(x, C);
  r.dy = dy.data_ptr<T>();
  if (act.relu && act.y.defined()) r.y = act.y.data_ptr<T>();
  if (act.relu && !act.y.defined()) {
    r.scale = act.scale.data_ptr<float>();
    r.shift = act.shift.data_ptr<float>();
  }
  if (dx) r.out = dx->data_ptr<T>();
  if (dr && dr->defined()) r.dr = dr->data_ptr<T>();
  return r;
}

}  // namespace

void batch_norm_act_sums(const at::Tensor& dy, const at::Tensor& x, const at::Tensor& mean,
                         const BackwardAct& act, at::Tensor& sum_g, at::Tensor& sum_gx) {
  check_rows(x, x, "x");
  check_rows(dy, x, "dy");
  check_act(act, x, false);
  const int64_t C = channels(x), M = row_count(x);
  check_channels(mean, C, "mean");
  check_channels(sum_g, C, "sum_g");
  check_channels(sum_gx, C, "sum_gx");
  const float* mu = mean.data_ptr<float>();
  const Act a_of = act_of(act);
  std::vector<double> sg, sgx;
  chunked_sums(M, C, sg, sgx, [&](float* a, float* b, int64_t m0, int64_t m1) {
    if (x.scalar_type() == at::kFloat) {
      sums_float(backward_rows<float>(dy, x, act, C), mu, a, b, a_of, m0, m1);
    } else {
      sums_bf16(backward_rows<c10::BFloat16>(dy, x, act, C), mu, a, b, a_of, m0, m1);
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    sum_g.data_ptr<float>()[c] = static_cast<float>(sg[c]);
    sum_gx.data_ptr<float>()[c] = static_cast<float>(sgx[c]);
  }
}

void batch_norm_act_grads(const at::Tensor& dy, const at::Tensor& x, const at::Tensor& mean,
                          const at::Tensor& k1, const at::Tensor& k2, const at::Tensor& k3,
                          const BackwardAct& act, at::Tensor& dx, at::Tensor& dr) {
  check_rows(x, x, "x");
  check_rows(dy, x, "dy");
  check_rows(dx, x, "dx");
  if (dr.defined()) check_rows(dr, x, "dr");
  check_act(act, x, dr.defined());
  const int64_t C = channels(x), M = row_count(x);
  for (const auto* t : {&mean, &k1, &k2, &k3}) check_channels(*t, C, "a coefficient");
  const float *mu = mean.data_ptr<float>(), *a = k1.data_ptr<float>();
  const float *b = k2.data_ptr<float>(), *d = k3.data_ptr<float>();
  const Act a_of = act_of(act);
  at::parallel_for(0, M, kChunkRows, [&](int64_t m0, int64_t m1) {
    if (x.scalar_type() == at::kFloat) {
      grads_float(backward_rows<float>(dy, x, act, C, &dx, &dr), mu, a, b, d, a_of, m0, m1);
    } else {
      grads_bf16(backward_rows<c10::BFloat16>(dy, x, act, C, &dx, &dr), mu, a, b, d, a_of, m0, m1);
    }
  });
}

}  // namespace capflow::model
