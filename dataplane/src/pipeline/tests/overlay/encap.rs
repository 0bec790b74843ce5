//! LAN -> WAN: client packets through an overlay path.

use super::*;
use crate::overlay::OverlayCounterSlots;
use crate::pipeline::overlay_out::tunnel_mtu;
use sdwan_crypto::NextHeader;
use sdwan_packet::icmpv4::{msg_type, unreach_code, Icmpv4Packet};
use sdwan_packet::icmpv6::{self, Icmpv6Packet};
use sdwan_packet::ipv4::Ipv4Packet;
use sdwan_packet::ipv6::Ipv6Packet;
use sdwan_packet::tcp::TcpPacket;

fn assert_outer_v4(out: &[u8], src: &str, dst: &str, gw: MacAddr, port_mac: MacAddr) {
    let e = super::super::eth_of(out);
    assert_eq!(
        (e.dst(), e.src(), e.ethertype()),
        (gw, port_mac, ethertype::IPV4)
    );
    let ip = Ipv4Packet::new_checked(&out[14..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!((ip.src(), ip.dst(), ip.protocol()), (v4(src), v4(dst), 17));
    assert_eq!(usize::from(ip.total_len()), out.len() - 14);
    let udp = &out[34..42];
    assert_eq!(&udp[..4], &[0x11, 0x94, 0x11, 0x94], "UDP 4500 -> 4500");
}

#[test]
fn lan_ipv4_leaves_as_esp_in_udp_with_mpls_label_and_ttl() {
    let mut edge = Edge::new();
    let mut peer = Peer::new();
    let input = lan_v4("10.1.0.2", "10.2.3.4", 1000, 100);
    let (v, out) = edge.run(&input, BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN });
    assert_outer_v4(&out, WAN_V4, PEER_V4, GW_MAC, WAN_MAC);
    let (spi, nh, inner) = peer.open(&out);
    assert_eq!((spi, nh), (OUT_V4, NextHeader::Mpls));
    // Label 1001, S=1, TTL 63 (copied after the decrement).
    assert_eq!(&inner[..4], &[0x00, 0x3e, 0x91, 63]);
    let client = Ipv4Packet::new_checked(&inner[4..]).unwrap();
    assert_eq!(client.ttl(), 63);
    assert!(client.verify_checksum());
    assert_eq!(inner[4..].len(), input.len() - 14);
    assert_eq!(inner[4 + 20..], input[14 + 20..], "payload intact");
    assert_eq!(edge.count(Event::OverlayEncapsulated), 1);
    let t = edge.worker.overlay.tunnel_counters(0).unwrap();
    assert_eq!((t.sa.packets, t.sa.bytes), (1, inner.len() as u64));
}

#[test]
fn lan_ipv6_leaves_over_ipv6_underlay() {
    let mut edge = Edge::new();
    let mut peer = Peer::new();
    let input = lan_v6("2001:db8:a::2", "2001:db8:b::7", 1000, 64);
    let (v, out) = edge.run(&input, BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN });
    let e = super::super::eth_of(&out);
    assert_eq!((e.dst(), e.ethertype()), (GW_MAC, ethertype::IPV6));
    let ip = Ipv6Packet::new_checked(&out[14..]).unwrap();
    assert_eq!(
        (ip.src(), ip.dst(), ip.next_header()),
        (v6(WAN_V6), v6(PEER_V6), 17)
    );
    let (spi, nh, inner) = peer.open(&out);
    assert_eq!((spi, nh), (OUT_V6, NextHeader::Mpls));
    assert_eq!(&inner[..4], &[0x00, 0x3e, 0x91, 63]);
    let client = Ipv6Packet::new_checked(&inner[4..]).unwrap();
    assert_eq!(
        (client.hop_limit(), client.dst()),
        (63, v6("2001:db8:b::7"))
    );
}

