use super::*;
use etherparse::PacketBuilder;
use proptest::prelude::*;

const A4: [u8; 4] = [10, 1, 2, 3];
const B4: [u8; 4] = [192, 0, 2, 9];
const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn udp4(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .udp(5000, 53)
        .write(&mut v, payload)
        .unwrap();
    v
}

#[test]
fn ipv4_udp_with_dscp() {
    let mut p = udp4(b"hello");
    p[1] = (46 << 2) | 1; // EF, ECN bit set
    let k = FlowKey::parse(&p, 7).unwrap();
    assert_eq!(
        k,
        FlowKey::v4(7, A4.into(), B4.into(), protocol::UDP, 5000, 53, 46)
    );
    assert_eq!(k.flow_label, None);
    assert_eq!(k.src_ip(), IpAddr::V4(A4.into()));
}

#[test]
fn ipv4_tcp_and_padding() {
    let mut v = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .tcp(40000, 443, 1, 1000)
        .write(&mut v, &[])
        .unwrap();
    v.extend_from_slice(&[0u8; 6]); // Ethernet minimum-size padding
    let k = FlowKey::parse(&v, 1).unwrap();
    assert_eq!((k.protocol, k.src_port, k.dst_port), (6, 40000, 443));
}

#[test]
fn icmp_echo_identifier_is_the_source_port() {
    let mut v = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .icmpv4_echo_request(0x4242, 1)
        .write(&mut v, b"ping")
        .unwrap();
    let k = FlowKey::parse(&v, 0).unwrap();
    assert_eq!((k.protocol, k.src_port, k.dst_port), (1, 0x4242, 0));
    let mut v = Vec::new();
    PacketBuilder::ipv6(A6, B6, 64)
        .icmpv6_echo_request(0x77, 1)
        .write(&mut v, b"ping")
        .unwrap();
    let k = FlowKey::parse(&v, 0).unwrap();
    assert_eq!((k.protocol, k.src_port, k.dst_port), (58, 0x77, 0));
}

#[test]
fn ipv6_udp_flow_label_and_traffic_class() {
    let mut v = Vec::new();
    PacketBuilder::ipv6(A6, B6, 64)
        .udp(1234, 4789)
        .write(&mut v, b"x")
        .unwrap();
    // Traffic class 0xb8 (DSCP 46), flow label 0xabcde.
    v[0] = 0x6b;
    v[1] = 0x8a;
    v[2] = 0xbc;
    v[3] = 0xde;
    let k = FlowKey::parse(&v, 3).unwrap();
    assert_eq!(
        k,
        FlowKey::v6(3, B6.into(), B6.into(), 17, 1234, 4789, 46, 0xabcde).with_src(A6)
    );
}

impl FlowKey {
    fn with_src(mut self, a: [u8; 16]) -> Self {
        self.src = u128::from_be_bytes(a);
        self
    }
}

#[test]
fn ipv6_walks_extension_headers_to_udp() {
    let mut v = Vec::new();
    PacketBuilder::ipv6(A6, B6, 64)
        .udp(1, 2)
        .write(&mut v, b"abcd")
        .unwrap();
    // Insert an 8-byte Destination Options header in front of UDP.
    let udp = v.split_off(40);
    v[6] = 60;
    v.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
    v.extend_from_slice(&udp);
    let pl = (v.len() - 40) as u16;
    v[4..6].copy_from_slice(&pl.to_be_bytes());
    let k = FlowKey::parse(&v, 0).unwrap();
    assert_eq!((k.protocol, k.src_port, k.dst_port), (17, 1, 2));
}

#[test]
fn non_first_fragments_have_no_ports() {
    let mut p = udp4(b"12345678");
    p[6] = 0x00;
    p[7] = 0x01; // offset 8 bytes
    let k = FlowKey::parse(&p, 0).unwrap();
    assert_eq!((k.protocol, k.src_port, k.dst_port), (17, 0, 0));
}

#[test]
fn first_fragment_needs_only_the_udp_header() {
    let mut p = udp4(b"12345678");
    p[6] = 0x20; // MF
                 // UDP Length claims more than this fragment holds.
    p[24..26].copy_from_slice(&1000u16.to_be_bytes());
    let k = FlowKey::parse(&p, 0).unwrap();
    assert_eq!((k.src_port, k.dst_port), (5000, 53));
    // Unfragmented, the same Length is an error.
    p[6] = 0;
    assert!(matches!(
        FlowKey::parse(&p, 0),
        Err(Error::Truncated {
            layer: Layer::Udp,
            ..
        })
    ));
}

#[test]
fn each_malformation_names_its_layer() {
    assert!(matches!(
        FlowKey::parse(&[], 0),
        Err(Error::Truncated { need: 1, .. })
    ));
    assert!(matches!(
        FlowKey::parse(&[0x50; 40], 0),
        Err(Error::BadVersion { version: 5, .. })
    ));
    let p = udp4(b"");
    assert!(matches!(
        FlowKey::parse(&p[..24], 0),
        Err(Error::Truncated {
            layer: Layer::Ipv4,
            ..
        })
    ));
    // Total length cut to leave a 4-byte UDP header.
    let mut short = p.clone();
    short[2..4].copy_from_slice(&24u16.to_be_bytes());
    assert!(matches!(
        FlowKey::parse(&short, 0),
        Err(Error::Truncated {
            layer: Layer::Udp,
            ..
        })
    ));
    // TCP with data offset 4.
    let mut v = Vec::new();
    PacketBuilder::ipv4(A4, B4, 64)
        .tcp(1, 2, 3, 4)
        .write(&mut v, &[])
        .unwrap();
    v[32] = 0x40;
    assert!(matches!(
        FlowKey::parse(&v, 0),
        Err(Error::BadHeaderLength {
            layer: Layer::Tcp,
            value: 16
        })
    ));
}

#[test]
fn other_protocols_have_zero_ports() {
    let mut p = udp4(b"");
    p[9] = 47; // GRE
    let k = FlowKey::parse(&p, 0).unwrap();
    assert_eq!((k.protocol, k.src_port, k.dst_port), (47, 0, 0));
}

proptest! {
    #[test]
    fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..120), first in prop_oneof![Just(0x45u8), Just(0x60u8), any::<u8>()]) {
        let mut b = b;
        if let Some(x) = b.first_mut() { *x = first; }
        let _ = FlowKey::parse(&b, 0);
    }

    #[test]
    fn udp_roundtrip(src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), sp in any::<u16>(), dp in any::<u16>(),
                     payload in proptest::collection::vec(any::<u8>(), 0..64), vrf in any::<u32>()) {
        let mut v = Vec::new();
        PacketBuilder::ipv4(src, dst, 9).udp(sp, dp).write(&mut v, &payload).unwrap();
        let k = FlowKey::parse(&v, vrf).unwrap();
        prop_assert_eq!(k, FlowKey::v4(vrf, src.into(), dst.into(), 17, sp, dp, 0));
    }

    #[test]
    fn tcp6_roundtrip(src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), sp in any::<u16>(), dp in any::<u16>()) {
        let mut v = Vec::new();
        PacketBuilder::ipv6(src, dst, 9).tcp(sp, dp, 0, 0).write(&mut v, &[]).unwrap();
        let k = FlowKey::parse(&v, 0).unwrap();
        prop_assert_eq!(k, FlowKey::v6(0, src.into(), dst.into(), 6, sp, dp, 0, 0));
    }
}
