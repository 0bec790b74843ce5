//! Loc-RIB and decision process tests, one per RFC 4271 §9.1.2.2 step.

use super::decision::prefer;
use super::*;
use crate::wire::{AsPath, Origin};
use std::cmp::Ordering;

fn path(peer: usize, f: impl FnOnce(&mut PathAttributes)) -> Path {
    let mut a = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::default()),
        local_pref: Some(100),
        ..Default::default()
    };
    f(&mut a);
    Path {
        source: Source::Peer(peer),
        peer_addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, peer as u8)),
        peer_router_id: Ipv4Addr::new(1, 1, 1, peer as u8),
        ebgp: false,
        path_id: None,
        label: Some(100 << 4 | 1),
        next_hop: IpAddr::V4(Ipv4Addr::new(192, 0, 2, peer as u8)),
        attrs: Arc::new(a),
    }
}

#[test]
fn each_decision_step() {
    let base = path(1, |_| {});
    assert_eq!(
        prefer(&path(2, |a| a.local_pref = Some(200)), &base),
        Ordering::Greater
    );
    assert_eq!(
        prefer(
            &path(2, |a| a.as_path = Some(AsPath::sequence(vec![1]))),
            &base
        ),
        Ordering::Less
    );
    assert_eq!(
        prefer(&path(2, |a| a.origin = Some(Origin::Egp)), &base),
        Ordering::Less
    );
    // MED: lower wins when the neighbour AS is the same ...
    let m1 = path(2, |a| {
        a.as_path = Some(AsPath::sequence(vec![7]));
        a.med = Some(10)
    });
    let m2 = path(3, |a| {
        a.as_path = Some(AsPath::sequence(vec![7]));
        a.med = Some(5)
    });
    assert_eq!(prefer(&m2, &m1), Ordering::Greater);
    // ... and is ignored across neighbour ASes (router id decides: 2 < 3).
    let m3 = path(3, |a| {
        a.as_path = Some(AsPath::sequence(vec![8]));
        a.med = Some(50)
    });
    assert_eq!(prefer(&m1, &m3), Ordering::Greater);
    let mut e = path(2, |_| {});
    e.ebgp = true;
    assert_eq!(prefer(&e, &base), Ordering::Greater);
    // Lowest router id, with ORIGINATOR_ID standing in (RFC 4456 §9).
    assert_eq!(prefer(&base, &path(2, |_| {})), Ordering::Greater);
    let o = path(2, |a| a.originator_id = Some(Ipv4Addr::new(0, 0, 0, 1)));
    assert_eq!(prefer(&o, &base), Ordering::Greater);
    // Shorter CLUSTER_LIST.
    let c1 = path(1, |a| a.cluster_list = vec![Ipv4Addr::new(9, 9, 9, 9)]);
    assert_eq!(prefer(&base, &c1), Ordering::Greater);
    // Locally originated beats everything.
    let mut l = path(5, |a| a.local_pref = Some(1));
    l.source = Source::Local;
    assert_eq!(prefer(&l, &base), Ordering::Greater);
}

#[test]
fn loc_rib_events_and_rd_aware_keys() {
    let mut rib = LocRib::new();
    let p: Prefix = "10.1.0.0/16".parse().unwrap();
    let k1 = RouteKey::Vpn {
        rd: "65000:1".parse().unwrap(),
        prefix: p,
    };
    let k2 = RouteKey::Vpn {
        rd: "65000:2".parse().unwrap(),
        prefix: p,
    };
    rib.upsert(k1, path(1, |_| {}));
    rib.upsert(k2, path(2, |_| {}));
    assert_eq!(rib.len(), 2, "same prefix under two RDs is two routes");
    let ch = rib.take_changes();
    assert_eq!(ch.len(), 2);
    assert_eq!(ch[0].family, Family::Vpnv4);
    // A worse path for k1 changes nothing visible.
    rib.upsert(k1, path(3, |a| a.local_pref = Some(50)));
    assert!(rib.take_changes().is_empty());
    // A better one does.
    rib.upsert(k1, path(4, |a| a.local_pref = Some(300)));
    let ch = rib.take_changes();
    assert_eq!(ch[0].best.as_ref().unwrap().source, Source::Peer(4));
    // Peer 4 goes down: best falls back to peer 1.
    assert_eq!(rib.remove_source(Source::Peer(4)), 1);
    assert_eq!(
        rib.take_changes()[0].best.as_ref().unwrap().source,
        Source::Peer(1)
    );
    assert_eq!(rib.adj_rib_in(Source::Peer(3)).count(), 1);
    assert!(rib.remove(&k1, Source::Peer(1), None));
    assert!(rib.remove(&k1, Source::Peer(3), None));
    let ch = rib.take_changes();
    assert_eq!(ch.last().unwrap().best, None);
    assert_eq!(rib.len(), 1);
}

#[test]
fn stored_paths_round_trip_and_share_their_head() {
    let mut rib = LocRib::new();
    let first = path(1, |_| {});
    let keys: Vec<RouteKey> = (0..3u8)
        .map(|i| RouteKey::Vpn {
            rd: Rd([0, 0, 0, 1, 0, 0, 0, i]),
            prefix: Prefix::new(IpAddr::V4(Ipv4Addr::new(10, i, 0, 0)), 16).unwrap(),
        })
        .chain([RouteKey::Unicast {
            prefix: Prefix::new("2001:db8::".parse().unwrap(), 32).unwrap(),
        }])
        .collect();
    for (i, k) in keys.iter().enumerate() {
        let mut p = first.clone();
        p.path_id = (i == 1).then_some(7);
        p.label = (i != 2).then_some(p.label.unwrap_or(0));
        assert!(rib.upsert(*k, p.clone()));
        assert_eq!(rib.best(k), Some(p), "{k} reads back as written");
    }
    assert_eq!(rib.len(), keys.len());
    // One Arc<PathAttributes> for all routes of the "UPDATE".
    let attrs: Vec<Arc<PathAttributes>> = rib
        .adj_rib_in(Source::Peer(1))
        .map(|(_, p)| p.attrs)
        .collect();
    assert_eq!(attrs.len(), keys.len());
    assert!(attrs.iter().all(|a| Arc::ptr_eq(a, &first.attrs)));
    // Removing the only path of a key drops the key.
    assert!(rib.remove(&keys[1], Source::Peer(1), Some(7)));
    assert!(!rib.remove(&keys[1], Source::Peer(1), Some(7)));
    assert_eq!(rib.best(&keys[1]), None);
    assert_eq!(rib.remove_source(Source::Peer(1)), keys.len() - 1);
    assert!(rib.is_empty());
    assert_eq!(rib.iter_best().count(), 0);
}

#[test]
fn route_storage_stays_compact() {
    // What the memory budget (bytes per route) rests on.
    assert_eq!(std::mem::size_of::<store::Stored>(), 16);
    assert_eq!(std::mem::size_of::<store::Cands>(), 16);
    assert_eq!(std::mem::size_of::<Vpn4Key>(), 13);
}
