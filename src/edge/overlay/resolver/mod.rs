//! Recursive resolution of VPN routes to WAN-port tunnels (RFC 9012 §6,
//! draft-ietf-bess-bgp-sdwan-usage §6), I/O-free: Loc-RIB changes, key
//! events and a clock in; FIB route changes, one overlay snapshot and the
//! WAN ports to re-advertise out ([`Update`]).
//!
//! ```text
//! VPN route (RD, prefix) ── RTs ∩ import ──► VRF v          (RFC 4364 §4.3.1)
//!        │ next hop = remote node id
//!        ▼
//! remote WAN ports of that node  (SAFI 74 routes, else the node-id/32
//!        │                        route's tunnel TLVs)
//!        │ Color community of the route ∋ port color (none: all)
//!        ▼
//! tunnels = (our WAN port of the same color, remote port) with an outbound SA
//!        ▼
//! FIB: v, prefix -> Overlay { path };  path = (inner encap, tunnels)
//! ```
//!
//! A change re-resolves only the (VRF, prefix) keys it touches: a VPN route
//! change its prefix in the VRFs importing it, a remote port or SA change
//! the routes whose next hop is that node. Path ids are stable while used
//! (the FIB holds them); a freed id is reused only in a later batch.
mod liveness;
pub use liveness::{DEAD_AFTER, KEEPALIVE_INTERVAL};
mod local_changes;
mod table;

use super::keys::{KeyEffects, Keys, PairKey};
use super::tunnel_attr::{remote_port, RemotePort, TunnelAttrError};
use crate::config::{OverlayConfig, OverlayVrf, VrfEncap};
use sdwan_bgp::config::RouteTarget;
use sdwan_bgp::rib::{Path, RibChange, RouteKey, Source};
use sdwan_bgp::wire::{Prefix, Rd, SdwanNlri};
use sdwan_crypto::keyex::Endpoint;
use sdwan_crypto::sadb::{StaticSaConfig, TunnelKey as CryptoTunnelKey};
use sdwan_dataplane::fib::{NextHop, RouteChange};
use sdwan_dataplane::overlay::{InnerEncap, OverlayTable, PathId};
use sdwan_policy::classifier::PolicySnapshot;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

/// A remote client route as learned (not ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpnRoute {
    pub label: u32,
    /// Remote node id (canonical form of the next hop).
    pub node: IpAddr,
    pub rts: Vec<RouteTarget>,
    /// Color communities, sorted; empty: every tunnel may be used.
    pub colors: Vec<u32>,
    pub local_pref: u32,
}

/// What a path is: the remote node, the inner encapsulation, the colors
/// its tunnels may have.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PathKey {
    pub node: IpAddr,
    pub inner: InnerEncap,
    pub colors: Vec<u32>,
}

/// One FIB route we installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub path: PathId,
    pub rd: Rd,
    pub label: u32,
}

/// Output of one batch of events.
#[derive(Debug, Default)]
pub struct Update {
    /// Apply after publishing `overlay`.
    pub fib: Vec<RouteChange>,
    /// The new snapshot, when anything in it changed.
    pub overlay: Option<OverlayTable>,
    /// Local WAN ids whose BGP routes must be re-originated.
    pub readvertise: BTreeSet<u32>,
}

impl Update {
    pub fn is_empty(&self) -> bool {
        self.fib.is_empty() && self.overlay.is_none() && self.readvertise.is_empty()
    }
}

/// Counted refusals.
#[derive(Debug, Default, Clone)]
pub struct ResolverErrors {
    /// Unusable tunnel TLVs, by reason.
    pub tunnel_attr: BTreeMap<&'static str, u64>,
    /// VPN routes without a label.
    pub vpn_without_label: u64,
    /// Remote routes for a prefix the VRF has locally (local wins).
    pub shadowed_by_local: u64,
    /// `[[static_peer]]` SA pairs the SADB refused (SPI collision...).
    pub static_sa_refused: u64,
}

#[derive(Default)]
struct Batch {
    nodes: BTreeSet<IpAddr>,
    keys: BTreeSet<(u16, Prefix)>,
    overlay_dirty: bool,
    fx: KeyEffects,
}

