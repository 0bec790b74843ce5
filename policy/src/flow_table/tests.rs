use super::*;
use crate::classifier::{Match, PathPolicy, PortRange, Rule, RuleSet};
use crate::path::{PathState, Usable};
use proptest::prelude::*;

const SEC: u64 = 1_000_000_000;

/// UDP dst port 5060 (voice) is private-only, TCP 443 breakout, the rest
/// encrypted-any.
fn policy(generation: u64, default: PathPolicy) -> PolicySnapshot {
    let mut s = RuleSet::new(Action::new(default));
    s.rules = vec![
        Rule {
            matches: Match {
                protocol: Some(17),
                dst_ports: Some(PortRange::single(5060)),
                ..Match::default()
            },
            action: Action::new(PathPolicy::PrivateOnly),
        },
        Rule {
            matches: Match {
                protocol: Some(6),
                dst_ports: Some(PortRange::single(443)),
                ..Match::default()
            },
            action: Action::new(PathPolicy::InternetBreakout),
        },
    ];
    PolicySnapshot::compile(&s, generation).unwrap()
}

fn table(capacity: usize) -> FlowTable {
    FlowTable::new(FlowTableConfig {
        capacity,
        idle_timeout_ns: 30 * SEC,
        seed: 42,
    })
}

fn udp(sport: u16, dport: u16) -> FlowKey {
    FlowKey::v4(
        1,
        [10, 0, 0, 1].into(),
        [10, 9, 0, 1].into(),
        17,
        sport,
        dport,
        0,
    )
}

fn fwd(path: PathKind) -> Steer {
    Steer::Forward { path, class: None }
}

#[test]
fn flows_stay_on_their_path_and_move_on_failover() {
    let pol = policy(1, PathPolicy::Any);
    let state = PathState::new(Usable::ALL);
    let mut t = table(1024);
    let data = udp(1000, 9000);
    assert_eq!(
        t.steer(&data, 0, &pol, state.load()),
        fwd(PathKind::Private)
    );
    assert_eq!(
        t.steer(&data, SEC, &pol, state.load()),
        fwd(PathKind::Private)
    );
    // Private link down at 2 s: the next packet moves to the internet.
    state.set_private(false);
    let after = 2 * SEC + 1;
    assert_eq!(
        t.steer(&data, after, &pol, state.load()),
        fwd(PathKind::InternetEncrypted)
    );
    assert_eq!(t.stats().moved, 1);
    // Private back: the flow stays where it is; a new flow goes private.
    state.set_private(true);
    assert_eq!(
        t.steer(&data, 3 * SEC, &pol, state.load()),
        fwd(PathKind::InternetEncrypted)
    );
    assert_eq!(
        t.steer(&udp(1001, 9000), 3 * SEC, &pol, state.load()),
        fwd(PathKind::Private)
    );
    assert_eq!(t.stats().new_flows, 2);
    assert_eq!(t.stats().moved, 1);
}

#[test]
fn private_only_flows_are_dropped_and_counted_never_leaked() {
    let pol = policy(1, PathPolicy::Any);
    let state = PathState::new(Usable::ALL);
    let mut t = table(1024);
    let voice = udp(1000, 5060);
    assert_eq!(
        t.steer(&voice, 0, &pol, state.load()),
        fwd(PathKind::Private)
    );
    state.set_private(false);
    for i in 1..=3 {
        assert_eq!(
            t.steer(&voice, i, &pol, state.load()),
            Steer::Drop(PolicyDrop::PrivatePathDown)
        );
    }
    assert_eq!(t.drops().get(PolicyDrop::PrivatePathDown), 3);
    assert_eq!(t.stats().moved, 0);
    // A new private-only flow while down is dropped too.
    assert_eq!(
        t.steer(&udp(2000, 5060), 5, &pol, state.load()),
        Steer::Drop(PolicyDrop::PrivatePathDown)
    );
    state.set_private(true);
    assert_eq!(
        t.steer(&voice, 6, &pol, state.load()),
        fwd(PathKind::Private)
    );
}

