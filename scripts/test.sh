#!/usr/bin/env bash
# Runs every check and test: format, clippy, unit, integration and the
# end-to-end namespace tests (those need root: they create network
# namespaces and DPDK TAP devices, and clean them up).
set -euo pipefail
cd "$(dirname "$0")/.."
SDWAN_SKIP_BUILD=1 bash scripts/setup.sh
export CARGO_TERM_COLOR=never
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
# One test binary at a time: the end-to-end tests start DPDK processes and
# namespaces, and this machine has two cores.
cargo test --workspace -- --test-threads=2
