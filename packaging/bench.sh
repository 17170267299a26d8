#!/usr/bin/env bash
# Side-by-side benchmark of a 1:1 match: kyc-kiosk against OpenCV's own Python pipeline
# (FaceDetectorYN + FaceRecognizerSF) on the same prepared model files and the same 1280x960 pair.
# Prints both reports; nothing here is a test.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/setup.sh all
cargo build --release --locked
runs="${RUNS:-30}"
venv=models/cache/venv-bench
if [ ! -f "$venv/.ready" ]; then
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: opencv-python-headless==5.0.0.93 numpy==2.3.5
  touch "$venv/.ready"
fi
out=bench-out
mkdir -p "$out"
d=tests/data/fetched
"$venv/bin/python" packaging/bench_reference.py make-pair "$d/obama.jpg" "$d/obama2.jpg" "$out"
echo "== kyc-kiosk (1280x960 pair, $runs runs)"
target/release/kyc-kiosk bench "$out/pair_a.jpg" "$out/pair_b.jpg" --runs "$runs"
echo "== OpenCV $("$venv/bin/python" -c 'import cv2; print(cv2.__version__)') FaceDetectorYN + FaceRecognizerSF, same model files"
"$venv/bin/python" packaging/bench_reference.py run models/face_detection_yunet_2023mar_dyn.onnx \
  models/face_recognition_sface_2021dec_fp32fold.onnx "$runs" \
  "$out/pair_a.jpg" "$out/pair_b.jpg" "$d/obama.jpg" "$d/obama3.jpg" "$d/obama2.jpg" "$d/obama3.jpg" \
  "$d/obama.jpg" "$d/biden.jpg" 2>/dev/null > "$out/opencv.json"
cat "$out/opencv.json"
echo "== cosine per pair: kyc-kiosk vs OpenCV"
for pair in "$out/pair_a.jpg $out/pair_b.jpg" "$d/obama.jpg $d/obama3.jpg" "$d/obama2.jpg $d/obama3.jpg" "$d/obama.jpg $d/biden.jpg"; do
  set -- $pair
  ours=$(target/release/kyc-kiosk match "$1" "$2" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cosine"])')
  theirs=$(python3 -c "import json; r=[p for p in json.load(open('$out/opencv.json'))['pairs'] if p['a']=='$1' and p['b']=='$2'][0]; print(round(r['cosine'],4))")
  python3 -c "print(f'{\"$(basename $1)\":>12} vs {\"$(basename $2)\":<12} ours {$ours:.4f}  opencv {$theirs:.4f}  diff {abs($ours-$theirs):.4f}')"
done
