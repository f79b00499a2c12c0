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
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from cellrt.io.atomic import atomic_write_bytes

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


def _require(source, key: str, value, kind, minimum=None):
    """`value` checked to be of `kind` (and >= minimum); a PackageError naming the key if not."""
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and minimum is not None:
        ok = value >= minimum
    if not ok:
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        bound = f" >= {minimum}" if minimum is not None else ""
        raise PackageError(f"model package {source}: config.json {key!r} must be {want}{bound}, "
                           f"got {value!r}")
    return value


@dataclass(frozen=True)
class PackageConfig:
    """config.json of a model package, validated once when the package is read.

    The common fields are checked here; `postprocess`, `upscale` and `scale` belong to the
    model's family (cellrt.families), which checks them when an engine binds the package.
    """

    name: str
    family: str  # which cellrt.families member decodes this model's outputs
    in_channels: int  # network input channels (1 gray, 3 RGB)
    align: int  # the network's down-sampling: input sides are multiples of it
    context: int  # pixels of network input beyond a tile's region (>= receptive-field radius)
    object_halo: int  # pixels a tile's post-processed region extends beyond its core
    outputs: tuple[str, ...]  # output names of model.onnx, in order
    postprocess: dict  # the family's post-processing parameters
    tile: int = 0  # default core tile side (0: the whole image at once)
    normalization: dict = field(default_factory=dict)  # how inputs are scaled (documentation)
    class_names: tuple[str, ...] = ("nucleus",)
    upscale: dict | None = None  # the family's second-pass rule, if any
    scale: dict | None = None  # training object scale and probe rule (cellrt.families.scale)
    expects: dict = field(default_factory=dict)  # what images fit: modality, channels
    model_config: dict = field(default_factory=dict)  # the torch network's constructor arguments
    card: dict = field(default_factory=dict)  # model card: data, licence, recipe, metrics
    format_version: int = FORMAT_VERSION

    @classmethod
    def from_dict(cls, d, source="config") -> "PackageConfig":
        """Validate a config.json object; one PackageError naming what is wrong."""
        if not isinstance(d, dict):
            raise PackageError(f"model package {source}: config.json must be a JSON object, got "
                               f"{type(d).__name__}")
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            raise PackageError(f"model package {source}: format version {version!r}, this cellrt "
                               f"reads version {FORMAT_VERSION}")
        known = {f.name for f in fields(cls)}
        required = [f.name for f in fields(cls)
                    if f.default is f.default_factory is MISSING and f.name != "name"]
        missing = [k for k in required if k not in d]
        if missing:
            raise PackageError(f"model package {source}: config.json lacks "
                               f"{', '.join(repr(k) for k in missing)}")
        unknown = sorted(set(d) - known)
        if unknown:
            raise PackageError(f"model package {source}: config.json has unknown keys {unknown}")
        values = dict(d)
        values.setdefault("name", Path(str(source)).stem)
        _require(source, "name", values["name"], str)
        _require(source, "family", values["family"], str)
        _require(source, "in_channels", values["in_channels"], int, 1)
        _require(source, "align", values["align"], int, 1)
        for key in ("context", "object_halo", "tile"):
            if key in values:
                _require(source, key, values[key], int, 0)
        outputs = _require(source, "outputs", values["outputs"], list)
        if not outputs or not all(isinstance(o, str) for o in outputs):
            raise PackageError(f"model package {source}: config.json 'outputs' must be a "
                               f"non-empty list of names, got {outputs!r}")
        values["outputs"] = tuple(outputs)
        if "class_names" in values:
            names = _require(source, "class_names", values["class_names"], list)
            if not names or not all(isinstance(c, str) for c in names):
                raise PackageError(f"model package {source}: config.json 'class_names' must be "
                                   f"a non-empty list of names, got {names!r}")
            values["class_names"] = tuple(names)
        _require(source, "postprocess", values["postprocess"], dict)
        for key in ("normalization", "model_config", "card"):
            if key in values:
                _require(source, key, values[key], dict)
        for key in ("upscale", "scale"):
            if values.get(key) is not None:
                _require(source, key, values[key], dict)
        if "expects" in values:
            _require(source, "expects", values["expects"], dict)
        return cls(**values)

    def to_dict(self) -> dict:
        """The JSON object of config.json (lists for tuples)."""
        d = asdict(self)
        for key in ("outputs", "class_names"):
            d[key] = list(d[key])
        for key in ("upscale", "scale"):
            if d[key] is None:
                del d[key]
        return d


@dataclass
class ModelPackage:
    path: Path
    config: PackageConfig
    onnx_bytes: bytes
    weights: bytes | None

    @property
    def name(self) -> str:
        return self.config.name

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
                raw = json.loads(zf.read("config.json"))
                onnx_bytes = zf.read("model.onnx")
                weights = zf.read("weights.pt") if "weights.pt" in names else None
            except (zipfile.BadZipFile, json.JSONDecodeError, OSError, ValueError) as exc:
                raise PackageError(f"model package {path}: corrupt member ({exc})") from None
        return cls(path, PackageConfig.from_dict(raw, path), onnx_bytes, weights)


def write_package(path: str | Path, config: dict | PackageConfig, onnx_bytes: bytes,
                  weights: bytes | None = None) -> Path:
    """Write a package atomically; `config` is validated as PackageConfig first."""
    path = Path(path)
    if isinstance(config, dict):
        config = PackageConfig.from_dict({"format_version": FORMAT_VERSION, **config}, path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", json.dumps(config.to_dict(), indent=2))
        zf.writestr("model.onnx", onnx_bytes)
        if weights is not None:
            zf.writestr("weights.pt", weights)
    return atomic_write_bytes(path, buf.getvalue())
