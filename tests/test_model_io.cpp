// Model weights I/O and export: torchvision state_dicts written by Python's torch.save (the
// test writes them itself), capflow checkpoint archives, clear errors for bad files, and
// TorchScript exports that Python's torch.jit.load runs with the C++ results.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "graph/errors.h"
#include "nodes/model/attention_decoder.h"
#include "nodes/model/caption_search.h"
#include "nodes/model/resnet_encoder.h"
#include "nodes/model/torch_runtime.h"
#include "nodes/model/torchscript_export.h"
#include "nodes/model/weights_io.h"
#include "tests/test_support.h"

namespace capflow::model {
namespace {

// One LibTorch thread: set by the environment test_model.cpp registers for this program.

const char* const kPython = "/usr/bin/python3";

// Empty when Debian's python3 with torch is usable, otherwise why not.
std::string python_torch_missing() {
  if (!std::filesystem::exists(kPython)) return std::string(kPython) + " is not installed";
  const auto r = testing::run_command(std::string(kPython) + " -c 'import torch'");
  if (r.status != 0) return std::string(kPython) + " cannot import torch: " + r.output;
  return "";
}

testing::RunResult run_python(const std::string& dir, const std::string& script,
                              const std::string& args) {
  const auto path = dir + "/script.py";
  std::ofstream(path) << script;
  return testing::run_command(std::string(kPython) + " " + path + " " + args);
}

// Writes torchvision-resnet18-like state_dicts (OrderedDict with _metadata, like
// model.state_dict()): good.pt (3-channel conv1 stored non-contiguous, bn1 weight and bias
// sharing one storage, fc.*), bad_shape.pt, missing.pt, a list (not a dict), and expected.pt
// (a plain dict of the values C++ must find after loading).
const char* const kWriteStateDicts = R"(
import collections, sys, torch
out = sys.argv[1]
torch.manual_seed(0)
sd = collections.OrderedDict()
def conv(n, o, i, k): sd[n + '.weight'] = torch.randn(o, i, k, k)
def bn(n, c):
    sd[n + '.weight'] = torch.rand(c) + 0.5
    sd[n + '.bias'] = torch.randn(c)
    sd[n + '.running_mean'] = torch.randn(c)
    sd[n + '.running_var'] = torch.rand(c) + 0.5
    sd[n + '.num_batches_tracked'] = torch.tensor(7)
sd['conv1.weight'] = torch.randn(64, 7, 7, 3).permute(0, 3, 1, 2)
bn('bn1', 64)
both = torch.randn(128)
sd['bn1.weight'] = both[:64]
sd['bn1.bias'] = both[64:]
inp = 64
for li, planes in enumerate([64, 128, 256, 512]):
    for b in range(2):
        p = 'layer%d.%d' % (li + 1, b)
        stride = 2 if (b == 0 and li > 0) else 1
        conv(p + '.conv1', planes, inp, 3); bn(p + '.bn1', planes)
        conv(p + '.conv2', planes, planes, 3); bn(p + '.bn2', planes)
        if stride != 1 or inp != planes:
            conv(p + '.downsample.0', planes, inp, 1); bn(p + '.downsample.1', planes)
        inp = planes
sd['fc.weight'] = torch.randn(1000, 512)
sd['fc.bias'] = torch.randn(1000)
sd._metadata = collections.OrderedDict([('', {'version': 1}), ('bn1', {'version': 2})])
torch.save(sd, out + '/good.pt')
torch.save({'conv1_summed': sd['conv1.weight'].sum(1, keepdim=True), 'bn1.bias': sd['bn1.bias'],
            'layer2.0.downsample.0.weight': sd['layer2.0.downsample.0.weight'],
            'layer4.1.bn2.running_var': sd['layer4.1.bn2.running_var'],
            'layer3.0.bn1.num_batches_tracked': sd['layer3.0.bn1.num_batches_tracked']},
           out + '/expected.pt')
bad = collections.OrderedDict(sd)
bad['layer2.0.conv1.weight'] = torch.randn(128, 64, 1, 1)
torch.save(bad, out + '/bad_shape.pt')
missing = collections.OrderedDict(sd)
del missing['layer3.1.bn2.running_var']
missing['extra.weight'] = torch.randn(3)
torch.save(missing, out + '/missing.pt')
torch.save([torch.randn(2)], out + '/list.pt')
)";

torch::Tensor load_tensor(const c10::Dict<c10::IValue, c10::IValue>& dict, const std::string& key) {
  return dict.at(key).toTensor();
}

c10::Dict<c10::IValue, c10::IValue> pickle_load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return torch::pickle_load(bytes).toGenericDict();
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError)";
}

