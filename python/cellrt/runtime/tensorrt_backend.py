"""TensorRT backend: a model package's ONNX graph compiled to an engine for this GPU.

Why a separate backend: an engine is the network compiled for one GPU (fused layers, kernels
timed on that GPU, optionally fp16), the fastest way we have to run it on NVIDIA hardware. The
price is that an engine is specific to one GPU model, one TensorRT version, one precision and one
range of input shapes (its optimisation profile), and that building one takes minutes. So:

  * the profile is derived from the tile plan the pipeline will use (`profile_shapes`), so every
    tile of every image fits one engine; a batch outside it gets an engine for a grown profile
    instead of an error (`grow_profile`);
  * engines are cached on disk under a key over everything they depend on (`engine_key`), next to
    a TensorRT timing cache that makes rebuilds for new profiles fast; files are written
    atomically and a cached engine that does not load is rebuilt, never fatal;
  * tensors go to the GPU through torch (preferred) or cuda-python, whichever is installed: the
    lean install has neither, and pycuda is not used;
  * `run` is thread-safe with one execution context, CUDA stream and set of device buffers per
    thread; buffers grow to the largest batch seen and are reused after that.

The key, path, profile and op-support logic are pure functions, testable without TensorRT or a
GPU. Written against the TensorRT 10 Python API; TensorRT 11 removed the fp16 builder flag and
`platform_has_fast_fp16` this backend relies on, so `probe` refuses other major versions.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import operator
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from cellrt.io.outputs import atomic_write_bytes
from cellrt.pipeline.tiling import TilePlan, _round_up
from cellrt.runtime.backends import BackendUnavailable
from cellrt.runtime.package import ModelPackage, PackageError

_log = logging.getLogger(__name__)

Shape = tuple[int, int, int, int]  # N, C, H, W
Profile = tuple[Shape, Shape, Shape]  # min, opt, max

PRECISIONS = ("fp32", "fp16")
INSTALL_HINT = "pip install tensorrt~=10.0"
# Tiles arrive in batches of this size once the pipeline batches across tiles; a smaller final
# batch is covered by the profile's minimum batch of 1.
DEFAULT_BATCH = 4
# Bumped whenever what we feed the builder changes beyond the key's inputs (flags, workspace...),
# so engines built by an older cellrt are not mistaken for current ones.
ENGINE_CACHE_FORMAT = 1
# A grown profile's spatial maximum is rounded up to this many pixels: whole-image runs on images
# of slowly increasing size would otherwise rebuild the engine (minutes) for every few pixels.
GROW_STEP = 256

# ONNX operators (default domain) the TensorRT 10.0 ONNX parser imports natively: the "Y" rows of
# onnx-tensorrt's operator matrix, https://github.com/onnx/onnx-tensorrt/blob/main/docs/operators.md
# (as of TensorRT 10.15), minus the operators its changelog,
# https://github.com/onnx/onnx-tensorrt/blob/main/docs/Changelog.md, records as added after 10.0
# (DeformConv 10.1; BlackmanWindow, HammingWindow, HannWindow 10.4; STFT 10.5; Attention 10.14;
# RMSNormalization, RotaryEmbedding, TensorScatter 10.15), so a graph that passes parses on every
# TensorRT 10.x. Per-op restrictions (e.g. Resize modes, "axes must be an initializer") are not
# checked here: the parser reports those when the engine is built.
TENSORRT10_ONNX_OPS = frozenset({
    "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
    "AveragePool", "BatchNormalization", "Cast", "CastLike", "Ceil", "Celu", "Clip", "Concat",
    "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum",
    "DepthToSpace", "DequantizeLinear", "Div", "Dropout", "Einsum", "Elu", "Equal", "Erf", "Exp",
    "Expand", "EyeLike", "Flatten", "Floor", "Gather", "GatherElements", "GatherND", "Gelu",
    "Gemm", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual",
    "GridSample", "GroupNormalization", "GRU", "HardSigmoid", "HardSwish", "Hardmax", "Identity",
    "If", "ImageScaler", "InstanceNormalization", "IsInf", "IsNaN", "LayerNormalization",
    "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "Loop", "LRN", "LSTM",
    "LpNormalization", "LpPool", "MatMul", "Max", "MaxPool", "Mean", "MeanVarianceNormalization",
    "Min", "Mish", "Mod", "Mul", "Neg", "NonMaxSuppression", "NonZero", "Not", "OneHot", "Or",
    "Pad", "ParametricSoftplus", "Pow", "PRelu", "QuantizeLinear", "RandomNormal",
    "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Range", "Reciprocal", "ReduceL1",
    "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
    "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize", "ReverseSequence",
    "RNN", "RoiAlign", "Round", "ScaledTanh", "Scan", "Scatter", "ScatterElements", "ScatterND",
    "Selu", "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Slice", "Softmax",
    "Softplus", "Softsign", "SpaceToDepth", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tan",
    "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Unsqueeze", "Upsample",
    "Where", "Xor",
})
_DEFAULT_DOMAINS = ("", "ai.onnx")


# --------------------------------------------------------------------------------------------
# ONNX operator support (needs the `onnx` package, not TensorRT)


def unsupported_onnx_ops(onnx_bytes: bytes, plugins: Iterable[str] = ()) -> list[str]:
    """Sorted operator names of a graph that TensorRT 10's ONNX parser does not import.

    Walks the main graph, the bodies of If/Loop/Scan and the model's local functions (which the
    parser inlines, so a call to one is not an operator of its own). Ops outside the default ONNX
    domain are reported as "domain::op". `plugins` names ops a registered TensorRT plugin provides
    (e.g. "EfficientNMS_TRT"): whether one is registered is a fact of the machine, not the graph.
    """
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"unsupported_onnx_ops needs the onnx package ({exc}); "
                          "pip install 'cellrt[train]'") from None
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_from_string(onnx_bytes)
    except DecodeError as exc:
        raise PackageError(f"unsupported_onnx_ops: not an ONNX model ({exc})") from None
    functions = {(f.domain, f.name): f for f in model.functions}
    allowed = set(plugins)
    found = set()
    for node in _walk_nodes(model.graph.node, functions, set()):
        if node.op_type in allowed:
            continue
        if node.domain in _DEFAULT_DOMAINS:
            if node.op_type not in TENSORRT10_ONNX_OPS:
                found.add(node.op_type)
        else:
            found.add(f"{node.domain}::{node.op_type}")
    return sorted(found)


def _walk_nodes(nodes, functions: dict, entered: set) -> Iterator:
    """Every operator node reachable from `nodes`, through subgraphs and local functions."""
    for node in nodes:
        key = (node.domain, node.op_type)
        if key in functions:
            if key not in entered:  # a function called twice needs checking once
                entered.add(key)
                yield from _walk_nodes(functions[key].node, functions, entered)
            continue
        yield node
        for attr in node.attribute:
            subgraphs = ([attr.g] if attr.HasField("g") else []) + list(attr.graphs)
            for graph in subgraphs:
                yield from _walk_nodes(graph.node, functions, entered)


# --------------------------------------------------------------------------------------------
# Optimisation profiles (pure)


def _check_int(func: str, name: str, value, minimum: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{func}: {name} must be an int, got bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{func}: {name} must be an int, got {type(value).__name__}") from None
    if v < minimum:
        raise ValueError(f"{func}: {name} must be >= {minimum}, got {v}")
    return v


def profile_shapes(config: dict, tile_size: int, batch: int,
                   image_shape: tuple[int, int] | None = None) -> Profile:
    """(min, opt, max) input shapes (N, C, H, W) of an engine profile covering a tile plan.

    min = (1, C, align, align): the last, short batch and the smallest edge tile.
    opt = (batch, C, S, S), S the net side of a full tile (core + halo + context on both sides):
          most tiles of a large image have it, so that is the shape TensorRT tunes for. With
          `image_shape` known, the largest net height and width that image's plan produces.
    max = (batch, C, S_max, S_max), S_max = TilePlan.max_net_side(): no plan with this tile size
          produces a larger input. Square so that a transposed image fits the same engine.
    tile_size 0 means one tile per image, whose size is then needed: `image_shape` (H, W).
    """
    func = "profile_shapes"
    tile_size = _check_int(func, "tile_size", tile_size, 0)
    batch = _check_int(func, "batch", batch, 1)
    channels, align = int(config["in_channels"]), int(config["align"])
    if image_shape is None:
        if tile_size == 0:
            raise ValueError(f"{func}: tile_size 0 (whole image) needs image_shape (H, W), "
                             "got None")
        # max_net_side of a tiled plan does not depend on the image; any image larger than one
        # (rounded) tile gives a tiled plan.
        side = _round_up(tile_size, align) + 1
        plan = TilePlan.create((side, side), tile_size, config["object_halo"],
                               config["context"], align)
        s_max = plan.max_net_side()
        opt_hw = (s_max, s_max)
    else:
        if len(image_shape) != 2:
            raise ValueError(f"{func}: image_shape must be (H, W), got {tuple(image_shape)}")
        plan = TilePlan.create(tuple(int(v) for v in image_shape), tile_size,
                               config["object_halo"], config["context"], align)
        s_max = plan.max_net_side()
        shapes = plan.net_shapes()
        opt_hw = (max(h for h, _ in shapes), max(w for _, w in shapes))
    return ((1, channels, align, align), (batch, channels, *opt_hw),
            (batch, channels, s_max, s_max))


def covers(profile: Profile, shape: Shape) -> bool:
    """Whether an input of `shape` lies inside the profile's [min, max] box."""
    lo, _, hi = profile
    return len(shape) == 4 and all(a <= s <= b for a, s, b in zip(lo, shape, hi))


