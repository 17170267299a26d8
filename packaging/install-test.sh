#!/usr/bin/env bash
# Install test of the Debian package in a clean Debian root.
#
#   packaging/install-test.sh [path/to/kyc-kiosk.deb]
#
# Builds the package (packaging/build-deb.sh) unless its path is given; creates a clean bookworm
# root with debootstrap (the network is used for Debian's packages only, and nothing is cached
# between runs); installs the .deb there with `apt-get install ./kyc-kiosk.deb`, which resolves
# its Depends from Debian; checks the unit with `systemd-analyze verify` (systemd installed in
# the root for it); then, with the
# network cut (`unshare -n`), runs `kyc-kiosk doctor --json` and `kyc-kiosk verify` on sample
# images copied in, records one verification in the kiosk user's store and checks it with
# doctor; finally checks that `remove` keeps the store, that `purge` without confirmation keeps
# it, and that a confirmed purge deletes it. Prints `install-test: PASS` or
# `install-test: FAIL …` and exits non-zero on failure. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
started=$(date +%s)
SUITE=bookworm
STATE=/var/lib/kyc-kiosk
# The kiosk service's folders (packaging/debian/kyc-kiosk.service).
KIOSK_ENV=(env HOME=$STATE XDG_DATA_HOME=/var/lib XDG_CONFIG_HOME=/var/lib)

root=""
out=""
step="start"
finish() {
    local rc=$?
    if [ -n "$root" ]; then
        umount -l "$root/proc" 2>/dev/null || true
        rm -rf "$root"
    fi
    [ -z "$out" ] || rm -rf "$out"
    local secs=$(($(date +%s) - started))
    if [ "$rc" = 0 ]; then
        echo "install-test: PASS (${secs} s)"
    else
        echo "install-test: FAIL at '$step' (exit $rc, ${secs} s)"
    fi
    exit "$rc"
}
trap finish EXIT

