#!/usr/bin/env bash
# The kiosk as a native Wayland client inside cage, the kiosk compositor the Debian package's
# unit starts at boot, run headless (wlroots' headless backend, software rendering, no input
# devices, no X server anywhere): the window must come up, and grim's screenshot of the output
# must show it. Exits non-zero when it does not.
#
#   packaging/wayland-check.sh [--no-build] [OUT.png]   # default: docs/screenshots/wayland-cage.png
#
# Needs Debian's cage and grim (installed here when missing) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
if [ "${1:-}" = --no-build ]; then
  build=0
  shift
fi
out=${1:-docs/screenshots/wayland-cage.png}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "wayland-check: need root (or sudo) to run: $*" >&2; exit 1; fi
}
need=()
command -v cage >/dev/null || need+=(cage)
command -v grim >/dev/null || need+=(grim)
command -v identify >/dev/null || need+=(imagemagick)
[ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || [ -e /usr/lib/aarch64-linux-gnu/dri/swrast_dri.so ] \
  || need+=(libgl1-mesa-dri libegl-mesa0)
if [ "${#need[@]}" -gt 0 ]; then
  echo "wayland-check: installing ${need[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

[ "$build" = 0 ] || cargo build --release --bin kyc-kiosk
bin=$PWD/target/release/kyc-kiosk
work=$(mktemp -d)
cleanup() {
  [ -n "${cage_pid:-}" ] && kill "$cage_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -m 0700 "$work/xdg"
# cage refuses to run as root (as the package's unit runs it as the kyc-kiosk user): as root,
# the compositor, the kiosk and grim run as nobody in a folder nobody owns.
as_user() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
  chmod 0755 "$work"
  chown -R nobody:nogroup "$work"
  as_user() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
fi

# No X display at all: the window can only be a Wayland client.
unset DISPLAY
export XDG_RUNTIME_DIR=$work/xdg
export WLR_BACKENDS=headless WLR_LIBINPUT_NO_DEVICES=1 WLR_RENDERER=pixman
export LIBGL_ALWAYS_SOFTWARE=1
as_user env HOME="$work" XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" \
  XDG_STATE_HOME="$work/state" KYC_KIOSK_MODELS="$PWD/models" \
  cage -d -- "$bin" gui --db "$work/audit.sqlite3" --settings "$work/kiosk-settings.toml" \
  >"$work/cage.log" 2>&1 &
cage_pid=$!

# cage's socket, then the kiosk's first-run screen: the store opens with no user.
socket=''
for _ in $(seq 1 60); do
  socket=$(find "$XDG_RUNTIME_DIR" -maxdepth 1 -name 'wayland-*' ! -name '*.lock' -printf '%f\n' | head -1)
  [ -n "$socket" ] && break
  sleep 0.5
done
[ -n "$socket" ] || { cat "$work/cage.log" >&2; echo "wayland-check: cage did not start" >&2; exit 1; }
export WAYLAND_DISPLAY=$socket
ok=0
for _ in $(seq 1 60); do
  sleep 1
  kill -0 "$cage_pid" 2>/dev/null || break
  as_user grim "$work/shot.png" 2>/dev/null || continue
  # The empty output is one colour; the kiosk's window has its text and buttons.
  colours=$(convert "$work/shot.png" -format '%k' info:)
  if [ "$colours" -gt 50 ]; then
    sleep 2
    as_user grim "$work/shot.png"
    ok=1
    break
  fi
done
if [ "$ok" != 1 ]; then
  cat "$work/cage.log" >&2
  echo "wayland-check: the kiosk's window never appeared under cage" >&2
  exit 1
fi
# The kiosk is a Wayland client of cage: cage starts its Xwayland server only when an X client
# connects, so none may be running under this cage.
if pgrep -P "$cage_pid" Xwayland >/dev/null; then
  echo "wayland-check: the kiosk connected through Xwayland, not as a Wayland client" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$work/shot.png" "$out"
echo "wayland-check: the kiosk runs under cage (Wayland, headless); $(identify -format '%wx%h' "$out") screenshot by grim: $out"
