//! The resolver driven without sockets: two edges' configs (the shipped
//! examples, or variants), each edge's originated routes handed to the
//! other as Loc-RIB changes, a fake clock.
use super::keys::Keys;
use super::origin::{client_prefixes, client_routes, summary_prefixes, vpn_routes, wan_routes};
use super::resolver::{Resolver, Update};
use crate::config::{self, Resolved};
use sdwan_bgp::config::{LocalRoute, SdwanLocalRoute};
use sdwan_bgp::rib::{Path, RibChange, RouteKey, Source};
use sdwan_bgp::wire::{ExtCommunity, Family, PathAttributes};
use sdwan_dataplane::fib::{NextHop, RouteChange};
use sdwan_dataplane::overlay::{InnerEncap, OverlayTable};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path as FsPath;
use std::sync::Arc;

const EDGE1: &str = include_str!("../../../examples/overlay-edge1.toml");
const EDGE2: &str = include_str!("../../../examples/overlay-edge2.toml");

/// A second WAN port (id 2, color 200) for an example edge `n`.
fn second_wan(n: u8) -> String {
    format!(
        "\n[[wan]]\nport = \"wan1\"\nid = 2\ncolor = 200\n\n[[port]]\nname = \"wan1\"\ndevice = \"net_tap{}9,iface=x{n}\"\naddresses = [\"203.0.113.{n}/24\"]\n",
        n
    )
}

pub(super) struct Edge {
    cfg: Resolved,
    pub(super) r: Resolver,
}

impl Edge {
    pub(super) fn new(text: &str) -> Edge {
        let cfg = config::parse(FsPath::new("edge.toml"), text).unwrap_or_else(|e| panic!("{e}"));
        let o = cfg.overlay.clone().expect("overlay");
        let keys = Keys::new(&o).unwrap();
        let mut r = Resolver::new(o, client_prefixes(&cfg), keys);
        let first = r.initial(0);
        assert!(first.overlay.is_some());
        Edge { cfg, r }
    }

    fn node(&self) -> IpAddr {
        IpAddr::V4(self.r.config().node_id)
    }

    /// What a route reflector would hand a peer: our client routes (and a
    /// hub's summaries) and either the SAFI 74 routes or the fallback node
    /// route.
    pub(super) fn advertised(&self, sdwan: bool) -> Vec<RibChange> {
        let o = self.r.config();
        let mut out: Vec<RibChange> = client_routes(&self.cfg, o)
            .into_iter()
            .chain(vpn_routes(o, summary_prefixes(o)))
            .map(|l| vpn_change(&l, self.node()))
            .collect();
        let (s, fallback) = wan_routes(o, self.r.keys(), &Default::default());
        if sdwan {
            out.extend(s.iter().map(|s| sdwan_change(s, self.node())));
        } else {
            out.push(unicast_change(&fallback.unwrap(), self.node()));
        }
        out
    }
}

fn path(next_hop: IpAddr, label: Option<u32>, attrs: PathAttributes) -> Path {
    Path {
        source: Source::Peer(0),
        peer_addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        peer_router_id: Ipv4Addr::new(127, 0, 0, 1),
        ebgp: false,
        path_id: None,
        // As the RIB stores it: label << 4 | bottom of stack.
        label: label.map(|l| (l << 4) | 1),
        next_hop,
        attrs: Arc::new(attrs),
    }
}

fn vpn_change(l: &LocalRoute, node: IpAddr) -> RibChange {
    let mut ext: Vec<ExtCommunity> = l.route_targets.iter().map(|r| r.0).collect();
    ext.extend(l.color.map(ExtCommunity::color));
    let attrs = PathAttributes {
        local_pref: Some(100),
        ext_communities: ext,
        ..Default::default()
    };
    let key = RouteKey::Vpn {
        rd: l.rd.unwrap(),
        prefix: l.prefix,
    };
    RibChange {
        family: key.family(),
        key,
        best: Some(path(node, l.label, attrs)),
    }
}

