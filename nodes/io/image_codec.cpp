#include "nodes/io/image_codec.h"

#include <spng.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>

#include "graph/errors.h"

namespace capflow::io {
namespace {

void check_limits(std::uint64_t w, std::uint64_t h, const DecodeLimits& limits,
                  const std::string& source) {
  if (w == 0 || h == 0 || w > static_cast<std::uint64_t>(limits.max_width) ||
      h > static_cast<std::uint64_t>(limits.max_height) || w * h > limits.max_pixels) {
    throw DataError(source + ": image of " + std::to_string(w) + "x" + std::to_string(h) +
                    " pixels is outside the decode limits (" + std::to_string(limits.max_width) +
                    "x" + std::to_string(limits.max_height) + ", " +
                    std::to_string(limits.max_pixels) + " pixels)");
  }
}

struct SpngDeleter {
  void operator()(spng_ctx* c) const { spng_ctx_free(c); }
};
using SpngPtr = std::unique_ptr<spng_ctx, SpngDeleter>;

std::string spng_error(const std::string& source, const char* what, int err) {
  return source + ": " + what + ": " + spng_strerror(err);
}

// One TurboJPEG handle per thread and direction: creating one costs more than a small decode.
tjhandle thread_handle(bool compress) {
  struct Handles {
    tjhandle enc = nullptr, dec = nullptr;
    ~Handles() {
      if (enc) tjDestroy(enc);
      if (dec) tjDestroy(dec);
    }
  };
  thread_local Handles h;
  tjhandle& slot = compress ? h.enc : h.dec;
  if (!slot) slot = compress ? tjInitCompress() : tjInitDecompress();
  if (!slot)
    throw Error(std::string("TurboJPEG: cannot create a handle: ") + tjGetErrorStr2(nullptr));
  return slot;
}

}  // namespace

ImageFormat sniff_format(const std::uint8_t* d, std::size_t n) {
  static const std::uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n >= 8 && std::equal(kPng, kPng + 8, d)) return ImageFormat::kPng;
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return ImageFormat::kJpeg;
  return ImageFormat::kUnknown;
}

const char* format_extension(ImageFormat f) {
  switch (f) {
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kJpeg:
      return "jpg";
    default:
      return "";
  }
}

ImageFormat format_from_name(const std::string& name) {
  if (name == "png") return ImageFormat::kPng;
  if (name == "jpg" || name == "jpeg") return ImageFormat::kJpeg;
  return ImageFormat::kUnknown;
}

