//! In-memory topology tests: a route reflector and several edges (all real
//! `Router`s) exchange real encoded messages without sockets.

use super::*;
use crate::config::{PeerGroupConfig, RouteTarget};
use crate::rib::RouteKey;
use crate::wire::{Family, Prefix, Rd, Update};
use std::collections::VecDeque;

pub(super) const RR_ID: [u8; 4] = [10, 0, 0, 100];

pub(super) fn peer(
    addr: [u8; 4],
    group: Option<&str>,
    families: Vec<Family>,
    passive: bool,
) -> PeerConfig {
    PeerConfig {
        address: IpAddr::V4(Ipv4Addr::from(addr)),
        port: 179,
        remote_as: 65000,
        md5_key: None,
        peer_group: group.map(String::from),
        families,
        passive,
        rr_client: true,
        local_address: None,
    }
}

pub(super) fn rt(s: &str) -> RouteTarget {
    RouteTarget(ExtCommunity::route_target(s).unwrap())
}

pub(super) fn speaker_with(
    id: [u8; 4],
    peers: Vec<PeerConfig>,
    groups: Vec<PeerGroupConfig>,
    tweak: impl FnOnce(&mut SpeakerConfig),
) -> Router {
    let mut cfg = SpeakerConfig {
        router_id: Ipv4Addr::from(id),
        asn: 65000,
        listen_address: None,
        listen_port: 179,
        cluster_id: None,
        hold_time: 90,
        connect_retry_secs: 1,
        peers,
        peer_groups: groups,
        routes: Vec::new(),
        add_path: vec![],
        restart_time: Some(120),
        stale_routes_secs: 360,
        extended_message: true,
    };
    tweak(&mut cfg);
    Router::new(cfg).unwrap()
}

pub(super) fn vpn_route(prefix: &str, rd: &str, rts: &[&str], color: Option<u32>) -> LocalRoute {
    LocalRoute {
        prefix: prefix.parse().unwrap(),
        rd: Some(rd.parse().unwrap()),
        label: Some(100),
        next_hop: "192.0.2.1".parse().unwrap(),
        route_targets: rts.iter().map(|s| rt(s)).collect(),
        color,
        local_pref: None,
        med: None,
        tunnel_encap: None,
        unless_peer_has: None,
    }
}

/// RR (node 0) with edges 1..=n; edge i is RR peer i-1, and has one peer 0.
pub(super) struct Net {
    pub(super) nodes: Vec<Router>,
    pub(super) queue: VecDeque<(usize, IoAction)>,
    pub(super) now: Instant,
    /// Largest message any node sent.
    pub(super) max_sent: usize,
    /// The edge node behind each RR peer id (peers added at run time
    /// push theirs; the newest id of an edge is its current one).
    pub(super) rr_far: Vec<usize>,
}

impl Net {
    pub(super) fn new(edge_groups: &[(&str, Vec<Family>)], groups: Vec<PeerGroupConfig>) -> Net {
        Net::new_with(edge_groups, groups, |_, _| {})
    }

    /// As `new`, with `tweak(node, config)` applied to each node's config.
    pub(super) fn new_with(
        edge_groups: &[(&str, Vec<Family>)],
        groups: Vec<PeerGroupConfig>,
        tweak: impl Fn(usize, &mut SpeakerConfig),
    ) -> Net {
        let rr_peers = edge_groups
            .iter()
            .enumerate()
            .map(|(i, (g, f))| peer([10, 0, 0, i as u8 + 1], Some(g), f.clone(), true))
            .collect();
        let mut nodes = vec![speaker_with(RR_ID, rr_peers, groups, |c| tweak(0, c))];
        for (i, (_, f)) in edge_groups.iter().enumerate() {
            nodes.push(speaker_with(
                [10, 0, 0, i as u8 + 1],
                vec![peer(RR_ID, None, f.clone(), false)],
                vec![],
                |c| tweak(i + 1, c),
            ));
        }
        let mut net = Net {
            nodes,
            queue: VecDeque::new(),
            now: Instant::now(),
            max_sent: 0,
            rr_far: (1..=edge_groups.len()).collect(),
        };
        for n in 0..net.nodes.len() {
            let acts = net.nodes[n].start(net.now);
            net.queue.extend(acts.into_iter().map(|a| (n, a)));
        }
        net.run();
        net
    }

