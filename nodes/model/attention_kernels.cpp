// Additive attention's elementwise passes, fused (see attention_kernels.h).
#include "nodes/model/attention_kernels.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nodes/model/cpu_vector.h"
#include "nodes/model/rational_tanh.h"

namespace capflow::model {

namespace {

using cpu::dot;
using cpu::load;
using cpu::store;

// Rows [b0, b1) of the forward; scratch holds 3·A floats.
template <typename T>
inline void scores_rows(const T* enc, const T* dec, int64_t dec_stride, const T* w, T* u,
                        float* scores, int64_t b0, int64_t b1, int64_t P, int64_t A,
                        float* scratch) {
  float* wf = scratch;
  float* df = scratch + A;
  float* t = scratch + 2 * A;
  for (int64_t a = 0; a < A; ++a) wf[a] = load(w[a]);
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t a = 0; a < A; ++a) df[a] = load(dec[b * dec_stride + a]);
    for (int64_t p = 0; p < P; ++p) {
      const T* e = enc + (b * P + p) * A;
      T* out = u + (b * P + p) * A;
      for (int64_t a = 0; a < A; ++a) t[a] = cpu::rational_tanh(load(e[a]) + df[a]);
      for (int64_t a = 0; a < A; ++a) store(out[a], t[a]);
      scores[b * P + p] = dot(t, wf, A);
    }
  }
}

// Rows [b0, b1) of the backward; scratch holds 2·A floats; dw_rows [n, A] gets each row's
// Σ_p d_scores · u.
template <typename T>
inline void scores_backward_rows(const T* u, const float* d_scores, const T* w, float* d_enc,
                                 T* d_dec, int64_t dec_stride, float* dw_rows, int64_t b0,
                                 int64_t b1, int64_t P, int64_t A, float* scratch) {
  float* wf = scratch;
  float* dd = scratch + A;
  for (int64_t a = 0; a < A; ++a) wf[a] = load(w[a]);
  for (int64_t b = b0; b < b1; ++b) {
    float* dw = dw_rows + b * A;
    std::fill(dd, dd + A, 0.0f);
    std::fill(dw, dw + A, 0.0f);
    for (int64_t p = 0; p < P; ++p) {
      const T* uu = u + (b * P + p) * A;
      float* ge = d_enc + (b * P + p) * A;
      const float s = d_scores[b * P + p];
      for (int64_t a = 0; a < A; ++a) {
        const float uf = load(uu[a]);
        const float g = s * wf[a] * (1.0f - uf * uf);
        ge[a] += g;
        dd[a] += g;
        dw[a] += s * uf;
      }
    }
    for (int64_t a = 0; a < A; ++a) store(d_dec[b * dec_stride + a], dd[a]);
  }
}

CAPFLOW_VECTOR_CLONES void scores_rows_float(const float* enc, const float* dec, int64_t ds,
                                             const float* w, float* u, float* scores, int64_t b0,
                                             int64_t b1, int64_t P, int64_t A, float* scratch) {
  scores_rows(enc, dec, ds, w, u, scores, b0, b1, P, A, scratch);
}
CAPFLOW_VECTOR_CLONES void scores_rows_bf16(const c10::BFloat16* enc, const c10::BFloat16* dec,
                                            int64_t ds, const c10::BFloat16* w, c10::BFloat16* u,
                                            float* scores, int64_t b0, int64_t b1, int64_t P,
                                            int64_t A, float* scratch) {
  scores_rows(enc, dec, ds, w, u, scores, b0, b1, P, A, scratch);
}
CAPFLOW_VECTOR_CLONES void backward_rows_float(const float* u, const float* d_scores,
                                               const float* w, float* d_enc, float* d_dec,
                                               int64_t ds, float* dw_rows, int64_t b0, int64_t b1,
                                               int64_t P, int64_t A, float* scratch) {
  scores_backward_rows(u, d_scores, w, d_enc, d_dec, ds, dw_rows, b0, b1, P, A, scratch);
}
CAPFLOW_VECTOR_CLONES void backward_rows_bf16(const c10::BFloat16* u, const float* d_scores,
                                              const c10::BFloat16* w, float* d_enc,
                                              c10::BFloat16* d_dec, int64_t ds, float* dw_rows,
                                              int64_t b0, int64_t b1, int64_t P, int64_t A,
                                              float* scratch) {
  scores_backward_rows(u, d_scores, w, d_enc, d_dec, ds, dw_rows, b0, b1, P, A, scratch);
}

// The hand-written loops cover CPU tensors of float or bfloat16 laid out as documented (rows
// of `rows` contiguous and not overlapping).
bool fused_path(const at::Tensor& block, const at::Tensor& rows) {
  return block.device().is_cpu() && rows.device().is_cpu() &&
         (rows.size(0) == 1 || rows.stride(0) >= rows.size(1)) &&
         (block.scalar_type() == at::kFloat || block.scalar_type() == at::kBFloat16) &&
         block.is_contiguous() && rows.stride(1) == 1;
}

}  // namespace

float fast_tanh(float x) { return cpu::rational_tanh(x); }

