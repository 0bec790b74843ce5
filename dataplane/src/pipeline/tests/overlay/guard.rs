//! The guard of an internet WAN port (`wan_guard`): port WAN of the test
//! edge guarded (1000 pps, burst 10 per source; SSH from 198.51.100/24
//! and 2001:db8:9::/48 allowed), WAN2 left unguarded (a private WAN).

use super::*;
use crate::counters::GuardCounters;
use crate::pipeline::{AllowRule, GuardProtocol, SourcePrefix, WanGuard};
use sdwan_crypto::NextHeader;
use sdwan_packet::icmpv4::Icmpv4Repr;
use sdwan_packet::icmpv6::Icmpv6Repr;
use sdwan_packet::ipv6::solicited_node;
use sdwan_packet::ndp::NdpRepr;

const ATTACKER_V4: &str = "198.18.77.1";
const ATTACKER_V6: &str = "2001:db8:6666::1";

fn ssh_from(addr: &str, len: u8) -> AllowRule {
    AllowRule {
        protocol: GuardProtocol::Tcp,
        port: 22,
        from: SourcePrefix {
            addr: addr.parse().unwrap(),
            len,
        },
    }
}

fn guarded() -> Edge {
    let mut edge = Edge::new();
    edge.ports[usize::from(WAN)].guard = Some(WanGuard {
        rate_limit_pps: 1000,
        rate_limit_burst: 10,
        allow: vec![ssh_from("198.51.100.0", 24), ssh_from("2001:db8:9::", 48)],
    });
    edge
}

/// A TCP SYN header (checksum not checked on the way in).
fn syn(dport: u16) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&40000u16.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = 0x02;
    t
}

fn udp_hdr(dport: u16) -> Vec<u8> {
    let mut u = vec![0u8; 12];
    u[0..2].copy_from_slice(&4500u16.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&12u16.to_be_bytes());
    u
}

/// An IPv4 packet from `src` to `dst` arriving on `port`.
fn to_v4(port: u16, src: &str, dst: &str, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mac = if port == WAN { WAN_MAC } else { WAN2_MAC };
    eth(
        mac,
        GW_MAC,
        ethertype::IPV4,
        &ipv4(v4(src), v4(dst), proto, 64, payload),
    )
}

fn to_v6(src: &str, dst: &str, nh: u8, payload: &[u8]) -> Vec<u8> {
    eth(
        WAN_MAC,
        GW_MAC,
        ethertype::IPV6,
        &ipv6(v6(src), v6(dst), nh, 64, payload),
    )
}

fn echo_v4() -> Vec<u8> {
    let r = Icmpv4Repr::EchoRequest {
        ident: 1,
        seq: 1,
        data: b"guard",
    };
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut b).unwrap();
    b
}

fn echo_v6(src: &str, dst: &str) -> Vec<u8> {
    let r = Icmpv6Repr::EchoRequest {
        ident: 1,
        seq: 1,
        data: b"guard6",
    };
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&v6(src), &v6(dst), &mut b).unwrap();
    b
}

fn guard_counters(edge: &Edge, port: u16) -> GuardCounters {
    edge.worker.counters.guard(port)
}

#[test]
fn bgp_and_other_traffic_to_our_wan_address_is_filtered() {
    let mut edge = guarded();
    let filtered = Verdict::Drop(DropReason::WanFiltered);
    let cases = [
        ("BGP SYN v4", to_v4(WAN, ATTACKER_V4, WAN_V4, 6, &syn(179))),
        ("BGP SYN v6", to_v6(ATTACKER_V6, WAN_V6, 6, &syn(179))),
        (
            "UDP 33333",
            to_v4(WAN, ATTACKER_V4, WAN_V4, 17, &udp_hdr(33333)),
        ),
        ("UDP v6 53", to_v6(ATTACKER_V6, WAN_V6, 17, &udp_hdr(53))),
        ("GRE", to_v4(WAN, ATTACKER_V4, WAN_V4, 47, &[0; 8])),
        (
            "ESP (no UDP)",
            to_v4(WAN, ATTACKER_V4, WAN_V4, 50, &[0; 16]),
        ),
        (
            "SSH from elsewhere",
            to_v4(WAN, ATTACKER_V4, WAN_V4, 6, &syn(22)),
        ),
        (
            "UDP to the SSH port",
            to_v4(WAN, "198.51.100.7", WAN_V4, 17, &udp_hdr(22)),
        ),
        (
            "ICMP echo reply",
            to_v4(WAN, ATTACKER_V4, WAN_V4, 1, &[0; 8]),
        ),
        (
            "broadcast",
            to_v4(WAN, ATTACKER_V4, "255.255.255.255", 17, &udp_hdr(67)),
        ),
    ];
    for (what, frame) in &cases {
        assert_eq!(edge.run(frame, WAN).0, filtered, "{what}");
    }
    let n = cases.len() as u64;
    assert_eq!(edge.drops(DropReason::WanFiltered), n);
    assert_eq!(
        guard_counters(&edge, WAN),
        GuardCounters {
            passed: n,
            filtered: n,
            ..Default::default()
        }
    );
    // IKE on 500 keeps its own name (overlay_in answers first).
    let ike = to_v4(WAN, ATTACKER_V4, WAN_V4, 17, &udp_hdr(500));
    assert_eq!(
        edge.run(&ike, WAN).0,
        Verdict::Drop(DropReason::IkeNotSupported)
    );
}

