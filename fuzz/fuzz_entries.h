// Fuzz entry functions: each feeds one input to the code that reads untrusted bytes, and
// returns for every input that code handles as documented (accepted, or refused with the typed
// error its header names). A crash, a sanitizer report, an unexpected exception type or a
// broken documented property (a tokenizer's exact inverse) is a bug. The same functions serve
// the libFuzzer executables (fuzz_target.cpp, -DCAPFLOW_FUZZ=ON) and the replay of
// tests/fuzz_regressions/ in the normal test suite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace capflow::fuzz {

using Entry = void (*)(const std::uint8_t* data, std::size_t size);

// png, jpeg, labels_csv, inchi, smiles, rendezvous_wire (capflow_fuzz_entries); nullptr when
// `target` is not one of them.
Entry plain_entry(const std::string& target);
std::vector<std::string> plain_targets();

// pipeline, checkpoint (capflow_fuzz_torch_entries: the real node catalog, LibTorch).
Entry torch_entry(const std::string& target);
std::vector<std::string> torch_targets();

// A pipeline input is the YAML text, then each `--set` override after a NUL byte.
std::vector<std::string> split_pipeline_input(const std::uint8_t* data, std::size_t size);

// A checkpoint holding every field read_checkpoint_info reads (no weights): a seed input.
void write_checkpoint_seed(const std::string& path);

// Reports a broken property (a bug the fuzzer must see as a crash) and aborts.
[[noreturn]] void fail(const std::string& what);

// An in-memory file (memfd) holding `data`, readable by path as "/proc/self/fd/N" by code that
// takes a path; closed with the object.
class MemoryFile {
 public:
  MemoryFile(const std::uint8_t* data, std::size_t size);
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace capflow::fuzz
