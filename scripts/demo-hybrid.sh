#!/usr/bin/env bash
# Demo: hybrid WAN (draft-ietf-bess-bgp-sdwan-usage §3.3 scenario 2). Two
# edges, each with an internet WAN port and a private (MPLS VPN) WAN port,
# one client VRF with flow policies:
#   web       198.51.100.0/24 -> internet-breakout (NAT44 on the internet port)
#   ops-ping  ICMP            -> private-only (native, never the internet)
#   apps/stream TCP, UDP      -> encrypted-any (ESP, private path preferred)
# Shows the policies, the tunnels of both kinds, where each flow goes (a
# capture of each underlay), the breakout source address, and a failover:
# the private link goes down under a UDP stream, which moves to the
# internet within a second while pings are dropped and counted instead of
# leaking. Needs root (namespaces, TAP devices); cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

BIN=${SDWAN_BIN:-target/release/sdwan}
PY=/usr/bin/python3
P=sdh                        # prefix of namespaces and TAP names
CTL_API=127.0.0.1:9920
RR_PORT=1180
WORK=$(mktemp -d)
PIDS=()
NSS="inet mpls srv b1 b2"

cleanup() {
  set +e
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null && wait "${PIDS[$i]}" 2>/dev/null
  done
  for ns in $NSS; do ip netns del "$P-$ns" 2>/dev/null; done
  rm -rf "$WORK"
  echo "== cleaned up (processes stopped, namespaces removed)"
}
trap cleanup EXIT
for ns in $NSS; do ip netns del "$P-$ns" 2>/dev/null || true; done
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cat > "$WORK/controller.toml" <<CONF
[bgp]
router_id = "192.0.2.120"
asn = 65000
listen_address = "127.0.0.1"
listen_port = $RR_PORT

[[bgp.peer_groups]]
name = "hybrid"
route_targets = ["65000:1"]

[management]
listen = "$CTL_API"
CONF
for s in 1 2; do printf '\n[[bgp.peers]]\naddress = "127.0.0.4%s"\nremote_as = 65000\nmd5_key = "h%s"\npeer_group = "hybrid"\npassive = true\nfamilies = ["vpnv4", "vpnv6", "sdwan-v4", "ipv4-unicast"]\n' "$s" "$s" >> "$WORK/controller.toml"; done

