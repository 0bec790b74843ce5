//! Two edges exchange traffic both ways through real ESP encap/decap while
//! one, then the other, then both at once rekey over a simulated BGP with
//! delay; links hold packets in flight. No packet may be lost, and old
//! inbound SAs must be removed after the grace period.

use sdwan_crypto::esp::OuterConfig;
use sdwan_crypto::keyex::{Action, Endpoint, PairSession, PeerParams, PortSecret, RekeyTimers};
use sdwan_crypto::outer::{DfPolicy, DscpPolicy};
use sdwan_crypto::{Cipher, InboundSa, InboundSet, NextHeader, OutboundSa, Received, SaParams};
use sdwan_packet::Frame;
use std::collections::VecDeque;
use std::net::IpAddr;

type E = sdwan_crypto::aead::DefaultEngine;

struct Edge {
    port: PortSecret,
    session: PairSession,
    inbound: InboundSet<E>,
    outbound: Option<OutboundSa<E>>,
    local: IpAddr,
    remote: IpAddr,
    sent: u64,
    received: u64,
    send_failures: u64,
}

impl Edge {
    fn new(n: u8, peer: u8) -> Self {
        let ep = Endpoint {
            node: IpAddr::from([10, 0, 0, n]),
            port: 1,
        };
        Self {
            port: PortSecret::generate(ep, 0).unwrap(),
            session: PairSession::new(
                Cipher::AesGcm256,
                RekeyTimers {
                    grace: 5,
                    confirm_timeout: 3,
                },
            ),
            inbound: InboundSet::default(),
            outbound: None,
            local: IpAddr::from([192, 0, 2, n]),
            remote: IpAddr::from([192, 0, 2, peer]),
            sent: 0,
            received: 0,
            send_failures: 0,
        }
    }

    fn apply(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::InstallInbound(sa) => {
                    let sa = InboundSa::new(SaParams::new(sa.spi), &sa.keys).unwrap();
                    assert!(self.inbound.insert(sa).is_none(), "SPI reused");
                }
                Action::UseOutbound(sa) => {
                    let outer = OuterConfig {
                        src: self.local,
                        dst: self.remote,
                        natt: None,
                        ttl: 64,
                        dscp: DscpPolicy::Copy,
                        df: DfPolicy::Copy,
                    };
                    self.outbound =
                        Some(OutboundSa::new(SaParams::new(sa.spi), &sa.keys, outer).unwrap());
                }
                Action::RemoveInbound(spi) => {
                    assert!(self.inbound.remove(spi).is_some());
                }
            }
        }
    }

    fn send(&mut self, link: &mut VecDeque<Vec<u8>>) {
        let Some(out) = self.outbound.as_mut() else {
            self.send_failures += 1;
            return;
        };
        let mut buf = vec![0u8; 256];
        let payload = self.sent.to_be_bytes();
        buf[128..136].copy_from_slice(&payload);
        let mut f = Frame::new(&mut buf, 128, 8).unwrap();
        out.encap(&mut f, NextHeader::Gre).unwrap();
        link.push_back(f.data().to_vec());
        self.sent += 1;
    }

    fn receive(&mut self, mut pkt: Vec<u8>, now: u64) {
        let n = pkt.len();
        let mut f = Frame::new(&mut pkt, 0, n).unwrap();
        match self.inbound.decap(&mut f) {
            Ok(Received::Inner { spi, .. }) => {
                assert_eq!(
                    u64::from_be_bytes(f.data().try_into().unwrap()),
                    self.received,
                    "in order"
                );
                self.received += 1;
                if self.inbound.get(spi).unwrap().counters().packets == 1 {
                    let acts = self.session.on_inbound_used(spi, now);
                    self.apply(acts);
                }
            }
            other => panic!("packet lost: {other:?}"),
        }
    }

    fn advert(&self) -> PeerParams {
        self.port.advertisement()
    }

    fn rekey(&mut self, now: u64) -> PeerParams {
        self.port.rekey().unwrap();
        let acts = self.session.on_local_change(&self.port, now).unwrap();
        self.apply(acts);
        self.advert()
    }

    fn learn(&mut self, p: PeerParams, now: u64) {
        let acts = self.session.on_peer_params(&self.port, p, now).unwrap();
        self.apply(acts);
    }

    fn tick(&mut self, now: u64) {
        let acts = self.session.tick(now);
        self.apply(acts);
    }
}

/// Simulated time: 100 packet slots per second; each link holds `DELAY`
/// packets in flight; BGP delivers an advertisement `BGP_DELAY` slots after
/// it is sent.
const DELAY: usize = 7;
const BGP_DELAY: u64 = 150;

