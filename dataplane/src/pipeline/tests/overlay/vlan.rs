//! The overlay and 802.1Q sub-interfaces: a blue client on VLAN 100 of
//! the blue port reaches the tunnel with its tag stripped (the client
//! packet at offset 14 as for an untagged port), and decapsulated traffic
//! toward VLAN 100 leaves tagged.

use super::*;
use crate::pipeline::overlay_out::tunnel_mtu;
use sdwan_crypto::NextHeader;
use sdwan_packet::icmpv4::{msg_type, unreach_code, Icmpv4Packet};
use sdwan_packet::ipv4::Ipv4Packet;

/// `frame` with an 802.1Q tag for `vid`.
fn tagged(vid: u16, frame: &[u8]) -> Vec<u8> {
    let mut b = frame[..12].to_vec();
    b.extend_from_slice(&[0x81, 0x00]);
    b.extend_from_slice(&vid.to_be_bytes());
    b.extend_from_slice(&frame[12..]);
    b
}

/// The VID of a tagged frame and the frame without the tag.
fn untag(out: &[u8]) -> (u16, Vec<u8>) {
    assert_eq!(out[12..14], [0x81, 0x00], "frame must be 802.1Q tagged");
    let mut b = out[..12].to_vec();
    b.extend_from_slice(&out[16..]);
    (u16::from_be_bytes([out[14], out[15]]), b)
}

#[test]
fn client_on_a_vlan_is_encapsulated_like_an_untagged_one() {
    let mut edge = Edge::new();
    let mut peer = Peer::new();
    let plain = lan_v4("10.100.0.2", "10.2.3.4", 1000, 100);
    let (v, out) = edge.run(&tagged(100, &plain), BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN });
    let e = crate::pipeline::tests::eth_of(&out);
    assert_eq!(
        (e.dst(), e.src(), e.vlan_id(), e.ethertype()),
        (GW_MAC, WAN_MAC, None, ethertype::IPV4),
        "the underlay frame is untagged"
    );
    let (spi, nh, inner) = peer.open(&out);
    assert_eq!((spi, nh), (OUT_V4, NextHeader::Mpls));
    assert_eq!(&inner[..4], &[0x00, 0x3e, 0x91, 63], "blue label 1001");
    let client = Ipv4Packet::new_checked(&inner[4..]).unwrap();
    assert_eq!(
        (client.src(), client.dst(), client.ttl()),
        (v4("10.100.0.2"), v4("10.2.3.4"), 63)
    );
    assert!(client.verify_checksum());
    assert_eq!(inner[4 + 20..], plain[14 + 20..], "payload intact");
    assert_eq!(edge.count(Event::OverlayEncapsulated), 1);
    assert_eq!(edge.worker.counters.port(BLUE_V100).rx_packets, 1);
}

#[test]
fn frag_needed_for_a_vlan_client_goes_back_tagged() {
    let mut edge = Edge::new();
    let max = tunnel_mtu(1500, 20 + 8 + 16, 4);
    let big = lan_v4("10.100.0.2", "10.2.0.1", 1, max - 27);
    let (v, out) = edge.run(&tagged(100, &big), BLUE);
    assert_eq!(v, Verdict::Reply { port: BLUE });
    let (vid, plain) = untag(&out);
    assert_eq!(vid, 100);
    let ip = Ipv4Packet::new_checked(&plain[14..]).unwrap();
    assert_eq!((ip.src(), ip.dst()), (v4("10.100.0.1"), v4("10.100.0.2")));
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(
        (icmp.msg_type(), icmp.code(), icmp.rest_of_header()),
        (
            msg_type::DST_UNREACHABLE,
            unreach_code::FRAG_NEEDED,
            max as u32
        )
    );
}

#[test]
fn decapsulated_traffic_toward_a_vlan_leaves_tagged_on_the_parent() {
    let mut edge = Edge::new();
    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    let (s, d) = (v4("10.2.0.5"), v4("10.100.0.2"));
    let client = ipv4(s, d, 17, 60, &udp(s.into(), d.into(), 7, 32));
    let input = wan_frame(&mut sa, NextHeader::Mpls, &mpls(1001, 60, &client));
    let (v, out) = edge.run(&input, WAN);
    assert_eq!(v, Verdict::Forward { port: BLUE });
    let (vid, plain) = untag(&out);
    assert_eq!(vid, 100);
    let e = crate::pipeline::tests::eth_of(&plain);
    assert_eq!(
        (e.dst(), e.src(), e.ethertype()),
        (VLAN_HOST_MAC, BLUE_MAC, ethertype::IPV4)
    );
    let ip = Ipv4Packet::new_checked(&plain[14..]).unwrap();
    assert_eq!((ip.ttl(), ip.dst()), (59, d));
    assert!(ip.verify_checksum());
    assert_eq!(plain[14 + 20..], client[20..], "payload intact");
    assert_eq!(edge.count(Event::OverlayDecapsulated), 1);
    assert_eq!(edge.worker.counters.port(BLUE_V100).tx_packets, 1);
    // Red's label never reaches blue's VLAN (10.100/24 is blue only).
    let input = wan_frame(&mut sa, NextHeader::Mpls, &mpls(2002, 60, &client));
    let (v, _) = edge.run(&input, WAN);
    assert_eq!(v, Verdict::Drop(DropReason::NoRoute));
}
