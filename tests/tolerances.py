"""Comparison tolerances, declared once. Keys are (kind, dtype name)."""

TOL = {
    ("forward", "float32"): dict(rtol=1e-5, atol=1e-5),
    ("forward", "float64"): dict(rtol=1e-10, atol=1e-10),
    ("forward", "float16"): dict(rtol=1e-2, atol=1e-2),
    # Backward sums many float32 contributions in a different order than the peer.
    ("backward", "float32"): dict(rtol=1e-4, atol=1e-4),
    ("backward", "float64"): dict(rtol=1e-9, atol=1e-9),
}


def tol(kind: str, dtype) -> dict:
    return TOL[(kind, str(dtype).replace("torch.", ""))]
