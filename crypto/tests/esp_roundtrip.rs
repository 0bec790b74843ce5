//! Encapsulation and decapsulation against each other, in place on frames
//! with head- and tailroom: every next header, IPv4/IPv6 outer, with and
//! without NAT-T, and every drop reason the receive path names.

use proptest::prelude::*;
use sdwan_crypto::esp::{OuterConfig, ESP_OVERHEAD};
use sdwan_crypto::outer::{DfPolicy, DscpPolicy, NattPorts, NATT_PORT};
use sdwan_crypto::{
    Cipher, DropReason, InboundSa, InboundSet, KeyMaterial, Lifetime, NextHeader, OutboundSa,
    Received, SaParams,
};
use sdwan_packet::Frame;
use std::net::IpAddr;

type E = sdwan_crypto::aead::DefaultEngine;

const HEADROOM: usize = 128;
const SPI: u32 = 0x1000_0001;

fn keys(cipher: Cipher) -> KeyMaterial {
    let m: Vec<u8> = (0..cipher.key_len() as u8 + 4)
        .map(|i| i.wrapping_mul(7))
        .collect();
    KeyMaterial::from_rfc4106(cipher, &m).unwrap()
}

fn outer(v6: bool, natt: bool) -> OuterConfig {
    let (src, dst): (IpAddr, IpAddr) = if v6 {
        (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        )
    } else {
        (
            "192.0.2.1".parse().unwrap(),
            "198.51.100.2".parse().unwrap(),
        )
    };
    OuterConfig {
        src,
        dst,
        natt: natt.then_some(NattPorts {
            src: NATT_PORT,
            dst: NATT_PORT,
        }),
        ttl: 64,
        dscp: DscpPolicy::Copy,
        df: DfPolicy::Copy,
    }
}

fn pair(cipher: Cipher, v6: bool, natt: bool) -> (OutboundSa<E>, InboundSet<E>) {
    let k = keys(cipher);
    let params = SaParams::new(SPI);
    let out = OutboundSa::<E>::new(params, &k, outer(v6, natt)).unwrap();
    let mut set = InboundSet::<E>::default();
    set.insert(InboundSa::new(params, &k).unwrap());
    (out, set)
}

/// An inner IPv4 packet of `len` bytes with TOS 0xb8 and DF.
fn inner_v4(len: usize) -> Vec<u8> {
    let mut p: Vec<u8> = (0..len).map(|i| (i * 31 + 5) as u8).collect();
    p[0] = 0x45;
    p[1] = 0xb8;
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p[6] = 0x40;
    p
}

/// Places `inner` in a buffer with headroom and tailroom, returns it.
fn buffer(inner: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; HEADROOM + inner.len() + 64];
    b[HEADROOM..HEADROOM + inner.len()].copy_from_slice(inner);
    b
}

fn round_trip(cipher: Cipher, v6: bool, natt: bool, nh: NextHeader, inner: &[u8]) {
    let (mut out, mut inb) = pair(cipher, v6, natt);
    let mut buf = buffer(inner);
    let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
    out.encap(&mut f, nh).unwrap();
    let outer_len = if v6 { 40 } else { 20 } + if natt { 8 } else { 0 };
    let pad = (4 - (inner.len() + 2) % 4) % 4;
    assert_eq!(f.len(), outer_len + inner.len() + pad + ESP_OVERHEAD);
    let wire = f.data().to_vec();
    // Outer header: DSCP copied from the inner IPv4 header, DF copied.
    if !v6 && nh == NextHeader::Ipv4 {
        assert_eq!(wire[1], 0xb8);
        assert_eq!(wire[6] & 0x40, 0x40);
        assert_eq!(wire[8], 64);
    }
    // Decapsulate in the same buffer, from where encap left the packet.
    let got = inb.decap(&mut f).unwrap();
    assert!(
        matches!(got, Received::Inner { spi: SPI, next_header, rebound: false, .. } if next_header == nh),
        "{got:?}"
    );
    assert_eq!(f.data(), inner);
    assert_eq!(inb.get(SPI).unwrap().counters().packets, 1);
    // The same bytes again are a replay, counted on the SA.
    let mut again = wire.clone();
    let n = again.len();
    let mut f = Frame::new(&mut again, 0, n).unwrap();
    assert_eq!(inb.decap(&mut f), Err(DropReason::Replay));
    assert_eq!(
        inb.get(SPI)
            .unwrap()
            .counters()
            .drops
            .get(DropReason::Replay),
        1
    );
}

