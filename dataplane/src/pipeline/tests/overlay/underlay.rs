//! The per-tunnel underlay next hop cache (`overlay::UnderlayCache`):
//! what a tunnel's packets see follows every FIB, neighbor and overlay
//! snapshot change, and the resolution / probe events and drop counts are
//! the same per packet as without a cache.

use super::*;
use crate::neighbor::{NeighborEntry, NeighborState, NeighborTable};

const GW: &str = "192.0.2.254";
const GW_B: &str = "192.0.2.253";
const GW_B_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xf, 0xfd]);

/// A FIB with blue's path 0 (10.2.0.0/16) and, in the WAN VRF, the
/// default route via `gw` on the WAN port (none when `gw` is `None`).
fn fib(gw: Option<&str>) -> Arc<crate::fib::Fib> {
    let (mut w, r) = fib_channel();
    let mut routes = vec![
        RouteChange::Add {
            vrf: 1,
            prefix: "10.1.0.0".parse().unwrap(),
            len: 24,
            next_hop: NextHop::Connected { port: BLUE },
        },
        RouteChange::Add {
            vrf: 1,
            prefix: "10.2.0.0".parse().unwrap(),
            len: 16,
            next_hop: NextHop::Overlay { path: 0 },
        },
    ];
    if let Some(gw) = gw {
        routes.push(RouteChange::Add {
            vrf: 0,
            prefix: "0.0.0.0".parse().unwrap(),
            len: 0,
            next_hop: NextHop::Gateway {
                port: WAN,
                via: gw.parse().unwrap(),
            },
        });
    }
    assert!(w.apply(routes).rejected.is_empty());
    r.load_full()
}

/// A neighbor snapshot with these WAN-port entries.
fn neighbors(entries: &[(&str, Option<MacAddr>, NeighborState)]) -> NeighborTable {
    NeighborTable::from_entries(
        entries
            .iter()
            .map(|&(ip, mac, state)| ((WAN, ip.parse().unwrap()), NeighborEntry { mac, state })),
    )
}

fn send(edge: &mut Edge) -> (Verdict, Vec<u8>) {
    edge.run(&lan_v4("10.1.0.2", "10.2.0.1", 7, 20), BLUE)
}

fn dst_mac(out: &[u8]) -> MacAddr {
    super::super::eth_of(out).dst()
}

#[test]
fn a_new_neighbor_snapshot_or_fib_changes_the_next_packet() {
    let mut edge = Edge::new();
    let (v, out) = send(&mut edge);
    assert_eq!(v, Verdict::Forward { port: WAN });
    assert_eq!(dst_mac(&out), GW_MAC);
    // The gateway's MAC changed.
    let new_mac = MacAddr([2, 0, 0, 0, 0xa, 0xa]);
    edge.neighbors = neighbors(&[(GW, Some(new_mac), NeighborState::Reachable)]);
    let (v, out) = send(&mut edge);
    assert_eq!(v, Verdict::Forward { port: WAN });
    assert_eq!(dst_mac(&out), new_mac);
    // The underlay route now goes through another gateway.
    edge.neighbors = neighbors(&[
        (GW, Some(new_mac), NeighborState::Reachable),
        (GW_B, Some(GW_B_MAC), NeighborState::Reachable),
    ]);
    edge.fib = fib(Some(GW_B));
    let (v, out) = send(&mut edge);
    assert_eq!(v, Verdict::Forward { port: WAN });
    assert_eq!(dst_mac(&out), GW_B_MAC);
    // No underlay route: every packet is a named drop of the tunnel.
    edge.fib = fib(None);
    for _ in 0..2 {
        assert_eq!(
            send(&mut edge).0,
            Verdict::Drop(DropReason::UnderlayNoRoute)
        );
    }
    assert_eq!(edge.drops(DropReason::UnderlayNoRoute), 2);
    assert_eq!(
        edge.worker.overlay.tunnel_counters(0).unwrap().path_drops,
        2
    );
    // And back.
    edge.fib = fib(Some(GW));
    let (v, out) = send(&mut edge);
    assert_eq!(v, Verdict::Forward { port: WAN });
    assert_eq!(dst_mac(&out), new_mac);
}

#[test]
fn a_new_overlay_generation_rebinds_the_tunnel() {
    let mut edge = Edge::new();
    assert_eq!(send(&mut edge).0, Verdict::Forward { port: WAN });
    // Tunnel 0 now leaves through WAN2 toward peer 2 (routed via WAN2's
    // gateway in the WAN VRF).
    let mut t = table();
    t.tunnels[0] = tunnel(WAN2, WAN2_V4, PEER2_V4, OUT_V4);
    edge.publish(t);
    let (v, out) = send(&mut edge);
    assert_eq!(v, Verdict::Forward { port: WAN2 });
    assert_eq!(dst_mac(&out), GW2_MAC);
    // Bound to WAN toward peer 2, whose /32 route leaves through WAN2:
    // not this tunnel's port.
    let mut t = table();
    t.tunnels[0] = tunnel(WAN, WAN_V4, PEER2_V4, OUT_V4);
    edge.publish(t);
    assert_eq!(
        send(&mut edge).0,
        Verdict::Drop(DropReason::UnderlayNoRoute)
    );
}

#[test]
fn a_stale_gateway_is_used_and_probed_for_every_packet() {
    let mut edge = Edge::new();
    edge.neighbors = neighbors(&[(GW, Some(GW_MAC), NeighborState::Stale)]);
    for _ in 0..3 {
        let (v, out) = send(&mut edge);
        assert_eq!(v, Verdict::Forward { port: WAN });
        assert_eq!(dst_mac(&out), GW_MAC);
    }
    let probe = ControlEvent::Probe {
        port: WAN,
        ip: GW.parse().unwrap(),
    };
    assert_eq!(edge.events.iter().filter(|e| **e == probe).count(), 3);
    assert_eq!(edge.count(Event::StaleNeighborUsed), 3);
    // Probed: the control thread publishes it as PROBE, no more events.
    edge.neighbors = neighbors(&[(GW, Some(GW_MAC), NeighborState::Probe)]);
    edge.events.clear();
    assert_eq!(send(&mut edge).0, Verdict::Forward { port: WAN });
    assert!(edge.events.is_empty());
}

#[test]
fn a_missing_gateway_is_requested_for_every_packet_an_incomplete_one_not() {
    let mut edge = Edge::new();
    edge.neighbors = neighbors(&[]);
    for _ in 0..2 {
        assert_eq!(send(&mut edge).0, Verdict::Drop(DropReason::NoNeighbor));
    }
    let resolve = ControlEvent::Resolve {
        port: WAN,
        ip: GW.parse().unwrap(),
    };
    assert_eq!(edge.events, vec![resolve, resolve]);
    assert_eq!(edge.count(Event::ResolveRequests), 2);
    // Resolution under way: dropped quietly.
    edge.neighbors = neighbors(&[(GW, None, NeighborState::Incomplete)]);
    edge.events.clear();
    for _ in 0..2 {
        assert_eq!(send(&mut edge).0, Verdict::Drop(DropReason::NoNeighbor));
    }
    assert!(edge.events.is_empty());
    assert_eq!(edge.drops(DropReason::NoNeighbor), 4);
    // Resolved.
    edge.neighbors = neighbors(&[(GW, Some(GW_MAC), NeighborState::Reachable)]);
    assert_eq!(send(&mut edge).0, Verdict::Forward { port: WAN });
}
