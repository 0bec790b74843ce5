#!/usr/bin/python3
"""Independent cross-check of the pipeline with scapy.

`gen`:   prints JSON {name: hex} of frames crafted by scapy, sent to the
         router (port 0: MAC 02:00:00:00:00:01, 10.0.0.1/24, 2001:db8::1/64).
`check`: reads JSON {name: hex} of the router's answers on stdin, parses
         them with scapy, verifies every checksum by recomputing it and the
         fields each answer must have; prints one line per frame and exits
         non-zero on any mismatch.
"""
import json
import sys

from scapy.all import ARP, Ether, ICMP, IP, IPv6, UDP
from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA,
                                ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr,
                                ICMPv6TimeExceeded)

ROUTER = "02:00:00:00:00:01"
PEER = "02:00:00:00:00:99"


def gen():
    frames = {
        "arp_request": Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER)
        / ARP(op=1, hwsrc=PEER, psrc="10.0.0.2", pdst="10.0.0.1"),
        "echo_v4": Ether(dst=ROUTER, src=PEER)
        / IP(src="10.0.0.2", dst="10.0.0.1", ttl=9)
        / ICMP(type=8, id=0x4242, seq=3)
        / b"scapy-ping",
        "ttl1_v4": Ether(dst=ROUTER, src=PEER)
        / IP(src="10.0.0.2", dst="172.16.3.4", ttl=1)
        / UDP(sport=1234, dport=53)
        / (b"x" * 30),
        "ns": Ether(dst="33:33:ff:00:00:01", src=PEER)
        / IPv6(src="2001:db8::2", dst="ff02::1:ff00:1", hlim=255)
        / ICMPv6ND_NS(tgt="2001:db8::1")
        / ICMPv6NDOptSrcLLAddr(lladdr=PEER),
        "echo_v6": Ether(dst=ROUTER, src=PEER)
        / IPv6(src="2001:db8::2", dst="2001:db8::1")
        / ICMPv6EchoRequest(id=7, seq=8, data=b"scapy-ping6"),
        "hlim1_v6": Ether(dst=ROUTER, src=PEER)
        / IPv6(src="2001:db8::2", dst="2001:db8:100::5", hlim=1)
        / UDP(sport=1, dport=2)
        / (b"y" * 20),
        "forward_v4": Ether(dst=ROUTER, src=PEER)
        / IP(src="10.0.0.2", dst="172.16.3.4", ttl=64)
        / UDP(sport=5, dport=6)
        / (b"z" * 18),
    }
    print(json.dumps({k: bytes(v).hex() for k, v in frames.items()}))


def recomputed(pkt, layer, field):
    """The checksum scapy computes for `layer` with `field` cleared."""
    clone = pkt.copy()
    setattr(clone[layer], field, None)
    return Ether(bytes(clone))[layer].getfieldval(field)


def check():
    answers = json.load(sys.stdin)
    failures = []

    def expect(name, cond, what):
        if not cond:
            failures.append(f"{name}: {what}")

    for name, hexstr in answers.items():
        p = Ether(bytes.fromhex(hexstr))
        egress_mac = "02:00:00:00:00:02" if name == "forward_v4" else ROUTER
        expect(name, p.src == egress_mac, f"eth src {p.src}")
        if IP in p:
            expect(name, p[IP].chksum == recomputed(p, IP, "chksum"), "IPv4 checksum")
        if ICMP in p:
            expect(name, p[ICMP].chksum == recomputed(p, ICMP, "chksum"), "ICMP checksum")
        if name == "arp_request":
            a = p[ARP]
            expect(name, a.op == 2 and a.psrc == "10.0.0.1" and a.hwsrc == ROUTER, a.summary())
            expect(name, a.pdst == "10.0.0.2" and a.hwdst == PEER and p.dst == PEER, a.summary())
        elif name == "echo_v4":
            expect(name, p[IP].src == "10.0.0.1" and p[IP].dst == "10.0.0.2", p.summary())
            expect(name, p[ICMP].type == 0 and p[ICMP].id == 0x4242 and p[ICMP].seq == 3, p.summary())
            expect(name, bytes(p[ICMP].payload) == b"scapy-ping", "echo data")
        elif name == "ttl1_v4":
            expect(name, p[ICMP].type == 11 and p[ICMP].code == 0, p.summary())
            expect(name, p[IP].src == "10.0.0.1" and p[IP].dst == "10.0.0.2", p.summary())
            inner = p[ICMP].payload
            expect(name, inner.dst == "172.16.3.4" and inner.ttl == 1, "quoted header")
        elif name == "ns":
            expect(name, ICMPv6ND_NA in p, p.summary())
            if ICMPv6ND_NA in p:
                na = p[ICMPv6ND_NA]
                expect(name, na.cksum == recomputed(p, ICMPv6ND_NA, "cksum"), "ICMPv6 checksum")
                expect(name, na.tgt == "2001:db8::1" and na.R == 1 and na.S == 1 and na.O == 1, na.summary())
                expect(name, p[ICMPv6NDOptDstLLAddr].lladdr == ROUTER, "target lladdr")
                expect(name, p[IPv6].hlim == 255 and p[IPv6].dst == "2001:db8::2" and p.dst == PEER, p.summary())
        elif name == "echo_v6":
            expect(name, ICMPv6EchoReply in p, p.summary())
            if ICMPv6EchoReply in p:
                e = p[ICMPv6EchoReply]
                expect(name, e.cksum == recomputed(p, ICMPv6EchoReply, "cksum"), "ICMPv6 checksum")
                expect(name, e.id == 7 and e.seq == 8 and e.data == b"scapy-ping6", e.summary())
        elif name == "hlim1_v6":
            expect(name, ICMPv6TimeExceeded in p, p.summary())
            if ICMPv6TimeExceeded in p:
                t = p[ICMPv6TimeExceeded]
                expect(name, t.cksum == recomputed(p, ICMPv6TimeExceeded, "cksum"), "ICMPv6 checksum")
                expect(name, p[IPv6].src == "2001:db8::1" and p[IPv6].dst == "2001:db8::2", p.summary())
        elif name == "forward_v4":
            expect(name, p[IP].ttl == 63 and p.dst == "02:00:00:00:01:fe", p.summary())
            expect(name, p[UDP].chksum == recomputed(p, UDP, "chksum"), "UDP checksum untouched")
        else:
            failures.append(f"{name}: unexpected frame")
        print(f"{name}: {p.summary()}")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    {"gen": gen, "check": check}[sys.argv[1]]()
