//! The speaker core, I/O-free: one FSM per peer, the Loc-RIB, per-peer
//! Adj-RIB-Out, and route reflection with constrained propagation. It takes
//! connection events and raw message bytes and returns [`IoAction`]s; the
//! tokio runtime (`runtime`) only moves bytes. Tests wire several routers
//! together in memory.

mod export;
mod ingest;
mod pack;
mod peers;
mod session;
pub mod status;

use crate::config::{LocalRoute, PeerConfig, SdwanLocalRoute, SpeakerConfig};
use crate::fsm::{Event, Fsm, FsmConfig, Negotiated, Output, State};
use crate::rib::{LocRib, Path, RibChange, RouteKey, Source};
use crate::wire::message::MAX_LEN;
use crate::wire::nlri::RtcNlri;
use crate::wire::Family;
use crate::wire::{
    decode_message, AsPath, DecodeCtx, EncodeCtx, ExtCommunity, Message, Origin, PathAttributes,
};
use status::PeerCounters;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Index of a peer slot in the router. Peers added at run time
/// ([`Router::add_peer`]) get the next index; a removed peer's slot stays
/// as a tombstone and its id is never reused (see `peers.rs`).
pub type PeerId = usize;

/// What the runtime must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoAction {
    Connect(PeerId),
    Send(PeerId, Vec<u8>),
    Close(PeerId),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OutRoute {
    /// ADD-PATH path identifier (RFC 7911) when sent with one.
    path_id: Option<u32>,
    label: Option<u32>,
    next_hop: IpAddr,
    attrs: Arc<PathAttributes>,
}

pub(crate) struct Peer {
    pub(crate) cfg: PeerConfig,
    pub(crate) fsm: Fsm,
    /// Route Targets this peer may receive; `None`: unrestricted.
    pub(crate) authorized: Option<Vec<ExtCommunity>>,
    /// RT-Constraint routes received (RFC 4684), when negotiated.
    pub(crate) rtc: Vec<RtcNlri>,
    /// The peer's RT-Constraint End-of-RIB arrived this session (until
    /// then it gets no VPN / SD-WAN route, RFC 4684 §6).
    pub(crate) rtc_eor: bool,
    /// End-of-RIB markers waiting for `rtc_eor`.
    pub(crate) deferred_eor: Vec<Family>,
    /// Adj-RIB-Out by (key, ADD-PATH path id).
    pub(crate) adj_out: HashMap<(RouteKey, Option<u32>), OutRoute>,
    /// Path ids held in `adj_out` per key, for ADD-PATH send families.
    pub(crate) ap_ids: HashMap<RouteKey, Vec<u32>>,
    /// Families we send with path identifiers this session.
    pub(crate) add_path_tx: Vec<Family>,
    /// Largest message this session (4096, or 65535 with RFC 8654).
    pub(crate) max_len: usize,
    /// What the current (or last) session negotiated.
    pub(crate) negotiated: Option<Negotiated>,
    /// Graceful Restart (RFC 4724 §4.2): the peer's routes kept as stale.
    pub(crate) stale: Option<Stale>,
    /// The session that just went down had been Established.
    pub(crate) established_at_down: bool,
    pub(crate) decode_ctx: DecodeCtx,
    pub(crate) encode_ctx: EncodeCtx,
    pub(crate) counters: PeerCounters,
    pub(crate) established_at: Option<Instant>,
    /// Removed at run time ([`Router::remove_peer`]): a tombstone that is
    /// never started, listed or matched again.
    pub(crate) removed: bool,
}

/// Routes of a restarting peer kept while it is away (RFC 4724 §4.2).
#[derive(Debug)]
pub(crate) struct Stale {
    /// (key, received path id) not yet re-announced.
    pub(crate) paths: HashSet<(RouteKey, Option<u32>)>,
    /// When to flush what is left: restart time while the peer is down,
    /// the stale-routes time once it is back.
    pub(crate) deadline: Instant,
}

