"""What this machine offers (TensorRT, a GPU, a way to move tensors) and moving tensors to and
from the GPU through torch or cuda-python, one interface."""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from typing import Iterator

import numpy as np

from cellrt.runtime.backends import BackendUnavailable

INSTALL_HINT = "pip install tensorrt~=10.0"

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


#