pub struct Resolver {
    cfg: OverlayConfig,
    node_id: IpAddr,
    /// Local prefixes per VRF (connected + static): never overridden.
    local_prefixes: BTreeSet<(u16, Prefix)>,
    keys: Keys,
    vpn: BTreeMap<(Rd, Prefix), VpnRoute>,
    by_prefix: BTreeMap<Prefix, BTreeSet<Rd>>,
    by_node: BTreeMap<IpAddr, BTreeSet<(Rd, Prefix)>>,
    sdwan_ports: BTreeMap<SdwanNlri, RemotePort>,
    fallback_ports: BTreeMap<IpAddr, Vec<RemotePort>>,
    /// The ports in use per node (SAFI 74 ones if any, else fallback).
    effective: BTreeMap<IpAddr, Vec<RemotePort>>,
    slots: Vec<Option<(PathKey, usize)>>,
    path_ids: BTreeMap<PathKey, PathId>,
    free: Vec<PathId>,
    freed_now: Vec<PathId>,
    installed: BTreeMap<(u16, Prefix), Installed>,
    /// Local WAN ids that are down (admin or link): no tunnel leaves them.
    wans_down: BTreeSet<u32>,
    /// Tunnels whose keepalives stopped (liveness): kept in the snapshot's
    /// tunnel list (so their keepalives are still seen) but on no path.
    dead: BTreeSet<PairKey>,
    /// The compiled `[[policy]]` rules, shared by every snapshot (one
    /// generation per config, so flow caches keep their entries).
    policy: Option<Arc<PolicySnapshot>>,
    /// `[[static_peer]]` ports by node (= the peer's endpoint address).
    static_ports: BTreeMap<IpAddr, RemotePort>,
    /// `[[static_peer.route]]`: (VRF, prefix) → (node, the peer's label).
    static_routes: BTreeMap<(u16, Prefix), (IpAddr, u32)>,
    pub errors: ResolverErrors,
}

/// The remote port id of a `[[static_peer]]` (its only port).
pub const STATIC_PEER_PORT: u32 = 0;

/// The compiled `[[policy]]` rules (`None`: no rules, nothing to classify;
/// the config check already compiled them once, so this cannot fail).
fn compile_policy(p: &crate::config::PolicyConfig, generation: u64) -> Option<Arc<PolicySnapshot>> {
    if p.is_empty() {
        return None;
    }
    PolicySnapshot::compile(&p.rules, generation)
        .ok()
        .map(Arc::new)
}

pub fn inner_encap(kind: VrfEncap, label: u32) -> InnerEncap {
    match kind {
        VrfEncap::Mpls => InnerEncap::Mpls { label },
        VrfEncap::Gre => InnerEncap::Gre { key: label },
        VrfEncap::Vxlan => InnerEncap::Vxlan { vni: label },
    }
}

impl Resolver {
    /// `local_prefixes`: (VRF id, prefix) of the connected subnets and
    /// static routes of the client VRFs.
    pub fn new(
        cfg: OverlayConfig,
        local_prefixes: BTreeSet<(u16, Prefix)>,
        keys: Keys,
    ) -> Resolver {
        let mut static_ports = BTreeMap::new();
        let mut static_routes = BTreeMap::new();
        for p in &cfg.static_peers {
            let color = cfg.wan_by_id(p.wan).map_or(0, |w| w.color);
            static_ports.insert(
                p.endpoint,
                RemotePort {
                    node: p.endpoint,
                    port: STATIC_PEER_PORT,
                    color,
                    endpoint: p.endpoint,
                    udp_port: p.udp_port,
                    params: None,
                },
            );
            for r in &p.routes {
                static_routes.insert((r.vrf, r.prefix), (p.endpoint, r.label));
            }
        }
        let policy = (!cfg.policy.is_empty())
            .then(|| {
                PolicySnapshot::compile(&cfg.policy.rules, 1)
                    .ok()
                    .map(Arc::new)
            })
            .flatten();
        Resolver {
            wans_down: BTreeSet::new(),
            dead: BTreeSet::new(),
            policy,
            static_ports,
            static_routes,
            node_id: IpAddr::V4(cfg.node_id),
            cfg,
            local_prefixes,
            keys,
            vpn: BTreeMap::new(),
            by_prefix: BTreeMap::new(),
            by_node: BTreeMap::new(),
            sdwan_ports: BTreeMap::new(),
            fallback_ports: BTreeMap::new(),
            effective: BTreeMap::new(),
            slots: Vec::new(),
            path_ids: BTreeMap::new(),
            free: Vec::new(),
            freed_now: Vec::new(),
            installed: BTreeMap::new(),
            errors: ResolverErrors::default(),
        }
    }

