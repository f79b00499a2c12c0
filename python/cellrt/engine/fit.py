"""Does an image fit a model? Cheap checks of the image and of the result against what the
model's package says it expects (config ``expects``: modality, channels, diameter), and the
shipped model an image fits best (``cellrt segment --model auto``).

The checks never change a result; they explain a suspicious one (docs/models.md has the
measurements behind the rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cellrt.runtime.package import ModelPackage, PackageConfig, shipped_models

# A colour image is "gray" when its channels differ by at most this (of the dtype's range):
# fluorescence saved as RGB, or a gray scan.
GRAY_TOLERANCE = 0.02
# H&E: eosin-pink pixels (hue 300..20 degrees, saturation > 0.12) on at least this fraction of
# the image, or stained pixels over at least half of it with some white (unstained) background.
# Purple-stained images without pink and without white (a lilac background) are the DSB-style
# stained fields the fluorescence model segments better. Chosen on the val splits of both data
# sets (docs/models.md).
HE_MIN_PINK = 0.05
HE_MIN_STAINED = 0.5
HE_MIN_WHITE = 0.05


@dataclass(frozen=True)
class ImageLook:
    """What a glance at the image tells: colour or not, bright or dark background, stain."""

    gray: bool  # one channel, or channels equal within GRAY_TOLERANCE
    bright_background: bool  # median brighter than the middle of its range (bright field)
    pink: float  # fraction of eosin-pink pixels (0 for gray)
    stained: float  # fraction of pixels with a stain colour (saturation > 0.12)
    white: float  # fraction of white, unstained pixels (bright and unsaturated)
    contrast: float  # (p99 - p1) / range of the dtype or of the values: is there structure?

    @property
    def he(self) -> bool:
        """Looks like an H&E section (see HE_MIN_PINK)."""
        return not self.gray and (self.pink >= HE_MIN_PINK or (
            self.stained >= HE_MIN_STAINED and self.white >= HE_MIN_WHITE))


def look(image: np.ndarray) -> ImageLook:
    """An ImageLook of a validated (H, W) or (H, W, 3) image (a subsample of its pixels)."""
    step = max(1, int(np.sqrt(image.shape[0] * image.shape[1] / 250_000)))
    img = np.asarray(image[::step, ::step], dtype=np.float64)
    if image.dtype.kind in "ui":
        top = float(np.iinfo(image.dtype).max) if image.dtype.itemsize == 1 else \
            max(float(img.max()), 1.0)
        lo = 0.0
    else:
        lo, top = float(img.min()), float(img.max())
    span = max(top - lo, 1e-12)
    x = (img - lo) / span
    rgb = x if x.ndim == 3 else x[..., None]
    gray = rgb.shape[2] == 1 or bool(np.abs(rgb - rgb.mean(axis=2, keepdims=True)).max()
                                     <= GRAY_TOLERANCE)
    lum = rgb.mean(axis=2)
    p1, p99 = np.percentile(lum, [1, 99])
    pink = stained = white = 0.0
    if not gray:
        import cv2

        u8 = np.clip(rgb * 255.0, 0, 255).astype(np.uint8)
        hsv = cv2.cvtColor(u8, cv2.COLOR_RGB2HSV_FULL).astype(np.float64)
        hue, sat, val = hsv[..., 0] * (360.0 / 256.0), hsv[..., 1] / 255.0, hsv[..., 2] / 255.0
        colour = sat > 0.12
        stained = float(colour.mean())
        pink = float((colour & ((hue > 300) | (hue < 20))).mean())
        white = float(((val > 0.85) & ~colour).mean())
    return ImageLook(gray, bool(np.median(lum) > 0.5), pink, stained, white, float(p99 - p1))


def pick_model(image: np.ndarray) -> tuple[str, str]:
    """(shipped model name, why) for an image: the H&E model for what looks like an H&E
    section, the fluorescence model for everything else (it was trained on fluorescence, gray
    bright-field and purple-stained fields, and is the better choice there: docs/models.md)."""
    return _pick(look(image))


def _pick(lk: ImageLook) -> tuple[str, str]:
    models = _shipped_by_modality()
    he = next((m for k, m in models.items() if "H&E" in k), None)
    fluo = next((m for k, m in models.items() if "fluorescence" in k), None)
    if he and lk.he:
        return he, f"H&E-like colour ({lk.pink:.0%} pink, {lk.white:.0%} white)"
    why = "gray image" if lk.gray else f"stained colour without H&E's pink ({lk.pink:.0%})"
    return fluo or shipped_models()[0], why


@lru_cache(maxsize=1)
def _shipped_by_modality() -> dict[str, str]:
    return {ModelPackage.load(m).config.expects.get("modality", ""): m for m in shipped_models()}


def fit_warnings(config: PackageConfig, image: np.ndarray, result) -> list[str]:
    """One line per way the image or its result does not fit the model (none when it fits)."""
    out = []
    lk = look(image)  # once per image: the pick below reads the same look
    expects = config.expects
    better, _ = _pick(lk)
    hint = f"; {better} fits this image better (--model {better})" if better != config.name \
        else ""
    if config.in_channels == 3 and lk.gray:
        out.append(f"model {config.name} expects colour {expects.get('modality', 'RGB')} "
                   f"images, this one is gray{hint}")
    elif result.count == 0 and lk.contrast > 0.2:
        out.append(f"0 objects on an image with structure (contrast {lk.contrast:.2f}): "
                   f"not what model {config.name} "
                   f"({expects.get('modality', 'its training data')}) expects?{hint}")
    want = expects.get("diameter")
    if want and result.count >= 5:
        working = result.diameter * result.scale
        if not 0.5 <= working / want <= 2.0:
            out.append(f"median object {result.diameter:.0f} px, segmented at {working:.0f} px "
                       f"where model {config.name} was trained on {want:.0f} px: give the "
                       "nucleus size with --diameter (Python: diameter=)")
    return out
