// Texts converted many at a time: prediction collects each image's caption with its index and
// turns the SMILES into InChI `chunk` at a time, because every conversion runs in a forked child
// (nodes/chem/inchi_isolated.h) and each fork of a process holding LibTorch and its activations
// costs a page-table copy and then a copy-on-write fault on every page the next batches write.
// Torch-free; tested alone (tests/test_chunked_conversion.cpp).
#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace capflow::model {

class ChunkedConversion {
 public:
  // convert: the texts' results, as many and in order. deliver(index, result): each result.
  using Convert = std::function<std::vector<std::string>(std::vector<std::string>)>;
  using Deliver = std::function<void(std::size_t, std::string)>;

  ChunkedConversion(std::size_t chunk, Convert convert, Deliver deliver)
      : chunk_(chunk < 1 ? 1 : chunk), convert_(std::move(convert)), deliver_(std::move(deliver)) {}

  // Holds the text; converts everything held once `chunk` texts are waiting.
  void add(std::size_t index, std::string text) {
    indices_.push_back(index);
    texts_.push_back(std::move(text));
    if (texts_.size() >= chunk_) flush();
  }

  // Converts and delivers everything held (nothing when nothing is). Throws std::logic_error
  // when `convert` returns another number of results, and what `convert` throws.
  void flush() {
    if (texts_.empty()) return;
    std::vector<std::string> results = convert_(std::move(texts_));
    texts_.clear();
    if (results.size() != indices_.size())
      throw std::logic_error("ChunkedConversion: " + std::to_string(indices_.size()) +
                             " texts gave " + std::to_string(results.size()) + " results");
    for (std::size_t k = 0; k < indices_.size(); ++k) deliver_(indices_[k], std::move(results[k]));
    indices_.clear();
  }

  std::size_t waiting() const { return texts_.size(); }

 private:
  std::size_t chunk_;
  Convert convert_;
  Deliver deliver_;
  std::vector<std::size_t> indices_;
  std::vector<std::string> texts_;
};

}  // namespace capflow::model