#[test]
fn ipv4_client_over_ipv6_underlay_and_ipv6_client_over_ipv4() {
    let mut edge = Edge::new();
    let mut peer = Peer::new();
    let (v, out) = edge.run(&lan_v4("10.1.0.2", "10.7.0.1", 1000, 10), BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN });
    assert_eq!(super::super::eth_of(&out).ethertype(), ethertype::IPV6);
    let (spi, _, inner) = peer.open(&out);
    assert_eq!(spi, OUT_V6);
    assert_eq!(inner[4] >> 4, 4);

    let (v, out) = edge.run(&lan_v6("2001:db8:a::2", "2001:db8:c::1", 1000, 10), BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN });
    assert_outer_v4(&out, WAN_V4, PEER_V4, GW_MAC, WAN_MAC);
    let (spi, _, inner) = peer.open(&out);
    assert_eq!(spi, OUT_V4);
    assert_eq!(inner[4] >> 4, 6);
}

#[test]
fn red_vrf_uses_its_own_label_for_the_same_prefix() {
    let mut edge = Edge::new();
    let mut peer = Peer::new();
    let s = v4("10.1.0.2");
    let d = v4("10.2.3.4");
    let u = udp(s.into(), d.into(), 1, 4);
    let input = eth(RED_MAC, CLIENT_MAC, ethertype::IPV4, &ipv4(s, d, 17, 9, &u));
    let (v, out) = edge.run(&input, RED);
    assert_eq!(v, Verdict::Forward { port: WAN });
    let (_, _, inner) = peer.open(&out);
    // 2002 << 12 | S | TTL 8
    assert_eq!(&inner[..4], &[0x00, 0x7d, 0x21, 8]);
}

#[test]
fn gre_and_vxlan_layouts_decrypt_to_their_headers() {
    let mut edge = Edge::new();
    let mut peer = Peer::new();
    let (v, out) = edge.run(&lan_v4("10.1.0.2", "10.4.0.1", 1000, 10), BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN });
    let (_, nh, inner) = peer.open(&out);
    assert_eq!(nh, NextHeader::Gre);
    assert_eq!(&inner[..8], &[0x20, 0, 0x08, 0, 0, 0, 0x03, 0xe9]);

    for (dst, outer_v6) in [("10.5.0.1", false), ("10.6.0.1", true)] {
        let (v, out) = edge.run(&lan_v4("10.1.0.2", dst, 1000, 10), BLUE);
        assert_eq!(v, Verdict::Forward { port: WAN }, "{dst}");
        let (_, nh, inner) = peer.open(&out);
        let ip_len = if outer_v6 { 40 } else { 20 };
        let expect = if outer_v6 {
            NextHeader::Ipv6
        } else {
            NextHeader::Ipv4
        };
        assert_eq!(nh, expect);
        let udp = &inner[ip_len..ip_len + 8];
        assert_eq!(&udp[2..4], &4789u16.to_be_bytes());
        let vx = &inner[ip_len + 8..ip_len + 16];
        assert_eq!(vx, &[0x08, 0, 0, 0, 0, 0x03, 0xe9, 0]);
        let eth_at = ip_len + 16;
        assert_eq!(&inner[eth_at + 6..eth_at + 12], &WAN_MAC.0);
        assert_eq!(&inner[eth_at + 12..eth_at + 14], &[0x08, 0x00]);
        assert_eq!(
            Ipv4Packet::new_checked(&inner[eth_at + 14..])
                .unwrap()
                .ttl(),
            63
        );
    }
}

#[test]
fn flows_spread_over_two_tunnels_and_each_flow_stays() {
    let mut edge = Edge::new();
    let mut per_port = [0u32; 4];
    for sport in 0..64u16 {
        let input = lan_v4("10.1.0.2", "10.3.0.1", 2000 + sport, 10);
        let (v, first) = edge.run(&input, BLUE);
        let Verdict::Forward { port } = v else {
            panic!("{v:?}")
        };
        per_port[usize::from(port)] += 1;
        for _ in 0..3 {
            let (again, out) = edge.run(&input, BLUE);
            assert_eq!(again, v, "flow {sport} moved");
            assert_eq!(out[26..34], first[26..34], "same outer addresses");
        }
    }
    assert!(per_port[usize::from(WAN)] >= 16, "{per_port:?}");
    assert!(per_port[usize::from(WAN2)] >= 16, "{per_port:?}");
    assert_eq!(per_port[usize::from(WAN)] + per_port[usize::from(WAN2)], 64);
}

