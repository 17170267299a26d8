"""Graph fixes applied to fetched models, reproducibly (same input + same onnx/numpy -> same bytes).

Run by packaging/fetch_models.sh inside a throwaway virtualenv with pinned `onnx` and `numpy`.
Usage: prepare_models.py yunet SRC DST | sface SRC DST | tflite SRC DST
"""

import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def yunet(src: str, dst: str) -> None:
    """Make YuNet's spatial input size symbolic so it runs at any size (multiple of 32).

    The graph is fully convolutional and its reshapes use -1, so only the declared shapes fix it
    at 640x640; the intermediate shape annotations are dropped so ONNX Runtime infers them anew.
    """
    model = onnx.load(src)
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[2].ClearField("dim_value")
    dims[2].dim_param = "height"
    dims[3].ClearField("dim_value")
    dims[3].dim_param = "width"
    for out in graph.output:
        d = out.type.tensor_type.shape.dim[1]
        d.ClearField("dim_value")
        d.dim_param = "cells"
    del graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, dst)


def _dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray, axis: int, block: int) -> np.ndarray:
    """DequantizeLinear semantics (per-tensor, per-axis and blocked) on constant tensors."""
    q = q.astype(np.float32)
    zero = zero.astype(np.float32)
    if scale.ndim == 0 or scale.size == 1:
        return (q - zero.reshape(())) * scale.reshape(()).astype(np.float32)
    axis = axis % q.ndim
    if block > 0:
        scale = np.repeat(scale, block, axis=axis)
        zero = np.repeat(zero, block, axis=axis)
        index = [slice(None)] * q.ndim
        index[axis] = slice(0, q.shape[axis])
        scale = scale[tuple(index)]
        zero = zero[tuple(index)]
        return ((q - zero) * scale).astype(np.float32)
    shape = [1] * q.ndim
    shape[axis] = q.shape[axis]
    return ((q - zero.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


def sface(src: str, dst: str) -> None:
    """Make SFace int8 load in ONNX Runtime 1.31 and run in fp32.

    1. Drop graph inputs that are initializers or that no node reads (the shipped file declares
       its weights as required inputs, which ONNX Runtime rejects).
    2. Fold every DequantizeLinear whose inputs are all constant into an fp32 initializer: same
       outputs, and no dequantization at run time.
    """
    model = onnx.load(src)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    folded = []
    kept_nodes = []
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(i in inits for i in node.input if i):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            q = numpy_helper.to_array(inits[node.input[0]])
            scale = numpy_helper.to_array(inits[node.input[1]])
            if len(node.input) > 2 and node.input[2]:
                zero = numpy_helper.to_array(inits[node.input[2]])
            else:
                zero = np.zeros_like(scale, dtype=np.int8)
            value = _dequantize(q, scale, zero, int(attrs.get("axis", 1)), int(attrs.get("block_size", 0)))
            folded.append(numpy_helper.from_array(value, node.output[0]))
        else:
            kept_nodes.append(node)
    del graph.node[:]
    graph.node.extend(kept_nodes)
    graph.initializer.extend(folded)

    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    kept_inits = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept_inits)
    init_names = {t.name for t in graph.initializer}
    kept_inputs = [i for i in graph.input if i.name not in init_names and i.name in used]
    del graph.input[:]
    graph.input.extend(kept_inputs)
    onnx.checker.check_model(model)
    onnx.save(model, dst)


def tflite(src: str, dst: str) -> None:
    """Convert a TensorFlow Lite model (the 468-point face mesh) to ONNX with tflite2onnx, then
    make the bytes canonical: the converter emits initializers in an arbitrary order, so they are
    sorted by name before saving.
    """
    import tempfile

    import tflite2onnx

    with tempfile.TemporaryDirectory() as tmp:
        raw = f"{tmp}/converted.onnx"
        tflite2onnx.convert(src, raw)
        model = onnx.load(raw)
    graph = model.graph
    inits = sorted(graph.initializer, key=lambda t: t.name)
    del graph.initializer[:]
    graph.initializer.extend(inits)
    values = sorted(graph.value_info, key=lambda v: v.name)
    del graph.value_info[:]
    graph.value_info.extend(values)
    onnx.checker.check_model(model)
    onnx.save(model, dst)


if __name__ == "__main__":
    fixes = {"yunet": yunet, "sface": sface, "tflite": tflite}
    if len(sys.argv) != 4 or sys.argv[1] not in fixes:
        sys.exit(__doc__)
    fixes[sys.argv[1]](sys.argv[2], sys.argv[3])
