#include "tools/data/dataset_maker.h"

#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2D.h>
#include <GraphMol/MolDraw2D/MolDraw2DUtils.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <RDGeneral/RDLog.h>
#include <tbb/collaborative_call_once.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_pipeline.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "graph/errors.h"
#include "graph/fnv1a.h"
#include "graph/seeded_random.h"
#include "graph/stop_signals.h"
#include "nodes/chem/inchi_openbabel.h"
#include "nodes/io/image_codec.h"
#include "nodes/io/labels_csv.h"
#include "nodes/text/inchi_layers.h"
#include "tools/data/depiction.h"
#include "tools/data/fragment_library.h"
#include "tools/data/image_id.h"
#include "tools/data/molecule_sources.h"
#include "tools/data/random_stereo.h"

namespace fs = std::filesystem;

namespace capflow::data {
namespace {

constexpr std::uint64_t kDrawTag = 0x6472617700000000ULL;     // "draw"
constexpr std::uint64_t kShuffleTag = 0x7368756666000000ULL;  // "shuff"
constexpr std::uint64_t kStereoTag = 0x73746572656f0000ULL;   // "stereo"
constexpr int kRealMinHeavy = 3, kRealMaxHeavy = 100;
constexpr std::size_t kMaxExamples = 5;

// 128-bit key of an InChI: two independent 64-bit hashes.
struct Key {
  std::uint64_t a, b;
  bool operator==(const Key& o) const { return a == o.a && b == o.b; }
};
struct KeyHash {
  std::size_t operator()(const Key& k) const {
    return static_cast<std::size_t>(k.a ^ (k.b * 0x9e3779b97f4a7c15ULL));
  }
};
Key inchi_key(const std::string& s) {
  return {fnv1a(s), static_cast<std::uint64_t>(std::hash<std::string>{}(s))};
}

enum class Skip { kNone, kUnparsable, kOutOfRange, kGenerationFailed, kNoInchi, kDrawFailed };

struct Candidate {
  std::uint64_t number = 0;              // position in the candidate stream
  const MoleculeRecord* real = nullptr;  // a real molecule, or
  std::uint64_t generated_index = 0;     // the index of a generated one
  Skip skip = Skip::kNone;
  std::string note;  // why it was skipped
  std::string inchi;
  std::string smiles;               // Open Babel's canonical SMILES (empty: none)
  std::string atoms;                // atom positions in the picture (io::format_atoms)
  std::vector<std::uint8_t> bytes;  // the encoded picture
  bool accepted = false;
  std::string image_id, path;
};
using CandidatePtr = std::shared_ptr<Candidate>;

// A CSV written as PATH.partial, renamed to PATH when complete: a made dataset never has a
// half-written labels file.
class PartialCsv {
 public:
  PartialCsv(std::string path, const char* header)
      : path_(std::move(path)), partial_(path_ + ".partial"), out_(partial_, std::ios::trunc) {
    if (!out_) throw Error("cannot write " + partial_);
    out_ << header << '\n';
  }
  void row(const std::string& id, const std::string& text) {
    out_ << io::format_label_line(id, text);
  }
  void commit() {
    out_.flush();
    if (!out_) throw Error("write failed: " + partial_);
    out_.close();
    if (std::rename(partial_.c_str(), path_.c_str()) != 0)
      throw Error("cannot rename " + partial_ + " to " + path_);
  }

 private:
  std::string path_, partial_;
  std::ofstream out_;
};

std::unique_ptr<RDKit::RWMol> parse_record(const MoleculeRecord& r) {
  try {
    if (r.text.empty()) return nullptr;
    if (r.format == MoleculeFormat::kSmiles)
      return std::unique_ptr<RDKit::RWMol>(RDKit::SmilesToMol(r.text));
    return std::unique_ptr<RDKit::RWMol>(RDKit::MolBlockToMol(r.text));
  } catch (...) {
    return nullptr;
  }
}

class Maker {
 public:
  explicit Maker(const DatasetOptions& o) : opt_(o) {}

