"""Training loop for RepSNet: AdamW + cosine schedule, a checkpoint every epoch, --resume,
fixed seeds, a one-line progress report with loss and validation metrics, and a log file."""

from __future__ import annotations

import io
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from cellrt.io.atomic import atomic_write_bytes
from cellrt.models import RepSNet, RepSNetConfig
from cellrt.train.data import Sample, augment


@dataclass
class TrainConfig:
    epochs: int = 100
    batch_size: int = 8
    crop: int = 256
    steps_per_epoch: int = 0  # 0: one pass worth of crops over the training images
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    seed: int = 0
    threads: int = 2
    splits: list = field(default_factory=lambda: ["train"])  # recorded in the model card
    init: str = ""  # checkpoint whose weights start a new run (fine-tuning); "" for random
    loss_weights: dict = field(default_factory=lambda: {"fg": 1.0, "dist": 1.0, "type": 0.5})
    # bf16 autocast for the forward pass: 1.6-1.8x faster steps on a CPU with AVX512-BF16/AMX
    # (measured on an EPYC that has them), ~17x slower on one without (measured on an AVX2-only
    # EPYC, where bf16 is emulated), so train() refuses it there; losses and optimizer state
    # stay fp32.
    bf16: bool = False
    # Type-loss weight per class (1..K): inverse square root of the class's pixel share in the
    # training set, mean 1. Rare types (CoNSeP "other": 4% of nuclei) otherwise never win the
    # vote, and mPQ averages over classes. Empty: unweighted.
    type_class_weights: list = field(default_factory=list)
    # Extra weight of the distance loss on pixels within 2 px of another nucleus (a pixel there
    # counts 1 + contact_weight times): touching nuclei that merge are most of the unmatched
    # nuclei of both shipped models. 0: every foreground pixel alike.
    contact_weight: float = 0.0


def losses(out: dict, fg: torch.Tensor, dist: torch.Tensor, cls: torch.Tensor | None,
           dist_scale: float, type_weights: torch.Tensor | None = None,
           contact: torch.Tensor | None = None, contact_weight: float = 0.0
           ) -> dict[str, torch.Tensor]:
    """Per-head losses: cross-entropy on foreground; L1 on scaled distances and cross-entropy on
    type, both on foreground pixels only (background has no boundary distance and no type).
    With `contact` (bool, B x H x W) and contact_weight > 0, a distance error there counts
    1 + contact_weight times; the loss stays a weighted mean, so its scale does not change."""
    out = {k: v.float() for k, v in out.items()}  # bf16 autocast outputs: losses in fp32
    terms = {"fg": F.cross_entropy(out["fg"], fg)}
    on = fg.unsqueeze(1).float()
    if contact is not None and contact_weight > 0:
        on = on * (1.0 + contact_weight * contact.unsqueeze(1).float())
    n_on = on.sum().clamp_min(1.0)
    terms["dist"] = ((out["dist"] - dist / dist_scale).abs() * on).sum() / (4 * n_on)
    if cls is not None and "type" in out:
        if bool((cls > 0).any()):
            terms["type"] = F.cross_entropy(out["type"], cls - 1, weight=type_weights,
                                            ignore_index=-1)
        else:
            # No nucleus in the batch (CoNSeP has empty patches): cross-entropy over zero pixels
            # is 0/0 = NaN, which made the logged loss NaN. Nothing to learn: 0, no gradient.
            terms["type"] = out["type"].sum() * 0.0
    return terms


def cpu_bf16_support() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX). torch's probes are private
    API: where they are missing the answer is True, so a newer torch never blocks --bf16."""
    import torch.cpu

    probes = [getattr(torch.cpu, name, None)
              for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if any(p is None for p in probes):
        return True
    return any(p() for p in probes)


def balanced_type_weights(samples: list[Sample], num_classes: int) -> list[float]:
    """Inverse square root of each class's share of typed pixels, normalised to mean 1."""
    counts = np.zeros(num_classes + 1, dtype=np.float64)
    for s in samples:
        if s.classes is not None:
            counts += np.bincount(s.classes.ravel(), minlength=num_classes + 1)[: num_classes + 1]
    share = np.maximum(counts[1:], 1.0) / max(counts[1:].sum(), 1.0)
    w = share ** -0.5
    return (w / w.mean()).round(4).tolist()


def _lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


def _batch(samples: list[Sample], idx: np.ndarray, crop: int, rng: np.random.Generator,
           contact: bool = False):
    parts = [augment(samples[i], crop, rng, contact=contact) for i in idx]
    img = torch.from_numpy(np.stack([p[0] for p in parts]))
    fg = torch.from_numpy(np.stack([p[1] for p in parts]))
    dist = torch.from_numpy(np.stack([p[2] for p in parts]))
    cls = None
    if parts[0][3] is not None:
        cls = torch.from_numpy(np.stack([p[3] for p in parts]).astype(np.int64))
    band = torch.from_numpy(np.stack([p[4] for p in parts])) if contact else None
    return img, fg, dist, cls, band


