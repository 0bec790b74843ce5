//! Keys of the overlay: one X25519 [`PortSecret`] per local WAN port, SAs
//! derived per (local WAN port, remote WAN port) pair by the crypto crate's
//! [`Manager`], and the SA state the overlay snapshot is built from. The
//! manager's make-before-break actions are applied here in order:
//! inbound SAs are installed before we advertise new parameters, old
//! inbound SAs stay until the manager retires them.
//!
//! Outbound SA objects (`SharedOutboundSa`, whose atomic sequence number
//! the workers share) are created once per SPI and reused by every later
//! snapshot, so a republish never restarts a sequence.
use crate::config::OverlayConfig;
use sdwan_crypto::aead::DefaultEngine;
use sdwan_crypto::keyex::{
    DeriveError, DirectionalSa, Endpoint, Manager, ManagerAction, PeerParams, RekeyTimers,
    SaPolicy, SimplifiedSaParam,
};
use sdwan_crypto::outer::{DfPolicy, DscpPolicy, NattPorts, NATT_PORT};
use sdwan_crypto::{Cipher, OuterConfig, SharedOutboundSa};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use super::sa_history::SaHistory;

/// (local WAN id, remote WAN port).
pub type PairKey = (u32, Endpoint);

/// Outer TTL of tunnel packets.
const OUTER_TTL: u8 = 64;

/// An outbound SA in use for one pair, with its outer header.
#[derive(Debug, Clone)]
pub struct OutboundEntry {
    pub sa: DirectionalSa,
    /// Built once the pair's outer addresses are known.
    pub shared: Option<Arc<SharedOutboundSa<DefaultEngine>>>,
    /// Outer (source, destination, UDP port) the SA object was built for.
    pub outer: Option<(IpAddr, IpAddr, u16)>,
    /// Rekey already asked for this SPI (packet lifetime).
    pub rekey_requested: bool,
}

#[derive(Debug, Clone)]
pub struct InboundEntry {
    pub local_wan: u32,
    pub peer: Endpoint,
    pub sa: DirectionalSa,
}

/// What applying manager actions changed.
#[derive(Debug, Default)]
pub struct KeyEffects {
    /// Remote nodes whose pairs' SAs changed.
    pub nodes: BTreeSet<IpAddr>,
    /// Local WAN ids whose parameters must be re-advertised.
    pub readvertise: BTreeSet<u32>,
    /// Inbound SA set changed.
    pub inbound_changed: bool,
}

pub struct Keys {
    manager: Manager,
    cipher: Cipher,
    policy: SaPolicy,
    outbound: BTreeMap<PairKey, OutboundEntry>,
    inbound: BTreeMap<u32, InboundEntry>,
    /// Outbound SA objects that could not be built, by reason.
    pub build_errors: u64,
    /// Every SA put into service (digests): none goes into service twice.
    history: SaHistory,
    /// Re-derived SAs refused (each followed by a rekey of the port).
    pub reuse_refused: u64,
    /// The latest clock any call brought (for the rekeys `apply` starts).
    now: u64,
}

impl Keys {
    /// A fresh secret for every WAN port of `cfg`.
    pub fn new(cfg: &OverlayConfig) -> Result<Keys, DeriveError> {
        let mut keys = Keys::empty();
        for w in &cfg.wans {
            keys.manager.add_local_port(Endpoint {
                node: IpAddr::V4(cfg.node_id),
                port: w.id,
            })?;
        }
        Ok(keys)
    }

    fn empty() -> Keys {
        let cipher = Cipher::AesGcm128;
        let policy = SaPolicy::default();
        Keys {
            manager: Manager::new(cipher, RekeyTimers::default()).with_policy(policy),
            cipher,
            policy,
            outbound: BTreeMap::new(),
            inbound: BTreeMap::new(),
            build_errors: 0,
            history: SaHistory::default(),
            reuse_refused: 0,
            now: 0,
        }
    }

    /// What to advertise for local WAN `id` now (sub-TLVs 67, 68).
    pub fn local_params(&self, id: u32) -> Option<PeerParams> {
        self.manager.local_params(id)
    }

    /// Sub-TLV 70: the SA parameters we derive with.
    pub fn simplified_sa(&self) -> SimplifiedSaParam {
        SimplifiedSaParam {
            cipher: self.cipher,
            esn: self.policy.esn,
            natt: true,
            replay_window: u16::try_from(self.policy.replay_window).unwrap_or(u16::MAX),
            lifetime_seconds: u32::try_from(self.policy.lifetime.hard_seconds).unwrap_or(u32::MAX),
            spi_base: 0,
        }
    }

    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    pub fn outbound(&self) -> &BTreeMap<PairKey, OutboundEntry> {
        &self.outbound
    }

    pub fn inbound(&self) -> &BTreeMap<u32, InboundEntry> {
        &self.inbound
    }

    /// Outbound entries toward remote `node`.
    pub fn outbound_to(&self, node: IpAddr) -> impl Iterator<Item = (&PairKey, &OutboundEntry)> {
        self.outbound.iter().filter(move |(k, _)| k.1.node == node)
    }

    pub fn on_peer_params(
        &mut self,
        local_wan: u32,
        peer: Endpoint,
        params: &PeerParams,
        now: u64,
        fx: &mut KeyEffects,
    ) {
        self.now = now;
        let acts = self.manager.on_peer_params(local_wan, peer, params, now);
        self.apply(acts, fx);
    }

    /// Installs a `[[static_peer]]`'s SA pair (manual keys, no rekey).
    pub fn add_static(
        &mut self,
        c: &sdwan_crypto::sadb::StaticSaConfig,
        now: u64,
        fx: &mut KeyEffects,
    ) -> Result<(), sdwan_crypto::sadb::StaticSaError> {
        self.now = now;
        let acts = self.manager.add_static(c, now)?;
        self.apply(acts, fx);
        Ok(())
    }