  DatasetReport run();

 private:
  void load_inputs();
  void check_options();
  void warm_up();
  // The next candidate of the stream (nullptr at its end), in order.
  CandidatePtr next_candidate(tbb::flow_control& fc);
  // The CSV files written beside the images, one row per image each.
  struct RowFiles {
    PartialCsv labels, smiles, atoms;
  };
  // The parallel pipeline: candidates → build → decide → write → rows of the CSV files.
  void make_all(RowFiles& files);
  const FragmentLibrary& library();
  void process(Candidate& c);
  void render(Candidate& c, RDKit::RWMol& mol);
  void decide(Candidate& c);
  void write_image(const Candidate& c);
  void progress_line(bool final);
  void write_provenance();

  const DatasetOptions& opt_;
  DatasetReport report_;
  std::vector<MoleculeRecord> real_;
  std::vector<std::size_t> order_;  // seeded shuffle of real_
  std::unordered_set<Key, KeyHash> excluded_;
  std::unordered_map<Key, int, KeyHash> seen_;  // pictures kept of each InChI
  tbb::collaborative_once_flag library_once_;
  std::optional<FragmentLibrary> library_;
  io::ImageFormat format_ = io::ImageFormat::kPng;
  std::uint64_t assigned_ = 0;
  std::atomic<bool> done_{false};
  std::chrono::steady_clock::time_point start_, last_progress_;
  bool show_progress_ = false;
  std::uint64_t next_ = 0;  // the next candidate number
};

void Maker::load_inputs() {
  const auto files = opt_.molecule_files.empty() ? default_molecule_files() : opt_.molecule_files;
  // Read even when only generated molecules are wanted: they are the fragment source.
  for (const auto& f : files) {
    auto recs = read_molecule_file(f);
    std::move(recs.begin(), recs.end(), std::back_inserter(real_));
  }
  report_.real_molecules = real_.size();
  order_.resize(real_.size());
  for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
  SeededRng rng({opt_.seed, kShuffleTag});
  std::shuffle(order_.begin(), order_.end(), rng);

  // By constitution: a stereo variant of an excluded molecule is the same molecule drawn
  // again (the random stereo of each set differs), not one absent from the other set.
  for (const auto& f : opt_.exclude_files) {
    io::for_each_label(f, [&](io::LabelRow&& row) {
      excluded_.insert(inchi_key(text::inchi_constitution(row.inchi)));
    });
  }
}

const FragmentLibrary& Maker::library() {
  tbb::collaborative_call_once(library_once_, [&] {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> smiles(real_.size());
    tbb::parallel_for(std::size_t{0}, real_.size(), [&](std::size_t i) {
      if (real_[i].format == MoleculeFormat::kSmiles) {
        smiles[i] = real_[i].text;
      } else if (auto m = parse_record(real_[i])) {
        smiles[i] = RDKit::MolToSmiles(*m);
      }
    });
    library_.emplace(FragmentLibrary::from_smiles(smiles));
    report_.fragments = library_->size();
    report_.fragment_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  });
  return *library_;
}

void Maker::process(Candidate& c) {
  std::unique_ptr<RDKit::RWMol> mol;
  if (c.real) {
    mol = parse_record(*c.real);
    if (!mol) {
      c.skip = Skip::kUnparsable;
      c.note = c.real->origin + ": unparsable molecule '" + c.real->text.substr(0, 60) + "'";
      return;
    }
    const int heavy = heavy_atoms(*mol);
    if (heavy < kRealMinHeavy || heavy > kRealMaxHeavy) {
      c.skip = Skip::kOutOfRange;
      c.note = c.real->origin + ": " + std::to_string(heavy) + " heavy atoms, outside [" +
               std::to_string(kRealMinHeavy) + ", " + std::to_string(kRealMaxHeavy) + "]";
      return;
    }
  } else {
    const auto smiles = library().generate(opt_.seed, c.generated_index);
    if (smiles) mol.reset(RDKit::SmilesToMol(*smiles));
    if (!mol) {
      c.skip = Skip::kGenerationFailed;
      c.note =
          "generated molecule " + std::to_string(c.generated_index) + ": no valid recombination";
      return;
    }
  }
  SeededRng stereo_rng({opt_.seed, c.number, kStereoTag});
  assign_random_stereo(*mol, opt_.stereo_probability, stereo_rng);
  render(c, *mol);
}

void Maker::render(Candidate& c, RDKit::RWMol& mol) {
  const std::string what =
      c.real ? c.real->origin : "generated molecule " + std::to_string(c.generated_index);
  std::string molblock;
  try {
    RDKit::MolDraw2DUtils::prepareMolForDrawing(mol, /*kekulize=*/true, /*addChiralHs=*/true,
                                                /*wedgeBonds=*/true, /*forceCoords=*/true);
    molblock = RDKit::MolToMolBlock(mol);
  } catch (const std::exception& e) {
    c.skip = Skip::kDrawFailed;
    c.note = what + ": 2D layout failed: " + e.what();
    return;
  }
  // The label comes from the very structure drawn: its molblock, through Open Babel.
  auto inchi = chem::inchi_from_molblock(molblock);
  if (!inchi) {
    c.skip = Skip::kNoInchi;
    c.note = what + ": Open Babel gave no standard InChI";
    return;
  }
  c.inchi = std::move(*inchi);
  c.smiles = chem::smiles_from_molblock(molblock).value_or("");
  try {
    SeededRng rng({opt_.seed, c.number, kDrawTag});
    const DepictionStyle style = random_depiction_style(rng);
    const PostprocessStyle post = random_postprocess_style(rng);
    std::vector<io::AtomPoint> atoms;
    io::PixelMap map;
    const io::GrayImage img = postprocess(draw_molecule(mol, style, &atoms), post, rng, &map);
    c.atoms = io::format_atoms(io::map_atoms(atoms, map, img.width, img.height));
    c.bytes = format_ == io::ImageFormat::kPng ? io::encode_png_gray(img, opt_.png_compression)
                                               : io::encode_jpeg_gray(img, opt_.jpeg_quality);
  } catch (const std::exception& e) {
    c.skip = Skip::kDrawFailed;
    c.note = what + ": drawing failed: " + e.what();
  }
}

void Maker::decide(Candidate& c) {
  ++report_.candidates;
  switch (c.skip) {
    case Skip::kNone:
      break;
    case Skip::kUnparsable:
      ++report_.unparsable;
      break;
    case Skip::kOutOfRange:
      ++report_.out_of_range;
      break;
    case Skip::kGenerationFailed:
      ++report_.generation_failed;
      break;
    case Skip::kNoInchi:
      ++report_.no_inchi;
      break;
    case Skip::kDrawFailed:
      ++report_.draw_failed;
      break;
  }
  if (c.skip != Skip::kNone) {
    if (report_.skip_examples.size() < kMaxExamples) report_.skip_examples.push_back(c.note);
    return;
  }
  if (assigned_ >= opt_.count) return;
  if (!excluded_.empty() && excluded_.count(inchi_key(text::inchi_constitution(c.inchi)))) {
    ++report_.excluded;
    return;
  }
  const Key key = inchi_key(c.inchi);
  int& kept = seen_[key];
  if (kept >= opt_.drawings) {
    ++report_.duplicates;
    return;
  }
  ++kept;
  c.accepted = true;
  c.image_id = image_id(opt_.seed, assigned_);
  c.path = (fs::path(opt_.out_dir) / bms_relative_path(c.image_id, io::format_extension(format_)))
               .string();
  ++assigned_;
  (c.real ? report_.from_real : report_.from_generated) += 1;
  if (assigned_ >= opt_.count) done_ = true;
}

void Maker::write_image(const Candidate& c) {
  std::error_code ec;
  const fs::path dir = fs::path(c.path).parent_path();
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir))
    throw Error("cannot create directory " + dir.string() + ": " + ec.message());
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(c.path.c_str(), "wb"), &std::fclose);
  if (!f || std::fwrite(c.bytes.data(), 1, c.bytes.size(), f.get()) != c.bytes.size()) {
    throw Error("cannot write " + c.path);
  }
  if (std::fclose(f.release()) != 0) throw Error("cannot write " + c.path);
}

