//! Two in-process speakers over loopback TCP with TCP-MD5: a route
//! reflector and an edge. Checks the handle API end to end (originate,
//! subscribe, snapshot, summaries, withdraw, shutdown) and that a wrong
//! MD5 key keeps the session down.

use sdwan_bgp::config::{LocalRoute, PeerConfig, PeerGroupConfig, RouteTarget, SpeakerConfig};
use sdwan_bgp::fsm::State;
use sdwan_bgp::rib::RouteKey;
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::{ExtCommunity, Family};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn rt(s: &str) -> RouteTarget {
    RouteTarget(ExtCommunity::route_target(s).unwrap())
}

fn peer(address: &str, port: u16, md5: &str, passive: bool, group: Option<&str>) -> PeerConfig {
    PeerConfig {
        address: address.parse().unwrap(),
        port,
        remote_as: 65000,
        md5_key: Some(md5.into()),
        peer_group: group.map(String::from),
        families: vec![Family::Vpnv4, Family::Vpnv6],
        passive,
        rr_client: true,
        local_address: Some("127.0.0.42".parse().unwrap()),
    }
}

fn rr(edge_key: &str) -> Speaker {
    Speaker::start(SpeakerConfig {
        router_id: "10.0.0.100".parse().unwrap(),
        asn: 65000,
        listen_address: Some("127.0.0.41".parse().unwrap()),
        listen_port: 0,
        cluster_id: None,
        hold_time: 30,
        connect_retry_secs: 1,
        peers: vec![peer("127.0.0.42", 179, edge_key, true, Some("t1"))],
        peer_groups: vec![PeerGroupConfig {
            name: "t1".into(),
            route_targets: vec![rt("65000:1")],
        }],
        routes: vec![],
        add_path: vec![],
        restart_time: Some(120),
        stale_routes_secs: 360,
        extended_message: true,
    })
    .unwrap()
}

fn edge(rr_port: u16, key: &str) -> Speaker {
    Speaker::start(SpeakerConfig {
        router_id: "10.0.0.1".parse().unwrap(),
        asn: 65000,
        listen_address: None,
        listen_port: 179,
        cluster_id: None,
        hold_time: 30,
        connect_retry_secs: 1,
        peers: vec![peer("127.0.0.41", rr_port, key, false, None)],
        peer_groups: vec![],
        routes: vec![],
        add_path: vec![],
        restart_time: Some(120),
        stale_routes_secs: 360,
        extended_message: true,
    })
    .unwrap()
}

#[test]
fn md5_session_carries_routes_and_events() {
    let rr = rr("s3cret");
    let events = rr.subscribe();
    let port = rr.local_addr().unwrap().port();
    let edge = edge(port, "s3cret");
    wait_until("session up", 20, || {
        rr.peers()
            .first()
            .is_some_and(|p| p.state == State::Established)
    });
    let route = LocalRoute {
        prefix: "10.1.0.0/24".parse().unwrap(),
        rd: Some("65000:1".parse().unwrap()),
        label: Some(100),
        next_hop: "192.0.2.1".parse().unwrap(),
        route_targets: vec![rt("65000:1")],
        color: Some(7),
        local_pref: None,
        med: None,
        tunnel_encap: None,
        unless_peer_has: None,
    };
    edge.originate(route.clone()).unwrap();
    let ch = events
        .recv_timeout(Duration::from_secs(10))
        .expect("change event");
    assert_eq!(ch.key.to_string(), "65000:1:10.1.0.0/24");
    let best = ch.best.unwrap();
    assert_eq!(best.label.map(|l| l >> 4), Some(100));
    assert_eq!(best.next_hop, "192.0.2.1".parse::<IpAddr>().unwrap());
    assert_eq!(rr.snapshot().len(), 1);
    // A subscriber that comes after the route was learned starts from the
    // Loc-RIB as it is (an edge's overlay subscribes right after starting
    // its speaker, and the first UPDATEs may already be in).
    let late = rr.subscribe();
    let first = late
        .recv_timeout(Duration::from_secs(10))
        .expect("the current route, on subscribing");
    assert_eq!(first.key.to_string(), "65000:1:10.1.0.0/24");
    assert_eq!(first.family, Family::Vpnv4);
    assert_eq!(first.best.map(|b| b.next_hop), Some(best.next_hop));
    assert!(late.try_recv().is_err(), "one route, one change");
    let s = &rr.peers()[0];
    assert!(s.md5);
    assert_eq!(s.counters.accepted, 1);
    assert_eq!(s.negotiated_families, vec![Family::Vpnv4, Family::Vpnv6]);
    let c = rr.counters().unwrap();
    assert_eq!(c.loc_rib_routes, 1);
    edge.withdraw(RouteKey::Vpn {
        rd: route.rd.unwrap(),
        prefix: route.prefix,
    })
    .unwrap();
    let ch = events
        .recv_timeout(Duration::from_secs(10))
        .expect("withdraw event");
    assert!(ch.best.is_none());
    let ch = late
        .recv_timeout(Duration::from_secs(10))
        .expect("withdraw event, late subscriber");
    assert!(ch.best.is_none());
    edge.shutdown();
    wait_until("session down", 10, || {
        rr.peers()[0].state != State::Established
    });
    assert_eq!(
        rr.peers()[0].counters.last_notification_received,
        Some((6, 2))
    );
    rr.shutdown();
}

