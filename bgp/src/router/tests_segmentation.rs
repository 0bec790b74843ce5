//! Flow-based segmentation and hub-and-spoke through the route reflector
//! (draft-ietf-bess-bgp-sdwan-usage §3.1.3, §3.1.5, §5.4): a peer group's
//! authorized Route Targets decide which edges receive a route, whatever
//! the edges would import.
use super::tests::{rt, vpn, vpn_route, Net};
use crate::config::PeerGroupConfig;

fn group(name: &str, rts: &[&str]) -> PeerGroupConfig {
    PeerGroupConfig {
        name: name.into(),
        route_targets: rts.iter().map(|s| rt(s)).collect(),
    }
}

#[test]
fn a_prefix_with_its_own_rt_reaches_only_authorized_groups() {
    // Edge 1: hub (mesh 1 + spoke RT 22); edge 2: a store (mesh, hub RT
    // 21, payment 900); edge 3: an office (mesh, hub RT 21).
    let groups = vec![
        group("hub", &["65000:1", "65000:22"]),
        group("stores", &["65000:1", "65000:21", "65000:900"]),
        group("offices", &["65000:1", "65000:21"]),
    ];
    let mut net = Net::new(
        &[("hub", vpn()), ("stores", vpn()), ("offices", vpn())],
        groups,
    );
    // The hub: its corp subnet (mesh), the payment gateway (900 only), its
    // pos summary (hub RT 21).
    net.originate(
        1,
        vpn_route("10.10.1.0/24", "65000:101", &["65000:1"], None),
    );
    net.originate(
        1,
        vpn_route("10.10.9.0/24", "65000:101", &["65000:900"], None),
    );
    net.originate(1, vpn_route("0.0.0.0/0", "65000:102", &["65000:21"], None));
    // The spokes' pos subnets (spoke RT 22).
    net.originate(
        2,
        vpn_route("10.11.2.0/24", "65000:112", &["65000:22"], None),
    );
    net.originate(
        3,
        vpn_route("10.12.2.0/24", "65000:122", &["65000:22"], None),
    );
    assert_eq!(
        net.keys(2),
        vec![
            "65000:101:10.10.1.0/24",
            "65000:101:10.10.9.0/24",
            "65000:102:0.0.0.0/0",
            "65000:112:10.11.2.0/24",
        ]
    );
    // The office: no payment gateway, no other spoke's pos route.
    assert_eq!(
        net.keys(3),
        vec![
            "65000:101:10.10.1.0/24",
            "65000:102:0.0.0.0/0",
            "65000:122:10.12.2.0/24",
        ]
    );
    // The hub: every spoke's pos route, nothing of its own reflected.
    assert_eq!(
        net.keys(1),
        vec![
            "65000:101:10.10.1.0/24",
            "65000:101:10.10.9.0/24",
            "65000:102:0.0.0.0/0",
            "65000:112:10.11.2.0/24",
            "65000:122:10.12.2.0/24",
        ]
    );
}