    /// (node, peer) on the other end of (node, peer).
    pub(super) fn far(&self, node: usize, peer: PeerId) -> (usize, PeerId) {
        if node == 0 {
            (self.rr_far[peer], 0)
        } else {
            let id = self.rr_far.iter().rposition(|e| *e == node);
            (0, id.unwrap_or(usize::MAX))
        }
    }

    pub(super) fn run(&mut self) {
        while let Some((n, a)) = self.queue.pop_front() {
            let (fnode, fpeer, acts_here, acts_far) = match a {
                IoAction::Connect(p) => {
                    let (fnode, fpeer) = self.far(n, p);
                    let a1 = self.nodes[n].event(p, self.now, Event::Connected);
                    let a2 = self.nodes[fnode].event(fpeer, self.now, Event::Connected);
                    (fnode, fpeer, a1, a2)
                }
                IoAction::Send(p, bytes) => {
                    self.max_sent = self.max_sent.max(bytes.len());
                    let (fnode, fpeer) = self.far(n, p);
                    (
                        fnode,
                        fpeer,
                        vec![],
                        self.nodes[fnode].received(fpeer, self.now, &bytes),
                    )
                }
                IoAction::Close(p) => {
                    let (fnode, fpeer) = self.far(n, p);
                    (
                        fnode,
                        fpeer,
                        vec![],
                        self.nodes[fnode].event(fpeer, self.now, Event::Closed),
                    )
                }
            };
            let _ = fpeer;
            self.queue.extend(acts_here.into_iter().map(|a| (n, a)));
            self.queue.extend(acts_far.into_iter().map(|a| (fnode, a)));
        }
    }

    pub(super) fn originate(&mut self, node: usize, r: LocalRoute) {
        let acts = self.nodes[node].originate(&r).unwrap();
        self.queue.extend(acts.into_iter().map(|a| (node, a)));
        self.run();
    }

    pub(super) fn keys(&self, node: usize) -> Vec<String> {
        self.nodes[node]
            .snapshot()
            .iter()
            .map(|(k, _)| k.to_string())
            .collect()
    }
}

pub(super) fn tenants() -> Vec<PeerGroupConfig> {
    vec![
        PeerGroupConfig {
            name: "t1".into(),
            route_targets: vec![rt("65000:1")],
        },
        PeerGroupConfig {
            name: "t2".into(),
            route_targets: vec![rt("65000:2")],
        },
    ]
}

pub(super) fn vpn() -> Vec<Family> {
    vec![Family::Vpnv4, Family::Vpnv6]
}

#[test]
fn sessions_establish_in_memory() {
    let net = Net::new(&[("t1", vpn()), ("t2", vpn())], tenants());
    for id in 0..2 {
        assert_eq!(net.nodes[0].peer_state(id), Some(State::Established));
    }
}