#[test]
fn wrong_md5_key_never_establishes() {
    let rr = rr("right-key");
    let port = rr.local_addr().unwrap().port();
    let edge = edge(port, "wrong-key");
    std::thread::sleep(Duration::from_secs(3));
    assert_ne!(rr.peers()[0].state, State::Established);
    assert_ne!(edge.peers()[0].state, State::Established);
    drop(edge);
    drop(rr);
}

fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Both speakers dial each other at once (RFC 4271 §6.8): one connection
/// survives, chosen by the higher BGP identifier, and the session stays up.
#[test]
fn simultaneous_open_resolves_the_collision() {
    let (a_ip, b_ip) = ("127.0.0.43", "127.0.0.44");
    let (a_port, b_port) = (free_port(a_ip), free_port(b_ip));
    let mk = |id: &str, me: &str, port: u16, other: &str, other_port: u16| {
        Speaker::start(SpeakerConfig {
            router_id: id.parse().unwrap(),
            asn: 65000,
            listen_address: Some(me.parse().unwrap()),
            listen_port: port,
            cluster_id: None,
            hold_time: 30,
            connect_retry_secs: 1,
            peers: vec![PeerConfig {
                address: other.parse().unwrap(),
                port: other_port,
                remote_as: 65000,
                md5_key: None,
                peer_group: None,
                families: vec![Family::Vpnv4],
                passive: false,
                rr_client: true,
                local_address: Some(me.parse().unwrap()),
            }],
            peer_groups: vec![],
            routes: vec![],
            add_path: vec![],
            restart_time: Some(120),
            stale_routes_secs: 360,
            extended_message: true,
        })
        .unwrap()
    };
    let a = mk("10.0.0.43", a_ip, a_port, b_ip, b_port);
    let b = mk("10.0.0.44", b_ip, b_port, a_ip, a_port);
    let up = |s: &Speaker| s.peers()[0].state == State::Established;
    wait_until("both Established", 20, || up(&a) && up(&b));
    // Stable: no flap for two seconds, one session each side.
    std::thread::sleep(Duration::from_secs(2));
    assert!(up(&a) && up(&b));
    assert_eq!(a.peers()[0].counters.established_count, 1);
    assert_eq!(b.peers()[0].counters.established_count, 1);
    a.shutdown();
    b.shutdown();
}

