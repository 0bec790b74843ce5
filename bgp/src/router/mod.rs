//! The speaker core, I/O-free: one FSM per peer, the Loc-RIB, per-peer
//! Adj-RIB-Out, and route reflection with constrained propagation. It takes
//! connection events and raw message bytes and returns [`IoAction`]s; the
//! tokio runtime (`runtime`) only moves bytes. Tests wire several routers
//! together in memory.

mod export;
mod ingest;
mod pack;
pub mod status;

use crate::config::{LocalRoute, PeerConfig, SpeakerConfig};
use crate::fsm::{Event, Fsm, FsmConfig, Output, State};
use crate::rib::{LocRib, Path, RibChange, RouteKey, Source};
use crate::wire::nlri::RtcNlri;
use crate::wire::{
    decode_message, AsPath, DecodeCtx, EncodeCtx, ExtCommunity, Message, Origin, PathAttributes,
};
use status::PeerCounters;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    pub(crate) adj_out: HashMap<RouteKey, OutRoute>,
    pub(crate) decode_ctx: DecodeCtx,
    pub(crate) encode_ctx: EncodeCtx,
    pub(crate) counters: PeerCounters,
    pub(crate) established_at: Option<Instant>,
}

impl Peer {
    fn established(&self) -> bool {
        self.fsm.state() == State::Established
    }
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
}

impl Router {
    pub fn new(cfg: SpeakerConfig) -> Result<Router, String> {
        cfg.validate()?;
        let cluster_id = cfg.cluster_id.unwrap_or(cfg.router_id);
        let peers = cfg
            .peers
            .iter()
            .map(|p| {
                let authorized = p.peer_group.as_ref().and_then(|g| {
                    let g = cfg.peer_groups.iter().find(|pg| &pg.name == g)?;
                    (!g.route_targets.is_empty())
                        .then(|| g.route_targets.iter().map(|r| r.0).collect())
                });
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
                    }),
                    cfg: p.clone(),
                    authorized,
                    rtc: Vec::new(),
                    adj_out: HashMap::new(),
                    decode_ctx: DecodeCtx::default(),
                    encode_ctx: EncodeCtx::default(),
                    counters: PeerCounters::default(),
                    established_at: None,
                }
            })
            .collect();
        let mut r = Router {
            cluster_id,
            peers,
            loc: LocRib::new(),
            changes_out: Vec::new(),
            record_changes: true,
            rtc_changed: Vec::new(),
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

    pub fn peer_by_addr(&self, addr: IpAddr) -> Option<PeerId> {
        self.peers.iter().position(|p| p.cfg.address == addr)
    }

    pub fn peer_state(&self, id: PeerId) -> Option<State> {
        self.peers.get(id).map(|p| p.fsm.state())
    }

    pub fn peer_config(&self, id: PeerId) -> Option<&PeerConfig> {
        self.peers.get(id).map(|p| &p.cfg)
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// The peer's negotiated BGP identifier (collision detection).
    pub fn peer_router_id(&self, id: PeerId) -> Option<Ipv4Addr> {
        self.peers.get(id)?.fsm.negotiated().map(|n| n.peer_id)
    }

    /// Start every peer's FSM (ManualStart).
    pub fn start(&mut self, now: Instant) -> Vec<IoAction> {
        let mut acts = Vec::new();
        for id in 0..self.peers.len() {
            self.fsm_event(id, now, Event::Start, &mut acts);
        }
        acts
    }

    /// Stop every peer (Cease, administrative shutdown).
    pub fn stop(&mut self, now: Instant) -> Vec<IoAction> {
        let mut acts = Vec::new();
        for id in 0..self.peers.len() {
            self.fsm_event(id, now, Event::Stop, &mut acts);
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
        let Some(p) = self.peers.get_mut(id) else {
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
            let outs = self.peers[id].fsm.tick(now);
            self.apply_outputs(id, now, outs, &mut acts);
        }
        acts
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.peers
            .iter()
            .filter_map(|p| p.fsm.next_deadline())
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

    /// Withdraw a local route by its key.
    pub fn withdraw_local(&mut self, key: &RouteKey) -> Vec<IoAction> {
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
        let path = Path {
            source: Source::Local,
            peer_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            peer_router_id: self.cfg.router_id,
            ebgp: false,
            path_id: None,
            label: r.label.map(|l| (l << 4) | 1),
            next_hop: r.next_hop,
            attrs: Arc::new(attrs),
        };
        self.loc.upsert(key, path);
    }

    fn fsm_event(&mut self, id: PeerId, now: Instant, ev: Event, acts: &mut Vec<IoAction>) {
        let Some(p) = self.peers.get_mut(id) else {
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
                    let local_as = self.cfg.asn;
                    let p = &mut self.peers[id];
                    p.decode_ctx = DecodeCtx {
                        four_octet_as: n.four_octet_as,
                        add_path_rx: Vec::new(),
                        ebgp: n.peer_as != local_as,
                        extended_message: false,
                    };
                    p.encode_ctx = EncodeCtx {
                        four_octet_as: n.four_octet_as,
                    };
                    p.established_at = Some(now);
                    p.counters.established_count += 1;
                    self.initial_advertisement(id, acts);
                }
                Output::Down(why) => {
                    let p = &mut self.peers[id];
                    p.counters.last_down_reason = Some(why);
                    p.established_at = None;
                    p.adj_out.clear();
                    p.rtc.clear();
                    p.decode_ctx = DecodeCtx::default();
                    p.encode_ctx = EncodeCtx::default();
                    self.loc.remove_source(Source::Peer(id));
                    self.peers[id].counters.accepted = 0;
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
