"""tools/build_shipped_model.py: a candidate replaces a shipped model only when it beats it on val,
and the choice is made before the test split is scored."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from cellrt.runtime.package import ModelPackage  # noqa: E402
from tools.build_shipped_model import main as build  # noqa: E402

from tests.python.datasets import example_dataset, package_with_score  # noqa: E402


@pytest.fixture(scope="module")
def candidate(tmp_path_factory):
    """A dataset with train/val/test images and a one-epoch checkpoint trained on it."""
    root = tmp_path_factory.mktemp("candidate")
    data = example_dataset(root, {"train": ["e0"], "val": ["e1"], "test": ["e2"]})
    from cellrt.cli import main

    assert main(["train", "--data", str(data), "--out", str(root / "run"), "--epochs", "1",
                 "--steps-per-epoch", "1", "--batch-size", "2", "--crop", "64", "--widths", "8",
                 "16", "--val-split", "", "--threads", "1"]) == 0
    return data, root / "run" / "last.pt"


def _build(candidate, out: Path, baseline: Path, *extra: str) -> int:
    data, ckpt = candidate
    return build(["--checkpoint", str(ckpt), "--name", "nuclei-fluo", "--data", str(data),
                  "--licence", "CC0-1.0", "--train-command", "cellrt train ...",
                  "--out", str(out), "--baseline", str(baseline), *extra])


def test_candidate_not_better_on_val_writes_nothing(candidate, tmp_path, capsys):
    out = tmp_path / "new.cellrt"
    assert _build(candidate, out, package_with_score(tmp_path / "base.cellrt", 1.0)) == 1
    text = capsys.readouterr().out
    assert "not better than" in text and "nothing written" in text
    assert "metrics_test" not in text  # the test split was never scored
    assert not out.exists()


def test_a_gain_below_min_gain_counts_as_no_better(candidate, tmp_path, capsys):
    # Against a baseline at -1 a candidate (score in 0..1) gains at most 2: short of a bar of 2.5.
    out = tmp_path / "new.cellrt"
    assert _build(candidate, out, package_with_score(tmp_path / "base.cellrt", -1.0),
                  "--min-gain", "2.5") == 1
    text = capsys.readouterr().out
    assert "< 2.5): nothing written" in text and not out.exists()


def test_candidate_better_on_val_is_scored_on_test_and_written(candidate, tmp_path, capsys):
    out = tmp_path / "new.cellrt"
    assert _build(candidate, out, package_with_score(tmp_path / "base.cellrt", -1.0)) == 0
    assert "better than" in capsys.readouterr().out
    config = ModelPackage.load(out).config.to_dict()
    card = config["card"]
    assert card["tuning"]["split"] == "val" and card["metrics_test"]["all"]["images"] == 1
    # The package runs with what val chose: the tuned post-processing and upscale rule.
    assert config["postprocess"] == {**card["tuning"]["best"], "type_weights": None}
    rule = card["tuning"]["upscale"]
    assert config["upscale"] == {"below_median_area": rule["below_median_area"],
                                 "factor": rule["factor"]}
    assert card["tuning"]["score"] == rule["score"]


def test_val_only_never_reads_the_test_split(candidate, tmp_path, capsys):
    data, ckpt = candidate
    # A corrupt test image: scoring the test split would fail on it.
    broken = tmp_path / "data"
    import shutil

    shutil.copytree(data, broken)
    (broken / "images" / "e2.png").write_bytes(b"not a png")
    out = tmp_path / "val.cellrt"
    assert build(["--checkpoint", str(ckpt), "--name", "cand", "--data", str(broken),
                  "--licence", "CC0-1.0", "--train-command", "cellrt train ...",
                  "--out", str(out), "--val-only"]) == 0
    card = ModelPackage.load(out).config.card
    assert card["val_only"] is True and "metrics_test" not in card
    assert card["tuning"]["split"] == "val"
    with pytest.raises(SystemExit):  # no --out: a package without test metrics
        build(["--checkpoint", str(ckpt), "--name", "cand", "--data", str(broken),
               "--licence", "CC0-1.0", "--train-command", "x", "--val-only"])
    assert "--val-only needs --out" in capsys.readouterr().err


def test_typed_candidate_gets_class_weights_tuned_on_val(tmp_path):
    # With a type head the build adds the class-prior correction, tuned on val, to the package's
    # post-processing and its card.
    data = example_dataset(tmp_path, {"train": ["e0"], "val": ["e1"], "test": ["e2"]}, classes=2)
    from cellrt.cli import main

    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
                 "--steps-per-epoch", "1", "--batch-size", "2", "--crop", "64", "--widths", "8",
                 "16", "--num-classes", "2", "--val-split", "", "--threads", "1"]) == 0
    out = tmp_path / "typed.cellrt"
    assert build(["--checkpoint", str(tmp_path / "run" / "last.pt"), "--name", "typed",
                  "--data", str(data), "--licence", "CC0-1.0", "--train-command", "cellrt train",
                  "--class-names", "a", "b", "--out", str(out)]) == 0
    config = ModelPackage.load(out).config.to_dict()
    found = config["card"]["tuning"]["type_weights"]
    # A one-epoch network may gain nothing from a correction: None (all 1) is then the answer.
    assert found["type_weights"] is None or len(found["type_weights"]) == 2
    assert found["score"] >= found["score_without"]
    assert config["postprocess"]["type_weights"] == found["type_weights"]
    assert config["class_names"] == ["a", "b"] and "type_prob" in config["outputs"]
