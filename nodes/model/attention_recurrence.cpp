// The attention LSTM's teacher-forced recurrence with a hand-written backward (see
// attention_recurrence.h).
#include "nodes/model/attention_recurrence.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <utility>

#include "nodes/model/attention_context.h"
#include "nodes/model/attention_kernels.h"
#include "nodes/model/lstm_cell_kernels.h"
#include "nodes/model/precision.h"
#include "nodes/model/step_weight.h"

namespace capflow::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The row buffers that the weight gradients multiply over are padded with zero rows to a
// multiple of this: oneDNN makes (and caches) one matmul primitive per shape, and the
// caption lengths would otherwise give a new shape almost every batch.
constexpr int64_t kRowQuantum = 256;

// Sizes of one call and where each step's rows start in the [Σ active, ...] buffers.
struct Shape {
  int64_t T = 0, N = 0, P = 0, C = 0, A = 0, H = 0, G = 0, total = 0, padded = 0;
  std::vector<int64_t> active, offset;

  // features [N, P, C]; A attention, H hidden size; one active count per step.
  Shape(const at::Tensor& features, int64_t attention, int64_t hidden, std::vector<int64_t> rows)
      : N(features.size(0)),
        P(features.size(1)),
        C(features.size(2)),
        A(attention),
        H(hidden),
        G(A + C + 4 * H),
        active(std::move(rows)) {
    T = static_cast<int64_t>(active.size());
    offset.reserve(active.size());
    for (const int64_t n : active) {
      offset.push_back(total);
      total += n;
    }
    padded = (total + kRowQuantum - 1) / kRowQuantum * kRowQuantum;
  }
};

void check_inputs(const RecurrenceInputs& in) {
  TORCH_CHECK(in.features.dim() == 3 && in.enc_proj.dim() == 3 && in.in_gates.dim() == 3,
              "attention recurrence: features [N, P, C], enc_proj [N, P, A] and in_gates "
              "[T, N, 4H] expected, got ",
              in.features.sizes(), ", ", in.enc_proj.sizes(), ", ", in.in_gates.sizes());
  TORCH_CHECK(in.h0.dim() == 2 && in.c0.dim() == 2,
              "attention recurrence: h0 and c0 must be float [N, H]");
  const int64_t N = in.features.size(0), P = in.features.size(1), C = in.features.size(2);
  const int64_t A = in.enc_proj.size(2), H = in.h0.size(1);
  TORCH_CHECK(in.enc_proj.size(0) == N && in.enc_proj.size(1) == P &&
                  in.enc_proj.scalar_type() == in.features.scalar_type(),
              "attention recurrence: enc_proj must be [N, P, A] in the features' dtype");
  TORCH_CHECK(in.in_gates.size(1) == N && in.in_gates.size(2) == 4 * H &&
                  in.in_gates.scalar_type() == at::kFloat,
              "attention recurrence: in_gates must be float [T, N, 4H]");
  TORCH_CHECK(in.h0.sizes() == in.c0.sizes() && in.h0.size(0) == N &&
                  in.h0.scalar_type() == at::kFloat && in.c0.scalar_type() == at::kFloat,
              "attention recurrence: h0 and c0 must be float [N, H]");
  TORCH_CHECK(in.hidden_w.sizes() == at::IntArrayRef({A + C + 4 * H, H}) &&
                  in.hidden_b.sizes() == at::IntArrayRef({A + C + 4 * H}) &&
                  in.context_w.sizes() == at::IntArrayRef({4 * H, C}) &&
                  in.score_w.sizes() == at::IntArrayRef({1, A}),
              "attention recurrence: weight shapes do not match A=", A, " C=", C, " H=", H);
  TORCH_CHECK(static_cast<int64_t>(in.active.size()) == in.in_gates.size(0),
              "attention recurrence: one active count per step expected");
  int64_t previous = N;
  for (const int64_t n : in.active) {
    TORCH_CHECK(n >= 0 && n <= previous,
                "attention recurrence: active rows must be "
                "non-increasing within [0, N]");
    previous = n;
  }
}

