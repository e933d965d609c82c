// Tests of dataset listings (BMS layout, image folders) and the per-epoch, per-rank order.
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "graph/errors.h"
#include "nodes/io/sample_listing.h"
#include "tests/test_support.h"

using namespace capflow::io;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SampleListing, BmsLayoutPathsLabelsAndLines) {
  const std::string root = capflow::testing::make_temp_dir("listing_bms");
  write_file(fs::path(root) / "train_labels.csv",
             "image_id,InChI\n"
             "000011a64c74,\"InChI=1S/CH4/h1H4\"\n"
             "\n"
             "abc,InChI=1S/H2O/h1H2\n");
  const Listing l = list_bms(root, "train_labels.csv", "train", "png");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.rejected, 0u);
  EXPECT_EQ(l.sample(0).id, "000011a64c74");
  EXPECT_EQ(l.sample(0).path, root + "/train/0/0/0/000011a64c74.png");
  EXPECT_EQ(l.sample(0).label, "InChI=1S/CH4/h1H4");
  EXPECT_EQ(l.sample(0).line, 2u);
  EXPECT_EQ(l.sample(1).path, root + "/train/a/b/c/abc.png");
  EXPECT_EQ(l.sample(1).line, 4u);
  // An absolute labels path is taken as is.
  const Listing abs = list_bms(root, root + "/train_labels.csv", "train", "jpg");
  ASSERT_EQ(abs.size(), 2u);
  EXPECT_EQ(abs.sample(1).path, root + "/train/a/b/c/abc.jpg");
  fs::remove_all(root);
}

TEST(SampleListing, BmsRejectsIdsThatEscapeTheRootWithFileAndLine) {
  const std::string root = capflow::testing::make_temp_dir("listing_reject");
  std::string csv = "image_id,InChI\n";
  csv += "../../etc,InChI=1S/A\n";                     // line 2
  csv += "a/b,InChI=1S/B\n";                           // line 3
  csv += "ab,InChI=1S/C\n";                            // line 4
  csv += "goodid1,InChI=1S/D\n";                       // line 5
  csv += "has space,InChI=1S/E\n";                     // line 6
  csv += std::string("nul\0id", 6) + ",InChI=1S/F\n";  // line 7
  csv += "a..b_c-d,InChI=1S/G\n";                      // line 8
  write_file(fs::path(root) / "labels.csv", csv);
  const Listing l = list_bms(root, "labels.csv", "train", "png");
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l.sample(0).id, "goodid1");
  EXPECT_EQ(l.rejected, 6u);
  ASSERT_EQ(l.rejected_examples.size(), 6u);
  const std::string file = root + "/labels.csv";
  EXPECT_TRUE(contains(l.rejected_examples[0], file + ":2:")) << l.rejected_examples[0];
  EXPECT_TRUE(contains(l.rejected_examples[0], "../../etc")) << l.rejected_examples[0];
  EXPECT_TRUE(contains(l.rejected_examples[1], file + ":3:")) << l.rejected_examples[1];
  EXPECT_TRUE(contains(l.rejected_examples[2], file + ":4:")) << l.rejected_examples[2];
  EXPECT_TRUE(contains(l.rejected_examples[2], "shorter than 3")) << l.rejected_examples[2];
  EXPECT_TRUE(contains(l.rejected_examples[4], file + ":7:")) << l.rejected_examples[4];
  EXPECT_TRUE(contains(l.rejected_examples[4], "\\x00")) << l.rejected_examples[4];
  EXPECT_TRUE(contains(l.rejected_examples[5], file + ":8:")) << l.rejected_examples[5];
  for (const SampleRef& s : l.samples()) EXPECT_FALSE(contains(s.path, ".."));
  fs::remove_all(root);
}

TEST(SampleListing, BmsAutoExtensionProbesTheFirstValidRow) {
  const std::string root = capflow::testing::make_temp_dir("listing_auto");
  write_file(fs::path(root) / "train_labels.csv",
             "image_id,InChI\nx,InChI=1S/bad\nabcdef,InChI=1S/A\nbcdefg,InChI=1S/B\n");
  // No image yet: ConfigError naming every path tried.
  try {
    list_bms(root, "train_labels.csv", "train", "auto");
    FAIL() << "no image, no error";
  } catch (const capflow::ConfigError& e) {
    const std::string msg = e.what();
    for (const char* ext : {"png", "jpg", "jpeg"}) {
      EXPECT_TRUE(contains(msg, root + "/train/a/b/c/abcdef." + ext)) << msg;
    }
  }
  write_file(fs::path(root) / "train/a/b/c/abcdef.jpg", "not really a jpeg");
  Listing l = list_bms(root, "train_labels.csv", "train", "auto");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.rejected, 1u);
  EXPECT_EQ(l.sample(0).path, root + "/train/a/b/c/abcdef.jpg");
  EXPECT_EQ(l.sample(1).path, root + "/train/b/c/d/bcdefg.jpg");  // not checked on disk
  write_file(fs::path(root) / "train/a/b/c/abcdef.png", "png wins");
  l = list_bms(root, "train_labels.csv", "train", "auto");
  EXPECT_EQ(l.sample(1).path, root + "/train/b/c/d/bcdefg.png");
  fs::remove_all(root);
}

