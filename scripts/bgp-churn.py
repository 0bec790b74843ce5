#!/usr/bin/env python3
"""Paced VPNv4 route churn: an iBGP speaker that announces and withdraws
routes at a fixed rate, for the route-churn part of scripts/bench-overlay.sh.

  bgp-churn.py --local 127.0.0.13 --peer 127.0.0.1 --port 1179 \
      --rate 10000 --seconds 10 --prefixes 5000 --nexthop 10.255.0.2

It connects from --local to --peer:--port, completes OPEN/KEEPALIVE (4-octet
AS, multiprotocol VPNv4 = AFI 1 / SAFI 128, RFC 4760 / RFC 4364), waits
--settle seconds, then for --seconds sends --rate route updates per second
(an update = one NLRI announced or withdrawn), paced in 10 ms slots: passes
over --prefixes /24s inside 100.64.0.0/10 (RD 0:--rd-asn:--rd), even passes
announce them (MP_REACH_NLRI, next hop --nexthop, Route Target --rt, Color
--color, ORIGIN IGP, empty AS_PATH, LOCAL_PREF 100), odd passes withdraw
them (MP_UNREACH_NLRI, label 0x800000, RFC 8277 §2.4). UPDATEs carry up to
--per-msg NLRI. Then it withdraws what is still announced, sends a Cease
and exits.

stdout: one JSON line at the end: announced, withdrawn, seconds, rate.
Only the Python standard library.
"""
import argparse
import json
import socket
import struct
import sys
import threading
import time

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE = 1, 2, 3, 4
AFI_IPV4, SAFI_VPN = 1, 128
F_OPT, F_TRANS, F_EXTLEN = 0x80, 0x40, 0x10


def msg(mtype, body=b""):
    return MARKER + struct.pack("!HB", 19 + len(body), mtype) + body