    pub fn config(&self) -> &OverlayConfig {
        &self.cfg
    }
    pub fn keys(&self) -> &Keys {
        &self.keys
    }
    pub fn installed(&self) -> &BTreeMap<(u16, Prefix), Installed> {
        &self.installed
    }
    pub fn remote_ports(&self) -> &BTreeMap<IpAddr, Vec<RemotePort>> {
        &self.effective
    }
    pub fn path_key(&self, id: PathId) -> Option<&PathKey> {
        self.slots.get(id as usize)?.as_ref().map(|(k, _)| k)
    }

    /// Usable tunnels of path `id` now.
    pub fn path_tunnel_count(&self, id: PathId) -> usize {
        self.path_key(id)
            .map_or(0, |k| self.tunnels_for(k.node, &k.colors).len())
    }

    /// The first snapshot: installs the `[[static_peer]]` SAs and routes.
    pub fn initial(&mut self, now: u64) -> Update {
        let mut b = Batch {
            overlay_dirty: true,
            ..Batch::default()
        };
        let peers = self.cfg.static_peers.clone();
        for p in &peers {
            let c = StaticSaConfig {
                tunnel: CryptoTunnelKey {
                    peer_node: p.endpoint,
                    local_port: p.wan,
                    remote_port: STATIC_PEER_PORT,
                },
                cipher: p.cipher,
                spi_in: p.spi_in,
                spi_out: p.spi_out,
                key_in: p.key_in.0.clone(),
                key_out: p.key_out.0.clone(),
                esn: p.esn,
                replay_window: p.replay_window,
            };
            if let Err(e) = self.keys.add_static(&c, now, &mut b.fx) {
                self.errors.static_sa_refused += 1;
                tracing::warn!(peer = %p.name, error = ?e, "static peer SAs refused");
                continue;
            }
            if let Some(port) = self.static_ports.get(&p.endpoint) {
                self.effective.insert(p.endpoint, vec![port.clone()]);
            }
            b.nodes.insert(p.endpoint);
        }
        self.finish(b)
    }

    pub fn on_rib_changes(
        &mut self,
        changes: impl IntoIterator<Item = RibChange>,
        now: u64,
    ) -> Update {
        let mut b = Batch::default();
        let mut touched_nodes = BTreeSet::new();
        for c in changes {
            match c.key {
                RouteKey::Vpn { rd, prefix } => {
                    self.vpn_change(rd, prefix, c.best.as_ref(), &mut b)
                }
                RouteKey::Sdwan { sdwan } => {
                    if self.sdwan_change(sdwan, c.best.as_ref()) {
                        touched_nodes.insert(sdwan.node_id);
                    }
                }
                RouteKey::Unicast { prefix } => {
                    if let Some(node) = self.fallback_change(prefix, c.best.as_ref()) {
                        touched_nodes.insert(node);
                    }
                }
                RouteKey::Rtc { .. } => {}
            }
        }
        for node in touched_nodes {
            self.refresh_node_ports(node, now, &mut b);
        }
        self.finish(b)
    }

    /// Clock (seconds): rekey timers and lifetimes.
    pub fn tick(&mut self, now: u64) -> Update {
        let mut b = Batch::default();
        self.keys.tick(now, &mut b.fx);
        self.finish(b)
    }

    /// A worker authenticated the first packet on inbound `spi`.
    pub fn on_inbound_used(&mut self, spi: u32, now: u64) -> Update {
        let mut b = Batch::default();
        self.keys.on_inbound_used(spi, now, &mut b.fx);
        self.finish(b)
    }

    /// Operator-requested rekey of local WAN `id`.
    pub fn rekey_local(&mut self, id: u32, now: u64) -> Update {
        let mut b = Batch::default();
        self.keys.rekey_local(id, now, &mut b.fx);
        self.finish(b)
    }

