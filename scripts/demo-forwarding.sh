#!/usr/bin/env bash
# Single-edge demo (no overlay): the sdwan edge forwarding between two network namespaces through
# DPDK TAP vdevs (no hugepages, no NIC). Shows IPv4 and IPv6 pings, the
# `sdwan show` views and a metrics excerpt, then cleans everything up.
# Needs root (namespaces, TAP devices).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

BIN=${SDWAN_BIN:-target/release/sdwan}
NS_A=sdwdemo-a NS_B=sdwdemo-b
TAP_A=sdwdemo0 TAP_B=sdwdemo1
API=127.0.0.1:9911
WORK=$(mktemp -d)
EDGE_PID=""

cleanup() {
  set +e
  if [ -n "$EDGE_PID" ] && kill -0 "$EDGE_PID" 2>/dev/null; then
    kill -TERM "$EDGE_PID"; wait "$EDGE_PID"
    echo "edge stopped (exit $?)"
  fi
  ip netns del "$NS_A" 2>/dev/null; ip netns del "$NS_B" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/edge.toml" <<CONF
[eal]
args = ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--log-level=notice"]

[[port]]
name = "lan0"
device = "net_tap0,iface=$TAP_A"
addresses = ["10.77.1.1/24", "fd77:1::1/64"]

[[port]]
name = "lan1"
device = "net_tap1,iface=$TAP_B"
addresses = ["10.77.2.1/24", "fd77:2::1/64"]

[management]
listen = "$API"
CONF

echo "== sdwan check-config"
$BIN check-config "$WORK/edge.toml"

ip netns add "$NS_A"; ip netns add "$NS_B"
echo "== starting the edge"
$BIN edge --config "$WORK/edge.toml" > "$WORK/edge.log" 2>&1 &
EDGE_PID=$!
# Wait until the ports are started and the management API answers.
for _ in $(seq 300); do
  curl -sf "http://$API/api/health" >/dev/null 2>&1 && break
  kill -0 "$EDGE_PID" 2>/dev/null || { cat "$WORK/edge.log"; exit 1; }
  sleep 0.1
done
sed 's/^/  edge log: /' "$WORK/edge.log" | grep -v 'qdisc\|rte flow\|secondary' || true
# Hand each TAP to a namespace: it becomes that "site"'s LAN link.
setup_ns() { # ns tap v4 v4gw v6 v6gw
  ip link set "$2" netns "$1"
  ip -n "$1" link set lo up
  ip -n "$1" link set "$2" up
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$1" addr add "$5" dev "$2" nodad
  ip -n "$1" route add default via "$4"
  ip -n "$1" -6 route add default via "$6"
}
setup_ns "$NS_A" "$TAP_A" 10.77.1.2/24 10.77.1.1 fd77:1::2/64 fd77:1::1
setup_ns "$NS_B" "$TAP_B" 10.77.2.2/24 10.77.2.1 fd77:2::2/64 fd77:2::1

# The edge drops a packet whose next hop is not resolved yet (counted as
# no_neighbor) and resolves it; one warm-up packet each way does that.
ip netns exec "$NS_A" ping -c 1 -W 1 10.77.2.2 >/dev/null 2>&1 || true
ip netns exec "$NS_A" ping -6 -c 1 -W 1 fd77:2::2 >/dev/null 2>&1 || true
echo "== IPv4: $NS_A -> $NS_B through DPDK"
ip netns exec "$NS_A" ping -c 5 -i 0.2 -W 2 10.77.2.2
echo "== IPv6: $NS_A -> $NS_B through DPDK"
ip netns exec "$NS_A" ping -6 -c 5 -i 0.2 -W 2 fd77:2::2
echo "== ping the edge itself"
ip netns exec "$NS_B" ping -c 2 -i 0.2 -W 2 10.77.2.1

for what in interfaces routes neighbors drops workers; do
  echo "== sdwan show $what"
  $BIN show --api "$API" "$what"
done
echo "== sdwan show interfaces --json (excerpt)"
$BIN show --api "$API" interfaces --json | head -20
echo "== metrics excerpt (curl http://$API/metrics)"
curl -s "http://$API/metrics" | grep -E '^sdwan_(port_(rx|tx)_packets_total|events_total|drops_total|worker_busy_ratio|fib_routes|neighbors)' | grep -v ' 0$'
echo "(counters at 0 are omitted here; /metrics lists every drop reason)"
