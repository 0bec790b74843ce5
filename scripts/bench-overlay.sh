#!/usr/bin/env bash
# bench-overlay.sh — encrypted forwarding rate of the sdwan edge (LAN ->
# overlay: MPLS label, ESP AES-128-GCM in UDP 4500 = NAT-T, outer IPv4,
# Ethernet) beside DPDK's ipsec-secgw (ESP tunnel, no NAT-T) on the same
# vdevs in the same run; the decap path beside ipsec-secgw's inbound path;
# forwarding under BGP route churn.
#
#   scripts/bench-overlay.sh [-d SECONDS] [-r RUNS] [-m nohuge|huge|both]
#                            [-s] [-p PARTS] [-R RATE] [-T SECONDS] [-a] [-k]
#
#   -d SECONDS  measurement window of a forwarding run (default 5; ~1 s
#               warm-up after the tunnel is up comes on top)
#   -r RUNS     runs per size and memory mode, ours and secgw (default 1;
#               with more, the median is printed). This machine is shared:
#               one run can be off by +-40 %, use -r 3 for a claim
#   -m MEM      EAL memory of the measured edge and of secgw: nohuge, huge
#               (2 MiB pages reserved here and given back at exit) or both
#               (default)
#   -s          skip ipsec-secgw (ours only)
#   -p PARTS    which parts, comma-separated: encap, decap, churn, live
#               (default encap,decap,churn)
#   -R RATE     churn: VPNv4 route updates per second (default 10000)
#   -T SECONDS  churn: how long (default 10)
#   -a          also run scripts/bench-esp.sh -s (raw AEAD / ESP-layer rates,
#               cargo bench: compiles the crypto benches, several minutes)
#   -k          keep the work dir (configs, logs) and print its path
#
# Setup, all on this machine, nothing on the network:
#   sdwan controller     route reflector on 127.0.0.1:17179; peers are
#                        the two edges (127.0.0.71/.72) and the churn
#                        speaker (127.0.0.73), one peer group, RT 65000:1
#   edge 2 (helper)      net_null WAN 203.0.113.2 + net_null LAN 10.0.0.1/8
#                        in VRF blue, --no-huge, core 0: advertises
#                        10.0.0.0/8 (VPNv4) and its WAN port (SAFI 74)
#   edge 1 (measured)    LAN net_pcap0 replaying FILE forever (infinite_rx:
#                        rx = mbuf alloc + copy, as for secgw), VRF blue;
#                        WAN net_null (tx = free) 203.0.113.1 with a static
#                        neighbor for 203.0.113.2; one worker on core 1
#   Edge 1 resolves 10.0.0.0/8 to the tunnel toward edge 2's WAN port and
#   encrypts every client packet: TTL-1, MPLS label, ESP (AES-128-GCM, ESN,
#   RFC 4106), UDP 4500 (RFC 3948), outer IPv4, Ethernet.
#
# Measured: edge 1's WAN tx packet counter over SECONDS (GET /api/interfaces)
# -> Mpps; Gbps = Mpps x input frame bytes x 8, for secgw likewise (as
# dp_anchors.sh computes it; the frames on the WAN are ~70 B longer; "wire Gbps" counts those).
# Input frames are 64 B / 1400 B Ethernet frames (50 B / 1386 B IP packets;
# the 1386 B packets fit the 1500 B WAN MTU after the ~66 B of overlay
# overhead), UDP, 1024 destinations in 10.0.0.0/8. secgw gets the same
# frames from the same net_pcap/net_null vdevs on the same core, in runs
# that alternate with ours: ipsec-secgw built as dp_anchors.sh -t secgw
# builds it, in its lib_cpu_esn case (AES-128-GCM ESN tunnel on the
# cpu-crypto path, the closest of its cases to ours); ratio = ours / secgw.
#
# Route churn: while edge 1 forwards the 64 B flow to 10.0.0.0/8,
# scripts/bgp-churn.py announces and withdraws /24s of 100.64.0.0/10 (RT
# 65000:1, next hop = edge 2's node id, so edge 1 installs and removes them
# in its FIB) at RATE updates/s for SECONDS through the controller. Printed:
# updates/s sent, received by the controller and by edge 1 (its BGP
# counters), and for the unchanged prefix LAN rx - WAN tx over the window
# (counters are published once per burst; the median of 5 reads is used at
# each end) and the edge's drops by reason — both must be 0.
#
# Decap (WAN -> LAN), beside ipsec-secgw inbound: each replays a pcap of
# 1024 ESP packets (scripts/mkesp.py: AES-128-GCM, sequence numbers 1..1024,
# no ESN) from net_pcap(infinite_rx) on one core and sends the decrypted
# inner packets — the encap run's 64 B / 1400 B frames — out of net_null.
#   ours    ESP in UDP 4500 with VRF blue's MPLS label, from a [[static_peer]]
#           with esn = false, replay_window = 0 (a replayed capture repeats
#           its sequence numbers; secgw's default is -w 0 as well), then the
#           LAN path: TTL-1, lookup of a static route, Ethernet rewrite
#   secgw   -l -u 0x1: ESP tunnel mode on the unprotected port, SA by SPI
#           and addresses, inbound SP check, route; cpu-crypto, no ESN
# Measured: packets sent out of net_null per second (ours: LAN tx counter;
# secgw: its 1 s stats as for encap); Gbps = Mpps x inner frame x 8.
#
# Live decap (-p live: ESN and a 1024-packet anti-replay window, the
# default tunnel): edge 2 replays the same pcap from its LAN into the
# tunnel; its WAN port is a net_memif client of edge 1's WAN port (net_memif
# server, shared memory, a copy per packet each side); edge 1 decrypts and
# sends the inner packets out of a net_null LAN port (a static route for
# 10.0.0.0/8, which edge 2 learns through BGP). Measured: edge 1's LAN tx
# rate. Both edges work at once, one core each, so the figure is edge 1's
# decap rate only when edge 2 outruns it: printed beside it is the share of
# the window edge 1's worker was awake (its idle back-off sleeps otherwise).
#
# Needs root, DPDK 22.11 (dpdk-testpmd installed by scripts/setup.sh), curl,
# jq, python3; secgw also make, cc, dpdk-doc (see dp_anchors.sh).
# BIN=${SDWAN_BIN:-target/release/sdwan}, built unless SDWAN_SKIP_BUILD=1.
# Takes ~5 minutes with the defaults (each edge start ~10-15 s: a new
# tunnel waits for the peer's confirmation, at most 10 s; decap ~1.5);
# ~12 minutes with -r 3.
# stdout: the tables. stderr: progress. Everything started here is stopped by
# PID at exit; the work dir is removed; vm.nr_hugepages is put back.
set -uo pipefail
BIN=${SDWAN_BIN:-target/release/sdwan}
[ -n "${SDWAN_BIN:-}" ] && [[ $BIN != /* ]] && BIN=$PWD/$BIN
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DUR=5 RUNS=1 MEMS="nohuge huge" SKIP_SECGW="" FWD=1 DECAP=1 LIVE=1 CHURN=1 RATE=10000 CHURN_S=10 AEAD="" KEEP=""
PARTS=encap,decap,churn
while getopts "d:r:m:sp:R:T:akh" o; do
  case $o in
    d) DUR=$OPTARG ;;
    r) RUNS=$OPTARG ;;
    m) case $OPTARG in both) MEMS="nohuge huge" ;; nohuge|huge) MEMS=$OPTARG ;;
         *) echo "bad -m $OPTARG" >&2; exit 2 ;; esac ;;
    s) SKIP_SECGW=1 ;;
    p) PARTS=$OPTARG ;;
    R) RATE=$OPTARG ;;
    T) CHURN_S=$OPTARG ;;
    a) AEAD=1 ;;
    k) KEEP=1 ;;
    *) sed -n '2,/^set -uo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
[[ ,$PARTS, == *,encap,* ]] || FWD=""
[[ ,$PARTS, == *,decap,* ]] || DECAP=""
[[ ,$PARTS, == *,live,* ]] || LIVE=""
[[ ,$PARTS, == *,churn,* ]] || CHURN=""

RR_PORT=17179 API_RR=127.0.0.1:17170 API_E1=127.0.0.1:17171 API_E2=127.0.0.1:17172
IN_MAC=02:70:63:61:70:00     # net_pcap0's fixed MAC: the frames are addressed to it
REMOTE=10.0.0.0/8            # edge 2's client prefix, the pcap's destinations
WORK=$(mktemp -d -t bench-overlay.XXXXXX)
PIDS=() HP_PREV="" HP_SET="" E1="" E2="" RR=""

log() { printf '# %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
stop_pid() {
  local p=$1 i
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  untrack "$p"
}
untrack() { local keep=() q; for q in "${PIDS[@]}"; do [ "$q" != "$1" ] && keep+=("$q"); done; PIDS=("${keep[@]}"); }
cleanup() {
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  if [ -n "$HP_SET" ] && [ "$(cat /proc/sys/vm/nr_hugepages)" = "$HP_SET" ]; then
    echo "$HP_PREV" > /proc/sys/vm/nr_hugepages
  fi
  if [ -n "$KEEP" ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "needs root (EAL, hugepages)"
for c in curl jq python3; do command -v $c > /dev/null || die "$c missing"; done
if [ "${SDWAN_SKIP_BUILD:-0}" != 1 ]; then
  log "building $BIN (SDWAN_SKIP_BUILD=1 skips)"
  cargo build -j 2 --release --bin sdwan >&2 || die "cargo build failed"
fi
[ -x "$BIN" ] || die "$BIN not found (set SDWAN_BIN)"

api() { curl -sf --max-time 5 "http://$1$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "NA")}'; }
gbps() { awk -v x="$1" -v s="$2" 'BEGIN {if (x == "NA" || x == "") print "NA"; else printf "%.2f", x * s * 8 / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b}'; }
eal_mem() { if [ "$1" = huge ]; then echo '"--in-memory"'; else echo '"--no-huge", "--no-shconf"'; fi; }

# ---------------------------------------------------------------- secgw
declare -A SG=()

# ipsec-secgw, built here as dp_anchors.sh builds it (Debian's example
# sources, no RX checksum offload demanded of vdevs); SGW_IN="" = skipped.
# Outbound: dp_anchors.sh's lib_cpu_esn case (SA 5, ESP tunnel 172.16.1.5
# -> 172.16.2.5, AES-128-GCM on the cpu-crypto path, ESN: -l -e) with the
# SP matching our frames' destinations; inbound: SPI 0x105, replay window 0
# (its default).
ESP_KEY=000102030405060708090a0b0c0d0e0f10111213   # AES-128 key || salt
SGW_SPI=0x105 OURS_SPI=0x2001
SGW_IN=""
build_secgw_in() {
  local src=/usr/share/dpdk/examples k
  if [ -n "$SKIP_SECGW" ]; then return; fi
  if [ ! -f $src/ipsec-secgw/Makefile ]; then
    log "secgw: $src/ipsec-secgw missing (apt-get install dpdk-doc): skipped"; return
  fi
  mkdir -p "$WORK/sgw"; cp -r $src/ipsec-secgw $src/common "$WORK/sgw/"
  sed -i 's/^\t\t\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,/\t\t.offloads = 0,/' \
      "$WORK/sgw/ipsec-secgw/ipsec-secgw.c"
  if ! make -C "$WORK/sgw/ipsec-secgw" -j2 > "$WORK/sgw-build.log" 2>&1; then
    log "secgw: build failed (see $WORK/sgw-build.log): skipped"; return
  fi
  k=$(echo "$ESP_KEY" | sed 's/../&:/g; s/:$//')
  printf '%s\n' \
    "sa in $((SGW_SPI)) aead_algo aes-128-gcm aead_key $k mode ipv4-tunnel src 172.16.1.5 dst 172.16.2.5 type cpu-crypto" \
    "sp ipv4 in esp protect $((SGW_SPI)) pri 1 dst 10.0.0.0/8 sport 0:65535 dport 0:65535" \
    "rt ipv4 dst 10.0.0.0/8 port 1" "neigh port 1 02:00:00:00:00:99" "neigh port 0 02:00:00:00:00:98" \
    > "$WORK/sgw-in.cfg"
  k=01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14   # dp_anchors.sh's key + salt
  printf '%s\n' \
    "sp ipv4 out esp protect 5 pri 1 dst $REMOTE sport 0:65535 dport 0:65535" \
    "sa out 5 aead_algo aes-128-gcm aead_key $k mode ipv4-tunnel src 172.16.1.5 dst 172.16.2.5 type cpu-crypto" \
    "rt ipv4 dst 172.16.2.5/32 port 1" "neigh port 1 02:00:00:00:00:99" "neigh port 0 02:00:00:00:00:98" \
    > "$WORK/sgw-out.cfg"
  SGW_IN=$WORK/sgw/ipsec-secgw/build/ipsec-secgw
}

# secgw_run in|out MEM SIZE : R_MPPS = secgw's packets sent per second (its
# cumulative 1 s stats, timestamped on arrival; the first 2 are warm-up).
# in: the ESP pcap, port 0 unprotected; out: our plain frames, ESN.
secgw_run() {
  local eal="--no-huge -m 1024 --no-shconf" logf=$WORK/sgw-$1.$2.$3.log pid pcap=$WORK/sgw$3.pcap
  local flags=(-u 0x1 -l) name=inbound
  [ "$2" = huge ] && eal="-m 1024 --in-memory"
  [ "$1" = out ] && { pcap=$WORK/in$3.pcap flags=(-l -e) name=outbound; }
  # shellcheck disable=SC2086
  # DUR + 8: the first run with hugepages spends seconds zeroing them
  # before its first stats line (DUR + 5 left too few lines at -d 2).
  ( timeout -k 5 $((DUR + 8)) stdbuf -oL "$SGW_IN" -l 1 $eal --no-pci --no-telemetry \
      --vdev crypto_aesni_gcm0 --file-prefix "bov$$-sgw" \
      --vdev "net_pcap0,rx_pcap=$pcap,infinite_rx=1" --vdev net_null1 \
      -- -p 0x3 -P --config="(0,0,1)" -f "$WORK/sgw-$1.cfg" -t 1 "${flags[@]}" 2>&1 < /dev/null |
    while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done ) > "$logf" &
  pid=$!; PIDS+=("$pid"); wait "$pid"; untrack "$pid"
  grep -q 'Cause:' "$logf" && log "secgw $name: $(grep -m1 'Cause:' "$logf" | cut -d' ' -f3-)"
  R_MPPS=$(awk '/Total packets sent:/ { if (++n <= 2) next
        if (t0 == "") { t0 = $1; c0 = $NF } t1 = $1; c1 = $NF }
      END { if (t1 > t0) printf "%.3f", (c1 - c0) / (t1 - t0) / 1e6; else print "NA" }' "$logf")
  log "secgw $name $2 $3 B: $R_MPPS Mpps"
}

# ---------------------------------------------------------------- hugepages
setup_huge() {   # 600 free 2 MiB pages for edge 1's -m 1024
  local need=600 free
  [ -n "$HP_PREV" ] || HP_PREV=$(cat /proc/sys/vm/nr_hugepages)
  free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
  if [ "$free" -lt "$need" ]; then
    echo $(( $(cat /proc/sys/vm/nr_hugepages) + need - free )) > /proc/sys/vm/nr_hugepages 2>/dev/null
    HP_SET=$(cat /proc/sys/vm/nr_hugepages)
  fi
  free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
  [ "$free" -ge "$need" ] || { log "huge: only $free free hugepages: huge mode skipped"; return 1; }
}

# ---------------------------------------------------------------- configs
controller_conf() {
  cat <<CONF
[bgp]
router_id = "192.0.2.100"
asn = 65000
listen_address = "127.0.0.1"
listen_port = $RR_PORT
hold_time = 30

[[bgp.peer_groups]]
name = "bench"
route_targets = ["65000:1"]

[[bgp.peers]]
address = "127.0.0.71"
remote_as = 65000
peer_group = "bench"
passive = true
families = ["vpnv4", "vpnv6", "sdwan-v4", "ipv4-unicast"]

[[bgp.peers]]
address = "127.0.0.72"
remote_as = 65000
peer_group = "bench"
passive = true
families = ["vpnv4", "vpnv6", "sdwan-v4", "ipv4-unicast"]

# the churn speaker (scripts/bgp-churn.py)
[[bgp.peers]]
address = "127.0.0.73"
remote_as = 65000
peer_group = "bench"
passive = true
families = ["vpnv4"]

[management]
listen = "$API_RR"
CONF
}

# edge_conf SITE EAL_MEM CORE API WAN_DEV WAN_MAC LAN_DEV LAN_ADDR [EXTRA_TOML]
# (WAN_MAC "": the device sets its own, e.g. memif's mac= devarg)
edge_conf() {
  local site=$1 mem=$2 core=$3 api=$4 wan=$5 wanmac=$6 lan=$7 lanaddr=$8 extra=${9:-}
  [ -n "$wanmac" ] && wanmac="mac = \"$wanmac\""
  cat <<CONF
[eal]
args = [$mem, "-m", "1024", "--no-pci", "--log-level=3", "-l", "0", "--file-prefix=bov$$-$site"]

[dataplane]
workers = 1
cores = [$core]

[node]
id = "10.255.0.$site"
asn = 65000

[bgp]
hold_time = 30

[[bgp.peer]]
address = "127.0.0.1"
port = $RR_PORT
remote_as = 65000
local_address = "127.0.0.7$site"

[[vrf]]
name = "blue"
id = 1
rd = "65000:${site}1"
import = ["65000:1"]
export = ["65000:1"]
label = 1${site}01
color = 100

[[port]]
name = "wan0"
device = "$wan"
$wanmac
addresses = ["203.0.113.$site/24"]

[[wan]]
port = "wan0"
id = 1
color = 100
kind = "internet"

[[port]]
name = "lan0"
device = "$lan"
vrf = "blue"
addresses = ["$lanaddr"]

[management]
listen = "$api"
CONF
  printf '%s\n' "$extra"
}
nbr() { printf '\n[[neighbor]]\nport = "%s"\nip = "%s"\nmac = "%s"\n' "$1" "$2" "$3"; }

start() {   # start NAME CMD... : background, logs to $WORK/NAME.log; sets LASTPID
  local name=$1; shift
  "$@" > "$WORK/$name.log" 2>&1 < /dev/null &
  LASTPID=$!; PIDS+=("$LASTPID")
}

wait_api() {   # wait_api ADDR PID NAME
  local i
  for i in $(seq 300); do
    api "$1" /api/health > /dev/null && return 0
    kill -0 "$2" 2>/dev/null || { tail -5 "$WORK/$3.log" >&2; die "$3 exited"; }
    sleep 0.1
  done
  die "$3: no API at $1 after 30 s (log: $WORK/$3.log)"
}

start_underlay() {   # controller + edge 2
  controller_conf > "$WORK/rr.toml"
  start rr "$BIN" controller --config "$WORK/rr.toml"; RR=$LASTPID
  wait_api "$API_RR" "$RR" rr
  edge_conf 2 "$(eal_mem nohuge)" 0 "$API_E2" "net_null0,no-rx=1" 02:5d:02:00:00:01 \
    "net_null1,no-rx=1" 10.0.0.1/8 > "$WORK/edge2.toml"
  start edge2 "$BIN" edge --config "$WORK/edge2.toml"; E2=$LASTPID
  wait_api "$API_E2" "$E2" edge2
}

# start_edge1 MEM PCAP INFINITE(0|1) : waits until 10.0.0.0/8 goes over a tunnel that is up
start_edge1() {
  local inf="" t0 i r
  [ "$3" = 1 ] && inf=",infinite_rx=1"
  edge_conf 1 "$(eal_mem "$1")" 1 "$API_E1" "net_null2,no-rx=1" 02:5d:01:00:00:01 \
    "net_pcap0,rx_pcap=$2$inf" 192.168.10.1/24 "$(nbr wan0 203.0.113.2 02:5d:02:00:00:01)" > "$WORK/edge1.toml"
  t0=$(date +%s.%N)
  start edge1 "$BIN" edge --config "$WORK/edge1.toml"; E1=$LASTPID
  wait_api "$API_E1" "$E1" edge1
  for i in $(seq 600); do
    r=$(api "$API_E1" /api/routes | jq -r --arg p "$REMOTE" '.[] | select(.prefix == $p) | .next_hop' 2>/dev/null)
    if [[ $r == overlay* ]] && api "$API_E1" /api/tunnels | jq -e 'any(.[]; .state == "up")' > /dev/null 2>&1; then
      UP_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
      return 0
    fi
    kill -0 "$E1" 2>/dev/null || { tail -5 "$WORK/edge1.log" >&2; die "edge1 exited"; }
    sleep 0.1
  done
  # Was seen now and then until the BGP speaker gave a late subscriber
  # the routes it had already learned (dd57ebe). If it happens again:
  # what each side's BGP saw, and the logs, kept for a look.
  local what
  for what in "$API_E1 /api/tunnels" "$API_E1 /api/bgp/summary" "$API_E1 /api/routes" \
              "$API_RR /api/bgp/summary"; do
    log "at failure: GET http://${what/ /}"; api ${what} >&2; echo >&2
  done
  KEEP=1
  die "edge1: $REMOTE not over an up tunnel after 60 s (work dir kept)"
}

# counters NAME [API] : interfaces, time, drops of edge 1 (or API) -> $WORK/NAME.*
counters() {
  api "${2:-$API_E1}" /api/interfaces > "$WORK/$1.if"
  date +%s.%N > "$WORK/$1.t"
  api "${2:-$API_E1}" /api/drops > "$WORK/$1.drops"
}
ifval() { jq --arg n "$2" --arg f "$3" '.[] | select(.name == $n) | .[$f]' "$WORK/$1.if"; }
dropdiff() {   # reasons whose count grew between $1 and $2
  jq -n --slurpfile a "$WORK/$1.drops" --slurpfile b "$WORK/$2.drops" -c \
    '[$b[0][] | . as $x | {reason, packets: (.packets - ([$a[0][] | select(.reason == $x.reason) | .packets] | add // 0))} | select(.packets != 0)]'
}
elapsed() { awk -v a="$(cat "$WORK/$1.t")" -v b="$(cat "$WORK/$2.t")" 'BEGIN {print b - a}'; }
mpps() {   # mpps A B PORT : PORT's tx packet rate between counters A and B
  awk -v x="$(ifval "$1" "$3" tx_packets)" -v y="$(ifval "$2" "$3" tx_packets)" -v t="$(elapsed "$1" "$2")" \
    'BEGIN {printf "%.3f", (y - x) / t / 1e6}'
}
wait_decrypted() {   # wait_decrypted WHAT SECS PID... : until edge 1's lan0 has sent a packet
  local what=$1 secs=$2 i p; shift 2
  for i in $(seq $((secs * 10))); do
    [ "$(api "$API_E1" /api/interfaces | jq '.[] | select(.name == "lan0") | .tx_packets' 2>/dev/null)" -gt 0 ] 2>/dev/null && return 0
    for p in "$@"; do kill -0 "$p" 2>/dev/null || die "$what: an edge exited (logs in $WORK)"; done
    sleep 0.1
  done
  api "$API_E1" /api/drops >&2; die "$what: nothing decrypted after $secs s"
}

# ours_run MEM SIZE : R_MPPS R_WIRE (wire Gbps from WAN tx bytes) R_DROPS
ours_run() {
  start_edge1 "$1" "$WORK/in$2.pcap" 1
  sleep 1
  counters a; sleep "$DUR"; counters b
  stop_pid "$E1"; E1=""
  local dt
  dt=$(elapsed a b)
  R_MPPS=$(mpps a b wan0)
  R_WIRE=$(awk -v x="$(ifval a wan0 tx_bytes)" -v y="$(ifval b wan0 tx_bytes)" -v t="$dt" 'BEGIN {printf "%.2f", (y - x) * 8 / t / 1e9}')
  R_DROPS=$(dropdiff a b)
  log "ours $1 $2 B: $R_MPPS Mpps (wire $R_WIRE Gbps), tunnel up ${UP_S}s after start, drops in window: $R_DROPS"
}

# decap_run MEM SIZE : edge 1 (MEM, core 1) replays $WORK/esp$SIZE.pcap on
# its net_pcap WAN port (ESP-in-UDP from static peer 203.0.113.2, anti-replay
# off), decrypts and routes 10.0.0.0/8 (a static route) out of its net_null
# LAN port. R_MPPS = LAN tx rate, R_DROPS: edge 1's drops. Edge 2 is stopped
# first: it advertises 10.0.0.0/8.
decap_run() {
  stop_pid "$E2"; E2=""
  edge_conf 1 "$(eal_mem "$1")" 1 "$API_E1" "net_pcap0,rx_pcap=$WORK/esp$2.pcap,infinite_rx=1" "" \
    "net_null0,no-rx=1" 172.16.0.1/24 "$(nbr wan0 203.0.113.2 02:00:00:00:00:bb; nbr lan0 172.16.0.2 02:00:00:00:00:02)
[[route]]
vrf = \"blue\"
prefix = \"$REMOTE\"
via = \"172.16.0.2\"

[[static_peer]]
name = \"bench-gw\"
wan = 1
endpoint = \"203.0.113.2\"
esn = false
replay_window = 0
spi_out = 0x1001
key_out = \"$ESP_KEY\"
spi_in = $OURS_SPI
key_in = \"$ESP_KEY\"
[[static_peer.route]]
vrf = \"blue\"
prefix = \"192.168.10.0/24\"
label = 2101" > "$WORK/edge1p.toml"
  start edge1 "$BIN" edge --config "$WORK/edge1p.toml"; E1=$LASTPID
  wait_api "$API_E1" "$E1" edge1
  wait_decrypted decap 30 "$E1"
  sleep 1
  counters a; sleep "$DUR"; counters b
  stop_pid "$E1"; E1=""
  R_MPPS=$(mpps a b lan0)
  R_DROPS=$(dropdiff a b)
  log "decap $1 $2 B: $R_MPPS Mpps, drops in window: $R_DROPS"
}

# live_run MEM SIZE : edge 2 (nohuge, core 0) replays the pcap from its LAN
# into the tunnel, out of a net_memif client; edge 1 (MEM, core 1) gets the
# ESP on its net_memif server WAN port, decrypts and routes 10.0.0.0/8 (a
# static route, advertised to edge 2) out of its net_null LAN port.
# R_MPPS = edge 1 LAN tx rate; R_BUSY = share of the window edge 1's
# worker was awake (its busy_ratio is cumulative since start: windowed here
# with the start time); R_DROPS: edge 1's drops.
live_run() {
  local t0 memif="bov$$-memif.sock"   # memif: abstract socket, no file
  stop_pid "$E2"; E2=""
  edge_conf 1 "$(eal_mem "$1")" 1 "$API_E1" "net_memif0,role=server,socket=$memif,mac=02:5d:01:00:00:01" "" \
    "net_null0,no-rx=1" 172.16.0.1/24 "$(nbr wan0 203.0.113.2 02:5d:02:00:00:01; nbr lan0 172.16.0.2 02:00:00:00:00:02)
[[route]]
vrf = \"blue\"
prefix = \"$REMOTE\"
via = \"172.16.0.2\"" > "$WORK/edge1d.toml"
  edge_conf 2 "$(eal_mem nohuge)" 0 "$API_E2" "net_memif0,role=client,socket=$memif,mac=02:5d:02:00:00:01" "" \
    "net_pcap0,rx_pcap=$WORK/in$2.pcap,infinite_rx=1" 192.168.10.1/24 \
    "$(nbr wan0 203.0.113.1 02:5d:01:00:00:01)" > "$WORK/edge2d.toml"
  t0=$(date +%s.%N)
  start edge1 "$BIN" edge --config "$WORK/edge1d.toml"; E1=$LASTPID
  wait_api "$API_E1" "$E1" edge1
  start edge2 "$BIN" edge --config "$WORK/edge2d.toml"; E2=$LASTPID
  wait_api "$API_E2" "$E2" edge2
  wait_decrypted live 60 "$E1" "$E2"
  sleep 1
  api "$API_E1" /api/workers > "$WORK/wa.json"; counters a
  sleep "$DUR"
  api "$API_E1" /api/workers > "$WORK/wb.json"; counters b
  stop_pid "$E2"; E2=""; stop_pid "$E1"; E1=""
  R_MPPS=$(mpps a b lan0)
  R_BUSY=$(awk -v ra="$(jq '.[0].busy_ratio' "$WORK/wa.json")" -v rb="$(jq '.[0].busy_ratio' "$WORK/wb.json")" \
    -v s="$t0" -v a="$(cat "$WORK/a.t")" -v b="$(cat "$WORK/b.t")" \
    'BEGIN {x = (rb * (b - s) - ra * (a - s)) / (b - a); printf "%.2f", (x > 1 ? 1 : x)}')
  R_DROPS=$(dropdiff a b)
  log "live $1 $2 B: $R_MPPS Mpps, edge 1 worker awake $R_BUSY of the window, edge 1 drops in window: $R_DROPS"
}

# ---------------------------------------------------------------- run
log "bench-overlay $(date -u +%FT%TZ), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), bin $BIN"
python3 "$ROOT/scripts/mkpcap.py" "$WORK/in64.pcap" 64 1024 "$IN_MAC"
python3 "$ROOT/scripts/mkpcap.py" "$WORK/in1400.pcap" 1400 1024 "$IN_MAC"
if [ -n "$DECAP" ]; then
  for s in 64 1400; do
    /usr/bin/python3 "$ROOT/scripts/mkesp.py" "$WORK/esp$s.pcap" "$s" 1024 "$IN_MAC" --spi "$OURS_SPI" \
      --key "$ESP_KEY" --src 203.0.113.2 --dst 203.0.113.1 --natt --mpls 1101 || die "mkesp.py failed"
    /usr/bin/python3 "$ROOT/scripts/mkesp.py" "$WORK/sgw$s.pcap" "$s" 1024 "$IN_MAC" --spi "$SGW_SPI" \
      --key "$ESP_KEY" --src 172.16.1.5 --dst 172.16.2.5 || die "mkesp.py failed"
  done
fi
[ -n "$DECAP$FWD" ] && build_secgw_in
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
start_underlay

declare -A OURS=() WIRE=() DROPS=()
if [ -n "$FWD" ]; then
  for m in $MEMS; do
    if [ "$m" = huge ] && ! setup_huge; then continue; fi
    for s in 64 1400; do
      mp=() wg=() sg=()
      # secgw and ours alternate run by run (the machine's load drifts)
      for _ in $(seq "$RUNS"); do
        if [ -n "$SGW_IN" ]; then secgw_run out "$m" "$s"; sg+=("$R_MPPS"); fi
        ours_run "$m" "$s"; mp+=("$R_MPPS"); wg+=("$R_WIRE")
      done
      OURS[$s.$m]=$(median "${mp[@]}"); WIRE[$s.$m]=$(median "${wg[@]}"); DROPS[$s.$m]=$R_DROPS
      [ -n "$SGW_IN" ] && SG[$s.$m]=$(median "${sg[@]}")
    done
  done
fi

# ---------------------------------------------------------------- churn
CHURN_LINE=""
if [ -n "$CHURN" ]; then
  m=${MEMS%% *}
  [ "$m" = huge ] && ! setup_huge && m=nohuge
  start_edge1 "$m" "$WORK/in64.pcap" 1
  sleep 1
  counters p; sleep "$DUR"      # the rate without churn, for comparison
  fib0=$(api "$API_E1" /api/routes | jq length)
  api "$API_RR" /api/bgp/neighbors > "$WORK/rr0.json"
  api "$API_E1" /api/bgp/neighbors > "$WORK/e10.json"
  # five reads at each end (counters are published per burst, a read can
  # fall between two ports' stores): the median LAN rx - WAN tx is used
  imb=() ; for i in 1 2 3 4 5; do counters c$i; imb+=($(( $(ifval c$i lan0 rx_packets) - $(ifval c$i wan0 tx_packets) ))); done
  I0=$(median "${imb[@]}")
  log "churn: $RATE updates/s for ${CHURN_S}s from 127.0.0.73 (edge 1 forwarding 64 B to $REMOTE, $m, FIB $fib0 routes)"
  python3 "$ROOT/scripts/bgp-churn.py" --local 127.0.0.73 --peer 127.0.0.1 --port "$RR_PORT" \
      --rate "$RATE" --seconds "$CHURN_S" --nexthop 10.255.0.2 > "$WORK/churn.json" 2> "$WORK/churn.err" &
  CP=$!; PIDS+=("$CP")
  # FIB size while churning (shows edge 1 installs the churned routes)
  fibmax=$fib0
  while kill -0 "$CP" 2>/dev/null; do
    n=$(api "$API_E1" /api/routes | jq length 2>/dev/null || echo 0)
    [ "${n:-0}" -gt "$fibmax" ] && fibmax=$n
    sleep 1
  done
  wait "$CP"; crc=$?; untrack "$CP"
  sleep 2
  imb=() ; for i in 1 2 3 4 5; do counters d$i; imb+=($(( $(ifval d$i lan0 rx_packets) - $(ifval d$i wan0 tx_packets) ))); done
  I1=$(median "${imb[@]}")
  fib1=$(api "$API_E1" /api/routes | jq length)
  api "$API_RR" /api/bgp/neighbors > "$WORK/rr1.json"
  api "$API_E1" /api/bgp/neighbors > "$WORK/e11.json"
  stop_pid "$E1"; E1=""
  [ "$crc" = 0 ] || log "churn speaker failed: $(cat "$WORK/churn.json" "$WORK/churn.err")"
  sent=$(jq -r '"\(.updates) updates (\(.announced) announce, \(.withdrawn) withdraw) in \(.seconds) s = \(.rate)/s"' "$WORK/churn.json" 2>/dev/null)
  # received = announcements + withdrawals in the peers' counters
  recv() { jq -s --arg n "$2" '[.[] | .[] | select(.neighbor == $n) | .detail.counters | (.prefixes_received + .withdrawals_received)] | .[1] - .[0]' "$WORK/${1}0.json" "$WORK/${1}1.json"; }
  rr_in=$(recv rr 127.0.0.73); e1_in=$(recv e1 127.0.0.1)
  secs=$(jq '.seconds' "$WORK/churn.json" 2>/dev/null || echo "$CHURN_S")
  per_s() { awk -v n="$1" -v t="$secs" 'BEGIN {if (n == "" || n == "null") print "NA"; else printf "%.0f/s", n / t}'; }
  before=$(mpps p c1 wan0)
  dt=$(elapsed c1 d1)
  rx=$(( $(ifval d1 lan0 rx_packets) - $(ifval c1 lan0 rx_packets) ))
  tx=$(( $(ifval d1 wan0 tx_packets) - $(ifval c1 wan0 tx_packets) ))
  CHURN_LINE=$(printf '%s\n%s\n%s' \
    "churn: sent $sent; controller got $rr_in ($(per_s "$rr_in")), edge 1 got $e1_in ($(per_s "$e1_in")) from the RR (announced + withdrawn NLRI); edge 1 FIB $fib0 -> max $fibmax (sampled 1/s) -> $fib1 routes" \
    "churn: unchanged prefix $REMOTE over $(printf '%.1f' "$dt") s: LAN rx $rx, WAN tx $tx ($(awk -v t="$tx" -v d="$dt" 'BEGIN {printf "%.3f", t / d / 1e6}') Mpps; $before Mpps before the churn), lost (rx - tx) $((I1 - I0))" \
    "churn: drops by reason in the window: $(dropdiff c1 d1)")
fi
# ---------------------------------------------------------------- decap
# secgw and ours alternate run by run (the machine's load drifts)
declare -A DEC=() DECSG=() DECDROPS=()
if [ -n "$DECAP" ]; then
  for m in $MEMS; do
    if [ "$m" = huge ] && ! setup_huge; then continue; fi
    for s in 64 1400; do
      mp=() sg=()
      for _ in $(seq "$RUNS"); do
        if [ -n "$SGW_IN" ]; then secgw_run in "$m" "$s"; sg+=("$R_MPPS"); fi
        decap_run "$m" "$s"; mp+=("$R_MPPS")
      done
      DEC[$s.$m]=$(median "${mp[@]}"); DECDROPS[$s.$m]=$R_DROPS
      [ -n "$SGW_IN" ] && DECSG[$s.$m]=$(median "${sg[@]}")
    done
  done
fi
declare -A LIV=() LIVBUSY=() LIVDROPS=()
if [ -n "$LIVE" ]; then
  for m in $MEMS; do
    if [ "$m" = huge ] && ! setup_huge; then continue; fi
    for s in 64 1400; do
      mp=() bz=()
      for _ in $(seq "$RUNS"); do live_run "$m" "$s"; mp+=("$R_MPPS"); bz+=("$R_BUSY"); done
      LIV[$s.$m]=$(median "${mp[@]}"); LIVBUSY[$s.$m]=$(median "${bz[@]}"); LIVDROPS[$s.$m]=$R_DROPS
    done
  done
fi
LOAD1=$(cut -d' ' -f1 /proc/loadavg)

# ---------------------------------------------------------------- report
if [ -n "$FWD" ]; then
  echo "# encrypted forwarding (encap LAN -> WAN), net_pcap(infinite_rx) -> net_null, 1 worker core, ${DUR}s x $RUNS run(s)"
  printf '%-7s %-6s | %9s %9s %6s | %9s %9s %6s | %9s\n' mem size "ours Mpps" "sgw Mpps" ratio "ours Gbps" "sgw Gbps" ratio "wire Gbps"
  for m in $MEMS; do for s in 64 1400; do
    o=${OURS[$s.$m]:-NA} g=${SG[$s.$m]:-NA}
    [ -n "$g" ] || g=NA
    og=$(gbps "$o" "$s") gg=$(gbps "$g" "$s")
    printf '%-7s %-6s | %9s %9s %6s | %9s %9s %6s | %9s\n' "$m" "${s}B" "$o" "$g" "$(ratio "$o" "$g")" \
      "$og" "$gg" "$(ratio "$og" "$gg")" "${WIRE[$s.$m]:-NA}"
  done; done
  echo "ours: sdwan edge, ESP-in-UDP 4500 (NAT-T) + MPLS label, AES-128-GCM ESN; Gbps = Mpps x input frame x 8"
  echo "secgw: dpdk ipsec-secgw -l -e outbound ESP tunnel AES-128-GCM cpu-crypto ESN, no NAT-T (dp_anchors.sh's lib_cpu_esn case), same pcap; wire Gbps = our WAN tx bytes"
  for m in $MEMS; do for s in 64 1400; do
    d=${DROPS[$s.$m]:-}
    [ -n "$d" ] && [ "$d" != "[]" ] && echo "ours drops $m ${s}B: $d"
  done; done
fi
if [ -n "$DECAP" ]; then
  echo "# decap (WAN -> LAN), net_pcap(infinite_rx) of 1024 ESP packets -> net_null, 1 worker core, ${DUR}s x $RUNS run(s)"
  printf '%-7s %-6s | %9s %9s %6s | %9s %9s %6s | %s\n' mem size "ours Mpps" "sgw Mpps" ratio "ours Gbps" "sgw Gbps" ratio "ours drops"
  for m in $MEMS; do for s in 64 1400; do
    o=${DEC[$s.$m]:-NA} g=${DECSG[$s.$m]:-NA}
    printf '%-7s %-6s | %9s %9s %6s | %9s %9s %6s | %s\n' "$m" "${s}B" "$o" "$g" "$(ratio "$o" "$g")" \
      "$(gbps "$o" "$s")" "$(gbps "$g" "$s")" "$(ratio "$o" "$g")" "${DECDROPS[$s.$m]:-NA}"
  done; done
  echo "ours: ESP-in-UDP 4500 + MPLS label from a static peer (esn = false, replay_window = 0), AES-128-GCM,"
  echo "      then TTL-1, lookup, Ethernet rewrite; Gbps = Mpps x inner frame x 8"
  echo "secgw: dpdk ipsec-secgw -l inbound ESP tunnel AES-128-GCM cpu-crypto (no ESN, replay window 0), same pcap source"
fi
if [ -n "$LIVE" ]; then
  echo "# live decap (ESN, anti-replay 1024): edge 2 encrypts the pcap (core 0) -> net_memif -> edge 1 decrypts (1 worker, core 1) -> net_null"
  printf '%-7s %-6s | %9s %9s | %6s %14s | %s\n' mem size "Mpps" "Gbps" "awake" "Mpps/awake" "edge 1 drops"
  for m in $MEMS; do for s in 64 1400; do
    o=${LIV[$s.$m]:-NA} b=${LIVBUSY[$s.$m]:-NA}
    printf '%-7s %-6s | %9s %9s | %6s %14s | %s\n' "$m" "${s}B" "$o" "$(gbps "$o" "$s")" "$b" "$(ratio "$o" "$b")" "${LIVDROPS[$s.$m]:-NA}"
  done; done
  echo "live: Mpps = edge 1 LAN tx; awake = share of the window edge 1's worker did not sleep (< 1: edge 2, the"
  echo "      sender, limited the rate; awake time includes empty polls, so Mpps/awake is a lower bound of"
  echo "      edge 1's decap rate at saturation)"
fi
[ -n "$CHURN_LINE" ] && echo "$CHURN_LINE"
echo "load average (1 min): $LOAD0 at start of our runs, $LOAD1 at end"
if [ -n "$AEAD" ]; then
  log "raw AEAD / ESP layer: scripts/bench-esp.sh -s"
  bash "$ROOT/scripts/bench-esp.sh" -s
else
  echo "raw AEAD / ESP-layer rates: scripts/bench-esp.sh -s (or -a here)"
fi
