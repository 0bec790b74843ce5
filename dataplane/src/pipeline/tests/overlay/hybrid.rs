//! Hybrid WAN (draft §3.3, §6.2): flow policies choose between a private
//! tunnel (native or ESP), an internet tunnel (ESP) and internet breakout
//! (NAT44); native packets from private peers are decapsulated.

use super::*;
use crate::overlay::{Breakout, OverlayPath};
use sdwan_crypto::NextHeader;
use sdwan_packet::ipv4::Ipv4Packet;
use sdwan_policy::classifier::{
    Action, Match, PathPolicy, PolicySnapshot, PortRange, Prefix, Rule, RuleSet,
};
use std::net::Ipv4Addr;

const SERVER: &str = "198.51.100.10";

fn rule(m: Match, p: PathPolicy) -> Rule {
    Rule {
        matches: Match { vrf: Some(1), ..m },
        action: Action::new(p),
    }
}

/// Tunnel 2 (WAN2 → PEER2) is private; path 3 (10.3/16) has it and the
/// internet tunnel 0. Blue's rules: UDP to port 53 private-only, TCP any,
/// 198.51.100.0/24 breakout through WAN; the rest encrypted-any.
fn hybrid_table(private_up: bool) -> OverlayTable {
    let mut t = table();
    t.tunnels[2].private = true;
    let tunnels = if private_up { vec![0, 2] } else { vec![0] };
    t.paths[3] = OverlayPath::new(InnerEncap::Mpls { label: 1001 }, tunnels, &t.tunnels);
    let mut set = RuleSet::new(Action::new(PathPolicy::EncryptedAny));
    set.rules = vec![
        rule(
            Match {
                dst: Some(Prefix::v4(Ipv4Addr::new(198, 51, 100, 0), 24).unwrap()),
                ..Match::default()
            },
            PathPolicy::InternetBreakout,
        ),
        rule(
            Match {
                protocol: Some(17),
                dst_ports: Some(PortRange::single(53)),
                ..Match::default()
            },
            PathPolicy::PrivateOnly,
        ),
        rule(
            Match {
                protocol: Some(6),
                ..Match::default()
            },
            PathPolicy::Any,
        ),
    ];
    t.policy = Some(Arc::new(PolicySnapshot::compile(&set, 1).unwrap()));
    t.policy_vrfs = vec![1];
    t.breakout = vec![Breakout {
        vrf: 1,
        port: WAN,
        public: v4(WAN_V4),
        ports: (40000, 40999),
    }];
    t
}

fn hybrid_edge(private_up: bool) -> Edge {
    let mut edge = Edge::new();
    edge.publish(hybrid_table(private_up));
    edge
}

#[test]
fn private_only_goes_native_as_mpls_in_ip_over_the_private_tunnel() {
    let mut edge = hybrid_edge(true);
    let input = lan_v4("10.1.0.2", "10.3.0.9", 1000, 40);
    let (v, out) = edge.run(&input, BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN2 });
    let e = super::super::eth_of(&out);
    assert_eq!((e.dst(), e.src()), (GW2_MAC, WAN2_MAC));
    let ip = Ipv4Packet::new_checked(&out[14..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!(
        (ip.src(), ip.dst(), ip.protocol(), ip.ttl()),
        (v4(WAN2_V4), v4(PEER2_V4), 137, 64)
    );
    assert_eq!(usize::from(ip.total_len()), out.len() - 14);
    // Label 1001, S=1, TTL 63, then the client packet unencrypted.
    assert_eq!(&out[34..38], &[0x00, 0x3e, 0x91, 63]);
    assert_eq!(&out[38 + 20..], &input[14 + 20..]);
    assert_eq!(edge.count(Event::NativeEncapsulated), 1);
    let t = edge.worker.overlay.tunnel_counters(2).unwrap();
    assert_eq!((t.native_packets, t.sa.packets), (1, 0));
}

#[test]
fn encrypted_any_prefers_the_private_tunnel_but_always_encrypts() {
    let mut edge = hybrid_edge(true);
    let mut peer = Peer::new();
    // UDP to port 99: no rule, the default encrypted-any.
    let mut input = lan_v4("10.1.0.2", "10.3.0.9", 1000, 40);
    input[14 + 20 + 3] = 99;
    input[14 + 20 + 6..14 + 20 + 8].fill(0); // no UDP checksum
    let (v, out) = edge.run(&input, BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN2 });
    assert_eq!(&out[34..38], &[0x11, 0x94, 0x11, 0x94], "ESP in UDP 4500");
    let (spi, nh, _) = peer.open(&out);
    assert_eq!((spi, nh), (OUT_WAN2, NextHeader::Mpls));
    // Private down: the same flow moves to the internet tunnel.
    edge.publish(hybrid_table(false));
    let (v, _) = edge.run(&input, BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN });
}

#[test]
fn private_only_without_a_private_tunnel_is_dropped_and_counted() {
    let mut edge = hybrid_edge(true);
    let input = lan_v4("10.1.0.2", "10.3.0.9", 1000, 40);
    assert_eq!(edge.run(&input, BLUE).0, Verdict::Forward { port: WAN2 });
    edge.publish(hybrid_table(false));
    for _ in 0..3 {
        assert_eq!(
            edge.run(&input, BLUE).0,
            Verdict::Drop(DropReason::PrivatePathDown)
        );
    }
    assert_eq!(edge.drops(DropReason::PrivatePathDown), 3);
    // A path with no private tunnel at all: never sent over the internet.
    let other = lan_v4("10.1.0.2", "10.2.0.9", 1001, 40);
    assert_eq!(
        edge.run(&other, BLUE).0,
        Verdict::Drop(DropReason::PrivatePathDown)
    );
}

