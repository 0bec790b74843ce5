#!/usr/bin/env bash
# Idempotent machine setup for sdwan on Debian 12: system packages, interop
# peers, then the release build. Quick when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  # build: DPDK headers and libraries, bindgen's libclang, the C shim
  libdpdk-dev dpdk-dev libclang-dev clang pkg-config build-essential
  # the fastest AES-GCM engine on x86: the edge uses it where the CPU runs it
  libipsec-mb-dev
  # tests: namespaces, captures, scapy ESP peer
  iproute2 iputils-ping tshark tcpdump python3-scapy python3-cryptography netcat-openbsd
  # interop peers
  gobgpd bird2 frr exabgp
  # management API tests; the ZTP test checks the CA with openssl
  curl jq openssl
  # benchmarks: ipsec-secgw sources for ../shared/bench/dp_anchors.sh
  dpdk-doc
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  # The daemons are started by our tests on loopback only, never as services.
  for svc in bird frr gobgpd exabgp; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
fi

if [ "${SDWAN_SKIP_BUILD:-0}" != "1" ]; then
  cargo build --release --workspace --bins
fi
