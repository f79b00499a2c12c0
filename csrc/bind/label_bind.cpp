// cellrt._core bindings of the label family: label, relabel_sequential, remove_small_objects,
// fill_holes, and (in _core.testing) CPU emulations of the GPU step functions.
// The Python wrappers (python/cellrt/ops/label.py) normalise dtypes; these functions accept
// uint8 masks and int32/int64 label images, C-contiguous.
#include <cstdint>
#include <optional>
#include <vector>

#include "checks.h"
#include "cellrt/kernels/label/label.h"

namespace cellrt::bind {
namespace {

std::vector<py::ssize_t> shape_of(const py::array& a) {
  return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim());
}

// Calls f(L{}) with L the label type of a (int32 or int64); TypeError otherwise.
template <typename F>
auto dispatch_labels(const char* op, const py::array& a, F&& f) {
  const py::dtype dt = a.dtype();
  if (dt.kind() == 'i' && dt.itemsize() == 4) return f(int32_t{});
  if (dt.kind() == 'i' && dt.itemsize() == 8) return f(int64_t{});
  throw py::type_error(concat(op, ": labels must have dtype int32 or int64, got ",
                              std::string(py::str(dt))));
}

// Largest label value, after checking that none is negative.
template <typename L>
int64_t max_label(const char* op, const L* labels, int64_t n) {
  L lo = 0;
  L hi = 0;
  if (n > 0) {
    Status s;
    {
      py::gil_scoped_release release;
      s = label_minmax_cpu(labels, n, &lo, &hi);
    }
    throw_if_error(op, s);
  }
  CELLRT_CHECK(lo >= 0, op, ": labels must be non-negative, got minimum ",
               static_cast<int64_t>(lo));
  return static_cast<int64_t>(hi);
}

// Tables indexed by label value are used while they are no larger than the image (plus slack for
// tiny images); sparser values are first compacted to dense ids 1..N.
inline bool dense_enough(int64_t max_value, int64_t n) { return max_value < n + 65536; }

// Runs op(ids, bins, out_ids) on dense ids of labels, then maps the ids op wrote back to label
// values: the original values for ops that keep them, the ids themselves for relabel_sequential.
template <typename L, typename Op>
void on_compacted(const char* op_name, const L* labels, int64_t n, bool keep_values, L* out,
                  Op&& op) {
  std::vector<L> values(static_cast<size_t>(n + 1));
  std::vector<int32_t> ids(static_cast<size_t>(n));
  int64_t num = 0;
  throw_if_error(op_name, label_compact_cpu(labels, n, values.data(), &num, ids.data()));
  op(ids.data(), num + 1, ids.data());
  if (!keep_values) {
    for (int64_t v = 0; v <= num; ++v) values[v] = static_cast<L>(v);
  }
  throw_if_error(op_name, label_lookup_cpu(ids.data(), n, values.data(), out));
}

py::tuple label_py(const carray<uint8_t>& binary, int connectivity) {
  check_shape("label", "binary", binary, {-1, -1}, "(H, W)");
  CELLRT_CHECK(connectivity == 1 || connectivity == 2,
               "label: connectivity must be 1 (4-neighbour) or 2 (8-neighbour), got ",
               connectivity);
  const LabelParams p{binary.shape(0), binary.shape(1), connectivity};
  py::array_t<int32_t> out({binary.shape(0), binary.shape(1)});
  int64_t num = 0;
  if (out.size() == 0) return py::make_tuple(out, num);
  Status s;
  {
    py::gil_scoped_release release;
    s = label_cpu(binary.data(), p, out.mutable_data(), &num);
  }
  CELLRT_CHECK(s == Status::kOk, "label: binary of shape ", shape_str(binary),
               " is too large (width and the number of runs must fit in int32)");
  return py::make_tuple(out, num);
}

py::tuple relabel_sequential_py(const py::array& labels) {
  return dispatch_labels("relabel_sequential", labels, [&](auto tag) -> py::tuple {
    using L = decltype(tag);
    const carray<L> in = carray<L>::ensure(labels);
    const int64_t n = in.size();
    py::array_t<L> out(shape_of(in));
    int64_t num = 0;
    const int64_t hi = max_label("relabel_sequential", in.data(), n);
    {
      py::gil_scoped_release release;
      if (n == 0) {
      } else if (dense_enough(hi, n)) {
        throw_if_error("relabel_sequential",
                       relabel_sequential_cpu(in.data(), n, hi + 1, out.mutable_data(), &num));
      } else {
        on_compacted("relabel_sequential", in.data(), n, false, out.mutable_data(),
                     [&](const int32_t* ids, int64_t bins, int32_t* out_ids) {
                       throw_if_error("relabel_sequential",
                                      relabel_sequential_cpu(ids, n, bins, out_ids, &num));
                     });
      }
    }
    return py::make_tuple(std::move(out), num);
  });
}

py::array remove_small_objects_py(const py::array& labels, int64_t min_size) {
  CELLRT_CHECK(min_size >= 0, "remove_small_objects: min_size must be >= 0, got ", min_size);
  return dispatch_labels("remove_small_objects", labels, [&](auto tag) -> py::array {
    using L = decltype(tag);
    const carray<L> in = carray<L>::ensure(labels);
    const int64_t n = in.size();
    py::array_t<L> out(shape_of(in));
    const int64_t hi = max_label("remove_small_objects", in.data(), n);
    {
      py::gil_scoped_release release;
      if (n == 0) {
      } else if (dense_enough(hi, n)) {
        throw_if_error("remove_small_objects", remove_small_objects_cpu(in.data(), n, hi + 1,
                                                                        min_size,
                                                                        out.mutable_data()));
      } else {
        on_compacted("remove_small_objects", in.data(), n, true, out.mutable_data(),
                     [&](const int32_t* ids, int64_t bins, int32_t* out_ids) {
                       throw_if_error("remove_small_objects",
                                      remove_small_objects_cpu(ids, n, bins, min_size, out_ids));
                     });
      }
    }
    return out;
  });
}

py::array fill_holes_py(const py::array& labels) {
  return dispatch_labels("fill_holes", labels, [&](auto tag) -> py::array {
    using L = decltype(tag);
    const carray<L> in = carray<L>::ensure(labels);
    check_shape("fill_holes", "labels", in, {-1, -1}, "(H, W)");
    const int64_t n = in.size();
    max_label("fill_holes", in.data(), n);
    py::array_t<L> out(shape_of(in));
    if (n == 0) return out;
    const LabelParams p{in.shape(0), in.shape(1), 1};
    Status s;
    {
      py::gil_scoped_release release;
      s = fill_holes_cpu(in.data(), p, out.mutable_data());
    }
    CELLRT_CHECK(s == Status::kOk, "fill_holes: labels of shape ", shape_str(in),
                 " is too large (width and the number of runs must fit in int32)");
    return out;
  });
}

// ---- _core.testing ----

py::array label_emulate_device_py(const carray<uint8_t>& binary, int connectivity,
                                  const carray<int64_t>& order, int num_threads) {
  const char* op = "testing.label_emulate_device";
  check_shape(op, "binary", binary, {-1, -1}, "(H, W)");
  CELLRT_CHECK(connectivity == 1 || connectivity == 2, op, ": connectivity must be 1 or 2, got ",
               connectivity);
  CELLRT_CHECK(num_threads >= 1, op, ": num_threads must be >= 1, got ", num_threads);
  const LabelParams p{binary.shape(0), binary.shape(1), connectivity};
  const int64_t n = p.height * p.width;
  check_permutation(op, order, n);
  py::array_t<int32_t> out({p.height, p.width});
  std::vector<int32_t> parent(static_cast<size_t>(n)), rank(static_cast<size_t>(n));
  Status s;
  {
    py::gil_scoped_release release;
    s = label_emulate_device_cpu(binary.data(), p, order.data(), num_threads, parent.data(),
                                 rank.data(), out.mutable_data());
  }
  throw_if_error(op, s);
  return out;
}

py::array label_histogram_py(const py::array& labels, int64_t bins, const py::object& order) {
  const char* op = "testing.label_histogram";
  return dispatch_labels(op, labels, [&](auto tag) -> py::array {
    using L = decltype(tag);
    const carray<L> in = carray<L>::ensure(labels);
    const int64_t n = in.size();
    const int64_t hi = max_label(op, in.data(), n);
    CELLRT_CHECK(bins > hi, op, ": bins must exceed the largest label ", hi, ", got ", bins);
    py::array_t<int64_t> counts(bins);
    std::optional<carray<int64_t>> ord;
    if (!order.is_none()) {
      ord = py::cast<carray<int64_t>>(order);
      check_permutation(op, *ord, n);
    }
    Status s;
    {
      py::gil_scoped_release release;
      s = ord ? label_histogram_emulate_cpu(in.data(), n, ord->data(), bins, counts.mutable_data())
              : label_histogram_cpu(in.data(), n, bins, counts.mutable_data());
    }
    throw_if_error(op, s);
    return counts;
  });
}

py::array fill_holes_emulate_py(const py::array& labels, const carray<int64_t>& order) {
  const char* op = "testing.fill_holes_emulate";
  return dispatch_labels(op, labels, [&](auto tag) -> py::array {
    using L = decltype(tag);
    const carray<L> in = carray<L>::ensure(labels);
    check_shape(op, "labels", in, {-1, -1}, "(H, W)");
    max_label(op, in.data(), in.size());
    check_permutation(op, order, in.size());
    py::array_t<L> out(shape_of(in));
    const LabelParams p{in.shape(0), in.shape(1), 1};
    Status s;
    {
      py::gil_scoped_release release;
      s = fill_holes_emulate_cpu(in.data(), p, order.data(), out.mutable_data());
    }
    throw_if_error(op, s);
    return out;
  });
}

}  // namespace