namespace {

// One 8-bit PNG of `channels` (1: gray, 3: RGB) interleaved samples per pixel.
std::vector<std::uint8_t> encode_png(const std::uint8_t* pixels, int width, int height,
                                     int channels, int compression_level) {
  SpngPtr ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  if (!ctx) throw Error("libspng: cannot create an encoder");
  spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  spng_set_option(ctx.get(), SPNG_IMG_COMPRESSION_LEVEL, compression_level);
  // Line drawings gain nothing from per-row filter search, which costs more than deflate.
  spng_set_option(ctx.get(), SPNG_FILTER_CHOICE, SPNG_DISABLE_FILTERING);
  spng_ihdr ihdr{};
  ihdr.width = static_cast<std::uint32_t>(width);
  ihdr.height = static_cast<std::uint32_t>(height);
  ihdr.bit_depth = 8;
  ihdr.color_type = channels == 3 ? SPNG_COLOR_TYPE_TRUECOLOR : SPNG_COLOR_TYPE_GRAYSCALE;
  int err = spng_set_ihdr(ctx.get(), &ihdr);
  if (!err) {
    const std::size_t bytes = static_cast<std::size_t>(width) * height * channels;
    err = spng_encode_image(ctx.get(), pixels, bytes, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  }
  if (err) throw Error(spng_error("PNG encoder", "encode", err));
  std::size_t len = 0;
  void* buf = spng_get_png_buffer(ctx.get(), &len, &err);
  if (!buf) throw Error(spng_error("PNG encoder", "get buffer", err));
  std::vector<std::uint8_t> out(static_cast<std::uint8_t*>(buf),
                                static_cast<std::uint8_t*>(buf) + len);
  std::free(buf);
  return out;
}

}  // namespace

std::vector<std::uint8_t> encode_png_gray(const GrayImage& image, int compression_level) {
  return encode_png(image.pixels.data(), image.width, image.height, 1, compression_level);
}

std::vector<std::uint8_t> encode_png_rgb(const std::uint8_t* rgb, int width, int height,
                                         int compression_level) {
  return encode_png(rgb, width, height, 3, compression_level);
}

GrayImage decode_png_gray(const std::uint8_t* data, std::size_t size, const std::string& source,
                          const DecodeLimits& limits) {
  SpngPtr ctx(spng_ctx_new(limits.check_adler32 ? 0 : SPNG_CTX_IGNORE_ADLER32));
  if (!ctx) throw Error("libspng: cannot create a decoder");
  spng_set_image_limits(ctx.get(), static_cast<std::uint32_t>(limits.max_width),
                        static_cast<std::uint32_t>(limits.max_height));
  spng_set_chunk_limits(ctx.get(), 8u << 20, 64u << 20);
  int err = spng_set_png_buffer(ctx.get(), data, size);
  spng_ihdr ihdr{};
  if (!err) err = spng_get_ihdr(ctx.get(), &ihdr);
  if (err) throw DataError(spng_error(source, "not a readable PNG", err));
  check_limits(ihdr.width, ihdr.height, limits, source);

  GrayImage img;
  img.width = static_cast<int>(ihdr.width);
  img.height = static_cast<int>(ihdr.height);
  const bool gray8 = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr.bit_depth <= 8;
  const int fmt = gray8 ? SPNG_FMT_G8 : SPNG_FMT_RGBA8;
  std::size_t out_size = 0;
  err = spng_decoded_image_size(ctx.get(), fmt, &out_size);
  if (err) throw DataError(spng_error(source, "PNG size", err));
  std::vector<std::uint8_t> buf(out_size);
  err = spng_decode_image(ctx.get(), buf.data(), buf.size(), fmt, SPNG_DECODE_TRNS);
  // Reading on to IEND checks the last IDAT chunk's CRC-32 (decoding stops at the last row,
  // before it), so a corrupt file is refused without the Adler-32 (DecodeLimits).
  if (!err) err = spng_decode_chunks(ctx.get());
  if (err) throw DataError(spng_error(source, "corrupt or truncated PNG", err));
  if (gray8) {
    img.pixels = std::move(buf);
    return img;
  }
  img.pixels.resize(static_cast<std::size_t>(img.width) * img.height);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) {
    const std::uint8_t* p = &buf[4 * i];
    const unsigned luma = (299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u;
    img.pixels[i] = static_cast<std::uint8_t>((luma * p[3] + 255u * (255u - p[3]) + 127u) / 255u);
  }
  return img;
}

std::vector<std::uint8_t> encode_jpeg_gray(const GrayImage& image, int quality) {
  tjhandle h = thread_handle(true);
  unsigned char* buf = nullptr;
  unsigned long len = 0;
  if (tjCompress2(h, image.pixels.data(), image.width, image.width, image.height, TJPF_GRAY, &buf,
                  &len, TJSAMP_GRAY, quality, TJFLAG_ACCURATEDCT) != 0) {
    std::string msg = tjGetErrorStr2(h);
    tjFree(buf);
    throw Error("JPEG encoder: " + msg);
  }
  std::vector<std::uint8_t> out(buf, buf + len);
  tjFree(buf);
  return out;
}

namespace {
// The JPEG's declared size, checked against the limits before anything is allocated.
std::pair<int, int> jpeg_size(tjhandle h, const std::uint8_t* data, std::size_t size,
                              const std::string& source, const DecodeLimits& limits) {
  int w = 0, ht = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(h, data, static_cast<unsigned long>(size), &w, &ht, &subsamp,
                          &colorspace) != 0) {
    throw DataError(source + ": not a readable JPEG: " + tjGetErrorStr2(h));
  }
  check_limits(static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(ht), limits, source);
  return {w, ht};
}
}  // namespace

