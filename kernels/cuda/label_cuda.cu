// label CUDA launchers: filled in by the label implementation.