class Progress:
    """A single updating line on a terminal, plain lines otherwise; everything also to the log."""

    def __init__(self, log_path: Path):
        self.log = open(log_path, "a", buffering=1)
        self.tty = sys.stderr.isatty()

    def close(self) -> None:
        self.log.close()

    def line(self, text: str, final: bool = False) -> None:
        if self.tty:
            sys.stderr.write("\r" + text[:160].ljust(160) + ("\n" if final else ""))
            sys.stderr.flush()
        elif final:
            print(text, file=sys.stderr, flush=True)
        if final:
            self.log.write(text + "\n")


@dataclass
class _Run:
    """Everything one training run carries from epoch to epoch."""

    model: RepSNet
    opt: torch.optim.Optimizer
    model_cfg: RepSNetConfig
    cfg: TrainConfig
    samples: list[Sample]
    steps: int
    history: list
    out: Path
    progress: Progress

    @property
    def total_steps(self) -> int:
        return self.steps * self.cfg.epochs


def train(model_cfg: RepSNetConfig, train_samples: list[Sample], out_dir: str | Path,
          cfg: TrainConfig, resume: bool = False,
          validate: Callable[[RepSNet], dict] | None = None, val_every: int = 5) -> Path:
    """Train and return the path of the last checkpoint. `validate(model)` returns metrics
    (e.g. AP@0.5, PQ on the val split) reported every `val_every` epochs and at the end."""
    # Checked before anything is written: a bad value would otherwise fail after the first epoch.
    if isinstance(val_every, bool) or not isinstance(val_every, int) or val_every < 1:
        raise ValueError(f"train: val_every must be an integer >= 1 (no validation: no val "
                         f"split), got {val_every!r}")
    if cfg.bf16 and not cpu_bf16_support():
        raise ValueError("train: bf16 needs a CPU with AVX512-BF16 or AMX, and this one has "
                         "neither (bf16 steps run ~17x slower than fp32 on such a CPU); train "
                         "without --bf16")
    if not (math.isfinite(cfg.contact_weight) and cfg.contact_weight >= 0):
        raise ValueError(f"train: contact_weight must be a finite number >= 0, got "
                         f"{cfg.contact_weight!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model = RepSNet(model_cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.steps_per_epoch or max(1, math.ceil(len(train_samples) / cfg.batch_size))
    start_epoch, history = 0, []
    ckpt_path = out / "last.pt"
    if resume:
        if not ckpt_path.is_file():
            raise ValueError(f"train: --resume given but {ckpt_path} does not exist")
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        start_epoch, history = ckpt["epoch"], ckpt["history"]
    elif cfg.init:
        _load_init_weights(model, cfg.init)
    run = _Run(model, opt, model_cfg, cfg, train_samples, steps, history, out,
               Progress(out / "train.log"))
    try:
        _epochs(run, start_epoch, validate, val_every)
    finally:
        run.progress.close()
    return ckpt_path


def _load_init_weights(model: RepSNet, path: str) -> None:
    if not Path(path).is_file():
        raise ValueError(f"train: --init checkpoint {path} does not exist")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    try:
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0]
        raise ValueError(f"train: --init {path} does not fit this model: {first}") from None


def _epochs(run: _Run, start_epoch: int, validate, val_every: int) -> None:
    cfg, model, opt, steps = run.cfg, run.model, run.opt, run.steps
    type_weights = (torch.tensor(cfg.type_class_weights, dtype=torch.float32)
                    if cfg.type_class_weights else None)
    run.progress.line(f"train: {len(run.samples)} images, {cfg.epochs} epochs x {steps} steps, "
                      f"batch {cfg.batch_size}, crop {cfg.crop}, start epoch {start_epoch}",
                      final=True)
    for epoch in range(start_epoch, cfg.epochs):
        # A per-epoch generator seeded from (seed, epoch) makes a resumed run identical.
        rng = np.random.default_rng([cfg.seed, epoch])
        model.train()
        t0, sums = time.perf_counter(), {}
        for s in range(steps):
            step = epoch * steps + s
            for group in opt.param_groups:
                group["lr"] = _lr_at(step, run.total_steps, cfg)
            idx = rng.integers(0, len(run.samples), cfg.batch_size)
            img, fg, dist, cls, contact = _batch(run.samples, idx, cfg.crop, rng,
                                                 contact=cfg.contact_weight > 0)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                out = model(img)
            terms = losses(out, fg, dist, cls, run.model_cfg.dist_scale, type_weights,
                           contact, cfg.contact_weight)
            loss = sum(cfg.loss_weights[k] * v for k, v in terms.items())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            run.progress.line(f"epoch {epoch + 1}/{cfg.epochs} step {s + 1}/{steps} "
                              f"loss {float(loss.detach()):.4f} lr {opt.param_groups[0]['lr']:.2e}")
        record = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - t0, 1),
                  **{k: round(v / steps, 5) for k, v in sums.items()}}
        if validate is not None and ((epoch + 1) % val_every == 0 or epoch + 1 == cfg.epochs):
            model.eval()
            with torch.no_grad():
                record["val"] = validate(model)
        run.history.append(record)
        run.progress.line("epoch " + json.dumps(record), final=True)
        buf = io.BytesIO()
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "epoch": epoch + 1, "history": run.history,
                    "model_config": run.model_cfg.to_dict(), "train_config": asdict(cfg)}, buf)
        # Atomic: a kill mid-save never leaves a broken checkpoint.
        atomic_write_bytes(run.out / "last.pt", buf.getvalue())
