"""The engine: an image's way through cellrt, top to bottom.

    api        cellrt.segment(image, model=...), over a cached Engine
    engine     Engine: a model package bound to a backend; segment, segment_many
    schedule   segment_many's scheduling: reader, batched network, decoding pool, in-order results
    segment    one image: prepare (validate, normalise, tile plan) -> network -> decode -> stitch
    tiling     tile plans (core, region, net windows) and the backend's input profile
    ownership  which tile keeps an instance
    rescale    a second pass at another scale, sampled back
    result     SegmentResult, per-stage timings
    auto       backend="auto": the fastest accurate backend here, measured
    benchmark  per-stage latency of the whole pipeline, several backends in one run
The engine knows no model family by name (cellrt.families).
"""
