//! IPv6: checked view and the extension-header walk never panic, and the
//! upper-layer offset stays inside the packet.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_packet::ipv6::{Ipv6Packet, Ipv6Repr};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Ipv6Packet::new_checked(data) {
        let _ = Ipv6Repr::parse(&p);
        if let Ok(ul) = p.upper_layer() {
            assert!(ul.offset <= p.total_len());
        }
    }
});
