"""Static int8 quantisation of an exported deploy net (ONNX Runtime QDQ), for the ``onnxruntime-int8`` engine.

What is quantised: the trunk, i.e. every node the first ``MaxRoiPool`` reads through. The R-MAC head (ROI
pooling, L2, PCA-whitening, region sum, L2) stays fp32: it is cheap, and the whitening amplifies the
trunk's error about threefold, so it must not add its own.

How (each step measured against fp32 on the gate's validation set, median cosine, on the default model with
its first head, PCA-whitening at S=512; with the learned-whitening head at S=384+512 the recipe gives 0.9955,
and keeping the second stage fp32 too would give 0.9969 at x1.47 over fp32 instead of x1.93):

* weights int8, symmetric, per output channel; activations uint8 with ranges from entropy calibration
  (min-max ranges: 0.9951 instead of 0.9966; percentile clipping was far worse, since R-MAC max-pools
  the very activations it clips) on training-only photos and clip frames
  (`myPython.datasets.quant_data`) at the model's real input size, one image per calibration step
  (calibrating at three sizes was worse at the model's size);
* the stem and the first stage stay fp32 (`stem_nodes`): quantising the stem's pooled output and the
  first projection shortcut alone costs 0.0046, more than all other activations of stage 2 to 4
  together; cutting at the first stage boundary (where only convolutions read the residual stream)
  leaves ONNX Runtime one QuantizeLinear and no layout transposes between the two parts, which made
  it as fast as keeping only the stem block fp32, and more accurate (0.9966 against 0.9960);
* the last residual Add and its Relu, which make the map the ROI max-pooling reads, stay fp32 (+0.0002);
* bias correction (`correct_bias`): the mean output shift each convolution's weight rounding causes is
  moved out of its int32 bias (+0.0009). Without the fp32 stem and stage the best recipe reached
  0.9927, under the gate's 0.995.

QDQ graphs let ONNX Runtime fuse each quantised Conv (+ removed Relu) into a QLinearConv and each
residual Add into a QLinearAdd on VNNI (AVX-512 VNNI, AVX-VNNI, AMX) kernels.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: Bump whenever the quantised graphs change (part of the int8 cache key).
QUANTIZER_VERSION = "2"
HEAD_START = "MaxRoiPool"


@dataclass(frozen=True)
class QuantRecipe:
    """How a net is quantised; its `key` is part of the int8 cache key."""

    calibration: str = "entropy"  # entropy | minmax | percentile
    fp32_stem: bool = True
    fp32_tail: bool = True
    bias_correction: bool = True

    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True) + QUANTIZER_VERSION
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------------
# Graph helpers
# --------------------------------------------------------------------------------------------


def _consumers(graph) -> dict[str, list]:
    out: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def trunk_nodes(model) -> list[str]:
    """Names of the nodes the head's feature map depends on (everything before the first MaxRoiPool)."""
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    head = next((n for n in graph.node if n.op_type == HEAD_START), None)
    if head is None:
        raise ValueError(f"the graph has no {HEAD_START}: no R-MAC trunk to quantise")
    needed = _ancestors(producer, head.input[0])
    return [n.name for n in graph.node if n.name in needed]


def stem_nodes(model) -> set[str]:
    """The part kept in fp32: every node up to the first stage boundary.

    The boundary is the first residual Add (+ Relu) whose output only convolutions read (the next stage's
    projection shortcut and first branch): cutting there puts a single quantisation step between the fp32
    and int8 parts, so ONNX Runtime needs no layout transposes or DequantizeLinear in between. Without
    such a boundary the stem is the convolution reading the image and its Relu/MaxPool chain.
    """
    graph = model.graph
    consumers = _consumers(graph)
    producer = {o: n for n in graph.node for o in n.output}
    for node in graph.node:
        if node.op_type != "Add":
            continue
        tensor = node.output[0]
        after = consumers.get(tensor, [])
        if len(after) == 1 and after[0].op_type == "Relu":
            tensor = after[0].output[0]
        readers = consumers.get(tensor, [])
        if len(readers) >= 2 and all(r.op_type == "Conv" for r in readers):
            return _ancestors(producer, tensor)
    inputs = {i.name for i in graph.input}
    first = next((n for n in graph.node if n.op_type == "Conv" and n.input[0] in inputs), None)
    if first is None:
        return set()
    keep, tensor = {first.name}, first.output[0]
    while len(consumers.get(tensor, [])) == 1 and consumers[tensor][0].op_type in ("Relu", "MaxPool"):
        keep.add(consumers[tensor][0].name)
        tensor = consumers[tensor][0].output[0]
    return keep


