// The tanh of the hand-written CPU loops of the model kernels: a rational minimax approximation
// on [-7.9, 7.9] (odd degree-13 numerator over even degree-6 denominator), held at its end value
// beyond (tanh(7.9) is 1 − 3e-7); absolute error below 5e-7. Pure multiply-add and one division,
// so loops over it vectorize (compiled with -fno-trapping-math: GCC vectorizes the division only
// when it may compute it on lanes where the scalar code would not).
#pragma once

#include <algorithm>

namespace capflow::model::cpu {

inline float rational_tanh(float x) {
  constexpr float kClamp = 7.90531110763549805f;
  x = std::min(std::max(x, -kClamp), kClamp);
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 - 8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return x * p / q;
}

// σ(x) = (1 + tanh(x / 2)) / 2, absolute error below 2.5e-7.
inline float rational_sigmoid(float x) { return 0.5f + 0.5f * rational_tanh(0.5f * x); }

}  // namespace capflow::model::cpu