fn sdwan_change(s: &SdwanLocalRoute, node: IpAddr) -> RibChange {
    let attrs = PathAttributes {
        ext_communities: s.route_targets.iter().map(|r| r.0).collect(),
        tunnel_encap: Some(s.tunnel_encap.clone()),
        ..Default::default()
    };
    RibChange {
        family: Family::SdwanV4,
        key: RouteKey::Sdwan { sdwan: s.nlri },
        best: Some(path(node, None, attrs)),
    }
}

fn unicast_change(l: &LocalRoute, node: IpAddr) -> RibChange {
    let attrs = PathAttributes {
        ext_communities: l.route_targets.iter().map(|r| r.0).collect(),
        tunnel_encap: l.tunnel_encap.clone(),
        ..Default::default()
    };
    RibChange {
        family: Family::Ipv4Unicast,
        key: RouteKey::Unicast { prefix: l.prefix },
        best: Some(path(node, None, attrs)),
    }
}

fn withdraw(c: &RibChange) -> RibChange {
    RibChange {
        best: None,
        ..c.clone()
    }
}

pub(super) fn adds(u: &Update) -> Vec<(u16, String, u32)> {
    u.fib
        .iter()
        .filter_map(|c| match c {
            RouteChange::Add {
                vrf,
                prefix,
                len,
                next_hop: NextHop::Overlay { path },
            } => Some((*vrf, format!("{prefix}/{len}"), *path)),
            _ => None,
        })
        .collect()
}

fn removes(u: &Update) -> Vec<(u16, String)> {
    u.fib
        .iter()
        .filter_map(|c| match c {
            RouteChange::Remove { vrf, prefix, len } => Some((*vrf, format!("{prefix}/{len}"))),
            _ => None,
        })
        .collect()
}

/// Both edges learn each other and the first-contact confirm timeout
/// passes; returns the last updates of (a, b).
pub(super) fn connect(a: &mut Edge, b: &mut Edge, sdwan: bool) -> (Update, Update) {
    let from_b = b.advertised(sdwan);
    let from_a = a.advertised(sdwan);
    let ua = a.r.on_rib_changes(from_b, 0);
    let ub = b.r.on_rib_changes(from_a, 0);
    // First contact: keys agreed, no outbound SA before confirmation.
    assert!(adds(&ua).is_empty() && adds(&ub).is_empty());
    assert!(ua.overlay.as_ref().is_some_and(|t| !t.inbound.is_empty()));
    (a.r.tick(10), b.r.tick(10))
}

pub(super) fn table(u: &Update) -> &OverlayTable {
    u.overlay.as_ref().expect("an overlay snapshot")
}

