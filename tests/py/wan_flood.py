#!/usr/bin/env python3
"""Floods an edge's internet WAN address from one attacker host, for the
WAN guard end-to-end test (tests/e2e_wan_guard.rs).

  wan_flood.py TARGET_V4 TARGET_V6 TRANSIT_V4 SECONDS PPS

Round robin, paced to PPS packets per second in total for SECONDS:
  - TCP SYN to port 179 (BGP) on TARGET_V4 (raw socket; the kernel adds
    the IPv4 header),
  - UDP to random ports on TARGET_V4,
  - ESP-in-UDP to 4500 on TARGET_V4 with a bogus SPI (0xdeadbeef),
  - UDP to random ports on TARGET_V6,
  - UDP to TRANSIT_V4 (routed via the edge by the caller: transit).
Prints one JSON line with the packets sent per kind.
"""
import json
import random
import socket
import struct
import sys
import time


def syn(sport, dport):
    # Source port, destination port, seq, ack, data offset 5, SYN, window;
    # checksum left 0 (the edge does not verify it; it must not accept it).
    return struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0,
                       5 << 4, 0x02, 65535, 0, 0)


def random_port():
    # Never the overlay's (4500), IKE (500) or the test's allowed 7777.
    while True:
        p = random.randint(1024, 65535)
        if p not in (4500, 7777):
            return p


def main():
    target4, target6, transit4 = sys.argv[1], sys.argv[2], sys.argv[3]
    seconds, pps = float(sys.argv[4]), int(sys.argv[5])
    tcp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    udp4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    esp = struct.pack("!II", 0xDEADBEEF, 1) + bytes(48)
    sent = {"bgp_syn": 0, "udp_random": 0, "esp_bogus_spi": 0,
            "udp6_random": 0, "transit": 0}
    kinds = list(sent)
    start = time.monotonic()
    n = 0
    while True:
        now = time.monotonic() - start
        if now >= seconds:
            break
        # Pace: send what is due, then yield briefly.
        due = int(now * pps)
        while n < due:
            k = kinds[n % len(kinds)]
            try:
                if k == "bgp_syn":
                    tcp.sendto(syn(random.randint(1024, 65535), 179), (target4, 0))
                elif k == "udp_random":
                    udp4.sendto(b"x" * 16, (target4, random_port()))
                elif k == "esp_bogus_spi":
                    udp4.sendto(esp, (target4, 4500))
                elif k == "udp6_random":
                    udp6.sendto(b"y" * 16, (target6, random_port()))
                else:
                    udp4.sendto(b"z" * 16, (transit4, 53))
                sent[k] += 1
            except (BlockingIOError, ConnectionRefusedError, PermissionError):
                pass
            n += 1
        time.sleep(0.001)
    print(json.dumps(sent), flush=True)


if __name__ == "__main__":
    main()
