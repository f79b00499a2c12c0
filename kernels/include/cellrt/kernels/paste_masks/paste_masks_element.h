// paste_masks element functions: RoI mask probabilities -> one full-image instance label image.
//
// Coordinate convention (detectron2's "paste by sampling the box"): image pixel (py, px) covers
// [px, px + 1) x [py, py + 1) and is evaluated at its centre (px + 0.5, py + 0.5). A box
// (x1, y1, x2, y2) is in the same continuous image coordinates, and the mask_h x mask_w mask
// tiles it exactly: mask cell (a, b) has its centre at
// (x1 + (b + 0.5) * (x2 - x1) / mask_w, y1 + (a + 0.5) * (y2 - y1) / mask_h). An image pixel
// centre therefore sits at mask coordinates
//   u = (px + 0.5 - x1) * mask_w / (x2 - x1) - 0.5,   v = (py + 0.5 - y1) * mask_h / (y2 - y1) - 0.5
// and its probability is the bilinear interpolation of the mask at (u, v), with the mask padded
// by zeros outside (torch grid_sample(align_corners=False, padding_mode="zeros")). It is nonzero
// only for -1 < u < mask_w and -1 < v < mask_h: within half a mask cell of the box, so only that
// window of pixels is evaluated.
//
// A pixel belongs to instance i when prob > threshold (strictly; threshold in [0, 1]), and where
// instances overlap the one with the higher score wins, the lower index on equal scores. It gets
// the label i + 1; 0 is background. Boxes with a non-finite coordinate, zero or negative width or
// height, and NaN scores paste nothing.
//
// Priorities are packed into 64-bit keys (float32 score bits made order-preserving, then the
// complemented index), so that "highest key wins" is the whole overlap rule: the CUDA kernel
// resolves overlaps with atomicMax in any order, the CPU driver sorts by the same key.
//
// A is the coordinate and interpolation type: double on the CPU, float on the GPU.
#pragma once

#include <cmath>
#include <cstdint>

#include "cellrt/kernels/common/atomic.h"
#include "cellrt/kernels/common/float_bits.h"
#include "cellrt/kernels/common/hd.h"
#include "cellrt/kernels/paste_masks/paste_masks_params.h"