#[test]
fn vpn_routes_resolve_to_tunnels_with_matching_keys() {
    let mut a = Edge::new(EDGE1);
    let mut b = Edge::new(EDGE2);
    let (ua, ub) = connect(&mut a, &mut b, true);
    // Both VRFs get the remote site's subnet (overlapping across VRFs).
    let mut got = adds(&ua);
    got.sort();
    let v4: Vec<_> = got.iter().filter(|g| g.1 == "10.2.1.0/24").collect();
    assert_eq!(v4.len(), 2, "{got:?}");
    assert_eq!((v4[0].0, v4[1].0), (1, 2));
    assert!(got.iter().any(|g| g.1 == "fd00:2:1::/64" && g.0 == 1));
    let t = table(&ua);
    assert_eq!(t.tunnels.len(), 1);
    assert_eq!(t.tunnels[0].remote.to_string(), "198.51.100.2");
    assert_eq!(t.tunnels[0].sa.outer().src.to_string(), "198.51.100.1");
    assert_eq!(t.tunnels[0].sa.outer().natt.unwrap().dst, 4500);
    // Inner encapsulation: the remote VRF's label, our VRF's encap kind.
    let blue = &t.paths[v4[0].2 as usize];
    let red = &t.paths[v4[1].2 as usize];
    assert_eq!(blue.inner, InnerEncap::Mpls { label: 1001 });
    assert_eq!(red.inner, InnerEncap::Mpls { label: 1002 });
    assert_eq!(
        (blue.tunnels.clone(), red.tunnels.clone()),
        (vec![0], vec![0])
    );
    // Our VRFs' labels decapsulate into them.
    assert!(t
        .decap
        .iter()
        .any(|d| d.vrf == 1 && d.key == InnerEncap::Mpls { label: 1001 }));
    // A's outbound SA is B's inbound SA (same SPI, same key).
    let tb = table(&ub);
    let spi = t.tunnels[0].sa.spi();
    let inb = tb
        .inbound
        .iter()
        .find(|s| s.spi == spi)
        .expect("B has A's SPI inbound");
    assert_eq!(inb.local_port, 0);
    assert_eq!(inb.peer.unwrap().to_string(), "198.51.100.1");
    let a_out = &a.r.keys().outbound().values().next().unwrap().sa;
    assert_eq!(a_out.keys.key(), inb.keys.key());
    assert_eq!(tb.tunnels[0].sa.spi(), t.inbound[0].spi);
}

#[test]
fn fallback_node_route_resolves_like_safi74() {
    let mut a = Edge::new(EDGE1);
    let mut b = Edge::new(EDGE2);
    let (ua, _) = connect(&mut a, &mut b, false);
    assert_eq!(adds(&ua).len(), 4, "{:?}", ua.fib);
    assert_eq!(table(&ua).tunnels.len(), 1);
}

#[test]
fn import_follows_route_targets_and_own_routes_are_ignored() {
    // B exports blue with a RT nobody imports: only red reaches A.
    let b_text = EDGE2.replacen("export = [\"65000:1\"]", "export = [\"65000:9\"]", 1);
    let mut a = Edge::new(EDGE1);
    let mut b = Edge::new(&b_text);
    let (ua, _) = connect(&mut a, &mut b, true);
    let got = adds(&ua);
    assert!(got.iter().all(|g| g.0 == 2), "{got:?}");
    assert_eq!(got.len(), 2);
    // Our own routes reflected back change nothing.
    let own = a.advertised(true);
    let u = a.r.on_rib_changes(own, 11);
    assert!(u.fib.is_empty(), "{:?}", u.fib);
    // A withdrawal of the red route removes it.
    let red = b
        .advertised(true)
        .into_iter()
        .find(|c| {
            matches!(c.key, RouteKey::Vpn { prefix, .. } if prefix.to_string() == "10.2.1.0/24")
                && c.best
                    .as_ref()
                    .unwrap()
                    .attrs
                    .ext_communities
                    .iter()
                    .any(|e| e.to_string() == "rt:65000:2")
        })
        .unwrap();
    let u = a.r.on_rib_changes([withdraw(&red)], 12);
    assert_eq!(removes(&u), vec![(2, "10.2.1.0/24".to_string())]);
}

#[test]
fn local_prefixes_are_never_replaced_by_remote_ones() {
    // B advertises the same subnet A has in blue.
    let b_text = EDGE2.replace("10.2.1.1/24", "10.1.1.1/24");
    let mut a = Edge::new(EDGE1);
    let mut b = Edge::new(&b_text);
    let (ua, _) = connect(&mut a, &mut b, true);
    assert!(adds(&ua).iter().all(|g| g.1 != "10.1.1.0/24"));
    assert!(a.r.errors.shadowed_by_local > 0);
}

