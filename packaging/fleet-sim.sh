#!/usr/bin/env bash
# Fleet simulation: a throwaway PostgreSQL cluster, the central service (kyc-central) and N
# headless kiosks (src/bin/fleet_kiosk.rs) recording real verifications of fetched photos while
# their background sync pushes to the centre. With --faults: a kiosk killed mid-write and
# restarted, the central service killed during sync and restarted, the network cut (central
# paused with SIGSTOP past the kiosks' 5 s time-out) and restored, and the last kiosk's store
# rolled back (database, key and anchor put back as they were) before its next sync.
# The last line printed is one JSON object:
#   {"kiosks","recordsMade","recordsCentral","lost","duplicated","chainVerified","rollbacksDetected"}
#
# usage: packaging/fleet-sim.sh [--kiosks N] [--records M] [--faults]
#   N kiosks (default 3), M records each (default 20). KYC_SIM_KEEP=1 keeps the work folder.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KIOSKS=3 RECORDS=20 FAULTS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --kiosks) KIOSKS=${2:?--kiosks needs a number}; shift 2 ;;
    --records) RECORDS=${2:?--records needs a number}; shift 2 ;;
    --faults) FAULTS=1; shift ;;
    *) echo "usage: $0 [--kiosks N] [--records M] [--faults]" >&2; exit 2 ;;
  esac
done
case "$KIOSKS$RECORDS" in *[!0-9]*) echo "fleet-sim: N and M must be numbers" >&2; exit 2 ;; esac
[ "$KIOSKS" -ge 1 ] && [ "$RECORDS" -ge 1 ] || { echo "fleet-sim: N and M must be at least 1" >&2; exit 2; }
if [ "$FAULTS" = 1 ] && { [ "$KIOSKS" -lt 2 ] || [ "$RECORDS" -lt 4 ]; }; then
  echo "fleet-sim: --faults needs at least 2 kiosks and 4 records" >&2; exit 2
fi

log() { echo "fleet-sim: $*" >&2; }
BIN=${KYC_SIM_BIN:-$ROOT/target/release}
if [ ! -x "$BIN/kyc-kiosk" ] || [ ! -x "$BIN/fleet_kiosk" ] || [ ! -x "$BIN/kyc-central" ]; then
  log "building kyc-kiosk, fleet_kiosk and kyc-central"
  cargo build --release --bin kyc-kiosk --bin fleet_kiosk >&2
  cargo build --release -p kyc-central >&2
fi
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/initdb" ] || { log "PostgreSQL 15 is missing: run packaging/setup.sh"; exit 4; }
DATA=$ROOT/tests/data/fetched
[ -f "$DATA/obama.jpg" ] || { log "test photos missing: run packaging/setup.sh"; exit 4; }
PAIRS=("$DATA/obama.jpg" "$DATA/obama2.jpg" "$DATA/obama.jpg" "$DATA/obama3.jpg"
       "$DATA/biden.jpg" "$DATA/obama2.jpg" "$DATA/pyfeat_portrait_anc.jpg" "$DATA/pyfeat_portrait_di.jpg")

