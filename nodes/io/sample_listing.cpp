// Dataset listings (BMS layout, plain image folders) and the per-epoch, per-rank sample order.
#include "nodes/io/sample_listing.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "graph/errors.h"
#include "graph/seeded_random.h"
#include "nodes/io/labels_csv.h"

namespace capflow::io {
namespace {

namespace fs = std::filesystem;

// Key that separates the epoch-order stream from every other use of (seed, epoch).
constexpr std::uint64_t kEpochOrderTag = 0x65706f63685f6f72ULL;  // "epoch_or"

bool id_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
         c == '-';
}

// The id as printable text for messages: control and non-ASCII bytes as \xNN, at most 40 bytes.
std::string printable(std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > 40) out += "...";
  return out;
}

std::string id_problem(std::string_view id) {
  if (id.empty()) return "empty image id";
  if (id.size() < 3) return "image id '" + printable(id) + "' is shorter than 3 characters";
  if (id.size() > kMaxIdBytes)
    return "image id '" + printable(id) + "' is longer than " + std::to_string(kMaxIdBytes) +
           " characters";
  return "image id '" + printable(id) + "' has characters outside [0-9A-Za-z_-]";
}

std::string join(const std::string& dir, const std::string& name) {
  if (fs::path(name).is_absolute() || dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// root/images_dir/a/b/c/<id>. (extension appended by the caller).
std::string image_stem_path(const std::string& prefix, std::string_view id) {
  std::string p;
  p.reserve(prefix.size() + 7 + id.size() + 5);
  p += prefix;
  p += id[0];
  p += '/';
  p += id[1];
  p += '/';
  p += id[2];
  p += '/';
  p += id;
  p += '.';
  return p;
}

// Lines in a file (newline characters, plus one for an unterminated last line); 0 when it
// cannot be read. A quick pass that lets the listing reserve its rows exactly.
std::size_t count_lines(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return 0;
  std::vector<char> buffer(1 << 20);
  std::size_t lines = 0, n = 0;
  char last = '\n';
  while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0) {
    lines += static_cast<std::size_t>(std::count(buffer.data(), buffer.data() + n, '\n'));
    last = buffer[n - 1];
  }
  std::fclose(f);
  return lines + (last != '\n' ? 1 : 0);
}

// The extension of the first of the first kMaxExtensionProbes rows whose image exists.
std::string probe_extension(const Listing& listing, const std::string& prefix,
                            const std::string& labels_path) {
  std::error_code ec;
  for (std::size_t i = 0; i < listing.size() && i < kMaxExtensionProbes; ++i) {
    const std::string stem = image_stem_path(prefix, listing.id(i));
    for (const char* candidate : {"png", "jpg", "jpeg"})
      if (fs::is_regular_file(stem + candidate, ec)) return candidate;
  }
  if (listing.empty()) return "png";  // nothing to read: the caller reports the empty listing
  const std::string stem = image_stem_path(prefix, listing.id(0));
  throw ConfigError(
      labels_path + ":" + std::to_string(listing.line(0)) + ": cannot find the image of '" +
      std::string(listing.id(0)) + "' (nor of the next " +
      std::to_string(std::min(listing.size(), kMaxExtensionProbes) - 1) +
      " rows) to detect the extension; tried " + stem + "png, " + stem + "jpg, " + stem + "jpeg");
}

bool is_image_extension(std::string ext) {
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

}  // namespace

bool is_valid_image_id(std::string_view id) {
  return id.size() >= 3 && id.size() <= kMaxIdBytes && std::all_of(id.begin(), id.end(), id_char);
}

// ---------------------------------------------------------------------------------------
// Listing

std::size_t Listing::end_of(std::size_t i) const {
  return i + 1 < rows_.size() ? static_cast<std::size_t>(rows_[i + 1].offset) : arena_.size();
}

std::string_view Listing::id(std::size_t i) const {
  return std::string_view(arena_).substr(rows_[i].offset, rows_[i].id_size);
}

std::string_view Listing::label(std::size_t i) const {
  const std::size_t start = rows_[i].offset + rows_[i].id_size + rows_[i].path_size;
  return std::string_view(arena_).substr(start, end_of(i) - start);
}

std::string Listing::path(std::size_t i) const {
  const Row& r = rows_[i];
  if (r.path_size > 0) return arena_.substr(r.offset + r.id_size, r.path_size);
  return image_stem_path(images_prefix_, id(i)) + extension_;
}

SampleRef Listing::sample(std::size_t i) const {
  return SampleRef{std::string(id(i)), path(i), std::string(label(i)), line(i)};
}

std::vector<SampleRef> Listing::samples(std::size_t limit) const {
  const std::size_t n = limit > 0 && limit < size() ? limit : size();
  std::vector<SampleRef> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(sample(i));
  return out;
}

void Listing::truncate(std::size_t n) {
  if (n >= size()) return;
  arena_.resize(rows_[n].offset);
  rows_.resize(n);
  arena_.shrink_to_fit();
  rows_.shrink_to_fit();
}

std::size_t Listing::heap_bytes() const {
  return arena_.capacity() + rows_.capacity() * sizeof(Row) + images_prefix_.capacity() +
         extension_.capacity();
}

void Listing::set_bms_paths(std::string images_prefix, std::string extension) {
  images_prefix_ = std::move(images_prefix);
  extension_ = std::move(extension);
}

void Listing::reserve(std::size_t rows, std::size_t bytes) {
  rows_.reserve(rows);
  arena_.reserve(bytes);
}

void Listing::add(std::string_view id, std::string_view label, std::size_t line,
                  std::string_view path) {
  constexpr std::size_t kMax16 = std::numeric_limits<std::uint16_t>::max();
  if (id.size() > kMax16 || path.size() > kMax16 ||
      line > std::numeric_limits<std::uint32_t>::max())
    throw DataError("line " + std::to_string(line) + ": id or path too long for the listing");
  rows_.push_back(Row{arena_.size(), static_cast<std::uint32_t>(line),
                      static_cast<std::uint16_t>(id.size()),
                      static_cast<std::uint16_t>(path.size())});
  arena_.append(id);
  arena_.append(path);
  arena_.append(label);
}

// ---------------------------------------------------------------------------------------

Listing list_bms(const std::string& root, const std::string& labels_file,
                 const std::string& images_dir, const std::string& extension) {
  if (extension != "auto" && extension != "png" && extension != "jpg" && extension != "jpeg") {
    throw ConfigError("image extension '" + extension + "' is not one of png, jpg, jpeg, auto");
  }
  const std::string labels_path = join(root, labels_file);
  std::error_code ec;
  if (!fs::is_regular_file(labels_path, ec)) {
    throw ConfigError("labels file " + labels_path + " does not exist or is not a file");
  }
  std::string prefix = join(root, images_dir);
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';

  Listing listing;
  // Exact reservations: no growth, so no moment with two copies of a large arena.
  const auto file_bytes = fs::file_size(labels_path, ec);
  listing.reserve(count_lines(labels_path), ec ? 0 : static_cast<std::size_t>(file_bytes));
  for_each_label(labels_path, [&](LabelRow&& row) {
    if (!is_valid_image_id(row.image_id)) {
      ++listing.rejected;
      if (listing.rejected_examples.size() < kMaxRejectedExamples) {
        listing.rejected_examples.push_back(labels_path + ":" + std::to_string(row.line) + ": " +
                                            id_problem(row.image_id));
      }
      return;
    }
    listing.add(row.image_id, row.inchi, row.line);
  });
  listing.set_bms_paths(
      prefix, extension == "auto" ? probe_extension(listing, prefix, labels_path) : extension);
  return listing;
}

Listing list_image_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw ConfigError("image folder " + dir + " does not exist or is not a folder");
  }
  std::vector<std::string> paths;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) throw ConfigError("cannot list image folder " + dir + ": " + ec.message());
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) throw ConfigError("cannot list image folder " + dir + ": " + ec.message());
    const fs::path& p = it->path();
    if (!is_image_extension(p.extension().string())) continue;
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    paths.push_back(p.string());
  }
  if (ec) throw ConfigError("cannot list image folder " + dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  Listing listing;
  for (const std::string& p : paths) listing.add(fs::path(p).stem().string(), {}, 0, p);
  return listing;
}

std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::uint64_t epoch,
                                     bool shuffle, int rank, int world_size, std::size_t block,
                                     bool even) {
  if (block == 0) throw ConfigError("shard block size must be at least 1");
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw ConfigError("rank " + std::to_string(rank) + " of world size " +
                      std::to_string(world_size) + " is not valid (need 0 <= rank < world size)");
  }
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  if (shuffle && n > 1) {
    SeededRng rng{seed, epoch, kEpochOrderTag};
    for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.index(i + 1)]);
  }
  const auto w = static_cast<std::size_t>(world_size), r = static_cast<std::size_t>(rank);
  const std::size_t dealt = even && w > 1 ? n / (block * w) * (block * w) : n;
  std::vector<std::size_t> share;
  share.reserve(dealt / w + block);
  for (std::size_t start = r * block; start < dealt; start += w * block)
    for (std::size_t p = start; p < std::min(start + block, dealt); ++p) share.push_back(order[p]);
  return share;
}

}  // namespace capflow::io
