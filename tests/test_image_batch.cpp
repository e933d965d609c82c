// Tests of batch collation (shared pictures, padded tokens, lengths) and batch fingerprints.
#include <gtest/gtest.h>

#include "graph/errors.h"
#include "nodes/batch/image_batch.h"

using namespace capflow::batch;
using capflow::io::GrayImage;

namespace {

struct Samples {
  std::vector<std::shared_ptr<GrayImage>> images;
  std::vector<std::vector<int>> tokens;
  std::vector<std::string> ids, labels;

  std::vector<BatchSample> refs() const {
    std::vector<BatchSample> out;
    for (std::size_t i = 0; i < images.size(); ++i) {
      out.push_back({images[i], &tokens[i], &ids[i], &labels[i]});
    }
    return out;
  }
};

Samples three(int w = 5, int h = 4) {
  Samples s;
  for (int n = 0; n < 3; ++n) {
    auto img = std::make_shared<GrayImage>(w, h);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) img->at(x, y) = static_cast<std::uint8_t>(n * 50 + y * w + x);
    s.images.push_back(img);
    s.ids.push_back("id" + std::to_string(n));
    s.labels.push_back("InChI=" + std::to_string(n));
  }
  s.tokens = {{1, 7, 8, 2}, {1, 9, 2}, {1, 5, 6, 7, 8, 9, 2}};
  return s;
}

TEST(ImageBatch, PicturesAreSharedInRowOrderAndGatherNhwc) {
  const Samples s = three();
  const ImageBatch b = collate(s.refs(), 0, 0);
  EXPECT_EQ(b.size, 3);
  EXPECT_EQ(b.height, 4);
  EXPECT_EQ(b.width, 5);
  ASSERT_EQ(b.images.size(), 3u);
  for (int n = 0; n < 3; ++n) {  // the samples' own pictures: nothing copied
    EXPECT_EQ(b.images[static_cast<std::size_t>(n)], s.images[static_cast<std::size_t>(n)]);
    EXPECT_EQ(b.pixels_of(n), s.images[static_cast<std::size_t>(n)]->pixels.data());
  }
  const std::vector<std::uint8_t> nhwc = b.contiguous_pixels();
  ASSERT_EQ(nhwc.size(), 3u * 4 * 5);
  for (int n = 0; n < 3; ++n)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x) {
        EXPECT_EQ(nhwc[static_cast<std::size_t>(n * 4 * 5 + y * 5 + x)],
                  s.images[static_cast<std::size_t>(n)]->at(x, y));
      }
  EXPECT_EQ(b.ids, s.ids);
  EXPECT_EQ(b.labels, s.labels);
}

TEST(ImageBatch, AtomsAreConcatenatedWithOffsetsOrAbsent) {
  const Samples s = three();
  EXPECT_TRUE(collate(s.refs(), 0, 0).atom_offsets.empty());
  using capflow::io::AtomPoint;
  const std::vector<AtomPoint> first = {{capflow::io::kCarbon, 1, 2}, {capflow::io::kOxygen, 3, 3}};
  const std::vector<AtomPoint> last = {{capflow::io::kNitrogen, 4, 1}};
  auto refs = s.refs();
  refs[0].atoms = &first;
  refs[2].atoms = &last;  // the middle sample carries none: an empty row
  const ImageBatch b = collate(refs, 0, 0);
  EXPECT_EQ(b.atom_offsets, (std::vector<std::int32_t>{0, 2, 2, 3}));
  ASSERT_EQ(b.atoms.size(), 3u);
  EXPECT_EQ(b.atoms[1].cls, capflow::io::kOxygen);
  EXPECT_EQ(b.atoms[2].cls, capflow::io::kNitrogen);
}

TEST(ImageBatch, SplitRowsGivesEachPartItsRowsTrimmed) {
  const Samples s = three();
  using capflow::io::AtomPoint;
  const std::vector<AtomPoint> first = {{capflow::io::kCarbon, 1, 2}, {capflow::io::kOxygen, 3, 3}};
  const std::vector<AtomPoint> last = {{capflow::io::kNitrogen, 4, 1}};
  auto refs = s.refs();
  refs[0].atoms = &first;
  refs[2].atoms = &last;
  const ImageBatch b = collate(refs, 0, 0);
  const std::vector<ImageBatch> parts = split_rows(b, 2);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].size, 2);  // the first part takes the odd row
  EXPECT_EQ(parts[1].size, 1);
  EXPECT_EQ(parts[0].ids, (std::vector<std::string>{"id0", "id1"}));
  EXPECT_EQ(parts[1].labels, (std::vector<std::string>{"InChI=2"}));
  // The picture of row 2 only; tokens cut to the part's own longest row (4, not the batch's 7).
  EXPECT_EQ(parts[1].images, std::vector<ImageRef>{s.images[2]});
  EXPECT_EQ(parts[0].max_length, 4);
  EXPECT_EQ(parts[0].tokens, (std::vector<std::int64_t>{1, 7, 8, 2, 1, 9, 2, 0}));
  EXPECT_EQ(parts[0].lengths, (std::vector<std::int32_t>{4, 3}));
  EXPECT_EQ(parts[1].max_length, 7);
  EXPECT_EQ(parts[0].atom_offsets, (std::vector<std::int32_t>{0, 2, 2}));
  EXPECT_EQ(parts[1].atom_offsets, (std::vector<std::int32_t>{0, 1}));
  ASSERT_EQ(parts[1].atoms.size(), 1u);
  EXPECT_EQ(parts[1].atoms[0].cls, capflow::io::kNitrogen);
  EXPECT_EQ(split_rows(b, 1)[0].tokens, b.tokens);
  EXPECT_EQ(split_rows(b, 5).size(), 3u);  // no empty parts
  EXPECT_TRUE(split_rows(ImageBatch{}, 2).empty());
  EXPECT_THROW(split_rows(b, 0), capflow::ConfigError);
}

