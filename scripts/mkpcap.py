#!/usr/bin/env python3
"""Writes a pcap of Ethernet/IPv4/UDP frames for forwarding benchmarks.

  mkpcap.py FILE FRAME_BYTES COUNT DST_MAC
Frames: 02:00:00:00:00:aa -> DST_MAC, 192.168.10.2 -> 10.<i>.<j>.<k>
(COUNT different destinations inside 10.0.0.0/8), TTL 64, valid checksums.
"""
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def frame(size, dst_mac, i):
    eth = dst_mac + bytes.fromhex("0200000000aa") + b"\x08\x00"
    ip_len = size - 14
    dst = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, (i & 0xFF) or 1])
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, i & 0xFFFF, 0, 64, 17, 0, bytes([192, 168, 10, 2]), dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    udp_len = ip_len - 20
    udp = struct.pack("!HHHH", 1024 + (i % 1000), 9, udp_len, 0) + b"\0" * (udp_len - 8)
    return eth + hdr + udp


def main():
    path, size, count, mac = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    dst_mac = bytes.fromhex(mac.replace(":", ""))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(count):
            fr = frame(size, dst_mac, i * 7919 + 1)
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)))
            f.write(fr)


if __name__ == "__main__":
    main()
