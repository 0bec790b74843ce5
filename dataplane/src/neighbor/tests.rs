use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const MAC_A: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xa]);
const MAC_B: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xb]);

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn state(m: &mut NeighborManager, port: u16, ip: IpAddr) -> Option<NeighborEntry> {
    m.changed = true;
    m.take_snapshot().unwrap().lookup(port, ip).copied()
}

#[test]
fn resolve_probes_then_learns_reachable_then_ages() {
    let t0 = Instant::now();
    let mut m = NeighborManager::new(NeighborConfig::default());
    let mut acts = Vec::new();
    m.handle_event(ControlEvent::Resolve { port: 1, ip: v4(2) }, t0, &mut acts);
    assert_eq!(
        acts,
        vec![NeighborAction::SendArpRequest {
            port: 1,
            target: Ipv4Addr::new(10, 0, 0, 2),
            unicast: None
        }]
    );
    let snap = m.take_snapshot().unwrap();
    assert_eq!(
        snap.lookup(1, v4(2)).unwrap().state,
        NeighborState::Incomplete
    );
    // A repeat request while resolving sends nothing.
    acts.clear();
    m.handle_event(ControlEvent::Resolve { port: 1, ip: v4(2) }, t0, &mut acts);
    assert!(acts.is_empty());
    m.handle_event(
        ControlEvent::NeighborLearned {
            port: 1,
            ip: v4(2),
            mac: MAC_A,
            kind: LearnKind::Reply { override_: true },
        },
        t0 + Duration::from_millis(10),
        &mut acts,
    );
    let e = m
        .take_snapshot()
        .unwrap()
        .lookup(1, v4(2))
        .copied()
        .unwrap();
    assert_eq!(
        e,
        NeighborEntry {
            mac: Some(MAC_A),
            state: NeighborState::Reachable
        }
    );
    m.poll(t0 + Duration::from_secs(31), &mut acts);
    assert_eq!(state(&mut m, 1, v4(2)).unwrap().state, NeighborState::Stale);
    // Stale used → unicast probe, PROBE state.
    m.handle_event(
        ControlEvent::Probe { port: 1, ip: v4(2) },
        t0 + Duration::from_secs(32),
        &mut acts,
    );
    assert_eq!(
        acts.last(),
        Some(&NeighborAction::SendArpRequest {
            port: 1,
            target: Ipv4Addr::new(10, 0, 0, 2),
            unicast: Some(MAC_A)
        })
    );
    assert_eq!(state(&mut m, 1, v4(2)).unwrap().state, NeighborState::Probe);
    // No answer: 2 more probes then deletion.
    acts.clear();
    for s in 33..=36 {
        m.poll(t0 + Duration::from_secs(s), &mut acts);
    }
    assert_eq!(
        acts.iter()
            .filter(|a| matches!(a, NeighborAction::SendArpRequest { .. }))
            .count(),
        2
    );
    assert!(acts.contains(&NeighborAction::Unreachable { port: 1, ip: v4(2) }));
    assert_eq!(state(&mut m, 1, v4(2)), None);
}

#[test]
fn incomplete_fails_holds_then_clears() {
    let t0 = Instant::now();
    let mut m = NeighborManager::new(NeighborConfig::default());
    let mut acts = Vec::new();
    let ip = IpAddr::V6("2001:db8::9".parse::<Ipv6Addr>().unwrap());
    m.handle_event(ControlEvent::Resolve { port: 0, ip }, t0, &mut acts);
    for s in 1..=3 {
        m.poll(t0 + Duration::from_secs(s), &mut acts);
    }
    let ns = acts
        .iter()
        .filter(|a| matches!(a, NeighborAction::SendNeighborSolicit { unicast: None, .. }))
        .count();
    assert_eq!(ns, 3);
    assert_eq!(
        acts.last(),
        Some(&NeighborAction::Unreachable { port: 0, ip })
    );
    assert_eq!(
        state(&mut m, 0, ip).unwrap().state,
        NeighborState::Incomplete
    );
    m.poll(t0 + Duration::from_secs(7), &mut acts);
    assert_eq!(state(&mut m, 0, ip), None);
}

