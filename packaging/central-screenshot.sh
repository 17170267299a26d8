#!/usr/bin/env bash
# A screenshot of the central review window (`kyc-kiosk supervisor --window`) under a virtual X
# display: a throwaway PostgreSQL cluster and central service, one kiosk that records a real
# referred verification of the fetched sample photos and syncs, an enrolled workstation, and the
# window signed in as a central supervisor with the case open. Saved as
# docs/screenshots/central-review.png. Needs what packaging/screenshots.sh and
# packaging/fleet-sim.sh need (Xvfb, xdotool, imagemagick, PostgreSQL 15, the release build).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/target/release
PGBIN=/usr/lib/postgresql/15/bin
DATA=$PWD/tests/data/fetched
W=${1:-1280} H=${2:-800}
WORK=$(mktemp -d /tmp/kyc-central-shot.XXXXXX)
chmod 755 "$WORK"
PG=$WORK/pg
mkdir "$PG"
RUNPG=()
if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$PG"; RUNPG=(runuser -u postgres --); fi
CPID="" XPID="" APID=""
cleanup() {
  for p in $APID $XPID $CPID; do kill "$p" 2>/dev/null || true; done
  "${RUNPG[@]}" "$PGBIN/pg_ctl" -D "$PG/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"${RUNPG[@]}" "$PGBIN/initdb" -D "$PG/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
"${RUNPG[@]}" "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/server.log" \
  -o "-c listen_addresses='' -k $PG -p 5432" -w start >/dev/null
export KYC_CENTRAL_DATABASE="host=$PG port=5432 user=postgres dbname=postgres"
export KYC_CENTRAL_KEY=$WORK/central.key
export KYC_CENTRAL_PASSWORD=shot-central-admin-7
"$BIN/kyc-central" create-admin --username root >/dev/null
KYC_CENTRAL_NEW_PASSWORD=shot-supervisor-9 "$BIN/kyc-central" create-user --admin root --username sue --role supervisor >/dev/null
"$BIN/kyc-central" serve --listen 127.0.0.1:0 >"$WORK/central.out" 2>"$WORK/central.log" &
CPID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/central.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^kyc-central listening on //p' "$WORK/central.out")

# Kiosk "branch-07" records a referred case (a still selfie is never approved) and syncs.
DB=$WORK/k/audit.sqlite3
mkdir -p "$WORK/k"
KYC_KIOSK_ADMIN_PASSWORD=shot-kiosk-admin-7 "$BIN/kyc-kiosk" audit create-admin --db "$DB" --username admin >/dev/null
KYC_KIOSK_PASSWORD=shot-kiosk-admin-7 "$BIN/kyc-kiosk" verify --document "$DATA/obama.jpg" \
  --selfie "$DATA/obama2.jpg" --json --record --db "$DB" --operator admin \
  --settings "$WORK/k/kiosk-settings.toml" >/dev/null
token=$("$BIN/kyc-central" enroll-kiosk --admin root --kiosk branch-07)
KYC_FLEET_TOKEN=$token "$BIN/kyc-kiosk" fleet enroll --db "$DB" --server "$URL" --kiosk-id branch-07 >/dev/null
"$BIN/kyc-kiosk" sync --db "$DB" >/dev/null
"$BIN/kyc-central" set-branch --admin root --kiosk branch-07 --branch accra-central >/dev/null
wtoken=$("$BIN/kyc-central" enroll-workstation --admin root --workstation back-office-1)
KYC_FLEET_TOKEN=$wtoken "$BIN/kyc-kiosk" supervisor --server "$URL" \
  --workstation-file "$WORK/workstation" enroll --workstation-id back-office-1 >/dev/null

display=":${SCREENSHOT_DISPLAY:-163}"
Xvfb "$display" -screen 0 "${W}x${H}x24" -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
XPID=$!
sleep 1
export DISPLAY=$display
mkdir -p "$WORK/xdg" && chmod 700 "$WORK/xdg"
XDG_RUNTIME_DIR=$WORK/xdg HOME=$WORK "$BIN/kyc-kiosk" supervisor --workstation-file "$WORK/workstation" \
  --username sue --window >"$WORK/app.log" 2>&1 &
APID=$!
win=$(xdotool search --sync --onlyvisible --name "KYC central review" | head -1)
xdotool windowsize --sync "$win" "$W" "$H"
xdotool windowfocus --sync "$win"
sleep 2
out=docs/screenshots
mkdir -p "$out"
shot() { sleep "${2:-2}"; import -window root "$out/$1.png"; echo "screenshot: $out/$1.png"; }
# The password field (under the user name), then the first case's "Open" button.
xdotool mousemove "${PW_X:-120}" "${PW_Y:-266}" click 1; sleep 0.7
xdotool type --delay 150 shot-supervisor-9; sleep 0.5
xdotool key Return
shot central-queue 4
xdotool mousemove "${OPEN_X:-100}" "${OPEN_Y:-282}" click 1
shot central-review 5
