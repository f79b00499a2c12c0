#!/usr/bin/env bash
# The prepared check for a machine with an NVIDIA GPU: everything in cellrt that only a GPU can
# test, in one run of at most ~10 minutes, so that a short GPU lease is spent on measuring and not
# on working out what to run.
#
# Usage: tools/gpu_check.sh [OUTDIR]     (OUTDIR: default $OUT if set, else ./gpu-check-out)
#
# Without a usable GPU it prints one line and exits 0, writing nothing: CI and laptops run it too.
# With one it writes OUTDIR/gpu_check.log (everything printed) and OUTDIR/gpu_check.json (GPU,
# driver, CUDA version; per step: name, status ok/failed/skipped, seconds, reason, key numbers)
# and exits 1 if any step failed. Steps, each under `timeout`, a failure never stopping the next:
#   deps         the Python packages the build and tests need (pip install '.[dev]' if missing)
#   build        CMake build of _core and _cuda for this GPU (CMAKE_CUDA_ARCHITECTURES=native)
#                into python/cellrt, then `import cellrt; assert cellrt.HAS_CUDA`
#   cuda_tests   pytest -m cuda
#   memcheck     compute-sanitizer --tool memcheck over the ops' CUDA tests
#   racecheck    compute-sanitizer --tool racecheck over the same
#   bench_cpu    tools/bench/bench_kernels.py --quick (our CPU kernels vs their peers)
#   bench_gpu    every op on the CPU vs on the GPU (tools/gpu_check_trt.py kernels)
#   tensorrt     shipped models on TensorRT fp32/fp16 vs ONNX Runtime (tools/gpu_check_trt.py trt)
# Environment: PYTHON (default python3, else python); GPU_CHECK_BUDGET_S (default 570: the
# whole run's limit, later steps get what is left); GPU_CHECK_CUDA_ARCHS (default native);
# GPU_CHECK_NO_PIP=1 never runs pip (offline machines; dry runs); GPU_CHECK_ASSUME_GPU=1 runs the
# steps without a GPU (a dry run of the script's plumbing only).
set -u -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

# Per-step caps in seconds. They add up to more than the budget on purpose: a step that finishes
# early leaves its time to the later ones, and the budget cuts whatever runs late.
CAP_DEPS=240 CAP_BUILD=240 CAP_CUDA_TESTS=150 CAP_MEMCHECK=100 CAP_RACECHECK=100
CAP_BENCH_CPU=90 CAP_BENCH_GPU=90 CAP_TRT_PIP=90 CAP_TRT=300
RESERVE_S=15   # kept back for writing the summary

# --- GPU detection --------------------------------------------------------------------------

# Prints why there is no usable GPU, or nothing when there is one. nvidia-smi is the judge:
# it is what the driver ships, and a GPU it does not list cannot run our kernels either.
no_gpu_reason() {
  if [[ ${GPU_CHECK_ASSUME_GPU:-0} == 1 ]]; then return; fi
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "nvidia-smi not found"; return
  fi
  local listing
  if ! listing=$(timeout 30 nvidia-smi -L 2>&1); then
    echo "nvidia-smi failed: $(head -n 1 <<<"$listing")"; return
  fi
  grep -q '^GPU [0-9]' <<<"$listing" || echo "nvidia-smi lists no GPU"
}

# --- helpers --------------------------------------------------------------------------------

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# limit_for CAP: seconds this step may run (CAP, or what the budget has left); fails when the
# budget is spent, so the step is recorded as skipped instead of starting with no time.
limit_for() {
  local left=$((budget_end - SECONDS - RESERVE_S))
  ((left < 10)) && return 1
  echo $((left < $1 ? left : $1))
}

# run_limited LOG LIMIT CMD...: CMD under timeout, its output to the main log and to LOG.
run_limited() {
  local log=$1 limit=$2
  shift 2
  echo "+ (limit ${limit}s) $*"
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}

