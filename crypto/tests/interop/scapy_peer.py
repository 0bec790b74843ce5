"""Independent ESP-in-UDP peer for crypto/tests/interop_scapy.rs.

Runs inside a network namespace. Receives ESP-in-UDP (RFC 3948) datagrams
that sdwan-crypto produced, decrypts them with scapy's own ESP/AES-GCM
implementation and checks the inner packets; then encrypts replies with
scapy and sends them back. Prints one JSON line per event on stdout.

Arguments: local_ip peer_ip count spi_in key_in(hex) spi_out key_out(hex)
"""
import json
import socket
import sys

from scapy.layers.inet import IP, UDP, ICMP
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.packet import Raw


def main():
    local_ip, peer_ip, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    spi_in, key_in = int(sys.argv[4], 0), bytes.fromhex(sys.argv[5])
    spi_out, key_out = int(sys.argv[6], 0), bytes.fromhex(sys.argv[7])
    # Inbound: AES-128-GCM, 32-bit sequence numbers.
    sa_in = SecurityAssociation(ESP, spi=spi_in, crypt_algo='AES-GCM', crypt_key=key_in,
                                tunnel_header=IP(src=peer_ip, dst=local_ip),
                                nat_t_header=UDP(sport=4500, dport=4500))
    # Outbound: AES-256-GCM with extended sequence numbers.
    sa_out = SecurityAssociation(ESP, spi=spi_out, crypt_algo='AES-GCM', crypt_key=key_out,
                                 tunnel_header=IP(src=local_ip, dst=peer_ip),
                                 nat_t_header=UDP(sport=4500, dport=4500), esn_en=True, esn=0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((local_ip, 4500))
    sock.settimeout(10)
    print(json.dumps({"event": "ready"}), flush=True)
    received = []
    for _ in range(count):
        data, addr = sock.recvfrom(65535)
        pkt = IP(src=peer_ip, dst=local_ip) / UDP(sport=addr[1], dport=4500) / ESP(data)
        spi, seq = pkt[ESP].spi, pkt[ESP].seq
        inner = sa_in.decrypt(pkt)
        ok = inner.haslayer(ICMP) and inner[IP].src == "172.16.0.1"
        received.append({"spi": spi, "seq": seq, "inner_ok": bool(ok),
                         "payload": bytes(inner[Raw].load).hex() if inner.haslayer(Raw) else ""})
    print(json.dumps({"event": "decrypted", "packets": received}), flush=True)
    for i in range(count):
        inner = IP(src="172.16.0.2", dst="172.16.0.1") / ICMP(type=0, id=7, seq=i) / Raw(b"scapy-%d" % i)
        enc = sa_out.encrypt(inner)
        sock.sendto(bytes(enc[UDP].payload), (peer_ip, 4500))
    print(json.dumps({"event": "sent", "count": count}), flush=True)


if __name__ == "__main__":
    main()