#[test]
fn echo_ndp_and_allowed_management_are_admitted() {
    let mut edge = guarded();
    let (v, _) = edge.run(&to_v4(WAN, ATTACKER_V4, WAN_V4, 1, &echo_v4()), WAN);
    assert_eq!(v, Verdict::Reply { port: WAN });
    let e6 = echo_v6(ATTACKER_V6, WAN_V6);
    let (v, _) = edge.run(&to_v6(ATTACKER_V6, WAN_V6, 58, &e6), WAN);
    assert_eq!(v, Verdict::Reply { port: WAN });
    assert_eq!(edge.count(Event::EchoRepliesSent), 2);

    // Management: SSH from the allowed prefixes goes to the glue.
    let ssh = to_v4(WAN, "198.51.100.7", WAN_V4, 6, &syn(22));
    assert_eq!(edge.run(&ssh, WAN).0, Verdict::Local);
    let ssh6 = to_v6("2001:db8:9:1::5", WAN_V6, 6, &syn(22));
    assert_eq!(edge.run(&ssh6, WAN).0, Verdict::Local);

    // NS for our WAN address from the gateway: answered.
    let target = v6(WAN_V6);
    let group = solicited_node(&target);
    let repr = Icmpv6Repr::Ndp(NdpRepr::NeighborSolicit {
        target,
        source_lladdr: Some(GW_MAC),
    });
    let gw = v6("2001:db8:ffff::fe");
    let mut icmp = vec![0u8; repr.buffer_len()];
    repr.emit(&gw, &group, &mut icmp).unwrap();
    let ns = eth(
        MacAddr::from_ipv6_multicast(&group),
        GW_MAC,
        ethertype::IPV6,
        &ipv6(gw, group, 58, 255, &icmp),
    );
    assert_eq!(edge.run(&ns, WAN).0, Verdict::Reply { port: WAN });
    assert_eq!(edge.count(Event::NeighborAdvertsSent), 1);
    // Echo to a group is not answered on an internet port.
    let all_nodes = echo_v6(ATTACKER_V6, "ff02::1");
    let to_group = eth(
        MacAddr::from_ipv6_multicast(&v6("ff02::1")),
        GW_MAC,
        ethertype::IPV6,
        &ipv6(v6(ATTACKER_V6), v6("ff02::1"), 58, 64, &all_nodes),
    );
    assert_eq!(
        edge.run(&to_group, WAN).0,
        Verdict::Drop(DropReason::WanFiltered)
    );
    let g = guard_counters(&edge, WAN);
    assert_eq!((g.passed, g.filtered, g.rate_limited), (6, 1, 0));
}