#[test]
fn reflects_only_to_authorized_tenants() {
    let mut net = Net::new(&[("t1", vpn()), ("t1", vpn()), ("t2", vpn())], tenants());
    net.originate(
        1,
        vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], Some(7)),
    );
    net.originate(3, vpn_route("10.2.0.0/24", "65000:2", &["65000:2"], None));
    net.originate(1, vpn_route("10.9.0.0/24", "65000:9", &[], None));
    // The RR holds all three.
    assert_eq!(net.nodes[0].loc_rib_len(), 3);
    // Edge 2 (tenant 1) gets edge 1's tenant-1 route only.
    assert_eq!(net.keys(2), vec!["65000:1:10.1.0.0/24"]);
    // Edge 3 (tenant 2) gets nothing of tenant 1; edge 1 nothing of tenant 2.
    assert_eq!(net.keys(3), vec!["65000:2:10.2.0.0/24"]);
    assert_eq!(
        net.keys(1),
        vec!["65000:1:10.1.0.0/24", "65000:9:10.9.0.0/24"]
    );
    // Reflection attributes, label, RT and Color arrived intact.
    let (_, p) = &net.nodes[2].snapshot()[0];
    assert_eq!(p.attrs.originator_id, Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(p.attrs.cluster_list, vec![Ipv4Addr::from(RR_ID)]);
    assert_eq!(p.label.map(|l| l >> 4), Some(100));
    assert_eq!(p.attrs.colors().collect::<Vec<_>>(), vec![7]);
    assert_eq!(p.next_hop, "192.0.2.1".parse::<IpAddr>().unwrap());
    assert_eq!(
        net.nodes[0]
            .peer_summary(1, net.now)
            .unwrap()
            .counters
            .prefixes_advertised,
        1
    );
    // Edges 1 and 3 only hold their own routes: nothing advertised to them.
    assert_eq!(
        net.nodes[0]
            .peer_summary(0, net.now)
            .unwrap()
            .counters
            .prefixes_advertised,
        0
    );
    assert_eq!(
        net.nodes[0]
            .peer_summary(2, net.now)
            .unwrap()
            .counters
            .prefixes_advertised,
        0
    );
}

#[test]
fn never_sends_a_family_the_peer_did_not_negotiate() {
    let mut net = Net::new(&[("t1", vpn()), ("t1", vec![Family::Vpnv4])], tenants());
    net.originate(1, vpn_route("2001:db8::/32", "65000:1", &["65000:1"], None));
    net.originate(1, vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], None));
    assert_eq!(net.keys(2), vec!["65000:1:10.1.0.0/24"]);
    let c = net.nodes[2].peer_summary(0, net.now).unwrap().counters;
    assert!(c.drops.is_empty() && c.errors.is_empty(), "{c:?}");
}

#[test]
fn withdrawals_and_session_loss_propagate_as_events() {
    let mut net = Net::new(&[("t1", vpn()), ("t1", vpn())], tenants());
    net.nodes[2].take_changes();
    let r = vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], None);
    net.originate(1, r.clone());
    let ch = net.nodes[2].take_changes();
    assert_eq!(ch.len(), 1);
    assert!(ch[0].best.is_some());
    let key = RouteKey::Vpn {
        rd: "65000:1".parse().unwrap(),
        prefix: r.prefix,
    };
    let acts = net.nodes[1].withdraw_local(&key);
    net.queue.extend(acts.into_iter().map(|a| (1, a)));
    net.run();
    let ch = net.nodes[2].take_changes();
    assert_eq!((ch.len(), ch[0].best.is_none()), (1, true));
    assert!(net.keys(2).is_empty());
    // Re-announce, then edge 1 goes away: the route is withdrawn at edge 2.
    net.originate(1, r);
    assert_eq!(net.keys(2).len(), 1);
    let acts = net.nodes[1].stop(net.now);
    net.queue.extend(acts.into_iter().map(|a| (1, a)));
    net.run();
    assert!(net.keys(2).is_empty());
    assert_eq!(
        net.nodes[0]
            .peer_summary(0, net.now)
            .unwrap()
            .counters
            .last_notification_received,
        Some((6, 2))
    );
}