TEST(ImageBatch, TokensPadToTheLongestRow) {
  const Samples s = three();
  const ImageBatch b = collate(s.refs(), 0, -1);
  EXPECT_EQ(b.max_length, 7);
  EXPECT_EQ(b.lengths, (std::vector<std::int32_t>{4, 3, 7}));
  const std::vector<std::int64_t> expected = {1, 7, 8, 2,  -1, -1, -1,  //
                                              1, 9, 2, -1, -1, -1, -1,  //
                                              1, 5, 6, 7,  8,  9,  2};
  EXPECT_EQ(b.tokens, expected);
}

TEST(ImageBatch, FixedLengthPadsAndTruncationKeepsEos) {
  const Samples s = three();
  const ImageBatch b = collate(s.refs(), 5, 0);
  EXPECT_EQ(b.max_length, 5);
  EXPECT_EQ(b.lengths, (std::vector<std::int32_t>{4, 3, 5}));
  const std::vector<std::int64_t> expected = {1, 7, 8, 2, 0,  //
                                              1, 9, 2, 0, 0,  //
                                              1, 5, 6, 7, 2};
  EXPECT_EQ(b.tokens, expected);
  const ImageBatch wide = collate(s.refs(), 10, 0);
  EXPECT_EQ(wide.tokens.size(), 30u);
  EXPECT_EQ(wide.lengths, (std::vector<std::int32_t>{4, 3, 7}));
  EXPECT_THROW(collate(s.refs(), -1, 0), capflow::ConfigError);
}

TEST(ImageBatch, MissingCaptionsAndEmptyBatches) {
  Samples s = three();
  auto refs = s.refs();
  refs[1].tokens = nullptr;
  refs[1].label = nullptr;
  const ImageBatch b = collate(refs, 0, 0);
  EXPECT_EQ(b.lengths[1], 0);
  EXPECT_EQ(b.labels[1], "");
  const ImageBatch none = collate({}, 0, 0);
  EXPECT_EQ(none.size, 0);
  EXPECT_TRUE(none.images.empty());
}

TEST(ImageBatch, MismatchedImageSizesThrowNamingTheId) {
  Samples s = three();
  s.images[2] = std::make_shared<GrayImage>(4, 5);
  try {
    collate(s.refs(), 0, 0);
    FAIL();
  } catch (const capflow::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("id2"), std::string::npos) << e.what();
  }
}

TEST(ImageBatch, FingerprintIsStableAndSeesEveryChange) {
  Samples s = three(224, 224);
  const ImageBatch b = collate(s.refs(), 0, 0);
  const std::uint64_t f = fingerprint(b);
  EXPECT_EQ(f, fingerprint(collate(s.refs(), 0, 0)));
  // One pixel changed, in the middle of a picture or at the batch's very end.
  const auto with_pixel_flipped = [&b](std::size_t row, std::size_t at, std::uint8_t bit) {
    ImageBatch c = b;
    auto copy = std::make_shared<GrayImage>(*c.images[row]);
    copy->pixels[at] ^= bit;
    c.images[row] = copy;
    return c;
  };
  EXPECT_NE(fingerprint(with_pixel_flipped(0, 12345, 1)), f);
  EXPECT_NE(fingerprint(with_pixel_flipped(2, 224 * 224 - 1, 0x80)), f);
  // Two pictures swapped.
  ImageBatch c = b;
  std::swap(c.images[0], c.images[1]);
  EXPECT_NE(fingerprint(c), f);
  c = b;
  c.tokens[3] = 99;
  EXPECT_NE(fingerprint(c), f);
  c = b;
  c.lengths[0] = 3;
  EXPECT_NE(fingerprint(c), f);
  c = b;
  c.ids[1] = "id9";
  EXPECT_NE(fingerprint(c), f);
  c = b;
  c.ids[0] = "id";
  c.ids[1] = "0id1";
  EXPECT_NE(fingerprint(c), f);
  EXPECT_NE(fingerprint(collate(s.refs(), 8, 0)), f);
}

// The pictures are hashed as one byte string, as when a batch held them contiguously: 15-byte
// pictures (words that straddle two pictures) keep the value that the contiguous batch had.
TEST(ImageBatch, FingerprintHashesThePicturesAsOneByteString) {
  std::vector<BatchSample> refs;
  std::vector<std::vector<int>> tokens = {{1, 7, 8, 2}, {1, 9, 2}, {1, 5, 6, 7, 8, 9, 2}};
  std::vector<std::string> ids = {"a", "bb", "ccc"}, labels = {"x", "y", "z"};
  for (std::size_t n = 0; n < 3; ++n) {
    auto img = std::make_shared<GrayImage>(5, 3);
    for (std::size_t i = 0; i < img->pixels.size(); ++i)
      img->pixels[i] = static_cast<std::uint8_t>(n * 31 + i * 7);
    refs.push_back({img, &tokens[n], &ids[n], &labels[n]});
  }
  EXPECT_EQ(fingerprint(collate(refs, 0, 0)), 0x423d2063e89a5659u);
}

}  // namespace
