"""Structurally re-parameterisable blocks (RepVGG-style, as used by RepSNet).

At training time a block is a sum of branches, each ending in BatchNorm:
    3x3 conv + BN,  1x1 conv + BN,  identity + BN (only when shapes allow).
At deployment every branch is linear up to the activation, so the sum folds into ONE 3x3
convolution with bias: BN(conv(x)) = gamma*(W*x - mean)/sqrt(var+eps) + beta is a conv with
weight W*gamma/std and bias beta - mean*gamma/std; a 1x1 kernel is a 3x3 kernel that is zero
except at its centre; the identity is a 1x1 kernel with 1 on the channel diagonal.

The up-sampling block does the same for 2x up-sampling: a 2x2 stride-2 transposed conv + BN, and
a 1x1 conv + BN followed by nearest 2x up-sampling (which equals a 2x2 stride-2 transposed conv
whose four taps all carry the 1x1 weight) fold into one transposed conv with bias.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


def fuse_bn(weight: torch.Tensor, bn: nn.BatchNorm2d, out_dim: int = 0):
    """Fold BN (eval statistics) into a preceding linear op's weight; returns (weight, bias).

    out_dim: the weight dimension that indexes output channels (0 for Conv2d, 1 for
    ConvTranspose2d).
    """
    std = torch.sqrt(bn.running_var + bn.eps)
    scale = bn.weight / std
    shape = [1] * weight.dim()
    shape[out_dim] = -1
    return weight * scale.reshape(shape), bn.bias - bn.running_mean * scale


class RepConvBlock(nn.Module):
    """3x3 conv block with re-parameterisable branches, followed by ReLU.

    Parameters
    ----------
    in_ch, out_ch : channels.
    stride : 1 or 2. The identity branch exists only for stride 1 and in_ch == out_ch.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.in_ch, self.out_ch, self.stride = in_ch, out_ch, stride
        self.conv3 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 1, stride, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.bn_id = nn.BatchNorm2d(out_ch) if (stride == 1 and in_ch == out_ch) else None
        self.deploy_conv: nn.Conv2d | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deploy_conv is not None:
            return F.relu(self.deploy_conv(x))
        y = self.bn3(self.conv3(x)) + self.bn1(self.conv1(x))
        if self.bn_id is not None:
            y = y + self.bn_id(x)
        return F.relu(y)

    @torch.no_grad()
    def equivalent_kernel(self) -> tuple[torch.Tensor, torch.Tensor]:
        w3, b3 = fuse_bn(self.conv3.weight, self.bn3)
        w1, b1 = fuse_bn(self.conv1.weight, self.bn1)
        w = w3 + F.pad(w1, [1, 1, 1, 1])
        b = b3 + b1
        if self.bn_id is not None:
            eye = torch.zeros_like(w3)
            idx = torch.arange(self.out_ch)
            eye[idx, idx, 1, 1] = 1.0
            wi, bi = fuse_bn(eye, self.bn_id)
            w, b = w + wi, b + bi
        return w, b

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        if self.deploy_conv is not None:
            return
        w, b = self.equivalent_kernel()
        conv = nn.Conv2d(self.in_ch, self.out_ch, 3, self.stride, 1, bias=True)
        conv.weight.copy_(w)
        conv.bias.copy_(b)
        self.deploy_conv = conv.to(w.device)
        for name in ("conv3", "bn3", "conv1", "bn1", "bn_id"):
            delattr(self, name)
        self.bn_id = None


class RepUpBlock(nn.Module):
    """2x up-sampling with re-parameterisable branches, followed by ReLU."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.in_ch, self.out_ch = in_ch, out_ch
        self.tconv = nn.ConvTranspose2d(in_ch, out_ch, 2, 2, bias=False)
        self.bn_t = nn.BatchNorm2d(out_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.deploy_tconv: nn.ConvTranspose2d | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deploy_tconv is not None:
            return F.relu(self.deploy_tconv(x))
        up = F.interpolate(self.bn1(self.conv1(x)), scale_factor=2, mode="nearest")
        return F.relu(self.bn_t(self.tconv(x)) + up)

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        if self.deploy_tconv is not None:
            return
        wt, bt = fuse_bn(self.tconv.weight, self.bn_t, out_dim=1)  # (in, out, 2, 2)
        w1, b1 = fuse_bn(self.conv1.weight, self.bn1)  # (out, in, 1, 1)
        # nearest 2x up-sampling after a 1x1 conv == transposed 2x2/2 conv with 4 equal taps.
        w = wt + w1.permute(1, 0, 2, 3).expand(-1, -1, 2, 2)
        tconv = nn.ConvTranspose2d(self.in_ch, self.out_ch, 2, 2, bias=True)
        tconv.weight.copy_(w)
        tconv.bias.copy_(bt + b1)
        self.deploy_tconv = tconv.to(w.device)
        for name in ("tconv", "bn_t", "conv1", "bn1"):
            delattr(self, name)
