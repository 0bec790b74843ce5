//! ICMPv6 and NDP: parse never panics (first 32 bytes are the pseudo-header
//! addresses); parsed messages re-emit and re-parse to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_packet::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use sdwan_packet::ndp::NdpRepr;
use std::net::Ipv6Addr;

fuzz_target!(|data: &[u8]| {
    if data.len() < 32 {
        return;
    }
    let mut a = [0u8; 16];
    let mut b = [0u8; 16];
    a.copy_from_slice(&data[..16]);
    b.copy_from_slice(&data[16..32]);
    let (src, dst) = (Ipv6Addr::from(a), Ipv6Addr::from(b));
    if let Ok(p) = Icmpv6Packet::new_checked(&data[32..]) {
        let _ = NdpRepr::parse(&p);
        if let Ok(r) = Icmpv6Repr::parse(&src, &dst, &p) {
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&src, &dst, &mut out).expect("emits");
            let back = Icmpv6Packet::new_checked(&out[..]).expect("view");
            assert_eq!(Icmpv6Repr::parse(&src, &dst, &back).expect("reparses"), r);
        }
    }
});
