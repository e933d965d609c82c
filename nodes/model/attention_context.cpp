// The soft attention's read-out for one step, fused (see attention_context.h).
#include "nodes/model/attention_context.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nodes/model/cpu_vector.h"
#include "nodes/model/kernel_switches.h"
#include "nodes/model/rational_tanh.h"

namespace capflow::model {

namespace {

using cpu::dot;
using cpu::load;
using cpu::store;

// v rounded to T and back: what a later load of the stored value gives.
template <typename T>
inline float rounded(float v) {
  T t;
  store(t, v);
  return load(t);
}

// The forward's operands; [n, C] and [n, P] rows contiguous but for beta_pre's.
template <typename T>
struct ContextRows {
  const float* probs;
  const T* features;
  const T* beta_pre;
  int64_t beta_pre_stride;
  T *alpha, *beta, *context, *gated;
  int64_t P, C;
};

// The backward's operands; rows contiguous but for d_beta_pre's.
template <typename T>
struct ContextGrads {
  const T *dz, *beta, *context, *alpha, *features;
  T* d_context;
  T* d_beta_pre;
  int64_t d_beta_pre_stride;
  float* d_scores;
  int64_t P, C;
};

// Rows [b0, b1) of the forward; acc holds C floats.
template <typename T>
inline void context_rows(const ContextRows<T>& r, int64_t b0, int64_t b1, float* __restrict acc) {
  const int64_t P = r.P, C = r.C;
  for (int64_t b = b0; b < b1; ++b) {
    const float* __restrict probs = r.probs + b * P;
    T* __restrict alpha = r.alpha + b * P;
    std::fill(acc, acc + C, 0.0f);
    for (int64_t p = 0; p < P; ++p) {
      const float a = rounded<T>(probs[p]);
      store(alpha[p], a);
      const T* __restrict f = r.features + (b * P + p) * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += a * load(f[c]);
    }
    const T* __restrict pre = r.beta_pre + b * r.beta_pre_stride;
    T* __restrict beta = r.beta + b * C;
    T* __restrict context = r.context + b * C;
    T* __restrict gated = r.gated + b * C;
    for (int64_t c = 0; c < C; ++c) {
      const float x = rounded<T>(acc[c]);
      const float s = rounded<T>(cpu::rational_sigmoid(load(pre[c])));
      store(context[c], x);
      store(beta[c], s);
      store(gated[c], s * x);
    }
  }
}

// Rows [b0, b1) of the backward; scratch holds C + P floats.
template <typename T>
inline void context_grad_rows(const ContextGrads<T>& g, int64_t b0, int64_t b1,
                              float* __restrict scratch) {
  const int64_t P = g.P, C = g.C;
  float* __restrict dctx = scratch;
  float* __restrict d_alpha = scratch + C;
  for (int64_t b = b0; b < b1; ++b) {
    const T* __restrict dz = g.dz + b * C;
    const T* __restrict beta = g.beta + b * C;
    const T* __restrict context = g.context + b * C;
    T* __restrict d_context = g.d_context + b * C;
    T* __restrict d_pre = g.d_beta_pre + b * g.d_beta_pre_stride;
    for (int64_t c = 0; c < C; ++c) {
      const float d = load(dz[c]), s = load(beta[c]);
      dctx[c] = rounded<T>(d * s);
      store(d_context[c], dctx[c]);
      store(d_pre[c], d * load(context[c]) * s * (1.0f - s));
    }
    const T* __restrict alpha = g.alpha + b * P;
    float total = 0.0f;
    for (int64_t p = 0; p < P; ++p) {
      const T* __restrict f = g.features + (b * P + p) * C;
      const float sum = dot(f, dctx, C);
      d_alpha[p] = sum;
      total += load(alpha[p]) * sum;
    }
    float* __restrict ds = g.d_scores + b * P;
    for (int64_t p = 0; p < P; ++p) ds[p] = load(alpha[p]) * (d_alpha[p] - total);
  }
}

CAPFLOW_VECTOR_CLONES void context_float(const ContextRows<float>& r, int64_t b0, int64_t b1,
                                         float* acc) {
  context_rows(r, b0, b1, acc);
}
CAPFLOW_VECTOR_CLONES void context_bf16(const ContextRows<c10::BFloat16>& r, int64_t b0, int64_t b1,
                                        float* acc) {
  context_rows(r, b0, b1, acc);
}
CAPFLOW_VECTOR_CLONES void context_grad_float(const ContextGrads<float>& g, int64_t b0, int64_t b1,
                                              float* scratch) {
  context_grad_rows(g, b0, b1, scratch);
}
CAPFLOW_VECTOR_CLONES void context_grad_bf16(const ContextGrads<c10::BFloat16>& g, int64_t b0,
                                             int64_t b1, float* scratch) {
  context_grad_rows(g, b0, b1, scratch);
}

// The operands' pointers for the loops above (layouts checked by fused_path).
template <typename T>
ContextRows<T> forward_operands(const at::Tensor& probs, const at::Tensor& features,
                                const at::Tensor& beta_pre, at::Tensor& alpha, at::Tensor& beta,
                                at::Tensor& context, at::Tensor& gated) {
  return {probs.data_ptr<float>(), features.data_ptr<T>(), beta_pre.data_ptr<T>(),
          beta_pre.stride(0),      alpha.data_ptr<T>(),    beta.data_ptr<T>(),
          context.data_ptr<T>(),   gated.data_ptr<T>(),    features.size(1),
          features.size(2)};
}
template <typename T>
ContextGrads<T> backward_operands(const at::Tensor& dz, const at::Tensor& beta,
                                  const at::Tensor& context, const at::Tensor& alpha,
                                  const at::Tensor& features, at::Tensor& d_context,
                                  at::Tensor& d_beta_pre, at::Tensor& d_scores) {
  return {dz.data_ptr<T>(),         beta.data_ptr<T>(),     context.data_ptr<T>(),
          alpha.data_ptr<T>(),      features.data_ptr<T>(), d_context.data_ptr<T>(),
          d_beta_pre.data_ptr<T>(), d_beta_pre.stride(0),   d_scores.data_ptr<float>(),
          features.size(1),         features.size(2)};
}

// Row-parallel run of one of the above with `scratch` floats per thread.
template <typename F>
void over_rows(int64_t n, int64_t scratch, const F& f) {
  at::parallel_for(0, n, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> buffer(static_cast<size_t>(scratch));
    f(b0, b1, buffer.data());
  });
}

bool cpu_rows(const at::Tensor& t) {
  return t.device().is_cpu() && t.dim() == 2 && t.stride(1) == 1 &&
         (t.size(0) <= 1 || t.stride(0) >= t.size(1));
}

// The hand-written loops: switched on (kernel_switches.h), CPU, float or bf16, the layouts
// documented in the header.
bool fused_path(const at::Tensor& features, std::initializer_list<at::Tensor> contiguous,
                const at::Tensor& strided) {
  if (!(decoder_kernels_enabled() && features.device().is_cpu() && features.is_contiguous() &&
        (features.scalar_type() == at::kFloat || features.scalar_type() == at::kBFloat16) &&
        cpu_rows(strided) && strided.scalar_type() == features.scalar_type())) {
    return false;
  }
  return std::all_of(contiguous.begin(), contiguous.end(),
                     [&](const at::Tensor& t) { return t.device().is_cpu() && t.is_contiguous(); });
}

void check_forward(const at::Tensor& probs, const at::Tensor& features, const at::Tensor& beta_pre,
                   const at::Tensor& alpha, const at::Tensor& beta, const at::Tensor& context,
                   const at::Tensor& gated) {
  TORCH_CHECK(features.dim() == 3, "attention_context: features [n, P, C] expected, got ",
              features.sizes());
  const int64_t n = features.size(0), P = features.size(1), C = features.size(2);
  const auto dt = features.scalar_type();
  auto nc = [&](const at::Tensor& t) {
    return t.dim() == 2 && t.size(0) == n && t.size(1) == C && t.scalar_type() == dt;
  };
  TORCH_CHECK(probs.dim() == 2 && probs.size(0) == n && probs.size(1) == P &&
                  probs.scalar_type() == at::kFloat && alpha.sizes() == probs.sizes() &&
                  alpha.scalar_type() == dt && nc(beta_pre) && nc(beta) && nc(context) && nc(gated),
              "attention_context: probs float [n, P], features [n, P, C], beta_pre [n, C], "
              "alpha [n, P] and beta, context, gated [n, C] in the features' dtype expected");
}

void check_backward(const at::Tensor& dz, const at::Tensor& beta, const at::Tensor& context,
                    const at::Tensor& alpha, const at::Tensor& features,
                    const at::Tensor& d_context, const at::Tensor& d_beta_pre,
                    const at::Tensor& d_scores) {
  TORCH_CHECK(features.dim() == 3, "attention_context_backward: features [n, P, C] expected");
  const int64_t n = features.size(0), P = features.size(1), C = features.size(2);
  const auto dt = features.scalar_type();
  auto nc = [&](const at::Tensor& t) {
    return t.dim() == 2 && t.size(0) == n && t.size(1) == C && t.scalar_type() == dt;
  };
  TORCH_CHECK(nc(dz) && nc(beta) && nc(context) && nc(d_context) && nc(d_beta_pre) &&
                  alpha.dim() == 2 && alpha.size(0) == n && alpha.size(1) == P &&
                  alpha.scalar_type() == dt && d_scores.sizes() == alpha.sizes() &&
                  d_scores.scalar_type() == at::kFloat,
              "attention_context_backward: dz, beta, context, d_context, d_beta_pre [n, C] and "
              "alpha [n, P] in the features' dtype, d_scores float [n, P] expected");
}

}  // namespace

