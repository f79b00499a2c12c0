"""PackageConfig: config.json validated once, when a package is read; one clear error naming
the package and the key."""

import json
import zipfile

import pytest

from cellrt.families import bind
from cellrt.runtime.package import FORMAT_VERSION, ModelPackage, PackageConfig, PackageError


def _raw(model="nuclei-he") -> dict:
    with zipfile.ZipFile(ModelPackage.load(model).path) as zf:
        return json.loads(zf.read("config.json"))


@pytest.mark.parametrize("model", ["nuclei-fluo", "nuclei-he"])
def test_shipped_configs_round_trip(model):
    raw = _raw(model)
    cfg = PackageConfig.from_dict(raw, model)
    assert cfg.to_dict() == raw
    assert isinstance(cfg.outputs, tuple) and cfg.format_version == FORMAT_VERSION
    assert bind(cfg).graphs()[0].outputs == cfg.outputs


@pytest.mark.parametrize("change,msg", [
    ({"format_version": 2}, "format version 2, this cellrt reads version 1"),
    ({"format_version": None}, "format version None"),
    ({"align": None}, "'align' must be int >= 1, got None"),
    ({"align": 0}, "'align' must be int >= 1, got 0"),
    ({"in_channels": 1.5}, "'in_channels' must be int >= 1, got 1.5"),
    ({"object_halo": -8}, "'object_halo' must be int >= 0, got -8"),
    ({"outputs": []}, "'outputs' must be a non-empty list of names"),
    ({"outputs": "fg_prob"}, "'outputs' must be list"),
    ({"class_names": [1, 2]}, "'class_names' must be a non-empty list of names"),
    ({"postprocess": [0.5]}, "'postprocess' must be dict"),
    ({"colour": "red"}, r"unknown keys \['colour'\]"),
])
def test_bad_values_are_one_clear_error(change, msg):
    with pytest.raises(PackageError, match=msg):
        PackageConfig.from_dict({**_raw(), **change}, "x.cellrt")


@pytest.mark.parametrize("key", ["family", "in_channels", "align", "context", "object_halo",
                                 "outputs", "postprocess"])
def test_missing_field_is_named(key):
    raw = _raw()
    del raw[key]
    with pytest.raises(PackageError, match=f"x.cellrt: config.json lacks '{key}'"):
        PackageConfig.from_dict(raw, "x.cellrt")


def test_a_config_that_is_not_an_object():
    with pytest.raises(PackageError, match="must be a JSON object, got list"):
        PackageConfig.from_dict([1, 2], "x.cellrt")


def test_family_part_is_checked_when_bound():
    raw = _raw()
    with pytest.raises(PackageError, match="unknown family 'mask-rcnn'"):
        bind(PackageConfig.from_dict({**raw, "family": "mask-rcnn"}, "x"))
    with pytest.raises(PackageError, match=r"unknown parameters \['speed'\]"):
        bind(PackageConfig.from_dict({**raw, "postprocess": {"speed": 2}}, "x"))
    with pytest.raises(PackageError, match="outputs fg_prob, dist"):
        bind(PackageConfig.from_dict({**raw, "outputs": ["fg_prob", "mask"]}, "x"))
    with pytest.raises(PackageError, match="factor must be an integer >= 2"):
        bind(PackageConfig.from_dict({**raw, "upscale": {"below_median_area": 1,
                                                         "factor": 1}}, "x"))