#[test]
fn color_community_selects_tunnels() {
    // A: WAN colors 100 and 200; B: 100 and 200; B's blue routes carry
    // Color 200, red has no Color (every tunnel).
    let a_text = format!("{EDGE1}{}", second_wan(1));
    let b_text = format!("{EDGE2}{}", second_wan(2))
        .replacen(
            "color = 100\nencap = \"mpls\"",
            "color = 200\nencap = \"mpls\"",
            1,
        )
        .replacen("label = 1002\ncolor = 100\n", "label = 1002\n", 1);
    let mut a = Edge::new(&a_text);
    let mut b = Edge::new(&b_text);
    let (ua, _) = connect(&mut a, &mut b, true);
    let t = table(&ua);
    // Two same-color pairs: (100, 100) and (200, 200); never 100 -> 200.
    assert_eq!(t.tunnels.len(), 2);
    let got = adds(&ua);
    let blue = got
        .iter()
        .find(|g| g.0 == 1 && g.1 == "10.2.1.0/24")
        .unwrap();
    let red = got
        .iter()
        .find(|g| g.0 == 2 && g.1 == "10.2.1.0/24")
        .unwrap();
    let blue_t = &t.paths[blue.2 as usize].tunnels;
    assert_eq!(blue_t.len(), 1);
    assert_eq!(
        t.tunnels[blue_t[0] as usize].remote.to_string(),
        "203.0.113.2"
    );
    assert_eq!(t.paths[red.2 as usize].tunnels.len(), 2);
}

#[test]
fn route_with_a_color_no_local_port_has_is_not_installed() {
    // B: WAN colors 100 and 200, blue routes Color 200; A only has 100.
    let b_text = format!("{EDGE2}{}", second_wan(2)).replacen(
        "color = 100\nencap = \"mpls\"",
        "color = 200\nencap = \"mpls\"",
        1,
    );
    let mut a = Edge::new(EDGE1);
    let mut b = Edge::new(&b_text);
    let (ua, _) = connect(&mut a, &mut b, true);
    let got = adds(&ua);
    assert!(got.iter().all(|g| g.0 == 2), "{got:?}");
    assert_eq!(table(&ua).tunnels.len(), 1);
}

#[test]
fn withdrawn_remote_port_shrinks_the_path_then_removes_routes() {
    let a_text = format!("{EDGE1}{}", second_wan(1));
    let b_text = format!("{EDGE2}{}", second_wan(2)).replacen(
        "label = 1001\ncolor = 100\n",
        "label = 1001\n",
        1,
    );
    let mut a = Edge::new(&a_text);
    let mut b = Edge::new(&b_text);
    let (ua, _) = connect(&mut a, &mut b, true);
    let blue = adds(&ua)
        .into_iter()
        .find(|g| g.0 == 1 && g.1 == "10.2.1.0/24")
        .unwrap();
    assert_eq!(table(&ua).paths[blue.2 as usize].tunnels.len(), 2);
    let ports: Vec<RibChange> = b
        .advertised(true)
        .into_iter()
        .filter(|c| matches!(c.key, RouteKey::Sdwan { .. }))
        .collect();
    let p200 = ports
        .iter()
        .find(|c| matches!(c.key, RouteKey::Sdwan { sdwan } if sdwan.color == 200))
        .unwrap();
    let p100 = ports
        .iter()
        .find(|c| matches!(c.key, RouteKey::Sdwan { sdwan } if sdwan.color == 100))
        .unwrap();
    // Port 200 withdrawn: blue (no Color) keeps one tunnel, FIB untouched.
    let u = a.r.on_rib_changes([withdraw(p200)], 20);
    assert!(u.fib.is_empty(), "{:?}", u.fib);
    let t = table(&u);
    assert_eq!(t.tunnels.len(), 1);
    assert_eq!(t.paths[blue.2 as usize].tunnels, vec![0]);
    // Port 100 withdrawn too: nothing resolves, every route removed.
    let u = a.r.on_rib_changes([withdraw(p100)], 21);
    assert_eq!(removes(&u).len(), 4, "{:?}", u.fib);
    assert!(table(&u).tunnels.is_empty());
    // The port comes back: routes return.
    let u = a.r.on_rib_changes([p100.clone()], 22);
    assert!(adds(&u).is_empty(), "pending until confirmed");
    // It comes back with unchanged parameters: the manager derives the
    // same SAs again, which are refused when they would go into service;
    // the port is rekeyed instead (fresh keys, confirmed 10 s later
    // here, at once when the peer answers).
    let u = a.r.tick(40);
    assert!(
        adds(&u).is_empty() && u.readvertise.contains(&1),
        "{:?}",
        u.fib
    );
    let u = a.r.tick(51);
    assert_eq!(adds(&u).len(), 4, "{:?}", u.fib);
}

