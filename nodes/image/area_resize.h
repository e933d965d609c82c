// The area resize (resize_area in gray_ops.h): per-axis weight tables, a scalar reference, and
// two vector paths that write the result turned by quarter turns at little extra cost (turning
// is a choice of store and of the tables' order): AVX-512 (row by row, each output's taps
// gathered by permutes; for shrinks across of up to about 1.9 times) and AVX2 (sixteen output
// rows at once, transposed). All compute in 16-bit fixed point (area_resize_tables.h): a pixel lies
// within 0.5 + (taps across + taps down) / 128 gray levels of the exact area average.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nodes/image/gray_ops.h"

namespace capflow::image {

// Resizes `src` to width x height (resize_area's filter), then turns the result `turns`
// quarter turns counter-clockwise (any integer; taken modulo 4) and writes it at `dst`, rows
// `dst_stride` bytes apart: width x height pixels for an even number of turns, height x width
// for an odd one. Uses AVX-512 (F, BW, VL) or AVX2 where the processor has it (x86-64, checked
// when run), else resize_area_turned_reference; every path gives the same bytes.
// Throws std::invalid_argument for an empty source or size.
void resize_area_turned_into(const GrayView& src, int width, int height, int turns,
                             std::uint8_t* dst, std::ptrdiff_t dst_stride);

// The same, one row at a time in scalar code, then a separate turn: the reference the vector
// path is tested against (the same integer steps, so the same bytes).
void resize_area_turned_reference(const GrayView& src, int width, int height, int turns,
                                  std::uint8_t* dst, std::ptrdiff_t dst_stride);

// Whether resize_area_turned_into runs the vector path on this processor.
bool resize_area_is_vectorized();

}  // namespace capflow::image
