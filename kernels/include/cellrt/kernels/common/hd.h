// CELLRT_HD marks an element function that both the CPU driver and the CUDA kernel call.
// Under nvcc it is __host__ __device__; in plain C++ it is an inline function, so the CPU path
// runs exactly the code the GPU runs.
#pragma once

#if defined(__CUDACC__)
#define CELLRT_HD __host__ __device__ __forceinline__
#define CELLRT_DEVICE __device__ __forceinline__
#else
#define CELLRT_HD inline
#define CELLRT_DEVICE inline
#endif
