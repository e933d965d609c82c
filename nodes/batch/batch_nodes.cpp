// Node adapters of the batch family: batch (collect) and discard (sink).
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/errors.h"
#include "graph/registry.h"
#include "nodes/batch/caption_targets.h"
#include "nodes/io/atom_positions.h"
#include "nodes/io/labels_csv.h"
#include "nodes/payloads.h"
#include "nodes/register_nodes.h"
#include "nodes/replica_count.h"
#include "nodes/text/vocabulary.h"

namespace capflow::nodes {

namespace {

namespace fs = std::filesystem;
using graph::Item;
using graph::NodeContext;

std::string under_root(const std::string& root, const std::string& path) {
  return fs::path(path).is_absolute() ? path : (fs::path(root) / path).string();
}

// What the batch node's samples are captioned with: InChI labels as they are, or SMILES (see
// caption_targets.h) for the labels file of a bms layout.
batch::CaptionTargets resolve_targets(const NodeContext& ctx) {
  if (text::parse_notation(ctx.args().get_string("target")) == text::Notation::kInchi) return {};
  const graph::Args& data = ctx.pipeline->section("data");
  const std::string root = data.get_string("root");
  if (data.get_string("layout") != "bms") return batch::CaptionTargets({}, "", "");
  const std::string labels = under_root(root, data.get_string("labels"));
  return batch::CaptionTargets(io::read_labels_csv(labels), labels,
                               (fs::path(root) / io::kSmilesFile).string());
}

// The vocabulary a batch node tokenizes with: the `vocab` argument, else (InChI) ROOT/vocab.txt
// when it exists, else built from the labels' texts (bms layout) or just the special tokens.
text::Vocabulary resolve_vocabulary(const NodeContext& ctx, const batch::CaptionTargets& targets) {
  const graph::Args& data = ctx.pipeline->section("data");
  const std::string root = data.get_string("root");
  const text::Notation notation = targets.notation();
  if (!ctx.args().is_null("vocab"))
    return text::Vocabulary::load(under_root(root, ctx.args().get_string("vocab")), notation);
  if (notation == text::Notation::kSmiles)
    return text::Vocabulary::from_texts(targets.texts(), notation);
  const fs::path beside = fs::path(root) / "vocab.txt";
  std::error_code ec;
  if (fs::exists(beside, ec)) return text::Vocabulary::load(beside.string());
  if (data.get_string("layout") == "bms") {
    return text::Vocabulary::from_labels_csv(under_root(root, data.get_string("labels")));
  }
  return text::Vocabulary();
}

using AtomTable = std::unordered_map<std::string, std::vector<io::AtomPoint>>;

// ROOT/train_atoms.csv when the batch node's `atoms` is on (empty when off).
AtomTable resolve_atoms(const NodeContext& ctx) {
  if (!ctx.args().get_bool("atoms")) return {};
  const std::string path =
      (fs::path(ctx.pipeline->section("data").get_string("root")) / io::kAtomsFile).string();
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw ConfigError("atoms: true needs " + path +
                      " (atom positions; `capflow data make` writes it beside the labels)");
  return io::read_atoms_file(path);
}

// Collates a group of same-size images into one batch with padded token rows.
class Batch : public graph::CollectNode {
 public:
  explicit Batch(const NodeContext& ctx)
      // One batch of `size` per model replica (resources.replicas), collated as one.
      : size_(static_cast<std::size_t>(ctx.args().get_int("size") * replica_count(ctx))),
        max_length_(static_cast<int>(ctx.args().get_int("max_length"))),
        targets_(resolve_targets(ctx)),
        vocabulary_(resolve_vocabulary(ctx, targets_)),
        with_atoms_(ctx.args().get_bool("atoms")),
        atoms_(resolve_atoms(ctx)) {
    // The model nodes size their output layer from it.
    ctx.shared->get_or_create<const text::Vocabulary>(
        "vocabulary", [this] { return std::make_shared<const text::Vocabulary>(vocabulary_); });
    // attention_lstm's atom_loss checks that its batches carry atom positions.
    if (with_atoms_)
      ctx.shared->get_or_create<const bool>("atom_positions",
                                            [] { return std::make_shared<const bool>(true); });
  }

  std::size_t group_size() const override { return size_; }