impl Peer {
    /// A fresh, not yet started peer for `p` under the speaker config.
    fn new(cfg: &SpeakerConfig, p: &PeerConfig) -> Peer {
        Peer {
            fsm: Fsm::new(FsmConfig {
                local_as: cfg.asn,
                local_id: cfg.router_id,
                remote_as: p.remote_as,
                hold_time: cfg.hold_time,
                families: p.families.clone(),
                passive: p.passive,
                connect_retry: Duration::from_secs(cfg.connect_retry_secs),
                idle_hold: Duration::from_secs(cfg.connect_retry_secs),
                add_path: cfg.add_path.clone(),
                restart_time: cfg.restart_time,
                extended_message: cfg.extended_message,
            }),
            authorized: authorized(&cfg.peer_groups, p.peer_group.as_deref()),
            cfg: p.clone(),
            rtc: Vec::new(),
            rtc_eor: false,
            deferred_eor: Vec::new(),
            adj_out: HashMap::new(),
            ap_ids: HashMap::new(),
            add_path_tx: Vec::new(),
            max_len: MAX_LEN,
            negotiated: None,
            stale: None,
            established_at_down: false,
            decode_ctx: DecodeCtx::default(),
            encode_ctx: EncodeCtx::default(),
            counters: PeerCounters::default(),
            established_at: None,
            removed: false,
        }
    }

    fn established(&self) -> bool {
        self.fsm.state() == State::Established
    }
}

/// The Route Targets members of `group` may receive; `None`: unrestricted
/// (no group, or a group without Route Targets).
pub(crate) fn authorized(
    groups: &[crate::config::PeerGroupConfig],
    group: Option<&str>,
) -> Option<Vec<ExtCommunity>> {
    let g = groups.iter().find(|pg| Some(pg.name.as_str()) == group)?;
    (!g.route_targets.is_empty()).then(|| g.route_targets.iter().map(|r| r.0).collect())
}

pub struct Router {
    pub(crate) cfg: SpeakerConfig,
    pub(crate) cluster_id: Ipv4Addr,
    pub(crate) peers: Vec<Peer>,
    pub(crate) loc: LocRib,
    /// Changes not yet handed to consumers.
    changes_out: Vec<RibChange>,
    /// Hand changes to consumers (off when nobody subscribed).
    pub record_changes: bool,
    /// Peers whose RT-Constraint set changed since the last propagation.
    pub(crate) rtc_changed: Vec<PeerId>,
    /// Local routes not advertised to peers that negotiated a family
    /// ([`LocalRoute::unless_peer_has`]).
    pub(crate) local_unless: HashMap<RouteKey, crate::wire::Family>,
    /// ADD-PATH path ids we send, per (source, received path id).
    pub(crate) path_ids: HashMap<(Source, Option<u32>), u32>,
    /// Attributes of the last local route, shared by the next one when
    /// equal (so routes alike pack into one UPDATE).
    last_local_attrs: Option<Arc<PathAttributes>>,
}

impl Router {
    pub fn new(cfg: SpeakerConfig) -> Result<Router, String> {
        cfg.validate()?;
        let cluster_id = cfg.cluster_id.unwrap_or(cfg.router_id);
        let peers = cfg.peers.iter().map(|p| Peer::new(&cfg, p)).collect();
        let mut r = Router {
            cluster_id,
            peers,
            loc: LocRib::new(),
            changes_out: Vec::new(),
            record_changes: true,
            rtc_changed: Vec::new(),
            local_unless: HashMap::new(),
            path_ids: HashMap::new(),
            last_local_attrs: None,
            cfg,
        };
        for route in r.cfg.routes.clone() {
            r.insert_local(&route);
        }
        r.loc
            .take_changes()
            .into_iter()
            .for_each(|c| r.changes_out.push(c));
        Ok(r)
    }

    pub fn config(&self) -> &SpeakerConfig {
        &self.cfg
    }

    /// The active (not removed) peer with this address.
    pub fn peer_by_addr(&self, addr: IpAddr) -> Option<PeerId> {
        self.peers
            .iter()
            .position(|p| !p.removed && p.cfg.address == addr)
    }

    /// `None` for an unknown or removed peer.
    pub fn peer_state(&self, id: PeerId) -> Option<State> {
        self.active(id).map(|p| p.fsm.state())
    }

    pub fn peer_config(&self, id: PeerId) -> Option<&PeerConfig> {
        self.active(id).map(|p| &p.cfg)
    }

