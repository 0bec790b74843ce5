//! The BGP sub-TLV value decoders (67, 68, 70) must never panic, and what
//! they accept must re-encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdwan_crypto::keyex::{NonceParam, PublicKeyParam, SimplifiedSaParam};

fuzz_target!(|b: &[u8]| {
    if let Ok(p) = PublicKeyParam::from_bytes(b) {
        assert_eq!(&p.to_bytes()[..], b);
    }
    if let Ok(p) = NonceParam::from_bytes(b) {
        assert_eq!(p.to_vec(), b);
    }
    if let Ok(p) = SimplifiedSaParam::from_bytes(b) {
        assert_eq!(&p.to_bytes()[..], b);
    }
});