# why RC LIMIT WHAT: a one-line reason for a non-zero exit status.
why() {
  if (($1 == 124 || $1 == 137)); then echo "$3 timed out after ${2}s"; else echo "$3 exited $1"; fi
}

# record NAME STATUS T0 REASON [NUMBERS_JSON] [DETAILS_FILE]: one row of the step table.
record() {
  local reason=${4//$'\t'/ }
  reason=${reason//$'\n'/ }
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(since "$3")" "$reason" "${5:-}" "${6:-}" \
    >>"$work/steps.tsv"
  echo "== $1: $2${reason:+ ($reason)}"
}

# pytest_counts LOG: {"passed": N, ...} from pytest's summary line.
pytest_counts() {
  local line word n sep="" json="{"
  line=$(grep -E '[0-9]+ (passed|failed|skipped|errors?|deselected|xfailed|xpassed)' "$1" 2>/dev/null \
    | tail -n 1)
  for word in passed failed skipped error deselected xfailed xpassed; do
    n=$(grep -oE "[0-9]+ ${word}s?" <<<"$line" | grep -oE '^[0-9]+')
    json+="$sep\"$word\": ${n:-0}"
    sep=", "
  done
  echo "$json}"
}

# json_get FILE KEY: a top-level string field of a JSON file (empty if absent).
json_get() {
  "$py" -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2" \
    2>/dev/null
}

# record_helper NAME T0 RC LIMIT JSON NUMBERS: a step run by tools/gpu_check_trt.py, whose exit
# code says ok (0), skipped (3) or failed, and whose JSON (partial if it was stopped) is kept.
record_helper() {
  local name=$1 t0=$2 rc=$3 limit=$4 json=$5 numbers=$6
  [[ -s $json ]] || json=""
  case $rc in
    0) record "$name" ok "$t0" "" "$numbers" "$json" ;;
    3) record "$name" skipped "$t0" "$(json_get "$json" reason)" "$numbers" "$json" ;;
    1) record "$name" failed "$t0" "$(json_get "$json" reason)" "$numbers" "$json" ;;
    *) record "$name" failed "$t0" "$(why "$rc" "$limit" "$name step")" "$numbers" "$json" ;;
  esac
}

# --- steps ----------------------------------------------------------------------------------

# A fresh GPU machine may lack the test dependencies. `import cellrt` cannot be the probe: its
# compiled modules are what the build step makes, so probe the packages the build and tests use.
step_deps() {
  local t0 limit rc
  t0=$(now)
  local probe="import numpy, scipy, cv2, tifffile, onnxruntime, torch, pybind11, pytest, skimage"
  if "$py" -c "$probe" 2>/dev/null; then
    record deps ok "$t0" "" '{"installed": false}'
    return
  fi
  if [[ ${GPU_CHECK_NO_PIP:-0} == 1 ]]; then
    record deps failed "$t0" "missing packages ($probe failed) and GPU_CHECK_NO_PIP=1"
    return
  fi
  limit=$(limit_for "$CAP_DEPS") || { record deps skipped "$t0" "time budget spent"; return; }
  run_limited "$work/deps.log" "$limit" "$py" -m pip install -q "$root[dev]"
  rc=$?
  if ((rc == 0)) && "$py" -c "$probe"; then
    record deps ok "$t0" "" '{"installed": true}'
  else
    record deps failed "$t0" "$(why "$rc" "$limit" "pip install '.[dev]'")" '{"installed": false}'
  fi
}

