"""tools/build_shipped_model.py: a candidate replaces a shipped model only when it beats it on val,
and the choice is made before the test split is scored."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from cellrt.runtime.package import ModelPackage  # noqa: E402
from tools.build_shipped_model import main as build  # noqa: E402

from .conftest import example_dataset, package_with_score  # noqa: E402


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


def _build(candidate, out: Path, baseline: Path) -> int:
    data, ckpt = candidate
    return build(["--checkpoint", str(ckpt), "--name", "nuclei-fluo", "--data", str(data),
                  "--licence", "CC0-1.0", "--train-command", "cellrt train ...",
                  "--out", str(out), "--baseline", str(baseline)])


def test_candidate_not_better_on_val_writes_nothing(candidate, tmp_path, capsys):
    out = tmp_path / "new.cellrt"
    assert _build(candidate, out, package_with_score(tmp_path / "base.cellrt", 1.0)) == 1
    text = capsys.readouterr().out
    assert "not better than" in text and "nothing written" in text
    assert "metrics_test" not in text  # the test split was never scored
    assert not out.exists()


def test_candidate_better_on_val_is_scored_on_test_and_written(candidate, tmp_path, capsys):
    out = tmp_path / "new.cellrt"
    assert _build(candidate, out, package_with_score(tmp_path / "base.cellrt", -1.0)) == 0
    assert "better than" in capsys.readouterr().out
    card = ModelPackage.load(out).config["card"]
    assert card["tuning"]["split"] == "val" and card["metrics_test"]["all"]["images"] == 1
