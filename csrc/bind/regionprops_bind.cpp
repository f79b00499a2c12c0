// cellrt._core bindings of regionprops, and _core.testing.regionprops_emulate (the GPU's atomic
// per-pixel element function run in a given order). The Python wrapper
// (python/cellrt/ops/regionprops.py) normalises dtypes and builds the result dict.
#include <cstdint>
#include <optional>
#include <vector>

#include "checks.h"
#include "cellrt/kernels/label/label.h"
#include "cellrt/kernels/regionprops/regionprops.h"

namespace cellrt::bind {
namespace {

constexpr const char* kOp = "regionprops";

// Accumulator tables owned by the binding.
struct Tables {
  std::vector<rp_u64> count, sum_y, sum_x, class_count;
  std::vector<int32_t> bbox;
  std::vector<double> sum_intensity;
  RegionpropsAccum view;

  explicit Tables(const RegionpropsParams& p)
      : count(p.num_bins), sum_y(p.num_bins), sum_x(p.num_bins),
        class_count(p.num_bins * p.num_classes), bbox(4 * p.num_bins),
        sum_intensity(p.num_bins * p.channels),
        view{count.data(), sum_y.data(), sum_x.data(), bbox.data(), sum_intensity.data(),
             class_count.data()} {}
};

template <typename F>
auto dispatch_labels(const py::array& a, F&& f) {
  const py::dtype dt = a.dtype();
  if (dt.kind() == 'i' && dt.itemsize() == 4) return f(int32_t{});
  if (dt.kind() == 'i' && dt.itemsize() == 8) return f(int64_t{});
  throw py::type_error(concat(kOp, ": labels must have dtype int32 or int64, got ",
                              std::string(py::str(dt))));
}

// Calls f(T{}) for the intensity dtype (uint8 as a placeholder when there is no intensity).
template <typename F>
auto dispatch_intensity(const std::optional<py::array>& a, F&& f) {
  if (!a) return f(uint8_t{});
  const py::dtype dt = a->dtype();
  if (dt.kind() == 'u' && dt.itemsize() == 1) return f(uint8_t{});
  if (dt.kind() == 'u' && dt.itemsize() == 2) return f(uint16_t{});
  if (dt.kind() == 'f' && dt.itemsize() == 4) return f(float{});
  if (dt.kind() == 'f' && dt.itemsize() == 8) return f(double{});
  throw py::type_error(concat(kOp,
                              ": intensity must have dtype uint8, uint16, float32 or float64, got ",
                              std::string(py::str(dt))));
}

// Validated inputs shared by the production call and the emulation.
struct Inputs {
  py::array labels;
  std::optional<py::array> intensity;
  std::optional<carray<int32_t>> classes;
  RegionpropsParams p;
  int64_t max_label = 0;
};

// Smallest and largest value of n labels or class ids, computed without the GIL.
template <typename L>
void value_range(const L* values, int64_t n, L* lo, L* hi) {
  if (n == 0) return;
  Status s;
  {
    py::gil_scoped_release release;
    s = label_minmax_cpu(values, n, lo, hi);
  }
  throw_if_error(kOp, s);
}

Inputs validate(const py::array& labels, const py::object& intensity, const py::object& classes) {
  Inputs in;
  in.labels = labels;
  CELLRT_CHECK(labels.ndim() == 2, kOp, ": labels must be 2-D (H, W), got ", shape_str(labels));
  const int64_t h = labels.shape(0), w = labels.shape(1), n = h * w;
  in.p.height = h;
  in.p.width = w;
  dispatch_labels(labels, [&](auto tag) {
    using L = decltype(tag);
    const carray<L> lab = carray<L>::ensure(labels);
    L lo = 0, hi = 0;
    value_range(lab.data(), n, &lo, &hi);
    CELLRT_CHECK(lo >= 0, kOp, ": labels must be non-negative, got minimum ",
                 static_cast<int64_t>(lo));
    in.max_label = static_cast<int64_t>(hi);
    in.labels = lab;
    return 0;
  });
  if (!intensity.is_none()) {
    const auto a = py::cast<py::array>(intensity);
    CELLRT_CHECK((a.ndim() == 2 || a.ndim() == 3) && a.shape(0) == h && a.shape(1) == w, kOp,
                 ": intensity must have shape (", h, ", ", w, ") or (", h, ", ", w, ", C), got ",
                 shape_str(a));
    in.p.channels = a.ndim() == 3 ? a.shape(2) : 1;
    in.intensity = a;
  }
  if (!classes.is_none()) {
    const auto c = py::cast<carray<int32_t>>(classes);
    CELLRT_CHECK(c.ndim() == 2 && c.shape(0) == h && c.shape(1) == w, kOp,
                 ": classes must have shape (", h, ", ", w, "), got ", shape_str(c));
    int32_t lo = 0, hi = -1;
    value_range(c.data(), n, &lo, &hi);
    CELLRT_CHECK(lo >= 0, kOp, ": classes must be non-negative, got minimum ", lo);
    in.p.num_classes = static_cast<int64_t>(hi) + 1;
    in.classes = c;
  }
  return in;
}

// Accumulate -> present labels -> finalize. labels are the label values themselves (values null,
// V = L) or dense ids whose original values are values[id].
template <typename L, typename V, typename T, typename Accumulate>
py::tuple compute(const Inputs& in, const L* labels, const V* values, Accumulate&& accumulate) {
  const RegionpropsParams& p = in.p;
  const T* inten = nullptr;
  std::optional<carray<T>> inten_arr;
  if (in.intensity) {
    inten_arr = carray<T>::ensure(*in.intensity);
    inten = inten_arr->data();
  }
  const int32_t* cls = in.classes ? in.classes->data() : nullptr;
  Tables t(p);
  std::vector<int64_t> present(static_cast<size_t>(p.num_bins));
  int64_t num = 0;  // an empty image has no labels: the tables are not even initialised
  if (p.height * p.width > 0) {
    py::gil_scoped_release release;
    throw_if_error(kOp, accumulate(p, labels, inten, cls, t.view));
    throw_if_error(kOp, regionprops_present_cpu(p, t.view, present.data(), &num));
  }
  py::array_t<V> label_out(num);
  py::array_t<int64_t> area(num);
  py::array_t<int64_t> bbox({num, int64_t{4}});
  py::array_t<double> centroid({num, int64_t{2}});
  py::array_t<double> mean({num, p.channels});
  py::array_t<int64_t> majority(num);
  RegionpropsOutput o{area.mutable_data(), bbox.mutable_data(), centroid.mutable_data(),
                      mean.mutable_data(), majority.mutable_data()};
  V* lo = label_out.mutable_data();
  {
    py::gil_scoped_release release;
    throw_if_error(kOp, regionprops_finalize_cpu(p, t.view, present.data(), num, o));
    for (int64_t j = 0; j < num; ++j) {
      lo[j] = values ? values[present[j]] : static_cast<V>(present[j]);
    }
  }
  return py::make_tuple(label_out, area, bbox, centroid,
                        in.intensity ? py::object(mean) : py::object(py::none()),
                        in.classes ? py::object(majority) : py::object(py::none()));
}

py::tuple regionprops_py(const py::array& labels, const py::object& intensity,
                         const py::object& classes) {
  Inputs in = validate(labels, intensity, classes);
  const int64_t n = in.p.height * in.p.width;
  return dispatch_labels(in.labels, [&](auto ltag) -> py::tuple {
    using L = decltype(ltag);
    const carray<L> lab = carray<L>::ensure(in.labels);
    return dispatch_intensity(in.intensity, [&](auto ttag) -> py::tuple {
      using T = decltype(ttag);
      // Tables indexed by label value stay small next to the image; sparse values (a few huge
      // ids) are compacted to 1..N first and mapped back for the label column.
      const int64_t bytes_per_bin = 48 + 8 * in.p.channels + 8 * in.p.num_classes;
      const int64_t budget = 2 * n * static_cast<int64_t>(sizeof(L)) + (int64_t{1} << 22);
      if ((in.max_label + 1) * bytes_per_bin <= budget) {
        in.p.num_bins = in.max_label + 1;
        return compute<L, L, T>(in, lab.data(), static_cast<const L*>(nullptr),
                                regionprops_accumulate_cpu<L, T>);
      }
      std::vector<L> values(static_cast<size_t>(n + 1));
      std::vector<int32_t> ids(static_cast<size_t>(n));
      int64_t num_values = 0;
      {
        py::gil_scoped_release release;
        throw_if_error(kOp,
                       label_compact_cpu(lab.data(), n, values.data(), &num_values, ids.data()));
      }
      in.p.num_bins = num_values + 1;
      return compute<int32_t, L, T>(in, ids.data(), values.data(),
                                    regionprops_accumulate_cpu<int32_t, T>);
    });
  });
}

py::tuple regionprops_emulate_py(const py::array& labels, const py::object& intensity,
                                 const py::object& classes, const carray<int64_t>& order) {
  Inputs in = validate(labels, intensity, classes);
  const int64_t n = in.p.height * in.p.width;
  CELLRT_CHECK(order.ndim() == 1 && order.shape(0) == n, "testing.regionprops_emulate",
               ": order must have shape (", n, ",), got ", shape_str(order));
  for (int64_t k = 0; k < n; ++k) {
    CELLRT_CHECK(order.data()[k] >= 0 && order.data()[k] < n, "testing.regionprops_emulate",
                 ": order must index pixels 0..", n - 1);
  }
  in.p.num_bins = in.max_label + 1;
  return dispatch_labels(in.labels, [&](auto ltag) -> py::tuple {
    using L = decltype(ltag);
    const carray<L> lab = carray<L>::ensure(in.labels);
    return dispatch_intensity(in.intensity, [&](auto ttag) -> py::tuple {
      using T = decltype(ttag);
      return compute<L, L, T>(in, lab.data(), static_cast<const L*>(nullptr),
                           [&](const RegionpropsParams& p, const L* l, const T* i,
                               const int32_t* c, const RegionpropsAccum& a) {
                             return regionprops_accumulate_emulate_cpu(p, l, i, c, order.data(), a);
                           });
    });
  });
}

// Shape descriptors of the labels `present` (sorted, > 0), whose bbox and area regionprops gave.
// order: null for the production path, else the pixel order of the atomic emulation.
py::tuple shape_py(const py::array& labels, const carray<int64_t>& present,
                   const carray<int64_t>& bbox, const carray<int64_t>& area,
                   const int64_t* order) {
  CELLRT_CHECK(labels.ndim() == 2, kOp, ": labels must be 2-D (H, W), got ", shape_str(labels));
  const int64_t num = present.ndim() == 1 ? present.shape(0) : -1;
  CELLRT_CHECK(num >= 0 && bbox.ndim() == 2 && bbox.shape(0) == num && bbox.shape(1) == 4 &&
                   area.ndim() == 1 && area.shape(0) == num,
               kOp, ": shape needs present (N,), bbox (N, 4) and area (N,), got ",
               shape_str(present), ", ", shape_str(bbox), ", ", shape_str(area));
  ShapeParams p{labels.shape(0), labels.shape(1), num};
  const int64_t* pr = present.data();
  const int64_t* bb = bbox.data();
  const int64_t top = num ? pr[num - 1] : 0;
  std::vector<int64_t> lut(static_cast<size_t>(top + 1), -1);
  std::vector<int64_t> offset(static_cast<size_t>(num + 1), 0);
  for (int64_t j = 0; j < num; ++j) {
    CELLRT_CHECK(pr[j] > 0 && (j == 0 || pr[j] > pr[j - 1]), kOp,
                 ": present labels must be positive and increasing");
    CELLRT_CHECK(bb[4 * j] >= 0 && bb[4 * j + 2] > bb[4 * j] && bb[4 * j + 2] <= p.height &&
                     bb[4 * j + 1] >= 0 && bb[4 * j + 3] > bb[4 * j + 1] &&
                     bb[4 * j + 3] <= p.width,
                 kOp, ": bbox row ", j, " outside the image");
    lut[static_cast<size_t>(pr[j])] = j;
    offset[static_cast<size_t>(j + 1)] = offset[static_cast<size_t>(j)] + bb[4 * j + 2] - bb[4 * j];
  }
  const int64_t rows = offset[static_cast<size_t>(num)];
  std::vector<rp_u64> moments(static_cast<size_t>(5 * num)), perim(static_cast<size_t>(3 * num));
  std::vector<int32_t> row_min(static_cast<size_t>(rows)), row_max(static_cast<size_t>(rows));
  std::vector<int64_t> hull(static_cast<size_t>(16 * rows + 8 * num));
  ShapeAccum a{lut.data(),    bb,          area.data(),      offset.data(), moments.data(),
               perim.data(),  row_min.data(), row_max.data(), hull.data()};
  py::array_t<double> perimeter(num), ecc(num), major(num), minor(num), orient(num);
  py::array_t<int64_t> convex(num);
  ShapeOutput o{perimeter.mutable_data(), ecc.mutable_data(),    major.mutable_data(),
                minor.mutable_data(),     orient.mutable_data(), convex.mutable_data()};
  dispatch_labels(labels, [&](auto tag) {
    using L = decltype(tag);
    const carray<L> lab = carray<L>::ensure(labels);
    const L* l = lab.data();
    const int64_t n = p.height * p.width;
    {
      py::gil_scoped_release release;
      for (int64_t i = 0; i < n; ++i) {
        // Every labelled pixel must be a present label: its row tables exist.
        if (l[i] > 0 && (static_cast<int64_t>(l[i]) > top || lut[static_cast<size_t>(l[i])] < 0))
          p.num_rows = -1;
      }
    }
    CELLRT_CHECK(p.num_rows >= 0, kOp, ": labels hold a value missing from present");
    py::gil_scoped_release release;
    throw_if_error(kOp, order ? regionprops_shape_emulate_cpu(p, l, order, a, o)
                              : regionprops_shape_cpu(p, l, a, o));
    return 0;
  });
  return py::make_tuple(perimeter, ecc, major, minor, orient, convex);
}

}  // namespace

void register_regionprops(py::module_& m) {
  m.def("regionprops", &regionprops_py, py::arg("labels"), py::arg("intensity") = py::none(),
        py::arg("classes") = py::none(),
        "Per-label (label, area, bbox, centroid, mean_intensity|None, majority class|None).");
  m.def(
      "regionprops_shape",
      [](const py::array& labels, const carray<int64_t>& present, const carray<int64_t>& bbox,
         const carray<int64_t>& area) { return shape_py(labels, present, bbox, area, nullptr); },
      py::arg("labels"), py::arg("present"), py::arg("bbox"), py::arg("area"),
      "(perimeter, eccentricity, major, minor, orientation, convex_area) per present label.");
  py::module_ t = m.attr("testing").cast<py::module_>();
  t.def(
      "regionprops_shape_emulate",
      [](const py::array& labels, const carray<int64_t>& present, const carray<int64_t>& bbox,
         const carray<int64_t>& area, const carray<int64_t>& order) {
        const int64_t n = labels.ndim() == 2 ? labels.shape(0) * labels.shape(1) : -1;
        CELLRT_CHECK(order.ndim() == 1 && order.shape(0) == n, "testing.regionprops_shape_emulate",
                     ": order must have one entry per pixel");
        for (int64_t k = 0; k < n; ++k) {
          CELLRT_CHECK(order.data()[k] >= 0 && order.data()[k] < n,
                       "testing.regionprops_shape_emulate", ": order must index pixels");
        }
        return shape_py(labels, present, bbox, area, order.data());
      },
      py::arg("labels"), py::arg("present"), py::arg("bbox"), py::arg("area"), py::arg("order"),
      "regionprops_shape with the GPU's atomic per-pixel element run in `order`.");
  t.def("regionprops_emulate", &regionprops_emulate_py, py::arg("labels"),
        py::arg("intensity") = py::none(), py::arg("classes") = py::none(), py::arg("order"),
        "regionprops with the GPU's atomic per-pixel element run over pixels in `order`.");
}

}  // namespace cellrt::bind
