// Token vocabulary for InChI captions. Ids 0..3 are the special tokens <pad> <sos> <eos>
// <unk>; the rest are the tokens seen in a labels file, sorted, one per line in the saved
// plain-text file.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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
  // From a labels CSV (image_id,InChI). Errors name the file and line.
  static Vocabulary from_labels_csv(const std::string& path);
  // Reads a file written by save(). Throws ConfigError naming the file and line.
  static Vocabulary load(const std::string& path);
  // From tokens in id order (a checkpoint's); ConfigError naming `source` unless they start
  // with the special tokens and are distinct.
  static Vocabulary from_tokens(std::vector<std::string> tokens, const std::string& source);
  // Writes one token per line, atomically (temporary file, then rename).
  void save(const std::string& path) const;

  std::size_t size() const { return tokens_.size(); }
  int id(std::string_view token) const;  // kUnk when absent
  const std::string& token(int id) const;
  const std::vector<std::string>& tokens() const { return tokens_; }

  // <sos> tokens... <eos>
  std::vector<int> encode(std::string_view inchi) const;
  // Inverse of encode: skips <sos> and <pad>, stops at <eos>, <unk> becomes "?" text.
  std::string decode(const std::vector<int>& ids) const;

 private:
  explicit Vocabulary(std::vector<std::string> tokens);
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int> ids_;
};

}  // namespace capflow::text
