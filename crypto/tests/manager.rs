//! Two edges, each with a `keyex::Manager` and a model of its workers (an
//! `InboundSet` and one `OutboundSa` per pair), driven through bring-up,
//! rekeys, a withdrawal, SPI collisions and lifetimes with a fake clock.
//! After every applied event, every outbound SA of each edge encapsulates a
//! real packet that the other edge's inbound set must decapsulate on the SA
//! of the right pair: no step leaves a window for packet loss.

use sdwan_crypto::esp::OuterConfig;
use sdwan_crypto::keyex::{
    derive_pair, Endpoint, Manager, ManagerAction, PortSecret, RekeyTimers, SaPolicy,
};
use sdwan_crypto::outer::{DfPolicy, DscpPolicy};
use sdwan_crypto::sadb::{StaticSaConfig, TunnelKey};
use sdwan_crypto::{Cipher, InboundSa, InboundSet, Lifetime, NextHeader, OutboundSa, Received};
use sdwan_packet::Frame;
use std::collections::BTreeMap;
use std::net::IpAddr;

type E = sdwan_crypto::aead::DefaultEngine;

const TIMERS: RekeyTimers = RekeyTimers {
    grace: 5,
    confirm_timeout: 3,
};

fn ep(node: u8, port: u32) -> Endpoint {
    Endpoint {
        node: IpAddr::from([10, 0, 0, node]),
        port,
    }
}

/// The WAN address of a port (outer header source/destination).
fn wan(e: Endpoint) -> IpAddr {
    let IpAddr::V4(a) = e.node else {
        unreachable!("test nodes are IPv4")
    };
    IpAddr::from([198, 51, a.octets()[3], e.port as u8])
}

struct Edge {
    node: u8,
    mgr: Manager,
    inbound: InboundSet<E>,
    outbound: BTreeMap<(u32, Endpoint), OutboundSa<E>>,
    /// Ports whose parameters must be (re)advertised.
    to_advertise: Vec<u32>,
    sent: u64,
}

impl Edge {
    fn new(node: u8, ports: &[u32], policy: SaPolicy) -> Self {
        let mut mgr = Manager::new(Cipher::AesGcm128, TIMERS).with_policy(policy);
        for p in ports {
            mgr.add_local_port(ep(node, *p)).unwrap();
        }
        Self {
            node,
            mgr,
            inbound: InboundSet::default(),
            outbound: BTreeMap::new(),
            to_advertise: ports.to_vec(),
            sent: 0,
        }
    }

    fn apply(&mut self, actions: Vec<ManagerAction>) {
        for a in actions {
            match a {
                ManagerAction::InstallInbound { sa, .. } => {
                    assert_eq!(sa.params.spi, sa.spi);
                    let sa = InboundSa::new(sa.params, &sa.keys).unwrap();
                    assert!(self.inbound.insert(sa).is_none(), "SPI reused");
                }
                ManagerAction::UseOutbound {
                    local_port,
                    peer,
                    sa,
                } => {
                    let outer = OuterConfig {
                        src: wan(ep(self.node, local_port)),
                        dst: wan(peer),
                        natt: None,
                        ttl: 64,
                        dscp: DscpPolicy::Copy,
                        df: DfPolicy::Copy,
                    };
                    let out = OutboundSa::new(sa.params, &sa.keys, outer).unwrap();
                    self.outbound.insert((local_port, peer), out);
                }
                ManagerAction::RemoveInbound { spi } => {
                    assert!(self.inbound.remove(spi).is_some(), "{spi:#x} not installed");
                }
                ManagerAction::RemoveOutbound { local_port, peer } => {
                    assert!(self.outbound.remove(&(local_port, peer)).is_some());
                }
                ManagerAction::Readvertise { local_port } => self.to_advertise.push(local_port),
            }
        }
    }

    fn tick(&mut self, now: u64) {
        let a = self.mgr.tick(now);
        self.apply(a);
    }
}

/// Every outbound SA of `from` carries a packet that `to` decapsulates on
/// the SA it installed for exactly that pair. Returns packets checked.
fn check(from: &mut Edge, to: &mut Edge, now: u64) -> usize {
    let mut n = 0;
    let pairs: Vec<(u32, Endpoint)> = from.outbound.keys().copied().collect();
    for (local_port, peer) in pairs {
        assert_eq!(peer.node, ep(to.node, 0).node);
        let out = from.outbound.get_mut(&(local_port, peer)).unwrap();
        let spi = out.spi();
        let mut buf = vec![0u8; 256];
        buf[128..136].copy_from_slice(&from.sent.to_be_bytes());
        let mut f = Frame::new(&mut buf, 128, 8).unwrap();
        out.encap(&mut f, NextHeader::Gre).unwrap();
        let mut pkt = f.data().to_vec();
        let len = pkt.len();
        let mut f = Frame::new(&mut pkt, 0, len).unwrap();
        let got = to.inbound.decap(&mut f);
        assert!(
            matches!(got, Ok(Received::Inner { spi: s, .. }) if s == spi),
            "edge {} port {local_port} -> {peer:?} on {spi:#x}: {got:?}",
            from.node
        );
        assert_eq!(f.data(), from.sent.to_be_bytes());
        from.sent += 1;
        // The SA belongs to the mirrored pair on the receiver.
        let entry = to.mgr.sadb().inbound(spi).expect("in the receiver's SADB");
        assert_eq!(
            entry.tunnel,
            TunnelKey {
                peer_node: ep(from.node, 0).node,
                local_port: peer.port,
                remote_port: local_port,
            }
        );
        if to.inbound.get(spi).unwrap().counters().packets == 1 {
            let acts = to.mgr.on_inbound_used(spi, now);
            to.apply(acts);
        }
        n += 1;
    }
    n
}

