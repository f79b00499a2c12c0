// Bit-level views of float32 that compile on both sides (std::bit_cast on the host, the CUDA
// intrinsics on the device). Used for the order-preserving score keys of paste_masks and for
// building 2^k in the vectorisable exp of attention_fusion.
#pragma once

#include <cstdint>

#include "cellrt/kernels/common/hd.h"

#if !defined(__CUDA_ARCH__)
#include <bit>
#endif

namespace cellrt {

CELLRT_HD uint32_t float_to_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  return std::bit_cast<uint32_t>(x);
#endif
}

CELLRT_HD float bits_to_float(uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(b);
#else
  return std::bit_cast<float>(b);
#endif
}

}  // namespace cellrt
