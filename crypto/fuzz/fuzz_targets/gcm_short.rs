//! Differential: the intel-ipsec-mb engine (whose short texts, up to 128 B,
//! take sdwan-ffi's VAES path on CPUs that have it) against aws-lc, on
//! arbitrary keys, IVs, AADs (0..=16 bytes) and texts (0..=144 bytes, past
//! the short path's limit). Seal must give the same bytes; opening the
//! sealed buffer must succeed; opening arbitrary bytes must give the same
//! verdict from both and, when both accept, the same text.
//!
//! Input: [key size bit | aad len (5 bits)] key(16|32) iv(12) aad text
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdwan_crypto::aead::{AeadEngine, AwsLcGcm, IpsecMbGcm};

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let key_len = if mode & 0x80 != 0 { 32 } else { 16 };
    let aad_len = usize::from(mode & 0x1f).min(16);
    if rest.len() < key_len + 12 + aad_len {
        return;
    }
    let (key, rest) = rest.split_at(key_len);
    let (iv, rest) = rest.split_at(12);
    let (aad, text) = rest.split_at(aad_len);
    let text = &text[..text.len().min(144)];
    let iv: &[u8; 12] = iv.try_into().unwrap();
    let (Ok(ours), Ok(reference)) = (IpsecMbGcm::new(key), AwsLcGcm::new(key)) else {
        return;
    };

    let mut a = text.to_vec();
    a.extend_from_slice(&[0; 16]);
    let mut b = a.clone();
    ours.seal(iv, aad, &mut a);
    reference.seal(iv, aad, &mut b);
    assert_eq!(a, b, "seal differs");
    let mut opened = a.clone();
    assert!(ours.open(iv, aad, &mut opened).is_ok(), "own seal refused");
    assert_eq!(&opened[..text.len()], text);

    // The text as a sealed buffer (its last 16 bytes as the tag).
    if text.len() >= 16 {
        let mut x = text.to_vec();
        let mut y = text.to_vec();
        let rx = ours.open(iv, aad, &mut x).is_ok();
        let ry = reference.open(iv, aad, &mut y).is_ok();
        assert_eq!(rx, ry, "open verdict differs");
        if rx {
            assert_eq!(x[..x.len() - 16], y[..y.len() - 16]);
        }
    }
});
