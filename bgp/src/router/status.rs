//! Per-peer counters and the serializable summaries behind `show bgp` and
//! the Prometheus export: state, prefixes received / accepted /
//! advertised, UPDATEs, and every error or drop by its named reason.

use super::{PeerId, Router};
use crate::fsm::{PeerGr, State};
use crate::wire::{Action, DecodeError, Family, Message};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

#[derive(Clone, Debug, Default, Serialize)]
pub struct PeerCounters {
    pub messages_received: u64,
    pub messages_sent: u64,
    pub updates_received: u64,
    pub updates_sent: u64,
    pub notifications_sent: u64,
    pub keepalives_sent: u64,
    /// NLRI announcements received (cumulative).
    pub prefixes_received: u64,
    /// Paths currently in the Adj-RIB-In.
    pub accepted: u64,
    /// Paths currently in the Adj-RIB-Out.
    pub prefixes_advertised: u64,
    pub withdrawals_received: u64,
    pub rtc_routes: u64,
    pub established_count: u64,
    /// Decode errors by reason name (RFC 7606 and session resets).
    pub errors: BTreeMap<&'static str, u64>,
    /// Errors by RFC 7606 action.
    pub error_actions: BTreeMap<&'static str, u64>,
    /// Routes dropped on receipt, by reason (loops, treat-as-withdraw, ...).
    pub drops: BTreeMap<&'static str, u64>,
    pub end_of_rib_received: BTreeSet<Family>,
    pub last_down_reason: Option<String>,
    pub last_notification_received: Option<(u8, u8)>,
}

impl PeerCounters {
    pub fn count_error(&mut self, e: &DecodeError) {
        *self.errors.entry(e.reason.name()).or_default() += 1;
        let a = match e.action {
            Action::AttributeDiscard => "attribute_discard",
            Action::TreatAsWithdraw => "treat_as_withdraw",
            Action::SessionReset => "session_reset",
        };
        *self.error_actions.entry(a).or_default() += 1;
    }

    pub fn count_drop(&mut self, reason: &'static str, n: u64) {
        *self.drops.entry(reason).or_default() += n;
    }

    pub fn count_sent(&mut self, m: &Message) {
        self.messages_sent += 1;
        match m {
            Message::Update(_) => self.updates_sent += 1,
            Message::Notification(_) => self.notifications_sent += 1,
            Message::Keepalive => self.keepalives_sent += 1,
            _ => {}
        }
    }
}

/// One line of `show bgp summary` / `show bgp neighbors`.
#[derive(Clone, Debug, Serialize)]
pub struct PeerSummary {
    pub address: IpAddr,
    pub port: u16,
    pub remote_as: u32,
    pub peer_group: Option<String>,
    pub state: State,
    pub router_id: Option<Ipv4Addr>,
    pub uptime_secs: Option<u64>,
    pub configured_families: Vec<Family>,
    pub negotiated_families: Vec<Family>,
    pub hold_time: Option<u16>,
    pub md5: bool,
    /// Families sent / received with ADD-PATH path ids (RFC 7911).
    pub add_path_tx: Vec<Family>,
    pub add_path_rx: Vec<Family>,
    /// 65535-byte messages in use (RFC 8654).
    pub extended_message: bool,
    /// The peer's Graceful Restart capability (RFC 4724).
    pub graceful_restart: Option<PeerGr>,
    /// The peer's routes kept as stale while it restarts.
    pub stale_routes: u64,
    pub counters: PeerCounters,
}

/// Speaker-wide numbers for Prometheus.
#[derive(Clone, Debug, Serialize)]
pub struct SpeakerCounters {
    pub router_id: Ipv4Addr,
    pub asn: u32,
    pub loc_rib_routes: u64,
    pub loc_rib_by_family: BTreeMap<Family, u64>,
    pub peers: Vec<PeerSummary>,
}

impl Router {
    pub fn peer_summary(&self, id: PeerId, now: Instant) -> Option<PeerSummary> {
        let p = self.active(id)?;
        let n = p.fsm.negotiated();
        Some(PeerSummary {
            address: p.cfg.address,
            port: p.cfg.port,
            remote_as: p.cfg.remote_as,
            peer_group: p.cfg.peer_group.clone(),
            state: p.fsm.state(),
            router_id: n.map(|n| n.peer_id),
            uptime_secs: p
                .established_at
                .map(|t| now.saturating_duration_since(t).as_secs()),
            configured_families: p.cfg.families.clone(),
            negotiated_families: n.map(|n| n.families.clone()).unwrap_or_default(),
            hold_time: n.map(|n| n.hold_time),
            md5: p.cfg.md5_key.is_some(),
            add_path_tx: n.map(|n| n.add_path_tx.clone()).unwrap_or_default(),
            add_path_rx: n.map(|n| n.add_path_rx.clone()).unwrap_or_default(),
            extended_message: n.is_some_and(|n| n.extended_message),
            graceful_restart: n.and_then(|n| n.graceful_restart.clone()),
            stale_routes: p.stale.as_ref().map_or(0, |s| s.paths.len() as u64),
            counters: p.counters.clone(),
        })
    }

    pub fn summaries(&self, now: Instant) -> Vec<PeerSummary> {
        (0..self.peers.len())
            .filter_map(|i| self.peer_summary(i, now))
            .collect()
    }

    pub fn counters(&self, now: Instant) -> SpeakerCounters {
        let mut by_family = BTreeMap::new();
        for k in self.loc.keys() {
            *by_family.entry(k.family()).or_default() += 1;
        }
        SpeakerCounters {
            router_id: self.cfg.router_id,
            asn: self.cfg.asn,
            loc_rib_routes: self.loc.len() as u64,
            loc_rib_by_family: by_family,
            peers: self.summaries(now),
        }
    }
}
