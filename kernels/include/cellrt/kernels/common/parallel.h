// Host-side threading helpers of the CPU drivers: OpenMP queries that also compile (as one
// thread) when OpenMP is off, and the size below which the image passes stay single-threaded.
// Host only: not for CELLRT_HD code.
#pragma once

#include <cstdint>

#if defined(CELLRT_WITH_OPENMP)
#include <omp.h>
#endif

namespace cellrt {

// Threads a parallel region may use: follows cellrt.set_num_threads (omp_set_num_threads).
inline int max_threads() {
#if defined(CELLRT_WITH_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// This thread's number within the current team (0 outside a parallel region).
inline int thread_id() {
#if defined(CELLRT_WITH_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Threads in the current team; may be fewer than requested (nested regions, thread limits).
inline int team_size() {
#if defined(CELLRT_WITH_OPENMP)
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// Streaming passes over an image (labelling, histograms, regionprops) use threads only from this
// many pixels on. They move a few GB/s per core (2048x2048 labels in ~1.5 ms on one core), so a
// second thread saves under a millisecond below this size, while each fork/join waits for every
// worker to be scheduled: on busy cores (e.g. post-processing overlapped with the network's
// inference) that wait was measured at 10-30 ms per call. Above it the work per thread dwarfs
// that risk.
inline constexpr int64_t kParallelMinPixels = int64_t{1} << 23;

}  // namespace cellrt
