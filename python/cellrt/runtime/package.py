"""Model packages: one self-describing zip file per trained model.

Members:
  config.json   format version, family, channels, normalisation, tiling (align, context,
                object_halo), output names, post-processing parameters, class names, model card
                (data, licence, training command, metrics);
  model.onnx    the deploy graph (re-parameterised, BN folded); input "image" (N, C, H, W) float32
                normalised; outputs "fg_prob" (N, 1, H, W), "dist" (N, 4, H, W) in pixels and,
                with a type head, "type_prob" (N, K, H, W);
  weights.pt    the training-form PyTorch state dict, for fine-tuning (optional at run time).
Shipped packages live in cellrt/zoo/<name>.cellrt and load offline by name.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

FORMAT_VERSION = 1
SUFFIX = ".cellrt"
REQUIRED_MEMBERS = ("config.json", "model.onnx")
ZOO = Path(__file__).resolve().parent.parent / "zoo"


class PackageError(ValueError):
    """A model package that cannot be used."""


def shipped_models() -> list[str]:
    return sorted(p.stem for p in ZOO.glob(f"*{SUFFIX}"))


def resolve(model: str | Path) -> Path:
    """A shipped model name or a package path -> the package file."""
    p = Path(model)
    if p.suffix == SUFFIX or p.exists():
        if not p.is_file():
            raise PackageError(f"model package {p}: no such file")
        return p
    candidate = ZOO / f"{model}{SUFFIX}"
    if candidate.is_file():
        return candidate
    raise PackageError(f"unknown model {str(model)!r}: not a file, and not a shipped model "
                       f"(shipped: {', '.join(shipped_models()) or 'none'})")


@dataclass
class ModelPackage:
    path: Path
    config: dict
    onnx_bytes: bytes
    weights: bytes | None

    @property
    def name(self) -> str:
        return self.config.get("name", self.path.stem)

    @classmethod
    def load(cls, model: str | Path) -> "ModelPackage":
        path = resolve(model)
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise PackageError(f"model package {path}: not a readable package ({exc})") from None
        with zf:
            names = set(zf.namelist())
            missing = [m for m in REQUIRED_MEMBERS if m not in names]
            if missing:
                raise PackageError(f"model package {path}: missing member(s) {', '.join(missing)}")
            try:
                config = json.loads(zf.read("config.json"))
                onnx_bytes = zf.read("model.onnx")
                weights = zf.read("weights.pt") if "weights.pt" in names else None
            except (zipfile.BadZipFile, json.JSONDecodeError, OSError, ValueError) as exc:
                raise PackageError(f"model package {path}: corrupt member ({exc})") from None
        version = config.get("format_version")
        if version != FORMAT_VERSION:
            raise PackageError(f"model package {path}: format version {version!r}, this cellrt "
                               f"reads version {FORMAT_VERSION}")
        for key in ("family", "in_channels", "align", "context", "object_halo", "postprocess"):
            if key not in config:
                raise PackageError(f"model package {path}: config.json lacks {key!r}")
        return cls(path, config, onnx_bytes, weights)


def write_package(path: str | Path, config: dict, onnx_bytes: bytes,
                  weights: bytes | None = None) -> Path:
    """Write a package atomically (temporary name, then rename)."""
    path = Path(path)
    config = {"format_version": FORMAT_VERSION, **config}
    tmp = path.with_name(path.name + ".tmp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", json.dumps(config, indent=2))
        zf.writestr("model.onnx", onnx_bytes)
        if weights is not None:
            zf.writestr("weights.pt", weights)
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return path