# Plain CMake build, as tools/check_cuda_compile.sh does it, but for this GPU only (native: the
# fastest build, and the one that tests the code this GPU runs) and with the modules written into
# python/cellrt, where `import cellrt` (PYTHONPATH below) picks them up.
step_build() {
  local t0 limit rc end build archs gen=()
  t0=$(now)
  limit=$(limit_for "$CAP_BUILD") || { record build skipped "$t0" "time budget spent"; return; }
  end=$((SECONDS + limit))
  build=$root/build/gpu-check
  archs=${GPU_CHECK_CUDA_ARCHS:-native}
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  local numbers="{\"cuda_architectures\": \"$archs\"}"
  run_limited "$work/configure.log" "$limit" cmake -S "$root" -B "$build" "${gen[@]}" \
    -DCELLRT_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$archs" "-DCELLRT_MODULE_DIR=$root/python/cellrt" \
    "-DPython_EXECUTABLE=$("$py" -c 'import sys; print(sys.executable)')"
  rc=$?
  if ((rc != 0)); then
    record build failed "$t0" "$(why "$rc" "$limit" "cmake configure")" "$numbers"
    return
  fi
  limit=$((end - SECONDS))
  ((limit < 5)) && limit=5
  run_limited "$work/build.log" "$limit" cmake --build "$build" -j "$(nproc)"
  rc=$?
  if ((rc != 0)); then
    record build failed "$t0" "$(why "$rc" "$limit" "cmake --build")" "$numbers"
    return
  fi
  # The modules must be the ones just built and must see the GPU.
  timeout 120 "$py" -c '
import json, sys, cellrt
from cellrt import _backend
info = cellrt.build_info()
json.dump(info, open(sys.argv[1], "w"), indent=2, default=str)
print(json.dumps(info, default=str))
assert cellrt.HAS_CUDA, _backend.CUDA_UNAVAILABLE_REASON
' "$work/build_info.json" 2>&1 | tee "$work/import.log"
  rc=${PIPESTATUS[0]}
  if ((rc == 0)); then
    record build ok "$t0" "" "$numbers" "$work/build_info.json"
  else
    record build failed "$t0" "import cellrt: $(tail -n 1 "$work/import.log")" "$numbers" \
      "$work/build_info.json"
  fi
}

step_cuda_tests() {
  local t0 limit rc counts
  t0=$(now)
  limit=$(limit_for "$CAP_CUDA_TESTS") || { record cuda_tests skipped "$t0" "time budget spent"; return; }
  (cd "$root" && run_limited "$work/cuda_tests.log" "$limit" \
    "$py" -m pytest -m cuda -q -p no:cacheprovider)
  rc=$?
  counts=$(pytest_counts "$work/cuda_tests.log")
  if ((rc != 0)); then
    record cuda_tests failed "$t0" "$(why "$rc" "$limit" pytest)" "$counts"
  elif grep -q '"passed": 0,' <<<"$counts"; then
    record cuda_tests failed "$t0" "no CUDA test ran (all skipped: is cellrt.HAS_CUDA False?)" "$counts"
  else
    record cuda_tests ok "$t0" "" "$counts"
  fi
}

# The ops' own CUDA tests under compute-sanitizer: out-of-bounds and misaligned accesses
# (memcheck) and shared-memory races (racecheck) in our kernels, on real inputs.
step_sanitizer() {
  local tool=$1 cap=$2 t0 limit rc sanitizer tests errors counts numbers
  t0=$(now)
  # On PATH, or beside nvcc (CUDA installs often put only nvcc's folder on PATH).
  sanitizer=$(command -v compute-sanitizer 2>/dev/null)
  if [[ -z $sanitizer ]] && command -v nvcc >/dev/null 2>&1 \
    && [[ -x $(dirname "$(command -v nvcc)")/compute-sanitizer ]]; then
    sanitizer=$(dirname "$(command -v nvcc)")/compute-sanitizer
  fi
  if [[ -z $sanitizer ]]; then
    record "$tool" skipped "$t0" "compute-sanitizer not on PATH nor beside nvcc"
    return
  fi
  # The ops' tests folder has moved before; fall back to the whole suite's CUDA tests.
  tests=$root/tests
  for d in "$root/tests/python/ops" "$root/tests/ops"; do
    if [[ -d $d ]]; then tests=$d; break; fi
  done
  limit=$(limit_for "$cap") || { record "$tool" skipped "$t0" "time budget spent"; return; }
  # No torch caching allocator under memcheck: it hides out-of-bounds accesses inside its pools.
  (cd "$root" || exit
    [[ $tool == memcheck ]] && export PYTORCH_NO_CUDA_MEMORY_CACHING=1
    run_limited "$work/$tool.log" "$limit" \
      "$sanitizer" --tool "$tool" --error-exitcode 86 --print-limit 20 \
      "$py" -m pytest -q -m cuda -p no:cacheprovider "$tests")
  rc=$?
  errors=$(grep -oE 'ERROR SUMMARY: [0-9]+' "$work/$tool.log" | tail -n 1 | grep -oE '[0-9]+$')
  counts=$(pytest_counts "$work/$tool.log")
  numbers="{\"sanitizer_errors\": ${errors:-null}, \"tests\": \"${tests#"$root"/}\", \"pytest\": $counts}"
  if ((rc == 0)); then
    record "$tool" ok "$t0" "" "$numbers"
  elif ((rc == 86)); then
    record "$tool" failed "$t0" "compute-sanitizer $tool reported ${errors:-some} errors" "$numbers"
  else
    record "$tool" failed "$t0" "$(why "$rc" "$limit" "$tool run")" "$numbers"
  fi
}

