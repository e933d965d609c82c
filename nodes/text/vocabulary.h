// Token vocabulary of captions in one notation (InChI by default, or SMILES). Ids 0..3 are the
// special tokens <pad> <sos> <eos> <unk>; the rest are the tokens seen in the labels, sorted,
// one per line in the saved plain-text file (the notation is not in the file: a checkpoint
// records it beside the tokens).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nodes/text/notation.h"

namespace capflow::text {

class Vocabulary {
 public:
  static constexpr int kPad = 0;
  static constexpr int kSos = 1;
  static constexpr int kEos = 2;
  static constexpr int kUnk = 3;
  static const std::vector<std::string>& special_tokens();

  Vocabulary();  // only the special tokens

  // From InChI labels (each tokenized with tokenize_inchi).
  static Vocabulary from_inchis(const std::vector<std::string>& inchis);
  // From labels in `notation` (tokenize_inchi or tokenize_smiles); std::invalid_argument as
  // the tokenizer throws it.
  static Vocabulary from_texts(const std::vector<std::string>& texts, Notation notation);
  // From a labels CSV (image_id,InChI). Errors name the file and line.
  static Vocabulary from_labels_csv(const std::string& path);
  // Reads a file written by save(). Throws ConfigError naming the file and line.
  static Vocabulary load(const std::string& path, Notation notation = Notation::kInchi);
  // From tokens in id order (a checkpoint's); ConfigError naming `source` unless they start
  // with the special tokens and are distinct.
  static Vocabulary from_tokens(std::vector<std::string> tokens, const std::string& source,
                                Notation notation = Notation::kInchi);
  // Writes one token per line, atomically (temporary file, then rename).
  void save(const std::string& path) const;

  std::size_t size() const { return tokens_.size(); }
  int id(std::string_view token) const;  // kUnk when absent
  const std::string& token(int id) const;
  const std::vector<std::string>& tokens() const { return tokens_; }
  Notation notation() const { return notation_; }

  // <sos> tokens... <eos>, the text tokenized in the vocabulary's notation.
  std::vector<int> encode(std::string_view text) const;
  // Inverse of encode: skips <sos> and <pad>, stops at <eos>, <unk> becomes "?" text.
  std::string decode(const std::vector<int>& ids) const;

 private:
  Vocabulary(std::vector<std::string> tokens, Notation notation);
  std::vector<std::string> tokens_;
  Notation notation_ = Notation::kInchi;
  // Open addressing over the ids, keyed by the FNV-1a hash of the token: a lookup by view makes
  // no string (encode looks up every token of every caption, every epoch). -1 is a free slot.
  std::vector<std::int32_t> slots_;
};

}  // namespace capflow::text
