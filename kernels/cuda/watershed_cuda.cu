// watershed CUDA launchers: filled in by the watershed implementation.