#[test]
fn every_next_header_and_outer_family() {
    for cipher in [Cipher::AesGcm128, Cipher::AesGcm256] {
        for v6 in [false, true] {
            for natt in [false, true] {
                for nh in [
                    NextHeader::Ipv4,
                    NextHeader::Ipv6,
                    NextHeader::Gre,
                    NextHeader::Mpls,
                    NextHeader::Ethernet,
                ] {
                    let inner = match nh {
                        NextHeader::Ipv4 => inner_v4(61),
                        NextHeader::Ipv6 => {
                            let mut p = vec![0x60; 80];
                            p[1] = 0;
                            p
                        }
                        _ => (0..33u8).collect(),
                    };
                    round_trip(cipher, v6, natt, nh, &inner);
                }
            }
        }
    }
}

#[test]
fn tampering_is_icv_fail_and_does_not_move_the_window() {
    let (mut out, mut inb) = pair(Cipher::AesGcm128, false, true);
    let inner = inner_v4(100);
    let mut buf = buffer(&inner);
    let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
    out.encap(&mut f, NextHeader::Ipv4).unwrap();
    let wire = f.data().to_vec();
    for at in [28 + 4, 28 + 8, 28 + 20, wire.len() - 1] {
        let mut bad = wire.clone();
        bad[at] ^= 0x80;
        let n = bad.len();
        let mut f = Frame::new(&mut bad, 0, n).unwrap();
        let r = inb.decap(&mut f);
        assert_eq!(r, Err(DropReason::IcvFail), "flip at {at}");
    }
    assert_eq!(inb.get(SPI).unwrap().highest_seq(), 0);
    let mut good = wire.clone();
    let n = good.len();
    assert!(inb.decap(&mut Frame::new(&mut good, 0, n).unwrap()).is_ok());
    assert_eq!(
        inb.get(SPI)
            .unwrap()
            .counters()
            .drops
            .get(DropReason::IcvFail),
        4
    );
}

#[test]
fn unknown_spi_keepalive_and_outer_errors_are_named() {
    let (mut out, mut inb) = pair(Cipher::AesGcm128, false, true);
    let inner = inner_v4(40);
    let mut buf = buffer(&inner);
    let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
    out.encap(&mut f, NextHeader::Ipv4).unwrap();
    let wire = f.data().to_vec();
    inb.remove(SPI);
    let mut w = wire.clone();
    let n = w.len();
    assert_eq!(
        inb.decap(&mut Frame::new(&mut w, 0, n).unwrap()),
        Err(DropReason::BadSpi)
    );
    for cut in [0, 10, 27, 30, 40] {
        let mut w = wire.clone();
        assert_eq!(
            inb.decap(&mut Frame::new(&mut w, 0, cut).unwrap()),
            Err(DropReason::Truncated),
            "cut {cut}"
        );
    }
    assert_eq!(inb.drops().get(DropReason::BadSpi), 1);
    assert_eq!(inb.drops().get(DropReason::Truncated), 5);

    let mut ka = vec![0u8; 64];
    let mut f = Frame::new(&mut ka, 0, 0).unwrap();
    out.write_keepalive(&mut f).unwrap();
    assert_eq!(f.len(), 29);
    assert_eq!(inb.decap(&mut f), Ok(Received::Keepalive));
    assert_eq!(inb.keepalives(), 1);
}

