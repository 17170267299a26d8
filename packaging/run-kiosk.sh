#!/usr/bin/env bash
# The run command: set-up (packages, models, sample photos), build, then start the kiosk.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/setup.sh all
# The window's system libraries (X11, keyboard map, cursor, OpenGL), installed when missing.
need=()
for pair in libX11.so.6:libx11-6 libxkbcommon-x11.so.0:libxkbcommon-x11-0 \
    libXcursor.so.1:libxcursor1 libXrandr.so.2:libxrandr2 libXi.so.6:libxi6 \
    libGL.so.1:libgl1 libEGL.so.1:libegl1; do
  ldconfig -p | grep -q "${pair%%:*}" || need+=("${pair##*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "run-kiosk: installing ${need[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
cargo build --release --locked
exec target/release/kyc-kiosk "$@"
