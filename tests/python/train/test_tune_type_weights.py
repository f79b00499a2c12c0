"""Class-prior correction (PostprocessParams.type_weights): tuned on val only, for mPQ+, with the
most frequent class fixed at 1; kept only on a gain; the retune tool keeps nothing without one."""

import numpy as np
import pytest

from cellrt.runtime.package import ModelPackage
from cellrt.train.tune import tune_type_weights
from tools.retune_package import main as retune

from .conftest import example_dataset


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
    assert set(found) == {"type_weights", "score", "score_without"}
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


def test_retune_without_a_gain_writes_nothing(typed_data, tmp_path, capsys):
    out = tmp_path / "he.cellrt"
    before = ModelPackage.load("nuclei-he").path.read_bytes()
    rc = retune(["--model", "nuclei-he", "--data", str(typed_data), "--stages", "type_weights",
                 "--min-gain", "1.0", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 1 and "nothing written" in text and "[test]" not in text
    assert not out.exists()
    assert ModelPackage.load("nuclei-he").path.read_bytes() == before  # the input is untouched
