// TorchScript export of the encoder and decoder (see torchscript_export.h).
#include "nodes/model/torchscript_export.h"

#include <fcntl.h>
#include <torch/script.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace capflow::model {
namespace {

std::string script_name(std::string name) {
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

// Registers every parameter and buffer of `module` on `script` under its script name.
void register_weights(const torch::nn::Module& module, torch::jit::Module& script) {
  for (const auto& p : module.named_parameters()) {
    script.register_parameter(script_name(p.key()), p.value().detach().contiguous().clone(),
                              /*is_buffer=*/false);
  }
  for (const auto& b : module.named_buffers()) {
    script.register_buffer(script_name(b.key()), b.value().detach().contiguous().clone());
  }
}

void save_atomically(const torch::jit::Module& script, const std::string& path) {
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  try {
    script.save(tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write " + path + ": " + e.what_without_backtrace());
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write " + path + ": " + ec.message());
  }
}

// "torch.relu(torch.batch_norm(x, ...))" for the batch norm module called `bn`.
std::string batch_norm(const std::string& x, const std::string& bn, double eps) {
  const auto n = "self." + script_name(bn);
  std::ostringstream s;
  s << "torch.batch_norm(" << x << ", " << n << "_weight, " << n << "_bias, " << n
    << "_running_mean, " << n << "_running_var, False, 0.0, " << eps << ", False)";
  return s.str();
}

std::string conv(const std::string& x, const std::string& name, int stride, int pad) {
  std::ostringstream s;
  s << "torch.conv2d(" << x << ", self." << script_name(name) << "_weight, None, [" << stride
    << ", " << stride << "], [" << pad << ", " << pad << "])";
  return s.str();
}

}  // namespace

void export_encoder_torchscript(ResNetEncoder& encoder, const std::string& path) {
  torch::jit::Module script("CapflowResNetEncoder");
  register_weights(*encoder, script);
  const double eps = encoder->bn1->options.eps();
  std::ostringstream src;
  src.precision(17);
  src << "def forward(self, x: Tensor) -> Tensor:\n"
      << "    x = torch.relu(" << batch_norm(conv("x", "conv1", 2, 3), "bn1", eps) << ")\n"
      << "    x = torch.max_pool2d(x, [3, 3], [2, 2], [1, 1])\n";
  for (size_t l = 0; l < encoder->layers().size(); ++l) {
    const auto& layer = encoder->layers()[l];
    for (size_t b = 0; b < layer->size(); ++b) {
      const auto& block = *layer->ptr(b)->as<BasicBlockImpl>();
      const std::string p = "layer" + std::to_string(l + 1) + "." + std::to_string(b) + ".";
      src << "    out = torch.relu("
          << batch_norm(conv("x", p + "conv1", block.stride(), 1), p + "bn1", eps) << ")\n"
          << "    out = " << batch_norm(conv("out", p + "conv2", 1, 1), p + "bn2", eps) << "\n";
      if (block.has_downsample()) {
        src << "    x = "
            << batch_norm(conv("x", p + "downsample.0", block.stride(), 0), p + "downsample.1", eps)
            << "\n";
      }
      src << "    x = torch.relu(out + x)\n";
    }
  }
  src << "    return x\n";
  script.define(src.str());
  save_atomically(script, path);
}

void export_decoder_torchscript(AttentionDecoder& decoder, const std::string& path) {
  const auto& o = decoder->options();
  torch::jit::Module script("CapflowAttentionDecoder");
  register_weights(*decoder, script);
  for (const auto& [name, value] : {std::pair<const char*, int>{"vocab_size", o.vocab_size},
                                    {"embed", o.embed},
                                    {"hidden", o.hidden},
                                    {"attention", o.attention},
                                    {"encoder_channels", o.encoder_channels}}) {
    script.register_attribute(name, c10::IntType::get(), int64_t{value});
  }
  const auto A = std::to_string(o.attention), C = std::to_string(o.encoder_channels);
  const auto H4 = std::to_string(4 * o.hidden);
  const auto AC = std::to_string(o.attention + o.encoder_channels);
  // The same computation as AttentionDecoderImpl (attention_decoder.cpp), in eval mode.
  const std::string src = R"(
def init_state(self, features: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    feats = features.permute(0, 2, 3, 1).reshape(features.size(0), -1, features.size(1))
    enc_proj = torch.linear(feats, self.enc_att_weight, self.enc_att_bias)
    mean = feats.mean(1)
    h = torch.linear(mean, self.init_h_weight, self.init_h_bias)
    c = torch.linear(mean, self.init_c_weight, self.init_c_bias)
    return feats, enc_proj, h, c

def cell(self, feats: Tensor, enc_proj: Tensor, in_gates: Tensor, h: Tensor,
         c: Tensor) -> Tuple[Tensor, Tensor]:
    hp = torch.linear(h, self.hidden_proj_weight, self.hidden_proj_bias)
    dec_att = hp.narrow(1, 0, )" +
                          A + R"()
    beta = torch.sigmoid(hp.narrow(1, )" +
                          A + ", " + C + R"())
    hh_gates = hp.narrow(1, )" +
                          AC + ", " + H4 + R"()
    att = torch.tanh(enc_proj + dec_att.unsqueeze(1))
    scores = torch.linear(att, self.full_att_weight).squeeze(2)
    alpha = torch.softmax(scores, 1)
    context = torch.bmm(alpha.unsqueeze(1), feats).squeeze(1)
    gates = in_gates + hh_gates + torch.linear(beta * context, self.context_gates_weight)
    chunks = gates.chunk(4, 1)
    c = torch.sigmoid(chunks[1]) * c + torch.sigmoid(chunks[0]) * torch.tanh(chunks[2])
    h = torch.sigmoid(chunks[3]) * torch.tanh(c)
    return h, c

def step(self, feats: Tensor, enc_proj: Tensor, h: Tensor, c: Tensor,
         tokens: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    emb = torch.embedding(self.embedding_weight, tokens)
    in_gates = torch.linear(emb, self.embed_gates_weight, self.embed_gates_bias)
    h, c = self.cell(feats, enc_proj, in_gates, h, c)
    log_probs = torch.log_softmax(torch.linear(h, self.fc_weight, self.fc_bias), 1)
    return log_probs, h, c

def forward(self, features: Tensor, tokens: Tensor) -> Tensor:
    feats, enc_proj, h, c = self.init_state(features)
    steps = tokens.size(1) - 1
    emb = torch.embedding(self.embedding_weight, tokens.narrow(1, 0, steps))
    in_gates = torch.linear(emb, self.embed_gates_weight, self.embed_gates_bias)
    hs: List[Tensor] = []
    for t in range(steps):
        h, c = self.cell(feats, enc_proj, in_gates.select(1, t), h, c)
        hs.append(h)
    return torch.linear(torch.stack(hs, 1), self.fc_weight, self.fc_bias)

def greedy(self, features: Tensor, max_length: int, sos: int = 1, eos: int = 2) -> Tensor:
    feats, enc_proj, h, c = self.init_state(features)
    n = feats.size(0)
    tokens = feats.new_full([n], sos).long()
    finished = tokens.eq(-1)
    out: List[Tensor] = []
    for t in range(max_length):
        log_probs, h, c = self.step(feats, enc_proj, h, c, tokens)
        tokens = log_probs.argmax(1)
        out.append(torch.where(finished, torch.zeros_like(tokens), tokens))
        finished = finished | (tokens == eos)
        if bool(finished.all()):
            break
    if len(out) == 0:
        return tokens.new_zeros([n, 0])
    return torch.stack(out, 1)
)";
  script.define(src);
  save_atomically(script, path);
}

}  // namespace capflow::model
