"""Training of the shipped models (imports torch)."""
