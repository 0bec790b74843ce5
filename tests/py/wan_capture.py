#!/usr/bin/env python3
"""Classifies every frame of a capture taken on the "internet" bridge.

  wan_capture.py PCAP WAN_ADDR...   prints one JSON object:
    esp        ESP-in-UDP 4500 (RFC 3948) between two of the WAN_ADDRs
    keepalive  NAT-T keepalives (UDP 4500, one byte 0xff)
    arp, nd    ARP and IPv6 neighbor discovery (ICMPv6 133..137)
    other      a description of every other frame (must stay empty)
    marker     frames whose bytes contain the cleartext marker the test
               clients put in their payloads (must be 0)
    spis       distinct (src, dst, SPI) seen in ESP
"""
import json
import sys

from scapy.all import ARP, IP, UDP, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, \
    ICMPv6ND_RS, ICMPv6ND_Redirect, IPv6, rdpcap

MARKER = b"SDWAN-CLEARTEXT-MARKER"


def main(path, wan):
    out = {"frames": 0, "esp": 0, "keepalive": 0, "arp": 0, "nd": 0,
           "other": [], "marker": 0, "spis": []}
    spis = set()
    nd_types = (ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6ND_RS, ICMPv6ND_RA,
                ICMPv6ND_Redirect)
    for pkt in rdpcap(path):
        out["frames"] += 1
        if MARKER in bytes(pkt):
            out["marker"] += 1
        if ARP in pkt:
            out["arp"] += 1
            continue
        if IPv6 in pkt and any(t in pkt for t in nd_types):
            out["nd"] += 1
            continue
        ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
        if ip is not None and UDP in pkt and ip.src in wan and ip.dst in wan:
            udp = pkt[UDP]
            body = bytes(udp.payload)
            if udp.sport == 4500 and udp.dport == 4500:
                if body == b"\xff":
                    out["keepalive"] += 1
                    continue
                # ESP: SPI != 0 (0 is the non-ESP marker of IKE), seq,
                # IV, ciphertext, ICV: at least 8 + 8 + 16 bytes.
                spi = int.from_bytes(body[:4], "big")
                if len(body) >= 32 and spi != 0:
                    out["esp"] += 1
                    spis.add((ip.src, ip.dst, f"0x{spi:08x}"))
                    continue
        out["other"].append(pkt.summary())
    out["spis"] = sorted(spis)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], set(sys.argv[2:]))
