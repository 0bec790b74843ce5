//! `OutboundSa::encap_burst` and `InboundSet::decap_burst` against the
//! per-packet paths, on every backend compiled in (intel-ipsec-mb submits
//! the burst to its job manager; the others loop): identical bytes,
//! identical outcomes and counters, mixed SAs, keepalives, tampering,
//! duplicates within one burst, and bursts longer than `MAX_BURST`.

use sdwan_crypto::aead::{AeadEngine, MAX_BURST};
use sdwan_crypto::esp::OuterConfig;
use sdwan_crypto::{
    Cipher, DropReason, InboundSa, InboundSet, KeyMaterial, NextHeader, OutboundSa, Received,
    SaParams,
};
use sdwan_packet::Frame;

const HEAD: usize = 128;
const ROOM: usize = 2048;

fn sa_pair<E: AeadEngine>(spi: u32, cipher: Cipher) -> (OutboundSa<E>, InboundSa<E>) {
    let k = KeyMaterial::from_rfc4106(cipher, &vec![spi as u8; cipher.key_len() + 4]).unwrap();
    let outer = OuterConfig::natt(
        "192.0.2.1".parse().unwrap(),
        "198.51.100.2".parse().unwrap(),
    );
    (
        OutboundSa::new(SaParams::new(spi), &k, outer).unwrap(),
        InboundSa::new(SaParams::new(spi), &k).unwrap(),
    )
}

/// Buffers holding inner packets of assorted sizes (a GRE-ish payload).
fn inners(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = [1, 40, 63, 64, 200, 1400][i % 6] + i % 5;
            let mut b = vec![0u8; ROOM];
            for (j, x) in b[HEAD..HEAD + len].iter_mut().enumerate() {
                *x = (i * 7 + j) as u8;
            }
            b[ROOM - 1] = len as u8; // remember the length below
            b[ROOM - 2] = (len >> 8) as u8;
            b
        })
        .collect()
}

fn inner_len(b: &[u8]) -> usize {
    usize::from(b[ROOM - 2]) << 8 | usize::from(b[ROOM - 1])
}

/// Encaps with the burst path and the per-packet path on twin SAs and
/// checks byte equality; returns the wire packets.
fn encap_both<E: AeadEngine>(n: usize, spi: u32) -> Vec<Vec<u8>> {
    let (mut a, _) = sa_pair::<E>(spi, Cipher::AesGcm128);
    let (mut b, _) = sa_pair::<E>(spi, Cipher::AesGcm128);
    let mut ctx = E::new_burst();
    let mut bufs_a = inners(n);
    let mut bufs_b = inners(n);
    let lens: Vec<usize> = bufs_a.iter().map(|b| inner_len(b)).collect();
    let mut frames: Vec<Frame<'_>> = bufs_a
        .iter_mut()
        .zip(&lens)
        .map(|(b, l)| Frame::new(&mut b[..ROOM - 2], HEAD, *l).unwrap())
        .collect();
    let mut results = vec![Err(DropReason::Truncated); n];
    a.encap_burst(&mut frames, NextHeader::Gre, &mut ctx, &mut results);
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let burst_wire: Vec<Vec<u8>> = frames.iter().map(|f| f.data().to_vec()).collect();
    // Byte for byte: same sequence numbers, IP ids, ciphertext, ICVs.
    for ((buf, l), want) in bufs_b.iter_mut().zip(&lens).zip(&burst_wire) {
        let mut f = Frame::new(&mut buf[..ROOM - 2], HEAD, *l).unwrap();
        b.encap(&mut f, NextHeader::Gre).unwrap();
        assert_eq!(f.data(), &want[..], "{}", E::NAME);
    }
    assert_eq!(a.counters(), b.counters());
    assert_eq!(a.next_seq(), n as u64 + 1);
    burst_wire
}