void attention_context(const at::Tensor& probs, const at::Tensor& features,
                       const at::Tensor& beta_pre, at::Tensor& alpha, at::Tensor& beta,
                       at::Tensor& context, at::Tensor& gated) {
  check_forward(probs, features, beta_pre, alpha, beta, context, gated);
  if (!fused_path(features, {probs, alpha, beta, context, gated}, beta_pre)) {
    alpha.copy_(probs);
    at::sigmoid_out(beta, beta_pre);
    context.copy_(at::bmm(alpha.unsqueeze(1), features).squeeze(1));
    at::mul_out(gated, beta, context);
    return;
  }
  const int64_t n = features.size(0), C = features.size(2);
  if (features.scalar_type() == at::kFloat) {
    const auto r = forward_operands<float>(probs, features, beta_pre, alpha, beta, context, gated);
    over_rows(n, C, [&](int64_t b0, int64_t b1, float* s) { context_float(r, b0, b1, s); });
  } else {
    const auto r =
        forward_operands<c10::BFloat16>(probs, features, beta_pre, alpha, beta, context, gated);
    over_rows(n, C, [&](int64_t b0, int64_t b1, float* s) { context_bf16(r, b0, b1, s); });
  }
}

void attention_context_backward(const at::Tensor& dz, const at::Tensor& beta,
                                const at::Tensor& context, const at::Tensor& alpha,
                                const at::Tensor& features, at::Tensor& d_context,
                                at::Tensor& d_beta_pre, at::Tensor& d_scores) {
  check_backward(dz, beta, context, alpha, features, d_context, d_beta_pre, d_scores);
  if (!fused_path(features, {dz, beta, context, alpha, d_context, d_scores}, d_beta_pre)) {
    at::mul_out(d_beta_pre, dz * context, beta * (1 - beta));
    at::mul_out(d_context, dz, beta);
    const auto d_alpha =
        at::bmm(features, d_context.unsqueeze(2)).squeeze(2).to(at::kFloat);  // [n, P]
    const auto a = alpha.to(at::kFloat);
    d_scores.copy_(a * (d_alpha - (a * d_alpha).sum(1, /*keepdim=*/true)));
    return;
  }
  const int64_t n = features.size(0), P = features.size(1), C = features.size(2);
  if (features.scalar_type() == at::kFloat) {
    const auto g = backward_operands<float>(dz, beta, context, alpha, features, d_context,
                                            d_beta_pre, d_scores);
    over_rows(n, C + P,
              [&](int64_t b0, int64_t b1, float* s) { context_grad_float(g, b0, b1, s); });
  } else {
    const auto g = backward_operands<c10::BFloat16>(dz, beta, context, alpha, features, d_context,
                                                    d_beta_pre, d_scores);
    over_rows(n, C + P, [&](int64_t b0, int64_t b1, float* s) { context_grad_bf16(g, b0, b1, s); });
  }
}

}  // namespace capflow::model
