// regionprops shape descriptors: perimeter, second-moment ellipse (eccentricity, major and minor
// axis length, orientation) and convex area, per present label, with scikit-image's definitions:
//
//  * perimeter: skimage.measure.perimeter(neighborhood=4) of the label's own mask: border pixels
//    (a 4-neighbour outside the mask or the image) weighted by the pattern of border pixels
//    around them (1 for straight runs, sqrt(2) for diagonal steps, (1 + sqrt(2)) / 2 for
//    corners). Counted per weight class in integers, so the sum is order-independent.
//  * ellipse: the eigenvalues l1 >= l2 of the inertia tensor [[var_x, -cov], [-cov, var_y]]
//    (central moments over the area): major = 4 sqrt(l1), minor = 4 sqrt(l2),
//    eccentricity = sqrt(1 - l2 / l1), orientation = the angle between the row axis and the
//    major axis in radians, [-pi/2, pi/2] (its ends are one axis). Moments are exact integer
//    sums in bbox-local coordinates.
//  * convex area: pixels whose centres lie in or on the convex hull of the label's pixels, each
//    pixel taken as the four midpoints of its edges (skimage.morphology.convex_hull_image with
//    offset_coordinates=True, include_borders=True). The hull is built from each row's leftmost
//    and rightmost pixel (interior pixels' midpoints lie inside it) in doubled integer
//    coordinates, so it is exact: two monotone chains over the half-row levels, then per pixel
//    row the integer interval between them.
//
// Rows are indexed by j (present labels, increasing); `lut` maps a label value (bin) to j or -1.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cellrt/kernels/common/atomic.h"
#include "cellrt/kernels/common/hd.h"
#include "cellrt/kernels/regionprops/regionprops_params.h"

