//! Ethernet II / 802.1Q view and repr: parse never panics, and a parsed
//! header re-emits to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_packet::ethernet::{EthernetFrame, EthernetRepr};

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = EthernetFrame::new_checked(data) {
        let r = EthernetRepr::parse(&f).expect("checked frame parses");
        let mut out = [0u8; 18];
        r.emit(&mut out).expect("parsed header emits");
        let n = r.header_len();
        // PCP/DEI bits are not represented.
        if r.vlan_id.is_none() {
            assert_eq!(&out[..n], &data[..n]);
        }
        let _ = f.payload();
    }
});
