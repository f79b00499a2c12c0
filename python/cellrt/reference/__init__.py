"""Slow, obviously correct NumPy versions of every op: the documented semantics and the test oracle."""