TEST(ModelWeights, LoadsATorchvisionStateDictSavedByPython) {
  const auto missing = python_torch_missing();
  if (!missing.empty()) GTEST_SKIP() << missing;
  const auto dir = testing::make_temp_dir("model_weights");
  const auto r = run_python(dir, kWriteStateDicts, dir);
  ASSERT_EQ(r.status, 0) << r.output;

  ResNetEncoder encoder;
  load_encoder_weights(encoder, dir + "/good.pt");
  const auto expected = pickle_load_file(dir + "/expected.pt");
  const auto params = encoder->named_parameters();
  const auto buffers = encoder->named_buffers();
  EXPECT_TRUE(torch::allclose(params["conv1.weight"], load_tensor(expected, "conv1_summed")));
  EXPECT_TRUE(torch::equal(params["bn1.bias"], load_tensor(expected, "bn1.bias")));
  EXPECT_TRUE(torch::equal(params["layer2.0.downsample.0.weight"],
                           load_tensor(expected, "layer2.0.downsample.0.weight")));
  EXPECT_TRUE(torch::equal(buffers["layer4.1.bn2.running_var"],
                           load_tensor(expected, "layer4.1.bn2.running_var")));
  EXPECT_EQ(buffers["layer3.0.bn1.num_batches_tracked"].item<int64_t>(), 7);

  // The reader returns every entry in file order, fc included.
  const auto entries = read_python_state_dict(dir + "/good.pt");
  EXPECT_EQ(entries.size(), 122u);
  EXPECT_EQ(entries.front().first, "conv1.weight");
  EXPECT_EQ(entries.back().first, "fc.bias");

  const auto bad_shape = message_of([&] { load_encoder_weights(encoder, dir + "/bad_shape.pt"); });
  EXPECT_NE(bad_shape.find("layer2.0.conv1.weight has shape [128, 64, 1, 1], expected "
                           "[128, 64, 3, 3]"),
            std::string::npos)
      << bad_shape;
  EXPECT_NE(bad_shape.find("bad_shape.pt"), std::string::npos) << bad_shape;
  const auto absent = message_of([&] { load_encoder_weights(encoder, dir + "/missing.pt"); });
  EXPECT_NE(absent.find("missing layer3.1.bn2.running_var (expected [256])"), std::string::npos)
      << absent;
  EXPECT_NE(absent.find("unexpected extra.weight [3]"), std::string::npos) << absent;
  const auto list = message_of([&] { load_encoder_weights(encoder, dir + "/list.pt"); });
  EXPECT_NE(list.find("not a state_dict"), std::string::npos) << list;
  std::filesystem::remove_all(dir);
}

TEST(ModelWeights, MissingAndForeignFilesAreConfigErrors) {
  const auto dir = testing::make_temp_dir("model_foreign");
  ResNetEncoder encoder;
  const auto none = message_of([&] { load_encoder_weights(encoder, dir + "/absent.pt"); });
  EXPECT_NE(none.find("not found: " + dir + "/absent.pt"), std::string::npos) << none;
  std::ofstream(dir + "/text.pt") << "hello, not weights\n";
  const auto text = message_of([&] { load_encoder_weights(encoder, dir + "/text.pt"); });
  EXPECT_NE(text.find("expected a torchvision state_dict"), std::string::npos) << text;
  // A zip archive that is neither: torch::pickle_save of a tensor list.
  const auto bytes = torch::pickle_save(c10::IValue(std::vector<torch::Tensor>{torch::ones(2)}));
  std::ofstream(dir + "/other.pt", std::ios::binary).write(bytes.data(), bytes.size());
  const auto other = message_of([&] { load_encoder_weights(encoder, dir + "/other.pt"); });
  EXPECT_NE(other.find("not a state_dict"), std::string::npos) << other;
  std::filesystem::remove_all(dir);
}

