"""TensorRT backend: a model package's ONNX graph compiled to an engine for this GPU.

Why a separate backend: an engine is the network compiled for one GPU (fused layers, kernels
timed on that GPU, optionally fp16), the fastest way we have to run it on NVIDIA hardware. The
price is that an engine is specific to one GPU model, one TensorRT version, one precision and one
range of input shapes (its optimisation profile), and that building one takes minutes. So:

  * the profile is derived by the engine from the tile plan and batch size it will use
    (cellrt.engine.tiling.input_profile), so every tile of every image fits one engine; a
    batch outside it gets an engine for a grown profile instead of an error (`grow_profile`);
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

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellrt.io.atomic import atomic_write_bytes
from cellrt.runtime.backends import BackendUnavailable
from cellrt.runtime.package import ModelPackage, PackageError
from cellrt.runtime.tensorrt.device_io import (_import_tensorrt, _logger, _make_io,
                                               _weak_typing_api, io_path, parse_device, probe)
from cellrt.runtime.tensorrt.engine_cache import (default_cache_dir, engine_key, engine_path,
                                                  load_or_build, timing_cache_path)
from cellrt.runtime.tensorrt.profiles import Profile, Shape, covers, grow_profile, single_image

_log = logging.getLogger("cellrt.runtime.tensorrt")

TENSORRT_PRECISIONS = ("fp32", "fp16")


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

    profile: (min, opt, max) input shapes the engine covers, from the caller's tile plan
    (cellrt.engine.tiling.input_profile); None: single images up to 1024 pixels a side (larger
    inputs grow it). cache_dir: default `default_cache_dir()`.
    `builds` counts the engines this backend had to build (0 when all came from the cache).
    """

    name = "tensorrt"

    def __init__(self, package: ModelPackage, precision: str = "fp32", device=None, *,
                 profile: Profile | None = None, cache_dir: str | Path | None = None):
        if precision not in TENSORRT_PRECISIONS:
            raise ValueError(f"TensorRTBackend: precision must be one of {TENSORRT_PRECISIONS}, "
                             f"got {precision!r}")
        index = parse_device(device)
        offered = probe()
        if precision not in offered:
            raise BackendUnavailable(f"TensorRT offers {', '.join(offered)} on this GPU, "
                                     f"not {precision}")
        config = package.config
        if profile is None:
            profile = single_image(config.in_channels, config.align)
        self.precision = precision
        self.builds = 0
        self._trt = _import_tensorrt()
        self._io = _make_io(io_path(), index)
        self._onnx_bytes = package.onnx_bytes
        self._outputs = list(config.outputs)
        self._channels, self._align = config.in_channels, config.align
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
