//! Peers and peer groups added and removed at run time, in memory: a
//! route reflector (node 0) and edges, as in `tests.rs`.

use super::tests::{peer, tenants, vpn, vpn_route, Net, RR_ID};
use super::*;
use crate::config::PeerGroupConfig;

const EDGE2: [u8; 4] = [10, 0, 0, 2];

fn ip(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

/// RR with edge 1 configured; edge 2 exists but neither side knows the
/// other until `add_edge2`.
fn net_without_edge2() -> Net {
    let mut net = Net::new_with(&[("t1", vpn()), ("t1", vpn())], tenants(), |n, c| {
        if n == 0 {
            c.peers.truncate(1);
        }
        if n == 2 {
            c.peers.clear();
        }
    });
    net.rr_far.truncate(1);
    net.originate(1, vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], None));
    net
}

fn push(net: &mut Net, node: usize, acts: Vec<IoAction>) {
    net.queue.extend(acts.into_iter().map(|a| (node, a)));
    net.run();
}

/// The RR adds edge 2 as a passive peer (new id `rr_id`), edge 2 adds
/// the RR as an active one and dials.
fn add_edge2(net: &mut Net, rr_id: PeerId) {
    let (id, acts) = net.nodes[0]
        .add_peer(peer(EDGE2, Some("t1"), vpn(), true), net.now)
        .unwrap();
    assert_eq!(id, rr_id);
    assert!(acts.is_empty(), "passive: no connect");
    net.rr_far.push(2);
    if net.nodes[2].peer_by_addr(ip(RR_ID)).is_none() {
        let (id, acts) = net.nodes[2]
            .add_peer(peer(RR_ID, None, vpn(), false), net.now)
            .unwrap();
        assert_eq!((id, acts), (0, vec![IoAction::Connect(0)]));
        push(net, 2, vec![IoAction::Connect(0)]);
    } else {
        // Edge 2 kept the RR configured and retries after its idle hold.
        net.now += Duration::from_secs(2);
        let acts = net.nodes[2].tick(net.now);
        push(net, 2, acts);
    }
}

#[test]
fn added_peer_establishes_and_exchanges_routes() {
    let mut net = net_without_edge2();
    assert_eq!(net.nodes[0].summaries(net.now).len(), 1);
    add_edge2(&mut net, 1);
    assert_eq!(net.nodes[0].peer_state(1), Some(State::Established));
    assert_eq!(net.keys(2), vec!["65000:1:10.1.0.0/24"], "gets the table");
    net.originate(2, vpn_route("10.2.0.0/24", "65000:1", &["65000:1"], None));
    assert!(net.keys(1).contains(&"65000:1:10.2.0.0/24".to_string()));
    let s = net.nodes[0].summaries(net.now);
    assert_eq!(s.len(), 2);
    assert_eq!(s[1].peer_group.as_deref(), Some("t1"));
    assert_eq!(net.nodes[0].config().peers.len(), 2);
}

#[test]
fn removed_peer_gets_cease_3_and_its_routes_are_withdrawn() {
    let mut net = net_without_edge2();
    add_edge2(&mut net, 1);
    net.originate(2, vpn_route("10.2.0.0/24", "65000:1", &["65000:1"], None));
    assert_eq!(net.nodes[0].loc_rib_len(), 2);
    let events_before = net.nodes[1].take_changes().len();
    assert!(events_before > 0);

    let acts = net.nodes[0].remove_peer(ip(EDGE2), net.now).unwrap();
    // NOTIFICATION Cease (6) / Peer De-configured (3), then close.
    let notif = acts.iter().position(|a| match a {
        IoAction::Send(1, b) => b[18..] == [3, 6, 3],
        _ => false,
    });
    let close = acts.iter().position(|a| *a == IoAction::Close(1));
    assert!(
        notif.is_some() && notif < close,
        "cease then close: {acts:?}"
    );
    push(&mut net, 0, acts);
    // Edge 2 saw Cease / Peer De-configured (RFC 4486).
    let c = net.nodes[2].peer_summary(0, net.now).unwrap().counters;
    assert_eq!(c.last_notification_received, Some((6, 3)));
    // Its route is gone from the RR (no Graceful-Restart stale kept, it
    // negotiated GR) and withdrawn from edge 1.
    assert_eq!(net.nodes[0].loc_rib_len(), 1);
    assert_eq!(net.keys(1), vec!["65000:1:10.1.0.0/24"]);
    let ch = net.nodes[1].take_changes();
    assert!(ch.iter().any(|c| c.best.is_none()), "{ch:?}");
    // Not listed, not found, not restarted; config updated.
    assert_eq!(net.nodes[0].summaries(net.now).len(), 1);
    assert_eq!(net.nodes[0].counters(net.now).peers.len(), 1);
    assert_eq!(net.nodes[0].peer_by_addr(ip(EDGE2)), None);
    assert_eq!(net.nodes[0].peer_state(1), None);
    assert_eq!(net.nodes[0].config().peers.len(), 1);
    // Edge 2 keeps dialing: the RR ignores the retired id, nothing comes up.
    for _ in 0..3 {
        net.now += Duration::from_secs(2);
        for n in [0, 2] {
            let acts = net.nodes[n].tick(net.now);
            push(&mut net, n, acts);
        }
    }
    assert_ne!(net.nodes[2].peer_state(0), Some(State::Established));
    assert_eq!(net.nodes[0].peer_count(), 2);
    assert_eq!(
        net.nodes[0].remove_peer(ip(EDGE2), net.now),
        Err("no peer 10.0.0.2".into())
    );
}

