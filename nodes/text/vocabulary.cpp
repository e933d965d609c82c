#include "nodes/text/vocabulary.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include "graph/errors.h"
#include "graph/fnv1a.h"
#include "nodes/io/labels_csv.h"
#include "nodes/text/inchi_tokenizer.h"
#include "nodes/text/smiles_tokenizer.h"

namespace capflow::text {

namespace {
std::vector<std::string> tokenize(std::string_view text, Notation notation) {
  return notation == Notation::kSmiles ? tokenize_smiles(text) : tokenize_inchi(text);
}
}  // namespace

const std::vector<std::string>& Vocabulary::special_tokens() {
  static const std::vector<std::string> kSpecial = {"<pad>", "<sos>", "<eos>", "<unk>"};
  return kSpecial;
}

Vocabulary::Vocabulary() : Vocabulary(special_tokens(), Notation::kInchi) {}

Vocabulary::Vocabulary(std::vector<std::string> tokens, Notation notation)
    : tokens_(std::move(tokens)), notation_(notation) {
  std::size_t n = 16;
  while (n < 2 * tokens_.size()) n *= 2;  // at most half full
  slots_.assign(n, -1);
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    std::size_t at = fnv1a(tokens_[i]) & (n - 1);
    while (slots_[at] >= 0 && tokens_[static_cast<std::size_t>(slots_[at])] != tokens_[i])
      at = (at + 1) & (n - 1);
    if (slots_[at] < 0) slots_[at] = static_cast<std::int32_t>(i);  // the first of equal tokens
  }
}

Vocabulary Vocabulary::from_inchis(const std::vector<std::string>& inchis) {
  return from_texts(inchis, Notation::kInchi);
}

namespace {
// The special tokens, then the tokens seen (sorted).
std::vector<std::string> with_special_tokens(const std::set<std::string>& seen) {
  std::vector<std::string> tokens = Vocabulary::special_tokens();
  for (const auto& t : seen) {
    if (std::find(tokens.begin(), tokens.end(), t) == tokens.end()) tokens.push_back(t);
  }
  return tokens;
}
}  // namespace

Vocabulary Vocabulary::from_texts(const std::vector<std::string>& texts, Notation notation) {
  std::set<std::string> seen;
  for (const auto& text : texts) {
    for (auto& t : tokenize(text, notation)) seen.insert(std::move(t));
  }
  return Vocabulary(with_special_tokens(seen), notation);
}

// Streams the rows: only the set of tokens is kept, never the labels (a Kaggle-size file
// held as strings took about 600 MB).
Vocabulary Vocabulary::from_labels_csv(const std::string& path) {
  std::set<std::string> seen;
  io::for_each_label(path, [&](io::LabelRow&& row) {
    try {
      for (auto& t : tokenize_inchi(row.inchi)) seen.insert(std::move(t));
    } catch (const std::invalid_argument& e) {
      throw DataError(path + ":" + std::to_string(row.line) + ": " + e.what());
    }
  });
  return Vocabulary(with_special_tokens(seen), Notation::kInchi);
}

Vocabulary Vocabulary::load(const std::string& path, Notation notation) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot open vocabulary file " + path);
  std::vector<std::string> tokens;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw ConfigError(path + ":" + std::to_string(line_no) + ": empty token");
    tokens.push_back(line);
  }
  return from_tokens(std::move(tokens), path, notation);
}

Vocabulary Vocabulary::from_tokens(std::vector<std::string> tokens, const std::string& source,
                                   Notation notation) {
  const auto& special = special_tokens();
  if (tokens.size() < special.size() ||
      !std::equal(special.begin(), special.end(), tokens.begin())) {
    throw ConfigError(source +
                      ": not a capflow vocabulary (must start with <pad> <sos> <eos> <unk>)");
  }
  std::set<std::string> unique(tokens.begin(), tokens.end());
  if (unique.size() != tokens.size()) throw ConfigError(source + ": duplicate tokens");
  return Vocabulary(std::move(tokens), notation);
}

void Vocabulary::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw Error("cannot write " + tmp);
    for (const auto& t : tokens_) out << t << '\n';
    out.flush();
    if (!out) throw Error("write failed: " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error("cannot rename " + tmp + " to " + path);
}

int Vocabulary::id(std::string_view token) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t at = fnv1a(token) & mask;; at = (at + 1) & mask) {
    const std::int32_t i = slots_[at];
    if (i < 0) return kUnk;
    if (tokens_[static_cast<std::size_t>(i)] == token) return i;
  }
}

const std::string& Vocabulary::token(int id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size()) {
    throw std::out_of_range("token id " + std::to_string(id) + " outside vocabulary of " +
                            std::to_string(tokens_.size()));
  }
  return tokens_[static_cast<std::size_t>(id)];
}

namespace {
// <sos>, the tokens' ids, <eos>.
template <typename Tokens>
std::vector<int> framed_ids(const Vocabulary& v, const Tokens& tokens) {
  std::vector<int> ids;
  ids.reserve(tokens.size() + 2);
  ids.push_back(Vocabulary::kSos);
  for (const auto& t : tokens) ids.push_back(v.id(t));
  ids.push_back(Vocabulary::kEos);
  return ids;
}
}  // namespace

std::vector<int> Vocabulary::encode(std::string_view text) const {
  if (notation_ == Notation::kInchi) {  // as views of the text: no string per token
    thread_local std::vector<std::string_view> views;
    views.clear();
    tokenize_inchi_views(text, views);
    return framed_ids(*this, views);
  }
  return framed_ids(*this, tokenize(text, notation_));
}

std::string Vocabulary::decode(const std::vector<int>& ids) const {
  std::vector<std::string> tokens;
  for (int i : ids) {
    if (i == kEos) break;
    if (i == kSos || i == kPad) continue;
    tokens.push_back(i == kUnk ? "?" : token(i));
  }
  return notation_ == Notation::kSmiles ? detokenize_smiles(tokens) : detokenize_inchi(tokens);
}

}  // namespace capflow::text
