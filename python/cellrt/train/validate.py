"""Validation during training: whole val images through the network, losses per head.
(Instance metrics need post-processing; they are computed by `cellrt eval` on a packaged model.)"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cellrt.train.data import Sample
from cellrt.train.targets import boundary_distances


def _pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    return F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple))


def make_validator(samples: list[Sample]):
    def validate(model) -> dict:
        from cellrt.train.loop import losses

        mult = model.config.downsample
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        inter = union = 0
        for s in samples:
            img = torch.from_numpy(np.ascontiguousarray(s.image.transpose(2, 0, 1)))[None]
            h, w = s.labels.shape
            out = {k: v[..., :h, :w] for k, v in model(_pad_to(img, mult)).items()}
            fg = torch.from_numpy((s.labels > 0).astype(np.int64))[None]
            dist = torch.from_numpy(boundary_distances(s.labels))[None]
            cls = torch.from_numpy(s.classes.astype(np.int64))[None] if s.classes is not None else None
            empty = not s.labels.any()
            for k, v in losses(out, fg, dist, cls, model.config.dist_scale).items():
                # An image without nuclei has no distance or type loss (losses() gives 0 for
                # them): it must not pull those val losses towards 0, so they are means over
                # the images with nuclei only.
                if k != "fg" and empty:
                    continue
                sums[k] = sums.get(k, 0.0) + float(v)
                counts[k] = counts.get(k, 0) + 1
            pred = out["fg"].argmax(1)
            inter += int(((pred == 1) & (fg == 1)).sum())
            union += int(((pred == 1) | (fg == 1)).sum())
        res = {f"val_{k}": round(v / counts[k], 5) for k, v in sums.items()}
        res["val_fg_iou"] = round(inter / max(union, 1), 4)
        return res

    return validate