    pub fn on_peer_withdrawn(&mut self, peer: Endpoint, now: u64, fx: &mut KeyEffects) {
        self.now = now;
        let acts = self.manager.on_peer_withdrawn(peer, now);
        self.apply(acts, fx);
    }

    pub fn on_inbound_used(&mut self, spi: u32, now: u64, fx: &mut KeyEffects) {
        self.now = now;
        let acts = self.manager.on_inbound_used(spi, now);
        self.apply(acts, fx);
    }

    pub fn rekey_local(&mut self, wan: u32, now: u64, fx: &mut KeyEffects) {
        self.now = now;
        let acts = self.manager.rekey_local(wan, now);
        self.apply(acts, fx);
    }

    /// Lifetimes: the manager's clock (seconds) and the packet lifetime of
    /// each outbound SA (`needs_rekey`, asked once per SPI).
    pub fn tick(&mut self, now: u64, fx: &mut KeyEffects) {
        self.now = now;
        let acts = self.manager.tick(now);
        self.apply(acts, fx);
        let wans: BTreeSet<u32> = self
            .outbound
            .iter_mut()
            .filter(|(_, e)| {
                !e.rekey_requested && e.shared.as_ref().is_some_and(|s| s.needs_rekey())
            })
            .map(|(k, e)| {
                e.rekey_requested = true;
                k.0
            })
            .collect();
        for w in wans {
            self.rekey_local(w, now, fx);
        }
    }

    /// Applies manager actions in order. An SA that was in service before
    /// (re-derived from unchanged parameters) is refused and its local
    /// port rekeyed instead; see [`SaHistory`].
    pub fn apply(&mut self, acts: Vec<ManagerAction>, fx: &mut KeyEffects) {
        let mut rekey = BTreeSet::new();
        for a in acts {
            match a {
                ManagerAction::InstallInbound {
                    local_port,
                    peer,
                    sa,
                } => {
                    let same = self
                        .inbound
                        .get(&sa.spi)
                        .is_some_and(|e| e.sa.keys.key() == sa.keys.key());
                    if same {
                        continue; // already installed: keep its replay window
                    }
                    if !self.history.first_use(&sa) {
                        self.reuse_refused += 1;
                        rekey.insert(local_port);
                        continue;
                    }
                    fx.inbound_changed = true;
                    self.inbound.insert(
                        sa.spi,
                        InboundEntry {
                            local_wan: local_port,
                            peer,
                            sa,
                        },
                    );
                }
                ManagerAction::UseOutbound {
                    local_port,
                    peer,
                    sa,
                } => {
                    let pair = (local_port, peer);
                    let same = self
                        .outbound
                        .get(&pair)
                        .is_some_and(|e| e.sa.spi == sa.spi && e.sa.keys.key() == sa.keys.key());
                    if same {
                        continue; // keep the shared object and its sequence
                    }
                    if !self.history.first_use(&sa) {
                        self.reuse_refused += 1;
                        rekey.insert(local_port);
                        continue;
                    }
                    fx.nodes.insert(peer.node);
                    self.outbound.insert(
                        pair,
                        OutboundEntry {
                            sa,
                            shared: None,
                            outer: None,
                            rekey_requested: false,
                        },
                    );
                }
                ManagerAction::RemoveInbound { spi } => {
                    fx.inbound_changed |= self.inbound.remove(&spi).is_some();
                }
                ManagerAction::RemoveOutbound { local_port, peer } => {
                    if self.outbound.remove(&(local_port, peer)).is_some() {
                        fx.nodes.insert(peer.node);
                    }
                }
                ManagerAction::Readvertise { local_port } => {
                    fx.readvertise.insert(local_port);
                }
            }
        }
        // Fresh nonces give fresh keys, so this does not come back here
        // for the same SAs.
        for wan in rekey {
            tracing::info!(wan, "re-derived SA refused; rekeying the port");
            let acts = self.manager.rekey_local(wan, self.now);
            self.apply(acts, fx);
        }
    }

    /// The shared SA object of `pair` for outer `src -> dst:udp`, built on
    /// first use and kept while SPI and outer addresses stay the same.
    pub fn shared_sa(
        &mut self,
        pair: &PairKey,
        src: IpAddr,
        dst: IpAddr,
        udp: u16,
    ) -> Option<Arc<SharedOutboundSa<DefaultEngine>>> {
        let e = self.outbound.get_mut(pair)?;
        if e.outer == Some((src, dst, udp)) {
            if let Some(s) = &e.shared {
                return Some(s.clone());
            }
        }
        let outer = OuterConfig {
            src,
            dst,
            natt: Some(NattPorts {
                src: NATT_PORT,
                dst: udp,
            }),
            ttl: OUTER_TTL,
            dscp: DscpPolicy::Copy,
            df: DfPolicy::Copy,
        };
        // Same SPI, new outer addresses: the copy continues the sequence
        // (a fresh object would restart it and repeat IVs under the key).
        let built = match &e.shared {
            Some(old) => old.with_outer(&e.sa.keys, outer),
            None => SharedOutboundSa::new(e.sa.params, &e.sa.keys, outer),
        };
        match built {
            Ok(s) => {
                let s = Arc::new(s);
                e.shared = Some(s.clone());
                e.outer = Some((src, dst, udp));
                Some(s)
            }
            Err(err) => {
                tracing::warn!(spi = e.sa.spi, ?err, "cannot build the outbound SA");
                self.build_errors += 1;
                None
            }
        }
    }
}
