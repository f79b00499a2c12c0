"""Training runs, checkpoints, resumes, fine-tunes (the exported graph vs torch eager is in
tests/python/runtime/test_backends.py)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.python.datasets import example_dataset  # noqa: E402


@pytest.fixture
def tiny_dataset(tmp_path):
    return example_dataset(tmp_path, {"train": ["e0", "e1"], "val": ["e2"], "test": []})


def _train(data, out, epochs, resume=False, extra=()):
    from cellrt.cli import main

    args = ["train", "--data", str(data), "--out", str(out), "--epochs", str(epochs),
            "--steps-per-epoch", "2", "--batch-size", "2", "--crop", "64", "--widths", "8", "16",
            "--val-every", "1", "--threads", "1", *extra]
    return main(args + (["--resume"] if resume else []))


def test_train_checkpoint_and_resume(tiny_dataset, tmp_path):
    out = tmp_path / "run"
    assert _train(tiny_dataset, out, 1) == 0
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["epoch"] == 1 and "val" in ckpt["history"][0]
    assert _train(tiny_dataset, out, 2, resume=True) == 0
    ckpt2 = torch.load(out / "last.pt", weights_only=False)
    assert ckpt2["epoch"] == 2 and len(ckpt2["history"]) == 2
    assert ckpt2["history"][0] == ckpt["history"][0]
    log = (out / "train.log").read_text()
    assert "start epoch 1" in log


def test_train_init_starts_from_weights_and_records_splits(tiny_dataset, tmp_path, capsys):
    first = tmp_path / "a"
    assert _train(tiny_dataset, first, 1) == 0
    start = torch.load(first / "last.pt", weights_only=False)["model"]
    second = tmp_path / "b"
    # One epoch at a learning rate of zero leaves the initial weights untouched.
    assert _train(tiny_dataset, second, 1, extra=["--init", str(first / "last.pt"), "--lr", "0",
                                                  "--splits", "train", "val"]) == 0
    ckpt = torch.load(second / "last.pt", weights_only=False)
    for k, v in start.items():
        if v.is_floating_point() and "running" not in k:
            assert torch.equal(ckpt["model"][k], v), k
    assert ckpt["train_config"]["splits"] == ["train", "val"]
    assert ckpt["train_config"]["init"] == str(first / "last.pt")
    rc = _train(tiny_dataset, tmp_path / "c", 1, extra=["--init", str(tmp_path / "nope.pt")])
    assert rc == 2 and "nope.pt does not exist" in capsys.readouterr().err


def test_train_refuses_test_split(tiny_dataset, tmp_path, capsys):
    from cellrt.cli import main

    rc = main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "r"),
               "--splits", "train", "test"])
    assert rc == 2
    assert "refusing to train on the 'test' split" in capsys.readouterr().err


def test_train_rejects_val_every_below_one_before_writing(tiny_dataset, tmp_path, capsys):
    from cellrt.cli import main

    out = tmp_path / "v"
    rc = main(["train", "--data", str(tiny_dataset), "--out", str(out), "--val-every", "0"])
    assert rc == 2
    assert "val_every must be an integer >= 1" in capsys.readouterr().err
    assert not out.exists()


def test_distance_loss_weights_the_contact_band():
    from cellrt.train.loop import losses

    fg = torch.ones(1, 1, 4, dtype=torch.int64)
    dist = torch.zeros(1, 4, 1, 4)
    out = {"fg": torch.zeros(1, 2, 1, 4), "dist": torch.zeros(1, 4, 1, 4)}
    out["dist"][..., 0] = 1.0  # error 1 on pixel 0 only, on all four distances
    contact = torch.tensor([[[True, False, False, False]]])
    plain = losses(out, fg, dist, None, 1.0)["dist"]
    assert float(plain) == pytest.approx(1 / 4)
    # The contact pixel counts 1 + 3 = 4 times in a weighted mean: 4 / (4 + 3).
    weighted = losses(out, fg, dist, None, 1.0, contact=contact, contact_weight=3.0)["dist"]
    assert float(weighted) == pytest.approx(4 / 7)
    contact[...] = False
    assert float(losses(out, fg, dist, None, 1.0, contact=contact, contact_weight=3.0)["dist"]) \
        == pytest.approx(1 / 4)


def test_train_contact_weight_is_recorded_and_checked(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "cw"
    assert _train(tiny_dataset, out, 1, extra=["--contact-weight", "3"]) == 0
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["train_config"]["contact_weight"] == 3.0
    # Same seed, same crops (the examples' nuclei touch): the weighting reached the loss.
    assert _train(tiny_dataset, tmp_path / "cw0", 1) == 0
    plain = torch.load(tmp_path / "cw0" / "last.pt", weights_only=False)
    assert plain["history"][0]["dist"] != ckpt["history"][0]["dist"]
    for bad in ("-1", "nan"):
        rc = _train(tiny_dataset, tmp_path / f"bad{bad}", 1, extra=["--contact-weight", bad])
        assert rc == 2
        assert "contact_weight must be a finite number >= 0" in capsys.readouterr().err
        assert not (tmp_path / f"bad{bad}").exists()


def _cpu_bf16() -> bool:
    from cellrt.train.loop import cpu_bf16_support

    return cpu_bf16_support()


def test_type_loss_of_a_batch_without_nuclei_is_zero_not_nan():
    from cellrt.train.loop import losses

    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    out = {"fg": torch.zeros(2, 2, 8, 8), "dist": torch.zeros(2, 4, 8, 8), "type": logits}
    fg = torch.zeros(2, 8, 8, dtype=torch.int64)
    cls = torch.zeros(2, 8, 8, dtype=torch.int64)  # no typed pixel anywhere
    terms = losses(out, fg, torch.zeros(2, 4, 8, 8), cls, 16.0)
    assert float(terms["type"].detach()) == 0.0 and float(terms["dist"].detach()) == 0.0
    sum(terms.values()).backward()
    assert torch.count_nonzero(logits.grad) == 0
    # With one typed pixel the term is the ordinary cross-entropy of that pixel.
    cls[0, 3, 4] = 2
    t = losses(out, fg, torch.zeros(2, 4, 8, 8), cls, 16.0)["type"]
    want = torch.nn.functional.cross_entropy(logits[0, :, 3, 4][None], torch.tensor([1]))
    assert float(t.detach()) == pytest.approx(float(want.detach()), rel=1e-6)


def test_validation_losses_ignore_images_without_nuclei():
    """An empty val image (CoNSeP has some) made val_type NaN and pulled val_dist towards 0."""
    from cellrt.models import RepSNet, RepSNetConfig
    from cellrt.train.data import Sample
    from cellrt.train.validate import make_validator

    rng = np.random.default_rng(0)
    labels = np.zeros((32, 32), np.int32)
    labels[4:12, 4:14], labels[18:28, 10:20] = 1, 2
    full = Sample("a", rng.random((32, 32, 3), dtype=np.float32), labels,
                  np.where(labels > 0, labels, 0).astype(np.uint8))
    empty = Sample("b", rng.random((32, 32, 3), dtype=np.float32), np.zeros_like(labels),
                   np.zeros((32, 32), np.uint8))
    torch.manual_seed(0)
    model = RepSNet(RepSNetConfig(in_channels=3, widths=[8, 16], num_classes=2)).eval()
    with torch.no_grad():
        both = make_validator([full, empty])(model)
        alone = make_validator([full])(model)
    assert all(np.isfinite(v) for v in both.values())
    assert both["val_type"] == alone["val_type"] and both["val_dist"] == alone["val_dist"]
    assert both["val_fg"] != alone["val_fg"]  # the empty image still counts for foreground


@pytest.mark.skipif(not _cpu_bf16(), reason="this CPU has no AVX512-BF16/AMX: --bf16 is refused")
def test_train_bf16_runs_and_is_recorded(tiny_dataset, tmp_path):
    out = tmp_path / "bf16"
    assert _train(tiny_dataset, out, 1, extra=["--bf16"]) == 0
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["train_config"]["bf16"] is True
    # Weights and losses stay fp32 under autocast.
    assert all(v.dtype == torch.float32 for v in ckpt["model"].values() if v.is_floating_point())
    assert all(np.isfinite(v) for k, v in ckpt["history"][0].items() if k in ("fg", "dist"))


@pytest.mark.skipif(_cpu_bf16(), reason="this CPU has bf16 units: --bf16 is allowed")
def test_train_refuses_bf16_without_cpu_support(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "bf16"
    assert _train(tiny_dataset, out, 1, extra=["--bf16"]) == 2
    assert "bf16 needs a CPU with AVX512-BF16 or AMX" in capsys.readouterr().err
    assert not out.exists()


def test_balanced_type_weights_favour_rare_classes(tiny_dataset, tmp_path, capsys):
    from cellrt.train.data import Sample
    from cellrt.train.loop import balanced_type_weights

    cls = np.zeros((10, 10), np.uint8)
    cls[:8, :] = 1  # 80 px of class 1
    cls[8, :] = 2  # 10 px of class 2
    cls[9, :5] = 3  # 5 px of class 3, none of class 4
    s = Sample("a", np.zeros((10, 10, 1), np.float32), (cls > 0).astype(np.int32), cls)
    w = balanced_type_weights([s], 4)
    assert len(w) == 4 and abs(np.mean(w) - 1) < 1e-3
    assert w[0] < w[1] < w[2] < w[3]  # 1/sqrt(share); an absent class counts as one pixel
    np.testing.assert_allclose(w[1] / w[0], np.sqrt(80 / 10), rtol=1e-3)
    rc = _train(tiny_dataset, tmp_path / "x", 1, extra=["--balance-types"])
    assert rc == 2 and "--balance-types needs --num-classes >= 1" in capsys.readouterr().err
