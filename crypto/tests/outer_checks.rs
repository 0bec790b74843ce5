//! Receive-side checks on the outer header, through real encap/decap:
//! expected peer address (`bad_outer_source`), NAT rebinding reported only
//! for authenticated, newest packets, and RFC 6040 ECN at both ends.

use sdwan_crypto::esp::OuterConfig;
use sdwan_crypto::outer::{ipv4_checksum, DfPolicy, DscpPolicy, NattPorts, OuterSource, NATT_PORT};
use sdwan_crypto::{
    Cipher, DropReason, InboundSa, InboundSet, KeyMaterial, NextHeader, OutboundSa, Received,
    SaParams,
};
use sdwan_packet::Frame;
use std::net::IpAddr;

type E = sdwan_crypto::aead::DefaultEngine;

const SPI: u32 = 0x2000_0002;
const HEAD: usize = 128;

fn keys() -> KeyMaterial {
    KeyMaterial::from_rfc4106(Cipher::AesGcm128, &[9; 20]).unwrap()
}

fn sender(src: &str, dst: &str, natt_src: Option<u16>) -> OutboundSa<E> {
    let outer = OuterConfig {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        natt: natt_src.map(|s| NattPorts {
            src: s,
            dst: NATT_PORT,
        }),
        ttl: 64,
        dscp: DscpPolicy::Copy,
        df: DfPolicy::Copy,
    };
    OutboundSa::new(SaParams::new(SPI), &keys(), outer).unwrap()
}