#[test]
fn ethernet_padding_after_the_ip_packet_is_ignored() {
    let (mut out, mut inb) = pair(Cipher::AesGcm256, false, false);
    let inner = inner_v4(20);
    let mut buf = buffer(&inner);
    let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
    out.encap(&mut f, NextHeader::Ipv4).unwrap();
    f.append(6).unwrap().fill(0xee);
    assert!(matches!(
        inb.decap(&mut f),
        Ok(Received::Inner {
            spi: SPI,
            next_header: NextHeader::Ipv4,
            ..
        })
    ));
    assert_eq!(f.data(), &inner[..]);
}

#[test]
fn encap_refuses_without_room_and_leaves_frame_alone() {
    let (mut out, _) = pair(Cipher::AesGcm128, true, true);
    let inner = inner_v4(50);
    let mut buf = vec![0u8; 40 + inner.len() + 64];
    buf[40..40 + inner.len()].copy_from_slice(&inner);
    let mut f = Frame::new(&mut buf, 40, inner.len()).unwrap();
    assert_eq!(out.encap(&mut f, NextHeader::Ipv4), Err(DropReason::NoRoom));
    assert_eq!(f.data(), &inner[..]);
    let mut buf = vec![0u8; 128 + inner.len() + 3];
    buf[128..128 + inner.len()].copy_from_slice(&inner);
    let mut f = Frame::new(&mut buf, 128, inner.len()).unwrap();
    assert_eq!(out.encap(&mut f, NextHeader::Ipv4), Err(DropReason::NoRoom));
    assert_eq!(out.counters().drops.get(DropReason::NoRoom), 2);
    assert_eq!(out.next_seq(), 1, "no sequence number consumed");
}

#[test]
fn sequence_overflow_stops_instead_of_wrapping() {
    let k = keys(Cipher::AesGcm128);
    let mut params = SaParams::new(SPI);
    params.esn = false;
    let mut out = OutboundSa::<E>::new(params, &k, outer(false, false)).unwrap();
    out.set_next_seq(u64::from(u32::MAX));
    let inner = inner_v4(30);
    let mut buf = buffer(&inner);
    let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
    out.encap(&mut f, NextHeader::Ipv4).unwrap();
    assert!(out.needs_rekey());
    let mut buf = buffer(&inner);
    let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
    assert_eq!(
        out.encap(&mut f, NextHeader::Ipv4),
        Err(DropReason::SeqExhausted)
    );
    // With ESN the last number is 2^64-1.
    params.esn = true;
    let mut out = OutboundSa::<E>::new(params, &k, outer(false, false)).unwrap();
    out.set_next_seq(u64::MAX);
    let mut buf = buffer(&inner);
    let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
    out.encap(&mut f, NextHeader::Ipv4).unwrap();
    let mut buf = buffer(&inner);
    let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
    assert_eq!(
        out.encap(&mut f, NextHeader::Ipv4),
        Err(DropReason::SeqExhausted)
    );
}

#[test]
fn hard_packet_lifetime_stops_both_directions() {
    let k = keys(Cipher::AesGcm128);
    let mut params = SaParams::new(SPI);
    params.lifetime = Lifetime {
        soft_packets: 2,
        hard_packets: 3,
        ..Lifetime::UNLIMITED
    };
    let mut out = OutboundSa::<E>::new(params, &k, outer(false, false)).unwrap();
    let inner = inner_v4(30);
    for i in 0..4 {
        let mut buf = buffer(&inner);
        let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
        let r = out.encap(&mut f, NextHeader::Ipv4);
        assert_eq!(r.is_ok(), i < 3, "packet {i}");
        assert_eq!(out.needs_rekey(), i >= 1, "packet {i}");
    }
    assert_eq!(out.counters().drops.get(DropReason::LifetimeExpired), 1);
}

