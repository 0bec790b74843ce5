//! Interop with an independent ESP implementation: scapy's
//! `SecurityAssociation(ESP, crypt_algo='AES-GCM', nat_t_header=UDP(...))`
//! runs in a network namespace (tests/interop/scapy_peer.py).
//!
//! - We → scapy: AES-128-GCM, 32-bit sequence numbers. Our encap builds the
//!   whole packet (outer IPv4, NAT-T UDP, ESP); a raw socket sends it as
//!   is over a veth; the peer's kernel delivers it to a UDP socket on 4500
//!   (so our UDP header is valid) and scapy decrypts it.
//! - Scapy → we: AES-256-GCM with ESN; scapy encrypts, sends over UDP 4500,
//!   we decrypt the datagram with `InboundSa::decap_at`.
//!
//! Needs root (network namespaces) and /usr/bin/python3 with python3-scapy.

#[path = "interop/netns.rs"]
mod netns;

use sdwan_crypto::esp::OuterConfig;
use sdwan_crypto::outer::{ipv4_checksum, DfPolicy, DscpPolicy, NattPorts, NATT_PORT};
use sdwan_crypto::{Cipher, InboundSa, KeyMaterial, NextHeader, OutboundSa, SaParams};
use sdwan_packet::Frame;
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::time::Duration;

type E = sdwan_crypto::aead::DefaultEngine;

const LOCAL: &str = "10.199.7.1";
const PEER: &str = "10.199.7.2";
const COUNT: usize = 5;
const SPI_OUT: u32 = 0x0000_c001; // ours → scapy
const SPI_IN: u32 = 0x0000_d002; // scapy → ours

fn key_out() -> Vec<u8> {
    (0..20u8)
        .map(|i| i.wrapping_mul(13).wrapping_add(1))
        .collect()
}
fn key_in() -> Vec<u8> {
    (0..36u8)
        .map(|i| i.wrapping_mul(29).wrapping_add(3))
        .collect()
}

/// IPv4 ICMP echo 172.16.0.1 → 172.16.0.2 carrying `payload` (even length).
fn icmp_echo(seq: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 1;
    p[12..16].copy_from_slice(&[172, 16, 0, 1]);
    p[16..20].copy_from_slice(&[172, 16, 0, 2]);
    let c = ipv4_checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20] = 8;
    p[24..26].copy_from_slice(&7u16.to_be_bytes());
    p[26..28].copy_from_slice(&seq.to_be_bytes());
    p[28..].copy_from_slice(payload);
    let c = ipv4_checksum(&p[20..]);
    p[22..24].copy_from_slice(&c.to_be_bytes());
    p
}

#[test]
fn scapy_peer_decrypts_ours_and_we_decrypt_scapys() {
    if !netns::is_root() {
        eprintln!("SKIPPED scapy interop: needs root for network namespaces");
        return;
    }
    let ns = netns::Netns::new("s", LOCAL, PEER);
    let sock = UdpSocket::bind((LOCAL, NATT_PORT)).expect("bind 4500 on the veth address");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/scapy_peer.py");
    let mut peer = ns.spawn(&[
        "/usr/bin/python3",
        script,
        PEER,
        LOCAL,
        &COUNT.to_string(),
        &format!("{SPI_OUT:#x}"),
        &netns::hex(&key_out()),
        &format!("{SPI_IN:#x}"),
        &netns::hex(&key_in()),
    ]);
    let mut lines = BufReader::new(peer.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("peer output").unwrap();
    assert!(ready.contains("ready"), "{ready}");

    // Ours → scapy.
    let mut params = SaParams::new(SPI_OUT);
    params.esn = false;
    let outer = OuterConfig {
        src: LOCAL.parse().unwrap(),
        dst: PEER.parse().unwrap(),
        natt: Some(NattPorts {
            src: NATT_PORT,
            dst: NATT_PORT,
        }),
        ttl: 64,
        dscp: DscpPolicy::Copy,
        df: DfPolicy::Set,
    };
    let keys = KeyMaterial::from_rfc4106(Cipher::AesGcm128, &key_out()).unwrap();
    let mut out = OutboundSa::<E>::new(params, &keys, outer).unwrap();
    let mut packets = Vec::new();
    for i in 0..COUNT {
        let inner = icmp_echo(i as u16, format!("sdwan-{i:02}").as_bytes());
        let mut buf = vec![0u8; 256];
        buf[128..128 + inner.len()].copy_from_slice(&inner);
        let mut f = Frame::new(&mut buf, 128, inner.len()).unwrap();
        out.encap(&mut f, NextHeader::Ipv4).unwrap();
        packets.push(f.data().to_vec());
    }
    netns::send_raw_ipv4(PEER, &packets);
    let decrypted = lines.next().expect("peer decrypt report").unwrap();
    assert!(decrypted.contains("\"decrypted\""), "{decrypted}");
    assert_eq!(
        decrypted.matches("\"inner_ok\": true").count(),
        COUNT,
        "{decrypted}"
    );
    for i in 0..COUNT {
        assert!(
            decrypted.contains(&netns::hex(format!("sdwan-{i:02}").as_bytes())),
            "{decrypted}"
        );
    }

    // Scapy → ours.
    let keys = KeyMaterial::from_rfc4106(Cipher::AesGcm256, &key_in()).unwrap();
    let mut inb = InboundSa::<E>::new(SaParams::new(SPI_IN), &keys).unwrap();
    for i in 0..COUNT {
        let mut buf = vec![0u8; 2048];
        let (n, from) = sock.recv_from(&mut buf).expect("datagram from scapy");
        assert_eq!(from.port(), NATT_PORT);
        let mut f = Frame::new(&mut buf, 0, n).unwrap();
        assert_eq!(inb.decap_at(&mut f, 0), Ok(NextHeader::Ipv4), "packet {i}");
        let inner = f.data();
        assert_eq!(&inner[12..16], &[172, 16, 0, 2]);
        assert!(inner.ends_with(format!("scapy-{i}").as_bytes()));
    }
    assert_eq!(inb.counters().packets, COUNT as u64);
    assert_eq!(inb.highest_seq(), COUNT as u64);
    let sent = lines.next().expect("peer final report").unwrap();
    assert!(sent.contains("\"sent\""), "{sent}");
    assert!(peer.wait().unwrap().success());
}
