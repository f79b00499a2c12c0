"""Which ONNX operators TensorRT 10's ONNX parser imports, and a scan of a graph for the
others (needs the `onnx` package, not TensorRT or a GPU)."""

from __future__ import annotations

from typing import Iterable, Iterator

from cellrt.runtime.package import PackageError

# ONNX operators (default domain) the TensorRT 10.0 ONNX parser imports natively: the "Y" rows of
# onnx-tensorrt's operator matrix, https://github.com/onnx/onnx-tensorrt/blob/main/docs/operators.md
# (as of TensorRT 10.15), minus the operators its changelog,
# https://github.com/onnx/onnx-tensorrt/blob/main/docs/Changelog.md, records as added after 10.0
# (DeformConv 10.1; BlackmanWindow, HammingWindow, HannWindow 10.4; STFT 10.5; Attention 10.14;
# RMSNormalization, RotaryEmbedding, TensorScatter 10.15), so a graph that passes parses on every
# TensorRT 10.x. Per-op restrictions (e.g. Resize modes, "axes must be an initializer") are not
# checked here: the parser reports those when the engine is built.
TENSORRT10_ONNX_OPS = frozenset({
    "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
    "AveragePool", "BatchNormalization", "Cast", "CastLike", "Ceil", "Celu", "Clip", "Concat",
    "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum",
    "DepthToSpace", "DequantizeLinear", "Div", "Dropout", "Einsum", "Elu", "Equal", "Erf", "Exp",
    "Expand", "EyeLike", "Flatten", "Floor", "Gather", "GatherElements", "GatherND", "Gelu",
    "Gemm", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual",
    "GridSample", "GroupNormalization", "GRU", "HardSigmoid", "HardSwish", "Hardmax", "Identity",
    "If", "ImageScaler", "InstanceNormalization", "IsInf", "IsNaN", "LayerNormalization",
    "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "Loop", "LRN", "LSTM",
    "LpNormalization", "LpPool", "MatMul", "Max", "MaxPool", "Mean", "MeanVarianceNormalization",
    "Min", "Mish", "Mod", "Mul", "Neg", "NonMaxSuppression", "NonZero", "Not", "OneHot", "Or",
    "Pad", "ParametricSoftplus", "Pow", "PRelu", "QuantizeLinear", "RandomNormal",
    "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Range", "Reciprocal", "ReduceL1",
    "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
    "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize", "ReverseSequence",
    "RNN", "RoiAlign", "Round", "ScaledTanh", "Scan", "Scatter", "ScatterElements", "ScatterND",
    "Selu", "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Slice", "Softmax",
    "Softplus", "Softsign", "SpaceToDepth", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tan",
    "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Unsqueeze", "Upsample",
    "Where", "Xor",
})
_DEFAULT_DOMAINS = ("", "ai.onnx")



def unsupported_onnx_ops(onnx_bytes: bytes, plugins: Iterable[str] = ()) -> list[str]:
    """Sorted operator names of a graph that TensorRT 10's ONNX parser does not import.

    Walks the main graph, the bodies of If/Loop/Scan and the model's local functions (which the
    parser inlines, so a call to one is not an operator of its own). Ops outside the default ONNX
    domain are reported as "domain::op". `plugins` names ops a registered TensorRT plugin provides
    (e.g. "EfficientNMS_TRT"): whether one is registered is a fact of the machine, not the graph.
    """
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"unsupported_onnx_ops needs the onnx package ({exc}); "
                          "pip install 'cellrt[train]'") from None
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_from_string(onnx_bytes)
    except DecodeError as exc:
        raise PackageError(f"unsupported_onnx_ops: not an ONNX model ({exc})") from None
    functions = {(f.domain, f.name): f for f in model.functions}
    allowed = set(plugins)
    found = set()
    for node in _walk_nodes(model.graph.node, functions, set()):
        if node.op_type in allowed:
            continue
        if node.domain in _DEFAULT_DOMAINS:
            if node.op_type not in TENSORRT10_ONNX_OPS:
                found.add(node.op_type)
        else:
            found.add(f"{node.domain}::{node.op_type}")
    return sorted(found)


def _walk_nodes(nodes, functions: dict, entered: set) -> Iterator:
    """Every operator node reachable from `nodes`, through subgraphs and local functions."""
    for node in nodes:
        key = (node.domain, node.op_type)
        if key in functions:
            if key not in entered:  # a function called twice needs checking once
                entered.add(key)
                yield from _walk_nodes(functions[key].node, functions, entered)
            continue
        yield node
        for attr in node.attribute:
            subgraphs = ([attr.g] if attr.HasField("g") else []) + list(attr.graphs)
            for graph in subgraphs:
                yield from _walk_nodes(graph.node, functions, entered)

