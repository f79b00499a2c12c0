"""Class-prior correction (PostprocessParams.type_weights): tuned on val only, for mPQ+, with the
most frequent class fixed at 1; kept only on a gain; the retune tool keeps nothing without one."""

import numpy as np
import pytest

from cellrt.runtime.package import ModelPackage
from cellrt.calibrate.tune import tune_type_weights
from tools.retune_package import main as retune

from tests.python.datasets import example_dataset


@pytest.fixture(scope="module")
def typed_data(tmp_path_factory):
    return example_dataset(tmp_path_factory.mktemp("typed"),
                           {"val": ["e0", "e1"], "test": ["e2"]}, classes=4)


def test_refuses_test_and_models_without_a_type_head(typed_data):
    with pytest.raises(ValueError, match="refusing to tune on the 'test' split"):
        tune_type_weights("nuclei-he", typed_data, "test")
    with pytest.raises(ValueError, match="has no type head"):
        tune_type_weights("nuclei-fluo", typed_data, "val", log=lambda s: None)


def test_weights_gain_or_none(typed_data):
    found = tune_type_weights("nuclei-he", typed_data, "val", values=[0.25, 4.0],
                              log=lambda s: None)
    assert set(found) == {"type_weights", "score", "score_without", "scored_classes",
                          "tuned_classes"}
    assert 0 <= found["score_without"] <= found["score"] <= 1
    if found["type_weights"] is None:
        assert found["score"] == found["score_without"]
    else:
        w = found["type_weights"]
        assert len(w) == 4 and 1.0 in w and set(w) <= {0.25, 1.0, 4.0}
        assert found["score"] - found["score_without"] >= 0.002
    # A gain can never reach 1 mPQ+ over the start: nothing is kept.
    none = tune_type_weights("nuclei-he", typed_data, "val", values=[0.25, 4.0], min_gain=1.0,
                             log=lambda s: None)
    assert none["type_weights"] is None and none["score"] == none["score_without"]
    # The val maps the build shares between its stages give the same answer as a fresh pass.
    from cellrt.calibrate.tune import split_maps

    shared = tune_type_weights("nuclei-he", typed_data, "val", values=[0.25, 4.0],
                               log=lambda s: None, maps=split_maps("nuclei-he", typed_data, "val"))
    assert shared == found


def test_classes_with_too_few_val_instances_keep_weight_one(tmp_path):
    import tifffile

    # Class 1 holds exactly one instance in val; classes 2-4 share the rest.
    data = example_dataset(tmp_path, {"val": ["e0", "e1"], "test": ["e2"]})
    (data / "classes").mkdir()
    for i in range(3):
        lab = tifffile.imread(data / "labels" / f"e{i}.tif").astype(np.int64)
        cls = np.where(lab > 0, 2 + lab % 3, 0)
        if i == 0:
            cls[lab == lab.max()] = 1
        tifffile.imwrite(data / "classes" / f"e{i}.tif", cls.astype(np.uint8))
    found = tune_type_weights("nuclei-he", data, "val", values=[0.25, 4.0], min_gain=0.0,
                              min_instances=2, log=lambda s: None)
    assert found["scored_classes"] == [2, 3, 4]
    # Class 1 is never tuned, nor the most frequent class (the anchor at weight 1).
    assert 1 not in found["tuned_classes"] and len(found["tuned_classes"]) == 2
    assert found["type_weights"] is None or found["type_weights"][0] == 1.0
    # A threshold no class reaches: nothing is tuned, every class is scored.
    none = tune_type_weights("nuclei-he", data, "val", values=[0.25, 4.0], min_gain=0.0,
                             min_instances=10**9, log=lambda s: None)
    assert none["type_weights"] is None and none["scored_classes"] == [1, 2, 3, 4]
    assert none["tuned_classes"] == []
    assert none["score"] == none["score_without"]


def test_retune_without_a_gain_writes_nothing(typed_data, tmp_path, capsys):
    out = tmp_path / "he.cellrt"
    before = ModelPackage.load("nuclei-he").path.read_bytes()
    rc = retune(["--model", "nuclei-he", "--data", str(typed_data), "--stages", "type_weights",
                 "--min-gain", "1.0", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 1 and "nothing written" in text and "[test]" not in text
    assert not out.exists()
    assert ModelPackage.load("nuclei-he").path.read_bytes() == before  # the input is untouched