def attr(flags, code, value):
    if len(value) > 255:
        return struct.pack("!BBH", flags | F_EXTLEN, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def build_open(asn, hold, router_id):
    caps = struct.pack("!BBHBB", 1, 4, AFI_IPV4, 0, SAFI_VPN)  # MP VPNv4
    caps += struct.pack("!BBI", 65, 4, asn)  # 4-octet AS (RFC 6793)
    params = struct.pack("!BB", 2, len(caps)) + caps
    body = struct.pack("!BHH4sB", 4, asn if asn <= 0xFFFF else 23456, hold,
                       socket.inet_aton(router_id), len(params)) + params
    return msg(OPEN, body)


def nlri(label, rd, i):
    """VPNv4 NLRI for 100.64.0.0/10's i-th /24 (RFC 4364 §4.3.4)."""
    lab = struct.pack("!I", label)[1:]
    pfx = bytes((100, 64 + (i >> 8), i & 0xFF))
    return bytes((24 + 64 + 24,)) + lab + rd + pfx


def updates(a):
    """Pre-built (announce, withdraw) UPDATE lists, one entry per batch."""
    rd = struct.pack("!HHI", 0, a.rd_asn, a.rd)
    gadm, val = a.rt.split(":")
    ext = b"\x00\x02" + struct.pack("!HI", int(gadm), int(val))
    if a.color:
        ext += b"\x03\x0b\x00\x00" + struct.pack("!I", a.color)
    pre = attr(F_TRANS, 1, b"\x00") + attr(F_TRANS, 2, b"") + attr(F_TRANS, 5, struct.pack("!I", 100))
    post = attr(F_OPT | F_TRANS, 16, ext)
    nh = struct.pack("!HBB", AFI_IPV4, SAFI_VPN, 12) + b"\x00" * 8 + socket.inet_aton(a.nexthop) + b"\x00"
    ann, wd = [], []
    for s in range(0, a.prefixes, a.per_msg):
        idx = range(s, min(s + a.per_msg, a.prefixes))
        reach = b"".join(nlri((a.label << 4) | 1, rd, i) for i in idx)
        attrs = pre + attr(F_OPT, 14, nh + reach) + post
        ann.append((len(idx), msg(UPDATE, b"\x00\x00" + struct.pack("!H", len(attrs)) + attrs)))
        gone = b"".join(nlri(0x800000, rd, i) for i in idx)
        attrs = attr(F_OPT, 15, struct.pack("!HB", AFI_IPV4, SAFI_VPN) + gone)
        wd.append((len(idx), msg(UPDATE, b"\x00\x00" + struct.pack("!H", len(attrs)) + attrs)))
    return ann, wd


def read_msg(sock, buf):
    while True:
        if len(buf) >= 19:
            ln = struct.unpack("!H", buf[16:18])[0]
            if len(buf) >= ln:
                return buf[18], bytes(buf[19:ln]), buf[ln:]
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("peer closed the session")
        buf += chunk


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--local", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--port", type=int, default=179)
    ap.add_argument("--as", dest="asn", type=int, default=65000)
    ap.add_argument("--rate", type=int, default=10000, help="route updates per second")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--prefixes", type=int, default=5000, help="at most 16384")
    ap.add_argument("--per-msg", type=int, default=100, help="NLRI per UPDATE")
    ap.add_argument("--nexthop", required=True)
    ap.add_argument("--rt", default="65000:1")
    ap.add_argument("--color", type=int, default=100)
    ap.add_argument("--rd-asn", type=int, default=65000)
    ap.add_argument("--rd", type=int, default=99)
    ap.add_argument("--label", type=int, default=2999)
    ap.add_argument("--settle", type=float, default=1.0, help="seconds after Established")
    ap.add_argument("--connect-timeout", type=float, default=20)
    a = ap.parse_args()
    if not 0 < a.prefixes <= 16384:
        raise SystemExit("--prefixes must be 1..16384 (100.64.0.0/10 in /24s)")
    ann, wd = updates(a)

    deadline = time.time() + a.connect_timeout
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((a.local, 0))
        try:
            sock.connect((a.peer, a.port))
            break
        except OSError as e:
            sock.close()
            if time.time() > deadline:
                raise SystemExit("connect %s:%d: %s" % (a.peer, a.port, e))
            time.sleep(0.2)
    lock = threading.Lock()

    def send(data):
        with lock:
            sock.sendall(data)

    send(build_open(a.asn, 90, a.local))
    t, _, buf = read_msg(sock, bytearray())
    if t != OPEN:
        raise SystemExit("expected OPEN, got type %d" % t)
    send(msg(KEEPALIVE))
    t, body, buf = read_msg(sock, buf)
    if t != KEEPALIVE:
        raise SystemExit("expected KEEPALIVE, got type %d %s" % (t, body[:2].hex()))
    closed = threading.Event()

    def drain():  # the peer's UPDATEs and KEEPALIVEs: read and ignore
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
        closed.set()

    def keepalive():
        while not closed.wait(10):
            try:
                send(msg(KEEPALIVE))
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    threading.Thread(target=keepalive, daemon=True).start()
    time.sleep(a.settle)

    counts = {"announced": 0, "withdrawn": 0}
    t0 = time.perf_counter()
    sent, k, n = 0, 0, len(ann)
    while not closed.is_set():
        now = time.perf_counter() - t0
        if now >= a.seconds:
            break
        target = int(a.rate * min(now + 0.01, a.seconds))
        while sent < target:
            announce = (k // n) % 2 == 0
            cnt, m = (ann if announce else wd)[k % n]
            send(m)
            counts["announced" if announce else "withdrawn"] += cnt
            sent += cnt
            k += 1
        time.sleep(max(0.0, 0.01 - (time.perf_counter() - t0 - now)))
    elapsed = time.perf_counter() - t0
    if closed.is_set():
        print(json.dumps({"error": "session closed by peer", **counts}))
        sys.exit(1)
    # Leave nothing announced: withdraw the rest of the current pass.
    left = wd[: k % n] if (k // n) % 2 == 0 else wd[k % n:]
    for _, m in left:
        send(m)
    time.sleep(0.5)
    try:
        send(msg(NOTIFICATION, bytes((6, 2))))  # Cease / Administrative Shutdown
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
    print(json.dumps({**counts, "updates": sent, "seconds": round(elapsed, 3),
                      "rate": round(sent / elapsed) if elapsed else None}))


if __name__ == "__main__":
    main()
