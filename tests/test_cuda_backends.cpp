// Every backend of the model nodes against the CPU reference (docs/gpu.md): the encoder and
// the attention LSTM run on cuda and on cpu from the same seeded weights and their features,
// logits, loss and gradients agree within a tolerance (fp32 without TF32: tight; bf16
// autocast: loose); batches staged through pinned memory and a side stream equal the host
// conversion; greedy decoding and a checkpoint round trip work from the GPU. Where LibTorch
// sees no CUDA device the cuda cases report themselves skipped, with the reason. The CPU
// cases (staging on the CPU, the device names) run everywhere.
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "graph/errors.h"
#include "nodes/batch/image_batch.h"
#include "nodes/model/attention_decoder.h"
#include "nodes/model/caption_search.h"
#include "nodes/model/device_batch.h"
#include "nodes/model/precision.h"
#include "nodes/model/resnet_encoder.h"
#include "nodes/model/torch_runtime.h"
#include "nodes/model/weights_io.h"
#include "tests/one_torch_thread.h"

namespace capflow::model {
namespace {

constexpr int kSos = 1, kEos = 2, kVocab = 40;

std::string why_no_cuda() {
  return cuda_built()
             ? "LibTorch sees no CUDA device on this machine"
             : "this build has no CUDA (CPU-only LibTorch): the cuda backends are not compiled";
}

#define SKIP_WITHOUT_CUDA()                                                        \
  do {                                                                             \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU: " << why_no_cuda(); \
  } while (0)

// A batch of n gray h x w pictures (random ink on paper) with captions of varying length.
std::shared_ptr<batch::ImageBatch> make_batch(int n, int h, int w, int t, std::uint64_t seed) {
  auto b = std::make_shared<batch::ImageBatch>();
  b->size = n, b->height = h, b->width = w, b->max_length = t;
  torch::manual_seed(seed);
  const auto pixels = torch::randint(0, 256, {n, h, w}, torch::kByte);
  for (int i = 0; i < n; ++i) {
    auto image = std::make_shared<io::GrayImage>(w, h);
    const std::uint8_t* from = pixels.data_ptr<std::uint8_t>() + i * h * w;
    std::copy(from, from + h * w, image->pixels.begin());
    b->images.push_back(std::move(image));
  }
  b->tokens.assign(static_cast<std::size_t>(n) * t, 0);
  for (int i = 0; i < n; ++i) {
    const int len = t - (i % 3);  // <sos> ... <eos>, then padding
    b->tokens[i * t] = kSos;
    for (int j = 1; j + 1 < len; ++j) b->tokens[i * t + j] = 4 + (i * 7 + j * 3) % (kVocab - 4);
    b->tokens[i * t + len - 1] = kEos;
    b->lengths.push_back(len);
    b->ids.push_back("img" + std::to_string(i));
  }
  return b;
}

struct Model {
  ResNetEncoder encoder{nullptr};
  CaptionDecoder decoder{nullptr};
};

// The same weights on every call (seeded on the CPU, then moved), dropout off.
Model make_model(const torch::Device& device) {
  Model m;
  torch::manual_seed(7);
  m.encoder = ResNetEncoder(EncoderOptions{});
  DecoderOptions d;
  d.vocab_size = kVocab;
  d.embed = 32, d.hidden = 64, d.attention = 32, d.dropout = 0.0;
  d.encoder_channels = m.encoder->feature_channels();
  torch::manual_seed(8);
  m.decoder = make_decoder(d);
  m.encoder->to(device);
  m.decoder->to(device);
  to_channels_last(*m.encoder);
  m.encoder->train();
  m.decoder->train();
  return m;
}

struct Outputs {
  torch::Tensor features, logits, loss, encoder_grad, decoder_grad;
};

// One training forward and backward, as the encode, lstm and backward nodes run it.
Outputs train_step(Model& m, const DeviceBatch& batch, Precision precision) {
  batch.wait();
  Outputs o;
  {
    AutocastGuard autocast(precision, batch.input.device().type());
    o.features = m.encoder->forward(batch.input);
    o.logits = m.decoder->forward(o.features, batch.tokens);
  }
  o.loss = caption_loss(o.logits.to(torch::kFloat), batch.tokens);
  o.loss.backward();
  o.encoder_grad = m.encoder->named_parameters()["conv1.weight"].grad();
  o.decoder_grad = m.decoder->parameters().front().grad();
  return o;
}

// max |a - b| relative to max |b|.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.detach().to(torch::kCPU, torch::kDouble),
             y = b.detach().to(torch::kCPU, torch::kDouble);
  return (x - y).abs().max().item<double>() / std::max(1e-12, y.abs().max().item<double>());
}

void expect_backends_agree(Precision precision, double tolerance) {
  // fp32 on the GPU without TF32, so the comparison measures the backends, not the format.
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
  const auto host = make_batch(4, 64, 64, 12, 3);
  Model cpu = make_model(torch::kCPU);
  Model gpu = make_model(torch::Device(torch::kCUDA, 0));
  DeviceStager to_cpu(torch::kCPU, true), to_gpu(torch::Device(torch::kCUDA, 0), true);
  const Outputs a = train_step(cpu, to_cpu.stage(host), precision);
  const Outputs b = train_step(gpu, to_gpu.stage(host), precision);
  ASSERT_TRUE(b.features.is_cuda());
  EXPECT_EQ(a.features.sizes(), b.features.sizes());
  EXPECT_LT(relative_error(b.features, a.features), tolerance) << "encoder features";
  EXPECT_LT(relative_error(b.logits, a.logits), tolerance) << "decoder logits";
  EXPECT_NEAR(b.loss.item<double>(), a.loss.item<double>(), tolerance * a.loss.item<double>())
      << "loss";
  EXPECT_LT(relative_error(b.encoder_grad, a.encoder_grad), 4 * tolerance)
      << "encoder conv1 gradient";
  EXPECT_LT(relative_error(b.decoder_grad, a.decoder_grad), 4 * tolerance) << "decoder gradient";
}

TEST(CudaBackends, EncodeAndLstmMatchTheCpuInFp32) {
  SKIP_WITHOUT_CUDA();
  expect_backends_agree(Precision::kFp32, 2e-3);
}

TEST(CudaBackends, EncodeAndLstmMatchTheCpuInBf16) {
  SKIP_WITHOUT_CUDA();
  expect_backends_agree(Precision::kBf16, 6e-2);
}

TEST(CudaBackends, AutocastComputesInBf16OnTheGpu) {
  SKIP_WITHOUT_CUDA();
  const auto x = torch::ones({8, 8}, torch::Device(torch::kCUDA, 0));
  {
    AutocastGuard guard(Precision::kBf16, c10::DeviceType::CUDA);
    EXPECT_EQ(torch::matmul(x, x).scalar_type(), torch::kBFloat16);
    ASSERT_TRUE(active_autocast_dtype(x).has_value());
    EXPECT_EQ(*active_autocast_dtype(x), torch::kBFloat16);
  }
  EXPECT_EQ(torch::matmul(x, x).scalar_type(), torch::kFloat);
  EXPECT_FALSE(active_autocast_dtype(x).has_value());
}

TEST(CudaBackends, StagedBatchEqualsTheHostConversion) {
  SKIP_WITHOUT_CUDA();
  const auto host = make_batch(3, 40, 56, 9, 11);
  for (const bool channels_last : {true, false}) {
    DeviceStager to_gpu(torch::Device(torch::kCUDA, 0), channels_last);
    const DeviceBatch d = to_gpu.stage(host);
    ASSERT_NE(d.ready, nullptr);
    d.wait();
    EXPECT_TRUE(d.input.is_cuda());
    const torch::Tensor expected =
        to_model_input(host->contiguous_pixels().data(), 3, 40, 56, channels_last);
    EXPECT_TRUE(torch::equal(d.input.cpu(), expected));
    EXPECT_EQ(d.input.is_contiguous(at::MemoryFormat::ChannelsLast), channels_last);
    EXPECT_TRUE(torch::equal(d.tokens.cpu(), torch::tensor(host->tokens).view({3, 9})));
  }
}

TEST(CudaBackends, GreedyDecodingAndBeamSearchRunOnTheGpu) {
  SKIP_WITHOUT_CUDA();
  Model gpu = make_model(torch::Device(torch::kCUDA, 0));
  gpu.encoder->eval();
  gpu.decoder->eval();
  torch::NoGradGuard no_grad;
  DeviceStager to_gpu(torch::Device(torch::kCUDA, 0), true);
  const DeviceBatch d = to_gpu.stage(make_batch(3, 64, 64, 5, 2));
  d.wait();
  const torch::Tensor features = gpu.encoder->forward(d.input);
  EXPECT_EQ(greedy_decode(*gpu.decoder, features, 6, kSos, kEos).size(), 3u);
  EXPECT_EQ(beam_search(*gpu.decoder, features, 3, 6, kSos, kEos).size(), 3u);
}

TEST(CudaBackends, AGpuModelsWeightsLoadOnTheCpu) {
  SKIP_WITHOUT_CUDA();
  Model gpu = make_model(torch::Device(torch::kCUDA, 0));
  torch::serialize::OutputArchive out;
  save_module_archive(*gpu.encoder, "encoder", out);
  const std::string path =
      (std::filesystem::temp_directory_path() / "capflow_cuda_weights.pt").string();
  out.save_to(path);
  Model cpu = make_model(torch::kCPU);
  for (auto& p : cpu.encoder->parameters()) p.data().zero_();
  torch::serialize::InputArchive in;
  in.load_from(path, torch::Device(torch::kCPU));
  load_module_archive(*cpu.encoder, "encoder", in, path);
  std::remove(path.c_str());
  EXPECT_TRUE(torch::equal(cpu.encoder->named_parameters()["conv1.weight"],
                           gpu.encoder->named_parameters()["conv1.weight"].cpu()));
}

// --- everywhere -------------------------------------------------------------------------------

TEST(DeviceStaging, OnTheCpuItIsTheModelInput) {
  const auto host = make_batch(2, 16, 24, 6, 5);
  DeviceStager to_cpu(torch::kCPU, true);
  const DeviceBatch d = to_cpu.stage(host);
  EXPECT_EQ(d.ready, nullptr);
  d.wait();  // nothing to wait for
  EXPECT_TRUE(
      torch::equal(d.input, to_model_input(host->contiguous_pixels().data(), 2, 16, 24, true)));
  EXPECT_TRUE(torch::equal(d.tokens, torch::tensor(host->tokens).view({2, 6})));
  EXPECT_EQ(d.host, host);
}

TEST(DeviceStaging, DeviceNames) {
  EXPECT_TRUE(node_device("cpu").is_cpu());
  EXPECT_THROW(node_device("tpu"), ConfigError);
  if (torch::cuda::is_available()) {
    EXPECT_TRUE(node_device("cuda").is_cuda());
  } else {
    try {
      node_device("cuda");
      FAIL() << "device cuda without a GPU must be a configuration error";
    } catch (const ConfigError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(cuda_built() ? "no CUDA device" : "this build has no CUDA"),
                std::string::npos)
          << message;
    }
  }
}

}  // namespace
}  // namespace capflow::model