#[test]
fn learning_rules() {
    let t0 = Instant::now();
    let mut m = NeighborManager::new(NeighborConfig::default());
    let mut acts = Vec::new();
    let learn = |m: &mut NeighborManager, mac, kind, acts: &mut Vec<_>| {
        m.handle_event(
            ControlEvent::NeighborLearned {
                port: 0,
                ip: v4(5),
                mac,
                kind,
            },
            t0,
            acts,
        )
    };
    // Unsolicited and reply do not create.
    learn(
        &mut m,
        MAC_A,
        LearnKind::Unsolicited { override_: true },
        &mut acts,
    );
    learn(
        &mut m,
        MAC_A,
        LearnKind::Reply { override_: true },
        &mut acts,
    );
    assert_eq!(m.take_snapshot().map(|s| s.len()), None);
    // Request creates STALE.
    learn(&mut m, MAC_A, LearnKind::Request, &mut acts);
    assert_eq!(
        state(&mut m, 0, v4(5)).unwrap(),
        NeighborEntry {
            mac: Some(MAC_A),
            state: NeighborState::Stale
        }
    );
    // Reply without override and another MAC: ignored.
    learn(
        &mut m,
        MAC_B,
        LearnKind::Reply { override_: false },
        &mut acts,
    );
    assert_eq!(state(&mut m, 0, v4(5)).unwrap().mac, Some(MAC_A));
    // Gratuitous with a new MAC: updated, STALE.
    learn(
        &mut m,
        MAC_B,
        LearnKind::Unsolicited { override_: true },
        &mut acts,
    );
    assert_eq!(
        state(&mut m, 0, v4(5)).unwrap(),
        NeighborEntry {
            mac: Some(MAC_B),
            state: NeighborState::Stale
        }
    );
    // Port flush.
    m.flush_port(0);
    assert_eq!(state(&mut m, 0, v4(5)), None);
    assert!(acts.is_empty());
}

#[test]
fn event_queue_counts_overflow_and_tick_publishes() {
    let q = Arc::new(EventQueue::new(2));
    for i in 0..3 {
        q.push(ControlEvent::Resolve { port: 0, ip: v4(i) });
    }
    assert_eq!(q.overflows(), 1);
    let shared: SharedNeighbors =
        Arc::new(arc_swap::ArcSwap::from_pointee(NeighborTable::default()));
    let mut m = NeighborManager::new(NeighborConfig::default());
    let mut acts = Vec::new();
    m.tick(std::slice::from_ref(&q), Instant::now(), &shared, &mut acts);
    assert_eq!(acts.len(), 2);
    assert_eq!(shared.load().len(), 2);
    assert!(q.pop().is_none());
}

#[test]
fn static_entries_never_age_nor_relearn() {
    let t0 = Instant::now();
    let mut m = NeighborManager::new(NeighborConfig::default());
    let mut acts = Vec::new();
    m.add_static(2, v4(9), MAC_A);
    let kind = LearnKind::Unsolicited { override_: true };
    m.handle_event(
        ControlEvent::NeighborLearned {
            port: 2,
            ip: v4(9),
            mac: MAC_B,
            kind,
        },
        t0,
        &mut acts,
    );
    m.handle_event(
        ControlEvent::NeighborLearned {
            port: 2,
            ip: v4(9),
            mac: MAC_B,
            kind: LearnKind::Request,
        },
        t0,
        &mut acts,
    );
    m.poll(t0 + Duration::from_secs(100_000), &mut acts);
    assert_eq!(
        state(&mut m, 2, v4(9)).unwrap(),
        NeighborEntry {
            mac: Some(MAC_A),
            state: NeighborState::Reachable
        }
    );
    assert!(acts.is_empty());
}
