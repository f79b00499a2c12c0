// cellrt._core bindings of roi_align, multilevel_roi_align and their backward passes (CPU).
// Validation lives here (shapes, dtypes, attribute ranges, batch indices); the kernels trust it.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "cellrt/kernels/roi_align/roi_align.h"
#include "checks.h"
#include "roi_align_args.h"

namespace cellrt::bind {
namespace {

bool is_dtype(const py::array& a, const py::dtype& d) { return a.dtype().is(d); }

// The compute dtype of a feature map: float32 or float64 (TypeError otherwise).
bool is_float64(const char* op, const char* arg, const py::array& a) {
  if (is_dtype(a, py::dtype::of<float>())) return false;
  if (is_dtype(a, py::dtype::of<double>())) return true;
  throw py::type_error(concat(op, ": ", arg, " must have dtype float32 or float64, got ",
                              std::string(py::str(a.dtype()))));
}

template <typename T>
carray<T> as_carray(const py::array& a) {
  carray<T> out = carray<T>::ensure(a);
  if (!out) throw py::error_already_set();
  return out;
}

// boxes: (K, 5) rows (batch_index, x1, y1, x2, y2); every batch index in [0, batch). Written as
// !(in range) so NaN is rejected too: the kernels convert it to an integer index.
template <typename T>
void check_rois(const char* op, const carray<T>& rois, int64_t batch) {
  check_shape(op, "boxes", rois, {-1, 5}, "(K, 5)");
  const T* r = rois.data();
  for (py::ssize_t k = 0; k < rois.shape(0); ++k) {
    const T b = r[5 * k];
    CELLRT_CHECK(b >= T(0) && b < static_cast<T>(batch), op, ": boxes[", k,
                 ", 0] must be a batch index in [0, ", batch, "), got ", b);
  }
}

template <typename T>
py::array_t<T> new_array(std::vector<py::ssize_t> shape) {
  return py::array_t<T>(std::move(shape));
}

template <typename T>
py::array forward(const py::array& input_any, const py::array& rois_any, int64_t pooled_h,
                  int64_t pooled_w, double spatial_scale, int64_t sampling_ratio, bool aligned,
                  bool channels_last, bool elements) {
  const char* op = "roi_align";
  const carray<T> input = as_carray<T>(input_any);
  const carray<T> rois = as_carray<T>(rois_any);
  check_shape(op, "input", input, {-1, -1, -1, -1}, channels_last ? "(N, H, W, C)" : "(N, C, H, W)");
  const int64_t n = input.shape(0);
  const int64_t c = channels_last ? input.shape(3) : input.shape(1);
  const int64_t h = channels_last ? input.shape(1) : input.shape(2);
  const int64_t w = channels_last ? input.shape(2) : input.shape(3);
  check_rois(op, rois, n);
  const RoiAlignParams p = make_roi_align_params(op, n, c, h, w, rois.shape(0), pooled_h,
                                                 pooled_w, spatial_scale, sampling_ratio, aligned);
  py::array_t<T> out = new_array<T>({p.num_rois, c, pooled_h, pooled_w});
  if (out.size() == 0) return out;
  py::array_t<T> workspace = new_array<T>({elements ? 0 : roi_align_cpu_workspace_size(p, channels_last)});
  Status s;
  {
    py::gil_scoped_release release;
    s = elements ? roi_align_forward_elements_cpu<T>(p, input.data(), rois.data(), out.mutable_data())
                 : roi_align_forward_cpu<T>(p, input.data(), channels_last, rois.data(),
                                            out.mutable_data(), workspace.mutable_data());
  }
  throw_if_error(op, s);
  return out;
}

template <typename T>
py::array backward(const py::array& grad_any, const py::array& rois_any, int64_t batch,
                   int64_t channels, int64_t height, int64_t width, double spatial_scale,
                   int64_t sampling_ratio, bool aligned, const py::object* order_obj) {
  const char* op = "roi_align_backward";
  const carray<T> grad = as_carray<T>(grad_any);
  const carray<T> rois = as_carray<T>(rois_any);
  check_rois(op, rois, batch);
  check_shape(op, "grad_output", grad, {rois.shape(0), channels, -1, -1}, "(K, C, oh, ow)");
  const RoiAlignParams p =
      make_roi_align_params(op, batch, channels, height, width, rois.shape(0), grad.shape(2),
                            grad.shape(3), spatial_scale, sampling_ratio, aligned);
  py::array_t<T> grad_input = new_array<T>({batch, channels, height, width});
  if (grad.size() == 0 && order_obj == nullptr) {  // no RoI contributes: the gradient is zero
    std::fill_n(grad_input.mutable_data(), grad_input.size(), T(0));
    return grad_input;
  }
  Status s;
  if (order_obj == nullptr) {
    py::array_t<T> workspace = new_array<T>({roi_align_cpu_workspace_size(p, false)});
    py::gil_scoped_release release;
    s = roi_align_backward_cpu<T>(p, grad.data(), rois.data(), grad_input.mutable_data(),
                                  workspace.mutable_data());
  } else {
    const int64_t* order = nullptr;
    int64_t order_size = 0;
    carray<int64_t> order_arr;
    if (!order_obj->is_none()) {
      order_arr = as_carray<int64_t>(py::array::ensure(*order_obj));
      order_size = order_arr.size();
      order = order_arr.data();
      // The emulated schedule must run every element exactly once.
      std::vector<char> seen(static_cast<size_t>(grad.size()), 0);
      bool ok = order_size == static_cast<int64_t>(grad.size());
      for (int64_t j = 0; ok && j < order_size; ++j) {
        ok = order[j] >= 0 && order[j] < order_size && !seen[order[j]];
        if (ok) seen[order[j]] = 1;
      }
      CELLRT_CHECK(ok, op, ": order must be a permutation of range(", grad.size(), ")");
    }
    py::gil_scoped_release release;
    s = roi_align_backward_elements_cpu<T>(p, grad.data(), rois.data(), grad_input.mutable_data(),
                                           order, order_size);
  }
  throw_if_error(op, s);
  return grad_input;
}

std::string scales_str(const std::vector<double>& scales) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < scales.size(); ++i) os << (i ? ", " : "") << scales[i];
  os << "]";
  return os.str();
}