#[test]
fn esp_and_keepalives_still_reach_the_overlay() {
    let mut edge = guarded();
    let (s, d) = (v4("10.2.0.5"), v4("10.1.0.2"));
    let client = ipv4(s, d, 17, 60, &udp(s.into(), d.into(), 7, 32));
    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    let f = wan_frame(&mut sa, NextHeader::Mpls, &mpls(1001, 60, &client));
    // The decrypted client packet is not subject to the guard: it is
    // routed in VRF blue.
    assert_eq!(edge.run(&f, WAN).0, Verdict::Forward { port: BLUE });
    let keepalive = to_v4(WAN, PEER_V4, WAN_V4, 17, &{
        let mut u = udp_hdr(4500);
        u.truncate(8);
        u[4..6].copy_from_slice(&9u16.to_be_bytes());
        u.push(0xff);
        u
    });
    assert_eq!(edge.run(&keepalive, WAN).0, Verdict::Consumed);
    // A bogus SPI is dropped by the overlay under its own name.
    let (v, _) = edge.run(&to_v4(WAN, ATTACKER_V4, WAN_V4, 17, &bogus_esp()), WAN);
    assert_eq!(v, Verdict::Drop(DropReason::EspBadSpi));
    let g = guard_counters(&edge, WAN);
    assert_eq!((g.passed, g.filtered), (3, 0));
}

/// UDP 4500 with an ESP header of an SPI nobody has.
fn bogus_esp() -> Vec<u8> {
    let mut bogus = udp_hdr(4500);
    bogus[8..12].copy_from_slice(&0xdead_beefu32.to_be_bytes());
    bogus.extend_from_slice(&[0u8; 40]);
    let len = bogus.len() as u16;
    bogus[4..6].copy_from_slice(&len.to_be_bytes());
    bogus
}

#[test]
fn a_peers_tunnel_traffic_is_not_limited_but_garbage_with_its_address_is() {
    let mut edge = guarded();
    let t0 = 5_000_000_000;
    edge.worker.set_now(t0);
    let (s, d) = (v4("10.2.0.5"), v4("10.1.0.2"));
    let client = ipv4(s, d, 17, 60, &udp(s.into(), d.into(), 7, 32));
    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    let mut genuine = || wan_frame(&mut sa, NextHeader::Mpls, &mpls(1001, 60, &client));
    // Five times the burst of 10 at one instant: every verified packet
    // gives its token back.
    for i in 0..50 {
        let f = genuine();
        assert_eq!(edge.run(&f, WAN).0, Verdict::Forward { port: BLUE }, "{i}");
    }
    // A replay verifies nothing new: it keeps its token.
    let f = genuine();
    assert_eq!(edge.run(&f, WAN).0, Verdict::Forward { port: BLUE });
    assert_eq!(edge.run(&f, WAN).0, Verdict::Drop(DropReason::EspReplay));
    // Garbage with the peer's address is charged: 9 tokens left, then
    // limited, and then the peer's own traffic waits for its rate (the
    // price of a spoofed flood; the limit protects the CPU).
    let spoofed = to_v4(WAN, PEER_V4, WAN_V4, 17, &bogus_esp());
    let verdicts: Vec<Verdict> = (0..12).map(|_| edge.run(&spoofed, WAN).0).collect();
    assert!(verdicts[..9]
        .iter()
        .all(|v| *v == Verdict::Drop(DropReason::EspBadSpi)));
    assert!(verdicts[9..]
        .iter()
        .all(|v| *v == Verdict::Drop(DropReason::WanRateLimited)));
    let f = genuine();
    assert_eq!(
        edge.run(&f, WAN).0,
        Verdict::Drop(DropReason::WanRateLimited)
    );
    edge.worker.set_now(t0 + 1_000_000);
    let f = genuine();
    assert_eq!(edge.run(&f, WAN).0, Verdict::Forward { port: BLUE });
    let g = guard_counters(&edge, WAN);
    assert_eq!((g.passed, g.rate_limited), (51 + 1 + 9 + 1, 3 + 1));
}

#[test]
fn transit_from_the_internet_is_dropped() {
    let mut edge = guarded();
    // 10.2.0.9 would go into the overlay, 8.8.8.8 back out of the
    // default route: neither is allowed from the internet.
    for dst in ["10.2.0.9", "8.8.8.8", "192.0.2.77"] {
        let f = to_v4(WAN, ATTACKER_V4, dst, 17, &udp_hdr(53));
        assert_eq!(
            edge.run(&f, WAN).0,
            Verdict::Drop(DropReason::WanTransit),
            "{dst}"
        );
    }
    let f6 = to_v6(ATTACKER_V6, "2001:db8:b::9", 17, &udp_hdr(53));
    assert_eq!(edge.run(&f6, WAN).0, Verdict::Drop(DropReason::WanTransit));
    assert_eq!(edge.drops(DropReason::WanTransit), 4);
    assert_eq!(guard_counters(&edge, WAN).transit, 4);
}

