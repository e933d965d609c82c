// Dataset listings (BMS layout, plain image folders) and the per-epoch, per-rank sample order.
#include "nodes/io/sample_listing.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
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
std::string printable(const std::string& s) {
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

std::string id_problem(const std::string& id) {
  if (id.empty()) return "empty image id";
  if (id.size() < 3) return "image id '" + printable(id) + "' is shorter than 3 characters";
  return "image id '" + printable(id) + "' has characters outside [0-9A-Za-z_-]";
}

std::string join(const std::string& dir, const std::string& name) {
  if (fs::path(name).is_absolute() || dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// root/images_dir/a/b/c/<id>. (extension appended by the caller).
std::string image_stem_path(const std::string& prefix, const std::string& id) {
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

bool is_image_extension(std::string ext) {
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

}  // namespace

bool is_valid_image_id(const std::string& id) {
  return id.size() >= 3 && std::all_of(id.begin(), id.end(), id_char);
}

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
  std::string ext = extension == "auto" ? std::string() : extension;
  for_each_label(labels_path, [&](LabelRow&& row) {
    if (!is_valid_image_id(row.image_id)) {
      ++listing.rejected;
      if (listing.rejected_examples.size() < kMaxRejectedExamples) {
        listing.rejected_examples.push_back(labels_path + ":" + std::to_string(row.line) + ": " +
                                            id_problem(row.image_id));
      }
      return;
    }
    std::string path = image_stem_path(prefix, row.image_id);
    if (ext.empty()) {  // auto: probe the first valid row's file
      std::string tried;
      for (const char* candidate : {"png", "jpg", "jpeg"}) {
        if (fs::is_regular_file(path + candidate, ec)) {
          ext = candidate;
          break;
        }
        tried += (tried.empty() ? "" : ", ") + path + candidate;
      }
      if (ext.empty()) {
        throw ConfigError(labels_path + ":" + std::to_string(row.line) +
                          ": cannot find the image of '" + row.image_id +
                          "' to detect the extension; tried " + tried);
      }
    }
    path += ext;
    listing.samples.push_back(
        SampleRef{std::move(row.image_id), std::move(path), std::move(row.inchi), row.line});
  });
  return listing;
}

Listing list_image_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw ConfigError("image folder " + dir + " does not exist or is not a folder");
  }
  Listing listing;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) throw ConfigError("cannot list image folder " + dir + ": " + ec.message());
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) throw ConfigError("cannot list image folder " + dir + ": " + ec.message());
    const fs::path& p = it->path();
    if (!is_image_extension(p.extension().string())) continue;
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    listing.samples.push_back(SampleRef{p.stem().string(), p.string(), std::string(), 0});
  }
  if (ec) throw ConfigError("cannot list image folder " + dir + ": " + ec.message());
  std::sort(listing.samples.begin(), listing.samples.end(),
            [](const SampleRef& a, const SampleRef& b) { return a.path < b.path; });
  return listing;
}

std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::uint64_t epoch,
                                     bool shuffle, int rank, int world_size, std::size_t block, bool even) {
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