#[test]
fn rt_constraint_limits_what_a_peer_receives() {
    let rtc = vec![Family::Vpnv4, Family::RtConstraint];
    let mut net = Net::new(
        &[("open", rtc.clone()), ("open", rtc)],
        vec![PeerGroupConfig {
            name: "open".into(),
            route_targets: vec![],
        }],
    );
    // Both edges (our Routers) send the default RTC route: all routes flow.
    net.originate(1, vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], None));
    assert_eq!(net.keys(2).len(), 1);
    // Edge 2 withdraws its default RTC and asks only for 65000:2.
    let mut u = Update::default();
    u.attrs.mp_unreach = Some(crate::wire::MpUnreach {
        family: Family::RtConstraint,
        withdrawn: vec![crate::wire::PathNlri {
            path_id: None,
            nlri: crate::wire::Nlri::Rtc {
                rtc: RtcNlri::Default,
            },
        }],
    });
    let bytes = Message::Update(u).encode(EncodeCtx {
        four_octet_as: true,
    });
    let acts = net.nodes[0].received(1, net.now, &bytes);
    net.queue.extend(acts.into_iter().map(|a| (0, a)));
    net.run();
    assert!(net.keys(2).is_empty(), "withdrawn once no RTC admits it");
    let mut rtb = [0u8; 8];
    rtb.copy_from_slice(&ExtCommunity::route_target("65000:2").unwrap().0);
    let mut u = Update::default();
    u.attrs.origin = Some(crate::wire::Origin::Igp);
    u.attrs.as_path = Some(Default::default());
    u.attrs.mp_reach = Some(crate::wire::MpReach {
        family: Family::RtConstraint,
        next_hop: crate::wire::NextHop {
            addr: "10.0.0.2".parse().unwrap(),
            link_local: None,
        },
        nlri: vec![crate::wire::PathNlri {
            path_id: None,
            nlri: crate::wire::Nlri::Rtc {
                rtc: RtcNlri::Rt {
                    origin_as: 65000,
                    rt_bits: 64,
                    rt: rtb,
                },
            },
        }],
    });
    let bytes = Message::Update(u.clone()).encode(EncodeCtx {
        four_octet_as: true,
    });
    let acts = net.nodes[0].received(1, net.now, &bytes);
    net.queue.extend(acts.into_iter().map(|a| (0, a)));
    net.run();
    assert!(net.keys(2).is_empty());
    net.originate(1, vpn_route("10.2.0.0/24", "65000:2", &["65000:2"], None));
    assert_eq!(net.keys(2), vec!["65000:2:10.2.0.0/24"]);
}

#[test]
fn malformed_optional_attribute_keeps_the_session() {
    let mut net = Net::new(&[("t1", vpn()), ("t1", vpn())], tenants());
    net.originate(1, vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], None));
    assert_eq!(net.nodes[0].loc_rib_len(), 1);
    // Edge 1 re-sends the route with a 3-byte COMMUNITIES: treat-as-withdraw.
    let mut u = Update::default();
    u.attrs.origin = Some(crate::wire::Origin::Igp);
    u.attrs.as_path = Some(Default::default());
    u.attrs.unknown.push(crate::wire::attr::RawAttr {
        flags: 0xc0,
        code: 8,
        value: vec![1, 2, 3],
    });
    u.attrs.mp_reach = Some(crate::wire::MpReach {
        family: Family::Vpnv4,
        next_hop: crate::wire::NextHop {
            addr: "192.0.2.1".parse().unwrap(),
            link_local: None,
        },
        nlri: vec![crate::wire::PathNlri {
            path_id: None,
            nlri: crate::wire::Nlri::Vpn {
                label: 0x641,
                rd: "65000:1".parse::<Rd>().unwrap(),
                prefix: "10.1.0.0/24".parse::<Prefix>().unwrap(),
            },
        }],
    });
    let bytes = Message::Update(u).encode(EncodeCtx {
        four_octet_as: true,
    });
    let acts = net.nodes[0].received(0, net.now, &bytes);
    net.queue.extend(acts.into_iter().map(|a| (0, a)));
    net.run();
    assert_eq!(net.nodes[0].peer_state(0), Some(State::Established));
    assert_eq!(net.nodes[0].loc_rib_len(), 0);
    assert!(net.keys(2).is_empty());
    let c = net.nodes[0].peer_summary(0, net.now).unwrap().counters;
    assert_eq!(c.errors.get("malformed_communities"), Some(&1));
    assert_eq!(c.error_actions.get("treat_as_withdraw"), Some(&1));
    assert_eq!(c.drops.get("treat_as_withdraw"), Some(&1));
}

