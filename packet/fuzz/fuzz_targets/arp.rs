//! ARP: parse never panics; a parsed packet re-emits to the same 28 bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_packet::arp::{ArpPacket, ArpRepr, PACKET_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = ArpPacket::new_checked(data) {
        if let Ok(r) = ArpRepr::parse(&p) {
            let mut out = [0u8; PACKET_LEN];
            r.emit(&mut out).expect("emits");
            assert_eq!(&out[..], &data[..PACKET_LEN]);
        }
    }
});
