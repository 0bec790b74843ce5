#!/usr/bin/env bash
# bench-esp.sh — our ESP encapsulation beside DPDK ipsec-secgw's outbound ESP
# path, measured in the same run on this machine, with ratios.
#
#   scripts/bench-esp.sh [-r RUNS] [-d SECONDS] [-m nohuge|huge] [-s]
#
#   -r RUNS     secgw runs per metric (default 1; dp_anchors.sh reports medians)
#   -d SECONDS  secgw measurement window (default 3)
#   -m MEM      secgw EAL memory, nohuge (default) or huge
#   -s          skip secgw (ours only)
#
# 1. ../shared/bench/dp_anchors.sh -t secgw (needs root, dpdk-doc, make, cc;
#    skipped with a message when it cannot run): AES-128-GCM ESP tunnel with
#    ESN on DPDK's cpu-crypto path (lib_cpu_esn), 64 B and 1400 B frames,
#    one lcore, net_pcap in -> net_null out.
# 2. cargo bench -p sdwan-crypto --bench esp for every backend (aws-lc-rs,
#    RustCrypto, intel-ipsec-mb when libIPSec_MB is installed): ESP encap
#    (AES-128-GCM, ESN, outer IPv4 + NAT-T UDP) of 64 B and 1400 B inner
#    packets, per packet and in bursts of 64, one core, thread CPU time.
#
# Read the ratio for what it is: secgw's number is a whole forwarding path
# (rx from pcap, SP/SA lookup, routing, tx), ours is the ESP layer alone
# (no I/O); and secgw's "64 B" is the Ethernet frame (50 B IP packet) where
# ours is a 64 B inner IP packet. It says how much of secgw's per-packet
# budget our ESP work takes, not which forwarder is faster end to end.
#
# stdout: the table. stderr: progress. Leaves nothing behind (dp_anchors.sh
# cleans up after itself; criterion output stays in the target dir).
set -uo pipefail

RUNS=1 DUR=3 MEM=nohuge SKIP_SECGW=""
while getopts "r:d:m:sh" o; do
  case $o in
    r) RUNS=$OPTARG ;;
    d) DUR=$OPTARG ;;
    m) MEM=$OPTARG ;;
    s) SKIP_SECGW=1 ;;
    *) sed -n '2,/^set -uo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHORS=${ANCHORS:-$ROOT/../shared/bench/dp_anchors.sh}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TMP=$(mktemp -d -t bench-esp.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
log() { printf '# %s\n' "$*" >&2; }

# ---- secgw
SG64=NA SG1400=NA
if [ -n "$SKIP_SECGW" ]; then
  log "secgw: skipped (-s)"
elif [ ! -x "$ANCHORS" ]; then
  log "secgw: $ANCHORS not found or not executable: skipped"
elif [ "$(id -u)" != 0 ]; then
  log "secgw: dp_anchors.sh needs root (hugepages, EAL): skipped"
elif ! command -v dpdk-testpmd > /dev/null; then
  log "secgw: DPDK tools missing (scripts/setup.sh installs them): skipped"
else
  log "secgw: $ANCHORS -t secgw -m $MEM -r $RUNS -d $DUR"
  "$ANCHORS" -t secgw -m "$MEM" -r "$RUNS" -d "$DUR" > "$TMP/secgw.txt" 2> "$TMP/secgw.err"
  grep -E '^# (secgw|huge)' "$TMP/secgw.err" >&2
  SG64=$(awk -v k="secgw.esp_gcm128.lib_cpu_esn.64B.$MEM.mpps.median" '$1 == k { print $2 }' "$TMP/secgw.txt")
  SG1400=$(awk -v k="secgw.esp_gcm128.lib_cpu_esn.1400B.$MEM.gbps.median" '$1 == k { print $2 }' "$TMP/secgw.txt")
  SG64=${SG64:-NA} SG1400=${SG1400:-NA}
  [ "$SG64" = NA ] && log "secgw: no 64 B result (stderr above; see dp_anchors.sh -k LOGDIR for logs)"
fi

# ---- ours
FEATURES=rustcrypto
if [ -e /usr/include/intel-ipsec-mb.h ]; then
  FEATURES=rustcrypto,ipsec-mb
else
  log "ours: intel-ipsec-mb.h missing (libipsec-mb-dev): ipsec-mb backend skipped"
fi
log "ours: cargo bench -p sdwan-crypto --features $FEATURES --bench esp (encap/decap 64/1400, bursts; the table rows need both)"
(cd "$ROOT" && cargo bench -p sdwan-crypto -j 2 --features "$FEATURES" --bench esp -- \
    '^[^/]+/(64|1400)/(seal|encap|open|decap)$|^[^/]+/burst(64|1400)/(encap|decap)' ) > "$TMP/ours.txt" 2> "$TMP/ours.err" \
  || { log "ours: cargo bench failed:"; tail -20 "$TMP/ours.err" >&2; exit 1; }

# Table 1 rows: backend size | seal encap cyc ratio | open decap cyc ratio | Mpps Gbps
# Table 2 rows: backend size | encap burst ratio Mpps Gbps | decap burst ratio
awk -v sg64="$SG64" -v sg1400="$SG1400" '
  function ratio(a, b) { return (b == "NA" || b == 0 || a == "NA") ? "NA" : sprintf("%.2f", a / b) }
  /^per packet, median; cycles/        { t = 1; next }
  /^per packet, median of 64-packet/   { t = 2; next }
  /^fastest of/                        { t = 3; next }
  t == 1 && $3 == "|" && $2 == 64      { pp64[$1] = $(NF - 1); order[$1] = ++n }
  t == 1 && $3 == "|" && $2 == 1400    { pp1400[$1] = $NF }
  t == 2 && $3 == "|" && $2 == 64      { b64[$1] = $8 }
  t == 2 && $3 == "|" && $2 == 1400    { b1400[$1] = $9 }
  END {
    printf "%-11s %-10s | %9s %8s %6s | %10s %8s %6s\n", "backend", "path", "64B Mpps", "secgw", "ratio", "1400B Gbps", "secgw", "ratio"
    for (i = 1; i <= n; i++) for (be in order) if (order[be] == i) {
      printf "%-11s %-10s | %9s %8s %6s | %10s %8s %6s\n", be, "per-packet", pp64[be], sg64, ratio(pp64[be], sg64), pp1400[be], sg1400, ratio(pp1400[be], sg1400)
      if (be in b64)
        printf "%-11s %-10s | %9s %8s %6s | %10s %8s %6s\n", be, "burst64", b64[be], sg64, ratio(b64[be], sg64), b1400[be], sg1400, ratio(b1400[be], sg1400)
    }
  }' "$TMP/ours.txt"
echo "secgw: ipsec-secgw lib_cpu_esn (AES-128-GCM, ESN, crypto_aesni_gcm), mem=$MEM, median of $RUNS run(s) x ${DUR}s"
echo "ours: ESP encap + outer IPv4/NAT-T, AES-128-GCM, ESN, one core (thread CPU time); ratio = ours / secgw"