#[test]
fn esn_sequence_crosses_2_pow_32() {
    let (mut out, mut inb) = pair(Cipher::AesGcm128, false, false);
    let inner = inner_v4(30);
    // Walk the receiver up to the boundary in steps of less than 2^31
    // (larger jumps are ambiguous by design, RFC 4303 Appendix A2.2).
    for seq in [
        1u64,
        0x7fff_0000,
        0xffff_0000,
        0xffff_fffe,
        0x1_0000_0000,
        0x1_0000_0001,
    ] {
        out.set_next_seq(seq);
        let mut buf = buffer(&inner);
        let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
        out.encap(&mut f, NextHeader::Ipv4).unwrap();
        assert!(inb.decap(&mut f).is_ok(), "seq {seq:#x}");
    }
    assert_eq!(inb.get(SPI).unwrap().highest_seq(), 0x1_0000_0001);
}

proptest! {
    #[test]
    fn any_inner_length_round_trips(len in 1usize..1500, v6: bool, natt: bool, reorder in 0usize..8) {
        let (mut out, mut inb) = pair(Cipher::AesGcm128, v6, natt);
        let inner: Vec<u8> = (0..len).map(|i| (i as u8) ^ 0x5a).collect();
        let mut wires = Vec::new();
        for _ in 0..8 {
            let mut buf = buffer(&inner);
            let mut f = Frame::new(&mut buf, HEADROOM, len).unwrap();
            out.encap(&mut f, NextHeader::Gre).unwrap();
            wires.push(f.data().to_vec());
        }
        wires.swap(0, reorder);
        for mut w in wires {
            let n = w.len();
            let mut f = Frame::new(&mut w, 0, n).unwrap();
            let got = inb.decap(&mut f);
            prop_assert!(matches!(got, Ok(Received::Inner { spi: SPI, next_header: NextHeader::Gre, rebound: false, .. })), "{:?}", got);
            prop_assert_eq!(f.data(), &inner[..]);
        }
    }

    #[test]
    fn decap_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), spi_hit: bool) {
        let (_, mut inb) = pair(Cipher::AesGcm128, false, true);
        let mut d = data;
        if spi_hit && d.len() >= 32 {
            d[0] = 0x45;
            d[28..32].copy_from_slice(&SPI.to_be_bytes());
        }
        let n = d.len();
        let mut f = Frame::new(&mut d, 0, n).unwrap();
        let _ = inb.decap(&mut f);
    }

    /// `decap_udp` trusts the caller's IP header checks, not its offsets:
    /// any offset and length is refused or used within the frame.
    #[test]
    fn decap_udp_never_panics(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        udp_offset in 0usize..256,
        ip_len in 0usize..256,
        spi_hit: bool,
    ) {
        let (_, mut inb) = pair(Cipher::AesGcm128, false, true);
        let mut d = data;
        if spi_hit && d.len() >= udp_offset + 12 {
            d[udp_offset + 2..udp_offset + 4].copy_from_slice(&NATT_PORT.to_be_bytes());
            d[udp_offset + 8..udp_offset + 12].copy_from_slice(&SPI.to_be_bytes());
        }
        let n = d.len();
        let mut f = Frame::new(&mut d, 0, n).unwrap();
        let at = sdwan_crypto::outer::UdpAt {
            udp_offset,
            ip_len,
        };
        let _ = inb.decap_udp(&mut f, at);
    }
}