#[test]
fn oversize_with_df_gets_frag_needed_with_the_tunnel_mtu() {
    let mut edge = Edge::new();
    let max = tunnel_mtu(1500, 20 + 8 + 16, 4);
    assert_eq!(max, 1434);
    // Exactly the tunnel MTU passes and fits the port MTU.
    let fits = lan_v4("10.1.0.2", "10.2.0.1", 1, max - 28);
    let (v, out) = edge.run(&fits, BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN });
    assert!(out.len() - 14 <= 1500);
    // One more byte: frag-needed back to the client, out of the LAN port.
    let big = lan_v4("10.1.0.2", "10.2.0.1", 1, max - 27);
    let (v, out) = edge.run(&big, BLUE);
    assert_eq!(v, Verdict::Reply { port: BLUE });
    let e = super::super::eth_of(&out);
    assert_eq!((e.dst(), e.src()), (CLIENT_MAC, BLUE_MAC));
    let ip = Ipv4Packet::new_checked(&out[14..]).unwrap();
    assert_eq!((ip.src(), ip.dst()), (v4("10.1.0.1"), v4("10.1.0.2")));
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(
        (icmp.msg_type(), icmp.code(), icmp.rest_of_header()),
        (
            msg_type::DST_UNREACHABLE,
            unreach_code::FRAG_NEEDED,
            max as u32
        )
    );
    assert_eq!(edge.drops(DropReason::MtuExceeded), 1);
    assert_eq!(
        edge.worker.overlay.tunnel_counters(0).unwrap().path_drops,
        1
    );
}

#[test]
fn oversize_without_df_is_dropped_and_ipv6_gets_packet_too_big() {
    let mut edge = Edge::new();
    let mut input = lan_v4("10.1.0.2", "10.2.0.1", 1, 1460);
    input[14 + 6] = 0; // clear DF
    Ipv4Packet::new_unchecked(&mut input[14..]).fill_checksum();
    assert_eq!(
        edge.run(&input, BLUE).0,
        Verdict::Drop(DropReason::MtuExceeded)
    );
    let (v, out) = edge.run(&lan_v6("2001:db8:a::2", "2001:db8:b::1", 1, 1400), BLUE);
    assert_eq!(v, Verdict::Reply { port: BLUE });
    let ip = Ipv6Packet::new_checked(&out[14..]).unwrap();
    let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(icmp.msg_type(), icmpv6::msg_type::PACKET_TOO_BIG);
    assert_eq!(
        icmp.rest_of_header(),
        tunnel_mtu(1500, 40 + 8 + 16, 4) as u32
    );
}

#[test]
fn tcp_syn_mss_is_clamped_with_a_valid_checksum() {
    let mut edge = Edge::new();
    let mut peer = Peer::new();
    let (s, d) = (v4("10.1.0.2"), v4("10.2.0.9"));
    let mut tcp = vec![0u8; 24];
    tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&443u16.to_be_bytes());
    tcp[12] = 6 << 4;
    tcp[13] = 0x02; // SYN
    tcp[20..24].copy_from_slice(&[2, 4, 0x05, 0xb4]); // MSS 1460
    let pseudo = sdwan_packet::checksum::pseudo_header_v4(s, d, 6, 24);
    let c = sdwan_packet::checksum::finish(sdwan_packet::checksum::combine(
        pseudo,
        sdwan_packet::checksum::sum(&tcp),
    ));
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    let input = eth(
        BLUE_MAC,
        CLIENT_MAC,
        ethertype::IPV4,
        &ipv4(s, d, 6, 64, &tcp),
    );
    let (v, out) = edge.run(&input, BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN });
    let (_, _, inner) = peer.open(&out);
    let seg = &inner[4 + 20..];
    let p = TcpPacket::new_checked(seg).unwrap();
    assert_eq!(p.mss().unwrap(), Some(1300));
    let sum = sdwan_packet::checksum::combine(pseudo, sdwan_packet::checksum::sum(seg));
    assert_eq!(sdwan_packet::checksum::fold(sum), 0xffff, "TCP checksum");
    assert_eq!(edge.count(Event::MssClamped), 1);
}