#[test]
fn traffic_through_rekeys_loses_no_packet() {
    let mut a = Edge::new(1, 2);
    let mut b = Edge::new(2, 1);
    // Bring-up: both adverts delivered before traffic starts.
    let (pa, pb) = (a.advert(), b.advert());
    a.learn(pb, 0);
    b.learn(pa, 0);
    // First contact: neither side knows the other has its advertisement,
    // so both start sending after confirm_timeout.
    assert!(a.outbound.is_none() && b.outbound.is_none());
    a.tick(3);
    b.tick(3);
    let first_spi = a.outbound.as_ref().unwrap().spi();

    let mut ab: VecDeque<Vec<u8>> = VecDeque::new();
    let mut ba: VecDeque<Vec<u8>> = VecDeque::new();
    let mut bgp_to_b: Vec<(u64, PeerParams)> = Vec::new();
    let mut bgp_to_a: Vec<(u64, PeerParams)> = Vec::new();
    let mut spis_seen = vec![first_spi];

    for slot in 0..3000u64 {
        let now = slot / 100;
        match slot {
            300 => bgp_to_b.push((slot + BGP_DELAY, a.rekey(now))),
            1200 => bgp_to_a.push((slot + BGP_DELAY, b.rekey(now))),
            // Both at once: the advertisements cross.
            2000 => {
                bgp_to_b.push((slot + BGP_DELAY, a.rekey(now)));
                bgp_to_a.push((slot + BGP_DELAY, b.rekey(now)));
            }
            _ => {}
        }
        for (at, p) in std::mem::take(&mut bgp_to_b) {
            if at == slot {
                b.learn(p, now)
            } else {
                bgp_to_b.push((at, p))
            }
        }
        for (at, p) in std::mem::take(&mut bgp_to_a) {
            if at == slot {
                a.learn(p, now)
            } else {
                bgp_to_a.push((at, p))
            }
        }
        a.send(&mut ab);
        b.send(&mut ba);
        if ab.len() > DELAY {
            let p = ab.pop_front().unwrap();
            b.receive(p, now);
        }
        if ba.len() > DELAY {
            let p = ba.pop_front().unwrap();
            a.receive(p, now);
        }
        if slot % 100 == 0 {
            a.tick(now);
            b.tick(now);
        }
        let spi = a.outbound.as_ref().unwrap().spi();
        if spis_seen.last() != Some(&spi) {
            spis_seen.push(spi);
        }
    }
    // Drain the links.
    while let Some(p) = ab.pop_front() {
        b.receive(p, 30);
    }
    while let Some(p) = ba.pop_front() {
        a.receive(p, 30);
    }
    for e in [&mut a, &mut b] {
        e.tick(100);
    }

    assert_eq!(a.send_failures + b.send_failures, 0);
    assert_eq!(a.received, b.sent);
    assert_eq!(b.received, a.sent);
    assert_eq!(a.inbound.drops().total() + b.inbound.drops().total(), 0);
    // A's outbound SA changed at each of the three rekeys.
    assert_eq!(spis_seen.len(), 4, "{spis_seen:x?}");
    // After the grace period only the current inbound SA is left.
    assert_eq!(a.inbound.len(), 1);
    assert_eq!(b.inbound.len(), 1);
    assert_eq!(
        a.session.inbound_spis(),
        vec![b.outbound.as_ref().unwrap().spi()]
    );
}

/// A derived inbound SPI that collides with an SA already in the SADB is
/// refused; rekeying the local port (new key pair, nonce, counter) derives a
/// different SPI, which installs.
#[test]
fn derived_spi_collision_is_resolved_by_rekeying_the_port() {
    use sdwan_crypto::keyex::derive_pair;
    use sdwan_crypto::sadb::{Origin, SaEntry, Sadb, SpiCollision, TunnelKey};

    let mut a = PortSecret::generate(
        Endpoint {
            node: IpAddr::from([10, 0, 0, 1]),
            port: 1,
        },
        0,
    )
    .unwrap();
    let b = PortSecret::generate(
        Endpoint {
            node: IpAddr::from([10, 0, 0, 2]),
            port: 7,
        },
        0,
    )
    .unwrap();
    let tunnel = TunnelKey {
        peer_node: IpAddr::from([10, 0, 0, 2]),
        local_port: 1,
        remote_port: 7,
    };
    let keys = derive_pair(&a, &b.advertisement(), Cipher::AesGcm128).unwrap();
    let entry = |spi, k| SaEntry {
        tunnel,
        params: SaParams::new(spi),
        keys: k,
        origin: Origin::Derived,
        installed_at: 0,
    };

    let mut db = Sadb::new();
    // Occupy the SPI the pair derives (as a static SA to some gateway would).
    db.add_inbound(entry(keys.inbound.spi, keys.inbound.keys.clone()))
        .unwrap();
    assert_eq!(
        db.add_inbound(entry(keys.inbound.spi, keys.inbound.keys.clone())),
        Err(SpiCollision(keys.inbound.spi))
    );
    a.rekey().unwrap();
    let again = derive_pair(&a, &b.advertisement(), Cipher::AesGcm128).unwrap();
    assert_ne!(again.inbound.spi, keys.inbound.spi);
    db.add_inbound(entry(again.inbound.spi, again.inbound.keys))
        .unwrap();
    assert_eq!(db.inbound_count(), 2);
}