// The FPN rule's parameters from the per-level spatial scales: level l must have scale
// 2^-(k_min + l) (torchvision's MultiScaleRoIAlign infers exactly such scales).
RoiAlignFpnParams make_fpn(const char* op, const std::vector<double>& scales,
                           double canonical_size, double canonical_level) {
  CELLRT_CHECK(!scales.empty(), op, ": scales must name at least one level, got []");
  const double k_min = std::round(-std::log2(scales[0]));
  bool ok = true;
  for (size_t l = 0; l < scales.size() && ok; ++l) {
    const double k = -std::log2(scales[l]);
    ok = std::isfinite(scales[l]) && scales[l] > 0 &&
         std::abs(k - (k_min + static_cast<double>(l))) < 1e-6;
  }
  CELLRT_CHECK(ok, op,
               ": scales must be powers of two halving from one level to the next (e.g. [0.25, "
               "0.125, 0.0625, 0.03125]), got ",
               scales_str(scales));
  CELLRT_CHECK(std::isfinite(canonical_size) && canonical_size > 0, op,
               ": canonical_size must be a finite number > 0, got ", canonical_size);
  CELLRT_CHECK(std::isfinite(canonical_level), op, ": canonical_level must be finite, got ",
               canonical_level);
  return RoiAlignFpnParams{canonical_size, canonical_level, static_cast<int64_t>(k_min),
                           static_cast<int64_t>(scales.size())};
}

