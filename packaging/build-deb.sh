#!/usr/bin/env bash
# Build the kyc-kiosk Debian package with plain dpkg-deb (no packaging tool to install).
#
#   packaging/build-deb.sh [--no-build]
#
# The binary comes from the release profile (the one the tests build: no LTO, so nothing is built
# twice in CI; $KYC_DEB_PROFILE=dist gives the thin-LTO build, which takes far longer on 2 cores);
# the models and ONNX Runtime listed in models/manifest.toml are verified by the binary itself
# (`kyc-kiosk doctor`) before they are packed into /usr/lib/kyc-kiosk/models. The version is the
# changelog's (packaging/debian/changelog), whose upstream part must equal Cargo.toml's.
# --no-build packs the binary of that profile already there ($KYC_DEB_BIN names another, e.g. a
# release build for a quick trial; $KYC_DEB_OUT the output folder, target/debian by default).
# The last line printed is the .deb's path.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEB_SRC=packaging/debian
OUT=${KYC_DEB_OUT:-$ROOT/target/debian}

die() {
    echo "build-deb: $*" >&2
    exit 1
}

build=1
case "${1:-}" in
--no-build) build=0 ;;
"") ;;
*) die "unknown argument '$1' (usage: packaging/build-deb.sh [--no-build])" ;;
esac

for tool in dpkg dpkg-deb python3 gzip; do
    command -v "$tool" >/dev/null || die "$tool is needed (apt-get install dpkg python3)"
done

version=$(sed -n '1s/^kyc-kiosk (\([^)]*\)).*/\1/p' "$DEB_SRC/changelog")
[ -n "$version" ] || die "no version on the first line of $DEB_SRC/changelog"
cargo_version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ "${version%-*}" = "$cargo_version" ] ||
    die "changelog version $version does not match Cargo.toml's $cargo_version"
arch=$(dpkg --print-architecture)

# One date for the build (the last commit's): embedded as the build date the doctor compares
# the clock with, and stamped on every file, so the package is reproducible.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

profile=${KYC_DEB_PROFILE:-release}
if [ "$build" = 1 ]; then
    echo "build-deb: cargo build --profile $profile --locked" >&2
    cargo build --profile "$profile" --locked --bin kyc-kiosk >&2
fi
bin=${KYC_DEB_BIN:-target/$profile/kyc-kiosk}
[ -x "$bin" ] || die "$bin is missing (run without --no-build)"

# The binary verifies every model and the runtime against the manifest compiled into it.
check_home=$(mktemp -d)
stage=$(mktemp -d)
chmod 0755 "$stage" # becomes the installed system's /
trap 'rm -rf "$check_home" "$stage"' EXIT
HOME=$check_home XDG_DATA_HOME=$check_home XDG_CONFIG_HOME=$check_home KYC_KIOSK_MODELS=$ROOT/models \
    "$bin" doctor --json >"$check_home/doctor.json" || true
python3 - "$check_home/doctor.json" <<'PY' || die "the models in models/ are not the manifest's (run packaging/setup.sh models)"
import json, sys
report = json.load(open(sys.argv[1]))
models = next(c for c in report["checks"] if c["id"] == "models")
print("build-deb: " + models["summary"], file=sys.stderr)
sys.exit(0 if models["status"] == "ok" else 1)
PY

install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/lib/kyc-kiosk/models/lib" \
    "$stage/etc/kyc-kiosk" "$stage/lib/systemd/system" "$stage/usr/share/doc/kyc-kiosk"
install -m 0755 "$bin" "$stage/usr/bin/kyc-kiosk"
if command -v strip >/dev/null; then
    strip --strip-unneeded "$stage/usr/bin/kyc-kiosk"
fi
for file in $(sed -n 's/^file = "\(.*\)"$/\1/p' models/manifest.toml); do
    install -m 0644 "models/$file" "$stage/usr/lib/kyc-kiosk/models/$file"
done
install -m 0644 models/manifest.toml "$stage/usr/lib/kyc-kiosk/models/manifest.toml"
install -m 0644 "$DEB_SRC/config.toml" "$stage/etc/kyc-kiosk/config.toml"
install -m 0644 "$DEB_SRC/kyc-kiosk.service" "$stage/lib/systemd/system/kyc-kiosk.service"
install -m 0644 "$DEB_SRC/README.Debian" "$stage/usr/share/doc/kyc-kiosk/README.Debian"
gzip -9n <"$DEB_SRC/changelog" >"$stage/usr/share/doc/kyc-kiosk/changelog.Debian.gz"
chmod 0644 "$stage/usr/share/doc/kyc-kiosk/changelog.Debian.gz"

# copyright: the kiosk's licence, then each model's and the runtime's as the manifest records.
python3 - models/manifest.toml >"$stage/usr/share/doc/kyc-kiosk/copyright" <<'PY'
import sys, tomllib
m = tomllib.load(open(sys.argv[1], "rb"))
print("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/")
print("Upstream-Name: kyc-kiosk\n")
print("Files: usr/bin/kyc-kiosk\nLicense: Apache-2.0\n")
for e in [m["runtime"], *m["model"]]:
    print(f"Files: usr/lib/kyc-kiosk/models/{e['file']}")
    print(f"Comment: {e['role']}; from {e['package']} {e['version']} ({e['path']});")
    print(f" sha256 {e['sha256']}")
    print(f"License: {e['licence']}\n")
print("License: Apache-2.0")
print(" On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.")
PY

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    "$DEB_SRC/control.in" >"$stage/DEBIAN/control"
install -m 0644 "$DEB_SRC/conffiles" "$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
    install -m 0755 "$DEB_SRC/$script" "$stage/DEBIAN/$script"
done
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
    xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$OUT"
deb="$OUT/kyc-kiosk_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zzstd --build "$stage" "$deb" >&2
echo "build-deb: $(du -h "$deb" | cut -f1) package, $installed_size KiB installed" >&2
echo "$deb"
