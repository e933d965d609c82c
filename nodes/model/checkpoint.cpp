// Checkpoints: one LibTorch archive per optimizer step, written atomically.
#include "nodes/model/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "graph/errors.h"
#include "nodes/model/weights_io.h"

namespace capflow::model {

namespace fs = std::filesystem;

namespace {

const std::string kKey = "capflow.";

void fsync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw Error("cannot sync checkpoint '" + path + "': " + why);
  }
  ::close(fd);
}

torch::serialize::InputArchive open_archive(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw ConfigError("checkpoint '" + path + "' does not exist");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw ConfigError("checkpoint '" + path +
                      "' is truncated or not a LibTorch archive: " + e.what_without_backtrace());
  }
  return archive;
}

c10::IValue read_field(torch::serialize::InputArchive& archive, const std::string& path,
                       const std::string& name) {
  c10::IValue value;
  if (!archive.try_read(kKey + name, value))
    throw ConfigError("checkpoint '" + path + "' lacks the field '" + name +
                      "': not a capflow checkpoint, or written by another version");
  return value;
}

}  // namespace

std::string checkpoint_file_name(std::uint64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%08llu.pt", static_cast<unsigned long long>(step));
  return name;
}

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.rfind("step-", 0) == 0 && name.size() > 3 &&
        name.compare(name.size() - 3, 3, ".pt") == 0)
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());  // zero-padded step numbers sort by step
  return files;
}

std::string resolve_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;
  if (!fs::is_directory(path, ec)) throw ConfigError("no checkpoint at '" + path + "'");
  for (const std::string& dir : {path, (fs::path(path) / "checkpoints").string()}) {
    const auto files = list_checkpoints(dir);
    if (!files.empty()) return files.back();
  }
  throw ConfigError("no checkpoint (step-*.pt) in '" + path + "' or its checkpoints/ folder");
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  auto archive = open_archive(path);
  const c10::IValue format = read_field(archive, path, "format");
  if (!format.isString() || format.toStringRef() != kCheckpointFormat)
    throw ConfigError("checkpoint '" + path + "' has format '" +
                      (format.isString() ? format.toStringRef() : std::string("?")) +
                      "', expected '" + kCheckpointFormat + "'");
  CheckpointInfo info;
  info.path = path;
  auto u64 = [&](const char* name) { return static_cast<std::uint64_t>(read_field(archive, path, name).toInt()); };
  auto i64 = [&](const char* name) { return read_field(archive, path, name).toInt(); };
  auto f64 = [&](const char* name) { return read_field(archive, path, name).toDouble(); };
  try {
    info.step = u64("step");
    info.epoch = u64("epoch");
    info.groups_done = u64("groups_done");
    info.images = u64("images");
    info.loss = f64("loss");
    info.seconds = f64("seconds");
    info.world_size = i64("world_size");
    info.precision = read_field(archive, path, "precision").toStringRef();
    info.encoder_depth = i64("encoder_depth");
    info.embed = i64("embed");
    info.hidden = i64("hidden");
    info.attention = i64("attention");
    info.dropout = f64("dropout");
    info.image_width = i64("image_width");
    info.image_height = i64("image_height");
    info.config_yaml = read_field(archive, path, "config_yaml").toStringRef();
    for (const auto& token : read_field(archive, path, "vocabulary").toListRef())
      info.vocabulary.push_back(token.toStringRef());
  } catch (const c10::Error& e) {
    throw ConfigError("checkpoint '" + path + "' has a field of the wrong type: " + e.what_without_backtrace());
  }
  return info;
}

void write_checkpoint(const std::string& path, const CheckpointInfo& info,
                      const torch::nn::Module& encoder, const torch::nn::Module& decoder,
                      torch::optim::Optimizer* optimizer, int keep) {
  torch::serialize::OutputArchive archive;
  archive.write(kKey + "format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write(kKey + "step", c10::IValue(static_cast<std::int64_t>(info.step)));
  archive.write(kKey + "epoch", c10::IValue(static_cast<std::int64_t>(info.epoch)));
  archive.write(kKey + "groups_done", c10::IValue(static_cast<std::int64_t>(info.groups_done)));
  archive.write(kKey + "images", c10::IValue(static_cast<std::int64_t>(info.images)));
  archive.write(kKey + "loss", c10::IValue(info.loss));
  archive.write(kKey + "seconds", c10::IValue(info.seconds));
  archive.write(kKey + "world_size", c10::IValue(info.world_size));
  archive.write(kKey + "precision", c10::IValue(info.precision));
  archive.write(kKey + "encoder_depth", c10::IValue(info.encoder_depth));
  archive.write(kKey + "embed", c10::IValue(info.embed));
  archive.write(kKey + "hidden", c10::IValue(info.hidden));
  archive.write(kKey + "attention", c10::IValue(info.attention));
  archive.write(kKey + "dropout", c10::IValue(info.dropout));
  archive.write(kKey + "image_width", c10::IValue(info.image_width));
  archive.write(kKey + "image_height", c10::IValue(info.image_height));
  archive.write(kKey + "config_yaml", c10::IValue(info.config_yaml));
  c10::List<std::string> vocabulary;
  for (const auto& token : info.vocabulary) vocabulary.push_back(token);
  archive.write(kKey + "vocabulary", c10::IValue(vocabulary));
  save_module_archive(encoder, kEncoderPrefix, archive);
  save_module_archive(decoder, kDecoderPrefix, archive);
  if (optimizer) {
    torch::serialize::OutputArchive state;
    optimizer->save(state);
    archive.write("optimizer", state);
  }
  const std::string tmp = path + ".partial";
  try {
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    throw Error("cannot write checkpoint '" + tmp + "': " + e.what_without_backtrace());
  }
  fsync_file(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  if (keep > 0) {
    const auto files = list_checkpoints(fs::path(path).parent_path().string());
    for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < files.size(); ++i) {
      std::error_code ec;
      fs::remove(files[i], ec);
    }
  }
}

void load_checkpoint(const std::string& path, torch::nn::Module& encoder, torch::nn::Module& decoder,
                     torch::optim::Optimizer* optimizer) {
  read_checkpoint_info(path);  // checks the format first
  auto archive = open_archive(path);
  load_module_archive(encoder, kEncoderPrefix, archive, path);
  load_module_archive(decoder, kDecoderPrefix, archive, path);
  if (optimizer) {
    torch::serialize::InputArchive state;
    if (!archive.try_read("optimizer", state))
      throw ConfigError("checkpoint '" + path + "' holds no optimizer state");
    try {
      optimizer->load(state);
    } catch (const c10::Error& e) {
      throw ConfigError("checkpoint '" + path + "': optimizer state does not fit this model: " +
                        e.what_without_backtrace());
    }
  }
}

}  // namespace capflow::model