template <typename T>
py::array multilevel_forward(const std::vector<py::array>& features_any,
                             const py::array& rois_any, int64_t pooled_h, int64_t pooled_w,
                             const std::vector<double>& scales, int64_t sampling_ratio,
                             double canonical_size, double canonical_level, bool aligned) {
  const char* op = "multilevel_roi_align";
  const RoiAlignFpnParams fpn = make_fpn(op, scales, canonical_size, canonical_level);
  CELLRT_CHECK(features_any.size() == scales.size(), op, ": features and scales must have the same "
               "length (one scale per level), got ", features_any.size(), " and ", scales.size());
  std::vector<carray<T>> features;
  std::vector<const T*> data;
  std::vector<RoiAlignLevel> levels;
  constexpr bool want_float64 = std::is_same_v<T, double>;
  for (size_t l = 0; l < features_any.size(); ++l) {
    CELLRT_CHECK(is_float64(op, "features", features_any[l]) == want_float64, op,
                 ": all features must have the same dtype, got ",
                 std::string(py::str(features_any[0].dtype())), " and ",
                 std::string(py::str(features_any[l].dtype())));
    features.push_back(as_carray<T>(features_any[l]));
    const carray<T>& f = features.back();
    const std::string name = "features[" + std::to_string(l) + "]";
    check_shape(op, name.c_str(), f, {features[0].shape(0), features[0].shape(1), -1, -1},
                "(N, C, H, W) with the N and C of features[0]");
    CELLRT_CHECK(f.shape(2) >= 1 && f.shape(3) >= 1, op, ": ", name,
                 " must have height and width >= 1, got ", shape_str(f));
    data.push_back(f.data());
    levels.push_back(RoiAlignLevel{f.shape(2), f.shape(3), scales[l]});
  }
  const carray<T> rois = as_carray<T>(rois_any);
  check_rois(op, rois, features[0].shape(0));
  const RoiAlignParams p =
      make_roi_align_params(op, features[0].shape(0), features[0].shape(1), levels[0].height,
                            levels[0].width, rois.shape(0), pooled_h, pooled_w, scales[0],
                            sampling_ratio, aligned);
  py::array_t<T> out = new_array<T>({p.num_rois, p.channels, pooled_h, pooled_w});
  if (out.size() == 0) return out;
  py::array_t<T> workspace =
      new_array<T>({multilevel_roi_align_cpu_workspace_size(p, fpn, levels.data())});
  Status s;
  {
    py::gil_scoped_release release;
    s = multilevel_roi_align_forward_cpu<T>(p, fpn, levels.data(), data.data(), rois.data(),
                                            out.mutable_data(), workspace.mutable_data());
  }
  throw_if_error(op, s);
  return out;
}

template <typename T>
std::vector<py::array> multilevel_backward(const py::array& grad_any, const py::array& rois_any,
                                           int64_t batch, int64_t channels,
                                           const std::vector<std::pair<int64_t, int64_t>>& sizes,
                                           const std::vector<double>& scales,
                                           int64_t sampling_ratio, double canonical_size,
                                           double canonical_level, bool aligned) {
  const char* op = "multilevel_roi_align_backward";
  const RoiAlignFpnParams fpn = make_fpn(op, scales, canonical_size, canonical_level);
  CELLRT_CHECK(sizes.size() == scales.size(), op, ": level_sizes and scales must have the same "
               "length, got ", sizes.size(), " and ", scales.size());
  const carray<T> grad = as_carray<T>(grad_any);
  const carray<T> rois = as_carray<T>(rois_any);
  check_rois(op, rois, batch);
  check_shape(op, "grad_output", grad, {rois.shape(0), channels, -1, -1}, "(K, C, oh, ow)");
  std::vector<RoiAlignLevel> levels;
  std::vector<py::array> grads;
  std::vector<T*> data;
  for (size_t l = 0; l < sizes.size(); ++l) {
    CELLRT_CHECK(sizes[l].first >= 1 && sizes[l].second >= 1, op, ": level_sizes[", l,
                 "] must be >= 1, got (", sizes[l].first, ", ", sizes[l].second, ")");
    levels.push_back(RoiAlignLevel{sizes[l].first, sizes[l].second, scales[l]});
    py::array_t<T> g = new_array<T>({batch, channels, sizes[l].first, sizes[l].second});
    data.push_back(g.mutable_data());
    grads.push_back(std::move(g));
  }
  if (grad.size() == 0) {  // no RoI (or no bin) contributes: every gradient is zero
    for (size_t l = 0; l < grads.size(); ++l) std::fill_n(data[l], grads[l].size(), T(0));
    return grads;
  }
  const RoiAlignParams p =
      make_roi_align_params(op, batch, channels, levels[0].height, levels[0].width,
                            rois.shape(0), grad.shape(2), grad.shape(3), scales[0],
                            sampling_ratio, aligned);
  py::array_t<T> workspace =
      new_array<T>({multilevel_roi_align_cpu_workspace_size(p, fpn, levels.data())});
  Status s;
  {
    py::gil_scoped_release release;
    s = multilevel_roi_align_backward_cpu<T>(p, fpn, levels.data(), grad.data(), rois.data(),
                                             data.data(), workspace.mutable_data());
  }
  throw_if_error(op, s);
  return grads;
}

