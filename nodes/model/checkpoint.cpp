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

// Tensors are mapped onto `device` as they are read: a checkpoint written by a GPU run loads
// on a machine without one (and the optimizer state of a resumed run lands beside its weights).
torch::serialize::InputArchive open_archive(const std::string& path,
                                            torch::Device device = torch::kCPU) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw ConfigError("checkpoint '" + path + "' does not exist");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw ConfigError("checkpoint '" + path +
                      "' is truncated or not a LibTorch archive: " + e.what_without_backtrace());
  } catch (
      const std::exception& e) {  // a damaged archive's code: torch::jit::ErrorReport (fuzzing)
    throw ConfigError("checkpoint '" + path +
                      "' is damaged or not a LibTorch archive: " + e.what());
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

// The scalar fields of CheckpointInfo, by stored type: one table serves reading and writing.
const std::pair<const char*, std::uint64_t CheckpointInfo::*> kCountFields[] = {
    {"step", &CheckpointInfo::step},
    {"epoch", &CheckpointInfo::epoch},
    {"groups_done", &CheckpointInfo::groups_done},
    {"images", &CheckpointInfo::images}};
const std::pair<const char*, std::int64_t CheckpointInfo::*> kIntFields[] = {
    {"world_size", &CheckpointInfo::world_size},
    {"encoder_depth", &CheckpointInfo::encoder_depth},
    {"embed", &CheckpointInfo::embed},
    {"hidden", &CheckpointInfo::hidden},
    {"attention", &CheckpointInfo::attention},
    {"image_width", &CheckpointInfo::image_width},
    {"image_height", &CheckpointInfo::image_height}};
// Fields added later: a checkpoint without them keeps CheckpointInfo's default.
const std::pair<const char*, std::int64_t CheckpointInfo::*> kOptionalIntFields[] = {
    {"encoder_stages", &CheckpointInfo::encoder_stages},
    {"encoder_width", &CheckpointInfo::encoder_width},
    {"formula_head", &CheckpointInfo::formula_head},
    {"atom_head", &CheckpointInfo::atom_head},
    {"replicas", &CheckpointInfo::replicas},
    {"layers", &CheckpointInfo::layers},
    {"heads", &CheckpointInfo::heads},
    {"ffn", &CheckpointInfo::ffn}};
const std::pair<const char*, double CheckpointInfo::*> kRealFields[] = {
    {"loss", &CheckpointInfo::loss},
    {"seconds", &CheckpointInfo::seconds},
    {"dropout", &CheckpointInfo::dropout}};
const std::pair<const char*, std::string CheckpointInfo::*> kTextFields[] = {
    {"precision", &CheckpointInfo::precision}, {"config_yaml", &CheckpointInfo::config_yaml}};
const std::pair<const char*, std::string CheckpointInfo::*> kOptionalTextFields[] = {
    {"notation", &CheckpointInfo::notation}, {"decoder", &CheckpointInfo::decoder}};

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
  try {
    for (const auto& [name, field] : kCountFields)
      info.*field = static_cast<std::uint64_t>(read_field(archive, path, name).toInt());
    for (const auto& [name, field] : kIntFields)
      info.*field = read_field(archive, path, name).toInt();
    for (const auto& [name, field] : kOptionalIntFields) {
      c10::IValue value;
      if (archive.try_read(kKey + name, value)) info.*field = value.toInt();
    }
    for (const auto& [name, field] : kRealFields)
      info.*field = read_field(archive, path, name).toDouble();
    for (const auto& [name, field] : kTextFields)
      info.*field = read_field(archive, path, name).toStringRef();
    for (const auto& [name, field] : kOptionalTextFields) {
      c10::IValue value;
      if (archive.try_read(kKey + name, value)) info.*field = value.toStringRef();
    }
    for (const auto& token : read_field(archive, path, "vocabulary").toListRef())
      info.vocabulary.push_back(token.toStringRef());
  } catch (const c10::Error& e) {
    throw ConfigError("checkpoint '" + path +
                      "' has a field of the wrong type: " + e.what_without_backtrace());
  }
  return info;
}

void write_checkpoint(const std::string& path, const CheckpointInfo& info,
                      const torch::nn::Module& encoder, const torch::nn::Module& decoder,
                      torch::optim::Optimizer* optimizer, int keep) {
  torch::serialize::OutputArchive archive;
  archive.write(kKey + "format", c10::IValue(std::string(kCheckpointFormat)));
  for (const auto& [name, field] : kCountFields)
    archive.write(kKey + name, c10::IValue(static_cast<std::int64_t>(info.*field)));
  for (const auto& [name, field] : kIntFields) archive.write(kKey + name, c10::IValue(info.*field));
  for (const auto& [name, field] : kOptionalIntFields)
    archive.write(kKey + name, c10::IValue(info.*field));
  for (const auto& [name, field] : kRealFields)
    archive.write(kKey + name, c10::IValue(info.*field));
  for (const auto& [name, field] : kTextFields)
    archive.write(kKey + name, c10::IValue(info.*field));
  for (const auto& [name, field] : kOptionalTextFields)
    archive.write(kKey + name, c10::IValue(info.*field));
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

void load_checkpoint(const std::string& path, torch::nn::Module& encoder,
                     torch::nn::Module& decoder, torch::optim::Optimizer* optimizer) {
  read_checkpoint_info(path);  // checks the format first
  const auto parameters = encoder.parameters();
  auto archive = open_archive(
      path, parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device());
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
