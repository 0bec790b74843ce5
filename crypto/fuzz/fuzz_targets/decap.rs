//! Decapsulation must never panic: arbitrary bytes go through outer-header
//! parsing, SPI lookup (the first input byte picks whether the SPI field is
//! forced to the installed SA's) and, for a hit, ESP checks and GCM open;
//! other mode bits pin the SA's peer address, send the input twice
//! through `decap_burst` (replay re-check within a burst), or through
//! `decap_udp` with offsets taken from the mode byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdwan_crypto::{Cipher, InboundSa, InboundSet, KeyMaterial, SaParams};
use sdwan_packet::Frame;

const SPI: u32 = 0x0100_0000;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let keys = KeyMaterial::from_rfc4106(Cipher::AesGcm128, &[7u8; 20]).unwrap();
    let mut params = SaParams::new(SPI);
    params.esn = mode & 1 == 1;
    let mut set = InboundSet::<sdwan_crypto::aead::DefaultEngine>::default();
    let sa = InboundSa::new(params, &keys).unwrap();
    set.insert(if mode & 8 == 8 {
        sa.with_expected_peer(std::net::IpAddr::from([192, 0, 2, 1]))
    } else {
        sa
    });
    let mut buf = vec![0u8; rest.len() + 64];
    buf[32..32 + rest.len()].copy_from_slice(rest);
    if mode & 2 == 2 {
        // Aim the SPI at the SA after an IPv4 + UDP header.
        if let Some(s) = buf.get_mut(32 + 28..32 + 32) {
            s.copy_from_slice(&SPI.to_be_bytes());
        }
    }
    if mode & 4 == 4 {
        let mut copy = buf.clone();
        let mut frames = [
            Frame::new(&mut buf, 32, rest.len()).unwrap(),
            Frame::new(&mut copy, 32, rest.len()).unwrap(),
        ];
        let mut results = [Err(sdwan_crypto::DropReason::Truncated); 2];
        let mut ctx =
            <sdwan_crypto::aead::DefaultEngine as sdwan_crypto::aead::AeadEngine>::new_burst();
        set.decap_burst(&mut frames, &mut ctx, &mut results);
        return;
    }
    let mut frame = Frame::new(&mut buf, 32, rest.len()).unwrap();
    if mode & 16 == 16 {
        // The pipeline's entry: the IP header checked by the caller, the
        // offsets taken from the input (any value must be refused safely).
        let at = sdwan_crypto::outer::UdpAt {
            udp_offset: usize::from(mode >> 5) * 4 + 20,
            ip_len: rest.len().saturating_sub(usize::from(mode & 1)),
        };
        let _ = set.decap_udp(&mut frame, at);
        return;
    }
    let _ = set.decap(&mut frame);
});