  std::any collect(std::vector<Item>& items) override {
    std::vector<std::vector<int>> tokens(items.size());
    std::vector<std::vector<io::AtomPoint>> atoms(with_atoms_ ? items.size() : 0);
    std::vector<batch::BatchSample> samples;
    samples.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      const ImagePtr image = graph::payload_as<const ImageSample>(items[i]);
      const io::SampleRef& ref = *image->sample;
      if (!ref.label.empty()) tokens[i] = vocabulary_.encode(targets_.text_of(ref));
      // The picture shared with its sample (aliasing: the batch keeps the sample alive).
      samples.push_back({batch::ImageRef(image, &image->image), &tokens[i], &ref.id, &ref.label});
      if (with_atoms_) {
        atoms[i] =
            io::map_atoms(atoms_of(ref), image->from_file, image->image.width, image->image.height);
        samples.back().atoms = &atoms[i];
      }
    }
    return BatchPtr(std::make_shared<batch::ImageBatch>(
        batch::collate(samples, max_length_, text::Vocabulary::kPad)));
  }

 private:
  const std::vector<io::AtomPoint>& atoms_of(const io::SampleRef& ref) const {
    const auto it = atoms_.find(ref.id);
    if (it == atoms_.end())
      throw DataError(ref.path + ": sample " + ref.id + " has no row in " + io::kAtomsFile);
    return it->second;
  }

  std::size_t size_;
  int max_length_;
  batch::CaptionTargets targets_;
  text::Vocabulary vocabulary_;
  bool with_atoms_ = false;
  AtomTable atoms_;
};

// The end of a data-only pipeline: counts batches (stopping at train.max_steps) and, when
// asked, writes one line per batch with its fingerprint, so two runs can be compared.
class Discard : public graph::SinkNode {
 public:
  explicit Discard(const NodeContext& ctx) : ctx_(ctx) {
    max_steps_ = static_cast<std::uint64_t>(ctx.pipeline->section("train").get_int("max_steps"));
    if (!ctx.args().is_null("fingerprints")) {
      path_ = ctx.args().get_string("fingerprints");
      out_.open(path_ + ".partial");
      if (!out_) throw ConfigError("cannot write '" + path_ + ".partial'");
      out_ << "epoch\tindex\tsize\tfingerprint\tfirst_id\tlast_id\n";
    }
  }

  void consume(Item& item) override {
    const BatchPtr& b = graph::payload_as<const batch::ImageBatch>(item);
    if (out_.is_open())
      out_ << item.epoch << '\t' << item.index << '\t' << b->size << '\t' << std::hex
           << batch::fingerprint(*b) << std::dec << '\t' << (b->ids.empty() ? "" : b->ids.front())
           << '\t' << (b->ids.empty() ? "" : b->ids.back()) << '\n';
    if (max_steps_ > 0 && ++steps_ >= max_steps_) ctx_.request_stop();
  }

  void finish() override {
    if (!out_.is_open()) return;
    out_.flush();
    if (!out_) throw Error("cannot write '" + path_ + ".partial'");
    out_.close();
    fs::rename(path_ + ".partial", path_);
  }

 private:
  NodeContext ctx_;
  std::uint64_t max_steps_ = 0;
  std::uint64_t steps_ = 0;
  std::string path_;
  std::ofstream out_;
};

}  // namespace

void register_batch_nodes(graph::Registry& registry) {
  using namespace graph;
  add_node<Batch>(
      registry,
      NodeSchema("batch",
                 "collates images into one batch (the pictures shared, not copied) with padded "
                 "tokens and lengths")
          .collect("image", "batch", "size")
          .in_order()
          .stage(NodeStage::kData)
          .args_from({
              arg_int("size", "32", "images per batch (the last of an epoch may hold fewer)", 1,
                      65536),
              arg_int("max_length", "0",
                      "token columns; longer captions are cut (0: the longest in the batch)", 0),
              nullable(
                  arg_string("vocab", "null",
                             "vocabulary file (null: ROOT/vocab.txt for InChI, else built from "
                             "the labels)")),
              arg_choice("target", "inchi", {"inchi", "smiles"},
                         "what the captioner writes: InChI, or SMILES (from ROOT/train_smiles.csv, "
                         "else converted from the InChI labels) that prediction turns into InChI"),
              arg_bool("atoms", "false",
                       "carry each image's atom positions from ROOT/train_atoms.csv (written by "
                       "capflow data make), moved with the augment, for attention_lstm's "
                       "atom_loss"),
          }));

  add_node<Discard>(
      registry,
      NodeSchema(
          "discard",
          "counts batches and drops them (data-only runs); can write a fingerprint per batch")
          .sink("batch")
          .in_order()
          .stage(NodeStage::kData)
          .args_from({
              nullable(arg_string(
                  "fingerprints", "null",
                  "file to write one line per batch (epoch, index, size, fingerprint, ids)")),
          }));
}

}  // namespace capflow::nodes
