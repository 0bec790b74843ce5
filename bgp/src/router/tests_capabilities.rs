//! Negotiated capabilities in use, in memory: ADD-PATH send/receive
//! (RFC 7911), Extended Message (RFC 8654), Graceful Restart receiving
//! speaker (RFC 4724 §4.2), End-of-RIB after the initial dump, and the
//! RT-Constraint hold until the peer's RTC End-of-RIB (RFC 4684 §6).

use super::tests::*;
use super::*;
use crate::config::PeerGroupConfig;
use crate::wire::open::{Capability, Open};
use crate::wire::{MpReach, Nlri, Update};

fn open_group() -> Vec<PeerGroupConfig> {
    vec![PeerGroupConfig {
        name: "open".into(),
        route_targets: vec![],
    }]
}

fn two_paths_net(add_path: bool) -> Net {
    let v = vec![Family::Vpnv4];
    let mut net = Net::new_with(
        &[("open", v.clone()), ("open", v.clone()), ("open", v)],
        open_group(),
        |_, c| {
            if add_path {
                c.add_path = vec![Family::Vpnv4];
            }
        },
    );
    // Edges 1 and 2 announce the same RD:prefix with different next hops.
    let mut r = vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], None);
    net.originate(1, r.clone());
    r.next_hop = "192.0.2.2".parse().unwrap();
    net.originate(2, r);
    net
}

#[test]
fn add_path_sends_every_path_when_negotiated() {
    let mut net = two_paths_net(true);
    let n = net.nodes[3].peer_summary(0, net.now).unwrap();
    assert_eq!(n.negotiated_families, vec![Family::Vpnv4]);
    assert_eq!(
        (n.add_path_rx, n.add_path_tx),
        (vec![Family::Vpnv4], vec![Family::Vpnv4])
    );
    let got = net.nodes[3].adj_rib_in(0);
    assert_eq!(got.len(), 2, "both paths, each with its path id");
    let mut ids: Vec<Option<u32>> = net.nodes[3]
        .loc
        .adj_rib_in(Source::Peer(0))
        .map(|(_, p)| p.path_id)
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2);
    assert!(ids.iter().all(Option::is_some));
    // Edge 1 withdraws: edge 3 keeps only edge 2's path.
    let key = RouteKey::Vpn {
        rd: "65000:1".parse().unwrap(),
        prefix: "10.1.0.0/24".parse().unwrap(),
    };
    let acts = net.nodes[1].withdraw_local(&key);
    net.queue.extend(acts.into_iter().map(|a| (1, a)));
    net.run();
    let left = net.nodes[3].snapshot();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].1.next_hop, "192.0.2.2".parse::<IpAddr>().unwrap());
    assert_eq!(net.nodes[3].adj_rib_in(0).len(), 1);
}

#[test]
fn without_add_path_only_the_best_path_is_sent() {
    let net = two_paths_net(false);
    assert_eq!(net.nodes[3].adj_rib_in(0).len(), 1);
    let neg = net.nodes[3].peers[0].negotiated.clone().unwrap();
    assert!(neg.add_path_tx.is_empty() && neg.add_path_rx.is_empty());
}

fn many_routes() -> Vec<LocalRoute> {
    (0..1500u32)
        .map(|i| {
            let mut r = vpn_route("10.0.0.0/24", "65000:1", &["65000:1"], Some(7));
            r.prefix = format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap();
            r
        })
        .collect()
}

#[test]
fn extended_message_only_when_both_sides_offer_it() {
    for (ours, theirs, big) in [(true, true, true), (true, false, false)] {
        let net = Net::new_with(&[("open", vec![Family::Vpnv4])], open_group(), |n, c| {
            c.extended_message = if n == 0 { ours } else { theirs };
            if n == 0 {
                c.routes = many_routes();
            }
        });
        assert_eq!(net.nodes[1].loc_rib_len(), 1500);
        assert_eq!(net.max_sent > 4096, big, "largest message {}", net.max_sent);
        assert!(net.max_sent <= 65535);
        let s = net.nodes[1].peer_summary(0, net.now).unwrap();
        assert_eq!(s.extended_message, big);
        let eor = &net.nodes[1].peer_summary(0, net.now).unwrap().counters;
        assert!(eor.end_of_rib_received.contains(&Family::Vpnv4));
    }
}

