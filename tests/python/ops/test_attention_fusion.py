"""attention_fusion: parity with the float64 torch formula (the oracle) and the NumPy reference,
forward and backward; gradcheck and opcheck of the torch custom op; the fused CPU path against
the GPU's element decomposition; stability; boundary cases and errors."""

from __future__ import annotations

import numpy as np
import pytest

from cellrt import _core
from cellrt.ops import attention_fusion
from cellrt.ops.attention_fusion import attention_fusion_backward
from cellrt.reference.attention_fusion_ref import (attention_fusion_backward_ref,
                                                   attention_fusion_ref)
from tests.tolerances import tol
from tools.bench.bench_attention_fusion import make_inputs, torch_attention_fusion

torch = pytest.importorskip("torch")
import cellrt.torch  # noqa: E402,F401  (registers torch.ops.cellrt.attention_fusion)
from tests.python.ops._threads import num_threads


def random_inputs(r=3, c=5, h=4, w=6, dtype=np.float32, seed=0, logit_scale=4.0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(r, c, h, w)).astype(dtype),
            (logit_scale * rng.normal(size=(r, 1, h, w))).astype(dtype),
            rng.normal(size=c).astype(dtype), rng.normal(size=c).astype(dtype))


def torch_oracle(grad_out, *inputs):
    """Forward and gradients of the plain torch formula in float64."""
    leaves = [torch.tensor(np.asarray(x, np.float64), requires_grad=True) for x in inputs]
    out = torch_attention_fusion(*leaves)
    grads = torch.autograd.grad(out, leaves, torch.tensor(np.asarray(grad_out, np.float64)))
    return out.detach().numpy(), [g.numpy() for g in grads]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("inputs", ["random", "cell"])