#[test]
fn a_private_wan_port_is_not_filtered() {
    let mut edge = guarded();
    let bgp = to_v4(WAN2, "198.18.0.254", WAN2_V4, 6, &syn(179));
    assert_eq!(edge.run(&bgp, WAN2).0, Verdict::Local);
    let udp = to_v4(WAN2, "198.18.0.254", WAN2_V4, 17, &udp_hdr(33333));
    assert_eq!(edge.run(&udp, WAN2).0, Verdict::Local);
    // Transit from the private side is routed as before.
    let transit = to_v4(WAN2, "198.18.0.254", "8.8.8.8", 17, &udp_hdr(53));
    assert_eq!(edge.run(&transit, WAN2).0, Verdict::Forward { port: WAN });
    assert_eq!(guard_counters(&edge, WAN2), GuardCounters::default());
    for r in [
        DropReason::WanFiltered,
        DropReason::WanTransit,
        DropReason::WanRateLimited,
    ] {
        assert_eq!(edge.drops(r), 0, "{r}");
    }
}

#[test]
fn a_flooding_source_is_limited_while_another_passes() {
    let mut edge = guarded();
    let t0 = 5_000_000_000;
    edge.worker.set_now(t0);
    let flood = to_v4(WAN, ATTACKER_V4, WAN_V4, 1, &echo_v4());
    let mut replies = 0;
    for _ in 0..100 {
        match edge.run(&flood, WAN).0 {
            Verdict::Reply { .. } => replies += 1,
            Verdict::Drop(DropReason::WanRateLimited) => {}
            v => panic!("{v:?}"),
        }
    }
    // The burst of 10, then nothing within the same instant.
    assert_eq!(replies, 10);
    assert_eq!(edge.drops(DropReason::WanRateLimited), 90);
    // Another source, and the IPv6 path, are not affected.
    let other = to_v4(WAN, "198.18.77.2", WAN_V4, 1, &echo_v4());
    assert_eq!(edge.run(&other, WAN).0, Verdict::Reply { port: WAN });
    let e6 = echo_v6(ATTACKER_V6, WAN_V6);
    assert_eq!(
        edge.run(&to_v6(ATTACKER_V6, WAN_V6, 58, &e6), WAN).0,
        Verdict::Reply { port: WAN }
    );
    // Flood over IPv6 from anywhere in one /64: one bucket.
    let mut limited6 = 0;
    for i in 0..20u16 {
        let src = format!("2001:db8:6666::{:x}", i + 10);
        let e = echo_v6(&src, WAN_V6);
        if edge.run(&to_v6(&src, WAN_V6, 58, &e), WAN).0
            == Verdict::Drop(DropReason::WanRateLimited)
        {
            limited6 += 1;
        }
    }
    assert_eq!(limited6, 11, "burst 10, one already spent");
    // 1 ms later (1000 pps) the flooder gets one more packet through.
    edge.worker.set_now(t0 + 1_000_000);
    assert!(matches!(edge.run(&flood, WAN).0, Verdict::Reply { .. }));
    assert_eq!(
        edge.run(&flood, WAN).0,
        Verdict::Drop(DropReason::WanRateLimited)
    );
    let g = guard_counters(&edge, WAN);
    assert_eq!((g.passed, g.rate_limited), (10 + 2 + 9 + 1, 90 + 11 + 1));
}

#[test]
fn rate_limit_zero_turns_the_limiter_off() {
    let mut edge = guarded();
    if let Some(g) = edge.ports[usize::from(WAN)].guard.as_mut() {
        g.rate_limit_pps = 0;
    }
    let flood = to_v4(WAN, ATTACKER_V4, WAN_V4, 1, &echo_v4());
    for _ in 0..50 {
        assert_eq!(edge.run(&flood, WAN).0, Verdict::Reply { port: WAN });
    }
    // Still filtered.
    let bgp = to_v4(WAN, ATTACKER_V4, WAN_V4, 6, &syn(179));
    assert_eq!(
        edge.run(&bgp, WAN).0,
        Verdict::Drop(DropReason::WanFiltered)
    );
    assert_eq!(guard_counters(&edge, WAN).passed, 0);
}
