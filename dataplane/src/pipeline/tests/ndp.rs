use super::*;
use sdwan_packet::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use sdwan_packet::ipv6::{next_header, solicited_node};
use sdwan_packet::ndp::NdpRepr;

/// An NS for `target` from `src` (to its solicited-node group), as PEER0.
fn ns(src: &str, target: Ipv6Addr, slla: Option<MacAddr>, hop: u8) -> Vec<u8> {
    let group = solicited_node(&target);
    let repr = Icmpv6Repr::Ndp(NdpRepr::NeighborSolicit {
        target,
        source_lladdr: slla,
    });
    let mut icmp = vec![0u8; repr.buffer_len()];
    repr.emit(&v6(src), &group, &mut icmp).unwrap();
    eth(
        MacAddr::from_ipv6_multicast(&group),
        PEER0,
        ethertype::IPV6,
        &ipv6(v6(src), group, next_header::ICMPV6, hop, &icmp),
    )
}

fn na(src: &str, dst: &str, solicited: bool, target: &str, tlla: Option<MacAddr>) -> Vec<u8> {
    let repr = Icmpv6Repr::Ndp(NdpRepr::NeighborAdvert {
        router: false,
        solicited,
        override_: true,
        target: v6(target),
        target_lladdr: tlla,
    });
    let mut icmp = vec![0u8; repr.buffer_len()];
    repr.emit(&v6(src), &v6(dst), &mut icmp).unwrap();
    let dst_mac = if v6(dst).is_multicast() {
        MacAddr::from_ipv6_multicast(&v6(dst))
    } else {
        MAC0
    };
    eth(
        dst_mac,
        PEER0,
        ethertype::IPV6,
        &ipv6(v6(src), v6(dst), next_header::ICMPV6, 255, &icmp),
    )
}

fn parse_na(out: &[u8]) -> (Ipv6Packet<&[u8]>, NdpRepr) {
    let ip = ipv6_of(out);
    let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
    let Icmpv6Repr::Ndp(n) = Icmpv6Repr::parse(&ip.src(), &ip.dst(), &icmp).unwrap() else {
        panic!("not NDP")
    };
    (ip, n)
}

#[test]
fn ns_for_global_address_gets_solicited_na_and_learns() {
    let mut r = Router::new();
    let (v, out) = r.run(&ns("2001:db8::2", v6("2001:db8::1"), Some(PEER0), 255), 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    assert_eq!((eth_of(&out).dst(), eth_of(&out).src()), (PEER0, MAC0));
    let (ip, n) = parse_na(&out);
    assert_eq!(
        (ip.src(), ip.dst(), ip.hop_limit()),
        (v6("2001:db8::1"), v6("2001:db8::2"), 255)
    );
    assert_eq!(
        n,
        NdpRepr::NeighborAdvert {
            router: true,
            solicited: true,
            override_: true,
            target: v6("2001:db8::1"),
            target_lladdr: Some(MAC0)
        }
    );
    assert_eq!(
        r.events,
        vec![ControlEvent::NeighborLearned {
            port: 0,
            ip: "2001:db8::2".parse().unwrap(),
            mac: PEER0,
            kind: LearnKind::Request
        }]
    );
    assert_eq!(r.count(Event::NeighborAdvertsSent), 1);
}

#[test]
fn ns_for_link_local_is_answered() {
    let mut r = Router::new();
    let ll = r.ports[0].link_local().unwrap();
    let (v, out) = r.run(&ns("fe80::2", ll, Some(PEER0), 255), 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    let (ip, n) = parse_na(&out);
    assert_eq!((ip.src(), n.target()), (ll, ll));
}

#[test]
fn dad_probe_gets_all_nodes_na_without_learning() {
    let mut r = Router::new();
    let (v, out) = r.run(&ns("::", v6("2001:db8::1"), None, 255), 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    assert_eq!(eth_of(&out).dst(), MacAddr([0x33, 0x33, 0, 0, 0, 1]));
    let (ip, n) = parse_na(&out);
    assert_eq!(ip.dst(), v6("ff02::1"));
    assert!(matches!(
        n,
        NdpRepr::NeighborAdvert {
            solicited: false,
            ..
        }
    ));
    assert!(r.events.is_empty());
    // DAD with a source link-layer option is invalid (RFC 4861 §7.1.1).
    assert_eq!(
        r.run(&ns("::", v6("2001:db8::1"), Some(PEER0), 255), 0).0,
        Verdict::Drop(DropReason::BadNdp)
    );
}

#[test]
fn invalid_or_foreign_ns_is_dropped() {
    let mut r = Router::new();
    assert_eq!(
        r.run(&ns("2001:db8::2", v6("2001:db8::1"), Some(PEER0), 64), 0)
            .0,
        Verdict::Drop(DropReason::BadNdp)
    );
    // Target not ours, but its solicited-node group is one we joined? No:
    // a foreign target with our group is a unicast NS to our address.
    let repr = Icmpv6Repr::Ndp(NdpRepr::NeighborSolicit {
        target: v6("2001:db8::7"),
        source_lladdr: Some(PEER0),
    });
    let mut icmp = vec![0u8; repr.buffer_len()];
    repr.emit(&v6("2001:db8::2"), &v6("2001:db8::1"), &mut icmp)
        .unwrap();
    let f = eth(
        MAC0,
        PEER0,
        ethertype::IPV6,
        &ipv6(
            v6("2001:db8::2"),
            v6("2001:db8::1"),
            next_header::ICMPV6,
            255,
            &icmp,
        ),
    );
    assert_eq!(r.run(&f, 0).0, Verdict::Drop(DropReason::NdpNotForUs));
    assert_eq!(r.drops(DropReason::BadNdp), 1);
    assert_eq!(r.drops(DropReason::NdpNotForUs), 1);
}

#[test]
fn na_is_learned_and_consumed() {
    let mut r = Router::new();
    let (v, _) = r.run(
        &na(
            "2001:db8::2",
            "2001:db8::1",
            true,
            "2001:db8::2",
            Some(PEER0),
        ),
        0,
    );
    assert_eq!(v, Verdict::Consumed);
    let (v, _) = r.run(
        &na("2001:db8::2", "ff02::1", false, "2001:db8::2", Some(PEER0)),
        0,
    );
    assert_eq!(v, Verdict::Consumed);
    let ip: IpAddr = "2001:db8::2".parse().unwrap();
    assert_eq!(
        r.events,
        vec![
            ControlEvent::NeighborLearned {
                port: 0,
                ip,
                mac: PEER0,
                kind: LearnKind::Reply { override_: true }
            },
            ControlEvent::NeighborLearned {
                port: 0,
                ip,
                mac: PEER0,
                kind: LearnKind::Unsolicited { override_: true }
            },
        ]
    );
    // Solicited NA to a multicast group is invalid.
    assert_eq!(
        r.run(
            &na("2001:db8::2", "ff02::1", true, "2001:db8::2", Some(PEER0)),
            0
        )
        .0,
        Verdict::Drop(DropReason::BadNdp)
    );
}
