"""Structural re-parameterisation must not change what the network computes."""

import pytest

torch = pytest.importorskip("torch")

from cellrt.models import RepConvBlock, RepSNet, RepSNetConfig, RepUpBlock  # noqa: E402


def _randomise_bn(model: torch.nn.Module, seed: int = 0) -> None:
    # Fresh BNs are identities; random statistics make the folding test meaningful.
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)


@pytest.mark.parametrize("in_ch,out_ch,stride", [(8, 8, 1), (4, 8, 1), (8, 16, 2)])
def test_conv_block_folds_exactly(in_ch, out_ch, stride):
    torch.manual_seed(0)
    block = RepConvBlock(in_ch, out_ch, stride)
    _randomise_bn(block)
    block.eval()
    x = torch.randn(2, in_ch, 17, 19)
    before = block(x)
    block.switch_to_deploy()
    after = block(x)
    assert (before - after).abs().max().item() < 1e-4
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in block.modules())


def test_up_block_folds_exactly():
    torch.manual_seed(0)
    block = RepUpBlock(8, 4)
    _randomise_bn(block)
    block.eval()
    x = torch.randn(2, 8, 9, 11)
    before = block(x)
    block.switch_to_deploy()
    assert (before - block(x)).abs().max().item() < 1e-4


@pytest.mark.parametrize("num_classes", [0, 4])
def test_network_deploy_matches_training_form(num_classes):
    torch.manual_seed(0)
    cfg = RepSNetConfig(in_channels=3, widths=[8, 16, 24], num_classes=num_classes)
    net = RepSNet(cfg)
    _randomise_bn(net)
    net.eval()
    x = torch.randn(1, 3, 64, 48)
    before = net(x)
    net.switch_to_deploy()
    after = net(x)
    assert set(before) == set(after) == ({"fg", "dist", "type"} if num_classes else {"fg", "dist"})
    for k in before:
        assert before[k].shape[-2:] == x.shape[-2:]
        assert (before[k] - after[k]).abs().max().item() < 1e-4
    kinds = {type(m) for m in net.modules()}
    assert torch.nn.BatchNorm2d not in kinds
    # Deployed: every 3x3 conv has a bias and no block keeps a branch.
    for m in net.modules():
        if isinstance(m, RepConvBlock):
            assert m.deploy_conv is not None and not hasattr(m, "conv1")
        if isinstance(m, RepUpBlock):
            assert m.deploy_tconv is not None and not hasattr(m, "tconv")


def test_config_validation():
    with pytest.raises(ValueError, match="RepSNet: widths needs at least 2 stages"):
        RepSNet(RepSNetConfig(widths=[8]))