#[test]
fn native_traffic_from_the_private_peer_is_routed_in_its_vrf() {
    let mut edge = hybrid_edge(true);
    let client = ipv4(
        v4("10.3.0.9"),
        v4("10.1.0.2"),
        17,
        20,
        &udp(v4("10.3.0.9").into(), v4("10.1.0.2").into(), 7, 8),
    );
    let mut payload = vec![0x00, 0x3e, 0x91, 20];
    payload.extend_from_slice(&client);
    let frame = |src: &str| {
        eth(
            WAN2_MAC,
            GW2_MAC,
            ethertype::IPV4,
            &ipv4(v4(src), v4(WAN2_V4), 137, 60, &payload),
        )
    };
    let (v, out) = edge.run(&frame(PEER2_V4), WAN2);
    assert_eq!(v, Verdict::Forward { port: BLUE });
    assert_eq!(super::super::eth_of(&out).dst(), BLUE_HOST_MAC);
    let ip = Ipv4Packet::new_checked(&out[14..]).unwrap();
    assert_eq!((ip.dst(), ip.ttl()), (v4("10.1.0.2"), 19));
    assert_eq!(edge.count(Event::NativeDecapsulated), 1);
    // From anyone but the private tunnel's remote end: dropped.
    let (v, _) = edge.run(&frame("198.18.0.77"), WAN2);
    assert_eq!(v, Verdict::Drop(DropReason::NativeUnknownPeer));
    // Native MPLS on the internet port (no private tunnel there) is not
    // overlay traffic: delivered locally as before (the guard drops it).
    let on_wan = eth(
        WAN_MAC,
        GW_MAC,
        ethertype::IPV4,
        &ipv4(v4(PEER_V4), v4(WAN_V4), 137, 60, &payload),
    );
    assert_eq!(edge.run(&on_wan, WAN).0, Verdict::Local);
}

#[test]
fn breakout_is_source_natted_out_of_the_internet_port_and_back() {
    let mut edge = hybrid_edge(true);
    let out_pkt = lan_v4("10.1.0.2", SERVER, 1000, 16);
    let (v, out) = edge.run(&out_pkt, BLUE);
    assert_eq!(v, Verdict::Forward { port: WAN });
    assert_eq!(super::super::eth_of(&out).dst(), GW_MAC);
    let ip = Ipv4Packet::new_checked(&out[14..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!((ip.src(), ip.dst(), ip.ttl()), (v4(WAN_V4), v4(SERVER), 63));
    let sport = u16::from_be_bytes([out[34], out[35]]);
    assert!((40000..=40999).contains(&sport), "{sport}");
    assert_eq!(edge.count(Event::BreakoutSent), 1);
    // The reply to the public address and port comes back to the client.
    let reply = eth(
        WAN_MAC,
        GW_MAC,
        ethertype::IPV4,
        &ipv4(v4(SERVER), v4(WAN_V4), 17, 50, &reply_udp(sport)),
    );
    let (v, back) = edge.run(&reply, WAN);
    assert_eq!(v, Verdict::Forward { port: BLUE });
    let ip = Ipv4Packet::new_checked(&back[14..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!(ip.dst(), v4("10.1.0.2"));
    assert_eq!(u16::from_be_bytes([back[36], back[37]]), 1000);
    assert_eq!(edge.count(Event::BreakoutReturned), 1);
    // An unsolicited packet to an unmapped port of the range: dropped.
    let stray = eth(
        WAN_MAC,
        GW_MAC,
        ethertype::IPV4,
        &ipv4(
            v4(SERVER),
            v4(WAN_V4),
            17,
            50,
            &reply_udp(40999 - (sport == 40999) as u16),
        ),
    );
    assert_eq!(
        edge.run(&stray, WAN).0,
        Verdict::Drop(DropReason::NatNoMapping)
    );
    // IPv6 has no NAT66: an IPv6 breakout flow is dropped by name.
    let mut t = hybrid_table(true);
    let mut set = RuleSet::new(Action::new(PathPolicy::InternetBreakout));
    set.rules.clear();
    t.policy = Some(Arc::new(PolicySnapshot::compile(&set, 2).unwrap()));
    edge.publish(t);
    let v6pkt = lan_v6("2001:db8:a::2", "2001:db8:b::7", 1000, 8);
    assert_eq!(
        edge.run(&v6pkt, BLUE).0,
        Verdict::Drop(DropReason::BreakoutNotIpv4)
    );
}

/// UDP from the server's port 53 to `dport` (checksum 0: allowed in IPv4).
fn reply_udp(dport: u16) -> Vec<u8> {
    let mut u = vec![0u8; 12];
    u[..2].copy_from_slice(&53u16.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&12u16.to_be_bytes());
    u
}

#[test]
fn a_keepalive_stamps_the_tunnel_it_came_over() {
    let mut edge = hybrid_edge(true);
    edge.worker.set_now(123_456);
    let ka = eth(
        WAN2_MAC,
        GW2_MAC,
        ethertype::IPV4,
        // UDP 4500 -> 4500, length 9, no checksum, payload 0xFF.
        &ipv4(
            v4(PEER2_V4),
            v4(WAN2_V4),
            17,
            60,
            &[0x11, 0x94, 0x11, 0x94, 0, 9, 0, 0, 0xff],
        ),
    );
    assert_eq!(edge.run(&ka, WAN2).0, Verdict::Consumed);
    let t = edge.worker.overlay.tunnel_counters(2).unwrap();
    assert_eq!(t.last_rx_ns, 123_456);
    assert_eq!(
        edge.worker.overlay.tunnel_counters(0).unwrap().last_rx_ns,
        0
    );
}
