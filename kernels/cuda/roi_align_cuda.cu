// roi_align CUDA launchers: filled in by the roi_align implementation.
