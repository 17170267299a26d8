#!/usr/bin/env bash
# The test command: set-up (packages, models, test data), build, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/setup.sh all
cargo build --release --locked
cargo test --release --locked "$@"