/// Both directions, after each step.
fn check_both(a: &mut Edge, b: &mut Edge, now: u64) -> usize {
    check(a, b, now) + check(b, a, now)
}

/// Delivers `from`'s queued advertisements to every local port of `to`,
/// checking both directions after each.
fn deliver(from: &mut Edge, to: &mut Edge, now: u64) {
    let ports: Vec<u32> = std::mem::take(&mut from.to_advertise);
    let local: Vec<u32> = [1, 2]
        .into_iter()
        .filter(|p| to.mgr.local_params(*p).is_some())
        .collect();
    for p in ports {
        let params = from.mgr.local_params(p).unwrap();
        for l in &local {
            let acts = to.mgr.on_peer_params(*l, params.endpoint, &params, now);
            to.apply(acts);
            check_both(from, to, now);
        }
    }
}

#[test]
fn two_edges_bring_up_rekey_and_withdraw_without_a_loss_window() {
    let mut a = Edge::new(1, &[1, 2], SaPolicy::default());
    let mut b = Edge::new(2, &[1, 2], SaPolicy::default());

    // Bring-up: A's adverts reach B, then B's reach A.
    deliver(&mut a, &mut b, 0);
    deliver(&mut b, &mut a, 1);
    // First contact: nobody sends before confirmation.
    assert_eq!(check_both(&mut a, &mut b, 1), 0);
    assert_eq!((a.inbound.len(), b.inbound.len()), (4, 4));
    // Confirm timeout (3 s after learning the peer, at 0 and 1).
    b.tick(3);
    check_both(&mut a, &mut b, 3);
    a.tick(4);
    // 2 local ports x 2 peer ports, both ways.
    assert_eq!(check_both(&mut a, &mut b, 4), 8);

    // A rekeys port 1: new inbound SAs first, then the advertisement.
    let before: Vec<u32> = a.outbound.values().map(|o| o.spi()).collect();
    let acts = a.mgr.rekey_local(1, 10);
    assert!(matches!(
        acts.last(),
        Some(ManagerAction::Readvertise { local_port: 1 })
    ));
    a.apply(acts);
    assert_eq!(a.inbound.len(), 6);
    check_both(&mut a, &mut b, 10);
    deliver(&mut a, &mut b, 11);
    // B switched to A's new inbound SAs at once; its packets confirm A's
    // new generation, so A switches port 1's pairs too.
    check_both(&mut a, &mut b, 11);
    check_both(&mut a, &mut b, 11);
    let after: Vec<u32> = a.outbound.values().map(|o| o.spi()).collect();
    assert_ne!(before[..2], after[..2], "port 1 pairs rekeyed");
    assert_eq!(before[2..], after[2..], "port 2 pairs untouched");
    // Grace over: old inbound SAs go, traffic still flows.
    a.tick(20);
    check_both(&mut a, &mut b, 20);
    b.tick(20);
    assert_eq!(check_both(&mut a, &mut b, 20), 8);
    assert_eq!((a.inbound.len(), b.inbound.len()), (4, 4));

    // B's port 2 goes away: B stops sending on it at once (withdrawing
    // the route), A hears the withdrawal; inbound SAs linger for grace.
    let acts = b.mgr.remove_local_port(2, 30);
    b.apply(acts);
    assert_eq!(check_both(&mut a, &mut b, 30), 6);
    let acts = a.mgr.on_peer_withdrawn(ep(2, 2), 31);
    assert_eq!(
        acts.iter()
            .filter(|x| matches!(x, ManagerAction::RemoveOutbound { .. }))
            .count(),
        2
    );
    a.apply(acts);
    assert_eq!(check_both(&mut a, &mut b, 31), 4);
    for t in 32..40 {
        a.tick(t);
        b.tick(t);
        assert_eq!(check_both(&mut a, &mut b, t), 4);
    }
    assert_eq!((a.inbound.len(), b.inbound.len()), (2, 2));
    assert_eq!(a.mgr.sadb().inbound_count(), 2);
    assert_eq!(a.mgr.sadb().outbound_count(), 2);
    assert!(a.mgr.session(1, ep(2, 2)).is_none(), "idle session dropped");
    for e in [&a, &b] {
        assert_eq!(e.inbound.drops().total(), 0);
        assert_eq!(*e.mgr.errors(), Default::default());
    }
}

