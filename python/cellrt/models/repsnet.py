"""Boundary-regression nucleus network (RepSNet-style).

A U-Net-like encoder/decoder of re-parameterisable blocks with three heads:
  fg    (2 channels)  foreground logits (background, nucleus);
  dist  (4 channels)  distance from each pixel to its nucleus boundary going left, right, up,
                      down, in pixels divided by `dist_scale` (so targets are O(1));
  type  (K channels)  nucleus-type logits (absent when num_classes == 0).
Input: (N, C, H, W) float32, normalised; H and W multiples of 2**depth (the tiler pads).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from cellrt.models.rep_blocks import RepConvBlock, RepUpBlock


@dataclass
class RepSNetConfig:
    in_channels: int = 1
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 96])
    blocks_per_stage: int = 2
    num_classes: int = 0
    dist_scale: float = 16.0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def downsample(self) -> int:
        """Input sides must be multiples of this."""
        return 2 ** (len(self.widths) - 1)


def _stage(in_ch: int, out_ch: int, n: int, stride: int) -> nn.Sequential:
    blocks = [RepConvBlock(in_ch, out_ch, stride)]
    blocks += [RepConvBlock(out_ch, out_ch) for _ in range(n - 1)]
    return nn.Sequential(*blocks)


class RepSNet(nn.Module):
    def __init__(self, config: RepSNetConfig | None = None):
        super().__init__()
        cfg = config or RepSNetConfig()
        if len(cfg.widths) < 2:
            raise ValueError(f"RepSNet: widths needs at least 2 stages, got {cfg.widths}")
        self.config = cfg
        w = cfg.widths
        n = cfg.blocks_per_stage
        self.stem = _stage(cfg.in_channels, w[0], n, 1)
        self.down = nn.ModuleList(_stage(w[i], w[i + 1], n, 2) for i in range(len(w) - 1))
        self.up = nn.ModuleList(RepUpBlock(w[i + 1], w[i]) for i in reversed(range(len(w) - 1)))
        self.fuse = nn.ModuleList(_stage(2 * w[i], w[i], n, 1) for i in reversed(range(len(w) - 1)))
        self.head_fg = nn.Conv2d(w[0], 2, 1)
        self.head_dist = nn.Conv2d(w[0], 4, 1)
        self.head_type = nn.Conv2d(w[0], cfg.num_classes, 1) if cfg.num_classes > 0 else None

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        skips = [self.stem(x)]
        for stage in self.down:
            skips.append(stage(skips[-1]))
        y = skips.pop()
        for up, fuse in zip(self.up, self.fuse):
            y = fuse(torch.cat([up(y), skips.pop()], dim=1))
        out = {"fg": self.head_fg(y), "dist": self.head_dist(y)}
        if self.head_type is not None:
            out["type"] = self.head_type(y)
        return out

    @torch.no_grad()
    def switch_to_deploy(self) -> "RepSNet":
        """Fold every branch and BatchNorm into single convolutions (in place); returns self."""
        for m in self.modules():
            if isinstance(m, (RepConvBlock, RepUpBlock)):
                m.switch_to_deploy()
        return self.eval()
