"""`cellrt.Engine`: the embedding API. One model on one backend, reused across calls.

    engine = cellrt.Engine("nuclei-fluo", backend="auto")
    result = engine.segment(array)              # labels + object table (+ per-stage timings)
    for result in engine.segment_many(frames):  # batched and pipelined, results in input order
        ...

`segment` is safe to call from several threads at once (the backends are, and every call keeps
its own state; each thread reuses its own input buffers). `segment_many` overlaps reading and
normalising (a reader thread), the network (tiles of several images pooled into full batches)
and post-processing (a worker pool: the compiled kernels release the GIL); its scheduling is
cellrt.engine.schedule.

The engine knows no model family by name: the package's config names it, cellrt.families.bind
returns it, and the engine plans, batches, runs and stitches around its interface.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from cellrt import families
from cellrt.engine.fit import fit_warnings
from cellrt.engine.rescale import back_to_source, resize
from cellrt.engine.result import SegmentResult, StageClock
from cellrt.engine.schedule import ERRORS, Pipeline, Pools
from cellrt.engine.segment import Prepared, decode_tile, fill_input, prepare, stitch, tile_maps
from cellrt.engine.tiling import MIN_TILE, Tile, input_profile
from cellrt.io.images import read_image
from cellrt.runtime.backends import create_backend
from cellrt.runtime.flip_average import FlipAveragedBackend
from cellrt.runtime.package import ModelPackage


class Engine:
    """A model package bound to a backend.

    model: shipped model name or .cellrt path. backend: "auto" (measured, cached per machine),
    "onnxruntime", "openvino", "torch" or "tensorrt". precision: "auto" (with backend "auto")
    or "fp32" / "bf16" / "fp16". threads: network threads (0: the backend's default).
    tile_size: core tile side (None: the model's default; 0: whole image). batch_size: tiles per
    network call. workers: post-processing threads in segment_many. streams: concurrent
    network calls in segment_many. upscale: find each image's object scale automatically: coarse
    probes for objects larger than the model's training size (cellrt.families.scale; such
    images are shrunk to it) and the family's second-pass rule for small ones (the boundary
    family's: a pass at 2x); False keeps every image to one pass at 1x, for a fixed per-frame
    cost. A `diameter` or `pixel_size` given to segment/segment_many sets the scale instead.
    flips: average the network's maps over the four flips of each tile
    (cellrt.runtime.flip_average): a little more accurate, 4x the network time.
    log: called with a line of text for things a person waiting should know (the first use of
    backend="auto" measures the backends). progress: called as progress(tiles_done, tiles_total)
    after each network batch of a `segment` call on an image of several tiles.
    """

    def __init__(self, model: str | Path = "nuclei-fluo", backend: str = "auto",
                 precision: str = "auto", threads: int = 0, tile_size: int | None = None,
                 batch_size: int = 8, workers: int = 2, streams: int = 1,
                 device: str | None = None, upscale: bool = True, flips: bool = False,
                 log=None, progress=None):
        if batch_size < 1:
            raise ValueError(f"Engine: batch_size must be >= 1, got {batch_size}")
        if workers < 1:
            raise ValueError(f"Engine: workers must be >= 1, got {workers}")
        if streams < 1:
            raise ValueError(f"Engine: streams must be >= 1, got {streams}")
        if tile_size is not None and (tile_size < 0 or 0 < tile_size < MIN_TILE):
            raise ValueError(f"Engine: tile_size must be 0 (whole image), None (the model's "
                             f"default) or >= {MIN_TILE} px, got {tile_size} (a smaller tile "
                             "runs the network mostly on its halo: many times slower)")
        self.package = ModelPackage.load(model)
        self.config = self.package.config
        self.family = families.bind(self.config)
        self.upscale = upscale
        self.tile_size, self.batch_size, self.workers = tile_size, batch_size, workers
        # The tile plan's input shapes at this batch size: what a backend that compiles for
        # shapes (TensorRT) is built for, so no tile of any image needs another engine.
        tile = self.family.geometry().tile if tile_size is None else tile_size
        self.profile = input_profile(self.config, tile, batch_size) if tile else None
        self.selection = None
        if backend == "auto":
            if precision != "auto":
                raise ValueError("Engine: precision must be 'auto' when backend is 'auto', "
                                 f"got {precision!r}")
            from cellrt.engine.auto import select

            self.selection = select(self.package, self.family, threads=threads, device=device,
                                    profile=self.profile, log=log or (lambda _: None))
            backend, precision = self.selection.backend, self.selection.precision
        elif precision == "auto":
            precision = "fp32"
        self.flips = flips
        self.progress = progress
        self.backend = self._wrap(create_backend(self.package, backend, precision,
                                                 threads=threads, device=device,
                                                 profile=self.profile))
        self._threads, self._device = threads, device
        # Network calls segment_many runs at once, each on its own backend with its share of the
        # threads. Default 1: on a 2-core CPU one call on both cores was as fast per image as two
        # single-thread calls (ONNX Runtime) or faster (OpenVINO pins single-thread models to the
        # same core); more streams pay off where one call cannot fill the machine.
        self.streams = streams
        self._stream_backends: list | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def __repr__(self) -> str:
        return (f"Engine({self.package.name!r}, backend={self.backend.name!r}, "
                f"precision={self.backend.precision!r}, batch_size={self.batch_size})")

    # -- stages -------------------------------------------------------------------------------

    def _prepare(self, item, scale: float | None = None) -> Prepared:
        """Read, validate and normalise one image at the scale it is segmented at: `scale` when
        given, else the one the probes of the family's scale rule settle, else 1 (the
        small-objects rule comes after the first pass, in _rescaled)."""
        timings: dict = {}
        if isinstance(item, (str, Path)):
            with StageClock(timings)("read"):
                item = read_image(item)
        prep = prepare(item, self.family, self.tile_size, timings=timings)
        rule = self.family.scale_rule
        if scale is None and self.upscale and rule is not None:
            prep.probes = []
            for p in rule.probes:
                probe = self._run(self._resized(prep, p))
                prep.probes.append((p, probe.table.median_diameter()))
                estimate = rule.estimate(prep.probes)
                if estimate is not None:
                    prep.settled = True
                    scale = rule.shrink(estimate)
                    break
        return prep if scale is None or scale == 1 else self._resized(prep, scale)

    def _resized(self, prep: Prepared, scale: float) -> Prepared:
        """`prep`'s original image prepared at `scale`, with the family's parameters for it."""
        source = prep.raw if prep.source is None else prep.source
        out = prepare(resize(source, scale), prep.family.at_scale(scale), self.tile_size,
                      timings=prep.timings)
        out.scale, out.source = scale, source
        return out

    def _buffer(self, shape: tuple) -> np.ndarray:
        """This thread's input buffer of `shape`, allocated once and reused across calls."""
        buffers = getattr(self._local, "buffers", None)
        if buffers is None:
            buffers = self._local.buffers = {}
        buf = buffers.get(shape)
        if buf is None:
            if len(buffers) > 8:  # many image sizes: keep memory bounded
                buffers.clear()
            buf = buffers[shape] = np.empty(shape, np.float32)
        return buf

    def _wrap(self, backend):
        return FlipAveragedBackend(backend) if self.flips else backend

    def _streams(self) -> list:
        """One backend per stream, each with its share of the threads (built on first use)."""
        with self._lock:
            if self._stream_backends is None:
                if self.streams == 1:
                    self._stream_backends = [self.backend]
                else:
                    cores = self._threads or os.cpu_count() or 1
                    per = max(1, cores // self.streams)
                    self._stream_backends = [
                        self._wrap(create_backend(self.package, self.backend.name,
                                                  self.backend.precision, threads=per,
                                                  device=self._device, profile=self.profile))
                        for _ in range(self.streams)]
            return self._stream_backends

    def _network(self, items: list[tuple[Prepared, Tile]], backend=None) -> tuple[dict, float]:
        """One batched network call on tiles of equal input shape; returns outputs, seconds."""
        t0 = time.perf_counter()
        prep0, tile0 = items[0]
        x = self._buffer((len(items), prep0.norm.shape[2], *prep0.plan.net_shape(tile0)))
        for i, (prep, tile) in enumerate(items):
            fill_input(x[i], prep, tile)
        out = (backend or self.backend).run(x)
        return out, time.perf_counter() - t0

    def _batches(self, prep: Prepared) -> Iterator[list[Tile]]:
        groups: dict = {}
        for tile in prep.tiles:
            groups.setdefault(prep.plan.net_shape(tile), []).append(tile)
        for tiles in groups.values():
            for i in range(0, len(tiles), self.batch_size):
                yield tiles[i:i + self.batch_size]

    def _run(self, prep: Prepared) -> SegmentResult:
        results = {}
        total = len(prep.tiles)
        for tiles in self._batches(prep):
            out, seconds = self._network([(prep, t) for t in tiles])
            prep.timings["network"] = prep.timings.get("network", 0.0) + seconds
            for i, tile in enumerate(tiles):
                results[tile.index] = decode_tile(prep, tile, tile_maps(out, i, tile))
            if self.progress is not None and total > 1:
                self.progress(len(results), total)
        return stitch(prep, [results[t.index] for t in prep.tiles])

    def _rescaled(self, result: SegmentResult, prep: Prepared) -> SegmentResult:
        """The main pass's result at the original size. At 1x, unless a given or probed scale
        settled it: the scale rule's last probe pair (the finest probe and this pass) may still
        find large objects, and the family's second-pass rule small ones; either means a second
        pass at that scale. Timings add up every pass."""
        if prep.scale != 1:
            with StageClock(result.timings)("stitch"):
                return self._checked(back_to_source(result, prep.source, prep.scale), prep)
        scale = 1.0
        rule = self.family.scale_rule
        if prep.probes is not None and not prep.settled:
            found = prep.probes + [(1.0, result.table.median_diameter())]
            scale = rule.shrink(rule.estimate(found))
        if scale == 1 and self.upscale:
            scale = prep.family.second_pass(result.table)
        if scale == 1:
            return self._checked(result, prep)
        out = self._again(prep, scale, result.timings)
        with StageClock(out.timings)("stitch"):
            return self._checked(back_to_source(out, prep.raw, scale), prep)

    def _again(self, prep: Prepared, scale: float, timings: dict) -> SegmentResult:
        """A pass over prep's image at `scale`, its time added to `timings`."""
        again = self._resized(prep, scale)
        again.timings = timings
        return self._run(again)

    def _checked(self, result: SegmentResult, prep: Prepared) -> SegmentResult:
        """The result with the ways its image does not fit the model (cellrt.engine.fit)."""
        raw = prep.raw if prep.source is None else prep.source
        result.warnings = fit_warnings(self.config, raw[..., 0] if raw.shape[2] == 1 else raw,
                                       result)
        return result

    # -- public -------------------------------------------------------------------------------

    def scale_for(self, diameter: float | None = None,
                  pixel_size: float | None = None) -> float | None:
        """The scale images are segmented at for a nucleus `diameter` (px) or a `pixel_size`
        (µm/px) of the images; None when neither is given (found per image)."""
        if diameter is None and pixel_size is None:
            return None
        if diameter is not None and pixel_size is not None:
            raise ValueError("give a nucleus diameter or a pixel size, not both")
        rule = self.family.scale_rule
        if rule is None:
            raise ValueError(f"model {self.package.name} declares no training scale; it can only "
                             "segment images at their own scale")
        return rule.for_diameter(diameter) if diameter is not None else \
            rule.for_pixel_size(pixel_size)

    def segment(self, image, diameter: float | None = None,
                pixel_size: float | None = None) -> SegmentResult:
        """Segment one image: an (H, W) or (H, W, 3) array, or an image file path.

        diameter: the typical nucleus diameter in pixels, or pixel_size: the image's µm per
        pixel; either resizes the image to the model's training scale (see `scale_for`).
        Neither: the scale is found per image (`upscale`). `result.scale` says which was used.
        """
        prep = self._prepare(image, self.scale_for(diameter, pixel_size))
        return self._rescaled(self._run(prep), prep)

    def segment_many(self, images: Iterable, batch_size: int | None = None,
                     errors: str = "raise", lookahead: int | None = None,
                     diameter: float | None = None, pixel_size: float | None = None
                     ) -> Iterator[SegmentResult | Exception]:
        """Segment many images (arrays or paths); results come back in input order.

        Tiles of consecutive images with the same network input shape share batches of
        `batch_size`. errors="raise": a bad image raises (ValueError naming it) at its place in
        the order, after the results before it; errors="return": its exception is yielded in
        its place and the run goes on (an acquisition loop never stops for one bad frame).
        diameter, pixel_size: as in `segment`, for every image.
        """
        if errors not in ERRORS:
            raise ValueError(f"segment_many: errors must be one of {ERRORS}, got {errors!r}")
        for name, value in (("batch_size", batch_size), ("lookahead", lookahead)):
            if value is not None and value < 1:
                raise ValueError(f"segment_many: {name} must be >= 1 or None, got {value}")
        scale = self.scale_for(diameter, pixel_size)
        bs = batch_size or self.batch_size
        ahead = lookahead or 2 * bs
        backends = self._streams()
        with ThreadPoolExecutor(1, "cellrt-read") as reader, \
                ThreadPoolExecutor(len(backends), "cellrt-net") as net, \
                ThreadPoolExecutor(self.workers, "cellrt-post") as post:
            pools = Pools(reader, net, post, backends)
            yield from Pipeline(self, pools, bs, ahead, errors, scale).run(iter(images))


