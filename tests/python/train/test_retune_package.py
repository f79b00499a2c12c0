"""tools/retune_package.py: a package's post-processing is re-tuned on val for another marker rule
(here the shipped one's predecessor, "votes"); it is replaced only when the val score beats its
card's, and the test split is scored only then."""

import json

from cellrt.runtime.package import ModelPackage
from tools.retune_package import main as retune

from tests.python.datasets import example_dataset, package_with_score

# A small grid: the test is about the tool's decisions, not the search.
GRID = json.dumps({"vote_threshold": [1.0, 1.5], "min_size": [16]})


def _retune(tmp_path, card_score: float):
    data = example_dataset(tmp_path, {"val": ["e0", "e1"], "test": ["e2"]})
    src = package_with_score(tmp_path / "src.cellrt", card_score)
    out = tmp_path / "out.cellrt"
    rc = retune(["--model", str(src), "--data", str(data), "--markers", "votes",
                 "--grid", GRID, "--out", str(out)])
    return rc, src, out


def test_no_val_gain_writes_nothing(tmp_path, capsys):
    rc, src, out = _retune(tmp_path, card_score=1.0)
    text = capsys.readouterr().out
    assert rc == 1 and "nothing written" in text
    assert "[test]" not in text  # the test split was never scored
    assert not out.exists()
    assert ModelPackage.load(src).config.postprocess["markers"] == "vote_maxima"


def test_val_gain_is_scored_on_test_and_written(tmp_path, capsys):
    rc, src, out = _retune(tmp_path, card_score=-1.0)
    text = capsys.readouterr().out
    assert rc == 0 and f"wrote {out}" in text and "[test]" in text
    config = ModelPackage.load(out).config.to_dict()
    assert config["postprocess"]["markers"] == "votes"
    tuning = config["card"]["tuning"]
    # From the grid, or past its edge (tune follows a best value on the edge).
    assert config["postprocess"]["vote_threshold"] in [1.0, 1.5] + tuning["extended"].get(
        "vote_threshold", [])
    assert config["postprocess"]["min_size"] == 16
    assert tuning["split"] == "val" and tuning["replaced"]["score"] == -1.0
    assert tuning["replaced"]["postprocess"]["markers"] == "vote_maxima"
    assert config["upscale"]["below_median_area"] == tuning["upscale"]["below_median_area"]
    assert config["card"]["metrics_test"]["all"]["images"] == 1
    # The network is untouched.
    assert ModelPackage.load(out).onnx_bytes == ModelPackage.load(src).onnx_bytes