def grow_profile(profile: Profile, shape: Shape) -> Profile:
    """The smallest profile (up to GROW_STEP on the spatial maximum) covering `profile` and
    `shape`; the opt shape is kept, it is still the common case."""
    lo, opt, hi = profile
    new_lo = tuple(min(a, s) for a, s in zip(lo, shape))
    side = max(hi[2], hi[3], _round_up(max(shape[2], shape[3]), GROW_STEP))
    new_hi = (max(hi[0], shape[0]), hi[1], side, side)
    return new_lo, opt, new_hi


# --------------------------------------------------------------------------------------------
# Engine cache: key, paths, load-or-build policy (pure)


def default_cache_dir() -> Path:
    """$CELLRT_CACHE_DIR/tensorrt, by default ~/.cache/cellrt/tensorrt (cellrt.runtime.cache)."""
    from cellrt.runtime.cache import cache_dir

    return cache_dir("tensorrt")


def engine_key(gpu_name: str, compute_capability: tuple[int, int], trt_version: str,
               onnx_sha256: str, precision: str, profile: Profile) -> str:
    """sha256 (hex) over everything an engine depends on: another GPU model, TensorRT version,
    graph, precision or profile needs another engine."""
    fields = {
        "format": ENGINE_CACHE_FORMAT,
        "gpu_name": gpu_name,
        "compute_capability": [int(v) for v in compute_capability],
        "tensorrt": trt_version,
        "onnx_sha256": onnx_sha256,
        "precision": precision,
        "profile": [[int(v) for v in s] for s in profile],
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def engine_path(key: str, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"{key}.engine"


def timing_cache_path(cache_dir: Path, gpu_name: str, compute_capability: tuple[int, int],
                      trt_version: str) -> Path:
    """The timing cache shared by all engines built for one GPU model and TensorRT version (its
    entries are per layer configuration, so every model and profile benefits); another GPU or
    version gets its own file rather than overwriting this one."""
    tag = json.dumps([gpu_name, [int(v) for v in compute_capability], trt_version])
    return Path(cache_dir) / f"timing-{hashlib.sha256(tag.encode()).hexdigest()[:16]}.cache"


def load_or_build(path: Path, deserialize: Callable[[bytes], object | None],
                  build: Callable[[], bytes]) -> tuple[object, bool]:
    """(engine, built): the engine cached at `path`, or a freshly built one written there.

    `deserialize` returns None for bytes it cannot use (corrupt, truncated, another TensorRT or
    GPU): the cache is only a cache, so that means a rebuild, never an error.
    """
    try:
        blob = Path(path).read_bytes()
    except FileNotFoundError:
        blob = None
    except OSError as exc:
        _log.warning("cannot read cached TensorRT engine %s (%s); rebuilding", path, exc)
        blob = None
    if blob is not None:
        engine = deserialize(blob)
        if engine is not None:
            return engine, False
        _log.warning("cached TensorRT engine %s does not load here; rebuilding", path)
    blob = build()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, blob)
    engine = deserialize(blob)
    if engine is None:
        raise RuntimeError(f"TensorRT cannot load the engine it has just built ({path})")
    return engine, True


# --------------------------------------------------------------------------------------------
# Input checks (pure)


def parse_device(device) -> int:
    """None, an int, "cuda" or "cuda:N" -> the CUDA device index."""
    if device is None or device == "cuda":
        return 0
    if isinstance(device, str) and device.startswith("cuda:") and device[5:].isdigit():
        return int(device[5:])
    if isinstance(device, int) and not isinstance(device, bool) and device >= 0:
        return device
    raise ValueError(f"TensorRTBackend: device must be None, a device index, 'cuda' or "
                     f"'cuda:N', got {device!r}")


def check_batch(batch, channels: int, align: int) -> np.ndarray:
    """A contiguous float32 (N, channels, H, W) array with H, W multiples of `align`."""
    if not isinstance(batch, np.ndarray):
        raise TypeError(f"TensorRTBackend.run: batch must be a numpy array, got "
                        f"{type(batch).__name__}")
    if batch.ndim != 4 or batch.shape[1] != channels:
        raise ValueError(f"TensorRTBackend.run: batch must have shape (N, {channels}, H, W), "
                         f"got {batch.shape}")
    h, w = batch.shape[2:]
    if h % align or w % align or h == 0 or w == 0:
        raise ValueError(f"TensorRTBackend.run: H and W must be positive multiples of {align} "
                         f"(the network's down-sampling), got {h} x {w}")
    return np.ascontiguousarray(batch, dtype=np.float32)


# --------------------------------------------------------------------------------------------
# What this machine offers


def _import_tensorrt():
    try:
        import tensorrt as trt
    except (ImportError, OSError) as exc:  # OSError: the wheel is there, libnvinfer is not
        raise BackendUnavailable(f"tensorrt is not importable ({exc}); {INSTALL_HINT}") from None
    if trt.__version__.split(".")[0] != "10":
        raise BackendUnavailable(f"tensorrt {trt.__version__} is installed, this backend needs "
                                 f"TensorRT 10 ({INSTALL_HINT})")
    return trt


def _torch_gpu() -> tuple[bool, str]:
    try:
        import torch
    except (ImportError, OSError):
        return False, ""
    if torch.version.cuda is None:
        return False, f"torch {torch.__version__} is a CPU-only build"
    # torch reports driver problems as a UserWarning, which is exactly the reason we want.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count:
        return True, ""
    why = "; ".join(str(w.message) for w in caught)
    return False, (f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no device"
                   + (f" ({why})" if why else ""))


def _cudart_gpu() -> tuple[bool, str]:
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        return False, ""
    err, count = cudart.cudaGetDeviceCount()
    if err != cudart.cudaError_t.cudaSuccess:
        return False, f"cuda-python: cudaGetDeviceCount failed: {_cuda_error_text(cudart, err)}"
    if count == 0:
        return False, "cuda-python sees 0 devices"
    return True, ""


def _cellrt_gpu() -> tuple[bool, str]:
    from cellrt import _backend

    return _backend.HAS_CUDA, f"cellrt: {_backend.CUDA_UNAVAILABLE_REASON}"


def gpu_unavailable_reason() -> str | None:
    """None if torch, cuda-python or cellrt._cuda sees a CUDA device; else what each said."""
    findings = []
    for source in (_torch_gpu, _cudart_gpu, _cellrt_gpu):
        usable, detail = source()
        if usable:
            return None
        if detail:
            findings.append(detail)
    return "no usable CUDA GPU: " + "; ".join(findings)


def io_path() -> str:
    """How tensors reach the GPU: "torch" (torch with CUDA) or "cuda-python"."""
    if _torch_gpu()[0]:
        return "torch"
    try:
        from cuda.bindings import runtime  # noqa: F401
    except ImportError:
        raise BackendUnavailable("TensorRT needs torch with CUDA or cuda-python to move tensors "
                                 "to the GPU, and neither is importable; pip install "
                                 "cuda-python") from None
    return "cuda-python"


_logger_lock = threading.Lock()
_trt_logger = None


def _logger(trt):
    """One TensorRT logger per process (builder, parser and runtime may share it)."""
    global _trt_logger
    with _logger_lock:
        if _trt_logger is None:
            _trt_logger = trt.Logger(trt.Logger.WARNING)
        return _trt_logger


@contextlib.contextmanager
def _weak_typing_api() -> Iterator[None]:
    # TensorRT 10.12 deprecated precision flags and platform_has_fast_fp16 (weak typing) in
    # favour of strongly typed graphs; they remain the way to get fp16 from an fp32 ONNX graph
    # on every 10.x, so their DeprecationWarning is not news to the caller.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@functools.lru_cache(maxsize=1)  # failures are not cached: a fixed install is seen at once
def probe() -> tuple[str, ...]:
    """The precisions TensorRT offers here, or BackendUnavailable saying what is missing."""
    trt = _import_tensorrt()
    reason = gpu_unavailable_reason()
    if reason:
        raise BackendUnavailable(reason)
    io_path()
    try:
        builder = trt.Builder(_logger(trt))
        with _weak_typing_api():
            fast_fp16 = builder.platform_has_fast_fp16
    except (RuntimeError, TypeError) as exc:  # the binding raises when CUDA cannot initialise
        raise BackendUnavailable(f"TensorRT cannot create a builder on this GPU ({exc})") from None
    return ("fp32", "fp16") if fast_fp16 else ("fp32",)


# --------------------------------------------------------------------------------------------
# Moving tensors: torch or cuda-python, one interface


def _cuda_error_text(cudart, err) -> str:
    name = cudart.cudaGetErrorName(err)[1].decode()
    text = cudart.cudaGetErrorString(err)[1].decode()
    return f"{name} ({text})"


class _TorchIO:
    """Device buffers are flat float32 torch tensors; work is queued on the thread's stream."""

    def __init__(self, index: int):
        import torch

        self.torch = torch
        self.device = torch.device("cuda", index)

    @contextlib.contextmanager
    def scope(self, stream=None) -> Iterator[None]:
        # torch.cuda.stream(None) is a no-op: work then goes to the device's current stream.
        with self.torch.cuda.device(self.device), self.torch.cuda.stream(stream):
            yield

    def device_info(self) -> tuple[str, tuple[int, int]]:
        return (self.torch.cuda.get_device_name(self.device),
                tuple(self.torch.cuda.get_device_capability(self.device)))

    def new_stream(self):
        return self.torch.cuda.Stream(device=self.device)

    def stream_handle(self, stream) -> int:
        return stream.cuda_stream

    def alloc(self, elems: int):
        return self.torch.empty(elems, dtype=self.torch.float32, device=self.device)

    def ptr(self, buf) -> int:
        return buf.data_ptr()

    def upload(self, buf, host: np.ndarray, stream) -> None:
        if not host.flags.writeable:  # torch.from_numpy warns on read-only arrays
            host = host.copy()
        buf[:host.size].copy_(self.torch.from_numpy(host).reshape(-1))

    def download(self, buf, shape: tuple[int, ...], stream) -> np.ndarray:
        # A blocking copy into fresh host memory: the caller owns the result, our buffer is reused.
        return buf[:int(np.prod(shape))].view(shape).cpu().numpy()

    def synchronize(self, stream) -> None:
        stream.synchronize()


class _CudaBuffer:
    """cudaMalloc'd float32 storage, freed with its last reference."""

    def __init__(self, cudart, elems: int):
        self._cudart = cudart
        self.ptr = 0
        self.ptr = int(_ck(cudart, cudart.cudaMalloc(max(elems, 1) * 4)))

    def __del__(self):
        if self.ptr:
            self._cudart.cudaFree(self.ptr)


class _CudaStream:
    """A non-blocking CUDA stream (no implicit sync with the legacy default stream), destroyed
    with its last reference."""

    def __init__(self, cudart):
        self._cudart = cudart
        self.handle = None
        self.handle = _ck(cudart, cudart.cudaStreamCreateWithFlags(cudart.cudaStreamNonBlocking))

    def __del__(self):
        if self.handle is not None:
            self._cudart.cudaStreamDestroy(self.handle)


def _ck(cudart, result):
    """cuda-python returns (error, value...): the value, or RuntimeError naming the error."""
    err, *value = result
    if err != cudart.cudaError_t.cudaSuccess:
        raise RuntimeError(f"CUDA call failed: {_cuda_error_text(cudart, err)}")
    return value[0] if value else None


class _CudaPythonIO:
    def __init__(self, index: int):
        from cuda.bindings import runtime as cudart

        self.cudart = cudart
        self.index = index

    @contextlib.contextmanager
    def scope(self, stream=None) -> Iterator[None]:
        # The current device is per host thread; restore the caller's afterwards.
        previous = _ck(self.cudart, self.cudart.cudaGetDevice())
        _ck(self.cudart, self.cudart.cudaSetDevice(self.index))
        try:
            yield
        finally:
            self.cudart.cudaSetDevice(previous)

    def device_info(self) -> tuple[str, tuple[int, int]]:
        props = _ck(self.cudart, self.cudart.cudaGetDeviceProperties(self.index))
        return props.name.split(b"\0", 1)[0].decode(), (props.major, props.minor)

    def new_stream(self):
        return _CudaStream(self.cudart)

    def stream_handle(self, stream) -> int:
        return int(stream.handle)

    def alloc(self, elems: int):
        return _CudaBuffer(self.cudart, elems)

    def ptr(self, buf) -> int:
        return buf.ptr

    def upload(self, buf, host: np.ndarray, stream) -> None:
        _ck(self.cudart, self.cudart.cudaMemcpyAsync(
            buf.ptr, host.ctypes.data, host.nbytes,
            self.cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, stream.handle))

    def download(self, buf, shape: tuple[int, ...], stream) -> np.ndarray:
        host = np.empty(shape, dtype=np.float32)
        _ck(self.cudart, self.cudart.cudaMemcpyAsync(
            host.ctypes.data, buf.ptr, host.nbytes,
            self.cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream.handle))
        self.synchronize(stream)  # host memory is pageable: wait before handing it out
        return host

    def synchronize(self, stream) -> None:
        _ck(self.cudart, self.cudart.cudaStreamSynchronize(stream.handle))


def _make_io(path: str, index: int):
    return _TorchIO(index) if path == "torch" else _CudaPythonIO(index)


# --------------------------------------------------------------------------------------------
# Engines and per-thread execution


@dataclass(frozen=True, eq=False)  # identity: two loads of one file are two engines
class _Engine:
    profile: Profile
    engine: object  # trt.ICudaEngine
    input_name: str
    out_channels: dict  # output name -> K (outputs are (N, K, H, W))


class _Execution:
    """One thread's execution context, stream and device buffers for one engine."""

    def __init__(self, entry: _Engine, io, outputs: list[str]):
        self.entry = entry
        self.io = io
        self.outputs = outputs
        self.context = entry.engine.create_execution_context()
        if self.context is None:
            raise RuntimeError("TensorRT could not create an execution context (out of GPU "
                               "memory?)")
        self.stream = io.new_stream()
        self.buffers: dict[str, tuple[object, int]] = {}  # name -> (buffer, capacity in floats)

    def _buffer(self, name: str, shape: tuple[int, ...]):
        elems = int(np.prod(shape))
        buf, capacity = self.buffers.get(name, (None, -1))
        if capacity < elems:  # grow; smaller batches reuse the larger buffer
            buf = self.io.alloc(elems)
            self.buffers[name] = (buf, elems)
        address_ok = self.context.set_tensor_address(name, self.io.ptr(buf))
        if not address_ok:
            raise RuntimeError(f"TensorRT rejected the device address for tensor {name!r}")
        return buf

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        io, ctx, name = self.io, self.context, self.entry.input_name
        with io.scope(self.stream):
            if not ctx.set_input_shape(name, x.shape):
                raise RuntimeError(f"TensorRT rejected input shape {x.shape} inside profile "
                                   f"{self.entry.profile}")
            io.upload(self._buffer(name, x.shape), x, self.stream)
            shapes = {out: tuple(ctx.get_tensor_shape(out)) for out in self.outputs}
            buffers = {out: self._buffer(out, shapes[out]) for out in self.outputs}
            if not ctx.execute_async_v3(io.stream_handle(self.stream)):
                raise RuntimeError(f"TensorRT execution failed for input shape {x.shape}")
            result = {out: io.download(buffers[out], shapes[out], self.stream)
                      for out in self.outputs}
            io.synchronize(self.stream)
        return result


_build_lock = threading.Lock()  # one build at a time per process: each wants the whole GPU


class TensorRTBackend:
    """Runs a model package with a cached TensorRT engine; see the module docstring.

    tile, batch, image_shape: the tile plan the engine's profile covers (`profile_shapes`);
    tile None is the package's tile size. cache_dir: default `default_cache_dir()`.
    `builds` counts the engines this backend had to build (0 when all came from the cache).
    """

    name = "tensorrt"

    def __init__(self, package: ModelPackage, precision: str = "fp32", device=None, *,
                 tile: int | None = None, batch: int = DEFAULT_BATCH,
                 image_shape: tuple[int, int] | None = None, cache_dir: str | Path | None = None):
        if precision not in PRECISIONS:
            raise ValueError(f"TensorRTBackend: precision must be one of {PRECISIONS}, "
                             f"got {precision!r}")
        index = parse_device(device)
        offered = probe()
        if precision not in offered:
            raise BackendUnavailable(f"TensorRT offers {', '.join(offered)} on this GPU, "
                                     f"not {precision}")
        config = package.config
        profile = profile_shapes(config, config.get("tile", 0) if tile is None else tile, batch,
                                 image_shape)
        self.precision = precision
        self.builds = 0
        self._trt = _import_tensorrt()
        self._io = _make_io(io_path(), index)
        self._onnx_bytes = package.onnx_bytes
        self._outputs = list(config["outputs"])
        self._channels, self._align = int(config["in_channels"]), int(config["align"])
        self._cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        gpu_name, capability = self._io.device_info()
        self._key_fields = dict(gpu_name=gpu_name, compute_capability=capability,
                                trt_version=self._trt.__version__,
                                onnx_sha256=hashlib.sha256(package.onnx_bytes).hexdigest(),
                                precision=precision)
        self._timing_cache = timing_cache_path(self._cache_dir, gpu_name, capability,
                                               self._trt.__version__)
        with self._io.scope():
            self._runtime = self._trt.Runtime(_logger(self._trt))
        self._lock = threading.Lock()
        self._local = threading.local()
        self._engine = self._load_or_build(profile)

    @property
    def profile(self) -> Profile:
        """The profile of the engine runs currently use."""
        return self._engine.profile

    @property
    def engine_file(self) -> Path:
        """Where the current engine is cached."""
        return engine_path(engine_key(**self._key_fields, profile=self.profile), self._cache_dir)

    @property
    def timing_cache_file(self) -> Path:
        return self._timing_cache

    # -- building and loading

    def _load_or_build(self, profile: Profile) -> _Engine:
        path = engine_path(engine_key(**self._key_fields, profile=profile), self._cache_dir)
        with _build_lock, self._io.scope():
            engine, built = load_or_build(path, lambda blob: self._deserialize(blob, profile),
                                          lambda: self._build(profile))
        self.builds += int(built)
        return engine

    def _deserialize(self, blob: bytes, profile: Profile) -> _Engine | None:
        try:
            engine = self._runtime.deserialize_cuda_engine(blob)
        except Exception as exc:  # noqa: BLE001 - which type bad bytes raise is undocumented;
            # TensorRT normally returns None and logs. Either way the cache entry is unusable.
            _log.warning("TensorRT could not deserialize an engine: %s", exc)
            return None
        if engine is None:
            return None
        return self._describe(engine, profile)

    def _describe(self, engine, profile: Profile) -> _Engine:
        """The engine's I/O, checked against the package config (the key includes the graph's
        hash, so a mismatch is the package's graph disagreeing with its config)."""
        trt = self._trt
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        not_fp32 = [n for n in names if engine.get_tensor_dtype(n) != trt.DataType.FLOAT]
        if len(inputs) != 1 or not_fp32 or not set(self._outputs) <= set(outputs):
            raise PackageError(f"TensorRTBackend: the model's graph has inputs {inputs} and "
                               f"outputs {outputs} (not float32: {not_fp32}); its config expects "
                               f"one float32 input and float32 outputs {self._outputs}")
        channels = {out: int(engine.get_tensor_shape(out)[1]) for out in self._outputs}
        return _Engine(profile, engine, inputs[0], channels)

    def _build(self, profile: Profile) -> bytes:
        trt = self._trt
        logger = _logger(trt)
        builder = trt.Builder(logger)
        network = builder.create_network(0)  # TensorRT 10 networks are always explicit-batch
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(self._onnx_bytes):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise PackageError(f"TensorRT cannot parse the model's ONNX graph: {errors}")
        if network.num_inputs != 1:
            raise PackageError(f"TensorRTBackend: the model must have one input, it has "
                               f"{network.num_inputs}")
        config = builder.create_builder_config()
        with _weak_typing_api():
            # TensorRT picks TF32 tactics for fp32 layers by default (10-bit mantissa, ~1e-3
            # relative error): "fp32" must mean fp32, as on the other backends.
            config.clear_flag(trt.BuilderFlag.TF32)
            if self.precision == "fp16":
                config.set_flag(trt.BuilderFlag.FP16)
        trt_profile = builder.create_optimization_profile()
        trt_profile.set_shape(network.get_input(0).name, *profile)
        config.add_optimization_profile(trt_profile)
        self._attach_timing_cache(config)
        _log.info("building a TensorRT %s engine for profile %s (minutes, once)", self.precision,
                  profile)
        blob = builder.build_serialized_network(network, config)
        if blob is None:
            raise RuntimeError(f"TensorRT failed to build an engine for profile {profile} "
                               "(its log above says why)")
        self._save_timing_cache(config)
        return bytes(blob)

    def _attach_timing_cache(self, config) -> None:
        try:
            saved = self._timing_cache.read_bytes()
        except OSError:
            saved = b""
        try:
            cache = config.create_timing_cache(saved)
        except (RuntimeError, TypeError, ValueError):  # a damaged file; the type is undocumented
            cache = None
        # A cache from another TensorRT/GPU is refused by set_timing_cache: start an empty one.
        if cache is None or not config.set_timing_cache(cache, ignore_mismatch=False):
            config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)

    def _save_timing_cache(self, config) -> None:
        try:
            self._timing_cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self._timing_cache, bytes(config.get_timing_cache().serialize()))
        except OSError as exc:  # only makes the next build slower
            _log.warning("cannot save the TensorRT timing cache %s (%s)", self._timing_cache, exc)

    # -- running

    def _engine_for(self, shape: Shape) -> _Engine:
        entry = self._engine
        if covers(entry.profile, shape):
            return entry
        with self._lock:  # one thread grows the profile; the others then find it covered
            entry = self._engine
            if not covers(entry.profile, shape):
                _log.warning("input %s is outside the engine profile %s: building a wider one",
                             shape, entry.profile)
                entry = self._engine = self._load_or_build(grow_profile(entry.profile, shape))
        return entry

    def _execution(self, entry: _Engine) -> _Execution:
        state = getattr(self._local, "execution", None)
        if state is None or state.entry is not entry:
            with self._io.scope():
                state = self._local.execution = _Execution(entry, self._io, self._outputs)
        return state

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """(N, C, H, W) float32, H and W multiples of align -> {output: (N, K, H, W) float32}."""
        x = check_batch(batch, self._channels, self._align)
        if x.shape[0] == 0:
            n, _, h, w = x.shape
            return {out: np.empty((0, k, h, w), np.float32)
                    for out, k in self._engine.out_channels.items()}
        return self._execution(self._engine_for(x.shape)).run(x)
