"""`cellrt train`: train a RepSNet nucleus model on a data set (layout: cellrt.io.datasets)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a boundary-regression nucleus model (needs torch)")
    p.add_argument("--data", required=True, help="dataset folder (images/, labels/, split.json)")
    p.add_argument("--out", required=True, help="output folder: last.pt, train.log")
    p.add_argument("--splits", nargs="+", default=["train"], help="splits to train on")
    p.add_argument("--val-split", default="val", help="split for validation ('' for none)")
    p.add_argument("--channels", type=int, default=1, help="input channels (1 gray, 3 RGB)")
    p.add_argument("--num-classes", type=int, default=0, help="nucleus types (0: no type head)")
    p.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 96])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--steps-per-epoch", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--val-every", type=int, default=5,
                   help="validate every N epochs and after the last (N >= 1; for none: "
                        "--val-split '')")
    p.add_argument("--bf16", action="store_true",
                   help="bf16 autocast (faster on CPUs with AVX512-BF16/AMX, refused on "
                        "others, where it is ~17x slower; fp32 losses)")
    p.add_argument("--balance-types", action="store_true",
                   help="weight the type loss by inverse sqrt class frequency (helps mPQ)")
    p.add_argument("--contact-weight", type=float, default=0.0,
                   help="extra weight of the distance loss within 2 px of a touching nucleus "
                        "(against merges; 0: none)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--init", default="", help="start from this checkpoint's weights (fine-tune)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ValueError("training needs PyTorch: pip install 'cellrt[train]'") from None
    from cellrt.models import RepSNetConfig
    from cellrt.train.data import load_samples
    from cellrt.train.loop import TrainConfig, balanced_type_weights, train
    from cellrt.train.validate import make_validator

    if args.splits and "test" in args.splits:
        raise ValueError("train: refusing to train on the 'test' split")
    samples = load_samples(args.data, args.splits, args.channels)
    model_cfg = RepSNetConfig(in_channels=args.channels, widths=args.widths,
                              num_classes=args.num_classes)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, crop=args.crop,
                      steps_per_epoch=args.steps_per_epoch, lr=args.lr, seed=args.seed,
                      threads=args.threads, splits=list(args.splits), init=args.init,
                      bf16=args.bf16, contact_weight=args.contact_weight)
    if args.balance_types:
        if args.num_classes < 1:
            raise ValueError("train: --balance-types needs --num-classes >= 1")
        cfg.type_class_weights = balanced_type_weights(samples, args.num_classes)
    validate = None
    if args.val_split:
        validate = make_validator(load_samples(args.data, [args.val_split], args.channels))
    path = train(model_cfg, samples, Path(args.out), cfg, resume=args.resume,
                 validate=validate, val_every=args.val_every)
    print(f"train: checkpoint {path}")
    return 0
