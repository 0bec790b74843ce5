//! Two of our speakers in the edge role as route-reflector clients of a
//! real route reflector, GoBGP (gobgpd) or BIRD 2, on loopback: edge A
//! originates a VPNv4 route with RT + Color and its IPv4-unicast loopback
//! route with a Tunnel Encapsulation attribute (SD-WAN-Hybrid tunnel:
//! egress endpoint, Color, UDP 4500, sub-TLVs 67/68/70) — the fallback
//! form of draft-ietf-bess-bgp-sdwan-usage §6 for reflectors without
//! SAFI 74. Edge B must receive both, with attribute 23 (sub-TLV order
//! may change; BIRD sets the Partial bit) and the Color intact.

mod common;

use common::*;
use sdwan_bgp::config::LocalRoute;
use sdwan_bgp::fsm::State;
use sdwan_bgp::rib::Path;
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::Family;

const A: &str = "127.0.0.93";
const B: &str = "127.0.0.94";
const GOBGP_RR: &str = "127.0.0.95";
const BIRD_RR: &str = "127.0.0.96";

/// Edge `ip` (router id 10.0.0.x with the same last octet) dialing the RR.
fn edge(ip: &str, rr: &str, rr_port: u16) -> Speaker {
    let last = ip.rsplit('.').next().unwrap();
    let mut c = our_config(
        &format!("10.0.0.{last}"),
        ip,
        0,
        vec![peer(
            rr,
            rr_port,
            false,
            ip,
            vec![Family::Ipv4Unicast, Family::Vpnv4],
        )],
    );
    c.listen_address = None;
    Speaker::start(c).unwrap()
}

fn loopback_route() -> LocalRoute {
    LocalRoute {
        prefix: "10.255.0.93/32".parse().unwrap(),
        rd: None,
        label: None,
        next_hop: "192.0.2.93".parse().unwrap(),
        route_targets: vec![rt("65000:1")],
        color: Some(93),
        local_pref: None,
        med: None,
        tunnel_encap: Some(sdwan_hybrid_tunnel("192.0.2.93", 93)),
        // The §6 fallback: only to reflectors that do not do SAFI 74.
        unless_peer_has: Some(Family::SdwanV4),
    }
}

fn originate(a: &Speaker) {
    a.originate(vpn_route(
        "10.93.0.0/24",
        "65000:93",
        930,
        "192.0.2.93",
        &["65000:1"],
        Some(93),
    ))
    .unwrap();
    a.originate(loopback_route()).unwrap();
}

fn find(b: &Speaker, key: &str) -> Option<Path> {
    b.snapshot()
        .into_iter()
        .find(|(k, _)| k.to_string() == key)
        .map(|(_, p)| p)
}

/// What edge B must hold, whichever reflector sat between.
fn check_b(b: &Speaker, what: &str) {
    let got = wait_until(what, 30, || {
        find(b, "65000:93:10.93.0.0/24").is_some() && find(b, "10.255.0.93/32").is_some()
    });
    assert!(got, "{what}: {:?}\n{:?}", b.snapshot(), b.peers());
    let vpn = find(b, "65000:93:10.93.0.0/24").unwrap();
    assert!(vpn.attrs.colors().any(|c| c == 93), "{:?}", vpn.attrs);
    assert!(vpn
        .attrs
        .route_targets()
        .any(|r| r.to_string() == "rt:65000:1"));
    assert_eq!(vpn.next_hop.to_string(), "192.0.2.93");
    let lo = find(b, "10.255.0.93/32").unwrap();
    assert!(lo.attrs.colors().any(|c| c == 93), "{:?}", lo.attrs);
    assert_eq!(lo.next_hop.to_string(), "192.0.2.93");
    let want = loopback_route().tunnel_encap.unwrap();
    let t = lo
        .attrs
        .tunnel_encap
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: attribute 23 lost: {:?}", lo.attrs));
    assert_eq!(
        canonical(t),
        canonical(&want),
        "{what}: attribute 23 changed"
    );
    // Reflected, not originated by the reflector.
    assert_eq!(lo.attrs.originator_id, Some("10.0.0.93".parse().unwrap()));
    let c = &b.peers()[0].counters;
    assert!(c.errors.is_empty(), "{what}: {c:?}");
}

#[test]
fn two_edges_through_gobgp_route_reflector() {
    if require("gobgpd").is_none() {
        return;
    }
    let port = free_port(GOBGP_RR);
    let fams = ["ipv4-unicast", "l3vpn-ipv4-unicast"];
    let mut rr = start_gobgpd(
        "10.0.0.95",
        GOBGP_RR,
        port,
        &[
            gobgp_neighbor(A, GOBGP_RR, &fams, Some("10.0.0.95")),
            gobgp_neighbor(B, GOBGP_RR, &fams, Some("10.0.0.95")),
        ],
    );
    let a = edge(A, GOBGP_RR, port);
    let b = edge(B, GOBGP_RR, port);
    let up = wait_until("both edges up with GoBGP", 30, || {
        [&a, &b]
            .iter()
            .all(|s| s.peers()[0].state == State::Established)
    });
    assert!(
        up,
        "{:?}\n{:?}\n{}",
        a.peers(),
        b.peers(),
        rr.daemon.output()
    );
    assert_eq!(
        a.peers()[0].negotiated_families,
        vec![Family::Ipv4Unicast, Family::Vpnv4]
    );
    originate(&a);
    check_b(&b, "routes via GoBGP");
    assert!(rr.daemon.alive());
    a.shutdown();
    b.shutdown();
}

#[test]
fn two_edges_through_bird_route_reflector() {
    if require("bird").is_none() || require("birdc").is_none() {
        return;
    }
    let port = free_port(BIRD_RR);
    let mut conf = format!(
        r#"router id 10.0.0.96;
protocol device {{ }}
vpn4 table vpntab4;
protocol static nh4 {{ ipv4; route 192.0.2.0/24 via "lo"; }}
template bgp edge {{
  local {BIRD_RR} port {port} as 65000;
  passive on;
  strict bind on;
  rr client;
  rr cluster id 10.0.0.96;
  error wait time 1, 5;
  ipv4 {{ import all; export all; next hop keep; }};
  vpn4 mpls {{ table vpntab4; import all; export all; next hop keep; }};
}}
"#
    );
    for (name, ip) in [("a", A), ("b", B)] {
        conf += &format!("protocol bgp edge_{name} from edge {{ neighbor {ip} as 65000; }}\n");
    }
    let mut rr = start_bird(&conf);
    let a = edge(A, BIRD_RR, port);
    let b = edge(B, BIRD_RR, port);
    let up = wait_until("both edges up with BIRD", 30, || {
        [&a, &b]
            .iter()
            .all(|s| s.peers()[0].state == State::Established)
    });
    assert!(
        up,
        "{:?}\n{:?}\n{}\n{}",
        a.peers(),
        b.peers(),
        rr.cli(&["show", "protocols", "all"]),
        rr.daemon.output()
    );
    originate(&a);
    check_b(&b, "routes via BIRD");
    assert!(rr.daemon.alive());
    a.shutdown();
    b.shutdown();
}