GrayImage decode_jpeg_gray(const std::uint8_t* data, std::size_t size, const std::string& source,
                           const DecodeLimits& limits) {
  tjhandle h = thread_handle(false);
  const auto [w, ht] = jpeg_size(h, data, size, source, limits);
  GrayImage img(w, ht, 255);
  if (tjDecompress2(h, data, static_cast<unsigned long>(size), img.pixels.data(), w, w, ht,
                    TJPF_GRAY, TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING) != 0) {
    throw DataError(source + ": corrupt or truncated JPEG: " + tjGetErrorStr2(h));
  }
  return img;
}

GrayImage decode_image_gray(const std::uint8_t* data, std::size_t size, const std::string& source,
                            const DecodeLimits& limits) {
  switch (sniff_format(data, size)) {
    case ImageFormat::kPng:
      return decode_png_gray(data, size, source, limits);
    case ImageFormat::kJpeg:
      return decode_jpeg_gray(data, size, source, limits);
    default:
      throw DataError(source + ": neither PNG nor JPEG (unknown leading bytes)");
  }
}

namespace {

// The TurboJPEG scaling factor with the fewest pixels that still satisfies
// s >= max(min(tw/w, th/h), min(tw/h, th/w)); 1/1 when none smaller does. Exact integer tests.
// Only 1/2, 1/4 and 1/8 are candidates: libjpeg-turbo decodes those faster than full size,
// while 3/8, 5/8, 3/4 and 7/8 use slow scalar IDCTs (measured 1.1-2.3x slower than 1/1).
tjscalingfactor fit_scaling_factor(int w, int h, int tw, int th) {
  tjscalingfactor best{1, 1};
  if (tw <= 0 || th <= 0) return best;
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  if (!factors) return best;
  const auto ge = [](std::int64_t num, std::int64_t den, std::int64_t t, std::int64_t d) {
    return num * d >= t * den;  // num/den >= t/d
  };
  for (int i = 0; i < count; ++i) {
    const std::int64_t num = factors[i].num, den = factors[i].denom;
    if (num != 1 || den < 2 || (den & (den - 1)) != 0) continue;       // 1/2, 1/4, 1/8 only
    const bool wide_fit = ge(num, den, tw, w) || ge(num, den, th, h);  // s >= min(tw/w, th/h)
    const bool tall_fit = ge(num, den, tw, h) || ge(num, den, th, w);  // s >= min(tw/h, th/w)
    if (wide_fit && tall_fit && num * best.denom < static_cast<std::int64_t>(best.num) * den) {
      best = factors[i];
    }
  }
  return best;
}

}  // namespace

GrayImage decode_image_gray_fit(const std::uint8_t* data, std::size_t size,
                                const std::string& source, const DecodeLimits& limits,
                                int target_width, int target_height, PixelMap* map) {
  if (map) *map = PixelMap{};
  if (sniff_format(data, size) != ImageFormat::kJpeg || target_width <= 0 || target_height <= 0) {
    return decode_image_gray(data, size, source, limits);
  }
  tjhandle h = thread_handle(false);
  const auto [w, ht] = jpeg_size(h, data, size, source, limits);
  const tjscalingfactor f = fit_scaling_factor(w, ht, target_width, target_height);
  const int sw = TJSCALED(w, f), sh = TJSCALED(ht, f);
  GrayImage img(sw, sh, 255);
  // tjDecompress2 picks the scaling factor whose output fits sw x sh: exactly f.
  if (tjDecompress2(h, data, static_cast<unsigned long>(size), img.pixels.data(), sw, sw, sh,
                    TJPF_GRAY, TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING) != 0) {
    throw DataError(source + ": corrupt or truncated JPEG: " + tjGetErrorStr2(h));
  }
  if (map) *map = PixelMap::scale(static_cast<double>(sw) / w, static_cast<double>(sh) / ht);
  return img;
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw DataError(path + ": cannot open");
  std::vector<std::uint8_t> out;
  std::uint8_t chunk[1 << 16];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f.get())) > 0)
    out.insert(out.end(), chunk, chunk + n);
  if (std::ferror(f.get())) throw DataError(path + ": read error");
  return out;
}

GrayImage decode_image_file(const std::string& path, const DecodeLimits& limits) {
  const auto bytes = read_file(path);
  return decode_image_gray(bytes.data(), bytes.size(), path, limits);
}

}  // namespace capflow::io