#[test]
fn derived_spi_colliding_with_another_pair_rekeys_the_port() {
    let secret = |n| PortSecret::from_secret(ep(1, 1), [7; 32], [n; 16], 0);
    let mut a = Edge::new(1, &[], SaPolicy::default());
    a.mgr.add_local_port_secret(secret(3));
    let mut b = Edge::new(2, &[1], SaPolicy::default());
    let b_params = b.mgr.local_params(1).unwrap();
    // The SPI A will derive for B's traffic, taken first by a static SA to
    // a third-party gateway (another pair in A's SADB).
    let doomed = derive_pair(&secret(3), &b_params, Cipher::AesGcm128)
        .unwrap()
        .inbound
        .spi;
    let gateway = TunnelKey {
        peer_node: IpAddr::from([203, 0, 113, 9]),
        local_port: 1,
        remote_port: 1,
    };
    let acts = a
        .mgr
        .add_static(
            &StaticSaConfig {
                tunnel: gateway,
                cipher: Cipher::AesGcm128,
                spi_in: doomed,
                spi_out: 0x5000,
                key_in: vec![1; 20],
                key_out: vec![2; 20],
                esn: true,
                replay_window: 64,
            },
            0,
        )
        .unwrap();
    assert_eq!(acts.len(), 2);

    let acts = a.mgr.on_peer_params(1, ep(2, 1), &b_params, 0);
    assert_eq!(a.mgr.errors().spi_collisions, 1);
    let installed: Vec<u32> = acts
        .iter()
        .filter_map(|x| match x {
            ManagerAction::InstallInbound { sa, .. } => Some(sa.spi),
            _ => None,
        })
        .collect();
    assert_eq!(installed.len(), 1);
    assert_ne!(installed[0], doomed);
    assert!(matches!(
        acts.last(),
        Some(ManagerAction::Readvertise { local_port: 1 })
    ));
    assert_eq!(a.mgr.local_params(1).unwrap().nonce.rekey_counter, 1);
    a.to_advertise.clear();
    a.apply(acts);
    // The gateway's SA is untouched.
    assert_eq!(a.mgr.sadb().inbound(doomed).unwrap().tunnel, gateway);

    // B learns A's new parameters; after confirmation both directions work.
    a.to_advertise.push(1);
    deliver(&mut a, &mut b, 1);
    a.tick(4);
    b.tick(4);
    assert_eq!(check_both(&mut a, &mut b, 4), 2);
    a.tick(10);
    assert_eq!(a.mgr.sadb().inbound(doomed).unwrap().tunnel, gateway);
}

#[test]
fn lifetimes_in_seconds_rekey_when_soft_and_remove_when_hard() {
    let soft = SaPolicy {
        lifetime: Lifetime {
            soft_seconds: 100,
            hard_seconds: 150,
            ..Lifetime::UNLIMITED
        },
        ..SaPolicy::default()
    };
    let mut a = Edge::new(1, &[1], soft);
    let mut b = Edge::new(2, &[1], soft);
    deliver(&mut a, &mut b, 0);
    deliver(&mut b, &mut a, 0);
    a.tick(3);
    b.tick(3);
    let first = a.outbound.values().next().unwrap().spi();
    for t in 4..103 {
        a.tick(t);
        b.tick(t);
        assert!(
            a.to_advertise.is_empty() && b.to_advertise.is_empty(),
            "t={t}"
        );
    }
    // Soft lifetime (outbound in use since t=3): both rekey their port.
    a.tick(103);
    b.tick(103);
    assert_eq!((a.to_advertise.len(), b.to_advertise.len()), (1, 1));
    check_both(&mut a, &mut b, 103);
    deliver(&mut a, &mut b, 104);
    deliver(&mut b, &mut a, 104);
    for t in 105..130 {
        a.tick(t);
        b.tick(t);
        assert_eq!(check_both(&mut a, &mut b, t), 2);
    }
    assert_ne!(a.outbound.values().next().unwrap().spi(), first);
    assert_eq!((a.inbound.len(), b.inbound.len()), (1, 1));

    // Hard lifetime with no soft one: the SAs are removed, not rekeyed.
    let hard = SaPolicy {
        lifetime: Lifetime {
            hard_seconds: 150,
            ..Lifetime::UNLIMITED
        },
        ..SaPolicy::default()
    };
    let mut a = Edge::new(1, &[1], hard);
    let mut b = Edge::new(2, &[1], hard);
    deliver(&mut a, &mut b, 0);
    deliver(&mut b, &mut a, 0);
    a.tick(3);
    b.tick(3);
    a.tick(149);
    assert_eq!((a.inbound.len(), a.outbound.len()), (1, 1));
    a.tick(150); // inbound installed at 0
    assert_eq!((a.inbound.len(), a.outbound.len()), (0, 1));
    a.tick(153); // outbound in use since 3
    assert_eq!((a.inbound.len(), a.outbound.len()), (0, 0));
    assert!(a.to_advertise.is_empty());
}