    fn vpn_change(&mut self, rd: Rd, prefix: Prefix, best: Option<&Path>, b: &mut Batch) {
        let new = best.and_then(|p| self.vpn_route_of(p));
        let old = self.vpn.remove(&(rd, prefix));
        if let Some(o) = &old {
            if let Some(s) = self.by_node.get_mut(&o.node) {
                s.remove(&(rd, prefix));
            }
            if let Some(s) = self.by_prefix.get_mut(&prefix) {
                s.remove(&rd);
            }
        }
        for r in old.iter().chain(new.iter()) {
            for v in &self.cfg.vrfs {
                if imports(v, &r.rts) {
                    b.keys.insert((v.id, prefix));
                }
            }
        }
        if let Some(n) = new {
            self.by_node.entry(n.node).or_default().insert((rd, prefix));
            self.by_prefix.entry(prefix).or_default().insert(rd);
            self.vpn.insert((rd, prefix), n);
        }
    }

    fn vpn_route_of(&mut self, p: &Path) -> Option<VpnRoute> {
        let node = p.next_hop.to_canonical();
        if p.source == Source::Local || node == self.node_id {
            return None;
        }
        // The RIB keeps the label field as sent (label << 4 | bottom of
        // stack, RFC 8277 §2).
        let Some(label) = p.label.map(|raw| raw >> 4) else {
            self.errors.vpn_without_label += 1;
            return None;
        };
        let ext = &p.attrs.ext_communities;
        let rts = ext
            .iter()
            .filter(|e| e.is_route_target())
            .map(|e| RouteTarget(*e))
            .collect();
        let mut colors: Vec<u32> = ext.iter().filter_map(|e| e.as_color()).collect();
        colors.sort_unstable();
        colors.dedup();
        Some(VpnRoute {
            label,
            node,
            rts,
            colors,
            local_pref: p.attrs.local_pref.unwrap_or(100),
        })
    }

    fn count(&mut self, e: TunnelAttrError) {
        *self.errors.tunnel_attr.entry(e.as_str()).or_default() += 1;
    }

    /// Returns whether the SAFI 74 port set changed.
    fn sdwan_change(&mut self, nlri: SdwanNlri, best: Option<&Path>) -> bool {
        let node = nlri.node_id.to_canonical();
        if node == self.node_id {
            return false;
        }
        let new = best.filter(|p| p.source != Source::Local).and_then(|p| {
            let Some(te) = &p.attrs.tunnel_encap else {
                self.count(TunnelAttrError::NoTunnelAttribute);
                return None;
            };
            let mut last = TunnelAttrError::NoSdwanTunnel;
            for t in &te.tunnels {
                match remote_port(
                    t,
                    node,
                    Some(nlri.port_local_id),
                    Some(nlri.color),
                    p.next_hop,
                ) {
                    Ok(r) => return Some(r),
                    Err(e) => last = e,
                }
            }
            self.count(last);
            None
        });
        match new {
            Some(r) => self.sdwan_ports.insert(nlri, r.clone()).as_ref() != Some(&r),
            None => self.sdwan_ports.remove(&nlri).is_some(),
        }
    }

    /// A unicast host route of a remote node with tunnel TLVs (the
    /// fallback form). Returns the node when its fallback ports changed.
    fn fallback_change(&mut self, prefix: Prefix, best: Option<&Path>) -> Option<IpAddr> {
        let host = if prefix.addr().is_ipv4() { 32 } else { 128 };
        let node = prefix.addr().to_canonical();
        if prefix.len() != host || node == self.node_id {
            return None;
        }
        let mut ports = Vec::new();
        if let Some(p) = best.filter(|p| p.source != Source::Local) {
            if let Some(te) = &p.attrs.tunnel_encap {
                for t in &te.tunnels {
                    match remote_port(t, node, None, None, p.next_hop) {
                        Ok(r) => ports.push(r),
                        Err(e) => self.count(e),
                    }
                }
            }
        }
        ports.sort_by_key(|r| r.port);
        let old = if ports.is_empty() {
            self.fallback_ports.remove(&node)
        } else {
            self.fallback_ports.insert(node, ports.clone())
        };
        (old.unwrap_or_default() != ports).then_some(node)
    }