def test_matches_torch_formula_and_reference(dtype, inputs):
    args = random_inputs(dtype=dtype) if inputs == "random" else make_inputs(8, 16, 14, dtype)
    grad_out = np.random.default_rng(5).normal(size=args[0].shape).astype(dtype)
    want_out, want_grads = torch_oracle(grad_out, *args)
    out = attention_fusion(*args)
    assert out.dtype == dtype and out.shape == args[0].shape
    np.testing.assert_allclose(out, want_out, **tol("forward", np.dtype(dtype)))
    np.testing.assert_allclose(attention_fusion_ref(*args), want_out, rtol=1e-12, atol=1e-12)
    grads = attention_fusion_backward(grad_out, *args)
    ref_grads = attention_fusion_backward_ref(grad_out, *args)
    for got, ref, want, name in zip(grads, ref_grads, want_grads, "fmwb"):
        assert got.dtype == dtype and got.shape == want.shape, name
        np.testing.assert_allclose(got, want, **tol("backward", np.dtype(dtype)), err_msg=name)
        np.testing.assert_allclose(ref, want, rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_path_equals_gpu_element_decomposition(dtype):
    args = random_inputs(4, 7, 5, 9, dtype=dtype, seed=2)
    grad_out = np.random.default_rng(3).normal(size=args[0].shape).astype(dtype)
    # Forward: the same element math, only the index arithmetic is hoisted: bitwise equal.
    np.testing.assert_array_equal(attention_fusion(*args),
                                  _core.testing.attention_fusion_forward_elements(*args))
    # Backward: the same per-term values, sums in a different (fixed) order, all in double.
    fused = attention_fusion_backward(grad_out, *args)
    elements = _core.testing.attention_fusion_backward_elements(grad_out, *args)
    np.testing.assert_array_equal(fused[0], elements[0])  # elementwise: bitwise equal
    for a, b in zip(fused[1:], elements[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=0)


def test_backward_is_deterministic_across_thread_counts():
    args = make_inputs(32, 16, 14, np.float32, seed=4)
    grad_out = np.random.default_rng(0).normal(size=args[0].shape).astype(np.float32)
    with num_threads(1):
        one = attention_fusion_backward(grad_out, *args)
    with num_threads(2):
        two = attention_fusion_backward(grad_out, *args)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_gradcheck_float64():
    f, m, w, b = (torch.tensor(x, requires_grad=True)
                  for x in random_inputs(2, 3, 2, 3, dtype=np.float64, logit_scale=1.5))
    assert torch.autograd.gradcheck(torch.ops.cellrt.attention_fusion, (f, m, w, b))


# opcheck's test_aot_dispatch_dynamic itself reads .grad of non-leaf tensors (it warns the same
# for torch.ops.aten.mul), which filterwarnings=error would turn into a failure of ours.
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf:UserWarning")
def test_opcheck():
    samples = [random_inputs(2, 3, 4, 5, dtype=np.float32),
               random_inputs(1, 2, 3, 3, dtype=np.float64)]
    for sample in samples:
        args = [torch.tensor(x, requires_grad=True) for x in sample]
        torch.library.opcheck(torch.ops.cellrt.attention_fusion.default, args)
    # Non-contiguous features: the output is contiguous, as the fake kernel says.
    f, m, w, b = (torch.tensor(x) for x in random_inputs(2, 3, 4, 5))
    torch.library.opcheck(torch.ops.cellrt.attention_fusion.default,
                          (f.permute(0, 1, 3, 2), m.permute(0, 1, 3, 2), w, b))


def test_custom_op_autograd_matches_formula():
    args = random_inputs(3, 4, 5, 5, dtype=np.float64, seed=7)
    ours = [torch.tensor(x, requires_grad=True) for x in args]
    peer = [torch.tensor(x, requires_grad=True) for x in args]
    torch.ops.cellrt.attention_fusion(*ours).square().sum().backward()
    torch_attention_fusion(*peer).square().sum().backward()
    for a, b in zip(ours, peer):
        torch.testing.assert_close(a.grad, b.grad, **tol("backward", "float64"))


def test_stable_for_extreme_and_infinite_logits():
    f, _, w, b = random_inputs(2, 3, 2, 4, dtype=np.float32, seed=1)
    w = np.where(w == 0, 1, w).astype(np.float32)  # 0 * inf would be NaN by definition
    m = np.array([1e4, -1e4, 3e38, -3e38, np.inf, -np.inf, 88.0, -88.0] * 2,
                 np.float32).reshape(2, 1, 2, 4)
    out = attention_fusion(f, m, w, b)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, attention_fusion_ref(f, m, w, b), **tol("forward", "float32"))
    gf, gm, gw, gb = attention_fusion_backward(np.ones_like(f), f, m, w, b)
    assert np.all(np.isfinite(gf)) and np.all(np.isfinite(gm)) and np.all(np.isfinite(gb))
    assert np.all(np.isnan(gw))  # d(w * m)/dw = m = inf times a zero sigmoid slope: NaN
    finite = np.where(np.isinf(m), 0, m).astype(np.float32)
    for got, want in zip(attention_fusion_backward(np.ones_like(f), f, finite, w, b),
                         attention_fusion_backward_ref(np.ones_like(f), f, finite, w, b)):
        np.testing.assert_allclose(got, want, **tol("backward", "float32"))


def test_nan_in_nan_out_only_where_it_flows():
    f, m, w, b = random_inputs(2, 3, 3, 3, dtype=np.float32)
    m[1, 0, 2, 1] = np.nan
    out = attention_fusion(f, m, w, b)
    assert np.all(np.isnan(out[1, :, 2, 1]))
    assert np.isnan(out).sum() == 3
    gf, gm, gw, gb = attention_fusion_backward(np.ones_like(f), f, m, w, b)
    assert np.isnan(gf).sum() == 3 and np.isnan(gm).sum() == 1
    assert np.all(np.isnan(gw)) and np.all(np.isnan(gb))  # the NaN joins every channel's sum


def test_torch_in_torch_out_noncontiguous_and_not_mutated():
    args = random_inputs(3, 4, 5, 6, dtype=np.float32, seed=9)
    copies = [x.copy() for x in args]
    f, m, w, b = (torch.from_numpy(x) for x in args)
    f_nc = f.permute(0, 1, 3, 2).contiguous().permute(0, 1, 3, 2)  # same values, other strides
    assert not f_nc.is_contiguous()
    out = attention_fusion(f_nc, m, w, b)
    assert isinstance(out, torch.Tensor) and out.is_contiguous() and out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), attention_fusion(*args))
    grads = attention_fusion_backward(torch.ones_like(f).permute(0, 1, 3, 2).contiguous()
                                      .permute(0, 1, 3, 2), f_nc, m, w, b)
    assert all(isinstance(g, torch.Tensor) for g in grads)
    np.testing.assert_array_equal(grads[1].numpy(),
                                  attention_fusion_backward(np.ones_like(args[0]), *args)[1])
    for x, c in zip(args, copies):
        np.testing.assert_array_equal(x, c)


