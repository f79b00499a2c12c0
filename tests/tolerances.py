"""Comparison tolerances, declared once. Keys are (kind, dtype name)."""

TOL = {
    ("forward", "float32"): dict(rtol=1e-5, atol=1e-5),
    ("forward", "float64"): dict(rtol=1e-10, atol=1e-10),
    ("forward", "float16"): dict(rtol=1e-2, atol=1e-2),
    # Backward sums many float32 contributions in a different order than the peer.
    ("backward", "float32"): dict(rtol=1e-4, atol=1e-4),
    ("backward", "float64"): dict(rtol=1e-9, atol=1e-9),
    # A whole network on another backend (TensorRT vs ONNX Runtime): other kernels, other
    # accumulation orders; fp16 engines keep fp32 I/O but compute in half precision. Absolute, in
    # units of the output's natural scale (probabilities: 1; distances: the model's dist_scale).
    ("network", "float32"): dict(rtol=0, atol=1e-3),
    ("network", "float16"): dict(rtol=0, atol=2e-2),
}


def tol(kind: str, dtype) -> dict:
    """dtype: a torch dtype, a NumPy dtype or scalar type, or its name."""
    name = str(dtype).replace("torch.", "")
    if name not in ("float16", "float32", "float64"):
        import numpy as np

        name = np.dtype(dtype).name
    return TOL[(kind, name)]
