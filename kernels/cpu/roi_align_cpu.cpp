// roi_align CPU driver: filled in by the roi_align implementation.