namespace cellrt {

using paste_key_t = unsigned long long;  // the type CUDA's 64-bit atomicMax takes

CELLRT_HD float paste_floor(float x) { return floorf(x); }
CELLRT_HD double paste_floor(double x) { return floor(x); }
CELLRT_HD float paste_ceil(float x) { return ceilf(x); }
CELLRT_HD double paste_ceil(double x) { return ceil(x); }

// x - x is 0 for finite x and NaN for +-inf and NaN (exact in IEEE arithmetic).
template <typename A>
CELLRT_HD bool paste_is_finite(A x) {
  return x - x == A(0);
}

// float32 score -> uint32 with the same order (the sign-magnitude to two's-order trick).
// -0 is folded onto +0 so that they tie, as they compare equal. Never called with NaN.
CELLRT_HD uint32_t paste_score_bits(float score) {
  const uint32_t b = float_to_bits(score == 0.0f ? 0.0f : score);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// Higher key = higher priority: higher score first, then lower index. Never 0 for a valid
// instance (the score part of -inf is 0x007fffff), so 0 means "no instance" in the key image.
CELLRT_HD paste_key_t paste_pack_key(float score, int64_t index) {
  return (static_cast<paste_key_t>(paste_score_bits(score)) << 32) |
         (0xffffffffull - static_cast<paste_key_t>(index));
}

// Label (index + 1) of a key; 0 for the empty key.
CELLRT_HD int32_t paste_key_label(paste_key_t key) {
  if (key == 0) return 0;
  return static_cast<int32_t>(0xffffffffull - (key & 0xffffffffull)) + 1;
}

// Where one roi is evaluated and how it maps to its mask. The window [x_lo, x_hi) x [y_lo, y_hi)
// is clipped to the image and empty for rois that paste nothing.
template <typename A>
struct PasteRoi {
  A x1, y1;
  A scale_x, scale_y;  // mask cells per image pixel
  int64_t x_lo, x_hi, y_lo, y_hi;
  paste_key_t key;  // 0 when the roi pastes nothing

  CELLRT_HD int64_t width() const { return x_hi - x_lo; }
  CELLRT_HD int64_t count() const { return (x_hi - x_lo) * (y_hi - y_lo); }
};

// Pixel range [lo, hi) of one axis that can see the mask: centres strictly inside
// (lo_edge - margin, hi_edge + margin), margin = half a mask cell; one pixel of slack on the
// right costs nothing, as the sampler tests the exact support. Clamped in A before the integer
// conversion, so huge coordinates cannot overflow it.
template <typename A>
CELLRT_HD void paste_axis_window(A lo_edge, A hi_edge, int64_t cells, int64_t size, int64_t* lo,
                                 int64_t* hi) {
  const A margin = A(0.5) * (hi_edge - lo_edge) / A(cells);
  A a = paste_floor(lo_edge - margin - A(0.5));
  A b = paste_ceil(hi_edge + margin - A(0.5)) + A(1);
  a = a < A(0) ? A(0) : (a > A(size) ? A(size) : a);
  b = b < a ? a : (b > A(size) ? A(size) : b);
  *lo = static_cast<int64_t>(a);
  *hi = static_cast<int64_t>(b);
}

template <typename A>
CELLRT_HD PasteRoi<A> paste_roi(const PasteMasksParams& p, const A* boxes, const float* scores,
                                int64_t roi) {
  const A x1 = boxes[4 * roi + 0];
  const A y1 = boxes[4 * roi + 1];
  const A x2 = boxes[4 * roi + 2];
  const A y2 = boxes[4 * roi + 3];
  const float score = scores[roi];
  PasteRoi<A> g{x1, y1, A(0), A(0), 0, 0, 0, 0, 0};
  const bool valid = paste_is_finite(x1) && paste_is_finite(y1) && paste_is_finite(x2) &&
                     paste_is_finite(y2) && x2 > x1 && y2 > y1 && score == score &&
                     p.mask_h > 0 && p.mask_w > 0;
  if (!valid) return g;
  g.scale_x = A(p.mask_w) / (x2 - x1);
  g.scale_y = A(p.mask_h) / (y2 - y1);
  paste_axis_window(x1, x2, p.mask_w, p.image_w, &g.x_lo, &g.x_hi);
  paste_axis_window(y1, y2, p.mask_h, p.image_h, &g.y_lo, &g.y_hi);
  if (g.x_lo >= g.x_hi || g.y_lo >= g.y_hi) {
    g.x_hi = g.x_lo;
    g.y_hi = g.y_lo;
    return g;
  }
  g.key = paste_pack_key(score, roi);
  return g;
}

// Bilinear sample of one (mask_h, mask_w) mask at (u, v) in mask cell coordinates (cell centres
// at integers), zero outside the mask. The support test comes first: it also rejects NaN and
// infinite positions before they reach an integer conversion.
template <typename T, typename A>
CELLRT_HD A paste_bilinear(const T* mask, int64_t mask_h, int64_t mask_w, A u, A v) {
  if (!(u > A(-1) && u < A(mask_w) && v > A(-1) && v < A(mask_h))) return A(0);
  const A uf = paste_floor(u);
  const A vf = paste_floor(v);
  const int64_t u0 = static_cast<int64_t>(uf);
  const int64_t v0 = static_cast<int64_t>(vf);
  const A au = u - uf;  // weight of column u0 + 1
  const A av = v - vf;  // weight of row v0 + 1
  A top = A(0);
  A bottom = A(0);
  if (v0 >= 0) {
    const T* row = mask + v0 * mask_w;
    if (u0 >= 0) top += (A(1) - au) * static_cast<A>(row[u0]);
    if (u0 + 1 < mask_w) top += au * static_cast<A>(row[u0 + 1]);
  }
  if (v0 + 1 < mask_h) {
    const T* row = mask + (v0 + 1) * mask_w;
    if (u0 >= 0) bottom += (A(1) - au) * static_cast<A>(row[u0]);
    if (u0 + 1 < mask_w) bottom += au * static_cast<A>(row[u0 + 1]);
  }
  return (A(1) - av) * top + av * bottom;
}

// Probability of image pixel (px, py) under roi `roi` (geometry g), sampled at the pixel centre.
template <typename T, typename A>
CELLRT_HD A paste_pixel_prob(const PasteMasksParams& p, const T* masks, const PasteRoi<A>& g,
                             int64_t roi, int64_t px, int64_t py) {
  const A u = (A(px) + A(0.5) - g.x1) * g.scale_x - A(0.5);
  const A v = (A(py) + A(0.5) - g.y1) * g.scale_y - A(0.5);
  return paste_bilinear<T, A>(masks + roi * p.mask_h * p.mask_w, p.mask_h, p.mask_w, u, v);
}

// Does roi `roi` claim pixel (px, py)? NaN probabilities never do.
template <typename T, typename A>
CELLRT_HD bool paste_pixel_hit(const PasteMasksParams& p, const T* masks, const PasteRoi<A>& g,
                               int64_t roi, int64_t px, int64_t py) {
  return paste_pixel_prob<T, A>(p, masks, g, roi, px, py) > static_cast<A>(p.threshold);
}

// Device-side step: pixel k in [0, g.count()) of roi `roi`'s window offers the roi's key to the
// key image (image_h * image_w keys, zeroed first). Any order of (roi, k) gives the same keys.
template <typename T, typename A>
CELLRT_HD void paste_masks_key_element(const PasteMasksParams& p, const T* masks,
                                       const PasteRoi<A>& g, int64_t roi, int64_t k,
                                       paste_key_t* keys) {
  const int64_t px = g.x_lo + k % g.width();
  const int64_t py = g.y_lo + k / g.width();
  if (paste_pixel_hit<T, A>(p, masks, g, roi, px, py)) {
    atomic_max(keys + py * p.image_w + px, g.key);
  }
}

// Final step: key image -> label image, element i in [0, image_h * image_w).
CELLRT_HD void paste_masks_decode_element(const paste_key_t* keys, int32_t* labels, int64_t i) {
  labels[i] = paste_key_label(keys[i]);
}

}  // namespace cellrt