#[test]
fn no_room_when_neither_headroom_nor_tailroom_suffice() {
    let mut edge = Edge::new();
    let input = lan_v4("10.1.0.2", "10.2.0.1", 1, 10);
    let (v, _) = edge.run_with_room(&input, BLUE, 16, 8);
    assert_eq!(v, Verdict::Drop(DropReason::NoRoom));
    // Short headroom but enough tailroom: moved back once, then sent.
    let (v, _) = edge.run_with_room(&input, BLUE, 16, 256);
    assert_eq!(v, Verdict::Forward { port: WAN });
}

#[test]
fn missing_path_underlay_route_or_neighbor_are_named_drops() {
    let mut edge = Edge::new();
    let (v, _) = edge.run(&lan_v4("10.1.0.2", "10.9.0.1", 1, 10), BLUE);
    assert_eq!(v, Verdict::Drop(DropReason::OverlayNoTunnel));
    // Tunnel 2's endpoint is routed out of WAN2; bind it to WAN instead.
    let mut t = table();
    t.tunnels[2].local_port = WAN;
    t.paths[3].tunnels = vec![2];
    edge.publish(t);
    let (v, _) = edge.run(&lan_v4("10.1.0.2", "10.3.0.1", 1, 10), BLUE);
    assert_eq!(v, Verdict::Drop(DropReason::UnderlayNoRoute));
    // The underlay gateway is unknown: resolution requested.
    edge.neighbors = crate::neighbor::NeighborTable::default();
    let (v, _) = edge.run(&lan_v4("10.1.0.2", "10.2.0.1", 1, 10), BLUE);
    assert_eq!(v, Verdict::Drop(DropReason::NoNeighbor));
    assert!(edge.events.contains(&ControlEvent::Resolve {
        port: WAN,
        ip: "192.0.2.254".parse().unwrap()
    }));
}

#[test]
fn ttl_expiry_before_the_tunnel_sends_time_exceeded() {
    let mut edge = Edge::new();
    let (s, d) = (v4("10.1.0.2"), v4("10.2.0.1"));
    let u = udp(s.into(), d.into(), 1, 4);
    let input = eth(
        BLUE_MAC,
        CLIENT_MAC,
        ethertype::IPV4,
        &ipv4(s, d, 17, 1, &u),
    );
    let (v, _) = edge.run(&input, BLUE);
    assert_eq!(v, Verdict::Reply { port: BLUE });
    assert_eq!(edge.drops(DropReason::TtlExpired), 1);
}

#[test]
fn tunnel_counters_are_published_and_summed() {
    let mut edge = Edge::new();
    for sport in 0..3 {
        edge.run(&lan_v4("10.1.0.2", "10.2.0.1", sport, 100), BLUE);
    }
    edge.run(&lan_v4("10.1.0.2", "10.2.0.1", 1, 1472), BLUE);
    let slots = OverlayCounterSlots::new(2);
    edge.worker.overlay.publish(slots.slot(1).unwrap());
    let t = slots.totals();
    let key = crate::overlay::TunnelKey {
        local_port: WAN,
        remote: PEER_V4.parse().unwrap(),
        spi: OUT_V4,
    };
    let s = &t.tunnels[&key];
    assert_eq!(s.packets, 3);
    assert_eq!(s.bytes, 3 * (4 + 20 + 8 + 100));
    assert_eq!(s.drops.get("path"), Some(&1));
    assert_eq!(t.tunnels.len(), 3);
    assert_eq!(t.inbound.len(), 2);
}
