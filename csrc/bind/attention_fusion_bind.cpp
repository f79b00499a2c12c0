// cellrt._core bindings of attention_fusion (forward and backward, float32 and float64), plus
// the element-path emulation of the GPU decomposition in _core.testing.
#include <algorithm>
#include <cstdint>
#include <string>

#include "cellrt/kernels/attention_fusion/attention_fusion.h"
#include "checks.h"

namespace cellrt::bind {

namespace {

constexpr const char* kOp = "attention_fusion";

// Validates ranks, shapes and dtypes (all inputs share the features' dtype) and returns the sizes.
AttentionFusionParams check_inputs(const py::array& features, const py::array& mask,
                                   const py::array& weight, const py::array& bias) {
  check_shape(kOp, "features", features, {-1, -1, -1, -1}, "(R, C, H, W)");
  AttentionFusionParams p;
  p.rois = features.shape(0);
  p.channels = features.shape(1);
  p.height = features.shape(2);
  p.width = features.shape(3);
  const std::string mask_shape = concat("(R, 1, H, W) = (", p.rois, ", 1, ", p.height, ", ",
                                        p.width, ")");
  check_shape(kOp, "mask_logits", mask, {p.rois, 1, p.height, p.width}, mask_shape.c_str());
  const std::string param_shape = concat("(C,) = (", p.channels, ",)");
  check_shape(kOp, "weight", weight, {p.channels}, param_shape.c_str());
  check_shape(kOp, "bias", bias, {p.channels}, param_shape.c_str());
  const py::dtype dt = features.dtype();
  if (!dt.equal(py::dtype::of<float>()) && !dt.equal(py::dtype::of<double>())) {
    throw py::type_error(concat(kOp, ": features must be float32 or float64, got ",
                                py::str(dt).cast<std::string>()));
  }
  const std::pair<const char*, const py::array*> others[] = {
      {"mask_logits", &mask}, {"weight", &weight}, {"bias", &bias}};
  for (const auto& [name, arr] : others) {
    if (!arr->dtype().equal(dt)) {
      throw py::type_error(concat(kOp, ": ", name, " must have the dtype of features (",
                                  py::str(dt).cast<std::string>(), "), got ",
                                  py::str(arr->dtype()).cast<std::string>()));
    }
  }
  return p;
}

template <typename T>
carray<T> dense(const py::array& a) {
  return carray<T>::ensure(a);
}

template <typename T, bool kElements>
py::array forward_typed(const AttentionFusionParams& p, const py::array& features_in,
                        const py::array& mask_in, const py::array& weight_in,
                        const py::array& bias_in) {
  const carray<T> f = dense<T>(features_in);
  const carray<T> m = dense<T>(mask_in);
  const carray<T> w = dense<T>(weight_in);
  const carray<T> b = dense<T>(bias_in);
  py::array_t<T> out({p.rois, p.channels, p.height, p.width});
  if (p.numel() == 0) return out;
  Status s;
  {
    py::gil_scoped_release release;
    auto* run = kElements ? &attention_fusion_forward_elements_cpu<T>
                          : &attention_fusion_forward_cpu<T>;
    s = run(p, f.data(), m.data(), w.data(), b.data(), out.mutable_data());
  }
  throw_if_error(kOp, s);
  return out;
}

template <bool kElements>
py::array forward(const py::array& features, const py::array& mask_logits,
                  const py::array& weight, const py::array& bias) {
  const AttentionFusionParams p = check_inputs(features, mask_logits, weight, bias);
  if (features.dtype().equal(py::dtype::of<float>())) {
    return forward_typed<float, kElements>(p, features, mask_logits, weight, bias);
  }
  return forward_typed<double, kElements>(p, features, mask_logits, weight, bias);
}

template <typename T, bool kElements>
py::tuple backward_typed(const AttentionFusionParams& p, const py::array& grad_in,
                         const py::array& features_in, const py::array& mask_in,
                         const py::array& weight_in, const py::array& bias_in) {
  const carray<T> go = dense<T>(grad_in);
  const carray<T> f = dense<T>(features_in);
  const carray<T> m = dense<T>(mask_in);
  const carray<T> w = dense<T>(weight_in);
  const carray<T> b = dense<T>(bias_in);
  py::array_t<T> gf({p.rois, p.channels, p.height, p.width});
  py::array_t<T> gm({p.rois, int64_t{1}, p.height, p.width});
  py::array_t<T> gw({p.channels});
  py::array_t<T> gb({p.channels});
  if (p.numel() == 0) {
    // Every gradient is a sum over no terms: grad_mask over no channels (C == 0), grad_weight
    // and grad_bias over no pixels (R, H or W == 0).
    for (py::array_t<T>* g : {&gm, &gw, &gb}) std::fill_n(g->mutable_data(), g->size(), T(0));
    return py::make_tuple(gf, gm, gw, gb);
  }
  Status s;
  {
    py::gil_scoped_release release;
    auto* run = kElements ? &attention_fusion_backward_elements_cpu<T>
                          : &attention_fusion_backward_cpu<T>;
    s = run(p, go.data(), f.data(), m.data(), w.data(), b.data(), gf.mutable_data(),
            gm.mutable_data(), gw.mutable_data(), gb.mutable_data());
  }
  throw_if_error(kOp, s);
  return py::make_tuple(gf, gm, gw, gb);
}

template <bool kElements>
py::tuple backward(const py::array& grad_out, const py::array& features,
                   const py::array& mask_logits, const py::array& weight,
                   const py::array& bias) {
  const AttentionFusionParams p = check_inputs(features, mask_logits, weight, bias);
  const std::string grad_shape = concat("(R, C, H, W) = (", p.rois, ", ", p.channels, ", ",
                                        p.height, ", ", p.width, ")");
  check_shape(kOp, "grad_out", grad_out, {p.rois, p.channels, p.height, p.width},
              grad_shape.c_str());
  if (!grad_out.dtype().equal(features.dtype())) {
    throw py::type_error(concat(kOp, ": grad_out must have the dtype of features (",
                                py::str(features.dtype()).cast<std::string>(), "), got ",
                                py::str(grad_out.dtype()).cast<std::string>()));
  }
  if (features.dtype().equal(py::dtype::of<float>())) {
    return backward_typed<float, kElements>(p, grad_out, features, mask_logits, weight, bias);
  }
  return backward_typed<double, kElements>(p, grad_out, features, mask_logits, weight, bias);
}

}  // namespace

void register_attention_fusion(py::module_& m) {
  m.def("attention_fusion_forward", &forward<false>, py::arg("features"), py::arg("mask_logits"),
        py::arg("weight"), py::arg("bias"),
        "features * (1 + sigmoid(weight[c] * mask_logits + bias[c])); float32 or float64.");
  m.def("attention_fusion_backward", &backward<false>, py::arg("grad_out"), py::arg("features"),
        py::arg("mask_logits"), py::arg("weight"), py::arg("bias"),
        "Gradients (features, mask_logits, weight, bias) of attention_fusion_forward.");
  py::module_ testing = m.attr("testing");
  testing.def("attention_fusion_forward_elements", &forward<true>, py::arg("features"),
              py::arg("mask_logits"), py::arg("weight"), py::arg("bias"),
              "attention_fusion_forward through one element call per output (the GPU path).");
  testing.def("attention_fusion_backward_elements", &backward<true>, py::arg("grad_out"),
              py::arg("features"), py::arg("mask_logits"), py::arg("weight"), py::arg("bias"),
              "attention_fusion_backward through the GPU's element decomposition.");
}

}  // namespace cellrt::bind