def _ancestors(producer: dict, tensor: str) -> set[str]:
    """Names of the nodes a tensor depends on."""
    found: set[str] = set()
    stack = [tensor]
    while stack:
        node = producer.get(stack.pop())
        if node is None or node.name in found:
            continue
        found.add(node.name)
        stack.extend(node.input)
    return found


def tail_nodes(model) -> set[str]:
    """The trunk's last residual Add and the Relu after it (kept fp32: the map the ROI max-pooling reads)."""
    producer = {o: n for n in model.graph.node for o in n.output}
    head = next((n for n in model.graph.node if n.op_type == HEAD_START), None)
    keep: set[str] = set()
    node = producer.get(head.input[0]) if head is not None else None
    while node is not None and node.op_type in ("Relu", "Identity"):
        keep.add(node.name)
        node = producer.get(node.input[0])
    if node is not None and node.op_type == "Add":
        keep.add(node.name)
    return keep


def _with_outputs(model, tensors: Sequence[str]) -> bytes:
    """The model serialised with `tensors` as its only outputs."""
    import onnx
    from onnx import helper

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    del copy.graph.output[:]
    for name in tensors:
        copy.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return copy.SerializeToString()


def channel_means(model, feeds: Sequence[dict], tensors: Sequence[str], session: Callable) -> dict[str, np.ndarray]:
    """Per-channel mean (axis 1) of each tensor over the feeds, every feed weighing the same."""
    tensors = list(dict.fromkeys(tensors))
    if not tensors:
        return {}
    run = session(_with_outputs(model, tensors))
    total: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, value in zip(tensors, run.run(tensors, feed)):
            axes = tuple(i for i in range(value.ndim) if i != 1)
            mean = value.astype(np.float64).mean(axis=axes)
            total[name] = mean if name not in total else total[name] + mean
    return {name: value / len(feeds) for name, value in total.items()}


# --------------------------------------------------------------------------------------------
# Calibration data
# --------------------------------------------------------------------------------------------


def calibration_feeds(images: Sequence[np.ndarray], scales: Sequence[int], levels: int,
                      mean_bgr: Sequence[float]) -> list[dict]:
    """One feed (data 1 x 3 x H x W, rois) per image and scale, prepared as the extractor prepares them."""
    from myPython.retrieval.extractor import prepare_input
    from myPython.rmac.grid import rmac_rois

    feeds = []
    for image in images:
        for size in scales:
            data = prepare_input(image, size, mean_bgr)[None]
            feeds.append({"data": data, "rois": rmac_rois(data.shape[2], data.shape[3], levels, 1)})
    return feeds


def _reader(feeds: Sequence[dict]):
    """ONNX Runtime's calibration reader over the feeds; `set_range` lets the calibrator take one image a step
    (images of different sizes cannot share a step)."""
    from onnxruntime.quantization import CalibrationDataReader

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self.set_range(0, len(feeds))

        def __len__(self) -> int:
            return len(feeds)

        def set_range(self, start_index: int, end_index: int) -> None:
            self._items = iter(feeds[start_index:end_index])

        def get_next(self) -> dict | None:
            return next(self._items, None)

    return Feeds()


# --------------------------------------------------------------------------------------------
# Bias correction
# --------------------------------------------------------------------------------------------


def _weights_of(tensor: str, producer: dict, inits: dict) -> np.ndarray | None:
    """The float values of a tensor that a DequantizeLinear makes from an int8 initializer (None otherwise)."""
    from onnx import numpy_helper

    dq = producer.get(tensor)
    if dq is None or dq.op_type != "DequantizeLinear" or dq.input[0] not in inits:
        return None
    q = numpy_helper.to_array(inits[dq.input[0]]).astype(np.float64)
    shape = (-1,) + (1,) * (q.ndim - 1)
    scale = numpy_helper.to_array(inits[dq.input[1]]).astype(np.float64).reshape(shape)
    zero = numpy_helper.to_array(inits[dq.input[2]]).astype(np.float64).reshape(shape) if len(dq.input) > 2 else 0.0
    return (q - zero) * scale


