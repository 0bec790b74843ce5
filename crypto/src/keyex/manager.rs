//! The edge's key agreement manager: every local WAN port's secret, one
//! [`PairSession`] per (local port, peer port) and the [`Sadb`], driven by
//! events and a clock and answering with [`ManagerAction`]s for the
//! workers (boringtun's shape: no I/O, no time source of its own; time is
//! whole seconds from any monotonic origin).
//!
//! ```text
//! BGP learns/withdraws peer ports ──► on_peer_params / on_peer_withdrawn ─┐
//! workers: first packet on an SA   ──► on_inbound_used                    ├─► Vec<ManagerAction>
//! operator / lifetimes             ──► rekey_local / tick                 ┘   (apply in order)
//! ```
//!
//! The caller applies actions in order and advertises `local_params(port)`
//! after applying a [`ManagerAction::Readvertise`], so every new inbound SA
//! exists before the peer can derive it (make-before-break, see
//! [`super::session`]).
//!
//! - Inbound SPIs are derived, so two pairs (or a static SA) may collide
//!   (2^-32 per pair). The SADB detects it when installing; the manager
//!   then rekeys the local port (new key pair, nonce and counter change
//!   every SPI derived for the port) and asks for a readvertisement.
//! - Lifetimes in seconds ([`Sadb::expired`]): a soft expiry of an
//!   outbound SA rekeys its local port; a hard expiry removes the SA.
//!   Packet and byte lifetimes are the workers' (`OutboundSa::needs_rekey`),
//!   who call [`Manager::rekey_local`].

use super::derive::{DeriveError, DirectionalSa, Endpoint, PeerParams, PortSecret};
use super::session::{Action, PairSession, RekeyTimers};
use crate::esp::{Cipher, SaParams};
use crate::lifetime::Lifetime;
use crate::sadb::{Expiry, Origin, SaEntry, Sadb, StaticSaConfig, StaticSaError, TunnelKey};
use std::collections::{BTreeMap, BTreeSet};

/// Rekeys in a row a single event may cause by SPI collisions before the
/// manager gives up (counted in [`ManagerErrors::spi_collisions`]); each
/// round collides with probability ~2^-32 per installed SA.
const MAX_COLLISION_ROUNDS: usize = 4;

/// What the caller (control plane glue) must do, in order.
#[derive(Debug, Clone)]
pub enum ManagerAction {
    /// Give the workers this inbound SA (keep older ones).
    InstallInbound {
        local_port: u32,
        peer: Endpoint,
        sa: DirectionalSa,
    },
    /// Send this pair's traffic with this SA from now on (replaces the
    /// pair's previous outbound SA).
    UseOutbound {
        local_port: u32,
        peer: Endpoint,
        sa: DirectionalSa,
    },
    /// Remove the inbound SA with this SPI.
    RemoveInbound { spi: u32 },
    /// Stop sending to this pair: remove its outbound SA.
    RemoveOutbound { local_port: u32, peer: Endpoint },
    /// This port's parameters changed: advertise `local_params(local_port)`
    /// (after applying the actions before this one).
    Readvertise { local_port: u32 },
}

/// SA parameters the manager gives every derived SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaPolicy {
    pub esn: bool,
    pub replay_window: u32,
    pub lifetime: Lifetime,
}

impl Default for SaPolicy {
    fn default() -> Self {
        let p = SaParams::new(crate::esp::MIN_SPI);
        Self {
            esn: p.esn,
            replay_window: p.replay_window,
            lifetime: p.lifetime,
        }
    }
}

/// Events the manager refused or could not complete, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ManagerErrors {
    /// Peer parameters for a local port that was never added (or removed).
    pub unknown_local_port: u64,
    /// `params.endpoint` differs from the peer the event names.
    pub endpoint_mismatch: u64,
    /// Derivation failed (low-order peer key, same endpoint).
    pub derive_failed: u64,
    pub last_derive_error: Option<DeriveError>,
    /// Derived inbound SPIs that were already in use on this edge.
    pub spi_collisions: u64,
    /// The random source failed while rekeying a port.
    pub rekey_failed: u64,
}

type PairKey = (u32, Endpoint);

fn tunnel_of(key: PairKey) -> TunnelKey {
    TunnelKey {
        peer_node: key.1.node,
        local_port: key.0,
        remote_port: key.1.port,
    }
}

