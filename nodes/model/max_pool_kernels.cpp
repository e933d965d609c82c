// The stem's max pooling on channels-last rows (see max_pool_kernels.h).
#include "nodes/model/max_pool_kernels.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "nodes/model/batch_norm_act.h"
#include "nodes/model/cpu_vector.h"
#include "nodes/model/max_pool_rows.h"

namespace capflow::model {

namespace {

using cpu::load;
using cpu::store;
using pool::Geometry;

Geometry geometry_of(const at::Tensor& x) {
  const int64_t H = x.size(2), W = x.size(3);
  return {x.size(0), x.size(1), H, W, (H - 1) / 2 + 1, (W - 1) / 2 + 1};
}

// The portable rows (max_pool_rows.h has the AVX-512 ones).
// Output row (n, oh): for each ow and channel, the window's largest value and its position
// k = 3·dh + dw (rows outside the image skipped). best and kb are C floats and ints of scratch.
template <typename T>
[[gnu::always_inline]] inline void forward_row(const T* __restrict x, T* __restrict out,
                                               uint8_t* __restrict winner, const Geometry& g,
                                               int64_t n, int64_t oh, float* __restrict best,
                                               int32_t* __restrict kb) {
  const int64_t C = g.C;
  for (int64_t ow = 0; ow < g.Wo; ++ow) {
    bool first = true;
    for (int32_t dh = 0; dh < 3; ++dh) {
      const int64_t h = 2 * oh - 1 + dh;
      if (h < 0 || h >= g.H) continue;
      for (int32_t dw = 0; dw < 3; ++dw) {
        const int64_t w = 2 * ow - 1 + dw;
        if (w < 0 || w >= g.W) continue;
        const T* __restrict row = x + ((n * g.H + h) * g.W + w) * C;
        const int32_t k = 3 * dh + dw;
        if (first) {
          for (int64_t c = 0; c < C; ++c) best[c] = load(row[c]);
          std::fill(kb, kb + C, k);
          first = false;
          continue;
        }
        for (int64_t c = 0; c < C; ++c) {
          const float v = load(row[c]);
          const bool take = v > best[c] || v != v;  // NaN wins, as in LibTorch
          best[c] = take ? v : best[c];
          kb[c] = take ? k : kb[c];
        }
      }
    }
    const int64_t o = ((n * g.Ho + oh) * g.Wo + ow) * C;
    for (int64_t c = 0; c < C; ++c) {
      store(out[o + c], best[c]);
      winner[o + c] = static_cast<uint8_t>(kb[c]);
    }
  }
}

// Input row (n, h): each position's gradient, the sum of dy over the windows (≤ 2 × 2) whose
// winner it is.
template <typename T>
[[gnu::always_inline]] inline void backward_row(const T* __restrict dy,
                                                const uint8_t* __restrict winner, T* __restrict dx,
                                                const Geometry& g, int64_t n, int64_t h,
                                                float* __restrict acc) {
  const int64_t C = g.C;
  // Windows holding row h: oh with 2·oh − 1 ≤ h ≤ 2·oh + 1.
  const int64_t oh0 = std::max<int64_t>(0, h / 2), oh1 = std::min(g.Ho - 1, (h + 1) / 2);
  for (int64_t w = 0; w < g.W; ++w) {
    std::fill(acc, acc + C, 0.0f);
    const int64_t ow0 = std::max<int64_t>(0, w / 2), ow1 = std::min(g.Wo - 1, (w + 1) / 2);
    for (int64_t oh = oh0; oh <= oh1; ++oh) {
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const auto k = static_cast<uint8_t>(3 * (h - 2 * oh + 1) + (w - 2 * ow + 1));
        const int64_t o = ((n * g.Ho + oh) * g.Wo + ow) * C;
        for (int64_t c = 0; c < C; ++c) {
          acc[c] += winner[o + c] == k ? load(dy[o + c]) : 0.0f;
        }
      }
    }
    T* __restrict row = dx + ((n * g.H + h) * g.W + w) * C;
    for (int64_t c = 0; c < C; ++c) store(row[c], acc[c]);
  }
}

CAPFLOW_VECTOR_CLONES void forward_float(const float* x, float* out, uint8_t* winner,
                                         const Geometry& g, int64_t n, int64_t oh, float* best,
                                         int32_t* kb) {
  forward_row(x, out, winner, g, n, oh, best, kb);
}
CAPFLOW_VECTOR_CLONES void forward_bf16(const c10::BFloat16* x, c10::BFloat16* out, uint8_t* winner,
                                        const Geometry& g, int64_t n, int64_t oh, float* best,
                                        int32_t* kb) {
  forward_row(x, out, winner, g, n, oh, best, kb);
}
CAPFLOW_VECTOR_CLONES void backward_float(const float* dy, const uint8_t* winner, float* dx,
                                          const Geometry& g, int64_t n, int64_t h, float* acc) {
  backward_row(dy, winner, dx, g, n, h, acc);
}
CAPFLOW_VECTOR_CLONES void backward_bf16(const c10::BFloat16* dy, const uint8_t* winner,
                                         c10::BFloat16* dx, const Geometry& g, int64_t n, int64_t h,
                                         float* acc) {
  backward_row(dy, winner, dx, g, n, h, acc);
}

// The AVX-512 rows where the CPU has them and the channels fill whole registers.
bool vector_rows(const Geometry& g) { return g.C % 16 == 0 && pool::avx512_rows_available(); }

// A bfloat16 tensor's values as their bit patterns.
uint16_t* bits(const at::Tensor& t) { return &t.data_ptr<c10::BFloat16>()->x; }

void check_operands(const at::Tensor& x, const at::Tensor& out, const at::Tensor& winner) {
  const auto g = geometry_of(x);
  TORCH_CHECK(encoder_kernel_layout(x) && encoder_kernel_layout(out) &&
                  out.scalar_type() == x.scalar_type() &&
                  out.sizes() == at::IntArrayRef({g.N, g.C, g.Ho, g.Wo}),
              "max_pool_3x3s2: x and out must be channels-last float or bfloat16 CPU tensors, "
              "out [N, C, (H - 1) / 2 + 1, (W - 1) / 2 + 1]; got ",
              x.sizes(), " and ", out.sizes());
  TORCH_CHECK(winner.scalar_type() == at::kByte && winner.is_contiguous() &&
                  winner.sizes() == at::IntArrayRef({g.N, g.Ho, g.Wo, g.C}),
              "max_pool_3x3s2: winner must be uint8 [N, Ho, Wo, C], got ", winner.sizes());
}

class MaxPoolFunction : public torch::autograd::Function<MaxPoolFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& x) {
    const auto g = geometry_of(x);
    auto out = at::empty({g.N, g.C, g.Ho, g.Wo},
                         x.options().memory_format(at::MemoryFormat::ChannelsLast));
    auto winner = at::empty({g.N, g.Ho, g.Wo, g.C}, x.options().dtype(at::kByte));
    max_pool_3x3s2_forward(x, out, winner);
    ctx->saved_data["winner"] = winner;
    ctx->saved_data["sizes"] = x.sizes().vec();
    return {out};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto winner = ctx->saved_data.at("winner").toTensor();
    const auto sizes = ctx->saved_data.at("sizes").toIntVector();
    const auto& grad = grad_outputs[0];
    auto dx = at::empty(sizes, grad.options().memory_format(at::MemoryFormat::ChannelsLast));
    max_pool_3x3s2_backward(grad.contiguous(at::MemoryFormat::ChannelsLast), winner, dx);
    return {dx};
  }
};

}  // namespace

