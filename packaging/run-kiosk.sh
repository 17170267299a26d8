#!/usr/bin/env bash
# The run command: set-up (packages, models, sample photos), build, then start the kiosk.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/setup.sh all
cargo build --release --locked
exec target/release/kyc-kiosk "$@"