template <typename T>
py::array fpn_levels(const py::array& rois_any, const std::vector<double>& scales,
                     double canonical_size, double canonical_level) {
  const char* op = "multilevel_roi_align";
  const RoiAlignFpnParams fpn = make_fpn(op, scales, canonical_size, canonical_level);
  const carray<T> rois = as_carray<T>(rois_any);
  check_shape(op, "boxes", rois, {-1, 5}, "(K, 5)");
  py::array_t<int64_t> levels = new_array<int64_t>({rois.shape(0)});
  if (levels.size() == 0) return levels;
  Status s;
  {
    py::gil_scoped_release release;
    s = roi_align_fpn_levels_cpu<T>(fpn, rois.shape(0), rois.data(), levels.mutable_data());
  }
  throw_if_error(op, s);
  return levels;
}

}  // namespace

void register_roi_align(py::module_& m) {
  m.def(
      "roi_align_forward",
      [](const py::array& input, const py::array& rois, int64_t pooled_h, int64_t pooled_w,
         double spatial_scale, int64_t sampling_ratio, bool aligned, bool channels_last) {
        return is_float64("roi_align", "input", input)
                   ? forward<double>(input, rois, pooled_h, pooled_w, spatial_scale,
                                     sampling_ratio, aligned, channels_last, false)
                   : forward<float>(input, rois, pooled_h, pooled_w, spatial_scale,
                                    sampling_ratio, aligned, channels_last, false);
      },
      py::arg("input"), py::arg("rois"), py::arg("pooled_h"), py::arg("pooled_w"),
      py::arg("spatial_scale"), py::arg("sampling_ratio"), py::arg("aligned"),
      py::arg("channels_last") = false,
      "RoIAlign forward (channels-last gather). input: (N, C, H, W), or (N, H, W, C) when "
      "channels_last; rois: (K, 5) of input's dtype. Returns (K, C, pooled_h, pooled_w).");
  m.def(
      "roi_align_backward",
      [](const py::array& grad_output, const py::array& rois, int64_t batch, int64_t channels,
         int64_t height, int64_t width, double spatial_scale, int64_t sampling_ratio,
         bool aligned) {
        return is_float64("roi_align_backward", "grad_output", grad_output)
                   ? backward<double>(grad_output, rois, batch, channels, height, width,
                                      spatial_scale, sampling_ratio, aligned, nullptr)
                   : backward<float>(grad_output, rois, batch, channels, height, width,
                                     spatial_scale, sampling_ratio, aligned, nullptr);
      },
      py::arg("grad_output"), py::arg("rois"), py::arg("batch"), py::arg("channels"),
      py::arg("height"), py::arg("width"), py::arg("spatial_scale"), py::arg("sampling_ratio"),
      py::arg("aligned"),
      "RoIAlign backward: gradient w.r.t. the (batch, channels, height, width) input.");
  m.def(
      "multilevel_roi_align_forward",
      [](const std::vector<py::array>& features, const py::array& rois, int64_t pooled_h,
         int64_t pooled_w, const std::vector<double>& scales, int64_t sampling_ratio,
         double canonical_size, double canonical_level, bool aligned) {
        if (features.empty()) {
          throw std::invalid_argument("multilevel_roi_align: features must hold at least one map");
        }
        return is_float64("multilevel_roi_align", "features", features[0])
                   ? multilevel_forward<double>(features, rois, pooled_h, pooled_w, scales,
                                                sampling_ratio, canonical_size, canonical_level,
                                                aligned)
                   : multilevel_forward<float>(features, rois, pooled_h, pooled_w, scales,
                                               sampling_ratio, canonical_size, canonical_level,
                                               aligned);
      },
      py::arg("features"), py::arg("rois"), py::arg("pooled_h"), py::arg("pooled_w"),
      py::arg("scales"), py::arg("sampling_ratio"), py::arg("canonical_size"),
      py::arg("canonical_level"), py::arg("aligned"),
      "FPN multi-level RoIAlign: each RoI pools from the level its box size selects.");
  m.def(
      "multilevel_roi_align_backward",
      [](const py::array& grad_output, const py::array& rois, int64_t batch, int64_t channels,
         const std::vector<std::pair<int64_t, int64_t>>& level_sizes,
         const std::vector<double>& scales, int64_t sampling_ratio, double canonical_size,
         double canonical_level, bool aligned) {
        return is_float64("multilevel_roi_align_backward", "grad_output", grad_output)
                   ? multilevel_backward<double>(grad_output, rois, batch, channels, level_sizes,
                                                 scales, sampling_ratio, canonical_size,
                                                 canonical_level, aligned)
                   : multilevel_backward<float>(grad_output, rois, batch, channels, level_sizes,
                                                scales, sampling_ratio, canonical_size,
                                                canonical_level, aligned);
      },
      py::arg("grad_output"), py::arg("rois"), py::arg("batch"), py::arg("channels"),
      py::arg("level_sizes"), py::arg("scales"), py::arg("sampling_ratio"),
      py::arg("canonical_size"), py::arg("canonical_level"), py::arg("aligned"),
      "Backward of multilevel_roi_align_forward: one gradient per level, (N, C, H_l, W_l).");
  m.def(
      "multilevel_roi_align_levels",
      [](const py::array& rois, const std::vector<double>& scales, double canonical_size,
         double canonical_level) {
        return is_float64("multilevel_roi_align", "boxes", rois)
                   ? fpn_levels<double>(rois, scales, canonical_size, canonical_level)
                   : fpn_levels<float>(rois, scales, canonical_size, canonical_level);
      },
      py::arg("rois"), py::arg("scales"), py::arg("canonical_size"), py::arg("canonical_level"),
      "FPN level index of each RoI (-1: none, for boxes of negative or NaN area).");
  m.def(
      "multilevel_roi_align_k_min",
      [](const std::vector<double>& scales, double canonical_size, double canonical_level) {
        return make_fpn("multilevel_roi_align", scales, canonical_size, canonical_level).k_min;
      },
      py::arg("scales"), py::arg("canonical_size"), py::arg("canonical_level"),
      "Validate the FPN attributes and return k_min = -log2(scales[0]).");

  py::module_ testing = m.attr("testing");
  testing.def(
      "roi_align_forward_elements",
      [](const py::array& input, const py::array& rois, int64_t pooled_h, int64_t pooled_w,
         double spatial_scale, int64_t sampling_ratio, bool aligned) {
        return is_float64("roi_align", "input", input)
                   ? forward<double>(input, rois, pooled_h, pooled_w, spatial_scale,
                                     sampling_ratio, aligned, false, true)
                   : forward<float>(input, rois, pooled_h, pooled_w, spatial_scale,
                                    sampling_ratio, aligned, false, true);
      },
      py::arg("input"), py::arg("rois"), py::arg("pooled_h"), py::arg("pooled_w"),
      py::arg("spatial_scale"), py::arg("sampling_ratio"), py::arg("aligned"),
      "RoIAlign forward through the element function (the loop the CUDA kernel runs).");
  testing.def(
      "roi_align_backward_elements",
      [](const py::array& grad_output, const py::array& rois, int64_t batch, int64_t channels,
         int64_t height, int64_t width, double spatial_scale, int64_t sampling_ratio,
         bool aligned, const py::object& order) {
        return is_float64("roi_align_backward", "grad_output", grad_output)
                   ? backward<double>(grad_output, rois, batch, channels, height, width,
                                      spatial_scale, sampling_ratio, aligned, &order)
                   : backward<float>(grad_output, rois, batch, channels, height, width,
                                     spatial_scale, sampling_ratio, aligned, &order);
      },
      py::arg("grad_output"), py::arg("rois"), py::arg("batch"), py::arg("channels"),
      py::arg("height"), py::arg("width"), py::arg("spatial_scale"), py::arg("sampling_ratio"),
      py::arg("aligned"), py::arg("order") = py::none(),
      "RoIAlign backward through the atomic-scatter element function: order=None runs all "
      "elements in an OpenMP loop; an index permutation runs them one by one in that order.");
}

}  // namespace cellrt::bind
