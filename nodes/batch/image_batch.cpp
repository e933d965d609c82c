// Batch collation and fingerprints (see image_batch.h).
#include "nodes/batch/image_batch.h"

#include <algorithm>

#include "graph/errors.h"
#include "graph/fnv1a.h"
#include "graph/seeded_random.h"

namespace capflow::batch {
namespace {

std::string id_of(const BatchSample& s, std::size_t n) {
  return s.id ? "'" + *s.id + "'" : "#" + std::to_string(n);
}

// 64-bit FNV-1a over 64-bit little-endian words: each step (h ^ word) * prime is a bijection of
// h, so changing any single word changes the result. Finished with splitmix64. A byte string is
// its length, its 8-byte words and a last word of the 0..7 bytes left (zero when none), and
// may be fed in pieces: begin_bytes(n), feed() of pieces of n bytes in all, end_bytes().
class WordHash {
 public:
  void word(std::uint64_t w) { h_ = fnv1a_step(h_, w); }
  void bytes(const std::uint8_t* p, std::size_t n) {
    begin_bytes(n);
    feed(p, n);
    end_bytes();
  }
  void begin_bytes(std::size_t n) {
    word(n);
    pending_ = 0;
    held_ = 0;
  }
  void feed(const std::uint8_t* p, std::size_t n) {
    std::size_t i = 0;
    for (; held_ > 0 && i < n; ++i) take(p[i]);
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w = 0;
      for (int k = 7; k >= 0; --k) w = (w << 8) | p[i + static_cast<std::size_t>(k)];
      word(w);
    }
    for (; i < n; ++i) take(p[i]);
  }
  void end_bytes() { word(pending_); }
  std::uint64_t value() const { return splitmix64(h_); }

 private:
  void take(std::uint8_t b) {
    pending_ |= std::uint64_t{b} << (8 * held_);
    if (++held_ == 8) {
      word(pending_);
      pending_ = 0;
      held_ = 0;
    }
  }

  std::uint64_t h_ = kFnv1aOffset;
  std::uint64_t pending_ = 0;  // the held_ bytes of a word begun, little-endian
  int held_ = 0;
};

// Every sample's atoms, concatenated with offsets; nothing when no sample carries atoms.
void collate_atoms(const std::vector<BatchSample>& samples, ImageBatch& b) {
  bool any = false;
  for (const BatchSample& s : samples) any = any || s.atoms != nullptr;
  if (!any) return;
  b.atom_offsets.reserve(samples.size() + 1);
  b.atom_offsets.push_back(0);
  for (const BatchSample& s : samples) {
    if (s.atoms) b.atoms.insert(b.atoms.end(), s.atoms->begin(), s.atoms->end());
    b.atom_offsets.push_back(static_cast<std::int32_t>(b.atoms.size()));
  }
}

}  // namespace

ImageBatch collate(const std::vector<BatchSample>& samples, int fixed_length, std::int64_t pad_id) {
  if (fixed_length < 0) {
    throw ConfigError("batch: fixed token length " + std::to_string(fixed_length) + " is negative");
  }
  ImageBatch b;
  b.size = static_cast<int>(samples.size());
  if (samples.empty()) return b;
  for (std::size_t n = 0; n < samples.size(); ++n) {
    const io::GrayImage* img = samples[n].image.get();
    if (!img) throw DataError("batch: sample " + id_of(samples[n], n) + " has no image");
    if (n == 0) {
      b.width = img->width;
      b.height = img->height;
    } else if (img->width != b.width || img->height != b.height) {
      throw DataError("batch: image of sample " + id_of(samples[n], n) + " is " +
                      std::to_string(img->width) + "x" + std::to_string(img->height) +
                      ", the batch's images are " + std::to_string(b.width) + "x" +
                      std::to_string(b.height));
    }
    if (img->pixels.size() != static_cast<std::size_t>(img->width) * img->height) {
      throw DataError("batch: image of sample " + id_of(samples[n], n) +
                      " has the wrong pixel count");
    }
  }
  b.images.reserve(samples.size());
  std::size_t longest = 0;
  for (const BatchSample& s : samples) {
    b.images.push_back(s.image);
    if (s.tokens) longest = std::max(longest, s.tokens->size());
  }
  b.max_length = fixed_length > 0 ? fixed_length : static_cast<int>(longest);
  const auto cols = static_cast<std::size_t>(b.max_length);
  b.tokens.assign(cols * samples.size(), pad_id);
  b.lengths.resize(samples.size());
  b.ids.reserve(samples.size());
  b.labels.reserve(samples.size());
  for (std::size_t n = 0; n < samples.size(); ++n) {
    const BatchSample& s = samples[n];
    std::int64_t* row = &b.tokens[n * cols];
    std::size_t len = 0;
    if (s.tokens && !s.tokens->empty() && cols > 0) {
      const std::vector<int>& t = *s.tokens;
      len = std::min(t.size(), cols);
      for (std::size_t k = 0; k < len; ++k) row[k] = t[k];
      if (t.size() > cols) row[cols - 1] = t.back();  // truncated: keep <eos> last
    }
    b.lengths[n] = static_cast<std::int32_t>(len);
    b.ids.push_back(s.id ? *s.id : std::string());
    b.labels.push_back(s.label ? *s.label : std::string());
  }
  collate_atoms(samples, b);
  return b;
}

