//! IPv4: checked view, checksum verify, TTL decrement and repr parse never
//! panic; the incremental checksum stays valid.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_packet::ipv4::{Ipv4Packet, Ipv4Repr};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Ipv4Packet::new_checked(data) {
        let _ = (p.payload(), p.is_fragment(), p.frag_offset());
        let valid = p.verify_checksum();
        let _ = Ipv4Repr::parse(&p);
        let mut copy = data.to_vec();
        let mut m = Ipv4Packet::new_unchecked(&mut copy[..]);
        if m.decrement_ttl().is_some() && valid {
            assert!(m.verify_checksum());
        }
    }
});