void Maker::progress_line(bool final) {
  if (!show_progress_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!final && now - last_progress_ < std::chrono::milliseconds(250)) return;
  last_progress_ = now;
  const double s = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "\rdata make: %llu/%llu images, %.0f images/s   %s",
               static_cast<unsigned long long>(report_.written),
               static_cast<unsigned long long>(opt_.count), s > 0 ? report_.written / s : 0.0,
               final ? "\n" : "");
  std::fflush(stderr);
}

void Maker::check_options() {
  if (opt_.count == 0) throw ConfigError("--count must be at least 1");
  if (opt_.out_dir.empty()) throw ConfigError("--out is required");
  format_ = io::format_from_name(opt_.format);
  if (format_ == io::ImageFormat::kUnknown)
    throw ConfigError("--format must be png or jpg, not '" + opt_.format + "'");
  if (opt_.threads < 0) throw ConfigError("--threads must be 0 (all cores) or more");
  if (opt_.drawings < 1) throw ConfigError("--drawings must be at least 1");
}

// On one thread: RDKit, Cairo/FreeType and Open Babel initialise lazily.
void Maker::warm_up() {
  std::unique_ptr<RDKit::RWMol> warm(RDKit::SmilesToMol("C[C@H](N)C(=O)O"));
  RDKit::MolDraw2DUtils::prepareMolForDrawing(*warm);
  chem::inchi_from_molblock(RDKit::MolToMolBlock(*warm));
  draw_molecule(*warm, DepictionStyle{});
}

