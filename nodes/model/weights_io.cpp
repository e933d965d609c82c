// Weights I/O (see weights_io.h): a small pickle reader for Python state_dicts, capflow
// checkpoint archives, and the checked copy of named tensors into a module.
#include "nodes/model/weights_io.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "graph/errors.h"

namespace capflow::model {
namespace {

const char* const kExpectedFiles =
    "expected a torchvision state_dict saved with torch.save(model.state_dict(), path) or a "
    "capflow checkpoint";

std::string shape_text(c10::IntArrayRef sizes) {
  std::ostringstream s;
  s << sizes;
  return s.str();
}

// ---------------------------------------------------------------------------------------------
// A pickle reader for what torch.save writes for a state_dict: protocol 2 opcodes (and the
// few protocol 4 ones), dicts, OrderedDicts, tuples, lists, scalars, strings, and tensors
// rebuilt by torch._utils._rebuild_tensor_v2 from storages stored as zip records.

struct PyObj;
using PyRef = std::shared_ptr<PyObj>;

struct PyObj {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kStr,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kStorage,
    kTensor,
    kMark
  };
  Kind kind = Kind::kNone;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                                 // str, bytes, or global "module.name"
  std::vector<PyRef> items;                      // tuple, list
  std::vector<std::pair<PyRef, PyRef>> entries;  // dict, in insertion order
  torch::Tensor tensor;                          // storage (1-D) or tensor
};

PyRef make(PyObj::Kind kind) {
  auto o = std::make_shared<PyObj>();
  o->kind = kind;
  return o;
}

class PickleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

at::ScalarType storage_dtype(const std::string& global) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort}, {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},   {"torch.BoolStorage", at::kBool}};
  const auto it = kTypes.find(global);
  if (it == kTypes.end()) throw PickleError("unsupported storage type " + global);
  return it->second;
}

class StateDictUnpickler {
 public:
  StateDictUnpickler(const char* data, size_t size, caffe2::serialize::PyTorchStreamReader& reader)
      : p_(data), end_(data + size), reader_(reader) {}