fn pair_of(t: &TunnelKey) -> PairKey {
    (
        t.local_port,
        Endpoint {
            node: t.peer_node,
            port: t.remote_port,
        },
    )
}

/// Key agreement for every (local port, peer port) pair of this edge.
#[derive(Debug)]
pub struct Manager {
    cipher: Cipher,
    timers: RekeyTimers,
    policy: SaPolicy,
    ports: BTreeMap<u32, PortSecret>,
    pairs: BTreeMap<PairKey, PairSession>,
    sadb: Sadb,
    errors: ManagerErrors,
}

impl Manager {
    pub fn new(cipher: Cipher, timers: RekeyTimers) -> Self {
        Self {
            cipher,
            timers,
            policy: SaPolicy::default(),
            ports: BTreeMap::new(),
            pairs: BTreeMap::new(),
            sadb: Sadb::new(),
            errors: ManagerErrors::default(),
        }
    }

    /// The ESN, replay window and lifetimes of derived SAs.
    pub fn with_policy(mut self, policy: SaPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Adds a local WAN port with a fresh key pair; returns what to
    /// advertise for it. Replaces the secret if the port exists.
    pub fn add_local_port(&mut self, endpoint: Endpoint) -> Result<PeerParams, DeriveError> {
        let secret = PortSecret::generate(endpoint, 0)?;
        Ok(self.add_local_port_secret(secret))
    }

    /// Adds a local WAN port with a given secret (restored from protected
    /// storage, or a test's fixed key).
    pub fn add_local_port_secret(&mut self, secret: PortSecret) -> PeerParams {
        let p = secret.advertisement();
        self.ports.insert(secret.endpoint().port, secret);
        p
    }

    /// What BGP should advertise for `port` now.
    pub fn local_params(&self, port: u32) -> Option<PeerParams> {
        self.ports.get(&port).map(PortSecret::advertisement)
    }

    pub fn sadb(&self) -> &Sadb {
        &self.sadb
    }
    pub fn errors(&self) -> &ManagerErrors {
        &self.errors
    }
    /// The session of one pair (tests, `show` commands).
    pub fn session(&self, local_port: u32, peer: Endpoint) -> Option<&PairSession> {
        self.pairs.get(&(local_port, peer))
    }

    /// Installs a statically configured SA pair (third-party gateway) in
    /// the same SADB, so derived SPIs are checked against it too.
    pub fn add_static(
        &mut self,
        c: &StaticSaConfig,
        now: u64,
    ) -> Result<Vec<ManagerAction>, StaticSaError> {
        self.sadb.add_static(c, now)?;
        let (local_port, peer) = pair_of(&c.tunnel);
        let sa = |e: &SaEntry| DirectionalSa {
            spi: e.params.spi,
            keys: e.keys.clone(),
            params: e.params,
        };
        let mut out = Vec::with_capacity(2);
        if let Some(e) = self.sadb.inbound(c.spi_in) {
            out.push(ManagerAction::InstallInbound {
                local_port,
                peer,
                sa: sa(e),
            });
        }
        if let Some(e) = self.sadb.outbound(&c.tunnel) {
            out.push(ManagerAction::UseOutbound {
                local_port,
                peer,
                sa: sa(e),
            });
        }
        Ok(out)
    }

    /// A peer port's parameters arrived (or changed) for the pair with our
    /// `local_port`.
    pub fn on_peer_params(
        &mut self,
        local_port: u32,
        peer: Endpoint,
        params: &PeerParams,
        now: u64,
    ) -> Vec<ManagerAction> {
        let Some(secret) = self.ports.get(&local_port) else {
            self.errors.unknown_local_port += 1;
            return Vec::new();
        };
        if params.endpoint != peer {
            self.errors.endpoint_mismatch += 1;
            return Vec::new();
        }
        let session = self
            .pairs
            .entry((local_port, peer))
            .or_insert_with(|| PairSession::new(self.cipher, self.timers));
        match session.on_peer_params(secret, *params, now) {
            Ok(acts) => self.settle(vec![((local_port, peer), acts)], now),
            Err(e) => {
                self.errors.derive_failed += 1;
                self.errors.last_derive_error = Some(e);
                Vec::new()
            }
        }
    }

    /// The peer port was withdrawn: stop sending to it from every local
    /// port at once; its inbound SAs stay `grace` seconds for packets in
    /// flight.
    pub fn on_peer_withdrawn(&mut self, peer: Endpoint, now: u64) -> Vec<ManagerAction> {
        let keys: Vec<PairKey> = self.pairs.keys().filter(|k| k.1 == peer).copied().collect();
        self.close_pairs(&keys, now)
    }

    /// Our port goes away: like a withdrawal of every pair on it, and the
    /// port's secret is dropped (zeroized). Withdraw its BGP route first.
    pub fn remove_local_port(&mut self, port: u32, now: u64) -> Vec<ManagerAction> {
        self.ports.remove(&port);
        let keys: Vec<PairKey> = self.pairs.keys().filter(|k| k.0 == port).copied().collect();
        self.close_pairs(&keys, now)
    }

    /// A worker authenticated the first packet on inbound `spi`.
    pub fn on_inbound_used(&mut self, spi: u32, now: u64) -> Vec<ManagerAction> {
        let Some(key) = self.sadb.inbound(spi).map(|e| pair_of(&e.tunnel)) else {
            return Vec::new();
        };
        let Some(session) = self.pairs.get_mut(&key) else {
            return Vec::new();
        };
        let acts = session.on_inbound_used(spi, now);
        self.settle(vec![(key, acts)], now)
    }

    /// Rekeys local `port` (new key pair, nonce, counter + 1): every pair
    /// on it installs its next inbound SA now; ends with
    /// [`ManagerAction::Readvertise`].
    pub fn rekey_local(&mut self, port: u32, now: u64) -> Vec<ManagerAction> {
        let mut readvertise = BTreeSet::new();
        let acts = self.rekey_port(port, now, &mut readvertise);
        self.settle_with(acts, now, readvertise)
    }

    /// Clock: confirm timeouts, grace expiry, and lifetimes in seconds
    /// (soft: rekey the local port, hard: remove the SA).
    pub fn tick(&mut self, now: u64) -> Vec<ManagerAction> {
        let mut per_pair = Vec::new();
        for (k, s) in self.pairs.iter_mut() {
            let acts = s.tick(now);
            if !acts.is_empty() {
                per_pair.push((*k, acts));
            }
        }
        let mut out = self.settle(per_pair, now);

        let mut soft_ports = BTreeSet::new();
        for x in self.sadb.expired(now) {
            match x {
                Expiry::SoftOutbound(t) => {
                    let key = pair_of(&t);
                    let derived = self
                        .sadb
                        .outbound(&t)
                        .is_some_and(|e| e.origin == Origin::Derived);
                    let rekeying = self.pairs.get(&key).is_some_and(PairSession::has_pending);
                    if derived && !rekeying {
                        soft_ports.insert(t.local_port);
                    }
                }
                Expiry::HardOutbound(t) => {
                    if self.sadb.remove_outbound(&t).is_some() {
                        let (local_port, peer) = pair_of(&t);
                        out.push(ManagerAction::RemoveOutbound { local_port, peer });
                    }
                }
                Expiry::HardInbound(spi) => {
                    if self.sadb.remove_inbound(spi).is_some() {
                        out.push(ManagerAction::RemoveInbound { spi });
                    }
                }
            }
        }
        let mut readvertise = BTreeSet::new();
        let mut acts = Vec::new();
        for port in soft_ports {
            acts.extend(self.rekey_port(port, now, &mut readvertise));
        }
        out.extend(self.settle_with(acts, now, readvertise));
        self.pairs.retain(|_, s| !s.is_idle());
        out
    }

    fn close_pairs(&mut self, keys: &[PairKey], now: u64) -> Vec<ManagerAction> {
        let mut out = Vec::new();
        for k in keys {
            if let Some(s) = self.pairs.get_mut(k) {
                s.close(now);
            }
            if self.sadb.remove_outbound(&tunnel_of(*k)).is_some() {
                out.push(ManagerAction::RemoveOutbound {
                    local_port: k.0,
                    peer: k.1,
                });
            }
        }
        out
    }

    /// New secret for `port` and the next generation of each of its pairs
    /// (not yet applied).
    fn rekey_port(
        &mut self,
        port: u32,
        now: u64,
        readvertise: &mut BTreeSet<u32>,
    ) -> Vec<(PairKey, Vec<Action>)> {
        let Some(secret) = self.ports.get_mut(&port) else {
            self.errors.unknown_local_port += 1;
            return Vec::new();
        };
        if secret.rekey().is_err() {
            self.errors.rekey_failed += 1;
            return Vec::new();
        }
        readvertise.insert(port);
        let mut acts = Vec::new();
        for (k, s) in self.pairs.range_mut((port, min_endpoint())..) {
            if k.0 != port {
                break;
            }
            match s.on_local_change(secret, now) {
                Ok(a) => acts.push((*k, a)),
                Err(e) => {
                    self.errors.derive_failed += 1;
                    self.errors.last_derive_error = Some(e);
                }
            }
        }
        acts
    }

    fn settle(&mut self, acts: Vec<(PairKey, Vec<Action>)>, now: u64) -> Vec<ManagerAction> {
        self.settle_with(acts, now, BTreeSet::new())
    }

    /// Applies session actions to the SADB and turns them into manager
    /// actions; a collision rekeys the port and applies that too.
    fn settle_with(
        &mut self,
        mut acts: Vec<(PairKey, Vec<Action>)>,
        now: u64,
        mut readvertise: BTreeSet<u32>,
    ) -> Vec<ManagerAction> {
        let mut out = Vec::new();
        for round in 0..MAX_COLLISION_ROUNDS {
            let mut collided = BTreeSet::new();
            for (k, a) in acts.drain(..) {
                self.apply(k, a, now, &mut out, &mut collided);
            }
            if collided.is_empty() || round + 1 == MAX_COLLISION_ROUNDS {
                break;
            }
            for port in collided {
                acts.extend(self.rekey_port(port, now, &mut readvertise));
            }
        }
        out.extend(
            readvertise
                .into_iter()
                .map(|local_port| ManagerAction::Readvertise { local_port }),
        );
        out
    }

    fn apply(
        &mut self,
        key: PairKey,
        acts: Vec<Action>,
        now: u64,
        out: &mut Vec<ManagerAction>,
        collided: &mut BTreeSet<u32>,
    ) {
        let tunnel = tunnel_of(key);
        let (local_port, peer) = key;
        for a in acts {
            match a {
                Action::InstallInbound(sa) => {
                    let sa = self.with_policy_params(sa);
                    match self.sadb.inbound(sa.spi) {
                        // Revived (the peer came back with the same
                        // parameters): still installed.
                        Some(e) if e.tunnel == tunnel && e.keys.key() == sa.keys.key() => {}
                        Some(_) => {
                            self.errors.spi_collisions += 1;
                            collided.insert(local_port);
                        }
                        None => {
                            if self.sadb.add_inbound(self.entry(tunnel, &sa, now)).is_ok() {
                                out.push(ManagerAction::InstallInbound {
                                    local_port,
                                    peer,
                                    sa,
                                });
                            }
                        }
                    }
                }
                Action::UseOutbound(sa) => {
                    let sa = self.with_policy_params(sa);
                    self.sadb.set_outbound(self.entry(tunnel, &sa, now));
                    out.push(ManagerAction::UseOutbound {
                        local_port,
                        peer,
                        sa,
                    });
                }
                Action::RemoveInbound(spi) => {
                    // Only our own: a collided SPI belongs to someone else.
                    if self.sadb.inbound(spi).is_some_and(|e| e.tunnel == tunnel) {
                        self.sadb.remove_inbound(spi);
                        out.push(ManagerAction::RemoveInbound { spi });
                    }
                }
            }
        }
    }

    fn with_policy_params(&self, mut sa: DirectionalSa) -> DirectionalSa {
        sa.params = SaParams {
            spi: sa.spi,
            esn: self.policy.esn,
            replay_window: self.policy.replay_window,
            lifetime: self.policy.lifetime,
        };
        sa
    }

    fn entry(&self, tunnel: TunnelKey, sa: &DirectionalSa, now: u64) -> SaEntry {
        SaEntry {
            tunnel,
            params: sa.params,
            keys: sa.keys.clone(),
            origin: Origin::Derived,
            installed_at: now,
        }
    }
}

/// The smallest `Endpoint` in `Ord`, to range over one local port's pairs.
fn min_endpoint() -> Endpoint {
    Endpoint {
        node: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        port: 0,
    }
}