for s in 1 2; do cat > "$WORK/edge$s.toml" <<CONF
[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix=$P$s", "--log-level=notice"]
[dataplane]
workers = 1
[node]
id = "10.255.2.$s"
asn = 65000
[[bgp.peer]]
address = "127.0.0.1"
port = $RR_PORT
md5_key = "h$s"
local_address = "127.0.0.4$s"

[[vrf]]
name = "blue"
id = 1
rd = "65000:$s"
import = ["65000:1"]
export = ["65000:1"]
label = 1${s}01

# Internet WAN: always encrypted; breakout leaves here, NATed to its address.
[[port]]
name = "inet0"
device = "net_tap0,iface=$P${s}w"
mac = "02:5e:0$s:00:00:01"
addresses = ["203.0.113.$s/24"]
[[wan]]
port = "inet0"
id = 1
color = 100
kind = "internet"
gateway = "203.0.113.254"
breakout = true

# Private WAN (MPLS VPN): may carry flows natively when policy allows.
[[port]]
name = "mpls0"
device = "net_tap1,iface=$P${s}p"
mac = "02:5e:0$s:00:00:02"
addresses = ["172.16.0.$s/24"]
[[wan]]
port = "mpls0"
id = 2
color = 200
kind = "private"

[[port]]
name = "blue0"
device = "net_tap2,iface=$P${s}b"
vrf = "blue"
mac = "02:5e:0$s:00:00:03"
addresses = ["10.$s.0.1/24"]

[[policy]]
vrf = "blue"
name = "web"
action = "internet-breakout"
dst = "198.51.100.0/24"
[[policy]]
vrf = "blue"
name = "ops-ping"
action = "private-only"
protocol = "icmp"
[[policy]]
vrf = "blue"
name = "apps"
action = "encrypted-any"
protocol = "tcp"
[[policy]]
vrf = "blue"
name = "stream"
action = "encrypted-any"
protocol = "udp"

[management]
listen = "127.0.0.1:992$s"
CONF
$BIN check-config "$WORK/edge$s.toml"
done

# --- underlays: internet and MPLS bridges, a server on the internet --------
for ns in $NSS; do ip netns add "$P-$ns"; ip -n "$P-$ns" link set lo up; done
for u in inet mpls; do
  ip netns exec "$P-$u" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$P-$u" link add br0 type bridge stp_state 0
  ip -n "$P-$u" link set br0 up
done
ip link add "${P}srv0" type veth peer name "${P}srv1"
ip link set "${P}srv1" netns "$P-inet"
ip -n "$P-inet" link set "${P}srv1" master br0 up
ip link set "${P}srv0" netns "$P-srv"
ip -n "$P-srv" addr add 203.0.113.254/24 dev "${P}srv0"
ip -n "$P-srv" link set "${P}srv0" up
ip -n "$P-srv" addr add 198.51.100.10/32 dev lo

say "starting the controller and two edges"
$BIN controller --config "$WORK/controller.toml" > "$WORK/controller.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://$CTL_API/api/bgp/summary" >/dev/null 2>&1 && break; sleep 0.1; done
for s in 1 2; do
  $BIN edge --config "$WORK/edge$s.toml" > "$WORK/edge$s.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:992$s/api/health" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/edge$s.log"; exit 1; }
    sleep 0.1
  done
  # WAN TAPs onto their bridges; the kernel side gets a MAC of its own
  # (DPDK's TAP PMD gives it the port's, which a bridge would keep).
  for u in "w inet 1" "p mpls 2"; do
    set -- $u
    ip link set "$P$s$1" netns "$P-$2"
    ip -n "$P-$2" link set "$P$s$1" address "0a:5e:00:0$s:00:0$3"
    ip -n "$P-$2" link set "$P$s$1" master br0 up
  done
  ip link set "$P${s}b" netns "$P-b$s"
  ip -n "$P-b$s" link set "$P${s}b" up
  ip -n "$P-b$s" addr add "10.$s.0.2/24" dev "$P${s}b"
  ip -n "$P-b$s" route add default via "10.$s.0.1"
done
ip netns exec "$P-b2" $PY tests/py/overlay_peer.py serve "$P-b2" 7007 > "$WORK/tcp.log" 2>&1 &
PIDS+=($!)
ip netns exec "$P-b2" $PY tests/py/hybrid_peer.py udp-echo 9009 > "$WORK/udp.log" 2>&1 &
PIDS+=($!)
ip netns exec "$P-srv" $PY tests/py/hybrid_peer.py peer-serve 8080 > "$WORK/srv.log" 2>&1 &
PIDS+=($!)

tunnels_up() { # api kind
  curl -s "http://$1/api/tunnels" | jq "[.[] | select(.kind == \"$2\" and .state == \"up\")] | length"
}
say "waiting for both kinds of tunnel"
for _ in $(seq 120); do
  [ "$(tunnels_up 127.0.0.1:9921 private 2>/dev/null || echo 0)" -ge 1 ] &&
    [ "$(tunnels_up 127.0.0.1:9921 internet 2>/dev/null || echo 0)" -ge 1 ] &&
    curl -s http://127.0.0.1:9921/api/routes | grep -q 10.2.0.0 && break
  sleep 0.5
done
say "edge 1: sdwan show policies"
$BIN show --api 127.0.0.1:9921 policies
say "edge 1: sdwan show wans"
$BIN show --api 127.0.0.1:9921 wans
say "edge 1: sdwan show tunnels"
$BIN show --api 127.0.0.1:9921 tunnels

for u in inet mpls; do
  ip netns exec "$P-$u" tcpdump -i br0 -n -U -s 0 -w "$WORK/$u.pcap" > "$WORK/tcpdump-$u.log" 2>&1 &
  PIDS+=($!)
done
sleep 1
say "ping (private-only) site 1 -> site 2"
# Warm-up: each edge drops the first packet toward a neighbor it has not
# resolved yet (ARP on the WAN and LAN sides).
for _ in 1 2 3; do ip netns exec "$P-b1" ping -c 1 -W 1 10.2.0.2 >/dev/null 2>&1 && break; done
ip netns exec "$P-b1" ping -c 3 -i 0.3 -W 2 10.2.0.2 | grep -E 'bytes from|packet loss'
say "TCP (encrypted-any): 1 MB, SHA-256 checked"
ip netns exec "$P-b1" $PY tests/py/overlay_peer.py send 10.2.0.2 7007 1048576
say "breakout (internet-breakout): who does the internet server see?"
for _ in 1 2 3; do
  seen=$(ip netns exec "$P-b1" $PY tests/py/hybrid_peer.py ask-peer 198.51.100.10 8080 2>/dev/null) && break
done
echo "client 10.1.0.2 reached 198.51.100.10, which saw it as ${seen:-?} (edge 1's public address)"
sleep 1
for pid in "${PIDS[@]: -2}"; do kill -INT "$pid" 2>/dev/null; done
sleep 0.5
say "what each underlay carried"
printf '  private WAN: %s native MPLS-in-IP (ping), %s ESP-in-UDP data (TCP)\n' \
  "$(tcpdump -nr "$WORK/mpls.pcap" 'ip proto 137' 2>/dev/null | wc -l)" \
  "$(tcpdump -nr "$WORK/mpls.pcap" 'udp port 4500 and greater 200' 2>/dev/null | wc -l)"
printf '  internet:    %s ESP-in-UDP data, %s native, %s breakout packets to/from 198.51.100.10\n' \
  "$(tcpdump -nr "$WORK/inet.pcap" 'udp port 4500 and greater 200' 2>/dev/null | wc -l)" \
  "$(tcpdump -nr "$WORK/inet.pcap" 'ip proto 137' 2>/dev/null | wc -l)" \
  "$(tcpdump -nr "$WORK/inet.pcap" 'host 198.51.100.10' 2>/dev/null | wc -l)"

say "failover: edge 1's private link goes down under a UDP stream (20 ms interval)"
ip netns exec "$P-b1" $PY tests/py/hybrid_peer.py udp-stream 10.2.0.2 9009 5 20 > "$WORK/stream.json" &
STREAM=$!
sleep 2
ip -n "$P-mpls" link set "${P}1p" down
echo "private link down at $(date +%T.%N | cut -c1-12)"
wait "$STREAM"
echo "UDP stream across the failover: $(cat "$WORK/stream.json")  (max_gap_ms = how long the flow was interrupted)"
say "edge 1: sdwan show tunnels (private tunnel silent, traffic on the internet one)"
$BIN show --api 127.0.0.1:9921 tunnels
say "ping (private-only) while the private path is down: dropped, not leaked"
ip netns exec "$P-b1" ping -c 3 -i 0.3 -W 1 10.2.0.2 | grep -E 'packet loss' || true
curl -s http://127.0.0.1:9921/api/drops | jq -c '[.[] | select(.reason == "private_path_down")]'
ip -n "$P-mpls" link set "${P}1p" up
say "private link back up"
for _ in $(seq 40); do [ "$(tunnels_up 127.0.0.1:9921 private)" -ge 1 ] && break; sleep 0.25; done
ip netns exec "$P-b1" ping -c 2 -i 0.3 -W 2 10.2.0.2 | grep -E 'packet loss'