fn burst_matches_per_packet<E: AeadEngine>() {
    // Two SAs' traffic interleaved, plus a keepalive, a tampered packet
    // and a duplicate, in one burst longer than MAX_BURST.
    let n = MAX_BURST + 20;
    let w1 = encap_both::<E>(n, 0x1111);
    let w2 = encap_both::<E>(n / 2, 0x2222);
    let mut wire: Vec<Vec<u8>> = Vec::new();
    for i in 0..n {
        wire.push(w1[i].clone());
        if i < w2.len() {
            wire.push(w2[i].clone());
        }
    }
    let mut keepalive = w1[0][..29].to_vec();
    keepalive[28] = 0xff;
    // Fix the outer lengths of the keepalive: IPv4 total 29, UDP 9.
    keepalive[2..4].copy_from_slice(&29u16.to_be_bytes());
    keepalive[10] = 0;
    keepalive[11] = 0;
    let c = sdwan_crypto::outer::ipv4_checksum(&keepalive[..20]);
    keepalive[10..12].copy_from_slice(&c.to_be_bytes());
    keepalive[24..26].copy_from_slice(&9u16.to_be_bytes());
    wire.insert(5, keepalive);
    let mut tampered = w1[3].clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x80;
    wire.insert(2, tampered); // before the genuine one
    wire.insert(12, w2[1].clone()); // a duplicate of a packet in this burst

    let make_set = || {
        let mut s = InboundSet::<E>::default();
        s.insert(sa_pair::<E>(0x1111, Cipher::AesGcm128).1);
        s.insert(sa_pair::<E>(0x2222, Cipher::AesGcm128).1);
        s
    };
    let (mut burst_set, mut single_set) = (make_set(), make_set());
    let mut ctx = E::new_burst();
    let mut bufs_a = wire.clone();
    let mut frames: Vec<Frame<'_>> = bufs_a
        .iter_mut()
        .map(|b| {
            let l = b.len();
            Frame::new(b, 0, l).unwrap()
        })
        .collect();
    let mut results = vec![Err(DropReason::Truncated); frames.len()];
    burst_set.decap_burst(&mut frames, &mut ctx, &mut results);

    let mut bufs_b = wire.clone();
    for ((b, r), f) in bufs_b.iter_mut().zip(&results).zip(&frames) {
        let l = b.len();
        let mut g = Frame::new(b, 0, l).unwrap();
        assert_eq!(single_set.decap(&mut g), *r, "{}", E::NAME);
        if r.is_ok() {
            assert_eq!(g.data(), f.data());
        }
    }
    let count = |want: &dyn Fn(&Result<Received, DropReason>) -> bool| {
        results.iter().filter(|r| want(r)).count()
    };
    assert_eq!(count(&|r| *r == Ok(Received::Keepalive)), 1);
    assert_eq!(count(&|r| *r == Err(DropReason::IcvFail)), 1);
    assert_eq!(count(&|r| *r == Err(DropReason::Replay)), 1);
    assert_eq!(
        count(&|r| matches!(r, Ok(Received::Inner { .. }))),
        n + n / 2
    );
    for spi in [0x1111, 0x2222] {
        assert_eq!(
            burst_set.get(spi).unwrap().counters(),
            single_set.get(spi).unwrap().counters()
        );
    }
    // The inner packets are the originals.
    let originals = inners(n);
    let mut k = 0;
    for (r, f) in results.iter().zip(&frames) {
        if let Ok(Received::Inner { spi: 0x1111, .. }) = r {
            let l = inner_len(&originals[k]);
            assert_eq!(f.data(), &originals[k][HEAD..HEAD + l]);
            k += 1;
        }
    }
}

macro_rules! for_backend {
    ($modname:ident, $feature:literal, $ty:ty) => {
        #[cfg(feature = $feature)]
        mod $modname {
            #[test]
            fn burst_matches_per_packet() {
                super::burst_matches_per_packet::<$ty>();
            }
        }
    };
}

for_backend!(aws_lc, "aws-lc", sdwan_crypto::aead::AwsLcGcm);
for_backend!(rustcrypto, "rustcrypto", sdwan_crypto::aead::RustCryptoGcm);
for_backend!(ipsec_mb, "ipsec-mb", sdwan_crypto::aead::IpsecMbGcm);
