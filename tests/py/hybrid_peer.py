#!/usr/bin/env python3
"""Client-side helpers for the hybrid WAN end-to-end test and demo.

  hybrid_peer.py peer-serve PORT       TCP server on PORT: answers each
                                       connection with the address it came
                                       from (what source NAT made of it).
                                       Prints "ready" once listening.
  hybrid_peer.py ask-peer DST PORT     prints the address DST saw us as
  hybrid_peer.py udp-echo PORT         UDP echo server; prints "ready"
  hybrid_peer.py udp-stream DST PORT SECS INTERVAL_MS
                                       sends a numbered datagram every
                                       INTERVAL_MS for SECS seconds, prints
                                       one JSON line: sent, received and
                                       the longest gap between two echoes
                                       (ms), the failover time a flow saw.
"""
import json
import socket
import sys
import time


def peer_serve(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    print("ready", flush=True)
    while True:
        conn, addr = s.accept()
        with conn:
            conn.sendall(f"{addr[0]}\n".encode())


def ask_peer(dst, port):
    with socket.create_connection((dst, port), timeout=5) as c:
        print(c.makefile("rb").readline().decode().strip())


def udp_echo(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    print("ready", flush=True)
    while True:
        data, addr = s.recvfrom(2048)
        s.sendto(data, addr)


def udp_stream(dst, port, secs, interval_ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    interval = interval_ms / 1000.0
    start = time.monotonic()
    next_send = start
    seq = 0
    seen = set()
    last_rx = None
    max_gap = 0.0
    while time.monotonic() - start < secs + 1.0:
        now = time.monotonic()
        if now >= next_send and now - start < secs:
            s.sendto(seq.to_bytes(4, "big") + b"x" * 60, (dst, port))
            seq += 1
            next_send += interval
        try:
            data, _ = s.recvfrom(2048)
            n = int.from_bytes(data[:4], "big")
            t = time.monotonic()
            if n not in seen:
                seen.add(n)
                if last_rx is not None:
                    max_gap = max(max_gap, t - last_rx)
                last_rx = t
        except BlockingIOError:
            time.sleep(0.001)
    print(json.dumps({"sent": seq, "received": len(seen),
                      "max_gap_ms": round(max_gap * 1000, 1)}), flush=True)


def main():
    cmd = sys.argv[1]
    if cmd == "peer-serve":
        peer_serve(int(sys.argv[2]))
    elif cmd == "ask-peer":
        ask_peer(sys.argv[2], int(sys.argv[3]))
    elif cmd == "udp-echo":
        udp_echo(int(sys.argv[2]))
    elif cmd == "udp-stream":
        udp_stream(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