  PyRef run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80:  // PROTO
          byte();
          break;
        case 0x95:  // FRAME
          bytes(8);
          break;
        case '.':
          return pop();  // STOP
        case '(':
          marks_.push_back(stack_.size());
          break;
        case '0':  // POP
          pop();
          break;
        case '1':  // POP_MARK
          pop_mark();
          break;
        case '2':  // DUP
          stack_.push_back(top());
          break;
        case 'N':
          stack_.push_back(make(PyObj::Kind::kNone));
          break;
        case 0x88:  // NEWTRUE
          push_int(PyObj::Kind::kBool, 1);
          break;
        case 0x89:  // NEWFALSE
          push_int(PyObj::Kind::kBool, 0);
          break;
        case 'K':
          push_int(PyObj::Kind::kInt, le<uint8_t>());
          break;
        case 'M':
          push_int(PyObj::Kind::kInt, le<uint16_t>());
          break;
        case 'J':
          push_int(PyObj::Kind::kInt, le<int32_t>());
          break;
        case 0x8a:  // LONG1
          push_long(byte());
          break;
        case 'G':  // BINFLOAT
          push_float();
          break;
        case 'X':  // BINUNICODE
        case 'T':  // BINSTRING
        case 'B':  // BINBYTES
          push_str(le<uint32_t>());
          break;
        case 0x8c:  // SHORT_BINUNICODE
        case 'U':   // SHORT_BINSTRING
        case 'C':   // SHORT_BINBYTES
          push_str(byte());
          break;
        case ')':
          stack_.push_back(make(PyObj::Kind::kTuple));
          break;
        case '}':
          stack_.push_back(make(PyObj::Kind::kDict));
          break;
        case ']':
          stack_.push_back(make(PyObj::Kind::kList));
          break;
        case 't': {
          auto t = make(PyObj::Kind::kTuple);
          t->items = pop_mark();
          stack_.push_back(t);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          auto t = make(PyObj::Kind::kTuple);
          t->items.resize(op - 0x84);
          for (auto it = t->items.rbegin(); it != t->items.rend(); ++it) *it = pop();
          stack_.push_back(t);
          break;
        }
        case 'q':  // BINPUT
          memo_[byte()] = top();
          break;
        case 'r':  // LONG_BINPUT
          memo_[le<uint32_t>()] = top();
          break;
        case 0x94:  // MEMOIZE
          memo_[memo_.size()] = top();
          break;
        case 'h':  // BINGET
          push_memo(byte());
          break;
        case 'j':
          push_memo(le<uint32_t>());
          break;     // LONG_BINGET
        case 'c': {  // GLOBAL
          auto g = make(PyObj::Kind::kGlobal);
          const auto module = line();
          g->s = module + "." + line();
          stack_.push_back(g);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop(), module = pop();
          auto g = make(PyObj::Kind::kGlobal);
          g->s = module->s + "." + name->s;
          stack_.push_back(g);
          break;
        }
        case 's': {  // SETITEM
          auto value = pop(), key = pop();
          dict_top()->entries.emplace_back(key, value);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_mark();
          if (items.size() % 2 != 0) throw PickleError("odd SETITEMS");
          auto d = dict_top();
          for (size_t k = 0; k < items.size(); k += 2) {
            d->entries.emplace_back(items[k], items[k + 1]);
          }
          break;
        }
        case 'a': {  // APPEND
          auto v = pop();
          list_top()->items.push_back(v);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_mark();
          auto l = list_top();
          l->items.insert(l->items.end(), items.begin(), items.end());
          break;
        }
        case 'R':
        case 0x81: {  // REDUCE, NEWOBJ
          auto args = pop(), callable = pop();
          stack_.push_back(call(callable, args));
          break;
        }
        case 'b':
          pop();
          break;   // BUILD: drops the state (an OrderedDict's _metadata)
        case 'Q':  // BINPERSID
          stack_.push_back(persistent_load(pop()));
          break;
        default: {
          std::ostringstream msg;
          msg << "unsupported pickle opcode 0x" << std::hex << int(op);
          throw PickleError(msg.str());
        }
      }
    }
  }

 private:
  uint8_t byte() {
    if (p_ >= end_) throw PickleError("truncated pickle");
    return static_cast<uint8_t>(*p_++);
  }
  const char* bytes(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) throw PickleError("truncated pickle");
    const char* at = p_;
    p_ += n;
    return at;
  }
  template <typename T>
  T le() {  // little-endian host (x86, ARM)
    T v;
    std::memcpy(&v, bytes(sizeof(T)), sizeof(T));
    return v;
  }
  std::string line() {
    std::string s;
    for (char ch = static_cast<char>(byte()); ch != '\n'; ch = static_cast<char>(byte())) s += ch;
    return s;
  }
  PyRef pop() {
    if (stack_.empty()) throw PickleError("pickle stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PyRef& top() {
    if (stack_.empty()) throw PickleError("pickle stack underflow");
    return stack_.back();
  }
  std::vector<PyRef> pop_mark() {
    if (marks_.empty() || marks_.back() > stack_.size()) throw PickleError("pickle mark missing");
    const size_t at = marks_.back();
    marks_.pop_back();
    std::vector<PyRef> items(stack_.begin() + at, stack_.end());
    stack_.resize(at);
    return items;
  }
  PyRef dict_top() {
    if (top()->kind != PyObj::Kind::kDict) throw PickleError("SETITEM on a non-dict");
    return top();
  }
  PyRef list_top() {
    if (top()->kind != PyObj::Kind::kList) throw PickleError("APPEND on a non-list");
    return top();
  }
  void push_int(PyObj::Kind kind, int64_t v) {
    auto o = make(kind);
    o->i = v;
    stack_.push_back(o);
  }
  void push_long(size_t n) {
    if (n > 8) throw PickleError("integer wider than 64 bits");
    const char* b = bytes(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= uint64_t(static_cast<uint8_t>(b[k])) << (8 * k);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(b[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);
    push_int(PyObj::Kind::kInt, static_cast<int64_t>(v));
  }
  void push_float() {  // big-endian double
    const char* b = bytes(8);
    uint64_t bits = 0;
    for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<uint8_t>(b[k]);
    auto o = make(PyObj::Kind::kFloat);
    std::memcpy(&o->f, &bits, sizeof(bits));
    stack_.push_back(o);
  }
  void push_str(size_t n) {
    auto o = make(PyObj::Kind::kStr);
    o->s.assign(bytes(n), n);
    stack_.push_back(o);
  }
  void push_memo(uint32_t id) {
    const auto it = memo_.find(id);
    if (it == memo_.end()) throw PickleError("pickle memo entry missing");
    stack_.push_back(it->second);
  }

  static std::vector<int64_t> ints(const PyRef& tuple) {
    std::vector<int64_t> v;
    for (const auto& item : tuple->items) {
      if (item->kind != PyObj::Kind::kInt) throw PickleError("expected a tuple of ints");
      v.push_back(item->i);
    }
    return v;
  }

  PyRef call(const PyRef& callable, const PyRef& args) {
    if (callable->kind != PyObj::Kind::kGlobal) throw PickleError("call of a non-global");
    const auto& name = callable->s;
    const auto& a = args->items;
    if (name == "collections.OrderedDict" && a.empty()) return make(PyObj::Kind::kDict);
    if (name == "torch._utils._rebuild_tensor_v2" && a.size() >= 4 &&
        a[0]->kind == PyObj::Kind::kStorage && a[1]->kind == PyObj::Kind::kInt) {
      const auto& storage = a[0]->tensor;
      const auto sizes = ints(a[2]);
      const auto strides = ints(a[3]);
      if (sizes.size() != strides.size()) throw PickleError("tensor sizes and strides differ");
      int64_t last = a[1]->i;  // highest element index touched
      for (size_t d = 0; d < sizes.size(); ++d) {
        if (sizes[d] == 0) last = -1;
        if (last >= 0) last += (sizes[d] - 1) * strides[d];
      }
      if (a[1]->i < 0 || last >= storage.numel()) throw PickleError("tensor outside its storage");
      auto t = make(PyObj::Kind::kTensor);
      t->tensor = storage.as_strided(sizes, strides, a[1]->i);
      return t;
    }
    if ((name == "torch._utils._rebuild_parameter" ||
         name == "torch._utils._rebuild_parameter_with_state") &&
        !a.empty() && a[0]->kind == PyObj::Kind::kTensor) {
      return a[0];
    }
    throw PickleError("unsupported object " + name);
  }

  PyRef persistent_load(const PyRef& pid) {
    // ('storage', storage type, key, location, numel)
    const auto& a = pid->items;
    if (pid->kind != PyObj::Kind::kTuple || a.size() < 5 || a[0]->s != "storage" ||
        a[1]->kind != PyObj::Kind::kGlobal || a[2]->kind != PyObj::Kind::kStr ||
        a[4]->kind != PyObj::Kind::kInt) {
      throw PickleError("unsupported persistent id");
    }
    const auto& key = a[2]->s;
    auto& cached = storages_[key];
    if (!cached) {
      const auto dtype = storage_dtype(a[1]->s);
      const int64_t numel = a[4]->i;
      const std::string record = "data/" + key;
      if (!reader_.hasRecord(record)) throw PickleError("missing storage record " + record);
      auto [data, size] = reader_.getRecord(record);
      const size_t need = static_cast<size_t>(numel) * c10::elementSize(dtype);
      if (numel < 0 || size < need) throw PickleError("storage record " + record + " too short");
      cached = make(PyObj::Kind::kStorage);
      cached->tensor = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
      if (need > 0) std::memcpy(cached->tensor.data_ptr(), data.get(), need);
    }
    return cached;
  }

  const char* p_;
  const char* end_;
  caffe2::serialize::PyTorchStreamReader& reader_;
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::map<uint32_t, PyRef> memo_;
  std::map<std::string, PyRef> storages_;
};

// ---------------------------------------------------------------------------------------------

void require_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw ConfigError("weights file not found: " + path);
  }
}

