#!/usr/bin/env python3
"""Client-side helpers for the overlay end-to-end test and demo.

  overlay_peer.py serve NAME PORT      TCP server on [::]:PORT (IPv4 and IPv6):
                                       a connection that sends "id\\n" gets
                                       NAME back (which host answered: proves
                                       overlapping addresses stay in their
                                       VRF); one that sends "sink\\n" then
                                       data until EOF gets
                                       "<sha256> <bytes>" back.
                                       Prints "ready" once listening.
  overlay_peer.py ask DST PORT         prints the NAME the server at DST sends
  overlay_peer.py send DST PORT BYTES  sends BYTES bytes (random, with a
                                       cleartext marker every 4 KiB), checks
                                       the server's SHA-256 against its own;
                                       prints "ok <sha256> <bytes> <secs>" or
                                       exits 1 with the mismatch.
"""
import hashlib
import os
import socket
import sys
import threading
import time

# Searched for in the WAN capture: it must never appear in cleartext there.
MARKER = b"SDWAN-CLEARTEXT-MARKER"
TIMEOUT = 30.0


def handle(conn, name):
    with conn:
        conn.settimeout(TIMEOUT)
        f = conn.makefile("rb")
        cmd = f.readline().strip()
        if cmd == b"id":
            conn.sendall(name.encode() + b"\n")
        elif cmd == b"sink":
            h = hashlib.sha256()
            n = 0
            while True:
                chunk = f.read1(65536)
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
            conn.sendall(f"{h.hexdigest()} {n}\n".encode())
        else:
            conn.sendall(b"error unknown command\n")


def serve(name, port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn, name), daemon=True).start()


def connect(dst, port):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect((dst, port))
    return s


def ask(dst, port):
    with connect(dst, port) as s:
        s.sendall(b"id\n")
        print(s.makefile("rb").readline().decode().strip(), flush=True)


def payload(size):
    data = bytearray(os.urandom(size))
    for off in range(0, max(size - len(MARKER), 0), 4096):
        data[off:off + len(MARKER)] = MARKER
    return bytes(data)


def send(dst, port, size):
    data = payload(size)
    want = hashlib.sha256(data).hexdigest()
    start = time.time()
    with connect(dst, port) as s:
        s.sendall(b"sink\n" + data)
        s.shutdown(socket.SHUT_WR)
        reply = s.makefile("rb").readline().decode().split()
    took = time.time() - start
    if reply != [want, str(size)]:
        print(f"mismatch: sent {want} {size}, server got {reply}", flush=True)
        sys.exit(1)
    print(f"ok {want} {size} {took:.2f}", flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif cmd == "ask":
        ask(sys.argv[2], int(sys.argv[3]))
    elif cmd == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(f"unknown command {cmd!r}")
