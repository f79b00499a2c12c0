"""Options shared by several commands."""

from __future__ import annotations

from cellrt.runtime.backends import NAMES


def add_upscale_argument(p) -> None:
    """--no-upscale and --flips: the options that trade network passes for accuracy."""
    p.add_argument("--no-upscale", dest="upscale", action="store_false",
                   help="one pass per image: skip the model's second pass at 2x for images of "
                        "small nuclei (the model's second-pass rule)")
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