namespace {

// Rows [begin, end) of `b` as a batch of their own.
ImageBatch rows_of(const ImageBatch& b, int begin, int end) {
  ImageBatch p;
  p.size = end - begin;
  p.height = b.height;
  p.width = b.width;
  p.images.assign(b.images.begin() + begin, b.images.begin() + end);
  p.lengths.assign(b.lengths.begin() + begin, b.lengths.begin() + end);
  p.max_length = 0;
  for (const std::int32_t length : p.lengths) p.max_length = std::max(p.max_length, length);
  const auto cols = static_cast<std::size_t>(b.max_length);
  const auto kept = static_cast<std::size_t>(p.max_length);
  p.tokens.reserve(kept * static_cast<std::size_t>(p.size));
  for (int r = begin; r < end; ++r) {
    const auto row = b.tokens.begin() + static_cast<std::ptrdiff_t>(cols * r);
    p.tokens.insert(p.tokens.end(), row, row + static_cast<std::ptrdiff_t>(kept));
  }
  p.ids.assign(b.ids.begin() + begin, b.ids.begin() + end);
  p.labels.assign(b.labels.begin() + begin, b.labels.begin() + end);
  if (!b.atom_offsets.empty()) {
    const std::int32_t first = b.atom_offsets[static_cast<std::size_t>(begin)];
    for (int r = begin; r <= end; ++r)
      p.atom_offsets.push_back(b.atom_offsets[static_cast<std::size_t>(r)] - first);
    p.atoms.assign(b.atoms.begin() + first, b.atoms.begin() + b.atom_offsets[end]);
  }
  return p;
}

}  // namespace

void ImageBatch::copy_pixels_to(std::uint8_t* dst) const {
  for (const ImageRef& image : images) {
    std::copy(image->pixels.begin(), image->pixels.end(), dst);
    dst += image->pixels.size();
  }
}

std::vector<std::uint8_t> ImageBatch::contiguous_pixels() const {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) *
                                images.size());
  copy_pixels_to(out.data());
  return out;
}

std::vector<ImageBatch> split_rows(const ImageBatch& b, int parts) {
  if (parts < 1) throw ConfigError("batch: cannot split into " + std::to_string(parts) + " parts");
  const int n = std::min(parts, b.size);
  std::vector<ImageBatch> out;
  out.reserve(static_cast<std::size_t>(std::max(n, 0)));
  int begin = 0;
  for (int k = 0; k < n; ++k) {
    const int end = begin + b.size / n + (k < b.size % n ? 1 : 0);
    out.push_back(rows_of(b, begin, end));
    begin = end;
  }
  return out;
}

std::uint64_t fingerprint(const ImageBatch& b) {
  WordHash h;
  h.word(static_cast<std::uint64_t>(static_cast<std::uint32_t>(b.size)));
  h.word(static_cast<std::uint64_t>(static_cast<std::uint32_t>(b.height)));
  h.word(static_cast<std::uint64_t>(static_cast<std::uint32_t>(b.width)));
  h.word(1);  // channels: gray
  h.word(static_cast<std::uint64_t>(static_cast<std::uint32_t>(b.max_length)));
  const std::size_t plane = static_cast<std::size_t>(b.width) * static_cast<std::size_t>(b.height);
  h.begin_bytes(plane * b.images.size());
  for (const ImageRef& image : b.images) h.feed(image->pixels.data(), image->pixels.size());
  h.end_bytes();
  h.word(b.tokens.size());
  for (std::int64_t t : b.tokens) h.word(static_cast<std::uint64_t>(t));
  h.word(b.lengths.size());
  for (std::int32_t l : b.lengths) {
    h.word(static_cast<std::uint64_t>(static_cast<std::uint32_t>(l)));
  }
  h.word(b.ids.size());
  for (const std::string& id : b.ids) {
    h.bytes(reinterpret_cast<const std::uint8_t*>(id.data()), id.size());
  }
  return h.value();
}

}  // namespace capflow::batch