/// `Speaker::originate_sdwan` end to end: a SAFI 74 route with its
/// SD-WAN-Hybrid tunnel reaches a peer that negotiated SdwanV4, and the
/// summary lists the negotiated families; `withdraw` removes it.
#[test]
fn sdwan_route_through_the_handle_api() {
    use sdwan_bgp::config::SdwanLocalRoute;
    use sdwan_bgp::wire::tunnel::TUNNEL_SDWAN_HYBRID;
    use sdwan_bgp::wire::{SdwanNlri, SubTlv, Tunnel, TunnelEncap};
    let (a_ip, b_ip) = ("127.0.0.45", "127.0.0.46");
    let b_port = free_port(b_ip);
    let mk = |id: &str, me: &str, port: Option<u16>, other: &str, other_port: u16| {
        Speaker::start(SpeakerConfig {
            router_id: id.parse().unwrap(),
            asn: 65000,
            listen_address: port.map(|_| me.parse().unwrap()),
            listen_port: port.unwrap_or(179),
            cluster_id: None,
            hold_time: 30,
            connect_retry_secs: 1,
            peers: vec![PeerConfig {
                address: other.parse().unwrap(),
                port: other_port,
                remote_as: 65000,
                md5_key: None,
                peer_group: None,
                families: vec![Family::Vpnv4, Family::SdwanV4],
                passive: port.is_some(),
                rr_client: true,
                local_address: Some(me.parse().unwrap()),
            }],
            peer_groups: vec![],
            routes: vec![],
            add_path: vec![],
            restart_time: Some(120),
            stale_routes_secs: 360,
            extended_message: true,
        })
        .unwrap()
    };
    let b = mk("10.0.0.46", b_ip, Some(b_port), a_ip, 179);
    let a = mk("10.0.0.45", a_ip, None, b_ip, b_port);
    let up = |s: &Speaker| s.peers()[0].state == State::Established;
    wait_until("session up", 20, || up(&a) && up(&b));
    assert_eq!(
        a.peers()[0].negotiated_families,
        vec![Family::Vpnv4, Family::SdwanV4]
    );
    let nlri = SdwanNlri {
        route_type: 1,
        port_local_id: 7,
        color: 9,
        node_id: "10.0.0.45".parse().unwrap(),
    };
    let tunnel = TunnelEncap {
        tunnels: vec![Tunnel {
            tunnel_type: TUNNEL_SDWAN_HYBRID,
            sub_tlvs: vec![
                SubTlv::EgressEndpoint {
                    address: Some("198.51.100.45".parse().unwrap()),
                },
                SubTlv::UdpDestPort { port: 4500 },
            ],
        }],
    };
    a.originate_sdwan(SdwanLocalRoute {
        nlri,
        next_hop: "198.51.100.45".parse().unwrap(),
        route_targets: vec![rt("65000:1")],
        tunnel_encap: tunnel.clone(),
    })
    .unwrap();
    let key = RouteKey::Sdwan { sdwan: nlri };
    wait_until("SD-WAN route at B", 10, || {
        b.snapshot().iter().any(|(k, _)| *k == key)
    });
    let (_, p) = b.snapshot().into_iter().find(|(k, _)| *k == key).unwrap();
    assert_eq!(p.attrs.tunnel_encap, Some(tunnel));
    a.withdraw(key).unwrap();
    wait_until("SD-WAN route withdrawn", 10, || b.snapshot().is_empty());
    a.shutdown();
    b.shutdown();
}

