// `capflow data make` end to end: the real binary on 50 molecules.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "nodes/chem/inchi_openbabel.h"
#include "nodes/io/atom_positions.h"
#include "nodes/io/image_codec.h"
#include "nodes/io/labels_csv.h"
#include "nodes/text/inchi_layers.h"
#include "nodes/text/inchi_tokenizer.h"
#include "nodes/text/vocabulary.h"
#include "tests/test_support.h"
#include "tools/data/image_id.h"
#include "tools/data/molecule_sources.h"

namespace fs = std::filesystem;
using capflow::testing::read_text;
using capflow::testing::run_command;

namespace {

const std::string kBin = CAPFLOW_BINARY;

class DataMake : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = capflow::testing::make_temp_dir("datamake");
    for (const auto& [dir, threads] : {std::pair{"a", 2}, {"b", 2}, {"c", 1}}) {
      const auto r =
          run_command(kBin + " data make --out " + base_ + "/" + dir +
                      " --count 50 --seed 7 --no-progress --threads " + std::to_string(threads));
      ASSERT_EQ(r.status, 0) << r.output;
      outputs_[dir] = r.output;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(base_); }
  static std::string dir(const std::string& name) { return base_ + "/" + name; }

  // Every file of a dataset, relative path -> bytes.
  static std::map<std::string, std::string> files(const std::string& root) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file() && e.path().filename() != "dataset.json") {
        out[fs::relative(e.path(), root).string()] = read_text(e.path().string());
      }
    }
    return out;
  }

  static inline std::string base_;
  static inline std::map<std::string, std::string> outputs_;
};

TEST_F(DataMake, PrintsTheRate) {
  EXPECT_NE(outputs_["a"].find("wrote 50 images"), std::string::npos) << outputs_["a"];
  EXPECT_NE(outputs_["a"].find("images/s per core"), std::string::npos);
}

TEST_F(DataMake, EveryFileDecodesAndEveryLabelIsAValidStandardInchi) {
  const auto rows = capflow::io::read_labels_csv(dir("a") + "/train_labels.csv");
  ASSERT_EQ(rows.size(), 50u);
  std::set<std::string> ids, inchis;
  for (const auto& row : rows) {
    ids.insert(row.image_id);
    inchis.insert(row.inchi);
    const auto path = dir("a") + "/" + capflow::data::bms_relative_path(row.image_id, "png");
    const auto img = capflow::io::decode_image_file(path);
    EXPECT_GE(std::max(img.width, img.height), 100) << path;
    EXPECT_LE(std::max(img.width, img.height), 600) << path;
    const auto check = capflow::chem::check_inchi(row.inchi);
    EXPECT_TRUE(check.valid) << row.inchi;
    EXPECT_TRUE(check.canonical) << row.inchi << " vs " << check.regenerated;
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(inchis.size(), 50u) << "molecules must be distinct by InChI";
  // Random stereo (--stereo 0.5 by default) shows up as /t layers in some labels.
  EXPECT_GT(std::count_if(inchis.begin(), inchis.end(),
                          [](const std::string& s) { return s.find("/t") != std::string::npos; }),
            0);
  const auto check = run_command(kBin + " data check " + dir("a"));
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_NE(check.output.find("\"ok\": true"), std::string::npos) << check.output;
}

TEST_F(DataMake, TokenizerRoundTripsEveryLabel) {
  const auto vocab = capflow::text::Vocabulary::from_labels_csv(dir("a") + "/train_labels.csv");
  for (const auto& row : capflow::io::read_labels_csv(dir("a") + "/train_labels.csv")) {
    EXPECT_EQ(capflow::text::detokenize_inchi(capflow::text::tokenize_inchi(row.inchi)), row.inchi);
    const auto ids = vocab.encode(row.inchi);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), capflow::text::Vocabulary::kUnk), 0);
    EXPECT_EQ(vocab.decode(ids), row.inchi);
  }
}

TEST_F(DataMake, SameSeedGivesTheSameBytes) {
  const auto a = files(dir("a")), b = files(dir("b"));
  EXPECT_EQ(a.size(), 53u);  // 50 images, the labels, their SMILES and atom positions
  EXPECT_TRUE(a == b);
}