/// An inner IPv4/UDP packet with this TOS and a valid header checksum.
fn inner_v4(tos: u8) -> Vec<u8> {
    let mut p = vec![0u8; 48];
    p[0] = 0x45;
    p[1] = tos;
    p[2..4].copy_from_slice(&48u16.to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&[10, 1, 0, 1]);
    p[16..20].copy_from_slice(&[10, 2, 0, 1]);
    let c = ipv4_checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

/// `inner` encapsulated by `out`, as wire bytes.
fn wire(out: &mut OutboundSa<E>, inner: &[u8], nh: NextHeader) -> Vec<u8> {
    let mut b = vec![0u8; HEAD + inner.len() + 64];
    b[HEAD..HEAD + inner.len()].copy_from_slice(inner);
    let mut f = Frame::new(&mut b, HEAD, inner.len()).unwrap();
    out.encap(&mut f, nh).unwrap();
    f.data().to_vec()
}

fn decap(set: &mut InboundSet<E>, mut w: Vec<u8>) -> (Result<Received, DropReason>, Vec<u8>) {
    let n = w.len();
    let mut f = Frame::new(&mut w, 0, n).unwrap();
    let r = set.decap(&mut f);
    let data = f.data().to_vec();
    (r, data)
}

fn rebound(r: Result<Received, DropReason>) -> (OuterSource, bool) {
    match r {
        Ok(Received::Inner {
            source, rebound, ..
        }) => (source, rebound),
        other => panic!("not decapsulated: {other:?}"),
    }
}

#[test]
fn packets_from_another_address_than_the_expected_peer_are_dropped() {
    let peer: IpAddr = "192.0.2.1".parse().unwrap();
    let mut set = InboundSet::<E>::default();
    set.insert(
        InboundSa::new(SaParams::new(SPI), &keys())
            .unwrap()
            .with_expected_peer(peer),
    );
    let mut good = sender("192.0.2.1", "198.51.100.2", Some(NATT_PORT));
    let (r, _) = decap(&mut set, wire(&mut good, &inner_v4(0), NextHeader::Ipv4));
    let (source, moved) = rebound(r);
    assert_eq!(source, OuterSource::new(peer, Some(NATT_PORT)));
    assert!(!moved);

    // Same keys, other address: refused before decryption, window intact.
    let mut spoof = sender("192.0.2.99", "198.51.100.2", Some(NATT_PORT));
    spoof.set_next_seq(2);
    let (r, _) = decap(&mut set, wire(&mut spoof, &inner_v4(0), NextHeader::Ipv4));
    assert_eq!(r, Err(DropReason::BadOuterSource));
    let sa = set.get(SPI).unwrap();
    assert_eq!(sa.counters().drops.get(DropReason::BadOuterSource), 1);
    assert_eq!(sa.highest_seq(), 1);
    assert_eq!(sa.last_source().unwrap().addr(), peer);
    assert_eq!(DropReason::BadOuterSource.name(), "bad_outer_source");
}

#[test]
fn nat_rebinding_is_reported_for_authenticated_newest_packets_only() {
    let mut set = InboundSet::<E>::default();
    set.insert(InboundSa::new(SaParams::new(SPI), &keys()).unwrap());
    // The peer behind a NAT: mapped port 4500, later 31000 (the NAT
    // dropped its mapping and made a new one).
    let mut before = sender("203.0.113.7", "198.51.100.2", Some(4500));
    let mut after = sender("203.0.113.7", "198.51.100.2", Some(31000));
    let w1 = wire(&mut before, &inner_v4(0), NextHeader::Ipv4);
    before.set_next_seq(3);
    let late = wire(&mut before, &inner_v4(0), NextHeader::Ipv4); // seq 3
    after.set_next_seq(2);
    let w2 = wire(&mut after, &inner_v4(0), NextHeader::Ipv4);
    after.set_next_seq(4);
    let w4 = wire(&mut after, &inner_v4(0), NextHeader::Ipv4);

    assert!(
        !rebound(decap(&mut set, w1).0).1,
        "first packet: nothing to compare"
    );
    let (src, moved) = rebound(decap(&mut set, w2).0);
    assert!(moved, "seq 2 from the new port");
    assert_eq!(src.udp_port(), Some(31000));
    assert!(!rebound(decap(&mut set, w4).0).1, "same new port");
    // Seq 3 from the old port arrives late: authentic, but not the newest.
    assert!(!rebound(decap(&mut set, late).0).1);
    assert_eq!(
        set.get(SPI).unwrap().last_source().unwrap().udp_port(),
        Some(31000)
    );
    // A forged packet from yet another port moves nothing.
    after.set_next_seq(5);
    let mut forged = wire(&mut after, &inner_v4(0), NextHeader::Ipv4);
    forged[20..22].copy_from_slice(&5555u16.to_be_bytes());
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(decap(&mut set, forged).0, Err(DropReason::IcvFail));
    assert_eq!(
        set.get(SPI).unwrap().last_source().unwrap().udp_port(),
        Some(31000)
    );
}

/// Marks the outer IPv4 header CE, as a congested router would.
fn mark_ce_v4(w: &mut [u8]) {
    w[1] |= 3;
    w[10] = 0;
    w[11] = 0;
    let c = ipv4_checksum(&w[..20]);
    w[10..12].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn ecn_is_copied_on_encap_and_ce_combined_on_decap() {
    let mut out = sender("192.0.2.1", "198.51.100.2", None);
    let mut set = InboundSet::<E>::default();
    set.insert(InboundSa::new(SaParams::new(SPI), &keys()).unwrap());

    for ecn in 0..4u8 {
        let w = wire(&mut out, &inner_v4((10 << 2) | ecn), NextHeader::Ipv4);
        assert_eq!(w[1], (10 << 2) | ecn, "outer TOS copies DSCP and ECN");
        let (r, inner) = decap(&mut set, w);
        assert!(r.is_ok());
        assert_eq!(inner[1], (10 << 2) | ecn, "no CE: inner unchanged");
    }
    // CE on the outer header: ECT(0)/ECT(1) inner become CE, checksum ok.
    for ecn in [1u8, 2] {
        let mut w = wire(&mut out, &inner_v4((10 << 2) | ecn), NextHeader::Ipv4);
        mark_ce_v4(&mut w);
        let (r, inner) = decap(&mut set, w);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(inner[1], (10 << 2) | 3);
        assert_eq!(ipv4_checksum(&inner[..20]), 0);
    }
    // CE over a not-ECT inner packet: dropped and counted.
    let mut w = wire(&mut out, &inner_v4(10 << 2), NextHeader::Ipv4);
    mark_ce_v4(&mut w);
    assert_eq!(decap(&mut set, w).0, Err(DropReason::EcnCeNotEct));
    let sa = set.get(SPI).unwrap();
    assert_eq!(sa.counters().drops.get(DropReason::EcnCeNotEct), 1);
    assert_eq!(sa.counters().packets, 6);

    // IPv6 outer, IPv6 inner with ECT(1): outer CE makes it CE.
    let mut out6 = sender("2001:db8::1", "2001:db8::2", None);
    out6.set_next_seq(100);
    let mut inner6 = vec![0u8; 60];
    inner6[0] = 0x60 | (0xb9 >> 4); // traffic class 0xb9: DSCP 46, ECT(1)
    inner6[1] = 0x90;
    inner6[4..6].copy_from_slice(&20u16.to_be_bytes());
    inner6[6] = 59;
    let mut w = wire(&mut out6, &inner6, NextHeader::Ipv6);
    assert_eq!(((w[0] << 4) | (w[1] >> 4)) & 3, 1, "outer ECT(1)");
    w[1] |= 0x30;
    let (r, inner) = decap(&mut set, w);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!((inner[0], inner[1]), (0x6b, 0xb0));
}

/// `decap_udp` (outer IP header validated by the caller) agrees with
/// `decap`, returns the SA's tag, and the expected peer can be moved.
#[test]
fn decap_udp_skips_the_ip_header_and_returns_the_tag() {
    use sdwan_crypto::outer::UdpAt;
    let peer: IpAddr = "192.0.2.1".parse().unwrap();
    let mut set = InboundSet::<E>::default();
    set.insert(
        InboundSa::new(SaParams::new(SPI), &keys())
            .unwrap()
            .with_expected_peer(peer)
            .with_tag(7),
    );
    let mut out = sender("192.0.2.1", "198.51.100.2", Some(4501));
    let inner = inner_v4(0);
    // The source is read from the (unchecked) IPv4 header.
    let udp = |set: &mut InboundSet<E>, mut w: Vec<u8>, src: IpAddr| {
        let IpAddr::V4(src) = src else { unreachable!() };
        w[12..16].copy_from_slice(&src.octets());
        let n = w.len();
        // Link padding after the IP packet: ip_len cuts it off.
        w.extend_from_slice(&[0xee; 6]);
        let mut f = Frame::new(&mut w, 0, n + 6).unwrap();
        let at = UdpAt {
            udp_offset: 20,
            ip_len: n,
        };
        let r = set.decap_udp(&mut f, at);
        (r, f.data().to_vec())
    };
    let (r, data) = udp(&mut set, wire(&mut out, &inner, NextHeader::Ipv4), peer);
    match r {
        Ok(Received::Inner {
            spi,
            tag,
            next_header,
            source,
            ..
        }) => {
            assert_eq!((spi, tag, next_header), (SPI, 7, NextHeader::Ipv4));
            assert_eq!(source.addr(), peer);
            assert_eq!(source.udp_port(), Some(4501));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(data, inner);

    // The UDP part is still checked: a datagram to another port.
    let mut w = wire(&mut out, &inner, NextHeader::Ipv4);
    w[22..24].copy_from_slice(&500u16.to_be_bytes());
    assert_eq!(udp(&mut set, w, peer).0, Err(DropReason::NotEsp));

    // Another source than the expected peer, until the peer moves there.
    let elsewhere: IpAddr = "192.0.2.77".parse().unwrap();
    let w = wire(&mut out, &inner, NextHeader::Ipv4);
    assert_eq!(
        udp(&mut set, w.clone(), elsewhere).0,
        Err(DropReason::BadOuterSource)
    );
    let sa = set.get_mut(SPI).unwrap();
    sa.set_expected_peer(Some(elsewhere));
    sa.set_tag(9);
    assert!(matches!(
        udp(&mut set, w, elsewhere).0,
        Ok(Received::Inner { tag: 9, .. })
    ));
}
