// Encoding and decoding of 8-bit grayscale images (and encoding of RGB ones): PNG through libspng,
// JPEG through the TurboJPEG API. Decoding checks the declared dimensions against a limit before
// allocating (decompression bombs) and throws DataError naming the source on corrupt or truncated
// data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nodes/io/gray_image.h"
#include "nodes/io/pixel_map.h"

namespace capflow::io {

enum class ImageFormat { kPng, kJpeg, kUnknown };

struct DecodeLimits {
  int max_width = 16384;
  int max_height = 16384;
  std::uint64_t max_pixels = 64ull << 20;  // 64 Mpx
  // PNG: also check the Adler-32 of the decompressed bytes (libspng's default). Off, every
  // chunk's CRC-32 (the file is read to IEND), which covers the compressed bytes as stored,
  // still catches a corrupt or truncated file; the Adler-32 would cost about a tenth of a
  // decode (Debian's zlib computes it one byte at a time).
  bool check_adler32 = false;
};

ImageFormat sniff_format(const std::uint8_t* data, std::size_t size);
const char* format_extension(ImageFormat f);            // "png", "jpg"
ImageFormat format_from_name(const std::string& name);  // "png", "jpg"/"jpeg"; kUnknown otherwise

// compression_level: zlib level 0..9.
std::vector<std::uint8_t> encode_png_gray(const GrayImage& image, int compression_level = 6);
// rgb: width * height * 3 bytes, row-major, R G B interleaved (for pictures made to be looked
// at, such as attention maps; the data path stays gray).
std::vector<std::uint8_t> encode_png_rgb(const std::uint8_t* rgb, int width, int height,
                                         int compression_level = 6);
// quality: 1..100.
std::vector<std::uint8_t> encode_jpeg_gray(const GrayImage& image, int quality = 90);

// `source` names the file (or sample) in error messages. Colour images become luminance,
// transparent pixels are composited on white.
GrayImage decode_png_gray(const std::uint8_t* data, std::size_t size, const std::string& source,
                          const DecodeLimits& limits = {});
GrayImage decode_jpeg_gray(const std::uint8_t* data, std::size_t size, const std::string& source,
                           const DecodeLimits& limits = {});
// Picks the decoder from the magic bytes.
GrayImage decode_image_gray(const std::uint8_t* data, std::size_t size, const std::string& source,
                            const DecodeLimits& limits = {});

// Decodes for a later aspect-preserving fit into target_width x target_height, in either
// orientation (the augment may turn the picture 90 degrees). JPEG uses TurboJPEG's DCT scaling:
// the smallest scale s among 1/2, 1/4, 1/8 with s >= max(min(tw/w, th/h), min(tw/h, th/w)),
// so the result still holds at least the pixels the fit needs; full size when none qualifies
// (the n/8 factors in between decode slower than full size, so they are not used). No scaling
// when a target is <= 0 or the picture is not larger than needed. PNG is decoded at full size
// (libspng cannot scale). The limits apply to the declared size, before any allocation. `map`, when
// given, receives the scaling from the file's pixels to the result's.
GrayImage decode_image_gray_fit(const std::uint8_t* data, std::size_t size,
                                const std::string& source, const DecodeLimits& limits,
                                int target_width, int target_height, PixelMap* map = nullptr);

// Whole-file helpers. read_file throws DataError naming the path when it cannot be read.
std::vector<std::uint8_t> read_file(const std::string& path);
GrayImage decode_image_file(const std::string& path, const DecodeLimits& limits = {});

}  // namespace capflow::io
