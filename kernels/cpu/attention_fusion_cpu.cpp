// attention_fusion CPU driver. The forward loops over (roi, channel) rows and calls the element
// math on each contiguous (y, x) run: the same function the CUDA kernel calls per index, with the
// index decomposition hoisted out so that the inner loop vectorises (exp_nonpositive is written
// for that). The backward fuses the GPU's three passes into one sweep per roi; the element path
// (attention_fusion_*_elements_cpu, below) is kept for the tests that compare the two.
// The loops vectorise only because the CPU kernels are compiled with -fno-trapping-math (see
// kernels/CMakeLists.txt): under GCC's default the selects of the gate stay scalar.
#include <new>
#include <vector>

#include "cellrt/kernels/attention_fusion/attention_fusion.h"
#include "cellrt/kernels/attention_fusion/attention_fusion_element.h"

namespace cellrt {

namespace {

using Acc = double;  // CPU sums are accumulated in double for float and double inputs

// Per-(roi, channel) partial sums of grad_weight and grad_bias, reduced over the rois in a fixed
// order by the element function the CUDA backward's second stage runs.
struct ParamPartials {
  std::vector<Acc> w, b;

  Status allocate(const AttentionFusionParams& p) {
    try {
      w.resize(static_cast<size_t>(p.rois * p.channels));
      b.resize(static_cast<size_t>(p.rois * p.channels));
    } catch (const std::bad_alloc&) {
      return Status::kOutOfMemory;
    }
    return Status::kOk;
  }

  template <typename T>
  void reduce(const AttentionFusionParams& p, T* grad_weight, T* grad_bias) const {
    for (int64_t c = 0; c < p.channels; ++c) {
      attention_fusion_param_reduce_element<T, Acc>(p, w.data(), b.data(), grad_weight,
                                                    grad_bias, c);
    }
  }
};

}  // namespace

template <typename T>
Status attention_fusion_forward_cpu(const AttentionFusionParams& p, const T* features,
                                    const T* mask, const T* weight, const T* bias, T* out) {
  using M = attention_math_t<T>;
  const int64_t plane = p.plane();
  const int64_t rows = p.rois * p.channels;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t r = row / p.channels;
    const int64_t c = row % p.channels;
    const T* f = features + row * plane;
    const T* m = mask + r * plane;
    T* o = out + row * plane;
    const M w = static_cast<M>(weight[c]);
    const M b = static_cast<M>(bias[c]);
#pragma omp simd
    for (int64_t k = 0; k < plane; ++k) {
      o[k] = static_cast<T>(
          attention_fusion_gated<M>(static_cast<M>(f[k]), static_cast<M>(m[k]), w, b));
    }
  }
  return Status::kOk;
}

template <typename T>
Status attention_fusion_backward_cpu(const AttentionFusionParams& p, const T* grad_out,
                                     const T* features, const T* mask, const T* weight,
                                     const T* bias, T* grad_features, T* grad_mask,
                                     T* grad_weight, T* grad_bias) {
  using M = attention_math_t<T>;
  const int64_t plane = p.plane();
  std::vector<Acc> mask_acc;
  ParamPartials partial;
  try {
    mask_acc.resize(static_cast<size_t>(p.rois * plane));
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  if (partial.allocate(p) != Status::kOk) return Status::kOutOfMemory;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < p.rois; ++r) {
    Acc* acc = mask_acc.data() + r * plane;
    const T* m = mask + r * plane;
    for (int64_t c = 0; c < p.channels; ++c) {
      const int64_t row = r * p.channels + c;
      const T* go = grad_out + row * plane;
      const T* f = features + row * plane;
      T* gf = grad_features + row * plane;
      const M w = static_cast<M>(weight[c]);
      const M b = static_cast<M>(bias[c]);
      Acc sum_w = Acc(0);
      Acc sum_b = Acc(0);
#pragma omp simd reduction(+ : sum_w, sum_b)
      for (int64_t k = 0; k < plane; ++k) {
        const M mk = static_cast<M>(m[k]);
        const AttentionGrad<M> t = attention_fusion_grad_terms<M>(
            static_cast<M>(go[k]), static_cast<M>(f[k]), mk, w, b);
        gf[k] = static_cast<T>(t.grad_feature);
        acc[k] += static_cast<Acc>(t.grad_z * w);  // mask_acc was zeroed by resize()
        sum_w += static_cast<Acc>(t.grad_z * mk);
        sum_b += static_cast<Acc>(t.grad_z);
      }
      partial.w[row] = sum_w;
      partial.b[row] = sum_b;
    }
    T* gm = grad_mask + r * plane;
    for (int64_t k = 0; k < plane; ++k) gm[k] = static_cast<T>(acc[k]);
  }
  partial.reduce(p, grad_weight, grad_bias);
  return Status::kOk;
}

template <typename T>
Status attention_fusion_forward_elements_cpu(const AttentionFusionParams& p, const T* features,
                                             const T* mask, const T* weight, const T* bias,
                                             T* out) {
  const int64_t n = p.numel();
  for (int64_t i = 0; i < n; ++i) {
    attention_fusion_forward_element<T>(p, features, mask, weight, bias, out, i);
  }
  return Status::kOk;
}

template <typename T>
Status attention_fusion_backward_elements_cpu(const AttentionFusionParams& p, const T* grad_out,
                                              const T* features, const T* mask, const T* weight,
                                              const T* bias, T* grad_features, T* grad_mask,
                                              T* grad_weight, T* grad_bias) {
  ParamPartials partial;
  if (partial.allocate(p) != Status::kOk) return Status::kOutOfMemory;
  for (int64_t j = 0; j < p.rois * p.plane(); ++j) {
    attention_fusion_backward_input_element<T, Acc>(p, grad_out, features, mask, weight, bias,
                                                    grad_features, grad_mask, j);
  }
  for (int64_t q = 0; q < p.rois * p.channels; ++q) {
    attention_fusion_param_partial_element<T, Acc>(p, grad_out, features, mask, weight, bias,
                                                   partial.w.data(), partial.b.data(), q);
  }
  partial.reduce(p, grad_weight, grad_bias);
  return Status::kOk;
}

#define CELLRT_INSTANTIATE(T)                                                                   \
  template Status attention_fusion_forward_cpu<T>(const AttentionFusionParams&, const T*,       \
                                                  const T*, const T*, const T*, T*);            \
  template Status attention_fusion_backward_cpu<T>(const AttentionFusionParams&, const T*,      \
                                                   const T*, const T*, const T*, const T*, T*,  \
                                                   T*, T*, T*);                                 \
  template Status attention_fusion_forward_elements_cpu<T>(                                     \
      const AttentionFusionParams&, const T*, const T*, const T*, const T*, T*);                \
  template Status attention_fusion_backward_elements_cpu<T>(                                    \
      const AttentionFusionParams&, const T*, const T*, const T*, const T*, const T*, T*, T*,   \
      T*, T*);
CELLRT_INSTANTIATE(float)
CELLRT_INSTANTIATE(double)
#undef CELLRT_INSTANTIATE

}  // namespace cellrt