CandidatePtr Maker::next_candidate(tbb::flow_control& fc) {
  const auto drawings = static_cast<std::uint64_t>(opt_.drawings);
  const std::uint64_t real_count = opt_.source == MoleculeSource::kGenerated ? 0 : real_.size();
  const std::uint64_t real_candidates = real_count * drawings;  // one pass per drawing
  const bool may_generate = opt_.source != MoleculeSource::kReal;
  const std::uint64_t max_candidates = opt_.count * 20 + 10000 + real_candidates;
  const bool stop_requested = StopSignals::requests().load() > 0;
  if (stop_requested) report_.interrupted = true;
  if (done_ || stop_requested || next_ >= max_candidates ||
      (!may_generate && next_ >= real_candidates)) {
    fc.stop();
    return nullptr;
  }
  auto c = std::make_shared<Candidate>();
  c->number = next_;
  if (next_ < real_candidates) {
    c->real = &real_[order_[next_ % real_count]];
  } else {
    c->generated_index = (next_ - real_candidates) / drawings;  // drawn `drawings` times in a row
  }
  ++next_;
  return c;
}

void Maker::make_all(RowFiles& files) {
  const auto tokens = static_cast<std::size_t>(std::max(2, report_.threads) * 4);
  tbb::parallel_pipeline(
      tokens, tbb::make_filter<void, CandidatePtr>(
                  tbb::filter_mode::serial_in_order,
                  [&](tbb::flow_control& fc) -> CandidatePtr { return next_candidate(fc); }) &
                  tbb::make_filter<CandidatePtr, CandidatePtr>(
                      tbb::filter_mode::parallel,
                      [&](CandidatePtr c) {
                        if (done_) return c;
                        try {
                          process(*c);
                        } catch (const std::exception& e) {
                          // RDKit may throw where it usually
                          // returns null: skip, never abort.
                          c->skip = Skip::kDrawFailed;
                          c->note = "candidate " + std::to_string(c->number) + ": " + e.what();
                        }
                        return c;
                      }) &
                  tbb::make_filter<CandidatePtr, CandidatePtr>(tbb::filter_mode::serial_in_order,
                                                               [&](CandidatePtr c) {
                                                                 decide(*c);
                                                                 return c;
                                                               }) &
                  tbb::make_filter<CandidatePtr, CandidatePtr>(tbb::filter_mode::parallel,
                                                               [&](CandidatePtr c) {
                                                                 if (c->accepted) write_image(*c);
                                                                 c->bytes.clear();
                                                                 return c;
                                                               }) &
                  tbb::make_filter<CandidatePtr, void>(tbb::filter_mode::serial_in_order,
                                                       [&](CandidatePtr c) {
                                                         if (!c->accepted) return;
                                                         files.labels.row(c->image_id, c->inchi);
                                                         if (!c->smiles.empty())
                                                           files.smiles.row(c->image_id, c->smiles);
                                                         files.atoms.row(c->image_id, c->atoms);
                                                         ++report_.written;
                                                         progress_line(false);
                                                       }));
}

