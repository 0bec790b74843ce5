//! The ESP layer's own cost beside the raw seal (issue: encap >= 0.90 of
//! seal): `ESP_LOOP=seal|seal_iv|encap ESP_SIZE=1400 ESP_ITERS=N` runs N
//! seals (AES-128-GCM, 12-byte AAD; `ESP_SEAL_LEN` bytes, default the
//! size), N seals whose nonce and AAD are rewritten just before the call
//! (`seal_iv`), or N ESP encapsulations (IPv4 + NAT-T, ESN) of one inner
//! packet, with the engine named by `ESP_ENGINE` (`aws-lc` or
//! `ipsec-mb`, features permitting).
//! - `ESP_TIME=1` prints ns per operation (wall clock: use on a quiet
//!   machine, compare modes in one session);
//! - under `valgrind --tool=callgrind`, (Ir at N) - (Ir at 0), divided by
//!   N, is instructions per packet, stable on a shared machine.
//!
//! Found with it: ~140 instructions of ESP work cost ~20-28 ns with
//! intel-ipsec-mb, because the engine's masked loads of the IV and AAD
//! wait for stores made just before the call (`seal_iv` shows the same
//! +16 ns); `OutboundSa` now builds them 8 packets ahead.
use sdwan_crypto::aead::AeadEngine;
use sdwan_crypto::esp::OuterConfig;
use sdwan_crypto::outer::{DfPolicy, DscpPolicy, NattPorts, NATT_PORT};
use sdwan_crypto::{Cipher, KeyMaterial, NextHeader, OutboundSa, SaParams};
use sdwan_packet::Frame;
use std::hint::black_box;

const HEAD: usize = 128;

fn run<E: AeadEngine>(mode: &str, size: usize, iters: u64) {
    let keys = KeyMaterial::from_rfc4106(Cipher::AesGcm128, &[0x42; 20]).unwrap();
    let outer = OuterConfig {
        src: "192.0.2.1".parse().unwrap(),
        dst: "198.51.100.1".parse().unwrap(),
        natt: Some(NattPorts {
            src: NATT_PORT,
            dst: NATT_PORT,
        }),
        ttl: 64,
        dscp: DscpPolicy::Copy,
        df: DfPolicy::Copy,
    };
    let mut sa = OutboundSa::<E>::new(SaParams::new(0x1234_5678), &keys, outer).unwrap();
    let engine = E::new(&[0x42; 16]).unwrap();
    let mut buf = vec![0u8; HEAD + size + 64];
    buf[HEAD] = 0x45;
    let (nonce, aad) = ([7u8; 12], [1u8; 12]);
    let seal_len: usize = std::env::var("ESP_SEAL_LEN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(size);
    let start = std::time::Instant::now();
    for _ in 0..iters {
        if mode == "seal" {
            engine.seal(
                black_box(&nonce),
                &aad,
                &mut buf[HEAD..HEAD + seal_len + 16],
            );
        } else if mode == "seal_iv" {
            // Nonce and AAD rewritten right before each call, as a
            // per-packet ESP layer naively would: shows the wait of the
            // engine's (masked) loads for those stores.
            let (mut n, mut a) = (nonce, aad);
            n[4..].copy_from_slice(&black_box(7u64).to_be_bytes());
            a[4..].copy_from_slice(&black_box(9u64).to_be_bytes());
            engine.seal(black_box(&n), &a, &mut buf[HEAD..HEAD + seal_len + 16]);
        } else {
            let mut f = Frame::new(&mut buf, HEAD, size).unwrap();
            sa.encap(&mut f, NextHeader::Ipv4).unwrap();
        }
        black_box(&buf);
    }
    if std::env::var("ESP_TIME").is_ok() {
        let ns = start.elapsed().as_nanos() as f64 / iters.max(1) as f64;
        println!("{mode} {size}: {ns:.1} ns/op");
    }
}

fn main() {
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let mode = var("ESP_LOOP", "encap");
    let size: usize = var("ESP_SIZE", "1400").parse().expect("ESP_SIZE");
    let iters: u64 = var("ESP_ITERS", "1000").parse().expect("ESP_ITERS");
    match var("ESP_ENGINE", "aws-lc").as_str() {
        #[cfg(feature = "aws-lc")]
        "aws-lc" => run::<sdwan_crypto::aead::AwsLcGcm>(&mode, size, iters),
        #[cfg(feature = "ipsec-mb")]
        "ipsec-mb" => run::<sdwan_crypto::aead::IpsecMbGcm>(&mode, size, iters),
        other => panic!("engine {other} not built in"),
    }
}
