"""Options shared by several commands."""

from __future__ import annotations

import sys
import time

from cellrt.runtime.backends import NAMES


def note(message: str) -> None:
    """A line for the person waiting (stderr, so stdout stays the results)."""
    print(message, file=sys.stderr, flush=True)


class TileProgress:
    """progress(done, total) of an Engine, for a person: on a terminal one line redrawn in
    place; in a log a line at most every `every` seconds and at the end. Images of fewer than
    `min_tiles` tiles say nothing (they take seconds)."""

    def __init__(self, every: float = 5.0, min_tiles: int = 16):
        self.every, self.min_tiles = every, min_tiles
        self.name, self.last = "", 0.0

    def start(self, name: str) -> None:
        self.name, self.last = name, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if total < self.min_tiles:
            return
        if sys.stderr.isatty():
            end = "\n" if done == total else ""
            sys.stderr.write(f"\r{self.name}: tiles {done}/{total}{end}")
            sys.stderr.flush()
        elif done == total or time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            note(f"{self.name}: tiles {done}/{total}")


def add_upscale_argument(p) -> None:
    """--no-autoscale and --flips: the options that trade network passes for accuracy."""
    p.add_argument("--no-autoscale", "--no-upscale", dest="upscale", action="store_false",
                   help="one pass per image at its own scale: skip the coarse probes that shrink "
                        "images of large nuclei and the second pass at 2x for small ones")
    p.add_argument("--flips", action="store_true",
                   help="average the network's maps over the four flips of each image "
                        "(cellrt.runtime.flip_average): a little more accurate, 4x network time")


def add_backend_argument(p, multiple: bool = False) -> None:
    choices = ("auto",) + NAMES
    if multiple:
        p.add_argument("--backend", nargs="+", default=["auto"], metavar="NAME[:PRECISION]",
                       help=f"network backends to compare, from {', '.join(choices)}, optionally "
                            "with a precision (e.g. openvino:bf16); 'auto': fastest accurate one")
    else:
        p.add_argument("--backend", default="auto", choices=choices,
                       help="network backend ('auto': fastest accurate one here, measured once)")