// Every atom the maker records sits on ink: a carbon on its bonds' lines (within 2 px), a
// heteroatom inside its label (within 7 px: the centre of an "O" is its white hole).
TEST_F(DataMake, AtomPositionsSitOnTheirInk) {
  const auto labels = capflow::io::read_labels_csv(dir("a") + "/train_labels.csv");
  const auto atoms = capflow::io::read_atoms_file(dir("a") + "/" + capflow::io::kAtomsFile);
  ASSERT_EQ(atoms.size(), labels.size());
  std::size_t total = 0, on_ink = 0;
  for (const auto& row : labels) {
    const auto img = capflow::io::decode_image_file(
        dir("a") + "/" + capflow::data::bms_relative_path(row.image_id, "png"));
    const auto& points = atoms.at(row.image_id);
    EXPECT_GE(points.size(), 3u) << row.image_id;
    for (const auto& p : points) {
      ++total;
      bool ink = false;
      const int r = p.cls == capflow::io::kCarbon ? 2 : 7;
      for (int dy = -r; dy <= r && !ink; ++dy)
        for (int dx = -r; dx <= r && !ink; ++dx) {
          const int x = static_cast<int>(p.x) + dx, y = static_cast<int>(p.y) + dy;
          ink = x >= 0 && y >= 0 && x < img.width && y < img.height && img.at(x, y) < 128;
        }
      on_ink += ink ? 1 : 0;
    }
  }
  // Salt noise can whiten a few pixels, and a thin bond downscaled can thin out: nearly all.
  EXPECT_GE(static_cast<double>(on_ink), 0.99 * static_cast<double>(total))
      << on_ink << " of " << total;
}

TEST_F(DataMake, OneAndTwoThreadsGiveTheSameBytes) {
  EXPECT_TRUE(files(dir("a")) == files(dir("c")));
}

TEST_F(DataMake, ExcludeKeepsAnotherDatasetsMolecules) {
  const auto r =
      run_command(kBin + " data make --out " + dir("x") +
                  " --count 20 --seed 7 --no-progress --exclude " + dir("a") + "/train_labels.csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("50 excluded"), std::string::npos)
      << r.output;  // same seed: same first candidates
  std::set<std::string> train;
  for (const auto& row : capflow::io::read_labels_csv(dir("a") + "/train_labels.csv"))
    train.insert(row.inchi);
  for (const auto& row : capflow::io::read_labels_csv(dir("x") + "/train_labels.csv")) {
    EXPECT_EQ(train.count(row.inchi), 0u) << row.inchi;
  }
}

// The sets draw random stereo of their own: with --stereo 1 the same molecules come back as
// other stereoisomers, which are the same molecules for a held-out set and must stay out too.
TEST_F(DataMake, ExcludeKeepsOutStereoVariants) {
  const auto r = run_command(kBin + " data make --out " + dir("v") +
                             " --count 20 --seed 7 --stereo 1 --no-progress --exclude " + dir("a") +
                             "/train_labels.csv");
  ASSERT_EQ(r.status, 0) << r.output;
  std::set<std::string> train;
  for (const auto& row : capflow::io::read_labels_csv(dir("a") + "/train_labels.csv"))
    train.insert(capflow::text::inchi_constitution(row.inchi));
  for (const auto& row : capflow::io::read_labels_csv(dir("v") + "/train_labels.csv")) {
    EXPECT_EQ(train.count(capflow::text::inchi_constitution(row.inchi)), 0u) << row.inchi;
  }
  EXPECT_NE(read_text(dir("v") + "/dataset.json").find("\"exclude_match\": \"constitution\""),
            std::string::npos);
}

TEST_F(DataMake, JpegFormat) {
  const auto r = run_command(kBin + " data make --out " + dir("j") +
                             " --count 5 --seed 3 --format jpg --no-progress");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const auto& row : capflow::io::read_labels_csv(dir("j") + "/train_labels.csv")) {
    const auto path = dir("j") + "/" + capflow::data::bms_relative_path(row.image_id, "jpg");
    const auto bytes = capflow::io::read_file(path);
    EXPECT_EQ(capflow::io::sniff_format(bytes.data(), bytes.size()),
              capflow::io::ImageFormat::kJpeg);
    EXPECT_NO_THROW(capflow::io::decode_image_file(path));
  }
}

TEST_F(DataMake, GeneratedMoleculesAreValidAndNew) {
  // A small source list keeps the fragment library quick to build.
  const auto rows = read_text(capflow::data::default_molecule_files().front());
  std::ofstream(dir("src.smi")) << rows.substr(0, rows.find('\n', 40000));
  const auto r = run_command(kBin + " data make --out " + dir("g") +
                             " --count 12 --seed 11 --source generated --molecules " +
                             dir("src.smi") + " --no-progress");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(0 real, 12 generated molecules)"), std::string::npos) << r.output;
  const auto check = run_command(kBin + " data check " + dir("g"));
  EXPECT_EQ(check.status, 0) << check.output;
}

