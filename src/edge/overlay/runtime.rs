//! The overlay beside the control loop: starts the BGP speaker toward the
//! route reflectors, originates the dual UPDATE ([`super::origin`]), feeds
//! Loc-RIB changes, the clock, first use of inbound SAs and the operator's
//! route changes to the I/O-free [`Resolver`], and applies what it answers
//! in the make-before-break order:
//!
//! 1. publish the overlay snapshot (new paths, tunnels and inbound SAs
//!    exist before anything points at them),
//! 2. apply the FIB changes (routes to `NextHop::Overlay { path }`),
//! 3. re-originate the WAN routes whose key parameters changed (the peer
//!    may only use a new SA once our inbound side is installed: step 1),
//! 4. publish the status `sdwan show tunnels|sa|routes` reads.
//!
//! Everything here runs on the control thread; the workers only see the
//! snapshots.
use super::keys::Keys;
use super::origin::{self, Originator};
use super::resolver::{Resolver, Update};
use super::status::OverlayStatus;
use crate::config::OverlayConfig;
use crate::edge::state::EdgeState;
use anyhow::Context;
use sdwan_bgp::config::LocalRoute;
use sdwan_bgp::rib::{RibChange, RouteKey};
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::Prefix;
use sdwan_dataplane::fib::NextHop;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often timers (rekey, lifetimes) and inbound SA use are checked.
const TICK: Duration = Duration::from_secs(1);

pub struct OverlayRuntime {
    state: Arc<EdgeState>,
    cfg: OverlayConfig,
    originator: Originator,
    changes: crossbeam_channel::Receiver<RibChange>,
    resolver: Resolver,
    epoch: Instant,
    last_tick: Instant,
    /// Client (VRF, prefix) we currently originate.
    local: BTreeSet<(u16, Prefix)>,
    /// `EdgeState::routes_version` when `local` was computed.
    routes_version: u64,
    /// Inbound SPIs whose first authenticated packet was reported.
    used_inbound: BTreeSet<u32>,
    /// WAN ids the operator shut down (`POST /api/wan`).
    admin_down: BTreeSet<u32>,
    /// WAN ids whose port reports link down (PCI ports only: a vdev's
    /// link state says nothing about the path, e.g. a TAP moved into
    /// another namespace reads as down).
    link_down: BTreeSet<u32>,
    generation: u64,
    liveness: super::liveness_watch::LivenessWatch,
    last_liveness: Instant,
}

impl OverlayRuntime {
    /// `None` when the config has no overlay. Errors: the speaker could
    /// not start, keys could not be generated.
    pub fn start(state: Arc<EdgeState>) -> anyhow::Result<Option<OverlayRuntime>> {
        let Some(cfg) = state.cfg.overlay.clone() else {
            return Ok(None);
        };
        let speaker_cfg = origin::speaker_config(&cfg).map_err(anyhow::Error::msg)?;
        let speaker = Arc::new(
            Speaker::start(speaker_cfg)
                .map_err(anyhow::Error::msg)
                .context("starting the BGP speaker")?,
        );
        // The subscription starts with what the speaker has already learned
        // (its session may be up by now), then carries every change, our
        // own originations included.
        let changes = speaker.subscribe();
        let _ = state.speaker.set(speaker.clone());
        let keys = Keys::new(&cfg).map_err(|e| anyhow::anyhow!("WAN port keys: {e:?}"))?;
        let local = local_prefixes(&state);
        let routes_version = state.routes_version.load(Ordering::Acquire);
        let resolver = Resolver::new(cfg.clone(), local.clone(), keys);
        let mut originator = Originator::new(speaker);
        originator.wan_routes(&cfg, resolver.keys(), &BTreeSet::new());
        originator.client_routes(client_routes(&cfg, &local));
        originator.client_routes(summary_routes(&cfg));
        let mut rt = OverlayRuntime {
            state,
            cfg,
            originator,
            changes,
            epoch: Instant::now(),
            last_tick: Instant::now(),
            local,
            routes_version,
            used_inbound: BTreeSet::new(),
            admin_down: BTreeSet::new(),
            link_down: BTreeSet::new(),
            generation: 0,
            liveness: Default::default(),
            last_liveness: Instant::now(),
            resolver,
        };
        let first = rt.resolver.initial(0);
        rt.apply(first);
        tracing::info!(
            node = %rt.cfg.node_id,
            wans = rt.cfg.wans.len(),
            vrfs = rt.cfg.vrfs.len(),
            peers = rt.cfg.peers.len(),
            "overlay started"
        );
        Ok(Some(rt))
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_secs()
    }