#[test]
fn loop_checks_drop_own_originator_and_cluster() {
    let mut net = Net::new(&[("t1", vpn())], tenants());
    let mk = |f: &dyn Fn(&mut Update)| {
        let mut u = Update::default();
        u.attrs.origin = Some(crate::wire::Origin::Igp);
        u.attrs.as_path = Some(Default::default());
        u.attrs.ext_communities = vec![ExtCommunity::route_target("65000:1").unwrap()];
        u.attrs.mp_reach = Some(crate::wire::MpReach {
            family: Family::Vpnv4,
            next_hop: crate::wire::NextHop {
                addr: "192.0.2.1".parse().unwrap(),
                link_local: None,
            },
            nlri: vec![crate::wire::PathNlri {
                path_id: None,
                nlri: crate::wire::Nlri::Vpn {
                    label: 0x641,
                    rd: Rd::new_as2(1, 1),
                    prefix: "10.1.0.0/24".parse().unwrap(),
                },
            }],
        });
        f(&mut u);
        Message::Update(u).encode(EncodeCtx {
            four_octet_as: true,
        })
    };
    net.nodes[0].received(
        0,
        net.now,
        &mk(&|u| u.attrs.cluster_list = vec![Ipv4Addr::from(RR_ID)]),
    );
    net.nodes[0].received(
        0,
        net.now,
        &mk(&|u| u.attrs.originator_id = Some(Ipv4Addr::from(RR_ID))),
    );
    assert_eq!(net.nodes[0].loc_rib_len(), 0);
    net.nodes[0].received(0, net.now, &mk(&|_| {}));
    assert_eq!(net.nodes[0].loc_rib_len(), 1);
    let c = net.nodes[0].peer_summary(0, net.now).unwrap().counters;
    assert_eq!(
        (
            c.drops.get("cluster_list_loop"),
            c.drops.get("originator_id_loop")
        ),
        (Some(&1), Some(&1))
    );
}

pub(super) fn sdwan_tunnel(color: u32) -> crate::wire::TunnelEncap {
    use crate::wire::tunnel::TUNNEL_SDWAN_HYBRID;
    use crate::wire::{SubTlv, Tunnel, TunnelEncap};
    TunnelEncap {
        tunnels: vec![Tunnel {
            tunnel_type: TUNNEL_SDWAN_HYBRID,
            sub_tlvs: vec![
                SubTlv::EgressEndpoint {
                    address: Some("198.51.100.1".parse().unwrap()),
                },
                SubTlv::Color { flags: 0, color },
                SubTlv::UdpDestPort { port: 4500 },
                SubTlv::IpsecSaId { ids: vec![7] },
            ],
        }],
    }
}

fn sdwan_local(port: u32) -> crate::config::SdwanLocalRoute {
    crate::config::SdwanLocalRoute {
        nlri: crate::wire::SdwanNlri {
            route_type: 1,
            port_local_id: port,
            color: 9,
            node_id: "10.0.0.1".parse().unwrap(),
        },
        next_hop: "198.51.100.1".parse().unwrap(),
        route_targets: vec![rt("65000:1")],
        tunnel_encap: sdwan_tunnel(9),
    }
}