class AttentionLstmRecurrence : public torch::autograd::Function<AttentionLstmRecurrence> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& features,
                               const at::Tensor& enc_proj, const at::Tensor& in_gates,
                               const at::Tensor& h0, const at::Tensor& c0,
                               const at::Tensor& hidden_w, const at::Tensor& hidden_b,
                               const at::Tensor& context_w, const at::Tensor& score_w,
                               std::vector<int64_t> active) {
    AutocastGuard no_autocast(Precision::kFp32, features.device().type());
    const Shape s(features, enc_proj.size(2), h0.size(1), std::move(active));
    const int64_t A = s.A, C = s.C, H = s.H, P = s.P;
    const auto cd = features.options();  // compute dtype (bf16 under autocast)
    const auto fl = h0.options().dtype(at::kFloat);
    // The weights in the compute dtype, once for all steps.
    const StepWeight wh(hidden_w.to(features.scalar_type()), /*transposed=*/true);
    const auto bh = hidden_b.to(features.scalar_type());
    const StepWeight wc(context_w.to(features.scalar_type()), /*transposed=*/true);
    const auto ws = score_w.to(features.scalar_type()).reshape({A});
    // What backward needs, rows of step t at [offset[t], offset[t] + active[t]).
    auto hprev = at::empty({s.padded, H}, cd);  // h before the step (input of every projection)
    auto beta = at::empty({s.total, C}, cd);
    auto context = at::empty({s.total, C}, cd);
    auto gated = at::empty({s.padded, C}, cd);  // β ⊙ context
    hprev.narrow(0, s.total, s.padded - s.total).zero_();
    gated.narrow(0, s.total, s.padded - s.total).zero_();
    auto tanh_att = at::empty({s.total, P, A}, cd);
    auto alpha = at::zeros({s.T, s.N, P}, cd);   // [T, N, P]: one batched matmul in backward
    auto act = at::empty({s.total, 4 * H}, fl);  // activated gates
    auto cells = at::empty({s.total, H}, fl);
    auto hs = at::zeros({s.T, s.N, H}, fl);

    at::Tensor h = h0, c = c0;
    for (int64_t t = 0; t < s.T; ++t) {
      const int64_t n = s.active[t], o = s.offset[t];
      if (n == 0) break;
      auto hb = hprev.narrow(0, o, n);
      hb.copy_(h.narrow(0, 0, n));
      const auto hp = wh.times(hb, bh);  // [n, A + C + 4H]
      auto u = tanh_att.narrow(0, o, n);
      auto scores = at::empty({n, P}, fl);
      attention_scores(enc_proj.narrow(0, 0, n), hp.narrow(1, 0, A), ws, u, scores);
      auto a = alpha[t].narrow(0, 0, n);
      auto b = beta.narrow(0, o, n), ctx_t = context.narrow(0, o, n), z = gated.narrow(0, o, n);
      attention_context(at::_softmax(scores, 1, false), features.narrow(0, 0, n),
                        hp.narrow(1, A, C), a, b, ctx_t, z);
      auto g = act.narrow(0, o, n);
      at::add_out(g, in_gates[t].narrow(0, 0, n), hp.narrow(1, A + C, 4 * H));
      wc.into(z, g, /*accumulate=*/true);
      auto cn = cells.narrow(0, o, n);
      auto hn = hs[t].narrow(0, 0, n);
      lstm_cell_forward(g, c.narrow(0, 0, n), cn, hn);
      h = hn;
      c = cn;
    }
    // The inputs under autograd's version check (a weight changed in place before backward is
    // an error, not a wrong gradient); the buffers made here in saved_data.
    ctx->save_for_backward({features, c0, hidden_w, context_w, score_w});
    for (auto& [name, tensor] : {std::pair<const char*, at::Tensor>{"hprev", hprev},
                                 {"beta", beta},
                                 {"context", context},
                                 {"gated", gated},
                                 {"tanh_att", tanh_att},
                                 {"alpha", alpha},
                                 {"act", act},
                                 {"cells", cells}}) {
      ctx->saved_data[name] = tensor;
    }
    ctx->saved_data["active"] = s.active;
    ctx->saved_data["attention"] = A;
    return {hs};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto& features = saved[0];
    const auto& c0 = saved[1];
    const StepWeight wh(saved[2].to(features.scalar_type()), /*transposed=*/false);
    const StepWeight wc(saved[3].to(features.scalar_type()), /*transposed=*/false);
    const auto ws = saved[4].to(features.scalar_type()).reshape({-1});
    auto get = [&](const char* name) { return ctx->saved_data.at(name).toTensor(); };
    const auto hprev = get("hprev");
    const auto beta = get("beta"), context = get("context"), gated = get("gated");
    const auto tanh_att = get("tanh_att"), alpha = get("alpha"), act = get("act");
    const auto cells = get("cells");
    AutocastGuard no_autocast(Precision::kFp32, features.device().type());
    const Shape s(features, ctx->saved_data.at("attention").toInt(), cells.size(1),
                  ctx->saved_data.at("active").toIntVector());
    const int64_t T = s.T, N = s.N, P = s.P, C = s.C, A = s.A, H = s.H;
    const bool features_grad = ctx->needs_input_grad(0);
    const auto cd = features.options();
    const auto fl = c0.options().dtype(at::kFloat);
    const auto grad_hs = grad_outputs[0].contiguous();  // [T, N, H] float

    auto d_proj = at::empty({s.padded, s.G}, cd);  // per-step gradients of the hidden projections
    d_proj.narrow(0, s.total, s.padded - s.total).zero_();
    auto d_ws = at::zeros({A}, fl);
    auto d_context = features_grad ? at::zeros({T, N, C}, cd) : at::Tensor();
    auto d_enc = at::zeros({N, P, A}, fl);
    auto d_in = at::zeros({T, N, 4 * H}, fl);
    auto dh = at::zeros({N, H}, fl);  // carried from step t + 1 to step t
    auto dc = at::zeros({N, H}, fl);
    for (int64_t t = s.T - 1; t >= 0; --t) {
      const int64_t n = s.active[t], o = s.offset[t];
      if (n == 0) continue;
      // LSTM cell.
      const auto c_prev = t > 0 ? cells.narrow(0, s.offset[t - 1], n) : c0.narrow(0, 0, n);
      auto dg = d_in[t].narrow(0, 0, n);  // pre-activation gates
      auto dc_rows = dc.narrow(0, 0, n);
      auto dp = d_proj.narrow(0, o, n);  // [n, A | C | 4H]
      auto dp_att = dp.narrow(1, 0, A), dp_beta = dp.narrow(1, A, C),
           dp_gates = dp.narrow(1, A + C, 4 * H);
      lstm_cell_backward(act.narrow(0, o, n), c_prev, cells.narrow(0, o, n),
                         grad_hs[t].narrow(0, 0, n), dh.narrow(0, 0, n), dc_rows, dg, dp_gates);
      // Context gate and soft attention.
      const auto dz = wc.times(dp_gates);  // [n, C]
      auto d_ctx = features_grad ? d_context[t].narrow(0, 0, n) : at::empty({n, C}, cd);
      auto ds = at::empty({n, P}, fl);
      attention_context_backward(dz, beta.narrow(0, o, n), context.narrow(0, o, n),
                                 alpha[t].narrow(0, 0, n), features.narrow(0, 0, n), d_ctx, dp_beta,
                                 ds);
      auto d_enc_rows = d_enc.narrow(0, 0, n);
      attention_scores_backward(tanh_att.narrow(0, o, n), ds, ws, d_enc_rows, dp_att, d_ws);
      auto dh_rows = dh.narrow(0, 0, n);
      wh.into(dp, dh_rows, /*accumulate=*/false);
    }
    // Weight gradients: one matmul each over the rows of all steps.
    const auto d_wh = at::mm(d_proj.t(), hprev).to(at::kFloat);
    const auto d_bh = d_proj.sum(0, /*keepdim=*/false, at::kFloat);
    const auto d_wc = at::mm(d_proj.narrow(1, A + C, 4 * H).t(), gated).to(at::kFloat);
    at::Tensor d_features;
    if (features_grad) {  // Σ_t α_t ⊗ dcontext_t per image: [N, P, T] × [N, T, C]
      d_features = at::bmm(alpha.permute({1, 2, 0}), d_context.permute({1, 0, 2}));
    }
    return {d_features,
            d_enc.to(features.scalar_type()),
            d_in,
            dh,
            dc,
            d_wh,
            d_bh,
            d_wc,
            d_ws.view({1, A}),
            at::Tensor()};
  }
};

}  // namespace

at::Tensor attention_lstm_recurrence(const RecurrenceInputs& in) {
  check_inputs(in);
  return AttentionLstmRecurrence::apply(in.features, in.enc_proj, in.in_gates, in.h0, in.c0,
                                        in.hidden_w, in.hidden_b, in.context_w, in.score_w,
                                        in.active)[0];
}

}  // namespace capflow::model
