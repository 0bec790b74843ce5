#!/usr/bin/env bash
# Demo: two SD-WAN sites talking through the encrypted overlay
# (draft-ietf-bess-bgp-sdwan-usage §4.1.1). A controller (BGP route
# reflector, TCP-MD5) and two edges, each a DPDK process with TAP ports:
# its WAN port on a shared "internet" bridge, two LAN ports for the client
# VRFs blue and red, whose addresses overlap. The edges exchange their
# client routes (VPNv4/VPNv6) and WAN ports (SAFI 74 / Tunnel Encapsulation)
# through the controller, derive IPsec SAs from the keys in those routes and
# carry the clients' traffic as ESP-in-UDP 4500.
# Shows: BGP summary, tunnels, SAs, routes, pings between the sites in both
# VRFs (answered by the right host), and a capture of the WAN proving it
# carries only ESP. Needs root (namespaces, TAP devices); cleans up.
# The single-edge forwarding demo is scripts/demo-forwarding.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

BIN=${SDWAN_BIN:-target/release/sdwan}
PY=/usr/bin/python3
P=sdwd                      # prefix of namespaces and TAP names
CTL_API=127.0.0.1:9910
RR_PORT=1179
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  set +e
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null && wait "${PIDS[$i]}" 2>/dev/null
  done
  for ns in inet b1 r1 b2 r2; do ip netns del "$P-$ns" 2>/dev/null; done
  rm -rf "$WORK"
  echo "== cleaned up (processes stopped, namespaces removed)"
}
trap cleanup EXIT
for ns in inet b1 r1 b2 r2; do ip netns del "$P-$ns" 2>/dev/null || true; done

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- configuration --------------------------------------------------------
cat > "$WORK/controller.toml" <<CONF
# The controller: a route reflector for both VPNs of the tenant. Its
# peers are the edges (passive, TCP-MD5); the peer group lists the Route
# Targets they may receive (constrained distribution, draft §3.1.5).
[bgp]
router_id = "192.0.2.100"
asn = 65000
listen_address = "127.0.0.1"
listen_port = $RR_PORT

[[bgp.peer_groups]]
name = "acme"
route_targets = ["65000:1", "65000:2"]
CONF
for s in 1 2; do cat >> "$WORK/controller.toml" <<CONF

[[bgp.peers]]
address = "127.0.0.1$s"
remote_as = 65000
md5_key = "edge$s-secret"
peer_group = "acme"
passive = true
families = ["vpnv4", "vpnv6", "sdwan-v4", "ipv4-unicast"]
CONF
done
printf '\n[management]\nlisten = "%s"\n' "$CTL_API" >> "$WORK/controller.toml"

