"""`cellrt.Engine`: the embedding API. One model on one backend, reused across calls.

    engine = cellrt.Engine("nuclei-fluo", backend="auto")
    result = engine.segment(array)              # labels + object table (+ per-stage timings)
    for result in engine.segment_many(frames):  # batched and pipelined, results in input order
        ...

`segment` is safe to call from several threads at once (the backends are, and every call keeps
its own state; each thread reuses its own input buffers). `segment_many` overlaps reading and
normalising (a reader thread), the network (the calling thread, tiles of several images pooled
into full batches) and post-processing (a worker pool: the compiled kernels release the GIL).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from cellrt.io.images import read_image
from cellrt.pipeline.segment import (
    Prepared,
    SegmentResult,
    StageClock,
    fill_input,
    postprocess_tile,
    prepare,
    stitch,
    tile_maps,
)
from cellrt.pipeline.tiling import Tile
from cellrt.pipeline.upscale import UpscaleRule, enlarge, scaled_params, shrink
from cellrt.runtime.backends import create_backend
from cellrt.runtime.flip_average import FlipAveragedBackend
from cellrt.runtime.package import ModelPackage

ERRORS = ("raise", "return")


@dataclass
class _Job:
    """One image of a segment_many run, from its prepare future to its stitched result."""

    prepared: Future
    prep: Prepared | None = None
    error: Exception | None = None  # bad input: reported in its place in the order
    failure: BaseException | None = None  # a bug in the network or post-processing
    scheduled: int = 0  # tiles handed to the network so far
    left: int = 0  # tiles not post-processed yet
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: threading.Event = field(default_factory=threading.Event)

    def tile_done(self, failure: BaseException | None = None) -> None:
        with self.lock:
            if failure is not None and self.failure is None:
                self.failure = failure
            self.left -= 1
            if self.left == 0:
                self.finished.set()

    def done(self) -> bool:
        return self.error is not None or self.finished.is_set()


class Engine:
    """A model package bound to a backend.

    model: shipped model name or .cellrt path. backend: "auto" (measured, cached per machine),
    "onnxruntime", "openvino", "torch" or "tensorrt". precision: "auto" (with backend "auto")
    or "fp32" / "bf16" / "fp16". threads: network threads (0: the backend's default).
    tile_size: core tile side (None: the model's default; 0: whole image). batch_size: tiles per
    network call. workers: post-processing threads in segment_many. streams: concurrent
    network calls in segment_many. upscale: apply the package's small-nuclei rule (a second pass
    at a larger scale, cellrt.pipeline.upscale); False keeps every image to one pass, for a fixed
    per-frame cost. flips: average the network's maps over the four flips of each tile
    (cellrt.runtime.flip_average): a little more accurate, 4x the network time.
    """

    def __init__(self, model: str | Path = "nuclei-fluo", backend: str = "auto",
                 precision: str = "auto", threads: int = 0, tile_size: int | None = None,
                 batch_size: int = 8, workers: int = 2, streams: int = 1,
                 device: str | None = None, upscale: bool = True, flips: bool = False):
        if batch_size < 1:
            raise ValueError(f"Engine: batch_size must be >= 1, got {batch_size}")
        if workers < 1:
            raise ValueError(f"Engine: workers must be >= 1, got {workers}")
        if streams < 1:
            raise ValueError(f"Engine: streams must be >= 1, got {streams}")
        if tile_size is not None and tile_size < 0:
            raise ValueError(f"Engine: tile_size must be >= 0 or None, got {tile_size}")
        self.package = ModelPackage.load(model)
        self.config = self.package.config
        self.upscale = UpscaleRule.from_config(self.config) if upscale else None
        self.selection = None
        if backend == "auto":
            if precision != "auto":
                raise ValueError("Engine: precision must be 'auto' when backend is 'auto', "
                                 f"got {precision!r}")
            from cellrt.runtime.auto import select

            self.selection = select(self.package, threads=threads, device=device)
            backend, precision = self.selection.backend, self.selection.precision
        elif precision == "auto":
            precision = "fp32"
        self.flips = flips
        self.backend = self._wrap(create_backend(self.package, backend, precision,
                                                 threads=threads, device=device))
        self.tile_size, self.batch_size, self.workers = tile_size, batch_size, workers
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

    def _prepare(self, item) -> Prepared:
        timings: dict = {}
        if isinstance(item, (str, Path)):
            with StageClock(timings)("read"):
                item = read_image(item)
        return prepare(item, self.config, self.tile_size, timings=timings)

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
                                                  device=self._device))
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
        for tiles in self._batches(prep):
            out, seconds = self._network([(prep, t) for t in tiles])
            prep.timings["network"] = prep.timings.get("network", 0.0) + seconds
            for i, tile in enumerate(tiles):
                postprocess_tile(prep, tile, tile_maps(out, i, tile))
        return stitch(prep)

    def _rescaled(self, result: SegmentResult, prep: Prepared) -> SegmentResult:
        """The first pass's result, or the second pass's at a larger scale when the upscale rule
        asks for it; timings add up both passes."""
        factor = self.upscale.factor_for(result) if self.upscale is not None else 1
        if factor == 1:
            return result
        big = self._run(prepare(enlarge(prep.raw, factor), self.config, self.tile_size,
                                scaled_params(prep.params, factor), timings=result.timings))
        with StageClock(big.timings)("stitch"):
            return shrink(big, prep.raw, factor)

    # -- public -------------------------------------------------------------------------------

    def segment(self, image) -> SegmentResult:
        """Segment one image: an (H, W) or (H, W, 3) array, or an image file path."""
        prep = self._prepare(image)
        return self._rescaled(self._run(prep), prep)

    def segment_many(self, images: Iterable, batch_size: int | None = None,
                     errors: str = "raise", lookahead: int | None = None
                     ) -> Iterator[SegmentResult | Exception]:
        """Segment many images (arrays or paths); results come back in input order.

        Tiles of consecutive images with the same network input shape share batches of
        `batch_size`. errors="raise": a bad image raises (ValueError naming it) at its place in
        the order, after the results before it; errors="return": its exception is yielded in
        its place and the run goes on (an acquisition loop never stops for one bad frame).
        """
        if errors not in ERRORS:
            raise ValueError(f"segment_many: errors must be one of {ERRORS}, got {errors!r}")
        for name, value in (("batch_size", batch_size), ("lookahead", lookahead)):
            if value is not None and value < 1:
                raise ValueError(f"segment_many: {name} must be >= 1 or None, got {value}")
        bs = batch_size or self.batch_size
        ahead = lookahead or 2 * bs
        backends = self._streams()
        with ThreadPoolExecutor(1, "cellrt-read") as reader, \
                ThreadPoolExecutor(len(backends), "cellrt-net") as net, \
                ThreadPoolExecutor(self.workers, "cellrt-post") as post:
            pools = _Pools(reader, net, post, backends)
            yield from _Pipeline(self, pools, bs, ahead, errors).run(iter(images))


@dataclass
class _Pools:
    reader: ThreadPoolExecutor
    net: ThreadPoolExecutor
    post: ThreadPoolExecutor
    backends: list  # one per net worker, handed out through `free`
    free: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)

    def __post_init__(self):
        for b in self.backends:
            self.free.put(b)


class _Pipeline:
    """The scheduling of one segment_many call (kept out of Engine to keep both readable)."""

    def __init__(self, engine: Engine, pools: _Pools, batch_size: int, lookahead: int, errors):
        self.engine, self.pools = engine, pools
        self.batch_size, self.lookahead, self.errors = batch_size, lookahead, errors
        self.jobs: deque[_Job] = deque()  # in input order, not yet yielded
        self.pending: dict = {}  # net shape -> [(job, tile)] waiting for a full batch
        self.exhausted = False
        # Images held at once: bounds memory when the oldest image's tiles wait for a batch.
        self.max_inflight = max(lookahead, 4 * batch_size)

    def _feed(self, items) -> None:
        unprepared = sum(1 for j in self.jobs if j.prep is None and j.error is None)
        while not self.exhausted and unprepared < self.lookahead:
            try:
                item = next(items)
            except StopIteration:
                self.exhausted = True
                return
            self.jobs.append(_Job(self.pools.reader.submit(self.engine._prepare, item)))
            unprepared += 1

    def _admit(self, job: _Job, block: bool) -> bool:
        """Move a prepared image's tiles into the batch queues; False if not ready yet."""
        if job.prep is not None or job.error is not None:
            return True
        if not block and not job.prepared.done():
            return False
        try:
            job.prep = job.prepared.result()
        except (ValueError, TypeError, OSError) as exc:
            job.error = exc
            return True
        job.left = len(job.prep.tiles)
        for tile in job.prep.tiles:
            self.pending.setdefault(job.prep.plan.net_shape(tile), []).append((job, tile))
        return True

    def _run_batches(self, flush: bool) -> None:
        for shape in list(self.pending):
            queue = self.pending[shape]
            while len(queue) >= self.batch_size or (flush and queue):
                chunk, self.pending[shape] = queue[:self.batch_size], queue[self.batch_size:]
                queue = self.pending[shape]
                self._dispatch(chunk)
            if not queue:
                del self.pending[shape]

    def _dispatch(self, chunk) -> None:
        for job, _ in chunk:
            job.scheduled += 1
        self.pools.net.submit(self._network_task, chunk)

    def _network_task(self, chunk) -> None:
        """On a net worker: one batch through this worker's backend, then each tile's
        post-processing onto the post pool."""
        backend = self.pools.free.get()
        try:
            out, seconds = self.engine._network([(job.prep, tile) for job, tile in chunk],
                                                backend)
        except BaseException as exc:  # a bug: surfaces in order from _finish
            for job, _ in chunk:
                job.tile_done(exc)
            return
        finally:
            self.pools.free.put(backend)
        share = seconds / len(chunk)  # each image is charged its tiles' share of the batch
        for i, (job, tile) in enumerate(chunk):
            with job.lock:
                job.prep.timings["network"] = job.prep.timings.get("network", 0.0) + share
            self.pools.post.submit(self._post_task, job, tile, tile_maps(out, i, tile))

    @staticmethod
    def _post_task(job: _Job, tile: Tile, maps) -> None:
        try:
            postprocess_tile(job.prep, tile, maps)
        except BaseException as exc:
            job.tile_done(exc)
        else:
            job.tile_done()

    def _finish(self, job: _Job):
        if job.error is not None:
            if self.errors == "return":
                return job.error
            raise job.error
        if job.failure is not None:
            raise job.failure
        # The second pass of an upscaled image runs here, in order, on the calling thread.
        return self.engine._rescaled(stitch(job.prep), job.prep)

    def _admit_ready(self) -> int:
        """Admit, in input order, every image whose preparation has finished; how many."""
        n = 0
        for job in self.jobs:
            if job.prep is not None or job.error is not None:
                continue
            if not self._admit(job, block=False):
                break
            n += 1
        return n

    def run(self, items) -> Iterator:
        while True:
            self._feed(items)
            progressed = self._admit_ready() > 0
            self._run_batches(flush=False)
            while self.jobs and self.jobs[0].done():
                yield self._finish(self.jobs.popleft())
            if not self.jobs:
                if self.exhausted:
                    return
                continue
            if progressed:
                continue
            head = self.jobs[0]
            waiting = next((j for j in self.jobs if j.prep is None and j.error is None), None)
            if waiting is not None and (waiting is head or len(self.jobs) <= self.max_inflight):
                self._admit(waiting, block=True)  # the reader is the bottleneck: wait for it
                continue
            # All read (or too many images in flight): run partial batches, wait for the oldest.
            self._run_batches(flush=True)
            head.finished.wait()
