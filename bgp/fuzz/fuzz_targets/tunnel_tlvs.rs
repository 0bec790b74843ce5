//! cargo fuzz run tunnel_tlvs: Tunnel Encapsulation attribute (23) and its sub-TLVs
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_bgp::wire::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = TunnelEncap::decode(data) {
        let mut out = Vec::new();
        t.encode(&mut out);
        assert_eq!(TunnelEncap::decode(&out).ok(), Some(t));
    }
});