#[test]
fn rekey_publishes_the_new_sa_and_keeps_the_old_inbound() {
    let mut a = Edge::new(EDGE1);
    let mut b = Edge::new(EDGE2);
    let (ua, _) = connect(&mut a, &mut b, true);
    let old_out = table(&ua).tunnels[0].sa.clone();
    let old_in = table(&ua).inbound[0].spi;
    // B rekeys its WAN port: new inbound first, then re-advertise.
    let ub = b.r.rekey_local(1, 100);
    assert_eq!(ub.readvertise.iter().copied().collect::<Vec<_>>(), vec![1]);
    let b_new_in: Vec<u32> = table(&ub).inbound.iter().map(|s| s.spi).collect();
    assert_eq!(b_new_in.len(), 2, "B keeps its old inbound SA");
    // A receives B's new parameters: switches at once (B's change).
    let new_ports: Vec<RibChange> = b
        .advertised(true)
        .into_iter()
        .filter(|c| matches!(c.key, RouteKey::Sdwan { .. }))
        .collect();
    let u = a.r.on_rib_changes(new_ports, 101);
    assert!(u.fib.is_empty(), "routes stay: {:?}", u.fib);
    let t = table(&u);
    assert_ne!(t.tunnels[0].sa.spi(), old_out.spi());
    assert!(b_new_in.contains(&t.tunnels[0].sa.spi()));
    let inbound: Vec<u32> = t.inbound.iter().map(|s| s.spi).collect();
    assert!(inbound.contains(&old_in), "old inbound kept during grace");
    assert_eq!(inbound.len(), 2);
    // Publishing again reuses the same SA object (sequence not restarted).
    let u2 = a.r.on_rib_changes(
        b.advertised(true)
            .into_iter()
            .filter(|c| matches!(c.key, RouteKey::Sdwan { .. })),
        102,
    );
    assert!(
        u2.overlay.is_none(),
        "identical advertisement: no new snapshot"
    );
    let u3 = a.r.tick(200);
    let t3 = table(&u3);
    assert!(Arc::ptr_eq(&t3.tunnels[0].sa, &t.tunnels[0].sa));
    assert!(
        !t3.inbound.iter().any(|s| s.spi == old_in),
        "old inbound retired after grace"
    );
}

#[test]
fn path_ids_are_stable_and_freed_ids_reused_later() {
    let mut a = Edge::new(EDGE1);
    let mut b = Edge::new(EDGE2);
    let (ua, _) = connect(&mut a, &mut b, true);
    let before = adds(&ua);
    let vpn: Vec<RibChange> = b
        .advertised(true)
        .into_iter()
        .filter(|c| matches!(c.key, RouteKey::Vpn { .. }))
        .collect();
    // Withdraw everything, then re-announce: the FIB gets the same ids.
    let u = a.r.on_rib_changes(vpn.iter().map(withdraw), 11);
    assert_eq!(removes(&u).len(), 4);
    let u = a.r.on_rib_changes(vpn.clone(), 12);
    let mut after = adds(&u);
    let mut b4 = before.clone();
    after.sort();
    b4.sort();
    assert_eq!(after, b4);
    assert_eq!(a.r.installed().len(), 4);
}

