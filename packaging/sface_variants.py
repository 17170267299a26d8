#!/usr/bin/env python3
"""SFace under other ONNX Runtime session options and as a statically quantised int8 (QDQ) model,
against today's fp32 session, on the real faces of the evaluation set. A measurement, not a test.

    sface_variants.py EVAL_DIR KYC_KIOSK_BINARY SFACE_FP32_ONNX [ROUNDS]

EVAL_DIR is tests/data/fetched/faces-eval (`python3 packaging/fetch.py evaldata`). Faces are found
with `kyc-kiosk detect` and aligned here onto SFace's 112x112 five-point template; int8 models are
calibrated on every other face with onnxruntime.quantization. Prints one Markdown row a variant:
median ms of one embedding (rounds interleaved), and how far templates and pair cosines move from
fp32. Needs a virtualenv with the onnxruntime wheel of models/manifest.toml, numpy, onnx,
packaging, sympy, coloredlogs and flatbuffers; images are decoded with ffmpeg.
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quant_pre_process, quantize_static)

TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]])


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity transform src -> dst (rotation, uniform scale, shift)."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    flip = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        flip[1, 1] = -1
    rot = u @ flip @ vt
    scale = (sig * np.diag(flip)).sum() / s.var(0).sum()
    return scale * rot, md - scale * rot @ ms


def warp_112(img: np.ndarray, a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Bilinear sampling of the 112x112 crop whose pixel p comes from a^-1 (p - t)."""
    ys, xs = np.mgrid[0:112, 0:112]
    src = (np.stack([xs.ravel(), ys.ravel()], 1) - t) @ np.linalg.inv(a).T
    h, w = img.shape[:2]
    x, y = src[:, 0], src[:, 1]
    x0 = np.clip(np.floor(x).astype(int), 0, w - 1)
    y0 = np.clip(np.floor(y).astype(int), 0, h - 1)
    x1, y1 = np.clip(x0 + 1, 0, w - 1), np.clip(y0 + 1, 0, h - 1)
    fx, fy = (x - np.floor(x))[:, None], (y - np.floor(y))[:, None]
    f = img.astype(np.float32)
    v = (f[y0, x0] * (1 - fx) * (1 - fy) + f[y0, x1] * fx * (1 - fy)
         + f[y1, x0] * (1 - fx) * fy + f[y1, x1] * fx * fy)
    return np.clip(v.round(), 0, 255).astype(np.uint8).reshape(112, 112, 3)


def aligned_faces(eval_dir: str, binary: str) -> np.ndarray:
    crops = []
    for line in open(f"{eval_dir}/faces.tsv", encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        path = f"{eval_dir}/{line.split(chr(9))[0]}"
        found = json.loads(subprocess.run([binary, "detect", path, "--json"], capture_output=True,
                                          text=True, check=True).stdout)
        raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "rawvideo",
                              "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
        img = np.frombuffer(raw, np.uint8).reshape(found["height"], found["width"], 3)
        for face in found["faces"]:
            if face["width"] >= 40:
                crops.append(warp_112(img, *similarity(np.array(face["landmarks"]), TEMPLATE)))
    return np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2)


def options(threads: int = 1, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL, memory_pattern: bool = True):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.graph_optimization_level = level
    o.enable_mem_pattern = memory_pattern
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return o


def main() -> int:
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    eval_dir, binary, fp32 = sys.argv[1:4]
    rounds = int(sys.argv[4]) if len(sys.argv) == 5 else 60
    faces = aligned_faces(eval_dir, binary)
    name = ort.InferenceSession(fp32, providers=["CPUExecutionProvider"]).get_inputs()[0].name
    tmp = tempfile.mkdtemp()
    pre = f"{tmp}/pre.onnx"
    quant_pre_process(fp32, pre, skip_symbolic_shape=True)

    class Calibration(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{name: f[None]} for f in faces[0::2]])

        def get_next(self):
            return next(self.it, None)

    graph = onnx.load(pre).graph
    first_conv = [n.name for n in graph.node if n.op_type == "Conv"][:1]
    gemm = [n.name for n in graph.node if n.op_type == "Gemm"]
    int8 = {
        "int8 QDQ, u8 activations / s8 per-channel weights, MinMax": dict(
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True),
        "int8 QDQ, u8 / s8 per-channel, 99.99th percentile, first conv and Gemm in fp32": dict(
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
            calibrate_method=CalibrationMethod.Percentile, extra_options={"CalibPercentile": 99.99},
            nodes_to_exclude=first_conv + gemm),
    }
    level = ort.GraphOptimizationLevel
    variants = {
        "fp32, 1 thread, level all, memory pattern on (today)": (fp32, options()),
        "fp32, memory pattern off": (fp32, options(memory_pattern=False)),
        "fp32, level extended": (fp32, options(level=level.ORT_ENABLE_EXTENDED)),
        "fp32, level basic": (fp32, options(level=level.ORT_ENABLE_BASIC)),
        "fp32, 2 intra-op threads": (fp32, options(threads=2)),
    }
    for i, (label, kwargs) in enumerate(int8.items()):
        out = f"{tmp}/int8_{i}.onnx"
        quantize_static(pre, out, Calibration(), quant_format=QuantFormat.QDQ, **kwargs)
        variants[label] = (out, options())
    sessions = {k: ort.InferenceSession(p, o, providers=["CPUExecutionProvider"]) for k, (p, o) in variants.items()}

    def embed(session):
        e = np.concatenate([session.run(None, {name: f[None]})[0] for f in faces])
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    today = next(iter(sessions))
    ref = embed(sessions[today])
    upper = np.triu_indices(len(faces), 1)
    ref_pairs = (ref @ ref.T)[upper]
    accuracy = {}
    for label, session in sessions.items():
        e = embed(session)
        moved = np.abs((e @ e.T)[upper] - ref_pairs)
        accuracy[label] = ((e * ref).sum(1).min(), moved.max(), np.percentile(moved, 99))
    times = {k: [] for k in sessions}
    for r in range(rounds):
        x = faces[r % len(faces)][None]
        for label, session in sessions.items():
            t = time.perf_counter()
            session.run(None, {name: x})
            times[label].append((time.perf_counter() - t) * 1000)
    base = statistics.median(times[today])
    print(f"{len(faces)} faces, {len(ref_pairs)} pairs, {rounds} rounds")
    print("| variant | median ms | vs today | lowest cosine to fp32 | largest pair change | p99 |")
    print("|---|---|---|---|---|---|")
    for label in sessions:
        ms = statistics.median(times[label])
        low, top, p99 = accuracy[label]
        print(f"| {label} | {ms:.2f} | {ms / base:.2f} | {low:.4f} | {top:.4f} | {p99:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