/// A GR test net: no keepalive timers (hold time 0) so the clock can jump.
fn gr_net() -> Net {
    let v = vec![Family::Vpnv4];
    let mut net = Net::new_with(&[("open", v.clone()), ("open", v)], open_group(), |_, c| {
        c.hold_time = 0;
        c.restart_time = Some(120);
    });
    net.originate(1, vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], None));
    assert_eq!(net.keys(2).len(), 1);
    net
}

fn tcp_lost(net: &mut Net, node: usize, peer: PeerId) {
    let acts = net.nodes[node].event(peer, net.now, Event::Closed);
    net.queue.extend(acts.into_iter().map(|a| (node, a)));
    net.run();
}

#[test]
fn graceful_restart_keeps_routes_until_the_restart_time() {
    let mut net = gr_net();
    let neg = net.nodes[0].peers[0].negotiated.clone().unwrap();
    assert_eq!(
        neg.graceful_restart.map(|g| (g.restart_time, g.families)),
        Some((120, vec![(Family::Vpnv4, false)]))
    );
    // The RR loses edge 1's TCP session: the route stays, as stale.
    tcp_lost(&mut net, 0, 0);
    assert_eq!(net.nodes[0].loc_rib_len(), 1);
    assert_eq!(net.keys(2).len(), 1);
    // Nothing reconnects (edge 1 does not know); restart time passes.
    let t = net.now + Duration::from_secs(121);
    assert!(net.nodes[0].next_deadline().is_some_and(|d| d <= t));
    let acts = net.nodes[0].tick(t);
    net.queue.extend(acts.into_iter().map(|a| (0, a)));
    net.run();
    assert_eq!(net.nodes[0].loc_rib_len(), 0);
    assert!(net.keys(2).is_empty());
    let c = net.nodes[0].peer_summary(0, t).unwrap().counters;
    assert_eq!(c.drops.get("graceful_restart_stale"), Some(&1));
}

#[test]
fn graceful_restart_after_notification_is_a_plain_down() {
    let mut net = gr_net();
    let acts = net.nodes[1].stop(net.now);
    net.queue.extend(acts.into_iter().map(|a| (1, a)));
    net.run();
    assert_eq!(net.nodes[0].loc_rib_len(), 0);
    assert!(net.keys(2).is_empty());
}

#[test]
fn graceful_restart_peer_back_without_forwarding_state_refreshes() {
    let mut net = gr_net();
    tcp_lost(&mut net, 0, 0);
    tcp_lost(&mut net, 1, 0);
    assert_eq!(net.keys(2).len(), 1, "kept while edge 1 restarts");
    // Both idle-hold timers (1 s) run out; edge 1 dials again.
    net.now += Duration::from_secs(2);
    for n in [0, 1] {
        let acts = net.nodes[n].tick(net.now);
        net.queue.extend(acts.into_iter().map(|a| (n, a)));
    }
    net.run();
    assert_eq!(net.nodes[0].peer_state(0), Some(State::Established));
    // F = 0: stale routes went at once, edge 1's initial dump put them
    // back; edge 2 ends with the route.
    assert!(net.nodes[0].peers[0].stale.is_none());
    assert_eq!(net.keys(2).len(), 1);
    assert_eq!(net.nodes[0].loc_rib_len(), 1);
}

