"""The scheduling of one Engine.segment_many call: a reader thread prepares images ahead, tiles
of equal network input shape are pooled across images into full batches for the network
workers, each tile's decoding goes to a worker pool, and results are stitched and yielded in
input order. Each tile's decoding returns its result through a future; nothing is written into
shared per-image state from the worker threads."""

from __future__ import annotations

import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterator

from cellrt.engine.segment import Prepared, decode_tile, stitch, tile_maps
from cellrt.engine.tiling import Tile

ERRORS = ("raise", "return")


@dataclass
class _Job:
    """One image of a segment_many run, from its prepare future to its stitched result."""

    prepared: Future
    prep: Prepared | None = None
    error: Exception | None = None  # bad input: reported in its place in the order
    failure: BaseException | None = None  # a bug in the network or post-processing
    scheduled: int = 0  # tiles handed to the network so far
    left: int = 0  # tiles not decoded yet
    # tile index -> its decoding's TileResult (or exception), set by a post worker
    decoded: dict = field(default_factory=dict)
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


@dataclass
class Pools:
    reader: ThreadPoolExecutor
    net: ThreadPoolExecutor
    post: ThreadPoolExecutor
    backends: list  # one per net worker, handed out through `free`
    free: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)

    def __post_init__(self):
        for b in self.backends:
            self.free.put(b)


class Pipeline:
    """The scheduling of one segment_many call (kept out of Engine to keep both readable)."""

    def __init__(self, engine, pools: Pools, batch_size: int, lookahead: int, errors,
                 scale: float | None = None):
        self.engine, self.pools, self.scale = engine, pools, scale
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
            self.jobs.append(_Job(self.pools.reader.submit(self.engine._prepare, item, self.scale)))
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
            slot: Future = Future()
            job.decoded[tile.index] = slot  # before the decoding can finish the image
            self.pools.post.submit(self._post_task, job, tile, tile_maps(out, i, tile), slot)

    @staticmethod
    def _post_task(job: _Job, tile: Tile, maps, slot: Future) -> None:
        try:
            slot.set_result(decode_tile(job.prep, tile, maps))
        except BaseException as exc:
            slot.set_exception(exc)
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
        results = [job.decoded[t.index].result() for t in job.prep.tiles]
        return self.engine._rescaled(stitch(job.prep, results), job.prep)

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