edge_config() { # site
  local s=$1
  cat <<CONF
# Edge $s: WAN port on the internet (203.0.113.$s), client VRFs blue and red
# with the same subnet 10.$s.0.0/24 (overlapping address space).
[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix=$P$s", "--log-level=notice"]

[dataplane]
workers = 1

[node]
id = "10.255.0.$s"
asn = 65000

[bgp]
[[bgp.peer]]
address = "127.0.0.1"
port = $RR_PORT
md5_key = "edge$s-secret"
local_address = "127.0.0.1$s"

[[wan]]
port = "wan0"
id = 1
color = 100
kind = "internet"

[[vrf]]
name = "blue"
id = 1
rd = "10.255.0.$s:1"
import = ["65000:1"]
export = ["65000:1"]
label = 1${s}01
color = 100

[[vrf]]
name = "red"
id = 2
rd = "10.255.0.$s:2"
import = ["65000:2"]
export = ["65000:2"]
label = 1${s}02
color = 100

[[port]]
name = "wan0"
device = "net_tap0,iface=$P${s}w"
mac = "02:5d:0$s:00:00:01"
addresses = ["203.0.113.$s/24", "2001:db8:ffff::$s/64"]

[[port]]
name = "blue0"
device = "net_tap1,iface=$P${s}b"
vrf = "blue"
mac = "02:5d:0$s:00:00:02"
addresses = ["10.$s.0.1/24", "fd00:$s::1/64"]

[[port]]
name = "red0"
device = "net_tap2,iface=$P${s}r"
vrf = "red"
mac = "02:5d:0$s:00:00:03"
addresses = ["10.$s.0.1/24", "fd00:$s::1/64"]

[management]
listen = "127.0.0.1:991$s"
CONF
}
edge_config 1 > "$WORK/edge1.toml"
edge_config 2 > "$WORK/edge2.toml"
say "configuration (generated in $WORK)"
echo "edge 1:"; grep -E '^\[|^(id|rd|label|addresses|address|local_address) ' "$WORK/edge1.toml" | sed 's/^/  /'
for s in 1 2; do $BIN check-config "$WORK/edge$s.toml"; done

# --- the "internet" and the client sites -----------------------------------
ip netns add "$P-inet"
ip netns exec "$P-inet" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$P-inet" link add br0 type bridge stp_state 0
ip -n "$P-inet" link set br0 up
for c in b1 r1 b2 r2; do ip netns add "$P-$c"; ip -n "$P-$c" link set lo up; done

client() { # ns tap site
  ip link set "$2" netns "$1"
  ip -n "$1" link set "$2" up
  ip -n "$1" addr add "10.$3.0.2/24" dev "$2"
  ip -n "$1" addr add "fd00:$3::2/64" dev "$2" nodad
  ip -n "$1" route add default via "10.$3.0.1"
  ip -n "$1" -6 route add default via "fd00:$3::1"
}

say "starting the controller (route reflector on 127.0.0.1:$RR_PORT)"
$BIN controller --config "$WORK/controller.toml" > "$WORK/controller.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://$CTL_API/api/bgp/summary" >/dev/null 2>&1 && break; sleep 0.1; done

for s in 1 2; do
  say "starting edge $s"
  $BIN edge --config "$WORK/edge$s.toml" > "$WORK/edge$s.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:991$s/api/health" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/edge$s.log"; exit 1; }
    sleep 0.1
  done
  # WAN TAP onto the internet bridge; LAN TAPs to the site's clients.
  ip link set "$P${s}w" netns "$P-inet"
  # DPDK's TAP PMD gives the kernel side the port's MAC; a bridge would
  # treat it as its own and never forward to the edge: the kernel side
  # gets a MAC of its own.
  ip -n "$P-inet" link set "$P${s}w" address "0a:00:00:00:0$s:01"
  ip -n "$P-inet" link set "$P${s}w" master br0 up
  client "$P-b$s" "$P${s}b" "$s"
  client "$P-r$s" "$P${s}r" "$s"
  echo "edge $s up: WAN $P${s}w on the internet bridge, LAN $P${s}b -> $P-b$s, $P${s}r -> $P-r$s"
done

# Every client runs a tiny server answering with its namespace's name: the
# reply shows which site and VRF a packet really reached.
for c in b1 r1 b2 r2; do
  ip netns exec "$P-$c" $PY tests/py/overlay_peer.py serve "$P-$c" 7007 > "$WORK/srv-$c.log" 2>&1 &
  PIDS+=($!)
done

say "waiting for the overlay (BGP, route resolution, SAs)"
overlay_routes() { # api vrf
  curl -s "http://$1/api/routes" | jq "[.[] | select(.vrf == \"$2\" and (.next_hop | startswith(\"overlay\")))] | length"
}
ok=""
for _ in $(seq 120); do
  n=0
  for s in 1 2; do for v in blue red; do
    n=$((n + $(overlay_routes "127.0.0.1:991$s" "$v" 2>/dev/null || echo 0)))
  done; done
  if [ "$n" -ge 8 ]; then ok=1; break; fi
  sleep 0.5
done
if [ -z "$ok" ]; then
  echo "the overlay did not come up in 60 s; logs:"
  tail -n 20 "$WORK"/controller.log "$WORK"/edge*.log
  exit 1
fi
echo "both edges resolved the other site's prefixes to the encrypted overlay"

say "controller: sdwan show bgp summary"
$BIN show --api "$CTL_API" bgp summary
say "controller: sdwan show bgp routes --family vpnv4"
$BIN show --api "$CTL_API" bgp routes --family vpnv4
say "edge 1: sdwan show tunnels"
$BIN show --api 127.0.0.1:9911 tunnels
say "edge 1: sdwan show sa"
$BIN show --api 127.0.0.1:9911 sa
say "edge 1: sdwan show routes --vrf blue"
$BIN show --api 127.0.0.1:9911 routes --vrf blue

# Capture the internet while the sites talk.
ip netns exec "$P-inet" tcpdump -i br0 -n -U -s 0 -w "$WORK/wan.pcap" > "$WORK/tcpdump.log" 2>&1 &
TCPDUMP=$!
PIDS+=("$TCPDUMP")
sleep 1

ping_sites() { # ns dst
  # Warm-up until the first echo returns: each edge drops the first packet
  # toward a neighbor it has not resolved yet (ARP/ND on WAN and LAN).
  for _ in 1 2 3 4 5; do
    ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1 && break
  done
  ip netns exec "$1" ping -c 3 -i 0.3 -W 2 "$2" | grep -E 'bytes from|packet loss'
}
for v in blue red; do
  c=${v:0:1}
  say "VRF $v: site 1 ($P-${c}1, 10.1.0.2) -> site 2 (10.2.0.2 and fd00:2::2)"
  ping_sites "$P-${c}1" 10.2.0.2
  ping_sites "$P-${c}1" fd00:2::2
  echo "who answers 10.2.0.2 in VRF $v? $(ip netns exec "$P-${c}1" $PY tests/py/overlay_peer.py ask 10.2.0.2 7007)"
done
echo "(the same address 10.2.0.2 in both VRFs answered by two different hosts: blue and red stay apart)"
say "TCP: 2 MB from blue site 1 to blue site 2, SHA-256 checked by the receiver"
ip netns exec "$P-b1" $PY tests/py/overlay_peer.py send 10.2.0.2 7007 2097152

sleep 0.5
kill -INT "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true
say "what the internet saw (tcpdump on the bridge, first lines)"
tcpdump -nr "$WORK/wan.pcap" 2>/dev/null | head -n 8 || true
say "every frame on the internet, classified"
$PY tests/py/wan_capture.py "$WORK/wan.pcap" 203.0.113.1 203.0.113.2 2001:db8:ffff::1 2001:db8:ffff::2 |
  jq '{frames, esp_in_udp_4500: .esp, nat_keepalives: .keepalive, arp, nd, other, cleartext_marker_frames: .marker, sas: .spis}'
echo "(other = [] and cleartext_marker_frames = 0: the WAN carries only ESP, never the clients' packets)"

say "edge 1: sdwan show tunnels (counters after the traffic)"
$BIN show --api 127.0.0.1:9911 tunnels
