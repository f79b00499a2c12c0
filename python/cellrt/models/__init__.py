"""PyTorch model definitions (training and export). Importing this package imports torch."""

from cellrt.models.rep_blocks import RepConvBlock, RepUpBlock
from cellrt.models.repsnet import RepSNet, RepSNetConfig

__all__ = ["RepConvBlock", "RepSNet", "RepSNetConfig", "RepUpBlock"]
