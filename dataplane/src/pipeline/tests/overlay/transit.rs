//! WAN -> WAN through a transit VRF (the hub of a hub-and-spoke topology,
//! draft §3.1.3): a decapsulated packet whose route points back into the
//! overlay goes on to the next edge only when its VRF is marked transit in
//! the snapshot; anywhere else it is dropped as `overlay_loop`.

use super::*;
use sdwan_crypto::NextHeader;
use sdwan_packet::ipv4::Ipv4Packet;
use sdwan_packet::ipv6::Ipv6Packet;

/// The test table with blue (label 1001, MPLS) marked transit; red stays
/// a plain VRF.
fn blue_transit() -> OverlayTable {
    let mut t = table();
    for e in &mut t.decap {
        e.transit = e.vrf == 1;
    }
    t
}

/// A spoke's client packet (UDP, `ttl`) for another spoke, sealed by the
/// spoke's SA toward our WAN port with `label`.
fn from_spoke(sa: &mut OutboundSa<DefaultEngine>, label: u32, dst: &str, ttl: u8) -> Vec<u8> {
    let (s, d) = (v4("10.2.0.5"), v4(dst));
    let client = ipv4(s, d, 17, ttl, &udp(s.into(), d.into(), 7, 32));
    wan_frame(sa, NextHeader::Mpls, &mpls(label, ttl, &client))
}

#[test]
fn transit_vrf_forwards_overlay_to_overlay_with_ttl_decremented() {
    let mut edge = Edge::new();
    edge.publish(blue_transit());
    let mut peer = Peer::new();
    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    // 10.7.0.0/16 in blue: path 1, MPLS 1001 over the IPv6 tunnel.
    let (v, out) = edge.run(&from_spoke(&mut sa, 1001, "10.7.0.9", 60), WAN);
    assert_eq!(v, Verdict::Forward { port: WAN });
    let e = super::super::eth_of(&out);
    assert_eq!(
        (e.dst(), e.src(), e.ethertype()),
        (GW_MAC, WAN_MAC, ethertype::IPV6)
    );
    let (spi, nh, inner) = peer.open(&out);
    assert_eq!((spi, nh), (OUT_V6, NextHeader::Mpls));
    // Label 1001, S=1, TTL 59: one hop more than the spoke's 60.
    assert_eq!(&inner[..4], &[0x00, 0x3e, 0x91, 59]);
    let client = Ipv4Packet::new_checked(&inner[4..]).unwrap();
    assert_eq!((client.ttl(), client.dst()), (59, v4("10.7.0.9")));
    assert!(client.verify_checksum());
    assert_eq!(edge.count(Event::OverlayDecapsulated), 1);
    assert_eq!(edge.count(Event::OverlayEncapsulated), 1);
    assert_eq!(edge.count(Event::OverlayTransit), 1);
    assert_eq!(edge.drops(DropReason::OverlayLoop), 0);
    let t = edge.worker.overlay.tunnel_counters(1).unwrap();
    assert_eq!(t.sa.packets, 1);

    // IPv6 client, same transit VRF: hop limit 30 -> 29.
    let (s, d) = (v6("2001:db8:c::5"), v6("2001:db8:b::7"));
    let c6 = ipv6(s, d, 17, 30, &udp(s.into(), d.into(), 7, 16));
    let (v, out) = edge.run(
        &wan_frame(&mut sa, NextHeader::Mpls, &mpls(1001, 30, &c6)),
        WAN,
    );
    assert_eq!(v, Verdict::Forward { port: WAN });
    let (_, _, inner) = peer.open(&out);
    let ip = Ipv6Packet::new_checked(&inner[4..]).unwrap();
    assert_eq!((ip.hop_limit(), ip.dst()), (29, d));
}

#[test]
fn non_transit_vrf_still_drops_overlay_loop() {
    let mut edge = Edge::new();
    edge.publish(blue_transit());
    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    // Red (label 2002) routes 10.2.0.0/16 into the overlay but is no hub.
    let (v, _) = edge.run(&from_spoke(&mut sa, 2002, "10.2.9.9", 60), WAN);
    assert_eq!(v, Verdict::Drop(DropReason::OverlayLoop));
    // The same packet into blue before it was a transit VRF: dropped too.
    let mut plain = Edge::new();
    let (v, _) = plain.run(&from_spoke(&mut sa, 1001, "10.7.0.9", 60), WAN);
    assert_eq!(v, Verdict::Drop(DropReason::OverlayLoop));
    assert_eq!(plain.count(Event::OverlayEncapsulated), 0);
    assert_eq!(plain.count(Event::OverlayTransit), 0);
}

#[test]
fn transit_errors_are_counted_drops_never_icmp_into_the_wan() {
    let mut edge = Edge::new();
    edge.publish(blue_transit());
    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    // TTL 1 at the hub: expired, no Time Exceeded back out of the WAN port.
    let (v, _) = edge.run(&from_spoke(&mut sa, 1001, "10.7.0.9", 1), WAN);
    assert_eq!(v, Verdict::Drop(DropReason::TtlExpired));
    // Bigger than the next tunnel carries, DF set: dropped, no frag-needed
    // (it would leave unencrypted toward the spoke's WAN address).
    let (s, d) = (v4("10.2.0.5"), v4("10.7.0.9"));
    let big = ipv4(s, d, 17, 60, &udp(s.into(), d.into(), 7, 1440));
    let f = wan_frame(&mut sa, NextHeader::Mpls, &mpls(1001, 60, &big));
    let (v, _) = edge.run(&f, WAN);
    assert_eq!(v, Verdict::Drop(DropReason::MtuExceeded));
    assert_eq!(edge.count(Event::OverlayEncapsulated), 0);
    assert_eq!(edge.count(Event::OverlayTransit), 0);
}