void max_pool_3x3s2_forward(const at::Tensor& x, at::Tensor& out, at::Tensor& winner) {
  check_operands(x, out, winner);
  const auto g = geometry_of(x);
  auto* w = winner.data_ptr<uint8_t>();
  if (vector_rows(g)) {
    at::parallel_for(0, g.N * g.Ho, 1, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        if (x.scalar_type() == at::kFloat) {
          pool::forward_row_avx512(x.data_ptr<float>(), out.data_ptr<float>(), w, g, r / g.Ho,
                                   r % g.Ho);
        } else {
          pool::forward_row_avx512(bits(x), bits(out), w, g, r / g.Ho, r % g.Ho);
        }
      }
    });
    return;
  }
  at::parallel_for(0, g.N * g.Ho, 1, [&](int64_t r0, int64_t r1) {
    std::vector<float> best(static_cast<size_t>(g.C));
    std::vector<int32_t> kb(static_cast<size_t>(g.C));
    for (int64_t r = r0; r < r1; ++r) {
      if (x.scalar_type() == at::kFloat) {
        forward_float(x.data_ptr<float>(), out.data_ptr<float>(), w, g, r / g.Ho, r % g.Ho,
                      best.data(), kb.data());
      } else {
        forward_bf16(x.data_ptr<c10::BFloat16>(), out.data_ptr<c10::BFloat16>(), w, g, r / g.Ho,
                     r % g.Ho, best.data(), kb.data());
      }
    }
  });
}

void max_pool_3x3s2_backward(const at::Tensor& dy, const at::Tensor& winner, at::Tensor& dx) {
  check_operands(dx, dy, winner);
  const auto g = geometry_of(dx);
  const auto* w = winner.data_ptr<uint8_t>();
  if (vector_rows(g)) {
    at::parallel_for(0, g.N * g.H, 1, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        if (dx.scalar_type() == at::kFloat) {
          pool::backward_row_avx512(dy.data_ptr<float>(), w, dx.data_ptr<float>(), g, r / g.H,
                                    r % g.H);
        } else {
          pool::backward_row_avx512(bits(dy), w, bits(dx), g, r / g.H, r % g.H);
        }
      }
    });
    return;
  }
  at::parallel_for(0, g.N * g.H, 1, [&](int64_t r0, int64_t r1) {
    std::vector<float> acc(static_cast<size_t>(g.C));
    for (int64_t r = r0; r < r1; ++r) {
      if (dx.scalar_type() == at::kFloat) {
        backward_float(dy.data_ptr<float>(), w, dx.data_ptr<float>(), g, r / g.H, r % g.H,
                       acc.data());
      } else {
        backward_bf16(dy.data_ptr<c10::BFloat16>(), w, dx.data_ptr<c10::BFloat16>(), g, r / g.H,
                      r % g.H, acc.data());
      }
    }
  });
}

at::Tensor max_pool_3x3s2(const at::Tensor& x) {
  if (!(encoder_kernels_enabled() && encoder_kernel_layout(x))) {
    return torch::max_pool2d(x, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1);
  }
  return MaxPoolFunction::apply(x)[0];
}

}  // namespace capflow::model
