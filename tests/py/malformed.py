#!/usr/bin/env python3
"""Sends malformed frames at the edge's port with scapy.

  malformed.py IFACE DST_MAC SRC_IP DST_IP N
Sends N frames of each kind: truncated IPv4, bad IHL, bad IPv4 checksum,
unknown ethertype, truncated IPv6.
"""
import sys

from scapy.all import Ether, IP, IPv6, UDP, Raw, sendp, conf  # noqa: E402

conf.verb = 0
iface, dst_mac, src_ip, dst_ip, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
src_mac = open(f"/sys/class/net/{iface}/address").read().strip()
eth = Ether(dst=dst_mac, src=src_mac, type=0x0800)

good = bytes(IP(src=src_ip, dst=dst_ip, ttl=64) / UDP(sport=1, dport=9) / Raw(b"z" * 18))
frames = {
    # IPv4 ethertype, 10 bytes of header only
    "truncated": bytes(Ether(dst=dst_mac, src=src_mac, type=0x0800)) + good[:10],
    # IHL = 3 (< 5)
    "bad_ipv4_header": bytes(eth) + bytes([0x43]) + good[1:],
    # checksum corrupted
    "bad_ipv4_checksum": bytes(eth) + good[:10] + bytes([good[10] ^ 0xFF, good[11]]) + good[12:],
    # an ethertype we do not route (IEEE local experimental)
    "bad_ethertype": bytes(Ether(dst=dst_mac, src=src_mac, type=0x88B5)) + b"\x00" * 46,
}
for name, frame in frames.items():
    sendp([Raw(frame)] * n, iface=iface)
print(" ".join(frames), flush=True)