#[test]
fn a_removed_address_can_be_added_again() {
    let mut net = net_without_edge2();
    add_edge2(&mut net, 1);
    let acts = net.nodes[0].remove_peer(ip(EDGE2), net.now).unwrap();
    push(&mut net, 0, acts);
    assert!(net.keys(2).is_empty(), "edge 2 lost the RR's routes");
    add_edge2(&mut net, 2);
    assert_eq!(net.nodes[0].peer_state(2), Some(State::Established));
    assert_eq!(net.keys(2), vec!["65000:1:10.1.0.0/24"]);
    let s = net.nodes[0].summaries(net.now);
    assert_eq!(s.len(), 2);
    assert_eq!(s[1].counters.established_count, 1, "fresh counters");
}

#[test]
fn removing_a_restarting_peer_drops_its_stale_routes() {
    let mut net = net_without_edge2();
    add_edge2(&mut net, 1);
    // Edge 1's TCP session is lost: the RR keeps its route as stale
    // (Graceful Restart, RFC 4724 §4.2) and edge 2 still has it.
    let acts = net.nodes[0].event(0, net.now, Event::Closed);
    push(&mut net, 0, acts);
    assert_eq!(net.keys(2).len(), 1);
    assert!(net.nodes[0].peers[0].stale.is_some());
    let acts = net.nodes[0]
        .remove_peer(ip([10, 0, 0, 1]), net.now)
        .unwrap();
    push(&mut net, 0, acts);
    assert_eq!(net.nodes[0].loc_rib_len(), 0);
    assert!(net.keys(2).is_empty(), "withdrawn from edge 2");
    let slot = &net.nodes[0].peers[0];
    assert!(slot.removed && slot.stale.is_none());
    assert_eq!(slot.fsm.next_deadline(), None, "never restarted");
}

#[test]
fn add_peer_is_validated() {
    let mut net = net_without_edge2();
    let rr = &mut net.nodes[0];
    let now = net.now;
    let e = rr
        .add_peer(peer(EDGE2, Some("nope"), vpn(), true), now)
        .unwrap_err();
    assert!(e.contains("unknown peer group"), "{e}");
    let e = rr
        .add_peer(peer([10, 0, 0, 1], Some("t1"), vpn(), true), now)
        .unwrap_err();
    assert!(e.contains("already configured"), "{e}");
    let e = rr
        .add_peer(peer(EDGE2, Some("t1"), vec![], true), now)
        .unwrap_err();
    assert!(e.contains("no address family"), "{e}");
    let mut long = peer(EDGE2, None, vpn(), true);
    long.md5_key = Some("k".repeat(81));
    assert!(rr.add_peer(long, now).is_err());
    assert_eq!(rr.peer_count(), 1, "nothing added");
}

#[test]
fn peer_groups_change_at_run_time_without_a_session_reset() {
    let mut net = Net::new(&[("t1", vpn()), ("t1", vpn()), ("t2", vpn())], tenants());
    net.originate(1, vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], None));
    assert!(net.keys(3).is_empty());
    // Tenant 2's group now also admits 65000:1: edge 3 receives the route.
    let acts = net.nodes[0].set_peer_group(PeerGroupConfig {
        name: "t2".into(),
        route_targets: vec![super::tests::rt("65000:2"), super::tests::rt("65000:1")],
    });
    push(&mut net, 0, acts);
    assert_eq!(net.keys(3), vec!["65000:1:10.1.0.0/24"]);
    // And back: withdrawn.
    let acts = net.nodes[0].set_peer_group(PeerGroupConfig {
        name: "t2".into(),
        route_targets: vec![super::tests::rt("65000:2")],
    });
    push(&mut net, 0, acts);
    assert!(net.keys(3).is_empty());
    let s = net.nodes[0].peer_summary(2, net.now).unwrap();
    assert_eq!(s.counters.established_count, 1, "no reset");
    // A new group for a new peer; a group in use cannot be removed.
    let acts = net.nodes[0].set_peer_group(PeerGroupConfig {
        name: "t3".into(),
        route_targets: vec![],
    });
    assert!(acts.is_empty());
    let now = net.now;
    let rr = &mut net.nodes[0];
    rr.add_peer(peer([10, 0, 0, 9], Some("t3"), vpn(), true), now)
        .unwrap();
    assert!(rr.remove_peer_group("t3").unwrap_err().contains("10.0.0.9"));
    rr.remove_peer(ip([10, 0, 0, 9]), now).unwrap();
    rr.remove_peer_group("t3").unwrap();
    assert!(rr.remove_peer_group("t3").is_err());
    assert_eq!(
        rr.config()
            .peer_groups
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        ["t1", "t2"]
    );
}
