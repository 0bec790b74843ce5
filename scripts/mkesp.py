#!/usr/bin/python3
"""Writes a pcap of ESP frames (AES-GCM, RFC 4106) for decap benchmarks.

  mkesp.py FILE INNER_BYTES COUNT DST_MAC --spi SPI --key HEX --src A --dst B
           [--natt] [--mpls LABEL]

The inner packets are the IPv4/UDP packets of mkpcap.py's INNER_BYTES
frames (the same 1024 destinations in 10.0.0.0/8), so a decap run puts
out the frames an encap run takes in. Each is sealed with key material HEX
(the AES key followed by the 4-byte salt, RFC 4106 §8.1) under SPI with
sequence numbers 1..COUNT (32 bits, no ESN: AAD = SPI || seq), IV = the
sequence number as 8 bytes:

  Ethernet | IPv4 A -> B, TTL 64 | [UDP 4500 -> 4500, RFC 3948] |
  SPI | seq | IV | AES-GCM(inner [MPLS label, S=1, TTL 64] | pad | len | NH) | ICV

Next header 137 (MPLS) with --mpls, else 4 (IPv4: an ESP tunnel as
ipsec-secgw's). Needs python3-cryptography (apt).
"""
import argparse
import ipaddress
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkpcap import csum, frame  # noqa: E402

NATT_PORT = 4500
NH_IPV4, NH_MPLS = 4, 137
PROTO_UDP, PROTO_ESP = 17, 50


def esp(aead, salt, spi, seq, payload, nh):
    # RFC 4303 §2.4: pad so that payload + pad + 2 is a multiple of 4.
    pad = (4 - (len(payload) + 2) % 4) % 4
    plain = payload + bytes(range(1, pad + 1)) + bytes([pad, nh])
    iv = struct.pack("!Q", seq)
    head = struct.pack("!II", spi, seq)
    return head + iv + aead.encrypt(salt + iv, plain, head)


def packet(args, aead, salt, seq, inner):
    if args.mpls is not None:
        payload = struct.pack("!I", args.mpls << 12 | 1 << 8 | 64) + inner
        body = esp(aead, salt, args.spi, seq, payload, NH_MPLS)
    else:
        body = esp(aead, salt, args.spi, seq, inner, NH_IPV4)
    proto = PROTO_ESP
    if args.natt:
        body = struct.pack("!HHHH", NATT_PORT, NATT_PORT, 8 + len(body), 0) + body
        proto = PROTO_UDP
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), seq & 0xFFFF, 0x4000, 64,
                     proto, 0, args.src.packed, args.dst.packed)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return args.mac + bytes.fromhex("0200000000bb") + b"\x08\x00" + ip + body


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("file")
    p.add_argument("size", type=int, help="inner frame bytes, as mkpcap.py's")
    p.add_argument("count", type=int)
    p.add_argument("mac", type=lambda m: bytes.fromhex(m.replace(":", "")))
    p.add_argument("--spi", type=lambda s: int(s, 0), required=True)
    p.add_argument("--key", type=bytes.fromhex, required=True, help="key || salt, hex")
    p.add_argument("--src", type=ipaddress.IPv4Address, required=True)
    p.add_argument("--dst", type=ipaddress.IPv4Address, required=True)
    p.add_argument("--natt", action="store_true", help="ESP in UDP 4500 (RFC 3948)")
    p.add_argument("--mpls", type=int, help="MPLS label before the inner packet")
    args = p.parse_args()
    if len(args.key) not in (20, 36):
        p.error("--key: 16 or 32 key bytes and 4 salt bytes")
    if args.spi < 256 or args.spi > 0xFFFFFFFF:
        p.error("--spi: 256..2^32-1")
    aead, salt = AESGCM(args.key[:-4]), args.key[-4:]
    with open(args.file, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(args.count):
            inner = frame(args.size, b"\0" * 6, i * 7919 + 1)[14:]
            fr = packet(args, aead, salt, i + 1, inner)
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)))
            f.write(fr)


if __name__ == "__main__":
    main()
