#!/usr/bin/env bash
# 64-byte IPv4 forwarding rate of the sdwan edge (one worker, routed with
# LPM + neighbor lookup + TTL/checksum rewrite) beside dpdk-testpmd in io
# and mac forward mode, on the SAME vdevs in the same run: a net_pcap port
# replaying a pcap forever (rx = mbuf alloc + copy) into a net_null port
# (tx = free). Prints Mpps per run and the ratio ours/testpmd.
#
#   scripts/bench-forward.sh [-d SECONDS] [-r RUNS] [-s FRAME_BYTES]
#
# Hugepages: used when /proc/sys/vm/nr_hugepages > 0 (EAL --in-memory),
# else --no-huge. Needs root. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=5 RUNS=3 SIZE=64
while getopts "d:r:s:" o; do
  case $o in d) DUR=$OPTARG ;; r) RUNS=$OPTARG ;; s) SIZE=$OPTARG ;; *) exit 2 ;; esac
done
SDWAN_SKIP_BUILD=${SDWAN_SKIP_BUILD:-0} bash scripts/setup.sh >/dev/null
BIN=target/release/sdwan
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT

# net_pcap ports have the fixed MAC 02:70:63:61:70:<index> ("pcap") and
# cannot change it: the frames are addressed to it.
IN_MAC=02:70:63:61:70:00
/usr/bin/python3 scripts/mkpcap.py "$WORK/in.pcap" "$SIZE" 1024 "$IN_MAC"
if [ "$(cat /proc/sys/vm/nr_hugepages)" -gt 0 ]; then MEM='"--in-memory"'; MEMARGS="--in-memory"; MODE=huge
else MEM='"--no-huge", "--no-shconf"'; MEMARGS="--no-huge --no-shconf"; MODE=nohuge; fi
VDEV_IN="net_pcap0,rx_pcap=$WORK/in.pcap,infinite_rx=1"
VDEV_OUT="net_null1,no-rx=1"

# testpmd_mpps MODE : forwarding lcore 1, prints the Tx-pps it reports
testpmd_mpps() {
  local log=$WORK/testpmd.log
  timeout -s INT $((DUR + 3)) dpdk-testpmd -l 0,1 $MEMARGS -m 1024 --no-pci --log-level=3 \
    --vdev "$VDEV_IN" --vdev "$VDEV_OUT" -- --forward-mode="$1" --auto-start \
    --stats-period 1 --rxq=1 --txq=1 --burst=32 > "$log" 2>&1 || true
  # last full stats block: sum Tx-pps of both ports
  awk '/Tx-pps:/ {v[n++]=$2} END {if (n>=2) printf "%.3f\n", (v[n-1]+v[n-2])/1e6; else print "NA"}' "$log"
}

ours_mpps() {
  cat > "$WORK/edge.toml" <<CONF
[eal]
args = [$MEM, "-m", "1024", "--no-pci", "--log-level=3", "-l", "0"]
[dataplane]
workers = 1
cores = [1]
[[port]]
name = "in"
device = "$VDEV_IN"
addresses = ["192.168.10.1/24"]
[[port]]
name = "out"
device = "$VDEV_OUT"
addresses = ["192.0.2.1/24"]
[[route]]
prefix = "10.0.0.0/8"
via = "192.0.2.2"
[[neighbor]]
port = "out"
ip = "192.0.2.2"
mac = "02:00:00:00:00:02"
[management]
listen = "127.0.0.1:9931"
CONF
  $BIN edge --config "$WORK/edge.toml" > "$WORK/edge.log" 2>&1 &
  local pid=$!; PIDS+=("$pid")
  local tx0 tx1 t0 t1
  for _ in $(seq 100); do curl -sf http://127.0.0.1:9931/api/health >/dev/null && break; sleep 0.1; done
  sleep 2
  tx0=$(curl -sf http://127.0.0.1:9931/api/interfaces | jq '.[] | select(.name=="out") | .tx_packets'); t0=$(date +%s.%N)
  sleep "$DUR"
  tx1=$(curl -sf http://127.0.0.1:9931/api/interfaces | jq '.[] | select(.name=="out") | .tx_packets'); t1=$(date +%s.%N)
  curl -sf http://127.0.0.1:9931/api/drops > "$WORK/drops.json"
  kill -TERM "$pid"; wait "$pid" || true
  awk -v a="$tx0" -v b="$tx1" -v s="$t0" -v e="$t1" 'BEGIN {printf "%.3f\n", (b-a)/(e-s)/1e6}'
}

echo "# ${SIZE} B IPv4 forwarding, net_pcap(infinite_rx) -> net_null, 1 forwarding core, $MODE, $DUR s x $RUNS runs"
declare -a IO MAC OURS
for r in $(seq "$RUNS"); do
  IO+=("$(testpmd_mpps io)"); MAC+=("$(testpmd_mpps mac)"); OURS+=("$(ours_mpps)")
  echo "run $r: testpmd io ${IO[-1]} Mpps, testpmd mac ${MAC[-1]} Mpps, sdwan edge ${OURS[-1]} Mpps"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mi=$(median "${IO[@]}"); mm=$(median "${MAC[@]}"); mo=$(median "${OURS[@]}")
echo "median: testpmd io $mi Mpps, testpmd mac $mm Mpps, sdwan $mo Mpps"
awk -v o="$mo" -v i="$mi" -v m="$mm" 'BEGIN {printf "ratio sdwan/testpmd-io %.2f, sdwan/testpmd-mac %.2f\n", o/i, o/m}'
echo "sdwan drops during the last run: $(cat "$WORK/drops.json")"
