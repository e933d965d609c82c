// The torch-free fuzz entries (see fuzz_entries.h): image decoding, the labels CSV reader (and
// the atom-positions file read through it), the InChI and SMILES tokenizers.
#include "fuzz/fuzz_entries.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string_view>

#include "graph/errors.h"
#include "nodes/io/atom_positions.h"
#include "nodes/io/image_codec.h"
#include "nodes/io/labels_csv.h"
#include "nodes/text/inchi_tokenizer.h"
#include "nodes/text/smiles_tokenizer.h"
#include "nodes/text/vocabulary.h"

namespace capflow::fuzz {

void rendezvous_wire(const std::uint8_t* data, std::size_t size);  // fuzz_wire.cpp

namespace {

// Small enough that a declared size within them never exhausts the fuzzer's memory limit.
constexpr io::DecodeLimits kLimits{4096, 4096, 16u << 20};

void check_image(const io::GrayImage& image) {
  if (image.width <= 0 || image.height <= 0 || image.width > kLimits.max_width ||
      image.height > kLimits.max_height ||
      image.pixels.size() !=
          static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height))
    fail("decoded image of " + std::to_string(image.width) + "x" + std::to_string(image.height) +
         " with " + std::to_string(image.pixels.size()) + " pixels");
}

void png(const std::uint8_t* data, std::size_t size) {
  try {
    check_image(io::decode_png_gray(data, size, "fuzz.png", kLimits));
  } catch (const DataError&) {
  }
}

void jpeg(const std::uint8_t* data, std::size_t size) {
  try {
    check_image(io::decode_jpeg_gray(data, size, "fuzz.jpg", kLimits));
  } catch (const DataError&) {
  }
  try {  // the DCT-scaled path of the decode node (224² targets, as the pipelines use)
    check_image(io::decode_image_gray_fit(data, size, "fuzz.jpg", kLimits, 224, 224));
  } catch (const DataError&) {
  }
}

void labels_csv(const std::uint8_t* data, std::size_t size) {
  MemoryFile file(data, size);
  for (const char* header : {io::kLabelsHeader, io::kSmilesHeader}) {
    try {
      for (const auto& row : io::read_labels_csv(file.path(), header))
        if (row.line < 2) fail("a row on line " + std::to_string(row.line));
    } catch (const ConfigError&) {
    } catch (const DataError&) {
    }
  }
  // The same rows as atom positions (train_atoms.csv): what parses formats and parses back.
  try {
    for (const auto& [id, atoms] : io::read_atoms_file(file.path()))
      if (io::parse_atoms(io::format_atoms(atoms)).size() != atoms.size())
        fail("atoms of " + id + " do not survive format_atoms and parse_atoms");
  } catch (const ConfigError&) {
  } catch (const DataError&) {
  }
}

// The tokens as strings and as views agree, and a vocabulary of the text's own tokens encodes
// it to ids that decode back to it (the lookup by view finds every token).
void inchi_vocabulary(std::string_view text, const std::vector<std::string>& tokens) {
  std::vector<std::string_view> views;
  text::tokenize_inchi_views(text, views);
  if (!std::equal(views.begin(), views.end(), tokens.begin(), tokens.end()))
    fail("tokenize_inchi_views differs from tokenize_inchi");
  const auto v = text::Vocabulary::from_inchis({std::string(text)});
  const auto ids = v.encode(text);
  if (std::find(ids.begin(), ids.end(), text::Vocabulary::kUnk) != ids.end())
    fail("a token of the vocabulary's own text encodes as <unk>");
  if (v.decode(ids) != text) fail("the vocabulary's decode is not the inverse of its encode");
}

void inchi(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto tokens = text::tokenize_inchi(text);
    if (text::detokenize_inchi(tokens) != text) fail("detokenize_inchi is not the inverse");
    inchi_vocabulary(text, tokens);
  } catch (const std::invalid_argument&) {
  }
  text::tokenize_inchi_body(text);
}

void smiles(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    if (text::detokenize_smiles(text::tokenize_smiles(text)) != text)
      fail("detokenize_smiles is not the inverse");
  } catch (const std::invalid_argument&) {
  }
  const std::string repaired = text::repair_smiles(text);
  try {  // the repair's result is parseable text: it tokenizes
    if (!repaired.empty()) text::tokenize_smiles(repaired);
  } catch (const std::invalid_argument& e) {
    fail(std::string("repair_smiles left text that does not tokenize: ") + e.what());
  }
}

const std::map<std::string, Entry>& entries() {
  static const std::map<std::string, Entry> table = {
      {"png", png},     {"jpeg", jpeg},     {"labels_csv", labels_csv},
      {"inchi", inchi}, {"smiles", smiles}, {"rendezvous_wire", rendezvous_wire}};
  return table;
}

}  // namespace

Entry plain_entry(const std::string& target) {
  const auto it = entries().find(target);
  return it == entries().end() ? nullptr : it->second;
}

std::vector<std::string> plain_targets() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries()) names.push_back(name);
  return names;
}

std::vector<std::string> split_pipeline_input(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0)
      parts.emplace_back();
    else
      parts.back().push_back(static_cast<char>(data[i]));
  }
  return parts;
}

void fail(const std::string& what) {
  std::fprintf(stderr, "capflow fuzz: %s\n", what.c_str());
  std::abort();
}

MemoryFile::MemoryFile(const std::uint8_t* data, std::size_t size)
    : fd_(::memfd_create("capflow-fuzz", MFD_CLOEXEC)) {
  if (fd_ < 0) fail("memfd_create failed");
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd_, data + done, size - done);
    if (n <= 0) fail("cannot write the in-memory file");
    done += static_cast<std::size_t>(n);
  }
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemoryFile::~MemoryFile() { ::close(fd_); }

}  // namespace capflow::fuzz