/// Peers added and removed at run time over TCP with TCP-MD5: the route
/// reflector starts with no peer; the edge's session comes up once the RR
/// adds it (the listener gets its MD5 key) and routes flow both ways;
/// removing it sends Cease / Peer De-configured (6/3, RFC 4486) and the
/// routes are gone on both sides; re-adding the address works.
#[test]
fn peers_added_and_removed_at_run_time() {
    let (rr_ip, edge_ip) = ("127.0.0.47", "127.0.0.48");
    let rr = Speaker::start(SpeakerConfig {
        router_id: "10.0.0.47".parse().unwrap(),
        asn: 65000,
        listen_address: Some(rr_ip.parse().unwrap()),
        listen_port: 0,
        cluster_id: None,
        hold_time: 30,
        connect_retry_secs: 1,
        peers: vec![],
        peer_groups: vec![],
        routes: vec![],
        add_path: vec![],
        restart_time: Some(120),
        stale_routes_secs: 360,
        extended_message: true,
    })
    .unwrap();
    let port = rr.local_addr().unwrap().port();
    let mut to_rr = peer(rr_ip, port, "run-time-key", false, None);
    to_rr.local_address = Some(edge_ip.parse().unwrap());
    let edge = Speaker::start(SpeakerConfig {
        router_id: "10.0.0.48".parse().unwrap(),
        asn: 65000,
        listen_address: None,
        listen_port: 179,
        cluster_id: None,
        hold_time: 30,
        connect_retry_secs: 1,
        peers: vec![to_rr],
        peer_groups: vec![],
        routes: vec![],
        add_path: vec![],
        restart_time: Some(120),
        stale_routes_secs: 360,
        extended_message: true,
    })
    .unwrap();
    let route = |prefix: &str, next_hop: &str| LocalRoute {
        prefix: prefix.parse().unwrap(),
        rd: Some("65000:1".parse().unwrap()),
        label: Some(100),
        next_hop: next_hop.parse().unwrap(),
        route_targets: vec![rt("65000:1")],
        color: None,
        local_pref: None,
        med: None,
        tunnel_encap: None,
        unless_peer_has: None,
    };
    edge.originate(route("10.48.0.0/24", "192.0.2.48")).unwrap();
    rr.originate(route("10.47.0.0/24", "192.0.2.47")).unwrap();
    let has = |s: &Speaker, p: &str| s.snapshot().iter().any(|(k, _)| k.to_string().contains(p));
    let edge_up = || edge.peers()[0].state == State::Established;

    // Unknown to the RR: refused (and its MD5 SYNs unanswered).
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!edge_up() && rr.peers().is_empty());

    let mut edge_peer = peer(edge_ip, 179, "run-time-key", true, Some("t1"));
    edge_peer.local_address = None;
    assert!(
        rr.add_peer(edge_peer.clone())
            .unwrap_err()
            .contains("unknown peer group"),
        "group first"
    );
    rr.set_peer_group(PeerGroupConfig {
        name: "t1".into(),
        route_targets: vec![rt("65000:1")],
    })
    .unwrap();
    rr.add_peer(edge_peer.clone()).unwrap();
    assert!(rr.add_peer(edge_peer.clone()).is_err(), "only once");
    wait_until("session up after add_peer", 20, || {
        edge_up() && rr.peers()[0].state == State::Established
    });
    wait_until("routes exchanged", 10, || {
        has(&rr, "10.48.0.0/24") && has(&edge, "10.47.0.0/24")
    });
    assert!(rr.peers()[0].md5);

    rr.remove_peer(edge_ip.parse().unwrap()).unwrap();
    wait_until("Cease / Peer De-configured at the edge", 10, || {
        edge.peers()[0].counters.last_notification_received == Some((6, 3))
    });
    wait_until("routes gone on both sides", 10, || {
        !has(&rr, "10.48.0.0/24") && !has(&edge, "10.47.0.0/24")
    });
    assert!(rr.peers().is_empty());
    assert_eq!(rr.counters().unwrap().peers.len(), 0);
    assert!(rr.remove_peer(edge_ip.parse().unwrap()).is_err());
    assert!(rr.remove_peer_group("t1").is_ok());
    // The edge keeps dialing; a removed address stays refused.
    std::thread::sleep(Duration::from_secs(2));
    assert!(!edge_up());

    // Added again: a new session with the same key.
    rr.set_peer_group(PeerGroupConfig {
        name: "t1".into(),
        route_targets: vec![rt("65000:1")],
    })
    .unwrap();
    rr.add_peer(edge_peer).unwrap();
    wait_until("session up after re-adding", 20, edge_up);
    wait_until("routes back", 10, || has(&rr, "10.48.0.0/24"));
    assert!(rr.remove_peer_group("t1").unwrap_err().contains(edge_ip));
    edge.shutdown();
    rr.shutdown();
}
