#!/usr/bin/env bash
# Compile-only check of the CUDA side (needs nvcc, no GPU):
#  1. every kernels/**/<op>_element.h as C++ (-fsyntax-only -Wall -Wextra -Werror) and as CUDA
#     (nvcc -x cu, all warnings as errors), so host+device code stays valid on both sides;
#  2. a full CMake build with CELLRT_CUDA=ON (fails if nvcc is missing), which compiles every .cu
#     and links cellrt._cuda against the static CUDA runtime.
# Usage: tools/check_cuda_compile.sh [BUILD_DIR]   (CUDA architectures from $CELLRT_CUDA_ARCHITECTURES)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/cuda-check}
# Absolute: CMake resolves a relative CELLRT_MODULE_DIR against the binary subdirectory, not here.
mkdir -p "$build" && build=$(cd "$build" && pwd)
archs=${CELLRT_CUDA_ARCHITECTURES:-75;86;90}
nvcc=${NVCC:-nvcc}
command -v "$nvcc" >/dev/null || { echo "check_cuda_compile: nvcc not found" >&2; exit 1; }
inc="$root/kernels/include"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

n=0
while IFS= read -r -d '' hdr; do
  rel=${hdr#"$root/"}
  printf '#include "%s"\n' "$hdr" > "$tmp/tu.cpp"
  cp "$tmp/tu.cpp" "$tmp/tu.cu"
  c++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror -I"$inc" "$tmp/tu.cpp" \
    || { echo "check_cuda_compile: C++ compile of $rel failed" >&2; exit 1; }
  "$nvcc" -std=c++20 --expt-relaxed-constexpr -Werror all-warnings -arch=sm_75 -I"$inc" \
    -c "$tmp/tu.cu" -o "$tmp/tu.o" \
    || { echo "check_cuda_compile: nvcc compile of $rel failed" >&2; exit 1; }
  n=$((n + 1))
done < <(find "$root/kernels/include" -name '*_element.h' -print0 | sort -z)
echo "check_cuda_compile: $n element headers compile as C++ and CUDA"

cmake -S "$root" -B "$build" -G Ninja -DCELLRT_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$archs" \
  "-DCELLRT_MODULE_DIR=$build/modules" >"$build.configure.log" 2>&1 \
  || { cat "$build.configure.log" >&2; exit 1; }
cmake --build "$build" -j "$(nproc)"
ls "$build"/modules/_cuda*.so >/dev/null
echo "check_cuda_compile: cellrt._cuda built for architectures $archs"
