#!/usr/bin/env python3
"""UDP flow with sequence numbers, for end-to-end loss checks.

  udp_flow.py recv PORT COUNT TIMEOUT   -> prints "received N distinct" when
                                           COUNT arrived or TIMEOUT passed
  udp_flow.py send DST PORT COUNT PPS   -> sends COUNT datagrams at PPS
"""
import socket
import sys
import time


def recv(port, count, timeout):
    fam = socket.AF_INET6
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("::", port))
    print("ready", flush=True)
    seen = set()
    deadline = time.time() + timeout
    s.settimeout(0.2)
    while len(seen) < count and time.time() < deadline:
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        seen.add(int.from_bytes(data[:8], "big"))
    print(f"received {len(seen)} distinct", flush=True)


def send(dst, port, count, pps):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    start = time.time()
    for i in range(count):
        target = start + i / pps
        delay = target - time.time()
        if delay > 0:
            time.sleep(delay)
        s.sendto(i.to_bytes(8, "big") + b"x" * 56, (dst, port))
    print(f"sent {count}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        recv(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
