// attention_fusion element functions: CP-Net-style mask-guided attention on RoI features,
//
//   out[r, c, y, x] = features[r, c, y, x] * (1 + sigmoid(weight[c] * mask[r, 0, y, x] + bias[c]))
//
// The instance mask logits act as a soft spatial cue: the gate lies in (1, 2), so features are
// amplified inside the instance and left as they are outside it, never cropped to zero.
// Layouts are dense row-major: features (R, C, H, W), mask (R, 1, H, W), weight and bias (C,).
//
// Every value is computed in the "math type" M (float for float and half, double for double);
// sums over many elements go into the caller's accumulator type Acc (double on the CPU, float on
// the GPU).
#pragma once

#include <cmath>
#include <cstdint>

#include "cellrt/kernels/attention_fusion/attention_fusion_params.h"
#include "cellrt/kernels/common/float_bits.h"
#include "cellrt/kernels/common/hd.h"

namespace cellrt {

template <typename T>
struct AttentionMath {
  using type = float;  // float and half compute in float
};
template <>
struct AttentionMath<double> {
  using type = double;
};
template <typename T>
using attention_math_t = typename AttentionMath<T>::type;

// exp(x) for x <= 0 (and NaN -> NaN), written so that the compiler can vectorise a loop over it
// (the libm expf call cannot be vectorised without -ffast-math, and the exp dominates the cost of
// this op). Range reduction x = k ln2 + r, |r| <= ln2/2, with ln2 split in two so that k * ln2_hi
// is exact; exp(r) by its Taylor polynomial of degree 7 (truncation error < 1e-8, below float
// resolution); 2^k built from exponent bits as two normal factors, so that results below FLT_MIN
// underflow gracefully to subnormals and then to 0. Branch-free on purpose: with branches GCC
// specialises the underflow case and then will not if-convert (vectorise) the caller's loop.
CELLRT_HD float exp_nonpositive(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;  // 15 significant bits: k * kLn2Hi is exact
  constexpr float kLn2Lo = 1.42860682030941723e-6f;
  constexpr float kMin = -110.0f;  // exp(-110) is below half the smallest subnormal: rounds to 0
  const float xc = x > kMin ? x : kMin;         // NaN -> kMin: keeps the int conversion defined
  const float k = floorf(xc * kLog2e + 0.5f);  // in [-159, 0]
  const float r = (xc - k * kLn2Hi) - k * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t k1 = static_cast<int32_t>(k) / 2;  // both halves >= -80: normal powers of two
  const int32_t k2 = static_cast<int32_t>(k) - k1;
  const float e = p * bits_to_float(static_cast<uint32_t>(k1 + 127) << 23) *
                  bits_to_float(static_cast<uint32_t>(k2 + 127) << 23);
  return x == x ? e : x;  // NaN in, NaN out
}

// double is the precision path (gradcheck, references): libm's exp, speed is not the point.
CELLRT_HD double exp_nonpositive(double x) { return exp(x); }

// sigmoid(z) and its derivative sigmoid(z) * (1 - sigmoid(z)), for any z.
template <typename M>
struct AttentionGate {
  M s;
  M ds;
};

// Numerically stable for every z: exp is only ever taken of -|z| <= 0, so it cannot overflow;
// z = +inf gives (1, 0), z = -inf gives (0, 0), and NaN gives NaN. The derivative is
// e / (1 + e)^2 rather than s * (1 - s), which would cancel catastrophically for large z.
template <typename M>
CELLRT_HD AttentionGate<M> attention_gate(M z) {
  const M a = z < M(0) ? -z : z;  // |z|; NaN stays NaN
  const M e = exp_nonpositive(-a);
  const M inv = M(1) / (M(1) + e);
  return {inv * (z < M(0) ? e : M(1)), e * inv * inv};  // a select, not a branch
}

// The gated value of one feature element.
template <typename M>
CELLRT_HD M attention_fusion_gated(M feature, M mask, M weight, M bias) {
  return feature * (M(1) + attention_gate(weight * mask + bias).s);
}

// One output element out[i], i in [0, R*C*H*W).
template <typename T>
CELLRT_HD void attention_fusion_forward_element(const AttentionFusionParams& p, const T* features,
                                                const T* mask, const T* weight, const T* bias,
                                                T* out, int64_t i) {
  using M = attention_math_t<T>;
  const int64_t plane = p.plane();
  const int64_t c = (i / plane) % p.channels;
  const int64_t r = i / (plane * p.channels);
  const M m = static_cast<M>(mask[r * plane + i % plane]);
  out[i] = static_cast<T>(attention_fusion_gated<M>(static_cast<M>(features[i]), m,
                                                    static_cast<M>(weight[c]),
                                                    static_cast<M>(bias[c])));
}

// Backward of one element given the incoming gradient g = dL/dout:
//   dL/dfeature = g * (1 + s)
//   dL/dz       = g * feature * s * (1 - s), z = weight * mask + bias,
// from which dL/dmask += dL/dz * weight[c] (summed over c), dL/dweight[c] += dL/dz * mask and
// dL/dbias[c] += dL/dz (summed over r, y, x).
template <typename M>
struct AttentionGrad {
  M grad_feature;
  M grad_z;
};

template <typename M>
CELLRT_HD AttentionGrad<M> attention_fusion_grad_terms(M grad_out, M feature, M mask, M weight,
                                                       M bias) {
  const AttentionGate<M> g = attention_gate(weight * mask + bias);
  return {grad_out * (M(1) + g.s), grad_out * feature * g.ds};
}

// Element j in [0, R*H*W) of the input gradients: writes grad_features[r, :, y, x] (elementwise)
// and grad_mask[r, 0, y, x], the sum over channels, so no atomics are needed.
template <typename T, typename Acc>
CELLRT_HD void attention_fusion_backward_input_element(
    const AttentionFusionParams& p, const T* grad_out, const T* features, const T* mask,
    const T* weight, const T* bias, T* grad_features, T* grad_mask, int64_t j) {
  using M = attention_math_t<T>;
  const int64_t plane = p.plane();
  const int64_t r = j / plane;
  const int64_t k = j % plane;
  const M m = static_cast<M>(mask[j]);
  Acc acc = Acc(0);
  for (int64_t c = 0; c < p.channels; ++c) {
    const int64_t idx = (r * p.channels + c) * plane + k;
    const M w = static_cast<M>(weight[c]);
    const AttentionGrad<M> t = attention_fusion_grad_terms<M>(
        static_cast<M>(grad_out[idx]), static_cast<M>(features[idx]), m, w,
        static_cast<M>(bias[c]));
    grad_features[idx] = static_cast<T>(t.grad_feature);
    acc += static_cast<Acc>(t.grad_z * w);
  }
  grad_mask[j] = static_cast<T>(acc);
}

// Element q in [0, R*C) of the parameter gradients, first stage: the sums over (y, x) of one
// (roi, channel) plane, into partial_weight[q] and partial_bias[q]. A fixed two-stage reduction
// instead of atomics keeps the result deterministic.
template <typename T, typename Acc>
CELLRT_HD void attention_fusion_param_partial_element(
    const AttentionFusionParams& p, const T* grad_out, const T* features, const T* mask,
    const T* weight, const T* bias, Acc* partial_weight, Acc* partial_bias, int64_t q) {
  using M = attention_math_t<T>;
  const int64_t plane = p.plane();
  const int64_t r = q / p.channels;
  const int64_t c = q % p.channels;
  const M w = static_cast<M>(weight[c]);
  const M b = static_cast<M>(bias[c]);
  const T* go = grad_out + q * plane;
  const T* f = features + q * plane;
  const T* mr = mask + r * plane;
  Acc sum_w = Acc(0);
  Acc sum_b = Acc(0);
  for (int64_t k = 0; k < plane; ++k) {
    const M m = static_cast<M>(mr[k]);
    const AttentionGrad<M> t =
        attention_fusion_grad_terms<M>(static_cast<M>(go[k]), static_cast<M>(f[k]), m, w, b);
    sum_w += static_cast<Acc>(t.grad_z * m);
    sum_b += static_cast<Acc>(t.grad_z);
  }
  partial_weight[q] = sum_w;
  partial_bias[q] = sum_b;
}

// Element c in [0, C), second stage: grad_weight[c] and grad_bias[c] as sums over rois of the
// partials, in increasing roi order.
template <typename T, typename Acc>
CELLRT_HD void attention_fusion_param_reduce_element(const AttentionFusionParams& p,
                                                     const Acc* partial_weight,
                                                     const Acc* partial_bias, T* grad_weight,
                                                     T* grad_bias, int64_t c) {
  Acc sum_w = Acc(0);
  Acc sum_b = Acc(0);
  for (int64_t r = 0; r < p.rois; ++r) {
    sum_w += partial_weight[r * p.channels + c];
    sum_b += partial_bias[r * p.channels + c];
  }
  grad_weight[c] = static_cast<T>(sum_w);
  grad_bias[c] = static_cast<T>(sum_b);
}

}  // namespace cellrt