fail() {
    echo "install-test: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap, chroot)"

step="package"
if [ $# -ge 1 ]; then
    deb=$(realpath "$1")
else
    deb=$(packaging/build-deb.sh | tail -n1)
fi
[ -f "$deb" ] || fail "no package at '$deb'"
echo "install-test: package $deb" >&2

step="tools"
missing=()
for tool in debootstrap systemd-analyze unshare python3; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends debootstrap systemd python3 util-linux >&2
fi

step="debootstrap"
root=$(mktemp -d /var/tmp/kyc-install-test.XXXXXX)
chmod 0755 "$root" # the root's own /: the kiosk user must be able to walk it
t0=$(date +%s)
# The mirror is debootstrap's default unless KYC_DEBIAN_MIRROR names another.
debootstrap --variant=minbase "$SUITE" "$root" ${KYC_DEBIAN_MIRROR:+"$KYC_DEBIAN_MIRROR"} \
    >"$root.debootstrap.log" 2>&1 || {
    tail -20 "$root.debootstrap.log" >&2
    rm -f "$root.debootstrap.log"
    fail "debootstrap failed"
}
rm -f "$root.debootstrap.log"
echo "install-test: clean $SUITE root in $(($(date +%s) - t0)) s" >&2
mount -t proc proc "$root/proc"
# A clean environment inside: nothing of the caller's (XDG folders, KYC_KIOSK_*) leaks in.
CLEAN_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)
in_root() { chroot "$root" "${CLEAN_ENV[@]}" "$@"; }
offline() { unshare -n chroot "$root" "${CLEAN_ENV[@]}" "$@"; }

step="apt-get install"
t0=$(date +%s)
cp "$deb" "$root/tmp/kyc-kiosk.deb"
in_root apt-get update -qq >&2
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    /tmp/kyc-kiosk.deb >&2
rm -f "$root/tmp/kyc-kiosk.deb"
in_root apt-get clean
echo "install-test: installed with its Depends in $(($(date +%s) - t0)) s" >&2

step="installed files"
[ -x "$root/usr/bin/kyc-kiosk" ] || fail "/usr/bin/kyc-kiosk missing"
[ -f "$root/etc/kyc-kiosk/config.toml" ] || fail "/etc/kyc-kiosk/config.toml missing"
grep -qx /etc/kyc-kiosk/config.toml "$root/var/lib/dpkg/info/kyc-kiosk.conffiles" ||
    fail "config.toml is not a conffile"
owner_mode=$(in_root stat -c '%U:%G %a' "$STATE")
[ "$owner_mode" = "kyc-kiosk:kyc-kiosk 700" ] || fail "$STATE is '$owner_mode', not kyc-kiosk 700"
in_root getent passwd kyc-kiosk | grep -q ":$STATE:" || fail "no kyc-kiosk system user"
[ -L "$root/etc/systemd/system/graphical.target.wants/kyc-kiosk.service" ] ||
    fail "kyc-kiosk.service is not enabled"

step="systemd-analyze verify"
# Against the installed root, with the init a kiosk boots (systemd; the package does not
# depend on it): the unit's targets and binaries (cage, kyc-kiosk) must all be there.
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    systemd >&2
in_root apt-get clean
systemd-analyze verify --root="$root" /lib/systemd/system/kyc-kiosk.service >&2 ||
    fail "systemd-analyze verify reported problems in kyc-kiosk.service"

step="samples"
mkdir -p "$root/tmp/samples"
cp tests/data/fetched/obama.jpg "$root/tmp/samples/document.jpg"
cp tests/data/fetched/obama2.jpg "$root/tmp/samples/selfie.jpg"
cp tests/data/fetched/biden.jpg "$root/tmp/samples/other.jpg"
chmod -R a+rX "$root/tmp/samples"

check_json() { # check_json FILE PYTHON-ASSERTIONS (r is the parsed JSON)
    python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def check(name):
    return next(c for c in r["checks"] if c["id"] == name)
try:
    exec(sys.argv[2])
except AssertionError as e:
    print(f"install-test: check failed: {e}", file=sys.stderr)
    print(json.dumps(r, indent=1)[:4000], file=sys.stderr)
    sys.exit(1)
PY
}

out=$(mktemp -d)

step="doctor (network cut)"
t0=$(date +%s)
offline /usr/bin/kyc-kiosk doctor --json >"$out/doctor.json" || fail "doctor exited $?"
check_json "$out/doctor.json" '
assert r["status"] == "warning", r["status"]
m = check("models")
assert m["status"] == "ok", m["summary"]
assert m["details"]["dir"] == "/usr/lib/kyc-kiosk/models", m["details"]["dir"]
assert m["details"]["sessions"] == len(m["details"]["models"]) >= 8
c = check("config")
assert c["details"]["path"] == "/etc/kyc-kiosk/config.toml", c["details"]["path"]
assert c["details"]["values"]["threads"] == 2
assert check("camera")["status"] == "warning", check("camera")
assert check("store")["status"] == "warning" and check("store")["details"]["exists"] is False
assert check("clock")["status"] == "ok"
assert check("disk")["status"] in ("ok", "warning")
'
echo "install-test: doctor (root, fresh state) in $(($(date +%s) - t0)) s" >&2

step="verify (network cut)"
t0=$(date +%s)
offline /usr/bin/kyc-kiosk verify --document /tmp/samples/document.jpg \
    --selfie /tmp/samples/selfie.jpg --json >"$out/same.json" || fail "verify exited $?"
check_json "$out/same.json" '
fm = r["faceMatch"]
assert fm["computed"] and fm["isMatch"], fm
assert fm["matchLevel"] >= 3, fm
assert r["decision"] in ("approve", "refer"), r["decision"]
assert {m["id"] for m in r["models"]} >= {"face_detector", "face_embedder"}
'
offline /usr/bin/kyc-kiosk verify --document /tmp/samples/document.jpg \
    --selfie /tmp/samples/other.jpg --json >"$out/other.json" || fail "verify exited $?"
check_json "$out/other.json" '
fm = r["faceMatch"]
assert fm["computed"] and not fm["isMatch"], fm
assert r["decision"] != "approve", r["decision"]
'
echo "install-test: two verifications in $(($(date +%s) - t0)) s" >&2

step="record as the kiosk user (network cut)"
# Recording needs credentials: the first administrator, then verify --record signed in as them.
offline runuser -u kyc-kiosk -- "${KIOSK_ENV[@]}" KYC_KIOSK_ADMIN_PASSWORD=install-test-admin-1 \
    /usr/bin/kyc-kiosk audit create-admin --username admin >&2 || fail "create-admin exited $?"
offline runuser -u kyc-kiosk -- "${KIOSK_ENV[@]}" KYC_KIOSK_PASSWORD=install-test-admin-1 \
    /usr/bin/kyc-kiosk verify --record --operator admin \
    --document /tmp/samples/document.jpg --selfie /tmp/samples/selfie.jpg --json \
    >"$out/recorded.json" || fail "verify --record exited $?"
[ -f "$root$STATE/audit.sqlite3" ] || fail "the kiosk user's store is not in $STATE"
offline runuser -u kyc-kiosk -- "${KIOSK_ENV[@]}" /usr/bin/kyc-kiosk doctor --json \
    >"$out/doctor-kiosk.json" || fail "doctor as kyc-kiosk exited $?"
check_json "$out/doctor-kiosk.json" '
s = check("store")
assert s["status"] == "ok", s["summary"]
assert s["details"]["db"] == "/var/lib/kyc-kiosk/audit.sqlite3", s["details"]["db"]
assert s["details"]["records"] == 1 and s["details"]["events"] >= 1, s["details"]
assert check("disk")["details"]["dir"] == "/var/lib/kyc-kiosk"
assert check("clock")["status"] == "ok"
'

step="remove keeps the store"
in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq kyc-kiosk >&2
[ ! -e "$root/usr/bin/kyc-kiosk" ] || fail "remove left /usr/bin/kyc-kiosk"
[ -f "$root$STATE/audit.sqlite3" ] || fail "remove deleted the audit store"

step="purge without confirmation keeps the store"
in_root env DEBIAN_FRONTEND=noninteractive dpkg --purge kyc-kiosk </dev/null >&2
[ ! -e "$root/etc/kyc-kiosk/config.toml" ] || fail "purge left the conffile"
[ -f "$root$STATE/audit.sqlite3" ] || fail "purge deleted the store without confirmation"

step="confirmed purge deletes the store"
cp "$deb" "$root/tmp/kyc-kiosk.deb"
in_root env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/kyc-kiosk.deb >/dev/null
rm -f "$root/tmp/kyc-kiosk.deb"
[ -f "$root$STATE/audit.sqlite3" ] || fail "reinstalling lost the kept store"
in_root env DEBIAN_FRONTEND=noninteractive KYC_KIOSK_PURGE_AUDIT_STORE=yes \
    dpkg --purge kyc-kiosk </dev/null >&2
[ ! -e "$root$STATE" ] || fail "a confirmed purge left $STATE"

step="done"