WORK=$(mktemp -d /tmp/kyc-fleet-sim.XXXXXX)
chmod 755 "$WORK"
PG=$WORK/pg
mkdir "$PG"
RUNPG=()
if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$PG"; RUNPG=(runuser -u postgres --); fi
declare -A KPID=()
CPID=""
cleanup() {
  for p in "${KPID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "$CPID" ]; then kill -CONT "$CPID" 2>/dev/null || true; kill -9 "$CPID" 2>/dev/null || true; fi
  "${RUNPG[@]}" "$PGBIN/pg_ctl" -D "$PG/data" -m immediate -w stop >/dev/null 2>&1 || true
  if [ "${KYC_SIM_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

"${RUNPG[@]}" "$PGBIN/initdb" -D "$PG/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
# The settings recommended for the centre's PostgreSQL (kyc_central::testpg::SERVER_SETTINGS,
# docs/fleet.md): durable, with room for the WAL of sealed images.
PGSET="-c shared_buffers=2GB -c wal_buffers=64MB -c max_wal_size=16GB -c min_wal_size=2GB"
PGSET="$PGSET -c checkpoint_timeout=15min -c checkpoint_completion_target=0.9"
PGSET="$PGSET -c wal_compression=off -c fsync=on -c full_page_writes=on -c synchronous_commit=on"
"${RUNPG[@]}" "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/server.log" \
  -o "-c listen_addresses='' -k $PG -p 5432 $PGSET" -w start >/dev/null
export KYC_CENTRAL_DATABASE="host=$PG port=5432 user=postgres dbname=postgres"
export KYC_CENTRAL_KEY=$WORK/central.key
export KYC_CENTRAL_PASSWORD=sim-central-admin-7
psql_q() { psql -h "$PG" -U postgres -d postgres -At -c "$1"; }

"$BIN/kyc-central" create-admin --username root >/dev/null
PORT=""
start_central() {
  local listen=127.0.0.1:${PORT:-0}
  "$BIN/kyc-central" serve --listen "$listen" >"$WORK/central.out" 2>>"$WORK/central.log" &
  CPID=$!
  for _ in $(seq 100); do
    if grep -q "listening on" "$WORK/central.out" 2>/dev/null; then break; fi
    sleep 0.1
  done
  URL=$(sed -n 's/^kyc-central listening on //p' "$WORK/central.out")
  [ -n "$URL" ] || { log "central service did not start"; cat "$WORK/central.log" >&2; exit 5; }
  PORT=${URL##*:}
}
start_central
log "central service at $URL, PostgreSQL on $PG"

export KYC_KIOSK_ADMIN_PASSWORD=sim-kiosk-admin-7 KYC_KIOSK_PASSWORD=sim-kiosk-admin-7
export KYC_KIOSK_OPERATOR=admin
for i in $(seq "$KIOSKS"); do
  mkdir -p "$WORK/k$i"
  "$BIN/kyc-kiosk" audit create-admin --db "$WORK/k$i/audit.sqlite3" --username admin >/dev/null
  token=$("$BIN/kyc-central" enroll-kiosk --admin root --kiosk "k$i")
  KYC_FLEET_TOKEN=$token "$BIN/kyc-kiosk" fleet enroll --db "$WORK/k$i/audit.sqlite3" \
    --server "$URL" --kiosk-id "k$i" >/dev/null
done

start_kiosk() {
  local i=$1
  "$BIN/fleet_kiosk" "$WORK/k$i/audit.sqlite3" "$RECORDS" 2 "${PAIRS[@]}" \
    >>"$WORK/k$i.acks" 2>>"$WORK/k$i.log" &
  KPID[$i]=$!
}
acks() { grep -c '^ack' "$WORK/k$1.acks" 2>/dev/null || true; }
wait_acks() { # kiosk, count
  while [ "$(acks "$1")" -lt "$2" ]; do
    kill -0 "${KPID[$1]}" 2>/dev/null || { log "kiosk k$1 ended early"; tail -5 "$WORK/k$1.log" >&2; exit 5; }
    sleep 0.2
  done
}
local_ids() { "$BIN/fleet_kiosk" --ids "$WORK/k$1/audit.sqlite3" | sed "s/^/k$1:/"; }
local_head() { "$BIN/fleet_kiosk" --head "$WORK/k$1/audit.sqlite3"; }
central_ack() { psql_q "SELECT ack_seq FROM kiosks WHERE kiosk_id = 'k$1'"; }

started=$(date +%s)
for i in $(seq "$KIOSKS"); do start_kiosk "$i"; done
ROLLED=""
if [ "$FAULTS" = 1 ]; then
  QUARTER=$(( (RECORDS + 3) / 4 ))
  # The last kiosk's files are copied aside, later put back: a joint rollback.
  R=$KIOSKS
  wait_acks "$R" "$QUARTER"
  kill -STOP "${KPID[$R]}" 2>/dev/null || true
  mkdir -p "$WORK/snapshot"
  for f in audit.sqlite3 audit.sqlite3-wal audit.sqlite3.key audit.sqlite3.anchor; do
    [ -f "$WORK/k$R/$f" ] && cp -p "$WORK/k$R/$f" "$WORK/snapshot/$f"
  done
  kill -CONT "${KPID[$R]}" 2>/dev/null || true
  log "fault: kiosk k$R's store copied aside at $(local_head "$R") events"
  ROLLED=$R
  # A kiosk killed in the middle of its writes, then restarted.
  wait_acks 1 "$QUARTER"
  kill -9 "${KPID[1]}"; wait "${KPID[1]}" 2>/dev/null || true
  log "fault: kiosk k1 killed mid-write after $(acks 1) acknowledged records; restarted"
  start_kiosk 1
  # The central service killed while the kiosks sync, then started again on its port.
  wait_acks 2 "$QUARTER"
  kill -9 "$CPID"; wait "$CPID" 2>/dev/null || true
  log "fault: central service killed during sync"
  sleep 3
  start_central
  log "central service restarted at $URL"
  # The network cut: the central service stops answering for longer than the kiosks wait.
  wait_acks 2 $((2 * QUARTER))
  kill -STOP "$CPID"
  log "fault: network cut (central service paused)"
  sleep 7
  kill -CONT "$CPID"
  log "network restored"
fi

for i in $(seq "$KIOSKS"); do wait "${KPID[$i]}" || { log "kiosk k$i failed"; tail -5 "$WORK/k$i.log" >&2; exit 5; }; done
unset 'KPID[@]'; declare -A KPID=()
# Catch-up runs (what the next background tick would do).
for i in $(seq "$KIOSKS"); do
  "$BIN/kyc-kiosk" sync --db "$WORK/k$i/audit.sqlite3" >/dev/null 2>>"$WORK/k$i.log" || true
done
made=$(for i in $(seq "$KIOSKS"); do local_ids "$i"; done | sort)
chain_ok=true
for i in $(seq "$KIOSKS"); do
  [ "$(central_ack "$i")" = "$(local_head "$i")" ] || { log "k$i: central holds $(central_ack "$i") of $(local_head "$i") events"; chain_ok=false; }
done
if [ -n "$ROLLED" ]; then
  for f in audit.sqlite3-wal audit.sqlite3-shm; do rm -f "$WORK/k$ROLLED/$f"; done
  for f in "$WORK"/snapshot/*; do cp -p "$f" "$WORK/k$ROLLED/"; done
  if "$BIN/kyc-kiosk" audit verify --db "$WORK/k$ROLLED/audit.sqlite3" >/dev/null 2>&1; then
    log "k$ROLLED rolled back to $(local_head "$ROLLED") events: its own audit verify passes"
  fi
  set +e
  "$BIN/kyc-kiosk" sync --db "$WORK/k$ROLLED/audit.sqlite3" >/dev/null 2>>"$WORK/k$ROLLED.log"
  code=$?
  set -e
  log "k$ROLLED sync after the rollback exited $code"
fi
elapsed=$(( $(date +%s) - started ))

central_rows=$(psql_q "SELECT kiosk_id || ':' || record_id FROM records" | sort)
records_central=$(printf '%s\n' "$central_rows" | grep -c . || true)
distinct_central=$(printf '%s\n' "$central_rows" | sort -u | grep -c . || true)
records_made=$(printf '%s\n' "$made" | grep -c . || true)
lost=$(comm -23 <(printf '%s\n' "$made" | grep .) <(printf '%s\n' "$central_rows" | sort -u | grep .) | grep -c . || true)
duplicated=$((records_central - distinct_central))
"$BIN/kyc-central" verify >"$WORK/verify.json" || chain_ok=false
rollbacks=$(psql_q "SELECT count(DISTINCT kiosk_id) FROM alerts WHERE kind IN ('rollback', 'fork')")
quarantined=$(psql_q "SELECT string_agg(kiosk_id, ',') FROM kiosks WHERE quarantined")
log "done in ${elapsed}s; quarantined: ${quarantined:-none}"
printf '{"kiosks":%d,"recordsMade":%d,"recordsCentral":%d,"lost":%d,"duplicated":%d,"chainVerified":%s,"rollbacksDetected":%d,"rollbacksInjected":%d,"seconds":%d}\n' \
  "$KIOSKS" "$records_made" "$records_central" "$lost" "$duplicated" "$chain_ok" "$rollbacks" \
  "$([ -n "$ROLLED" ] && echo 1 || echo 0)" "$elapsed"
