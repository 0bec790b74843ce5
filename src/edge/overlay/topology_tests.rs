//! Per-VRF topologies through the resolver (draft §3.1.3, §5.4): a hub and
//! two spokes (examples/topology-*.toml) exchange what they originate, as
//! a route reflector that authorizes everything would hand it on. Checked:
//! who imports what, where each route's next hop is, the transit flag of
//! the snapshot, and that the hub originates only its own prefixes and
//! summaries (never what it imported).
use super::resolver_tests::{connect, table, Edge};
use sdwan_bgp::rib::RouteKey;
use sdwan_bgp::wire::Prefix;
use std::collections::BTreeSet;
use std::net::IpAddr;

const HUB: &str = include_str!("../../../examples/topology-hub.toml");
const SPOKE: &str = include_str!("../../../examples/topology-spoke.toml");
const CORP: u16 = 1;
const POS: u16 = 2;

/// Spoke 2: the spoke example on node 10.255.0.12, site 10.12.
fn spoke2() -> String {
    SPOKE
        .replace("10.255.0.11", "10.255.0.12")
        .replace("10.11.", "10.12.")
        .replace("fd00:11:", "fd00:12:")
        .replace("198.51.100.11", "198.51.100.12")
        .replace("02:00:00:00:11:", "02:00:00:00:12:")
        .replace("net_tap4", "net_tap5")
        .replace("sdws-", "sdwt-")
}

fn px(s: &str) -> Prefix {
    let n: ipnet::IpNet = s.parse().unwrap();
    Prefix::new(n.addr(), n.prefix_len()).unwrap()
}

fn node(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The remote node edge `e` forwards `prefix` of `vrf` to, if installed.
fn via(e: &Edge, vrf: u16, prefix: &str) -> Option<IpAddr> {
    let inst = e.r.installed().get(&(vrf, px(prefix)))?;
    e.r.path_key(inst.path).map(|k| k.node)
}

fn three() -> (Edge, Edge, Edge) {
    let mut hub = Edge::new(HUB);
    let mut s1 = Edge::new(SPOKE);
    let mut s2 = Edge::new(&spoke2());
    connect(&mut hub, &mut s1, true);
    connect(&mut hub, &mut s2, true);
    connect(&mut s1, &mut s2, true);
    (hub, s1, s2)
}

#[test]
fn spokes_reach_each_other_through_the_hub_and_corp_stays_a_mesh() {
    let (hub, s1, s2) = three();
    let (h, n1, n2) = (
        node("10.255.0.10"),
        node("10.255.0.11"),
        node("10.255.0.12"),
    );
    // pos at a spoke: the hub's subnet and summaries, never the other
    // spoke's routes (spoke_rt is not imported).
    assert_eq!(via(&s1, POS, "10.10.2.0/24"), Some(h));
    assert_eq!(via(&s1, POS, "0.0.0.0/0"), Some(h));
    assert_eq!(via(&s1, POS, "::/0"), Some(h));
    assert_eq!(via(&s1, POS, "10.12.2.0/24"), None);
    assert_eq!(via(&s2, POS, "10.11.2.0/24"), None);
    assert_eq!(via(&s2, POS, "0.0.0.0/0"), Some(h));
    // pos at the hub: every spoke's routes, toward that spoke.
    assert_eq!(via(&hub, POS, "10.11.2.0/24"), Some(n1));
    assert_eq!(via(&hub, POS, "fd00:12:2::/64"), Some(n2));
    // The hub does not import its own summaries' RT (hub_rt).
    assert_eq!(via(&hub, POS, "0.0.0.0/0"), None);
    // corp is a mesh: spoke to spoke directly.
    assert_eq!(via(&s1, CORP, "10.12.1.0/24"), Some(n2));
    assert_eq!(via(&s2, CORP, "10.11.1.0/24"), Some(n1));
    assert_eq!(via(&s1, CORP, "10.10.1.0/24"), Some(h));
    // Payment gateway (65000:900): the stores import it.
    assert_eq!(via(&s1, CORP, "10.10.9.0/24"), Some(h));
    // The store's printer subnet (65000:901): nobody imports it.
    assert_eq!(via(&hub, CORP, "10.11.7.0/24"), None);
    assert_eq!(via(&s2, CORP, "10.11.7.0/24"), None);
}

#[test]
fn only_the_hub_vrf_is_transit_in_the_snapshot() {
    let mut hub = Edge::new(HUB);
    let mut s1 = Edge::new(SPOKE);
    let (uh, us) = connect(&mut hub, &mut s1, true);
    let transit = |u| {
        let t = table(u);
        t.decap
            .iter()
            .map(|d| (d.vrf, d.transit))
            .collect::<Vec<_>>()
    };
    assert_eq!(transit(&uh), vec![(CORP, false), (POS, true)]);
    assert_eq!(transit(&us), vec![(CORP, false), (POS, false)]);
}

#[test]
fn the_hub_originates_its_own_prefixes_and_summaries_only() {
    let (hub, _, _) = three();
    let sent: Vec<(Prefix, Vec<String>)> = hub
        .advertised(true)
        .into_iter()
        .filter_map(|c| match c.key {
            RouteKey::Vpn { prefix, .. } => {
                let rts = c
                    .best?
                    .attrs
                    .ext_communities
                    .iter()
                    .map(|e| e.to_string())
                    .collect();
                Some((prefix, rts))
            }
            _ => None,
        })
        .collect();
    let prefixes: BTreeSet<String> = sent.iter().map(|(p, _)| p.to_string()).collect();
    let want: BTreeSet<String> = [
        "10.10.1.0/24",
        "10.10.9.0/24",
        "10.10.2.0/24",
        "fd00:10:2::/64",
        "0.0.0.0/0",
        "::/0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Nothing learned from the spokes goes back out.
    assert_eq!(prefixes, want);
    let rts_of = |p: &str| {
        sent.iter()
            .find(|(x, _)| *x == px(p))
            .map(|(_, r)| r.clone())
            .unwrap()
    };
    assert_eq!(rts_of("0.0.0.0/0"), ["rt:65000:21"]);
    assert_eq!(rts_of("10.10.2.0/24"), ["rt:65000:21"]);
    assert_eq!(rts_of("10.10.9.0/24"), ["rt:65000:900"]);
    assert_eq!(rts_of("10.10.1.0/24"), ["rt:65000:1"]);
}
