"""The deploy form of a trained RepSNet: branches folded, and the output transforms every backend
needs inside the graph (foreground probability, distances in pixels, type probabilities)."""

from __future__ import annotations

import torch
from torch import nn

from cellrt.models.repsnet import RepSNet, RepSNetConfig


class DeployHead(nn.Module):
    """Network + the output transforms every backend needs, inside the graph: foreground
    probability, distances in pixels (non-negative), type probabilities."""

    def __init__(self, net: RepSNet):
        super().__init__()
        self.net = net
        self.dist_scale = float(net.config.dist_scale)

    def forward(self, image: torch.Tensor):
        out = self.net(image)
        fg = torch.softmax(out["fg"], dim=1)[:, 1:2]
        dist = torch.relu(out["dist"]) * self.dist_scale
        if "type" in out:
            return fg, dist, torch.softmax(out["type"], dim=1)
        return fg, dist


def receptive_radius(cfg: RepSNetConfig) -> int:
    """Radius (pixels) of the receptive field of one output pixel through the deepest path: each
    3x3 conv at scale s adds s, each stride-2 conv adds its input scale, each 2x up-sampling from
    scale 2s adds s. 1x1 branches add nothing."""
    n, levels = cfg.blocks_per_stage, len(cfg.widths)
    r = n  # stem at scale 1
    for i in range(levels - 1):
        s = 2 ** i
        r += s + (n - 1) * 2 * s  # encoder stage: strided conv at scale s, then n-1 at 2s
        r += s + n * s  # decoder: up-sampling into scale s, then n fuse blocks at scale s
    return r


def deploy_model(checkpoint: dict) -> RepSNet:
    cfg = RepSNetConfig(**checkpoint["model_config"])
    net = RepSNet(cfg)
    net.load_state_dict(checkpoint["model"])
    return net.eval().switch_to_deploy()