bool is_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

std::unique_ptr<caffe2::serialize::PyTorchStreamReader> open_zip(const std::string& path) {
  if (!is_zip(path)) {
    throw ConfigError(path + ": not a PyTorch zip file (" + kExpectedFiles +
                      "; files from torch.save(..., _use_new_zipfile_serialization=False) "
                      "must be saved again without that option)");
  }
  try {
    return std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw ConfigError(path + ": unreadable PyTorch zip file (" + e.what_without_backtrace() +
                      "); " + kExpectedFiles);
  }
}

struct NamedTensor {
  std::string name;
  torch::Tensor tensor;
};

// Copies `found` (name → tensor) into the module's parameters and buffers, after checking that
// every expected tensor is there with its shape and nothing else is.
void assign_checked(torch::nn::Module& module, std::map<std::string, torch::Tensor> found,
                    const std::string& source, const std::string& what,
                    const std::set<std::string>& optional = {}) {
  std::vector<NamedTensor> expected;
  for (const auto& p : module.named_parameters()) expected.push_back({p.key(), p.value()});
  for (const auto& b : module.named_buffers()) expected.push_back({b.key(), b.value()});

  std::vector<std::string> problems;
  for (const auto& e : expected) {
    const auto it = found.find(e.name);
    if (it == found.end()) {
      if (!optional.count(e.name)) {
        problems.push_back("missing " + e.name + " (expected " + shape_text(e.tensor.sizes()) +
                           ")");
      }
    } else if (it->second.sizes() != e.tensor.sizes()) {
      problems.push_back(e.name + " has shape " + shape_text(it->second.sizes()) + ", expected " +
                         shape_text(e.tensor.sizes()));
    }
  }
  std::set<std::string> known;
  for (const auto& e : expected) known.insert(e.name);
  for (const auto& f : found) {
    if (!known.count(f.first)) {
      problems.push_back("unexpected " + f.first + " " + shape_text(f.second.sizes()));
    }
  }
  if (!problems.empty()) {
    std::string msg = source + ": " + what + " do not match the model: ";
    const size_t shown = std::min<size_t>(problems.size(), 5);
    for (size_t k = 0; k < shown; ++k) msg += (k ? "; " : "") + problems[k];
    if (problems.size() > shown) {
      msg += "; and " + std::to_string(problems.size() - shown) + " more";
    }
    throw ConfigError(msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& e : expected) {
    const auto it = found.find(e.name);
    if (it != found.end()) e.tensor.copy_(it->second);
  }
}

std::string key_of(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

void load_encoder_from_state_dict(ResNetEncoder& encoder, const std::string& path) {
  const auto entries = read_python_state_dict(path);
  std::map<std::string, torch::Tensor> found;
  for (const auto& [name, tensor] : entries) {
    if (name.rfind("fc.", 0) == 0) continue;  // the classifier head
    found[name] = tensor;
  }
  // An RGB stem on a gray model: the 3 input channels sum into 1 (see weights_io.h).
  auto conv1 = found.find("conv1.weight");
  const int in = encoder->options().in_channels;
  if (conv1 != found.end() && in == 1 && conv1->second.dim() == 4 && conv1->second.size(1) == 3) {
    conv1->second = conv1->second.sum(1, /*keepdim=*/true);
  }
  std::set<std::string> optional;
  const std::string counter = "num_batches_tracked";
  for (const auto& b : encoder->named_buffers()) {
    const auto& key = b.key();
    if (key.size() >= counter.size() &&
        key.compare(key.size() - counter.size(), counter.size(), counter) == 0) {
      optional.insert(key);
    }
  }
  assign_checked(*encoder, std::move(found), path, "state_dict tensors", optional);
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> read_python_state_dict(const std::string& path) {
  require_file(path);
  auto reader = open_zip(path);
  if (!reader->hasRecord("data.pkl")) {
    throw ConfigError(path + ": no data.pkl record; " + kExpectedFiles);
  }
  try {
    auto [data, size] = reader->getRecord("data.pkl");
    StateDictUnpickler unpickler(static_cast<const char*>(data.get()), size, *reader);
    const auto root = unpickler.run();
    if (root->kind != PyObj::Kind::kDict) throw PickleError("the saved object is not a dict");
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& [key, value] : root->entries) {
      if (key->kind != PyObj::Kind::kStr) throw PickleError("a dict key is not a string");
      if (value->kind != PyObj::Kind::kTensor) {
        throw PickleError("the value of '" + key->s + "' is not a tensor");
      }
      out.emplace_back(key->s, value->tensor);
    }
    return out;
  } catch (const PickleError& e) {
    throw ConfigError(path + ": not a state_dict (" + e.what() + "); " + kExpectedFiles);
  } catch (const c10::Error& e) {
    throw ConfigError(path + ": unreadable (" + e.what_without_backtrace() + "); " +
                      kExpectedFiles);
  }
}

void save_module_archive(const torch::nn::Module& module, const std::string& prefix,
                         torch::serialize::OutputArchive& archive) {
  for (const auto& p : module.named_parameters()) {
    // Written from the CPU, whatever device the module is on: the file loads anywhere.
    archive.write(key_of(prefix, p.key()), p.value().detach().to(torch::kCPU), /*is_buffer=*/false);
  }
  for (const auto& b : module.named_buffers()) {
    archive.write(key_of(prefix, b.key()), b.value().detach().to(torch::kCPU), /*is_buffer=*/true);
  }
}

void load_module_archive(torch::nn::Module& module, const std::string& prefix,
                         torch::serialize::InputArchive& archive, const std::string& source) {
  std::map<std::string, torch::Tensor> found;
  const std::string head = prefix.empty() ? "" : prefix + ".";
  std::vector<std::string> keys;
  try {
    keys = archive.keys();
  } catch (const c10::Error& e) {
    throw ConfigError(source + ": unreadable checkpoint (" + e.what_without_backtrace() + ")");
  }
  for (const auto& key : keys) {
    if (key.rfind(head, 0) != 0) continue;
    torch::Tensor t;
    // Parameters and buffers live side by side; read either kind.
    if (archive.try_read(key, t, /*is_buffer=*/false) || archive.try_read(key, t, true)) {
      found[key.substr(head.size())] = t;
    }
  }
  if (found.empty()) {
    throw ConfigError(source + ": the checkpoint holds no '" + head + "*' tensors");
  }
  assign_checked(module, std::move(found), source, "checkpoint tensors '" + head + "*'");
}

void load_encoder_weights(ResNetEncoder& encoder, const std::string& path) {
  require_file(path);
  bool checkpoint = false;
  {
    const auto reader = open_zip(path);
    checkpoint = reader->hasRecord("constants.pkl");  // a TorchScript archive (torch::save)
  }
  if (!checkpoint) {
    load_encoder_from_state_dict(encoder, path);
    return;
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, torch::Device(torch::kCPU));  // a GPU run's checkpoint too
  } catch (const c10::Error& e) {
    throw ConfigError(path + ": unreadable checkpoint (" + e.what_without_backtrace() + "); " +
                      kExpectedFiles);
  }
  load_module_archive(*encoder, kEncoderPrefix, archive, path);
}

}  // namespace capflow::model
