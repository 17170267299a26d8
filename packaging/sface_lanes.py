#!/usr/bin/env python3
"""How `match` should run SFace for its two faces on two cores: two single-threaded sessions at
once (one per lane, as the pipeline does), against one session with two intra-op threads taking
both faces as a batch of 2, with and without spinning, and against denormals flushed to zero.
A measurement, not a test.

    sface_lanes.py SFACE_FP32_ONNX [ROUNDS]

The batch variants need SFace with a free batch dimension: a copy with dimension 0 of its input
and output renamed is made in a temporary file (the graph is otherwise unchanged). Rounds are
interleaved; prints the median wall time of embedding both faces per variant, its ratio to the
two lanes, and each variant's cosine to the two lanes' templates. Needs the virtualenv of
docs/performance.md ("Face match speed: session options and int8").
"""

import statistics
import sys
import tempfile
import threading
import time

import numpy as np
import onnx
import onnxruntime as ort


def session(path, threads, spin=False, denormal_zero=False):
    o = ort.SessionOptions()
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    o.add_session_config_entry("session.inter_op.allow_spinning", "0")
    if denormal_zero:
        o.add_session_config_entry("session.set_denormal_as_zero", "1")
    o.log_severity_level = 3
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def main(fixed, rounds):
    model = onnx.load(fixed)
    for v in list(model.graph.input) + list(model.graph.output):
        v.type.tensor_type.shape.dim[0].dim_param = "batch"
    batch_file = tempfile.NamedTemporaryFile(suffix=".onnx")
    onnx.save(model, batch_file.name)
    faces = (np.random.default_rng(1).random((2, 3, 112, 112)) * 255).astype(np.float32)

    def lanes(pair):
        out = [None, None]

        def one(i):
            out[i] = pair[i].run(None, {"data": faces[i:i + 1]})[0]
        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return np.concatenate(out)

    two = [session(fixed, 1), session(fixed, 1)]
    two_daz = [session(fixed, 1, denormal_zero=True), session(fixed, 1, denormal_zero=True)]
    batch = session(batch_file.name, 2)
    batch_spin = session(batch_file.name, 2, spin=True)
    shared = session(fixed, 2)
    variants = {
        "two lanes, one 1-thread session each (today)": lambda: lanes(two),
        "two lanes, denormals as zero": lambda: lanes(two_daz),
        "one session, 2 threads, batch of 2": lambda: batch.run(None, {"data": faces})[0],
        "one session, 2 threads, batch of 2, spinning on": lambda: batch_spin.run(None, {"data": faces})[0],
        "one session, 2 threads, faces one after the other": lambda: np.concatenate(
            [shared.run(None, {"data": faces[i:i + 1]})[0] for i in range(2)]),
    }
    unit = lambda t: t / np.linalg.norm(t, axis=1, keepdims=True)
    reference = unit(variants["two lanes, one 1-thread session each (today)"]())
    cosines = {k: (unit(f()) * reference).sum(1).min() for k, f in variants.items()}
    times = {k: [] for k in variants}
    for _ in range(rounds):
        for k, f in variants.items():
            t = time.perf_counter()
            f()
            times[k].append((time.perf_counter() - t) * 1000)
    base = statistics.median(times["two lanes, one 1-thread session each (today)"])
    print("| variant | median ms (both faces) | vs today | lowest cosine to today's |")
    print("|---|---|---|---|")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"| {k} | {m:.1f} | {m / base:.2f} | {cosines[k]:.6f} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40)
