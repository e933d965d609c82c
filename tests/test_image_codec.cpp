#include <gtest/gtest.h>

#include <algorithm>

#include "graph/errors.h"
#include "nodes/io/image_codec.h"

using namespace capflow::io;

namespace {

GrayImage pattern(int w, int h) {
  GrayImage img(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.at(x, y) = static_cast<std::uint8_t>((x * 7 + y * 13) % 256);
  return img;
}

TEST(ImageCodec, PngRoundTripIsLossless) {
  const auto img = pattern(123, 77);
  const auto bytes = encode_png_gray(img);
  EXPECT_EQ(sniff_format(bytes.data(), bytes.size()), ImageFormat::kPng);
  const auto back = decode_image_gray(bytes.data(), bytes.size(), "mem.png");
  EXPECT_EQ(back.width, 123);
  EXPECT_EQ(back.height, 77);
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST(ImageCodec, RgbPngDecodesToItsSizeAndGrayValues) {
  // Gray pixels (R = G = B) come back unchanged; a pure red pixel becomes darker than white.
  const auto gray = pattern(31, 17);
  std::vector<std::uint8_t> rgb;
  for (const auto v : gray.pixels) rgb.insert(rgb.end(), {v, v, v});
  rgb[0] = 255, rgb[1] = 0, rgb[2] = 0;
  const auto bytes = encode_png_rgb(rgb.data(), 31, 17);
  const auto back = decode_image_gray(bytes.data(), bytes.size(), "mem.png");
  ASSERT_EQ(back.width, 31);
  ASSERT_EQ(back.height, 17);
  EXPECT_LT(back.pixels[0], 200);
  EXPECT_TRUE(std::equal(back.pixels.begin() + 1, back.pixels.end(), gray.pixels.begin() + 1));
}

TEST(ImageCodec, JpegRoundTripIsClose) {
  GrayImage img(64, 48, 255);
  for (int x = 8; x < 56; ++x) img.at(x, 24) = 0;
  const auto bytes = encode_jpeg_gray(img, 95);
  EXPECT_EQ(sniff_format(bytes.data(), bytes.size()), ImageFormat::kJpeg);
  const auto back = decode_image_gray(bytes.data(), bytes.size(), "mem.jpg");
  ASSERT_EQ(back.width, 64);
  ASSERT_EQ(back.height, 48);
  EXPECT_LT(back.at(30, 24), 60);
  EXPECT_GT(back.at(30, 5), 200);
}

TEST(ImageCodec, TruncatedOrCorruptDataThrowsDataErrorNamingTheSource) {
  const auto png = encode_png_gray(pattern(64, 64), 0);
  const auto jpg = encode_jpeg_gray(pattern(64, 64));
  for (const auto* bytes : {&png, &jpg}) {
    std::vector<std::uint8_t> cut(bytes->begin(),
                                  bytes->begin() + static_cast<long>(bytes->size() / 2));
    try {
      decode_image_gray(cut.data(), cut.size(), "images/cut.file");
      FAIL() << "truncated image decoded";
    } catch (const capflow::DataError& e) {
      EXPECT_NE(std::string(e.what()).find("images/cut.file"), std::string::npos) << e.what();
    }
  }
  const std::vector<std::uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_THROW(decode_image_gray(junk.data(), junk.size(), "junk"), capflow::DataError);
}

// CRC-32 of PNG chunks (ISO 3309), bit by bit: the reference a corrupted chunk is re-signed with.
std::uint32_t crc32_of(const std::uint8_t* p, std::size_t n) {
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

// Where the IDAT chunk's length field starts in `png` (its data 8 bytes later).
std::size_t idat_at(const std::vector<std::uint8_t>& png) {
  for (std::size_t at = 8; at + 8 <= png.size();) {
    const std::size_t length = (std::size_t{png[at]} << 24) | (std::size_t{png[at + 1]} << 16) |
                               (std::size_t{png[at + 2]} << 8) | png[at + 3];
    if (std::equal(png.begin() + static_cast<long>(at + 4), png.begin() + static_cast<long>(at + 8),
                   "IDAT"))
      return at;
    at += 12 + length;
  }
  ADD_FAILURE() << "no IDAT chunk";
  return 0;
}

TEST(ImageCodec, ChunkCrcCatchesCorruptionAndAdler32IsCheckedOnRequest) {
  const GrayImage img = pattern(64, 64);
  // Stored (level 0), unfiltered: the IDAT data is the zlib header (2 bytes), a stored block's
  // header (5), then each row's filter byte and pixels, so data byte 18 is pixel (10, 0).
  std::vector<std::uint8_t> png = encode_png_gray(img, 0);
  const std::size_t idat = idat_at(png);
  const std::size_t length = (std::size_t{png[idat]} << 24) | (std::size_t{png[idat + 1]} << 16) |
                             (std::size_t{png[idat + 2]} << 8) | png[idat + 3];
  png[idat + 8 + 18] ^= 0x01;
  // The chunk's CRC-32 no longer matches: refused, with or without the Adler-32.
  EXPECT_THROW(decode_image_gray(png.data(), png.size(), "flipped.png"), capflow::DataError);
  // Re-signed with a matching CRC-32, only the zlib stream's Adler-32 can tell.
  const std::uint32_t crc = crc32_of(&png[idat + 4], length + 4);
  for (int k = 0; k < 4; ++k)
    png[idat + 8 + length + static_cast<std::size_t>(k)] =
        static_cast<std::uint8_t>(crc >> (24 - 8 * k));
  const GrayImage back = decode_image_gray(png.data(), png.size(), "resigned.png");
  EXPECT_EQ(back.at(10, 0), img.at(10, 0) ^ 0x01);
  DecodeLimits checked;
  checked.check_adler32 = true;
  try {
    decode_image_gray(png.data(), png.size(), "resigned.png", checked);
    FAIL() << "a wrong Adler-32 passed";
  } catch (const capflow::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("resigned.png"), std::string::npos) << e.what();
  }
}

TEST(ImageCodec, DimensionLimitStopsDecompressionBombs) {
  const auto png = encode_png_gray(GrayImage(300, 200));
  DecodeLimits small;
  small.max_width = 100;
  EXPECT_THROW(decode_png_gray(png.data(), png.size(), "bomb.png", small), capflow::DataError);
  const auto jpg = encode_jpeg_gray(GrayImage(300, 200));
  small.max_width = 1000;
  small.max_pixels = 1000;
  EXPECT_THROW(decode_jpeg_gray(jpg.data(), jpg.size(), "bomb.jpg", small), capflow::DataError);
}

TEST(ImageCodec, MissingFileNamesThePath) {
  try {
    decode_image_file("/nonexistent/dir/x.png");
    FAIL();
  } catch (const capflow::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/x.png"), std::string::npos);
  }
}

// A white page with a thick black cross, for the scaled decodes.
GrayImage cross(int w, int h) {
  GrayImage img(w, h, 255);
  for (int y = 0; y < h; ++y)
    for (int x = w / 2 - w / 40; x < w / 2 + w / 40; ++x) img.at(x, y) = 0;
  for (int y = h / 2 - h / 40; y < h / 2 + h / 40; ++y)
    for (int x = 0; x < w; ++x) img.at(x, y) = 0;
  return img;
}

// True when an aspect-preserving fit of w x h into tw x th, either way round, never enlarges.
bool holds_enough(int w, int h, int tw, int th) {
  const double need =
      std::max(std::min(double(tw) / w, double(th) / h), std::min(double(tw) / h, double(th) / w));
  return need <= 1.0;
}

TEST(DecodeFit, LargeJpegUsesTheSmallestDctScaleThatStillFills) {
  const auto jpg = encode_jpeg_gray(cross(1600, 1200), 90);
  const auto img = decode_image_gray_fit(jpg.data(), jpg.size(), "big.jpg", {}, 224, 224);
  EXPECT_EQ(img.width, 400);  // 1/4: 1/8 (200 x 150) would have to be enlarged
  EXPECT_EQ(img.height, 300);
  EXPECT_TRUE(holds_enough(img.width, img.height, 224, 224));
  EXPECT_FALSE(holds_enough(200, 150, 224, 224));
  EXPECT_LT(img.at(200, 10), 80);    // the cross survives the scaled IDCT
  EXPECT_GT(img.at(100, 100), 200);  // and so does the white
  const auto flat = decode_image_gray_fit(jpg.data(), jpg.size(), "big.jpg", {}, 224, 112);
  EXPECT_EQ(flat.width, 200);  // need max(min(.14, .093), min(.187, .07)) = .093: 1/8 will do
  EXPECT_EQ(flat.height, 150);
  EXPECT_TRUE(holds_enough(flat.width, flat.height, 224, 112));
  const auto mid = encode_jpeg_gray(cross(500, 300), 90);
  const auto half = decode_image_gray_fit(mid.data(), mid.size(), "mid.jpg", {}, 224, 224);
  EXPECT_EQ(half.width, 250);
  EXPECT_EQ(half.height, 150);
  EXPECT_TRUE(holds_enough(half.width, half.height, 224, 224));
  // need .747: only 7/8 would do, and it decodes slower than full size, so no scaling.
  const auto near = encode_jpeg_gray(cross(300, 280), 90);
  const auto n = decode_image_gray_fit(near.data(), near.size(), "near.jpg", {}, 224, 224);
  EXPECT_EQ(n.width, 300);
  EXPECT_EQ(n.height, 280);
}

TEST(DecodeFit, SmallJpegPngAndNoTargetAreNotScaled) {
  const auto small = encode_jpeg_gray(cross(200, 150));
  const auto s = decode_image_gray_fit(small.data(), small.size(), "small.jpg", {}, 224, 224);
  EXPECT_EQ(s.width, 200);
  EXPECT_EQ(s.height, 150);
  EXPECT_EQ(s.pixels, decode_jpeg_gray(small.data(), small.size(), "small.jpg").pixels);
  const auto big = encode_jpeg_gray(cross(1600, 1200));
  const auto full = decode_image_gray_fit(big.data(), big.size(), "big.jpg", {}, 0, 224);
  EXPECT_EQ(full.width, 1600);
  const auto png = encode_png_gray(cross(1600, 1200), 1);
  const auto p = decode_image_gray_fit(png.data(), png.size(), "big.png", {}, 224, 224);
  EXPECT_EQ(p.width, 1600);
  EXPECT_EQ(p.height, 1200);
}

TEST(DecodeFit, LimitsApplyToTheDeclaredSizeAndErrorsNameTheSource) {
  const auto jpg = encode_jpeg_gray(cross(1600, 1200));
  DecodeLimits limits;
  limits.max_pixels = 1000000;  // the 1/4-scale result would fit, the declared size does not
  EXPECT_THROW(decode_image_gray_fit(jpg.data(), jpg.size(), "bomb.jpg", limits, 224, 224),
               capflow::DataError);
  limits = DecodeLimits{};
  limits.max_width = 1000;
  const auto png = encode_png_gray(GrayImage(1600, 10));
  EXPECT_THROW(decode_image_gray_fit(png.data(), png.size(), "bomb.png", limits, 224, 224),
               capflow::DataError);
  std::vector<std::uint8_t> cut(jpg.begin(), jpg.begin() + static_cast<long>(jpg.size() / 3));
  try {
    decode_image_gray_fit(cut.data(), cut.size(), "cut.jpg", {}, 224, 224);
    FAIL() << "truncated JPEG decoded";
  } catch (const capflow::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.jpg"), std::string::npos) << e.what();
  }
}

}  // namespace
