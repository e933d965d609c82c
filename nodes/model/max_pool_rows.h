// The rows of the stem's 3×3 max pooling (stride 2, padding 1) on channels-last activations, as
// raw pointers (max_pool_kernels.h has the tensors and the autograd node). A forward row is one
// output row (n, oh): each value's window maximum and the winner's position k = 3·dh + dw; a
// backward row is one input row (n, h): each position's gradient, summed over the windows whose
// winner it is. The AVX-512 rows (BW and VL) take 16 channels per register and need C to be a
// multiple of 16; bfloat16 values are passed as their 16-bit patterns. Results are bit for bit
// those of the portable rows in max_pool_kernels.cpp (the same comparisons and the same order
// of the sums; bfloat16 rounded to nearest even, NaN to 0x7fc0).
#pragma once

#include <cstdint>

namespace capflow::model::pool {

struct Geometry {
  int64_t N, C, H, W, Ho, Wo;
};

// True where the CPU has AVX-512 F, BW and VL and this build has the rows.
bool avx512_rows_available();

void forward_row_avx512(const float* x, float* out, uint8_t* winner, const Geometry& g, int64_t n,
                        int64_t oh);
void forward_row_avx512(const uint16_t* x, uint16_t* out, uint8_t* winner, const Geometry& g,
                        int64_t n, int64_t oh);
void backward_row_avx512(const float* dy, const uint8_t* winner, float* dx, const Geometry& g,
                         int64_t n, int64_t h);
void backward_row_avx512(const uint16_t* dy, const uint8_t* winner, uint16_t* dx, const Geometry& g,
                         int64_t n, int64_t h);

}  // namespace capflow::model::pool
