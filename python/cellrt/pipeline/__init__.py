"""Inference pipeline: normalise, tile, run the network, post-process, stitch."""