DatasetReport Maker::run() {
  check_options();
  load_inputs();
  if (real_.empty() && opt_.source != MoleculeSource::kGenerated) {
    throw ConfigError("the molecule files hold no molecules");
  }
  std::error_code ec;
  fs::create_directories(opt_.out_dir, ec);
  if (!fs::is_directory(opt_.out_dir))
    throw ConfigError("cannot create output directory " + opt_.out_dir);
  const fs::path out(opt_.out_dir);
  RowFiles files{{(out / "train_labels.csv").string(), io::kLabelsHeader},
                 {(out / io::kSmilesFile).string(), io::kSmilesHeader},
                 {(out / io::kAtomsFile).string(), io::kAtomsHeader}};

  // RDKit's SMILES parser would print every bad record; they are counted and summarised.
  boost::logging::disable_logs("rdApp.*");
  std::optional<tbb::global_control> limit;
  if (opt_.threads > 0) {
    limit.emplace(tbb::global_control::max_allowed_parallelism,
                  static_cast<std::size_t>(opt_.threads));
  }
  report_.threads = static_cast<int>(
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
  warm_up();
  show_progress_ = opt_.progress && isatty(fileno(stderr));
  start_ = last_progress_ = std::chrono::steady_clock::now();
  next_ = 0;
  StopSignals stop_on_signal;  // Ctrl-C / SIGTERM: finish the images in flight, keep the rows
  make_all(files);
  progress_line(true);
  report_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();

  files.atoms.commit();
  files.smiles.commit();
  files.labels.commit();
  write_provenance();
  return report_;
}

// DIR/dataset.json: how the dataset was made, for reuse checks and reports.
void Maker::write_provenance() {
  auto quoted_list = [](const std::vector<std::string>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
    return s + "]";
  };
  static const char* kSources[] = {"both", "real", "generated"};
  const fs::path path = fs::path(opt_.out_dir) / "dataset.json";
  const std::string tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "{\"seed\": " << opt_.seed << ", \"count\": " << opt_.count
        << ", \"written\": " << report_.written << ", \"format\": \"" << opt_.format
        << "\", \"source\": \"" << kSources[static_cast<int>(opt_.source)] << "\", \"molecules\": "
        << quoted_list(opt_.molecule_files.empty() ? default_molecule_files() : opt_.molecule_files)
        << ", \"exclude\": " << quoted_list(opt_.exclude_files)
        << ", \"exclude_match\": \"constitution\", \"drawings\": " << opt_.drawings
        << ", \"from_real\": " << report_.from_real
        << ", \"from_generated\": " << report_.from_generated
        << ", \"seconds\": " << report_.seconds << ", \"threads\": " << report_.threads << "}\n";
    if (!out) throw Error("cannot write " + tmp);
  }
  fs::rename(tmp, path);
}

}  // namespace

DatasetReport make_dataset(const DatasetOptions& options) {
  Maker maker(options);
  return maker.run();
}

}  // namespace capflow::data