namespace cellrt {

inline constexpr int32_t kShapeNoPixel = 0x7fffffff;  // row extent minimum before any pixel
inline constexpr int64_t kInt64Max = 0x7fffffffffffffffLL;
inline constexpr int64_t kInt64Min = -kInt64Max - 1;

struct ShapeParams {
  int64_t height = 0;
  int64_t width = 0;
  int64_t num_rows = 0;  // present labels
};
static_assert(std::is_trivially_copyable_v<ShapeParams>, "passed by value to CUDA kernels");

// Inputs from regionprops (read only) and the per-row accumulators.
struct ShapeAccum {
  const int64_t* lut = nullptr;         // [num_bins] bin -> row j, -1 if absent
  const int64_t* bbox = nullptr;        // [num_rows * 4] y0, x0, y1, x1
  const int64_t* area = nullptr;        // [num_rows]
  const int64_t* row_offset = nullptr;  // [num_rows + 1] prefix sums of bbox heights
  rp_u64* moments = nullptr;            // [num_rows * 5] sum y, x, yy, xx, xy (bbox-local)
  rp_u64* perimeter_count = nullptr;    // [num_rows * 3] border pixels of weight 1, r2, corner
  int32_t* row_min = nullptr;           // [row_offset[num_rows]] leftmost x per row (local)
  int32_t* row_max = nullptr;           // [row_offset[num_rows]] rightmost x per row (local)
  int64_t* hull = nullptr;              // [16 * row_offset[num_rows] + 8 * num_rows] scratch
};
static_assert(std::is_trivially_copyable_v<ShapeAccum>, "passed by value to CUDA kernels");

struct ShapeOutput {
  double* perimeter = nullptr;     // [num_rows]
  double* eccentricity = nullptr;  // [num_rows]
  double* major = nullptr;         // [num_rows] major axis length
  double* minor = nullptr;         // [num_rows] minor axis length
  double* orientation = nullptr;   // [num_rows] radians
  int64_t* convex_area = nullptr;  // [num_rows]
};
static_assert(std::is_trivially_copyable_v<ShapeOutput>, "passed by value to CUDA kernels");

CELLRT_HD void shape_init_element(const ShapeParams& p, const ShapeAccum& a, int64_t j) {
  for (int k = 0; k < 5; ++k) a.moments[5 * j + k] = 0;
  for (int k = 0; k < 3; ++k) a.perimeter_count[3 * j + k] = 0;
  for (int64_t r = a.row_offset[j]; r < a.row_offset[j + 1]; ++r) {
    a.row_min[r] = kShapeNoPixel;
    a.row_max[r] = -1;
  }
  (void)p;
}

// Whether (y, x) is in the image and holds label v.
template <typename L>
CELLRT_HD bool shape_is(const ShapeParams& p, const L* labels, int64_t y, int64_t x, L v) {
  return y >= 0 && y < p.height && x >= 0 && x < p.width && labels[y * p.width + x] == v;
}

// A pixel of label v with a 4-neighbour that is not v (or outside the image).
template <typename L>
CELLRT_HD bool shape_border(const ShapeParams& p, const L* labels, int64_t y, int64_t x, L v) {
  return shape_is(p, labels, y, x, v) &&
         !(shape_is(p, labels, y - 1, x, v) && shape_is(p, labels, y + 1, x, v) &&
           shape_is(p, labels, y, x - 1, v) && shape_is(p, labels, y, x + 1, v));
}

// Weight class of pixel (y, x) of label v in skimage's perimeter: 0 none, 1 weight 1,
// 2 weight sqrt(2), 3 weight (1 + sqrt(2)) / 2. Its code is 1 + 2 * (border 4-neighbours)
// + 10 * (border diagonal neighbours), for a border pixel.
template <typename L>
CELLRT_HD int shape_perimeter_class(const ShapeParams& p, const L* labels, int64_t y, int64_t x,
                                    L v) {
  if (!shape_border(p, labels, y, x, v)) return 0;
  int code = 1;
  code += 2 * (shape_border(p, labels, y - 1, x, v) + shape_border(p, labels, y + 1, x, v) +
               shape_border(p, labels, y, x - 1, v) + shape_border(p, labels, y, x + 1, v));
  code += 10 * (shape_border(p, labels, y - 1, x - 1, v) +
                shape_border(p, labels, y - 1, x + 1, v) +
                shape_border(p, labels, y + 1, x - 1, v) +
                shape_border(p, labels, y + 1, x + 1, v));
  switch (code) {
    case 5: case 7: case 15: case 17: case 25: case 27: return 1;
    case 21: case 33: return 2;
    case 13: case 23: return 3;
    default: return 0;
  }
}

// Adds pixel i (GPU and CPU emulation: atomics).
template <typename L>
CELLRT_HD void shape_accumulate_element(const ShapeParams& p, const L* labels,
                                        const ShapeAccum& a, int64_t i) {
  const L v = labels[i];
  if (v <= 0) return;
  const int64_t j = a.lut[static_cast<int64_t>(v)];
  if (j < 0) return;
  const int64_t y = i / p.width;
  const int64_t x = i - y * p.width;
  const auto ly = static_cast<rp_u64>(y - a.bbox[4 * j + 0]);
  const auto lx = static_cast<rp_u64>(x - a.bbox[4 * j + 1]);
  rp_u64* m = a.moments + 5 * j;
  atomic_add(&m[0], ly);
  atomic_add(&m[1], lx);
  atomic_add(&m[2], ly * ly);
  atomic_add(&m[3], lx * lx);
  atomic_add(&m[4], ly * lx);
  const int cls = shape_perimeter_class(p, labels, y, x, v);
  if (cls > 0) atomic_add(&a.perimeter_count[3 * j + cls - 1], rp_u64{1});
  const int64_t r = a.row_offset[j] + static_cast<int64_t>(ly);
  atomic_min(&a.row_min[r], static_cast<int32_t>(lx));
  atomic_max(&a.row_max[r], static_cast<int32_t>(lx));
}

namespace detail {

// floor(a / b) and ceil(a / b) for b > 0.
CELLRT_HD int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
CELLRT_HD int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// z of (b - a) x (c - a) for points (Y, X).
CELLRT_HD int64_t cross(const int64_t* a, const int64_t* b, const int64_t* c) {
  return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

// Convex chain of the points (Y, extreme X of level Y) in Y order: the side of smallest X (left,
// sign -1: Andrew's lower hull) or of largest X (right, sign +1). Writes pairs into out; returns
// their number.
CELLRT_HD int64_t chain(const int64_t* pts, int64_t n, int sign, int64_t* out) {
  int64_t m = 0;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t* q = pts + 2 * k;
    while (m >= 2 && sign * cross(out + 2 * (m - 2), out + 2 * (m - 1), q) >= 0) --m;
    out[2 * m] = q[0];
    out[2 * m + 1] = q[1];
    ++m;
  }
  return m;
}

}  // namespace detail

// Row j's outputs; its `hull` scratch is 8 * (2 h + 1) values from 16 * row_offset[j] + 8 * j.
CELLRT_HD void shape_finalize_element(const ShapeParams& p, const ShapeAccum& a,
                                      const ShapeOutput& o, int64_t j) {
  const double n = static_cast<double>(a.area[j]);
  const rp_u64* m = a.moments + 5 * j;
  const double my = static_cast<double>(m[0]) / n, mx = static_cast<double>(m[1]) / n;
  const double var_y = static_cast<double>(m[2]) / n - my * my;
  const double var_x = static_cast<double>(m[3]) / n - mx * mx;
  const double cov = static_cast<double>(m[4]) / n - my * mx;
  // skimage: tensor [[a, b], [b, c]] = [[var_x, -cov], [-cov, var_y]].
  const double ta = var_x, tb = -cov, tc = var_y;
  const double disc = std::sqrt(4.0 * tb * tb + (ta - tc) * (ta - tc));
  const double l1 = std::fmax(0.0, (ta + tc + disc) / 2.0);
  const double l2 = std::fmax(0.0, (ta + tc - disc) / 2.0);
  o.major[j] = 4.0 * std::sqrt(l1);
  o.minor[j] = 4.0 * std::sqrt(l2);
  o.eccentricity[j] = l1 == 0.0 ? 0.0 : std::sqrt(1.0 - l2 / l1);
  const double kPi = 3.14159265358979323846;
  o.orientation[j] = ta - tc == 0.0 ? (tb < 0.0 ? kPi / 4.0 : -kPi / 4.0)
                                    : 0.5 * std::atan2(-2.0 * tb, tc - ta);
  const rp_u64* pc = a.perimeter_count + 3 * j;
  const double r2 = std::sqrt(2.0);
  o.perimeter[j] = static_cast<double>(pc[0]) + static_cast<double>(pc[1]) * r2 +
                   static_cast<double>(pc[2]) * ((1.0 + r2) / 2.0);

  // Convex area. Levels Y = 2r - 1 .. 2h - 1 (doubled, local): row r's pixel (r, x) gives
  // midpoints (2r - 1, 2x), (2r, 2x - 1), (2r, 2x + 1), (2r + 1, 2x).
  const int64_t r0 = a.row_offset[j], h = a.row_offset[j + 1] - r0;
  const int64_t levels = 2 * h + 1;
  int64_t* lpts = a.hull + 16 * r0 + 8 * j;  // points and chain of each side: 2 levels each
  int64_t* lchain = lpts + 2 * levels;
  int64_t* rpts = lpts + 4 * levels;
  int64_t* rchain = lpts + 6 * levels;
  int64_t nl = 0, nr = 0;
  for (int64_t k = 0; k < levels; ++k) {
    const int64_t Y = k - 1;  // level k is Y = k - 1
    int64_t lo = kInt64Max, hi = kInt64Min;
    // Rows with midpoints on level Y: r = (Y - 1) / 2 and (Y + 1) / 2 (odd Y), Y / 2 (even Y).
    for (int64_t r = (Y - 1) / 2 - 1; r <= (Y + 1) / 2 + 1; ++r) {
      if (r < 0 || r >= h || a.row_max[r0 + r] < 0) continue;
      const int64_t xl = a.row_min[r0 + r], xr = a.row_max[r0 + r];
      if (Y == 2 * r - 1 || Y == 2 * r + 1) {
        lo = lo < 2 * xl ? lo : 2 * xl;
        hi = hi > 2 * xr ? hi : 2 * xr;
      } else if (Y == 2 * r) {
        lo = lo < 2 * xl - 1 ? lo : 2 * xl - 1;
        hi = hi > 2 * xr + 1 ? hi : 2 * xr + 1;
      }
    }
    if (lo == kInt64Max) continue;
    lpts[2 * nl] = Y;
    lpts[2 * nl + 1] = lo;
    ++nl;
    rpts[2 * nr] = Y;
    rpts[2 * nr + 1] = hi;
    ++nr;
  }
  const int64_t cl = detail::chain(lpts, nl, -1, lchain);  // keeps the smallest X: left side
  const int64_t cr = detail::chain(rpts, nr, 1, rchain);   // keeps the largest X: right side
  int64_t count = 0, sl = 0, sr = 0;
  for (int64_t r = 0; r < h; ++r) {
    const int64_t Y = 2 * r;
    if (Y < lchain[0] || Y > lchain[2 * (cl - 1)]) continue;
    while (sl + 1 < cl - 1 && lchain[2 * (sl + 1)] < Y) ++sl;
    while (sr + 1 < cr - 1 && rchain[2 * (sr + 1)] < Y) ++sr;
    // X on a segment (Ya, Xa)-(Yb, Xb) at Y: (Xa (Yb - Ya) + (Xb - Xa)(Y - Ya)) / (Yb - Ya).
    const int64_t* la = lchain + 2 * sl;
    const int64_t* ra = rchain + 2 * sr;
    const int64_t ld = cl > 1 ? la[2] - la[0] : 1, rd = cr > 1 ? ra[2] - ra[0] : 1;
    const int64_t lnum = cl > 1 ? la[1] * ld + (la[3] - la[1]) * (Y - la[0]) : la[1];
    const int64_t rnum = cr > 1 ? ra[1] * rd + (ra[3] - ra[1]) * (Y - ra[0]) : ra[1];
    // Pixel centre x (X = 2x) inside: lnum / ld <= 2x <= rnum / rd.
    const int64_t xa = detail::ceil_div(lnum, 2 * ld), xb = detail::floor_div(rnum, 2 * rd);
    if (xb >= xa) count += xb - xa + 1;
  }
  o.convex_area[j] = count;
  (void)p;
}

}  // namespace cellrt
