// The LSTM cell's elementwise passes, fused (see lstm_cell_kernels.h).
#include "nodes/model/lstm_cell_kernels.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdint>

#include "nodes/model/cpu_vector.h"
#include "nodes/model/rational_tanh.h"

namespace capflow::model {

namespace {

using cpu::rational_sigmoid;
using cpu::rational_tanh;

// Row strides of the [n, H] and [n, 4H] operands.
struct Strides {
  int64_t gates, c_prev, c, h;
};

// One row: the operands never overlap (restrict lets the loop vectorize).
[[gnu::always_inline]] inline void forward_row(float* __restrict i, float* __restrict f,
                                               float* __restrict g, float* __restrict o,
                                               const float* __restrict cp, float* __restrict c,
                                               float* __restrict h, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const float ij = rational_sigmoid(i[j]), fj = rational_sigmoid(f[j]);
    const float gj = rational_tanh(g[j]), oj = rational_sigmoid(o[j]);
    const float cj = fj * cp[j] + ij * gj;
    i[j] = ij;
    f[j] = fj;
    g[j] = gj;
    o[j] = oj;
    c[j] = cj;
    h[j] = oj * rational_tanh(cj);
  }
}

CAPFLOW_VECTOR_CLONES void forward_rows(float* gates, const float* c_prev, float* c_out,
                                        float* h_out, Strides s, int64_t r0, int64_t r1,
                                        int64_t H) {
  for (int64_t r = r0; r < r1; ++r) {
    float* i = gates + r * s.gates;
    forward_row(i, i + H, i + 2 * H, i + 3 * H, c_prev + r * s.c_prev, c_out + r * s.c,
                h_out + r * s.h, H);
  }
}

// The pointers and strides of one backward call; rows are indexed from 0.
template <typename T>
struct BackwardRows {
  const float *act, *c_prev, *c, *grad_h, *dh;
  float *dc, *d_gates;
  T* d_copy;
  int64_t act_s, c_prev_s, c_s, grad_h_s, dh_s, dc_s, d_gates_s, d_copy_s, H;
};

// One row's gate gradients and the carried dc (operands never overlap).
[[gnu::always_inline]] inline void backward_row(const float* __restrict act,
                                                const float* __restrict cp,
                                                const float* __restrict c,
                                                const float* __restrict gh,
                                                const float* __restrict dh, float* __restrict dc,
                                                float* __restrict d, int64_t H) {
  const float *i = act, *f = act + H, *g = act + 2 * H, *o = act + 3 * H;
  for (int64_t j = 0; j < H; ++j) {
    const float tc = rational_tanh(c[j]);
    const float dht = gh[j] + dh[j];
    const float dct = dc[j] + dht * o[j] * (1.0f - tc * tc);
    d[j] = dct * g[j] * (i[j] * (1.0f - i[j]));
    d[H + j] = dct * cp[j] * (f[j] * (1.0f - f[j]));
    d[2 * H + j] = dct * i[j] * (1.0f - g[j] * g[j]);
    d[3 * H + j] = dht * tc * (o[j] * (1.0f - o[j]));
    dc[j] = dct * f[j];
  }
}

template <typename T>
[[gnu::always_inline]] inline void copy_row(const float* __restrict from, T* __restrict to,
                                            int64_t len) {
  for (int64_t j = 0; j < len; ++j) cpu::store(to[j], from[j]);
}

template <typename T>
[[gnu::always_inline]] inline void backward_rows(const BackwardRows<T>& b, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    float* d = b.d_gates + r * b.d_gates_s;
    backward_row(b.act + r * b.act_s, b.c_prev + r * b.c_prev_s, b.c + r * b.c_s,
                 b.grad_h + r * b.grad_h_s, b.dh + r * b.dh_s, b.dc + r * b.dc_s, d, b.H);
    copy_row(d, b.d_copy + r * b.d_copy_s, 4 * b.H);
  }
}

CAPFLOW_VECTOR_CLONES void backward_rows_float(const BackwardRows<float>& b, int64_t r0,
                                               int64_t r1) {
  backward_rows(b, r0, r1);
}
CAPFLOW_VECTOR_CLONES void backward_rows_bf16(const BackwardRows<c10::BFloat16>& b, int64_t r0,
                                              int64_t r1) {
  backward_rows(b, r0, r1);
}

bool rows_contiguous(const at::Tensor& t) {
  return t.dim() == 2 && (t.size(1) <= 1 || t.stride(1) == 1);
}

bool fused_path(std::initializer_list<const at::Tensor*> tensors) {
  for (const at::Tensor* t : tensors) {
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || !rows_contiguous(*t)) {
      return false;
    }
  }
  return true;
}

void check_shapes(const at::Tensor& gates, std::initializer_list<const at::Tensor*> states) {
  TORCH_CHECK(gates.dim() == 2 && gates.size(1) % 4 == 0, "LSTM cell: gates [n, 4H] expected");
  for (const at::Tensor* t : states) {
    TORCH_CHECK(t->dim() == 2 && t->size(0) == gates.size(0) && t->size(1) * 4 == gates.size(1),
                "LSTM cell: states [n, H] for gates [n, 4H] expected, got ", t->sizes(), " and ",
                gates.sizes());
  }
}