TEST(SampleListing, BmsAutoExtensionLooksPastRowsWhoseImagesAreMissing) {
  // Kaggle-style: most images of the labels file absent, the first ones among them.
  const std::string root = capflow::testing::make_temp_dir("listing_auto_missing");
  write_file(fs::path(root) / "train_labels.csv",
             "image_id,InChI\nabcdef,InChI=1S/A\nbcdefg,InChI=1S/B\ncdefgh,InChI=1S/C\n");
  write_file(fs::path(root) / "train/c/d/e/cdefgh.jpg", "x");
  const Listing l = list_bms(root, "train_labels.csv", "train", "auto");
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l.extension(), "jpg");
  EXPECT_EQ(l.path(0), root + "/train/a/b/c/abcdef.jpg");
  fs::remove_all(root);
}

// Heap bytes in use (every arena, mmapped blocks included).
std::size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// One labels row the size of a Kaggle row: a 12-hex-digit id, a quoted InChI of ~100 bytes.
std::string kaggle_like_row(std::size_t i) {
  char id[16];
  std::snprintf(id, sizeof id, "%012zx", i * 2654435761u % 0xffffffffffffu);
  return std::string(id) +
         ",\"InChI=1S/C17H17Cl2NO/c1-17(2,3)12-9-7-11(8-10-12)16(21)20-14-6-4-5-13(18)15(14)" +
         std::to_string(i) + "/h4-10H,1-3H3\"\n";
}

TEST(SampleListing, CompactListingTakesTheLabelBytesPlus16BytesPerRow) {
  const std::string root = capflow::testing::make_temp_dir("listing_compact");
  constexpr std::size_t kRows = 50000;
  std::string csv = "image_id,InChI\n";
  for (std::size_t i = 0; i < kRows; ++i) csv += kaggle_like_row(i);
  write_file(fs::path(root) / "train_labels.csv", csv);
  const std::size_t before = heap_in_use();
  Listing l = list_bms(root, "train_labels.csv", "train", "png");
  const std::size_t held = heap_in_use() - before;
  ASSERT_EQ(l.size(), kRows);
  // The id and label bytes of a row, its 16 bytes of offsets, and nothing per row beyond
  // (SampleRef strings took about 400 bytes a row for such rows).
  const double per_row = static_cast<double>(held) / kRows;
  const double file_per_row = static_cast<double>(csv.size()) / kRows;
  EXPECT_LE(per_row, file_per_row + 16 + 1) << held << " heap bytes for " << kRows << " rows";
  EXPECT_LE(static_cast<double>(l.heap_bytes()) / kRows, file_per_row + 16 + 1);
  EXPECT_EQ(l.id(7), kaggle_like_row(7).substr(0, 12));
  EXPECT_EQ(l.label(kRows - 1),
            kaggle_like_row(kRows - 1).substr(14, kaggle_like_row(kRows - 1).size() - 16));
  EXPECT_EQ(l.sample(3).path, root + "/train/" + l.sample(3).id.substr(0, 1) + "/" +
                                  l.sample(3).id.substr(1, 1) + "/" + l.sample(3).id.substr(2, 1) +
                                  "/" + l.sample(3).id + ".png");
  EXPECT_EQ(l.line(3), 5u);
  l.truncate(10);
  EXPECT_EQ(l.size(), 10u);
  EXPECT_LT(l.heap_bytes(), 10 * 200u);
  EXPECT_EQ(l.label(9), kaggle_like_row(9).substr(14, kaggle_like_row(9).size() - 16));
  fs::remove_all(root);
}

TEST(SampleListing, BmsMissingLabelsOrBadExtensionIsAConfigError) {
  const std::string root = capflow::testing::make_temp_dir("listing_missing");
  try {
    list_bms(root, "nope.csv", "train", "png");
    FAIL();
  } catch (const capflow::ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), root + "/nope.csv")) << e.what();
  }
  write_file(fs::path(root) / "l.csv", "image_id,InChI\nabc,InChI=1S/A\n");
  EXPECT_THROW(list_bms(root, "l.csv", "train", "gif"), capflow::ConfigError);
  fs::remove_all(root);
}