#[test]
fn sdwan_routes_reach_only_peers_that_negotiated_safi_74() {
    let sd = vec![Family::Vpnv4, Family::SdwanV4];
    let mut net = Net::new(
        &[("t1", sd.clone()), ("t1", sd), ("t1", vec![Family::Vpnv4])],
        tenants(),
    );
    let r = sdwan_local(1);
    let acts = net.nodes[1].originate_sdwan(&r).unwrap();
    net.queue.extend(acts.into_iter().map(|a| (1, a)));
    net.run();
    let key = RouteKey::Sdwan { sdwan: r.nlri };
    assert_eq!(net.keys(2), vec![key.to_string()]);
    let (_, p) = &net.nodes[2].snapshot()[0];
    assert_eq!(p.attrs.tunnel_encap.as_ref(), Some(&r.tunnel_encap));
    assert_eq!(p.next_hop, r.next_hop);
    assert!(net.keys(3).is_empty());
    let c = net.nodes[3].peer_summary(0, net.now).unwrap().counters;
    assert!(c.drops.is_empty() && c.errors.is_empty(), "{c:?}");
    // Summaries list what each Established session negotiated.
    let s = net.nodes[0].summaries(net.now);
    assert_eq!(
        s[0].negotiated_families,
        vec![Family::Vpnv4, Family::SdwanV4]
    );
    assert_eq!(s[2].negotiated_families, vec![Family::Vpnv4]);
    // Withdraw by key.
    let acts = net.nodes[1].withdraw_local(&key);
    net.queue.extend(acts.into_iter().map(|a| (1, a)));
    net.run();
    assert!(net.keys(2).is_empty());
    assert!(net.nodes[1]
        .originate_sdwan(&crate::config::SdwanLocalRoute {
            tunnel_encap: Default::default(),
            ..sdwan_local(2)
        })
        .is_err());
}

fn loopback_route(unless: Option<Family>) -> LocalRoute {
    LocalRoute {
        prefix: "10.255.0.1/32".parse().unwrap(),
        rd: None,
        label: None,
        next_hop: "198.51.100.1".parse().unwrap(),
        route_targets: vec![rt("65000:1")],
        color: Some(9),
        local_pref: None,
        med: None,
        tunnel_encap: Some(sdwan_tunnel(9)),
        unless_peer_has: unless,
    }
}

#[test]
fn unless_peer_has_keeps_the_fallback_route_from_safi_74_peers() {
    // RR speaks SAFI 74 with edge 1: the fallback loopback route stays home.
    let with74 = vec![Family::Ipv4Unicast, Family::SdwanV4];
    let mut net = Net::new(&[("t1", with74.clone()), ("t1", with74)], tenants());
    net.originate(1, loopback_route(Some(Family::SdwanV4)));
    assert_eq!(net.nodes[0].loc_rib_len(), 0);
    assert_eq!(net.keys(1), vec!["10.255.0.1/32"]);
    // RR without SAFI 74: the route goes out with attribute 23 and Color,
    // and is reflected to the restricted tenant-1 peer intact.
    let v4 = vec![Family::Ipv4Unicast];
    let mut net = Net::new(
        &[("t1", v4.clone()), ("t1", v4.clone()), ("t2", v4)],
        tenants(),
    );
    let r = loopback_route(Some(Family::SdwanV4));
    net.originate(1, r.clone());
    assert_eq!(net.keys(2), vec!["10.255.0.1/32"]);
    let (_, p) = &net.nodes[2].snapshot()[0];
    assert_eq!(p.attrs.tunnel_encap, r.tunnel_encap);
    assert_eq!(p.attrs.colors().collect::<Vec<_>>(), vec![9]);
    assert_eq!(p.attrs.cluster_list, vec![Ipv4Addr::from(RR_ID)]);
    assert!(net.keys(3).is_empty(), "tenant 2 gets nothing of tenant 1");
}

#[test]
fn restricted_group_receives_vpn_route_with_tunnel_and_color_intact() {
    let mut net = Net::new(&[("t1", vpn()), ("t1", vpn()), ("t2", vpn())], tenants());
    let mut r = vpn_route("10.1.0.0/24", "65000:1", &["65000:1"], Some(9));
    r.tunnel_encap = Some(sdwan_tunnel(9));
    net.originate(1, r.clone());
    let (_, p) = &net.nodes[2].snapshot()[0];
    assert_eq!(p.attrs.tunnel_encap, r.tunnel_encap);
    assert_eq!(p.attrs.colors().collect::<Vec<_>>(), vec![9]);
    assert!(net.keys(3).is_empty());
}