TEST_F(DataMake, InvalidSmilesAreCountedNotFatal) {
  std::ofstream(dir("mixed.smi"))
      << "CCO\nnot_a_smiles\nc1ccccc1O\nC1CC\nCC(=O)Nc1ccccc1\nCCN(CC)CC\n";
  const auto r =
      run_command(kBin + " data make --out " + dir("m") + " --count 4 --source real --molecules " +
                  dir("mixed.smi") + " --no-progress");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("2 unparsable"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(dir("mixed.smi") + ":2"), std::string::npos) << r.output;
}

// --drawings 3: each of the three molecules comes back in three pictures of its own.
TEST_F(DataMake, DrawingsGiveEachMoleculeSeveralPictures) {
  std::ofstream(dir("three.smi")) << "CC(=O)Nc1ccccc1\nc1ccc2ccccc2c1\nOC(=O)c1ccccc1O\n";
  const auto r = run_command(kBin + " data make --out " + dir("d") +
                             " --count 9 --source real --drawings 3 --stereo 0 --molecules " +
                             dir("three.smi") + " --no-progress");
  ASSERT_EQ(r.status, 0) << r.output;
  std::map<std::string, std::set<std::vector<std::uint8_t>>> pictures;  // InChI -> bytes
  for (const auto& row : capflow::io::read_labels_csv(dir("d") + "/train_labels.csv"))
    pictures[row.inchi].insert(capflow::io::read_file(
        dir("d") + "/" + capflow::data::bms_relative_path(row.image_id, "png")));
  ASSERT_EQ(pictures.size(), 3u);
  for (const auto& [inchi, bytes] : pictures) EXPECT_EQ(bytes.size(), 3u) << inchi;
  EXPECT_NE(read_text(dir("d") + "/dataset.json").find("\"drawings\": 3"), std::string::npos);
  // A fourth picture of any of them is past --drawings: too few molecules.
  const auto more = run_command(kBin + " data make --out " + dir("d4") +
                                " --count 10 --source real --drawings 3 --stereo 0 --molecules " +
                                dir("three.smi") + " --no-progress");
  EXPECT_EQ(more.status, 1) << more.output;
  EXPECT_NE(more.output.find("only 9 of 10"), std::string::npos) << more.output;
}

TEST_F(DataMake, TooFewMoleculesFailsButKeepsTheRowsMade) {
  std::ofstream(dir("few.smi")) << "CCO\nCCCN\n";
  const auto r =
      run_command(kBin + " data make --out " + dir("f") + " --count 5 --source real --molecules " +
                  dir("few.smi") + " --no-progress");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("only 2 of 5"), std::string::npos) << r.output;
  EXPECT_EQ(capflow::io::read_labels_csv(dir("f") + "/train_labels.csv").size(), 2u);
}

TEST_F(DataMake, MissingMoleculeFileExits2NamingIt) {
  const auto r = run_command(kBin + " data make --out " + dir("n") +
                             " --count 5 --molecules /nonexistent/mols.smi");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/mols.smi"), std::string::npos) << r.output;
}

TEST_F(DataMake, BadUsageExits2) {
  EXPECT_EQ(run_command(kBin + " data make --out " + dir("u") + " --count 5 --format gif").status,
            2);
  EXPECT_EQ(run_command(kBin + " data make --out " + dir("u")).status, 2);
  EXPECT_EQ(run_command(kBin + " data make --out " + dir("u") + " --count 0").status, 2);
  EXPECT_EQ(run_command(kBin + " nosuchcommand").status, 2);
  const auto help = run_command(kBin + " data make --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.output.find("--exclude"), std::string::npos);
}

}  // namespace

namespace {

TEST(DataMakeSignals, CtrlCStopsCleanlyKeepingEveryFinishedImage) {
  const std::string out = capflow::testing::make_temp_dir("datamake_sigint");
  const auto r = run_command("( " + kBin + " data make --out " + out +
                             "/s --count 100000 --no-progress & pid=$!; "
                             "sleep 3; kill -INT $pid; wait $pid; echo exit=$? )");
  EXPECT_NE(r.output.find("exit=1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("interrupted after"), std::string::npos) << r.output;
  const auto rows = capflow::io::read_labels_csv(out + "/s/train_labels.csv");
  EXPECT_GT(rows.size(), 0u);
  EXPECT_LT(rows.size(), 100000u);
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(out + "/s/train"))
    files += e.is_regular_file();
  EXPECT_EQ(files, rows.size());
  for (const auto& row : rows) {
    EXPECT_NO_THROW(capflow::io::decode_image_file(
        out + "/s/" + capflow::data::bms_relative_path(row.image_id, "png")));
  }
  fs::remove_all(out);
}

}  // namespace