@pytest.mark.parametrize("shape", [(0, 3, 4, 4), (2, 3, 0, 4), (2, 0, 4, 4)])
def test_empty(shape):
    r, c, h, w = shape
    f = np.zeros(shape, np.float32)
    m = np.zeros((r, 1, h, w), np.float32)
    wt = np.ones(c, np.float32)
    out = attention_fusion(f, m, wt, wt)
    assert out.shape == shape
    gf, gm, gw, gb = attention_fusion_backward(f, f, m, wt, wt)
    assert gf.shape == shape and gm.shape == (r, 1, h, w)
    np.testing.assert_array_equal(gw, np.zeros(c, np.float32))
    np.testing.assert_array_equal(gb, np.zeros(c, np.float32))


def test_single_element():
    f, m, w, b = (np.array(v, np.float64).reshape(s) for v, s in
                  ((2.0, (1, 1, 1, 1)), (0.5, (1, 1, 1, 1)), (3.0, (1,)), (-1.0, (1,))))
    assert attention_fusion(f, m, w, b)[0, 0, 0, 0] == pytest.approx(2 * (1 + 1 / (1 + np.exp(-0.5))),
                                                                     rel=1e-15)


def test_errors():
    f, m, w, b = random_inputs(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"attention_fusion: mask_logits must have shape \(R, 1, H, W\) = \(2, 1, 4, 4\), got \(2, 3, 4, 4\)"):
        attention_fusion(f, f, w, b)
    with pytest.raises(ValueError, match=r"attention_fusion: weight must have shape \(C,\) = \(3,\), got \(4,\)"):
        attention_fusion(f, m, np.zeros(4, np.float32), b)
    with pytest.raises(ValueError, match=r"attention_fusion: features must have shape \(R, C, H, W\), got \(3, 4, 4\)"):
        attention_fusion(f[0], m, w, b)
    with pytest.raises(TypeError, match="attention_fusion: bias must have the dtype of features"):
        attention_fusion(f, m, w, b.astype(np.float64))
    with pytest.raises(TypeError, match="attention_fusion: features is float16, which runs on CUDA only"):
        attention_fusion(f.astype(np.float16), m, w, b)
    with pytest.raises(TypeError, match=r"attention_fusion: features must have dtype in \(float32, float64\), got int32"):
        attention_fusion(f.astype(np.int32), m, w, b)
    with pytest.raises(TypeError, match="attention_fusion: weight must be a numpy.ndarray or torch.Tensor, got dict"):
        attention_fusion(f, m, {}, b)
    with pytest.raises(ValueError, match="attention_fusion: grad_out must have shape"):
        attention_fusion_backward(m, f, m, w, b)
    with pytest.raises(ValueError, match="attention_fusion: backend must be one of"):
        attention_fusion(f, m, w, b, backend="gpu")
    with pytest.raises(RuntimeError, match="attention_fusion: backend 'cuda' is not available"):
        attention_fusion(f, m, w, b, backend="cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_cuda_matches_cpu(dtype):
    args = make_inputs(16, 8, 14, np.float32, seed=3)
    grad_out = np.random.default_rng(1).normal(size=args[0].shape).astype(np.float32)
    tdtype = getattr(torch, dtype)
    dev = [torch.from_numpy(x).to("cuda", tdtype) for x in (grad_out, *args)]
    host = [x.cpu().float().numpy() for x in dev]  # the values the GPU sees
    out = attention_fusion(*dev[1:])
    np.testing.assert_allclose(out.float().cpu().numpy(), attention_fusion_ref(*host[1:]),
                               **tol("forward", dtype))
    for got, want in zip(attention_fusion_backward(*dev), attention_fusion_backward_ref(*host)):
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got.float().cpu().numpy() / scale, want / scale,
                                   **tol("forward", dtype))