void attention_scores(const at::Tensor& enc, const at::Tensor& dec, const at::Tensor& w,
                      at::Tensor& u, at::Tensor& scores) {
  const int64_t n = enc.size(0), P = enc.size(1), A = enc.size(2);
  TORCH_CHECK(dec.dim() == 2 && dec.size(0) == n && dec.size(1) == A && w.numel() == A &&
                  u.sizes() == enc.sizes() && scores.dim() == 2 && scores.size(0) == n &&
                  scores.size(1) == P && scores.scalar_type() == at::kFloat &&
                  dec.scalar_type() == enc.scalar_type() && w.scalar_type() == enc.scalar_type() &&
                  u.scalar_type() == enc.scalar_type(),
              "attention_scores: enc [n, P, A], dec [n, A], w [A] and u of one dtype, scores "
              "float [n, P] expected");
  TORCH_CHECK(dec.device() == enc.device() && w.device() == enc.device() &&
                  u.device() == enc.device() && scores.device() == enc.device(),
              "attention_scores: all tensors on one device expected");
  if (!(fused_path(enc, dec) && u.is_contiguous() && scores.is_contiguous())) {
    at::add_out(u, enc, dec.unsqueeze(1));
    u.tanh_();
    scores.copy_(at::matmul(u, w.reshape({A})));
    return;
  }
  const auto wc = w.contiguous();
  const int64_t ds = dec.stride(0);
  float* s = scores.data_ptr<float>();
  at::parallel_for(0, n, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> scratch(3 * A);
    if (enc.scalar_type() == at::kFloat) {
      scores_rows_float(enc.data_ptr<float>(), dec.data_ptr<float>(), ds, wc.data_ptr<float>(),
                        u.data_ptr<float>(), s, b0, b1, P, A, scratch.data());
    } else {
      scores_rows_bf16(enc.data_ptr<c10::BFloat16>(), dec.data_ptr<c10::BFloat16>(), ds,
                       wc.data_ptr<c10::BFloat16>(), u.data_ptr<c10::BFloat16>(), s, b0, b1, P, A,
                       scratch.data());
    }
  });
}

void attention_scores_backward(const at::Tensor& u, const at::Tensor& d_scores, const at::Tensor& w,
                               at::Tensor& d_enc, at::Tensor& d_dec, at::Tensor& d_w) {
  const int64_t n = u.size(0), P = u.size(1), A = u.size(2);
  TORCH_CHECK(d_scores.dim() == 2 && d_scores.size(0) == n && d_scores.size(1) == P &&
                  d_scores.scalar_type() == at::kFloat && w.numel() == A &&
                  d_enc.sizes() == u.sizes() && d_enc.scalar_type() == at::kFloat &&
                  d_dec.dim() == 2 && d_dec.size(0) == n && d_dec.size(1) == A &&
                  d_dec.scalar_type() == u.scalar_type() && w.scalar_type() == u.scalar_type() &&
                  d_w.numel() == A && d_w.scalar_type() == at::kFloat,
              "attention_scores_backward: u [n, P, A], d_scores float [n, P], w [A], d_enc "
              "float [n, P, A], d_dec [n, A] in u's dtype and d_w float [A] expected");
  TORCH_CHECK(d_scores.device() == u.device() && w.device() == u.device() &&
                  d_enc.device() == u.device() && d_dec.device() == u.device() &&
                  d_w.device() == u.device(),
              "attention_scores_backward: all tensors on one device expected");
  if (!(fused_path(u, d_dec) && d_scores.is_contiguous() && d_enc.is_contiguous() &&
        d_w.is_contiguous())) {
    const auto uf = u.to(at::kFloat);
    const auto g = d_scores.unsqueeze(2) * w.reshape({A}).to(at::kFloat) * (1 - uf * uf);
    d_enc.add_(g);
    d_dec.copy_(g.sum(1));
    d_w.add_((d_scores.unsqueeze(2) * uf).sum(at::IntArrayRef{0, 1}).view(d_w.sizes()));
    return;
  }
  const auto wc = w.contiguous();
  const int64_t ds = d_dec.stride(0);
  const float* dsc = d_scores.data_ptr<float>();
  float* de = d_enc.data_ptr<float>();
  std::vector<float> dw_rows(static_cast<size_t>(n * A));
  at::parallel_for(0, n, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> scratch(2 * A);
    if (u.scalar_type() == at::kFloat) {
      backward_rows_float(u.data_ptr<float>(), dsc, wc.data_ptr<float>(), de,
                          d_dec.data_ptr<float>(), ds, dw_rows.data(), b0, b1, P, A,
                          scratch.data());
    } else {
      backward_rows_bf16(u.data_ptr<c10::BFloat16>(), dsc, wc.data_ptr<c10::BFloat16>(), de,
                         d_dec.data_ptr<c10::BFloat16>(), ds, dw_rows.data(), b0, b1, P, A,
                         scratch.data());
    }
  });
  float* dw = d_w.data_ptr<float>();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t a = 0; a < A; ++a) dw[a] += dw_rows[b * A + a];
  }
}

}  // namespace capflow::model