/// Drive the RR's peer 0 by hand: OPEN with `families`, KEEPALIVE.
fn hand_open(rr: &mut Router, now: Instant, families: &[Family]) -> Vec<IoAction> {
    let mut acts = rr.event(0, now, Event::Connected);
    let mut caps: Vec<Capability> = families
        .iter()
        .map(|f| {
            let (afi, safi) = f.afi_safi();
            Capability::Multiprotocol { afi, safi }
        })
        .collect();
    caps.push(Capability::FourOctetAs { asn: 65000 });
    let open = Message::Open(Open {
        my_as: 65000,
        hold_time: 0,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: caps,
    });
    let ctx = EncodeCtx {
        four_octet_as: true,
    };
    acts.extend(rr.received(0, now, &open.encode(ctx)));
    acts.extend(rr.received(0, now, &Message::Keepalive.encode(ctx)));
    acts
}

fn updates(acts: &[IoAction]) -> Vec<Update> {
    let ctx = DecodeCtx {
        four_octet_as: true,
        ..Default::default()
    };
    acts.iter()
        .filter_map(|a| match a {
            IoAction::Send(_, b) => match decode_message(b, &ctx).ok()?.message {
                Message::Update(u) => Some(u),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn rtc_update(rtc: Vec<RtcNlri>) -> Vec<u8> {
    let mut u = Update::default();
    u.attrs.origin = Some(crate::wire::Origin::Igp);
    u.attrs.as_path = Some(Default::default());
    u.attrs.mp_reach = Some(MpReach {
        family: Family::RtConstraint,
        next_hop: crate::wire::NextHop {
            addr: "10.0.0.1".parse().unwrap(),
            link_local: None,
        },
        nlri: rtc
            .into_iter()
            .map(|rtc| crate::wire::PathNlri {
                path_id: None,
                nlri: Nlri::Rtc { rtc },
            })
            .collect(),
    });
    Message::Update(u).encode(EncodeCtx {
        four_octet_as: true,
    })
}

#[test]
fn rt_constraint_holds_vpn_routes_until_the_peers_rtc_end_of_rib() {
    let fams = [Family::Vpnv4, Family::RtConstraint];
    let mut rr = speaker_with(
        RR_ID,
        vec![peer([10, 0, 0, 1], Some("t1"), fams.to_vec(), true)],
        tenants(),
        |c| {
            c.routes = vec![
                vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], None),
                vpn_route("10.2.0.0/24", "65000:2", &["65000:2"], None),
                vpn_route("10.3.0.0/24", "65000:3", &["65000:1", "65000:3"], None),
            ]
        },
    );
    let now = Instant::now();
    rr.start(now);
    let up = updates(&hand_open(&mut rr, now, &fams));
    assert_eq!(rr.peer_state(0), Some(State::Established));
    // Only our RTC default route and the RTC End-of-RIB so far.
    let eors: Vec<Family> = up.iter().filter_map(Update::is_end_of_rib).collect();
    assert_eq!(eors, vec![Family::RtConstraint]);
    assert!(up
        .iter()
        .all(|u| u.attrs.mp_reach.as_ref().map(|r| r.family) != Some(Family::Vpnv4)));
    // The peer asks for 65000:3 only, then ends its RTC table.
    let mut rt3 = [0u8; 8];
    rt3.copy_from_slice(&ExtCommunity::route_target("65000:3").unwrap().0);
    let mut acts = rr.received(
        0,
        now,
        &rtc_update(vec![RtcNlri::Rt {
            origin_as: 65000,
            rt_bits: 64,
            rt: rt3,
        }]),
    );
    assert!(updates(&acts).is_empty(), "still waiting for the RTC EoR");
    let eor = Message::Update(Update::end_of_rib(Family::RtConstraint)).encode(EncodeCtx {
        four_octet_as: true,
    });
    acts.extend(rr.received(0, now, &eor));
    let up = updates(&acts);
    let sent: Vec<String> = up
        .iter()
        .filter_map(|u| u.attrs.mp_reach.as_ref())
        .flat_map(|r| {
            r.nlri
                .iter()
                .map(|n| RouteKey::from_nlri(&n.nlri).0.to_string())
        })
        .collect();
    // RTC asked for 65000:3, the group allows 65000:1: the intersection
    // is the route carrying both.
    assert_eq!(sent, vec!["65000:3:10.3.0.0/24"]);
    assert_eq!(
        up.last().and_then(Update::is_end_of_rib),
        Some(Family::Vpnv4)
    );
}

fn hand_open_gr(rr: &mut Router, now: Instant, forwarding: bool) -> Vec<IoAction> {
    let mut acts = rr.event(0, now, Event::Connected);
    let caps = vec![
        Capability::Multiprotocol { afi: 1, safi: 128 },
        Capability::FourOctetAs { asn: 65000 },
        Capability::GracefulRestart {
            flags: 0,
            restart_time: 60,
            families: vec![crate::wire::open::GrFamily {
                afi: 1,
                safi: 128,
                flags: if forwarding { 0x80 } else { 0 },
            }],
        },
    ];
    let ctx = EncodeCtx {
        four_octet_as: true,
    };
    let open = Message::Open(Open {
        my_as: 65000,
        hold_time: 0,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: caps,
    });
    acts.extend(rr.received(0, now, &open.encode(ctx)));
    acts.extend(rr.received(0, now, &Message::Keepalive.encode(ctx)));
    acts
}

fn vpn_update(prefix: &str) -> Vec<u8> {
    let mut u = Update::default();
    u.attrs.origin = Some(crate::wire::Origin::Igp);
    u.attrs.as_path = Some(Default::default());
    u.attrs.mp_reach = Some(MpReach {
        family: Family::Vpnv4,
        next_hop: crate::wire::NextHop {
            addr: "192.0.2.1".parse().unwrap(),
            link_local: None,
        },
        nlri: vec![crate::wire::PathNlri {
            path_id: None,
            nlri: Nlri::Vpn {
                label: 0x641,
                rd: "65000:1".parse().unwrap(),
                prefix: prefix.parse().unwrap(),
            },
        }],
    });
    Message::Update(u).encode(EncodeCtx {
        four_octet_as: true,
    })
}

#[test]
fn graceful_restart_with_forwarding_state_waits_for_end_of_rib() {
    let mut rr = speaker_with(
        RR_ID,
        vec![peer([10, 0, 0, 1], None, vec![Family::Vpnv4], true)],
        vec![],
        |c| c.hold_time = 0,
    );
    let now = Instant::now();
    rr.start(now);
    hand_open_gr(&mut rr, now, true);
    assert_eq!(rr.peer_state(0), Some(State::Established));
    rr.received(0, now, &vpn_update("10.1.0.0/24"));
    rr.received(0, now, &vpn_update("10.2.0.0/24"));
    assert_eq!(rr.loc_rib_len(), 2);
    // TCP lost, the peer restarts and comes back with F = 1 in time.
    rr.event(0, now, Event::Closed);
    assert_eq!(rr.loc_rib_len(), 2);
    assert_eq!(rr.peer_summary(0, now).unwrap().stale_routes, 2);
    let t = now + Duration::from_secs(30);
    rr.tick(t);
    hand_open_gr(&mut rr, t, true);
    assert_eq!(rr.peer_state(0), Some(State::Established));
    assert_eq!(rr.loc_rib_len(), 2, "stale routes kept while it resends");
    // It re-announces one route, then End-of-RIB: the other one goes.
    rr.received(0, t, &vpn_update("10.1.0.0/24"));
    let eor = Message::Update(Update::end_of_rib(Family::Vpnv4)).encode(EncodeCtx {
        four_octet_as: true,
    });
    rr.received(0, t, &eor);
    let keys: Vec<String> = rr.snapshot().iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(keys, vec!["65000:1:10.1.0.0/24"]);
    assert!(rr.peers[0].stale.is_none());
    assert_eq!(rr.peer_summary(0, t).unwrap().counters.accepted, 1);
}
