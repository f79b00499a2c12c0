// Atomics that compile on both sides. On the device they are atomicAdd / atomicCAS / atomicMin /
// atomicMax and volatile loads and stores; on the host they are relaxed std::atomic_ref
// operations (only final values matter, never the order of other memory), so the CPU emulation
// of order-dependent GPU kernels (union-find labelling, scatter-add backward) runs the very same
// element functions, and is correct even when an OpenMP loop calls them concurrently.
#pragma once

#include <cstdint>
#include <type_traits>

#include "cellrt/kernels/common/hd.h"

#if !defined(__CUDA_ARCH__)
#include <atomic>
#endif

namespace cellrt {

#if !defined(__CUDA_ARCH__)
namespace detail {

// Host side of atomic_min (kMax false) and atomic_max (kMax true): a CAS loop that stores val
// while it beats the current value; returns the value before the call.
template <bool kMax, typename T>
T host_atomic_extremum(T* addr, T val) {
  std::atomic_ref<T> ref(*addr);
  T old = ref.load(std::memory_order_relaxed);
  while ((kMax ? old < val : val < old) &&
         !ref.compare_exchange_weak(old, val, std::memory_order_relaxed)) {
  }
  return old;
}

}  // namespace detail
#endif

template <typename T>
CELLRT_HD T atomic_add(T* addr, T val) {
#if defined(__CUDA_ARCH__)
  return atomicAdd(addr, val);
#else
  std::atomic_ref<T> ref(*addr);
  if constexpr (std::is_integral_v<T>) {
    return ref.fetch_add(val, std::memory_order_relaxed);
  } else {
    // A CAS loop rather than fetch_add: same code path for float, double and half-like types.
    T old = ref.load(std::memory_order_relaxed);
    while (!ref.compare_exchange_weak(old, old + val, std::memory_order_relaxed)) {
    }
    return old;
  }
#endif
}

// Returns the value that was at *addr before the call (like atomicCAS).
template <typename T>
CELLRT_HD T atomic_cas(T* addr, T expected, T desired) {
#if defined(__CUDA_ARCH__)
  return atomicCAS(addr, expected, desired);
#else
  std::atomic_ref<T> ref(*addr);
  ref.compare_exchange_strong(expected, desired, std::memory_order_relaxed);
  return expected;
#endif
}

// *addr = min(*addr, val); returns the value before the call (like atomicMin). Types: those of
// atomicMin (int, unsigned, long long, unsigned long long).
template <typename T>
CELLRT_HD T atomic_min(T* addr, T val) {
#if defined(__CUDA_ARCH__)
  return atomicMin(addr, val);
#else
  return detail::host_atomic_extremum<false>(addr, val);
#endif
}

// *addr = max(*addr, val); returns the value before the call (like atomicMax). Same types as
// atomic_min.
template <typename T>
CELLRT_HD T atomic_max(T* addr, T val) {
#if defined(__CUDA_ARCH__)
  return atomicMax(addr, val);
#else
  return detail::host_atomic_extremum<true>(addr, val);
#endif
}

// Relaxed load and store of a value other threads may be updating. On the device an aligned
// 32/64-bit access is already indivisible, and volatile keeps the compiler from caching it in a
// register; on the host std::atomic_ref keeps the multi-threaded CPU emulation free of data races.
template <typename T>
CELLRT_HD T atomic_load(const T* addr) {
#if defined(__CUDA_ARCH__)
  return *reinterpret_cast<const volatile T*>(addr);
#else
  return std::atomic_ref<T>(*const_cast<T*>(addr)).load(std::memory_order_relaxed);
#endif
}

template <typename T>
CELLRT_HD void atomic_store(T* addr, T val) {
#if defined(__CUDA_ARCH__)
  *reinterpret_cast<volatile T*>(addr) = val;
#else
  std::atomic_ref<T>(*addr).store(val, std::memory_order_relaxed);
#endif
}

}  // namespace cellrt