    /// Peer slots, removed ones included: every `PeerId` is below this.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    pub(crate) fn active(&self, id: PeerId) -> Option<&Peer> {
        self.peers.get(id).filter(|p| !p.removed)
    }

    /// The peer's negotiated BGP identifier (collision detection).
    pub fn peer_router_id(&self, id: PeerId) -> Option<Ipv4Addr> {
        self.peers.get(id)?.fsm.negotiated().map(|n| n.peer_id)
    }

    /// Start every peer's FSM (ManualStart).
    pub fn start(&mut self, now: Instant) -> Vec<IoAction> {
        let mut acts = Vec::new();
        for id in 0..self.peers.len() {
            if !self.peers[id].removed {
                self.fsm_event(id, now, Event::Start, &mut acts);
            }
        }
        acts
    }

    /// Stop every peer (Cease, administrative shutdown).
    pub fn stop(&mut self, now: Instant) -> Vec<IoAction> {
        let mut acts = Vec::new();
        for id in 0..self.peers.len() {
            if !self.peers[id].removed {
                self.fsm_event(id, now, Event::Stop, &mut acts);
            }
        }
        acts
    }

    pub fn event(&mut self, id: PeerId, now: Instant, ev: Event) -> Vec<IoAction> {
        let mut acts = Vec::new();
        self.fsm_event(id, now, ev, &mut acts);
        acts
    }

    /// One whole message received from peer `id`.
    pub fn received(&mut self, id: PeerId, now: Instant, bytes: &[u8]) -> Vec<IoAction> {
        let Some(p) = self.peers.get_mut(id).filter(|p| !p.removed) else {
            return Vec::new();
        };
        p.counters.messages_received += 1;
        let ev = match decode_message(bytes, &p.decode_ctx) {
            Ok(d) => Event::Message(d),
            Err(e) => {
                p.counters.count_error(&e);
                Event::DecodeFailed(e)
            }
        };
        self.event(id, now, ev)
    }

    pub fn tick(&mut self, now: Instant) -> Vec<IoAction> {
        let mut acts = Vec::new();
        for id in 0..self.peers.len() {
            if self.peers[id].removed {
                continue;
            }
            let outs = self.peers[id].fsm.tick(now);
            self.apply_outputs(id, now, outs, &mut acts);
            if self.peers[id]
                .stale
                .as_ref()
                .is_some_and(|s| s.deadline <= now)
            {
                self.flush_stale(id, |_| true);
                self.propagate(&mut acts);
            }
        }
        acts
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.peers
            .iter()
            .flat_map(|p| [p.fsm.next_deadline(), p.stale.as_ref().map(|s| s.deadline)])
            .flatten()
            .min()
    }

    /// The decode context of a peer (the runtime frames with its max size).
    pub fn decode_ctx(&self, id: PeerId) -> Option<&DecodeCtx> {
        self.peers.get(id).map(|p| &p.decode_ctx)
    }

    /// Originate (or replace) a local route and advertise it.
    pub fn originate(&mut self, route: &LocalRoute) -> Result<Vec<IoAction>, String> {
        route.validate()?;
        self.insert_local(route);
        let mut acts = Vec::new();
        self.propagate(&mut acts);
        Ok(acts)
    }

    /// Originate (or replace) a local SD-WAN edge discovery route (SAFI 74).
    pub fn originate_sdwan(&mut self, route: &SdwanLocalRoute) -> Result<Vec<IoAction>, String> {
        route.validate()?;
        let key = RouteKey::Sdwan { sdwan: route.nlri };
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            ext_communities: route.route_targets.iter().map(|t| t.0).collect(),
            tunnel_encap: Some(route.tunnel_encap.clone()),
            ..Default::default()
        };
        self.local_unless.remove(&key);
        self.upsert_local(key, None, route.next_hop, attrs);
        self.alloc_path_id(Source::Local, None);
        let mut acts = Vec::new();
        self.propagate(&mut acts);
        Ok(acts)
    }

    /// Withdraw a local route by its key.
    pub fn withdraw_local(&mut self, key: &RouteKey) -> Vec<IoAction> {
        self.local_unless.remove(key);
        self.loc.remove(key, Source::Local, None);
        let mut acts = Vec::new();
        self.propagate(&mut acts);
        acts
    }

    /// Loc-RIB changes since the last call (for subscribers).
    pub fn take_changes(&mut self) -> Vec<RibChange> {
        std::mem::take(&mut self.changes_out)
    }

    /// Best paths of the Loc-RIB.
    pub fn snapshot(&self) -> Vec<(RouteKey, Path)> {
        let mut v: Vec<(RouteKey, Path)> = self.loc.iter_best().collect();
        v.sort_by_key(|a| a.0);
        v
    }

    pub fn loc_rib_len(&self) -> usize {
        self.loc.len()
    }

    fn insert_local(&mut self, r: &LocalRoute) {
        let key = match r.rd {
            Some(rd) => RouteKey::Vpn {
                rd,
                prefix: r.prefix,
            },
            None => RouteKey::Unicast { prefix: r.prefix },
        };
        let mut ext: Vec<ExtCommunity> = r.route_targets.iter().map(|t| t.0).collect();
        if let Some(c) = r.color {
            ext.push(ExtCommunity::color(c));
        }
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            local_pref: r.local_pref,
            med: r.med,
            ext_communities: ext,
            tunnel_encap: r.tunnel_encap.clone(),
            ..Default::default()
        };
        match r.unless_peer_has {
            Some(f) => self.local_unless.insert(key, f),
            None => self.local_unless.remove(&key),
        };
        self.upsert_local(key, r.label.map(|l| (l << 4) | 1), r.next_hop, attrs);
        self.alloc_path_id(Source::Local, None);
    }

    /// The ADD-PATH path id we send for paths of (source, received id).
    pub(crate) fn alloc_path_id(&mut self, source: Source, rx: Option<u32>) {
        let next = self.path_ids.len() as u32 + 1;
        self.path_ids.entry((source, rx)).or_insert(next);
    }

    /// Remove the stale paths of `id` whose family passes `which`; drop
    /// the stale state once none is left.
    pub(crate) fn flush_stale(&mut self, id: PeerId, which: impl Fn(Family) -> bool) {
        let Some(stale) = self.peers[id].stale.as_mut() else {
            return;
        };
        let gone: HashSet<(RouteKey, Option<u32>)> = stale
            .paths
            .iter()
            .filter(|(k, _)| which(k.family()))
            .copied()
            .collect();
        stale.paths.retain(|p| !gone.contains(p));
        if stale.paths.is_empty() {
            self.peers[id].stale = None;
        }
        let n = self
            .loc
            .remove_source_if(Source::Peer(id), |k, pid| gone.contains(&(*k, pid)));
        let c = &mut self.peers[id].counters;
        c.accepted = c.accepted.saturating_sub(n as u64);
        c.count_drop("graceful_restart_stale", n as u64);
    }

    fn upsert_local(
        &mut self,
        key: RouteKey,
        label: Option<u32>,
        next_hop: IpAddr,
        attrs: PathAttributes,
    ) {
        let attrs = match &self.last_local_attrs {
            Some(a) if **a == attrs => Arc::clone(a),
            _ => Arc::new(attrs),
        };
        self.last_local_attrs = Some(Arc::clone(&attrs));
        let path = Path {
            source: Source::Local,
            peer_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            peer_router_id: self.cfg.router_id,
            ebgp: false,
            path_id: None,
            label,
            next_hop,
            attrs,
        };
        self.loc.upsert(key, path);
    }

    fn fsm_event(&mut self, id: PeerId, now: Instant, ev: Event, acts: &mut Vec<IoAction>) {
        let Some(p) = self.peers.get_mut(id).filter(|p| !p.removed) else {
            return;
        };
        let outs = p.fsm.handle(now, ev);
        self.apply_outputs(id, now, outs, acts);
    }

    fn send(&mut self, id: PeerId, m: &Message, acts: &mut Vec<IoAction>) {
        let p = &mut self.peers[id];
        let bytes = m.encode(p.encode_ctx);
        p.counters.count_sent(m);
        acts.push(IoAction::Send(id, bytes));
    }

    fn apply_outputs(
        &mut self,
        id: PeerId,
        now: Instant,
        outs: Vec<Output>,
        acts: &mut Vec<IoAction>,
    ) {
        for o in outs {
            match o {
                Output::Connect => acts.push(IoAction::Connect(id)),
                Output::Send(m) => self.send(id, &m, acts),
                Output::Disconnect => acts.push(IoAction::Close(id)),
                Output::Established(n) => {
                    self.established(id, now, n, acts);
                }
                Output::Down(why) => {
                    let p = &mut self.peers[id];
                    p.counters.last_down_reason = Some(why);
                    p.established_at_down = p.established_at.is_some();
                    p.established_at = None;
                    p.adj_out.clear();
                    p.ap_ids.clear();
                    p.rtc.clear();
                    p.rtc_eor = false;
                    p.deferred_eor.clear();
                    p.decode_ctx = DecodeCtx::default();
                    p.encode_ctx = EncodeCtx::default();
                    self.peer_down(id, now);
                    self.propagate(acts);
                }
                Output::Update(u, action, errors) => {
                    let p = &mut self.peers[id];
                    for e in &errors {
                        p.counters.count_error(e);
                    }
                    self.ingest(id, u, action);
                    self.propagate(acts);
                }
                Output::RouteRefresh(f) => self.refresh(id, f, acts),
                Output::NotificationReceived(n) => {
                    self.peers[id].counters.last_notification_received = Some((n.code, n.subcode));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_capabilities;
#[cfg(test)]
mod tests_peers;
#[cfg(test)]
mod tests_segmentation;
