#!/usr/bin/env bash
# The test command: set-up (packages, models, test data), then build and run every test of the
# workspace (the core's and the kiosk's) in one optimised, LTO-free profile: nothing is built twice.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/setup.sh all
cargo test --release --locked --workspace "$@"