#[test]
fn a_wan_port_going_down_removes_its_tunnels_and_coming_back_restores_them() {
    let mut a = Edge::new(EDGE1);
    let mut b = Edge::new(EDGE2);
    let (ua, _) = connect(&mut a, &mut b, true);
    let routes = adds(&ua).len();
    let spi = table(&ua).tunnels[0].sa.spi();
    // The only WAN port: every overlay route goes, no tunnel is left.
    let down = a.r.set_wan_up(1, false);
    assert_eq!(removes(&down).len(), routes, "{:?}", down.fib);
    assert!(table(&down).tunnels.is_empty());
    assert!(!a.r.wan_is_up(1));
    // Idempotent.
    assert!(a.r.set_wan_up(1, false).is_empty());
    // Its routes are no longer originated for the others.
    let (sdwan, fallback) = wan_routes(a.r.config(), a.r.keys(), &[1].into());
    assert!(sdwan.is_empty() && fallback.is_none());
    // Back: the same SA (no new keys), the routes return.
    let up = a.r.set_wan_up(1, true);
    assert_eq!(adds(&up).len(), routes);
    assert_eq!(table(&up).tunnels[0].sa.spi(), spi);
}

#[test]
fn a_peer_back_with_unchanged_parameters_never_gets_an_sa_used_before() {
    let mut a = Edge::new(EDGE1);
    let mut b = Edge::new(EDGE2);
    connect(&mut a, &mut b, true);
    let used: Vec<u32> =
        a.r.keys()
            .outbound()
            .values()
            .map(|e| e.sa.spi)
            .chain(a.r.keys().inbound().keys().copied())
            .collect();
    assert!(!used.is_empty());
    // B's WAN route goes (a reflector flap) and comes back unchanged.
    let wan: Vec<RibChange> = b
        .advertised(true)
        .into_iter()
        .filter(|c| matches!(c.key, RouteKey::Sdwan { .. }))
        .collect();
    a.r.on_rib_changes(wan.iter().map(withdraw).collect::<Vec<_>>(), 20);
    a.r.on_rib_changes(wan, 21);
    // The same SAs are derived again; when they would go into service
    // they are refused and the port is rekeyed.
    let u = a.r.tick(40);
    assert!(u.readvertise.contains(&1), "{:?}", u.readvertise);
    assert!(a.r.keys().reuse_refused > 0);
    assert!(a.r.keys().inbound().keys().any(|s| !used.contains(s)));
    a.r.tick(51);
    let out: Vec<u32> = a.r.keys().outbound().values().map(|e| e.sa.spi).collect();
    assert!(
        !out.is_empty() && out.iter().all(|s| !used.contains(s)),
        "{out:?} vs {used:?}"
    );
}

#[test]
fn a_silent_tunnel_leaves_every_path_but_stays_in_the_snapshot() {
    let mut a = Edge::new(EDGE1);
    let mut b = Edge::new(EDGE2);
    let (ua, _) = connect(&mut a, &mut b, true);
    let routes = adds(&ua).len();
    let t = &table(&ua).tunnels[0];
    let pair =
        a.r.pair_of(t.local_port, t.remote)
            .expect("the tunnel's pair");
    assert!(a
        .r
        .pair_of(t.local_port, "192.0.2.99".parse().unwrap())
        .is_none());
    // Silent: its only tunnel gone from the paths, the routes go with it,
    // but the tunnel stays listed (its keepalives are still recognised).
    let silent = a.r.set_dead([pair].into());
    assert_eq!(removes(&silent).len(), routes, "{:?}", silent.fib);
    assert_eq!(table(&silent).tunnels.len(), 1);
    assert!(table(&silent).paths.iter().all(|p| p.tunnels.is_empty()));
    assert!(a.r.set_dead([pair].into()).is_empty(), "idempotent");
    // Heard again: back on the paths with the same SA.
    let back = a.r.set_dead(Default::default());
    assert_eq!(adds(&back).len(), routes);
    assert_eq!(table(&back).tunnels[0].sa.spi(), t.sa.spi());
}