def correct_bias(qdq_model, fp32_model, feeds: Sequence[dict], session: Callable) -> int:
    """Move each quantised convolution's int32 bias by the mean output shift its weight rounding causes (in place).

    For fp32 weights W rounded to Wq, output channel o shifts on average by sum over (c, kh, kw) of
    (Wq - W)[o, c, kh, kw] * E[x_c], with E[x_c] the mean of input channel c over the calibration feeds
    (fp32 net). Rounding is unbiased per weight but not per channel, and the R-MAC head sums regions,
    so this shift does not average out. (Correcting the activations' rounding shift the same way made
    the descriptors worse on the default model; it is left out.) Returns the number of corrected convolutions.
    """
    from onnx import numpy_helper

    inits = {i.name: i for i in qdq_model.graph.initializer}
    fp32_inits = {i.name: i for i in fp32_model.graph.initializer}
    fp32_convs = {n.name: n for n in fp32_model.graph.node if n.op_type == "Conv"}
    producer = {o: n for n in qdq_model.graph.node for o in n.output}
    plans = []
    for node in qdq_model.graph.node:
        if node.op_type != "Conv" or len(node.input) < 3 or node.name not in fp32_convs:
            continue
        weight_q = _weights_of(node.input[1], producer, inits)
        bias_dq = producer.get(node.input[2])
        if weight_q is None or bias_dq is None or bias_dq.op_type != "DequantizeLinear":
            continue
        fp32 = fp32_convs[node.name]
        weight = numpy_helper.to_array(fp32_inits[fp32.input[1]]).astype(np.float64)
        plans.append((fp32.input[0], weight_q - weight, bias_dq))
    means = channel_means(fp32_model, feeds, [p[0] for p in plans], session)
    for tensor, error, bias_dq in plans:
        shift = np.einsum("ockl,c->o", error, means[tensor])
        scale = numpy_helper.to_array(inits[bias_dq.input[1]]).astype(np.float64)
        bias = numpy_helper.to_array(inits[bias_dq.input[0]]).astype(np.int64)
        fixed = np.clip(bias - np.rint(shift / scale), -(2**31), 2**31 - 1).astype(np.int32)
        inits[bias_dq.input[0]].CopyFrom(numpy_helper.from_array(fixed, bias_dq.input[0]))
    return len(plans)


# --------------------------------------------------------------------------------------------
# Quantising
# --------------------------------------------------------------------------------------------


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the quantiser's prints and root-logger warnings (progress text, pre-processing advice)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


def quantize_trunk(fp32_path: str | os.PathLike, out_path: str | os.PathLike, feeds: Sequence[dict],
                   recipe: QuantRecipe = QuantRecipe(), session: Callable | None = None) -> dict:
    """Write the int8 QDQ model of an exported R-MAC net to `out_path` (atomically); returns what was done."""
    import tempfile

    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from myPython.common.fileio import atomic_write_bytes

    if session is None:
        from myPython.retrieval.engines import ort_session as session
    methods = {"entropy": CalibrationMethod.Entropy, "minmax": CalibrationMethod.MinMax,
               "percentile": CalibrationMethod.Percentile}
    if recipe.calibration not in methods:
        raise ValueError(f"unknown calibration {recipe.calibration!r} (available: {', '.join(methods)})")
    if not feeds:
        raise ValueError("no calibration images")
    fp32 = onnx.load(str(fp32_path))
    trunk = trunk_nodes(fp32)
    kept = (stem_nodes(fp32) if recipe.fp32_stem else set()) | (tail_nodes(fp32) if recipe.fp32_tail else set())
    quantized = [name for name in trunk if name not in kept]
    with tempfile.TemporaryDirectory(prefix="int8-") as tmp, _quiet():
        raw = Path(tmp) / "qdq.onnx"
        quantize_static(str(fp32_path), str(raw), _reader(feeds), quant_format=QuantFormat.QDQ, per_channel=True,
                        reduce_range=False, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv", "Add", "Relu", "MaxPool"], nodes_to_quantize=quantized,
                        calibrate_method=methods[recipe.calibration],
                        extra_options={"CalibStridedMinMax": 1, "ActivationSymmetric": False,
                                       "WeightSymmetric": True})
        model = onnx.load(str(raw))
    corrected = correct_bias(model, fp32, feeds, session) if recipe.bias_correction else 0
    info = {"quantizer_version": QUANTIZER_VERSION, "recipe": asdict(recipe), "calibration_inputs": len(feeds),
            "quantized_nodes": len(quantized), "fp32_nodes": sorted(kept), "bias_corrected_convs": corrected}
    del model.metadata_props[:]
    for prop in fp32.metadata_props:
        model.metadata_props.add(key=prop.key, value=prop.value)
    model.metadata_props.add(key="int8", value=json.dumps(info, sort_keys=True))
    atomic_write_bytes(out_path, model.SerializeToString())
    return info