/// An ESP packet sealed by hand with the SA's keys, so the ICV verifies and
/// the trailer checks are what refuses it.
fn hand_sealed(seq: u32, plain: &[u8]) -> Vec<u8> {
    use sdwan_crypto::aead::AeadEngine;
    let k = keys(Cipher::AesGcm128);
    let engine = E::new(k.key()).unwrap();
    let iv = u64::from(seq).to_be_bytes();
    let mut pkt = Vec::new();
    pkt.extend_from_slice(&SPI.to_be_bytes());
    pkt.extend_from_slice(&seq.to_be_bytes());
    pkt.extend_from_slice(&iv);
    pkt.extend_from_slice(plain);
    pkt.extend_from_slice(&[0u8; 16]);
    let mut aad = [0u8; 12];
    let n = sdwan_crypto::esp::aad(SPI, u64::from(seq), true, &mut aad);
    engine.seal(
        &sdwan_crypto::esp::nonce(k.salt(), iv),
        &aad[..n],
        &mut pkt[16..],
    );
    pkt
}

#[test]
fn trailer_checks_after_a_valid_icv() {
    let (_, mut inb) = pair(Cipher::AesGcm128, false, false);
    let sa = |inb: &mut InboundSet<E>| inb.remove(SPI).unwrap();
    let mut sa = sa(&mut inb);
    let cases: [(&[u8], DropReason); 5] = [
        (
            &[0xaa, 0xbb, 0xcc, 0xdd, 1, 3, 2, 4],
            DropReason::BadPadding,
        ), // pad bytes 1,3
        (&[0xaa, 0xbb, 9, 4], DropReason::BadPadding), // pad length > payload
        (&[0xaa, 0xbb, 0, 59], DropReason::Dummy),     // TFC dummy packet
        (&[0xaa, 0xbb, 0, 17], DropReason::BadNextHeader), // UDP is not a tunnel payload
        (&[0xaa, 0xbb, 0xcc, 1, 2], DropReason::BadLength), // not a multiple of 4
    ];
    for (i, (plain, want)) in cases.iter().enumerate() {
        let mut p = hand_sealed(i as u32 + 1, plain);
        let n = p.len();
        let mut f = Frame::new(&mut p, 0, n).unwrap();
        assert_eq!(sa.decap_at(&mut f, 0), Err(*want), "case {i}");
    }
    let mut p = hand_sealed(10, &[0xaa, 0xbb, 0, 4]);
    let n = p.len();
    let mut f = Frame::new(&mut p, 0, n).unwrap();
    assert_eq!(sa.decap_at(&mut f, 0), Ok(NextHeader::Ipv4));
    assert_eq!(f.data(), &[0xaa, 0xbb]);
    assert_eq!(sa.counters().drops.get(DropReason::BadPadding), 2);
}

#[test]
fn anti_replay_off_accepts_the_same_packet_again() {
    let k = keys(Cipher::AesGcm128);
    let mut params = SaParams::new(SPI);
    params.esn = false;
    params.replay_window = 0;
    let mut out = OutboundSa::<E>::new(params, &k, outer(false, true)).unwrap();
    let mut inb = InboundSet::<E>::default();
    inb.insert(InboundSa::new(params, &k).unwrap());
    let inner = inner_v4(60);
    let mut buf = buffer(&inner);
    let mut f = Frame::new(&mut buf, HEADROOM, inner.len()).unwrap();
    out.encap(&mut f, NextHeader::Ipv4).unwrap();
    let wire = f.data().to_vec();
    for _ in 0..3 {
        let mut again = wire.clone();
        let n = again.len();
        let mut f = Frame::new(&mut again, 0, n).unwrap();
        assert!(matches!(inb.decap(&mut f), Ok(Received::Inner { .. })));
        assert_eq!(f.data(), &inner[..]);
    }
    assert_eq!(inb.get(SPI).unwrap().counters().packets, 3);
    // Forgeries are still refused: only the sequence check is off.
    let mut bad = wire.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let mut f = Frame::new(&mut bad, 0, last + 1).unwrap();
    assert_eq!(inb.decap(&mut f), Err(DropReason::IcvFail));
    // ESN infers its high half from the window: not without one.
    params.esn = true;
    assert_eq!(
        InboundSa::<E>::new(params, &k).unwrap_err(),
        sdwan_crypto::esp::InboundError::EsnWithoutWindow
    );
}