    /// Recomputes the effective ports of `node` and tells the key manager
    /// what appeared, changed or went away.
    fn refresh_node_ports(&mut self, node: IpAddr, now: u64, b: &mut Batch) {
        let from_sdwan: Vec<RemotePort> = self
            .sdwan_ports
            .values()
            .filter(|r| r.node == node)
            .cloned()
            .collect();
        let mut new = if from_sdwan.is_empty() {
            self.fallback_ports.get(&node).cloned().unwrap_or_default()
        } else {
            from_sdwan
        };
        // A static peer's port stays whatever BGP says about that address.
        if let Some(p) = self.static_ports.get(&node) {
            new.retain(|r| r.port != STATIC_PEER_PORT);
            new.push(p.clone());
        }
        new.sort_by_key(|r| r.port);
        new.dedup_by_key(|r| r.port);
        let old = self.effective.remove(&node).unwrap_or_default();
        if old == new {
            if !new.is_empty() {
                self.effective.insert(node, new);
            }
            return;
        }
        b.nodes.insert(node);
        b.overlay_dirty = true;
        for o in &old {
            let same_pairing = new.iter().find(|n| n.port == o.port).is_some_and(|n| {
                n.color == o.color && n.endpoint == o.endpoint && n.udp_port == o.udp_port
            });
            if !same_pairing {
                self.keys.on_peer_withdrawn(o.peer(), now, &mut b.fx);
            }
        }
        for n in &new {
            let prev = old.iter().find(|o| o.port == n.port);
            if prev == Some(n) {
                continue;
            }
            let Some(params) = &n.params else {
                continue; // static: keys are configured, not agreed
            };
            let locals: Vec<u32> = self
                .cfg
                .wans
                .iter()
                .filter(|w| w.color == n.color && w.source_for(n.endpoint).is_some())
                .map(|w| w.id)
                .collect();
            for w in locals {
                self.keys
                    .on_peer_params(w, n.peer(), params, now, &mut b.fx);
            }
        }
        if !new.is_empty() {
            self.effective.insert(node, new);
        }
    }

    /// Our local WAN of `id`.
    fn wan(&self, id: u32) -> Option<&crate::config::ResolvedWan> {
        self.cfg.wan_by_id(id)
    }

    fn remote(&self, peer: &Endpoint) -> Option<&RemotePort> {
        self.effective
            .get(&peer.node)?
            .iter()
            .find(|r| r.port == peer.port)
    }

    /// Pairs usable toward `node` for `colors` (empty: any), sorted.
    fn tunnels_for(&self, node: IpAddr, colors: &[u32]) -> Vec<PairKey> {
        self.keys
            .outbound_to(node)
            .filter(|(k, _)| {
                if self.wans_down.contains(&k.0) || self.dead.contains(k) {
                    return false;
                }
                let Some(r) = self.remote(&k.1) else {
                    return false;
                };
                let local_color = self.wan(k.0).map(|w| w.color);
                local_color == Some(r.color) && (colors.is_empty() || colors.contains(&r.color))
            })
            .map(|(k, _)| *k)
            .collect()
    }

    /// The route (and its path) `vrf` should use for `prefix`, if any.
    fn select(&self, vrf: &OverlayVrf, prefix: Prefix) -> Option<(PathKey, Rd, u32)> {
        if self.local_prefixes.contains(&(vrf.id, prefix)) {
            return None;
        }
        // A configured static peer route wins over anything learned.
        if let Some(&(node, label)) = self.static_routes.get(&(vrf.id, prefix)) {
            return (!self.tunnels_for(node, &[]).is_empty()).then(|| {
                (
                    PathKey {
                        node,
                        inner: inner_encap(vrf.encap, label),
                        colors: Vec::new(),
                    },
                    vrf.rd,
                    label,
                )
            });
        }
        let rds = self.by_prefix.get(&prefix)?;
        rds.iter()
            .filter_map(|rd| self.vpn.get(&(*rd, prefix)).map(|r| (rd, r)))
            .filter(|(_, r)| imports(vrf, &r.rts))
            .filter(|(_, r)| !self.tunnels_for(r.node, &r.colors).is_empty())
            // Highest LOCAL_PREF, then lowest node id, then lowest RD.
            .min_by_key(|(rd, r)| (std::cmp::Reverse(r.local_pref), r.node, **rd))
            .map(|(rd, r)| {
                (
                    PathKey {
                        node: r.node,
                        inner: inner_encap(vrf.encap, r.label),
                        colors: r.colors.clone(),
                    },
                    *rd,
                    r.label,
                )
            })
    }

