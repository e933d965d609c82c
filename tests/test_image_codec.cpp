#include <gtest/gtest.h>

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
    std::vector<std::uint8_t> cut(bytes->begin(), bytes->begin() + static_cast<long>(bytes->size() / 2));
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

}  // namespace