void register_label(py::module_& m) {
  m.def("label", &label_py, py::arg("binary"), py::arg("connectivity"),
        "Connected components of a uint8 (H, W) mask -> (int32 labels in raster order, count).");
  m.def("relabel_sequential", &relabel_sequential_py, py::arg("labels"),
        "Renumber positive values to 1..N in increasing order -> (labels, N).");
  m.def("remove_small_objects", &remove_small_objects_py, py::arg("labels"), py::arg("min_size"),
        "Zero instances with fewer than min_size pixels (no renumbering).");
  m.def("fill_holes", &fill_holes_py, py::arg("labels"),
        "Fill background components enclosed by a single instance with its label.");

  py::module_ t = m.attr("testing").cast<py::module_>();
  t.def("label_emulate_device", &label_emulate_device_py, py::arg("binary"),
        py::arg("connectivity"), py::arg("order"), py::arg("num_threads") = 1,
        "GPU labelling steps run on the CPU, each over pixels in the given order.");
  t.def("label_histogram", &label_histogram_py, py::arg("labels"), py::arg("bins"),
        py::arg("order") = py::none(),
        "Per-value pixel counts: CPU path, or the GPU atomic element over `order` if given.");
  t.def("fill_holes_emulate", &fill_holes_emulate_py, py::arg("labels"), py::arg("order"),
        "fill_holes with the owner step run over pixels in the given order.");
}

}  // namespace cellrt::bind