    /// One round of the control loop (called every few milliseconds).
    pub fn poll(&mut self) {
        let batch: Vec<RibChange> = self.changes.try_iter().collect();
        if !batch.is_empty() {
            let now = self.now();
            let u = self.resolver.on_rib_changes(batch, now);
            self.apply(u);
        }
        let rekeys: Vec<u32> = std::mem::take(
            &mut *self
                .state
                .rekey_requests
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for wan in rekeys {
            tracing::info!(wan, "rekey requested");
            let now = self.now();
            let u = self.resolver.rekey_local(wan, now);
            self.apply(u);
        }
        let version = self.state.routes_version.load(Ordering::Acquire);
        if version != self.routes_version {
            self.routes_version = version;
            self.local_routes_changed();
        }
        if self.last_liveness.elapsed() >= super::resolver::KEEPALIVE_INTERVAL {
            self.last_liveness = Instant::now();
            self.track_liveness();
        }
        if self.last_tick.elapsed() >= TICK {
            self.last_tick = Instant::now();
            let now = self.now();
            let u = self.resolver.tick(now);
            self.apply(u);
            self.report_inbound_use();
            self.track_links();
        }
        let admin: Vec<(u32, bool)> = std::mem::take(
            &mut *self
                .state
                .wan_requests
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for (wan, up) in admin {
            tracing::info!(wan, up, "WAN port set administratively");
            if up {
                self.admin_down.remove(&wan);
            } else {
                self.admin_down.insert(wan);
            }
            self.wan_state_changed(wan);
        }
    }

    /// The operator changed routes: re-originate the client prefixes that
    /// appeared, withdraw the ones that went, and let the resolver know.
    fn local_routes_changed(&mut self) {
        let new = local_prefixes(&self.state);
        if new == self.local {
            return;
        }
        let gone: Vec<(u16, Prefix)> = self.local.difference(&new).copied().collect();
        let added: BTreeSet<(u16, Prefix)> = new.difference(&self.local).copied().collect();
        let summaries = origin::summary_prefixes(&self.cfg);
        for (vrf, prefix) in gone {
            // A hub's summary of the same prefix stays announced.
            if summaries.contains(&(vrf, prefix)) {
                continue;
            }
            // Another VRF may still have the same prefix under its own RD.
            if let Some(v) = self.cfg.vrfs.iter().find(|v| v.id == vrf) {
                self.originator.withdraw(RouteKey::Vpn { rd: v.rd, prefix });
            }
        }
        self.originator
            .client_routes(client_routes(&self.cfg, &added));
        self.local = new.clone();
        let u = self.resolver.set_local_prefixes(new);
        self.apply(u);
    }

    /// Tells the resolver about inbound SAs that carried their first
    /// authenticated packet (make-before-break: the old SA may retire).
    fn report_inbound_use(&mut self) {
        let totals = self.state.overlay_counters.totals();
        let installed: BTreeSet<u32> = self.resolver.keys().inbound().keys().copied().collect();
        self.used_inbound.retain(|spi| installed.contains(spi));
        let fresh: Vec<u32> = totals
            .inbound
            .iter()
            .filter(|(k, t)| t.packets > 0 && installed.contains(&k.spi))
            .map(|(k, _)| k.spi)
            .filter(|spi| !self.used_inbound.contains(spi))
            .collect();
        for spi in fresh {
            self.used_inbound.insert(spi);
            let now = self.now();
            let u = self.resolver.on_inbound_used(spi, now);
            self.apply(u);
        }
    }

    fn apply(&mut self, u: Update) {
        if u.is_empty() && self.generation != 0 {
            return;
        }
        if let Some(table) = u.overlay {
            let mut w = self
                .state
                .overlay_writer
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            self.generation = w.publish(table);
        }
        if !u.fib.is_empty() {
            let n = u.fib.len();
            let report = self.state.apply_routes(u.fib);
            for (i, e) in &report.rejected {
                tracing::warn!(change = i, error = %e, "overlay route refused by the FIB");
            }
            tracing::debug!(
                changes = n,
                generation = report.generation,
                "overlay routes applied"
            );
        }
        if !u.readvertise.is_empty() {
            self.originator
                .wan_routes(&self.cfg, self.resolver.keys(), &self.wans_down());
        }
        self.state
            .overlay_status
            .store(Arc::new(OverlayStatus::of(&self.resolver, self.generation)));
    }

    /// Tunnels that stopped sending keepalives leave the paths; they
    /// rejoin at their next keepalive.
    fn track_liveness(&mut self) {
        let totals = self.state.overlay_counters.totals();
        let silent = self.liveness.dead(&totals, Instant::now());
        let dead: BTreeSet<_> = silent
            .iter()
            .filter_map(|(port, remote)| self.resolver.pair_of(*port, *remote))
            .collect();
        if dead != *self.resolver.dead_tunnels() {
            for (port, remote) in &silent {
                tracing::warn!(port, %remote, "tunnel silent: no keepalive, off every path");
            }
            let u = self.resolver.set_dead(dead);
            self.apply(u);
        }
    }

    fn wans_down(&self) -> BTreeSet<u32> {
        self.admin_down.union(&self.link_down).copied().collect()
    }

    /// Link state of the WAN ports on real NICs.
    fn track_links(&mut self) {
        let wans: Vec<(u32, u16)> = self.cfg.wans.iter().map(|w| (w.id, w.port)).collect();
        for (id, port) in wans {
            // A WAN sub-interface follows its parent's link.
            let i = self.state.cfg.wire_port(port as usize);
            if self.state.cfg.ports.get(i).is_none_or(|p| p.is_vdev) {
                continue;
            }
            let Some(p) = self.state.ports.get(i) else {
                continue;
            };
            let down = !p.link().up;
            if down != self.link_down.contains(&id) {
                tracing::warn!(wan = id, link_up = !down, "WAN port link changed");
                if down {
                    self.link_down.insert(id);
                } else {
                    self.link_down.remove(&id);
                }
                self.wan_state_changed(id);
            }
        }
    }

    /// A WAN port went down or came back: its tunnels leave or rejoin the
    /// paths here, and its routes are withdrawn or re-originated so the
    /// other edges stop (or start) sending to it.
    fn wan_state_changed(&mut self, wan: u32) {
        let down = self.wans_down();
        let u = self.resolver.set_wan_up(wan, !down.contains(&wan));
        self.apply(u);
        self.originator
            .wan_routes(&self.cfg, self.resolver.keys(), &down);
    }

    /// New VPN attributes of the client VRFs (config reload): our client
    /// routes and hub summaries go out again with the new RD / RTs / label
    /// / Color (those under an old RD, and summaries no longer configured,
    /// withdrawn), the WAN routes with the new RT set, and the resolver
    /// re-imports.
    pub fn reconfigure(&mut self, cfg: OverlayConfig) {
        let before = vpn_keys(&self.cfg, &self.local);
        let after = vpn_keys(&cfg, &self.local);
        for key in before.difference(&after) {
            self.originator.withdraw(*key);
        }
        self.cfg = cfg.clone();
        self.originator
            .client_routes(client_routes(&self.cfg, &self.local));
        self.originator.client_routes(summary_routes(&self.cfg));
        self.originator
            .wan_routes(&self.cfg, self.resolver.keys(), &self.wans_down());
        let u = self.resolver.reconfigure(cfg);
        self.apply(u);
    }

    /// Withdraws our routes (the sessions close when the speaker drops).
    pub fn shutdown(mut self) {
        self.originator.withdraw_all();
    }
}

/// The VPN routes of `prefixes`.
fn client_routes(cfg: &OverlayConfig, prefixes: &BTreeSet<(u16, Prefix)>) -> Vec<LocalRoute> {
    origin::vpn_routes(cfg, prefixes.iter().copied())
}

/// The summary routes of the hub VRFs (hub-and-spoke topologies).
fn summary_routes(cfg: &OverlayConfig) -> Vec<LocalRoute> {
    origin::vpn_routes(cfg, origin::summary_prefixes(cfg))
}

/// The keys of every VPN route we originate under `cfg`: the local
/// prefixes and the summaries, each under its VRF's RD.
fn vpn_keys(cfg: &OverlayConfig, local: &BTreeSet<(u16, Prefix)>) -> BTreeSet<RouteKey> {
    let summaries = origin::summary_prefixes(cfg);
    local
        .iter()
        .chain(summaries.iter())
        .filter_map(|(vrf, prefix)| {
            let v = cfg.vrfs.iter().find(|v| v.id == *vrf)?;
            Some(RouteKey::Vpn {
                rd: v.rd,
                prefix: *prefix,
            })
        })
        .collect()
}

/// Client (VRF, prefix) of the FIB: connected subnets and static routes of
/// every client VRF, i.e. every route of a VRF other than `default` that
/// is neither one of our own addresses nor learned through the overlay.
fn local_prefixes(state: &EdgeState) -> BTreeSet<(u16, Prefix)> {
    let fib = state.fib.load_full();
    fib.routes()
        .filter(|r| r.vrf != 0)
        .filter(|r| !matches!(r.next_hop, NextHop::Local | NextHop::Overlay { .. }))
        .filter_map(|r| Some((r.vrf, Prefix::new(r.prefix, r.len)?)))
        .collect()
}
