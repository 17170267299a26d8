"""Reference face-match pipeline for side-by-side benchmarks: OpenCV's own FaceDetectorYN +
FaceRecognizerSF (alignCrop -> feature -> cosine) on the same model files the kiosk uses.

    bench_reference.py make-pair SRC_A SRC_B OUT_DIR     # write a 1280x960 JPEG pair
    bench_reference.py run YUNET SFACE RUNS A B [A B ...]   # JSON on stdout

For each pair it reports the cosine and per-stage medians (decode, detect, align+embed, total);
like OpenCV's samples it shrinks each photo to <= 640 px on the long side before detection.
Run by packaging/bench.sh in a throwaway virtualenv with opencv-python-headless.
"""

import json
import statistics
import sys
import time

import cv2
import numpy as np


def make_pair(src_a: str, src_b: str, out_dir: str) -> None:
    for i, src in enumerate((src_a, src_b)):
        img = cv2.imread(src)
        h, w = img.shape[:2]
        # Fit inside 1280x960, centre on a neutral background.
        s = min(1280 / w, 960 / h)
        small = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        canvas = np.full((960, 1280, 3), 128, np.uint8)
        y0 = (960 - small.shape[0]) // 2
        x0 = (1280 - small.shape[1]) // 2
        canvas[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
        cv2.imwrite(f"{out_dir}/pair_{'ab'[i]}.jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 92])


def run(yunet: str, sface: str, runs: int, paths: list[str]) -> None:
    cv2.setNumThreads(2)
    detector = cv2.FaceDetectorYN.create(yunet, "", (320, 320), 0.7, 0.3, 50)
    recognizer = cv2.FaceRecognizerSF.create(sface, "")

    def embed(path, stages):
        t0 = time.perf_counter()
        img = cv2.imread(path)
        t1 = time.perf_counter()
        h, w = img.shape[:2]
        s = min(1.0, 640 / max(h, w))
        small = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else img
        detector.setInputSize((small.shape[1], small.shape[0]))
        _, faces = detector.detect(small)
        t2 = time.perf_counter()
        if faces is None or len(faces) == 0:
            return None
        face = max(faces, key=lambda f: f[2] * f[3]).copy()
        face[:14] /= s
        aligned = recognizer.alignCrop(img, face)
        feature = recognizer.feature(aligned)
        t3 = time.perf_counter()
        stages["decode"].append((t1 - t0) * 1000)
        stages["detect"].append((t2 - t1) * 1000)
        stages["align_embed"].append((t3 - t2) * 1000)
        return feature

    report = []
    for a, b in zip(paths[::2], paths[1::2]):
        stages = {"decode": [], "detect": [], "align_embed": []}
        totals = []
        cosine = None
        for i in range(runs + 1):
            t0 = time.perf_counter()
            fa = embed(a, stages)
            fb = embed(b, stages)
            total = (time.perf_counter() - t0) * 1000
            if fa is None or fb is None:
                break
            cosine = float(recognizer.match(fa, fb, cv2.FaceRecognizerSF_FR_COSINE))
            if i > 0:
                totals.append(total)
        report.append({
            "a": a,
            "b": b,
            "cosine": cosine,
            "medianMs": {k: round(statistics.median(v), 2) for k, v in stages.items() if v},
            "medianTotalMs": round(statistics.median(totals), 2) if totals else None,
        })
    print(json.dumps({"opencv": cv2.__version__, "pairs": report}, indent=2))


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "make-pair":
        make_pair(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) >= 7 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
    else:
        sys.exit(__doc__)