TEST(SampleListing, ImageFolderIsRecursiveCaseInsensitiveAndSorted) {
  const std::string root = capflow::testing::make_temp_dir("listing_folder");
  write_file(fs::path(root) / "b.PNG", "x");
  write_file(fs::path(root) / "a/z.jpg", "x");
  write_file(fs::path(root) / "a/y.Jpeg", "x");
  write_file(fs::path(root) / "a/deeper/c.png", "x");
  write_file(fs::path(root) / "notes.txt", "x");
  write_file(fs::path(root) / "a/png", "x");
  fs::create_directories(fs::path(root) / "dir.png");
  const Listing l = list_image_folder(root);
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l.sample(0).path, root + "/a/deeper/c.png");
  EXPECT_EQ(l.sample(0).id, "c");
  EXPECT_EQ(l.sample(1).id, "y");
  EXPECT_EQ(l.sample(2).id, "z");
  EXPECT_EQ(l.sample(3).id, "b");
  for (const SampleRef& s : l.samples()) {
    EXPECT_TRUE(s.label.empty());
    EXPECT_EQ(s.line, 0u);
  }
  EXPECT_THROW(list_image_folder(root + "/missing"), capflow::ConfigError);
  fs::remove_all(root);
}

TEST(EpochOrder, SharesPartitionEverySampleExactlyOnce) {
  for (std::size_t n : {0u, 1u, 7u, 1000u}) {
    for (int world = 1; world <= 5; ++world) {
      for (bool shuffle : {false, true}) {
        std::vector<std::size_t> all;
        std::size_t smallest = n + 1, largest = 0;
        for (int rank = 0; rank < world; ++rank) {
          const auto share = epoch_order(n, 42, 3, shuffle, rank, world);
          smallest = std::min(smallest, share.size());
          largest = std::max(largest, share.size());
          all.insert(all.end(), share.begin(), share.end());
        }
        EXPECT_LE(largest - smallest, 1u) << "n=" << n << " world=" << world;
        std::sort(all.begin(), all.end());
        ASSERT_EQ(all.size(), n) << "n=" << n << " world=" << world;
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(all[i], i) << "n=" << n << " world=" << world;
      }
    }
  }
}

TEST(EpochOrder, DependsOnlyOnItsArguments) {
  const auto a = epoch_order(1000, 7, 0, true, 1, 3);
  EXPECT_EQ(a, epoch_order(1000, 7, 0, true, 1, 3));
  EXPECT_NE(a, epoch_order(1000, 7, 1, true, 1, 3));
  EXPECT_NE(a, epoch_order(1000, 8, 0, true, 1, 3));
  const auto full = epoch_order(1000, 7, 0, true, 0, 1);
  EXPECT_NE(full, epoch_order(1000, 7, 1, true, 0, 1));
  // A rank's share is every world_size-th element of the full order.
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], full[1 + 3 * i]);
  const auto id = epoch_order(10, 7, 5, false, 0, 1);
  for (std::size_t i = 0; i < id.size(); ++i) EXPECT_EQ(id[i], i);
  EXPECT_EQ(epoch_order(10, 7, 5, false, 1, 2), (std::vector<std::size_t>{1, 3, 5, 7, 9}));
}

TEST(EpochOrder, BlocksGoRoundTheRanksLikeAccumulatedBatches) {
  const std::size_t n = 103, block = 4;
  const auto full = epoch_order(n, 9, 2, true, 0, 1, block);
  ASSERT_EQ(full.size(), n);  // one rank: everything, blocks or not
  for (int world : {2, 3, 5}) {
    std::vector<std::size_t> all;
    for (int rank = 0; rank < world; ++rank) {
      const auto share = epoch_order(n, 9, 2, true, rank, world, block);
      // The k-th block of this rank is block k * world + rank of the one-rank order.
      for (std::size_t i = 0; i < share.size(); ++i)
        ASSERT_EQ(share[i], full[((i / block) * world + rank) * block + i % block])
            << world << " " << rank;
      all.insert(all.end(), share.begin(), share.end());
    }
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), n);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(all[i], i);
  }
}

TEST(EpochOrder, EvenSharesGiveEveryRankTheSameWholeBlocks) {
  for (std::size_t n : {0u, 7u, 24u, 103u, 1000u})
    for (int world : {1, 2, 3, 4}) {
      const std::size_t block = 4;
      std::set<std::size_t> seen;
      std::size_t size0 = 0;
      for (int rank = 0; rank < world; ++rank) {
        const auto share = epoch_order(n, 1, 0, true, rank, world, block, /*even=*/true);
        if (rank == 0) size0 = share.size();
        EXPECT_EQ(share.size(), size0) << "n=" << n << " world=" << world;
        if (world > 1) {
          EXPECT_EQ(share.size() % block, 0u);
        }
        seen.insert(share.begin(), share.end());
      }
      const std::size_t expected = world == 1 ? n : n / (block * world) * block * world;
      EXPECT_EQ(seen.size(), expected) << "n=" << n << " world=" << world;
    }
  EXPECT_THROW(epoch_order(10, 1, 0, true, 0, 1, 0), capflow::ConfigError);
}

TEST(EpochOrder, BadRankOrWorldIsAConfigError) {
  EXPECT_THROW(epoch_order(10, 1, 0, true, 0, 0), capflow::ConfigError);
  EXPECT_THROW(epoch_order(10, 1, 0, true, -1, 2), capflow::ConfigError);
  EXPECT_THROW(epoch_order(10, 1, 0, true, 2, 2), capflow::ConfigError);
}

}  // namespace