    fn acquire(&mut self, key: PathKey) -> PathId {
        if let Some(&id) = self.path_ids.get(&key) {
            if let Some(Some((_, n))) = self.slots.get_mut(id as usize) {
                *n += 1;
            }
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as PathId
            }
        };
        self.slots[id as usize] = Some((key.clone(), 1));
        self.path_ids.insert(key, id);
        id
    }

    fn release(&mut self, id: PathId) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        let Some((key, n)) = slot else {
            return;
        };
        *n -= 1;
        if *n == 0 {
            self.path_ids.remove(key);
            *slot = None;
            self.freed_now.push(id);
        }
    }

    fn finish(&mut self, mut b: Batch) -> Update {
        b.nodes.extend(b.fx.nodes.iter().copied());
        if !b.nodes.is_empty() || b.fx.inbound_changed {
            b.overlay_dirty = true;
        }
        // Routes whose next hop is an affected node, learned or installed.
        for node in &b.nodes {
            if let Some(s) = self.by_node.get(node) {
                for (_, prefix) in s {
                    for v in &self.cfg.vrfs {
                        b.keys.insert((v.id, *prefix));
                    }
                }
            }
            for (k, inst) in &self.installed {
                if self.path_key(inst.path).is_some_and(|p| p.node == *node) {
                    b.keys.insert(*k);
                }
            }
            for (k, (n, _)) in &self.static_routes {
                if n == node {
                    b.keys.insert(*k);
                }
            }
        }
        let mut fib = Vec::new();
        for (vrf_id, prefix) in std::mem::take(&mut b.keys) {
            let Some(vrf) = self.cfg.vrfs.iter().find(|v| v.id == vrf_id) else {
                continue;
            };
            let chosen = self.select(vrf, prefix);
            if chosen.is_none()
                && self.local_prefixes.contains(&(vrf_id, prefix))
                && self.by_prefix.contains_key(&prefix)
            {
                self.errors.shadowed_by_local += 1;
            }
            let old = self.installed.get(&(vrf_id, prefix)).cloned();
            match (chosen, old) {
                (None, None) => {}
                (None, Some(o)) => {
                    self.installed.remove(&(vrf_id, prefix));
                    self.release(o.path);
                    b.overlay_dirty = true;
                    fib.push(RouteChange::Remove {
                        vrf: vrf_id,
                        prefix: prefix.addr(),
                        len: prefix.len(),
                    });
                }
                (Some((key, rd, label)), old) => {
                    let same = old
                        .as_ref()
                        .is_some_and(|o| self.path_key(o.path) == Some(&key));
                    if same {
                        if let Some(o) = self.installed.get_mut(&(vrf_id, prefix)) {
                            o.rd = rd;
                            o.label = label;
                        }
                        continue;
                    }
                    let id = self.acquire(key);
                    if let Some(o) = old {
                        self.release(o.path);
                    }
                    b.overlay_dirty = true;
                    self.installed.insert(
                        (vrf_id, prefix),
                        Installed {
                            path: id,
                            rd,
                            label,
                        },
                    );
                    fib.push(RouteChange::Add {
                        vrf: vrf_id,
                        prefix: prefix.addr(),
                        len: prefix.len(),
                        next_hop: NextHop::Overlay { path: id },
                    });
                }
            }
        }
        let overlay = b.overlay_dirty.then(|| self.build_table());
        // Ids freed in this batch become reusable from the next one, when
        // no published FIB points at them any more.
        self.free.append(&mut self.freed_now);
        // Smallest id first (popped from the end).
        self.free.sort_unstable_by(|a, b| b.cmp(a));
        Update {
            fib,
            overlay,
            readvertise: b.fx.readvertise,
        }
    }
}

fn imports(v: &OverlayVrf, rts: &[RouteTarget]) -> bool {
    rts.iter().any(|rt| v.import.contains(rt))
}