#[test]
fn failover_reaches_every_flow_at_its_next_packet() {
    let pol = policy(1, PathPolicy::Any);
    let state = PathState::new(Usable::ALL);
    let mut t = table(4096);
    let flows: Vec<FlowKey> = (0..1000u16)
        .map(|i| udp(10_000 + i, if i % 4 == 0 { 5060 } else { 9000 }))
        .collect();
    for f in &flows {
        t.steer(f, 0, &pol, state.load());
    }
    state.set_private(false);
    let (mut moved, mut dropped) = (0, 0);
    for f in &flows {
        match t.steer(f, SEC / 2, &pol, state.load()) {
            Steer::Forward {
                path: PathKind::InternetEncrypted,
                ..
            } => moved += 1,
            Steer::Drop(PolicyDrop::PrivatePathDown) => dropped += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((moved, dropped), (750, 250));
    assert_eq!(t.stats().moved, 750);
    assert_eq!(t.stats().evicted, 0);
}

#[test]
fn breakout_needs_the_internet() {
    let pol = policy(1, PathPolicy::Any);
    let state = PathState::new(Usable::ALL);
    let mut t = table(64);
    let web = FlowKey::v4(
        1,
        [10, 0, 0, 1].into(),
        [8, 8, 8, 8].into(),
        6,
        5000,
        443,
        0,
    );
    assert_eq!(
        t.steer(&web, 0, &pol, state.load()),
        fwd(PathKind::InternetBreakout)
    );
    state.set_internet(false);
    assert_eq!(
        t.steer(&web, 1, &pol, state.load()),
        Steer::Drop(PolicyDrop::InternetPathDown)
    );
}

#[test]
fn idle_flows_are_forgotten_and_rechosen() {
    let pol = policy(1, PathPolicy::Any);
    let state = PathState::new(Usable::ALL);
    let mut t = table(64);
    let f = udp(1, 9000);
    t.steer(&f, 0, &pol, state.load());
    state.set_private(false);
    assert_eq!(
        t.steer(&f, SEC, &pol, state.load()),
        fwd(PathKind::InternetEncrypted)
    );
    state.set_private(true);
    // Within the timeout: sticky. Past it: a new flow, preferred path.
    assert_eq!(
        t.steer(&f, 31 * SEC, &pol, state.load()),
        fwd(PathKind::InternetEncrypted)
    );
    assert_eq!(t.active(31 * SEC), 1);
    assert_eq!(
        t.steer(&f, 62 * SEC, &pol, state.load()),
        fwd(PathKind::Private)
    );
    assert_eq!(t.stats().expired, 1);
    assert_eq!(t.active(100 * SEC), 0);
}

#[test]
fn policy_publish_reclassifies_cached_flows() {
    let state = PathState::new(Usable::ALL);
    let mut t = table(64);
    let f = udp(1, 9000);
    let old = policy(1, PathPolicy::EncryptedAny);
    assert_eq!(
        t.steer(&f, 0, &old, state.load()),
        fwd(PathKind::PrivateEncrypted)
    );
    // New default: private-only; the encrypted path is no longer allowed.
    let new = policy(2, PathPolicy::PrivateOnly);
    assert_eq!(t.steer(&f, 1, &new, state.load()), fwd(PathKind::Private));
    assert_eq!(t.stats().reclassified, 1);
}

#[test]
fn full_probe_windows_evict_the_oldest() {
    let pol = policy(1, PathPolicy::Any);
    let state = PathState::new(Usable::ALL);
    let mut t = table(16);
    for i in 0..100u16 {
        assert_eq!(
            t.steer(&udp(i, 9000), u64::from(i), &pol, state.load()),
            fwd(PathKind::Private)
        );
    }
    assert_eq!(t.capacity(), 16);
    assert_eq!(t.stats().new_flows, 100);
    assert_eq!(t.stats().evicted, 84);
    assert_eq!(t.active(100), 16);
    // The most recent flow is still cached.
    t.steer(&udp(99, 9000), 101, &pol, state.load());
    assert_eq!(t.stats().new_flows, 100);
}

proptest! {
    #[test]
    fn private_only_never_leaves_private_and_flows_only_move_on_failure(
        ops in prop::collection::vec((0u16..40, 0u8..6), 1..400)
    ) {
        let pol = policy(1, PathPolicy::Any);
        let state = PathState::new(Usable::ALL);
        let mut t = table(32);
        let mut last: std::collections::HashMap<FlowKey, Steer> = Default::default();
        for (now, (flow, op)) in ops.into_iter().enumerate() {
            let now = now as u64;
            match op {
                0 => { state.set_private(!state.load().usable.private); }
                1 => { state.set_internet(!state.load().usable.internet); }
                _ => {}
            }
            let k = udp(flow, if flow % 3 == 0 { 5060 } else { 9000 });
            let view = state.load();
            let v = t.steer(&k, now, &pol, view);
            if flow % 3 == 0 {
                let ok = matches!(v, Steer::Forward { path: PathKind::Private, .. }
                                    | Steer::Drop(PolicyDrop::PrivatePathDown));
                prop_assert!(ok, "private-only flow got {:?}", v);
            }
            if let Steer::Forward { path, .. } = v {
                let usable = match path { PathKind::Private => view.usable.private, _ => view.usable.internet };
                prop_assert!(usable);
                // A flow that was forwarded before and whose path is still
                // usable did not change path (unless it was evicted).
                if let Some(Steer::Forward { path: old, .. }) = last.get(&k) {
                    let old_ok = match old { PathKind::Private => view.usable.private, _ => view.usable.internet };
                    if old_ok && t.stats().evicted == 0 {
                        prop_assert_eq!(*old, path);
                    }
                }
            }
            last.insert(k, v);
        }
    }
}