TEST(ModelWeights, CheckpointArchiveRoundTrip) {
  const auto dir = testing::make_temp_dir("model_ckpt");
  torch::manual_seed(7);
  ResNetEncoder trained;
  {
    torch::NoGradGuard no_grad;
    for (auto& b : trained->buffers()) {
      if (b.is_floating_point()) b.uniform_(0.5, 1.5);
    }
  }
  DecoderOptions dopt;
  dopt.vocab_size = 20;
  dopt.embed = 8;
  dopt.hidden = 16;
  dopt.attention = 8;
  AttentionDecoder decoder(dopt);
  torch::serialize::OutputArchive out;
  save_module_archive(*trained, kEncoderPrefix, out);
  save_module_archive(*decoder, kDecoderPrefix, out);
  out.write("step", c10::IValue(int64_t{42}));
  const auto path = dir + "/checkpoint.pt";
  out.save_to(path);

  ResNetEncoder fresh;
  load_encoder_weights(fresh, path);
  const auto a = trained->named_parameters(), b = fresh->named_parameters();
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
  const auto ab = trained->named_buffers(), bb = fresh->named_buffers();
  for (const auto& p : ab) EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << p.key();

  torch::serialize::InputArchive in;
  in.load_from(path);
  AttentionDecoder decoder2(dopt);
  load_module_archive(*decoder2, kDecoderPrefix, in, path);
  EXPECT_TRUE(torch::equal(decoder->fc->weight, decoder2->fc->weight));
  // A decoder of another size: the error names the tensor and both shapes.
  dopt.hidden = 24;
  AttentionDecoder other(dopt);
  const auto msg = message_of([&] { load_module_archive(*other, kDecoderPrefix, in, path); });
  EXPECT_NE(msg.find("hidden_proj.weight has shape [584, 16], expected [616, 24]"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("and 5 more"), std::string::npos) << msg;
  const auto absent = message_of([&] { load_module_archive(*other, "nothing", in, path); });
  EXPECT_NE(absent.find("no 'nothing.*' tensors"), std::string::npos) << absent;
  // A ResNet-34 cannot take ResNet-18 weights.
  ResNetEncoder deeper(EncoderOptions{34, 1});
  const auto deep = message_of([&] { load_encoder_weights(deeper, path); });
  EXPECT_NE(deep.find("missing layer1.2."), std::string::npos) << deep;
  std::filesystem::remove_all(dir);
}

const char* const kRunExports = R"(
import sys, torch
enc = torch.jit.load(sys.argv[1])
dec = torch.jit.load(sys.argv[2])
inp = torch.load(sys.argv[3])
with torch.no_grad():
    out = {'features': enc(inp['x']),
           'logits': dec(inp['features'], inp['tokens']),
           'greedy': dec.greedy(inp['features'], 10, 1, 2),
           'vocab_size': torch.tensor(dec.vocab_size)}
torch.save(out, sys.argv[4])
)";

TEST(ModelExport, TorchScriptRunsInPythonWithTheSameResults) {
  const auto missing = python_torch_missing();
  if (!missing.empty()) GTEST_SKIP() << missing;
  const auto dir = testing::make_temp_dir("model_export");
  torch::manual_seed(8);
  ResNetEncoder encoder;
  {
    torch::NoGradGuard no_grad;  // non-trivial batch-norm statistics
    for (auto& b : encoder->named_buffers()) {
      if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0.0, 0.1);
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
    }
  }
  encoder->eval();
  DecoderOptions dopt;
  dopt.vocab_size = 15;
  dopt.embed = 16;
  dopt.hidden = 32;
  dopt.attention = 16;
  AttentionDecoder decoder(dopt);
  {
    torch::NoGradGuard no_grad;  // a peakier output layer: clear argmaxes
    decoder->fc->weight.normal_(0.0, 0.5);
  }
  decoder->eval();
  export_encoder_torchscript(encoder, dir + "/encoder.pt");
  export_encoder_torchscript(encoder, dir + "/encoder.pt");  // again: replaces the file
  export_decoder_torchscript(decoder, dir + "/decoder.pt");
  EXPECT_FALSE(std::filesystem::exists(dir + "/encoder.pt.tmp" + std::to_string(::getpid())));

  torch::NoGradGuard no_grad;
  const auto x = torch::rand({2, 1, 64, 64});
  const auto features = encoder->forward(x);
  const auto tokens = torch::tensor({1, 5, 6, 7, 2, 1, 9, 4, 10, 11}, torch::kLong).view({2, 5});
  const auto logits = decoder->forward(features, tokens);
  const auto greedy = greedy_decode(*decoder, features, 10, 1, 2);

  c10::Dict<std::string, torch::Tensor> inputs;
  inputs.insert("x", x);
  inputs.insert("features", features);
  inputs.insert("tokens", tokens);
  const auto bytes = torch::pickle_save(c10::IValue(inputs));
  std::ofstream(dir + "/inputs.pt", std::ios::binary).write(bytes.data(), bytes.size());

  const auto r = run_python(
      dir, kRunExports,
      dir + "/encoder.pt " + dir + "/decoder.pt " + dir + "/inputs.pt " + dir + "/outputs.pt");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto outputs = pickle_load_file(dir + "/outputs.pt");
  const auto py_features = load_tensor(outputs, "features");
  ASSERT_EQ(py_features.sizes(), features.sizes());
  EXPECT_LT((py_features - features).abs().max().item<float>(), 1e-4);
  const auto py_logits = load_tensor(outputs, "logits");
  ASSERT_EQ(py_logits.sizes(), logits.sizes());
  EXPECT_LT((py_logits - logits).abs().max().item<float>(), 1e-4);
  EXPECT_EQ(load_tensor(outputs, "vocab_size").item<int64_t>(), 15);
  const auto py_greedy = load_tensor(outputs, "greedy");
  ASSERT_EQ(py_greedy.size(0), 2);
  for (int i = 0; i < 2; ++i) {
    std::vector<int> seq;
    for (int64_t t = 0; t < py_greedy.size(1); ++t) {
      const auto token = py_greedy[i][t].item<int64_t>();
      if (token == 2 || token == 0) break;
      seq.push_back(static_cast<int>(token));
    }
    EXPECT_EQ(seq, greedy[i]) << "row " << i;
  }
  EXPECT_FALSE(greedy[0].empty() && greedy[1].empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace capflow::model