# The benches as they are: our CPU kernels vs their peers (ratios, match flags). They take no
# CUDA option; the GPU side is step_bench_gpu.
step_bench_cpu() {
  local t0 limit rc n mism
  t0=$(now)
  limit=$(limit_for "$CAP_BENCH_CPU") || { record bench_cpu skipped "$t0" "time budget spent"; return; }
  (cd "$root" && run_limited "$work/bench_cpu.log" "$limit" \
    "$py" tools/bench/bench_kernels.py --quick --json "$work/bench_cpu.json")
  rc=$?
  if ((rc != 0)); then
    record bench_cpu failed "$t0" "$(why "$rc" "$limit" bench_kernels.py)"
    return
  fi
  n=$("$py" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$work/bench_cpu.json")
  mism=$("$py" -c 'import json, sys; print(sum(r.get("match") is False for r in json.load(open(sys.argv[1]))))' \
    "$work/bench_cpu.json")
  # A mismatch is information here (e.g. watershed ties on "dist" maps are documented), not a
  # failure: the ops' tests decide correctness.
  record bench_cpu ok "$t0" "" "{\"records\": ${n:-0}, \"not_matching_peer\": ${mism:-0}}" \
    "$work/bench_cpu.json"
}

# One step run by tools/gpu_check_trt.py: helper_step NAME CAP SUBCOMMAND T0 EXTRA_JSON.
helper_step() {
  local name=$1 cap=$2 sub=$3 t0=$4 extra=$5 limit rc
  limit=$(limit_for "$cap") || { record "$name" skipped "$t0" "time budget spent"; return; }
  (cd "$root" && run_limited "$work/$name.log" "$limit" \
    "$py" tools/gpu_check_trt.py "$sub" --json "$work/$name.json")
  rc=$?
  record_helper "$name" "$t0" "$rc" "$limit" "$work/$name.json" "$extra"
}

step_bench_gpu() {
  helper_step bench_gpu "$CAP_BENCH_GPU" kernels "$(now)" ""
}

# TensorRT is not a dependency of cellrt (it is large and GPU-only): install it for the check if
# it is missing, within a short limit (machines without network fail fast), else skip the step.
step_tensorrt() {
  local t0 limit spec pip_note=""
  t0=$(now)
  if ! "$py" -c "import tensorrt" 2>/dev/null; then
    for spec in 'tensorrt-cu13<11' 'tensorrt~=10.0'; do
      [[ ${GPU_CHECK_NO_PIP:-0} == 1 ]] && { echo "GPU_CHECK_NO_PIP=1: not installing" >"$work/trt_pip.log"; break; }
      limit=$(limit_for "$CAP_TRT_PIP") || break
      run_limited "$work/trt_pip.log" "$limit" "$py" -m pip install -q --retries 0 --timeout 20 "$spec"
      if "$py" -c "import tensorrt" 2>/dev/null; then pip_note="installed $spec"; break; fi
    done
    if ! "$py" -c "import tensorrt" 2>/dev/null; then
      record tensorrt skipped "$t0" "tensorrt not importable, not installed: $(tail -n 1 "$work/trt_pip.log" 2>/dev/null)"
      return
    fi
  fi
  helper_step tensorrt "$CAP_TRT" trt "$t0" "{\"pip\": \"$pip_note\"}"
}

# --- main -----------------------------------------------------------------------------------

main() {
  local started gpu_name="" driver="" cuda="" nvcc_version=""
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  budget_end=$((SECONDS + ${GPU_CHECK_BUDGET_S:-570}))
  work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # TensorRT engines and auto-backend choices go to a scratch cache: engine build times are then
  # measured, and the user's cache is left alone.
  export CELLRT_CACHE_DIR=$work/cache
  # The source tree first, so the modules built below are the ones imported even where a copy of
  # cellrt is installed in site-packages.
  export PYTHONPATH=$root/python:$root${PYTHONPATH:+:$PYTHONPATH}
  export PYTHONUNBUFFERED=1

  if command -v nvidia-smi >/dev/null 2>&1; then
    IFS=, read -r gpu_name driver < <(timeout 30 nvidia-smi --query-gpu=name,driver_version \
      --format=csv,noheader 2>/dev/null | head -n 1)
    cuda=$(timeout 30 nvidia-smi 2>/dev/null | grep -oE 'CUDA Version: *[0-9.]+' | grep -oE '[0-9.]+$')
    timeout 30 nvidia-smi
  fi
  command -v nvcc >/dev/null 2>&1 && nvcc_version=$(nvcc --version | grep -oE 'release [0-9.]+' | cut -d' ' -f2)
  gpu_name=${gpu_name:-unknown} driver=${driver# }
  echo "gpu_check: $gpu_name, driver ${driver:-?}, CUDA ${cuda:-?}, nvcc ${nvcc_version:-none}," \
    "python $("$py" -c 'import sys; print(sys.version.split()[0])'), budget ${GPU_CHECK_BUDGET_S:-570}s"
  : >"$work/steps.tsv"

  step_deps
  step_build
  step_cuda_tests
  step_sanitizer memcheck "$CAP_MEMCHECK"
  step_sanitizer racecheck "$CAP_RACECHECK"
  step_bench_cpu
  step_bench_gpu
  step_tensorrt

  "$py" "$root/tools/gpu_check_trt.py" summary --steps "$work/steps.tsv" --out "$outdir/gpu_check.json" \
    --gpu-name "$gpu_name" --driver "$driver" --cuda-version "$cuda" --nvcc "$nvcc_version" \
    --started "$started" --seconds "$SECONDS" \
    || echo "gpu_check: could not write $outdir/gpu_check.json"
  echo "gpu_check: steps (name, status, seconds, reason):"
  cut -f1-4 "$work/steps.tsv" | sed 's/^/  /'
  echo "gpu_check: wrote $outdir/gpu_check.log and $outdir/gpu_check.json in ${SECONDS}s"
  ! grep -q $'^[^\t]*\tfailed\t' "$work/steps.tsv"
}

reason=$(no_gpu_reason)
if [[ -n $reason ]]; then
  echo "gpu_check: no NVIDIA GPU here ($reason); nothing to check"
  exit 0
fi

py=${PYTHON:-$(command -v python3 || command -v python)}
if [[ -z $py ]]; then
  echo "gpu_check: no python3 or python on PATH (set PYTHON)" >&2
  exit 1
fi
outdir=${1:-${OUT:-./gpu-check-out}}
if ! mkdir -p "$outdir"; then
  echo "gpu_check: cannot create $outdir" >&2
  exit 1
fi
outdir=$(cd "$outdir" && pwd)
main 2>&1 | tee "$outdir/gpu_check.log"
exit "${PIPESTATUS[0]}"