// At least this many values per thread's share of rows.
constexpr int64_t kValuesPerTask = 16384;

int64_t row_grain(int64_t H) { return std::max<int64_t>(1, kValuesPerTask / (4 * H)); }

}  // namespace

void lstm_cell_forward(at::Tensor& gates, const at::Tensor& c_prev, at::Tensor& c_out,
                       at::Tensor& h_out) {
  check_shapes(gates, {&c_prev, &c_out, &h_out});
  const int64_t n = gates.size(0), H = c_prev.size(1);
  if (!fused_path({&gates, &c_prev, &c_out, &h_out})) {
    gates.narrow(1, 0, 2 * H).sigmoid_();
    gates.narrow(1, 2 * H, H).tanh_();
    gates.narrow(1, 3 * H, H).sigmoid_();
    at::mul_out(c_out, gates.narrow(1, H, H), c_prev);
    c_out.addcmul_(gates.narrow(1, 0, H), gates.narrow(1, 2 * H, H));
    at::tanh_out(h_out, c_out);
    h_out.mul_(gates.narrow(1, 3 * H, H));
    return;
  }
  const Strides s{gates.stride(0), c_prev.stride(0), c_out.stride(0), h_out.stride(0)};
  at::parallel_for(0, n, row_grain(H), [&](int64_t r0, int64_t r1) {
    forward_rows(gates.data_ptr<float>(), c_prev.data_ptr<float>(), c_out.data_ptr<float>(),
                 h_out.data_ptr<float>(), s, r0, r1, H);
  });
}

void lstm_cell_backward(const at::Tensor& act, const at::Tensor& c_prev, const at::Tensor& c,
                        const at::Tensor& grad_h, const at::Tensor& dh, at::Tensor& dc,
                        at::Tensor& d_gates, at::Tensor& d_gates_copy) {
  check_shapes(act, {&c_prev, &c, &grad_h, &dh, &dc});
  TORCH_CHECK(d_gates.sizes() == act.sizes() && d_gates_copy.sizes() == act.sizes(),
              "LSTM cell backward: d_gates and d_gates_copy [n, 4H] expected");
  const int64_t n = act.size(0), H = c.size(1);
  const bool copy_ok =
      d_gates_copy.device().is_cpu() && rows_contiguous(d_gates_copy) &&
      (d_gates_copy.scalar_type() == at::kFloat || d_gates_copy.scalar_type() == at::kBFloat16);
  if (!copy_ok || !fused_path({&act, &c_prev, &c, &grad_h, &dh, &dc, &d_gates})) {
    const auto i = act.narrow(1, 0, H), f = act.narrow(1, H, H);
    const auto g = act.narrow(1, 2 * H, H), o = act.narrow(1, 3 * H, H);
    const auto tc = at::tanh(c);
    const auto dht = grad_h + dh;
    const auto dct = dc + dht * o * (1 - tc * tc);
    auto d_i = d_gates.narrow(1, 0, H), d_f = d_gates.narrow(1, H, H);
    auto d_g = d_gates.narrow(1, 2 * H, H), d_o = d_gates.narrow(1, 3 * H, H);
    at::mul_out(d_i, dct * g, i * (1 - i));
    at::mul_out(d_f, dct * c_prev, f * (1 - f));
    at::mul_out(d_g, dct * i, 1 - g * g);
    at::mul_out(d_o, dht * tc, o * (1 - o));
    dc.copy_(dct * f);
    d_gates_copy.copy_(d_gates);
    return;
  }
  auto rows = [&](auto* copy) {
    using T = std::remove_pointer_t<decltype(copy)>;
    return BackwardRows<T>{act.data_ptr<float>(),
                           c_prev.data_ptr<float>(),
                           c.data_ptr<float>(),
                           grad_h.data_ptr<float>(),
                           dh.data_ptr<float>(),
                           dc.data_ptr<float>(),
                           d_gates.data_ptr<float>(),
                           copy,
                           act.stride(0),
                           c_prev.stride(0),
                           c.stride(0),
                           grad_h.stride(0),
                           dh.stride(0),
                           dc.stride(0),
                           d_gates.stride(0),
                           d_gates_copy.stride(0),
                           H};
  };
  if (d_gates_copy.scalar_type() == at::kFloat) {
    const auto b = rows(d_gates_copy.data_ptr<float>());
    at::parallel_for(0, n, row_grain(H),
                     [&](int64_t r0, int64_t r1) { backward_rows_float(b, r0, r1); });
  } else {
    const auto b = rows(d_gates_copy.data_ptr<c10::BFloat16>());
    at::parallel_for(0, n, row_grain(H),
                     [&](int64_t r0, int64_t r1) { backward_rows_bf16(b, r0, r1); });
  }
}

}  // namespace capflow::model
