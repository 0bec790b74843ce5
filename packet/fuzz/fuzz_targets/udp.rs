//! UDP: checked view and checksum verification never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_packet::udp::{UdpPacket, UdpRepr};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = UdpPacket::new_checked(data) {
        let _ = p.payload();
        let v4 = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
        let v6 = (IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        let _ = UdpRepr::parse(&p, &v4.0, &v4.1);
        let _ = UdpRepr::parse(&p, &v6.0, &v6.1);
    }
});
