//! ICMPv4: parse never panics; parsed messages re-emit to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_packet::icmpv4::{Icmpv4Packet, Icmpv4Repr};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Icmpv4Packet::new_checked(data) {
        if let Ok(r) = Icmpv4Repr::parse(&p) {
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut out).expect("emits");
            let back = Icmpv4Packet::new_checked(&out[..]).expect("view");
            assert_eq!(Icmpv4Repr::parse(&back).expect("reparses"), r);
        }
    }
});
