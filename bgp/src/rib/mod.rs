//! RIBs (RFC 4271 §3.2): route keys, paths, the Loc-RIB with the decision
//! process, and change events for consumers.
//!
//! Storage: every path a peer sent lives once, as a candidate in the
//! Loc-RIB entry of its key; a peer's Adj-RIB-In is the set of candidates
//! whose source is that peer ([`LocRib::adj_rib_in`]). Attributes are shared
//! (`Arc`) between all routes of one UPDATE.

pub mod decision;

use crate::wire::nlri::{RtcNlri, SdwanNlri};
use crate::wire::{Family, Nlri, PathAttributes, Prefix, Rd};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// What identifies a route in a RIB: the NLRI without label or path id.
/// VPN keys include the RD, so equal prefixes of different RDs are distinct
/// routes (RFC 4364 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RouteKey {
    Unicast { prefix: Prefix },
    Vpn { rd: Rd, prefix: Prefix },
    Rtc { rtc: RtcNlri },
    Sdwan { sdwan: SdwanNlri },
}

impl RouteKey {
    /// Split an NLRI into its key and its label (VPN only).
    pub fn from_nlri(n: &Nlri) -> (RouteKey, Option<u32>) {
        match *n {
            Nlri::Unicast { prefix } => (RouteKey::Unicast { prefix }, None),
            Nlri::Vpn { label, rd, prefix } => (RouteKey::Vpn { rd, prefix }, Some(label)),
            Nlri::Rtc { rtc } => (RouteKey::Rtc { rtc }, None),
            Nlri::Sdwan { sdwan } => (RouteKey::Sdwan { sdwan }, None),
        }
    }

    pub fn to_nlri(&self, label: Option<u32>) -> Nlri {
        match *self {
            RouteKey::Unicast { prefix } => Nlri::Unicast { prefix },
            // RFC 8277 §2.4: 0x800000 in withdrawals.
            RouteKey::Vpn { rd, prefix } => Nlri::Vpn {
                label: label.unwrap_or(0x80_0000),
                rd,
                prefix,
            },
            RouteKey::Rtc { rtc } => Nlri::Rtc { rtc },
            RouteKey::Sdwan { sdwan } => Nlri::Sdwan { sdwan },
        }
    }

    pub fn family(&self) -> Family {
        match self {
            RouteKey::Unicast { prefix } if prefix.addr().is_ipv4() => Family::Ipv4Unicast,
            RouteKey::Unicast { .. } => Family::Ipv6Unicast,
            RouteKey::Vpn { prefix, .. } if prefix.addr().is_ipv4() => Family::Vpnv4,
            RouteKey::Vpn { .. } => Family::Vpnv6,
            RouteKey::Rtc { .. } => Family::RtConstraint,
            RouteKey::Sdwan { sdwan } if sdwan.node_id.is_ipv4() => Family::SdwanV4,
            RouteKey::Sdwan { .. } => Family::SdwanV6,
        }
    }

    pub fn rd(&self) -> Option<Rd> {
        match self {
            RouteKey::Vpn { rd, .. } => Some(*rd),
            _ => None,
        }
    }
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteKey::Unicast { prefix } => write!(f, "{prefix}"),
            RouteKey::Vpn { rd, prefix } => write!(f, "{rd}:{prefix}"),
            RouteKey::Rtc {
                rtc: RtcNlri::Default,
            } => write!(f, "rtc:default"),
            RouteKey::Rtc {
                rtc:
                    RtcNlri::Rt {
                        origin_as,
                        rt_bits,
                        rt,
                    },
            } => {
                write!(
                    f,
                    "rtc:{origin_as}:{}/{rt_bits}",
                    crate::wire::ExtCommunity(*rt)
                )
            }
            RouteKey::Sdwan { sdwan } => write!(
                f,
                "sdwan:{}:{}:{}:{}",
                sdwan.route_type, sdwan.node_id, sdwan.port_local_id, sdwan.color
            ),
        }
    }
}

/// Where a path came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Local,
    Peer(usize),
}

/// One candidate path for a key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Path {
    pub source: Source,
    /// Peer's transport address (tie-break, RFC 4271 §9.1.2.2 g).
    pub peer_addr: IpAddr,
    /// Peer's BGP identifier (tie-break f).
    pub peer_router_id: Ipv4Addr,
    pub ebgp: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<u32>,
    pub next_hop: IpAddr,
    /// Attributes without NEXT_HOP / MP_REACH / MP_UNREACH.
    pub attrs: Arc<PathAttributes>,
}

/// A Loc-RIB change for consumers: the new best path, or `None` when the
/// key has no route any more.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RibChange {
    pub family: Family,
    pub key: RouteKey,
    pub best: Option<Path>,
}

#[derive(Clone, Debug, Default)]
struct Entry {
    paths: Vec<Path>,
    best: Option<usize>,
}

#[derive(Debug, Default)]
pub struct LocRib {
    entries: HashMap<RouteKey, Entry>,
    changes: Vec<RibChange>,
}

impl LocRib {
    pub fn new() -> LocRib {
        LocRib::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add or replace the path of (`source`, `path_id`) for `key`; true
    /// if the path is new (not a replacement).
    pub fn upsert(&mut self, key: RouteKey, path: Path) -> bool {
        let e = self.entries.entry(key).or_default();
        let old = e.best.and_then(|i| e.paths.get(i)).cloned();
        if let Some(p) = e
            .paths
            .iter_mut()
            .find(|p| p.source == path.source && p.path_id == path.path_id)
        {
            if *p == path {
                return false;
            }
            *p = path;
            self.reselect(key, old);
            return false;
        }
        e.paths.push(path);
        self.reselect(key, old);
        true
    }

    /// Remove the path of (`source`, `path_id`); true if one was there.
    pub fn remove(&mut self, key: &RouteKey, source: Source, path_id: Option<u32>) -> bool {
        let Some(e) = self.entries.get_mut(key) else {
            return false;
        };
        let old = e.best.and_then(|i| e.paths.get(i)).cloned();
        let before = e.paths.len();
        e.paths
            .retain(|p| !(p.source == source && p.path_id == path_id));
        if e.paths.len() == before {
            return false;
        }
        self.reselect(*key, old);
        true
    }

    /// Remove every path of `source` (session down); returns how many.
    pub fn remove_source(&mut self, source: Source) -> usize {
        let keys: Vec<RouteKey> = self
            .entries
            .iter()
            .filter(|(_, e)| e.paths.iter().any(|p| p.source == source))
            .map(|(k, _)| *k)
            .collect();
        let mut n = 0;
        for k in keys {
            let Some(e) = self.entries.get_mut(&k) else {
                continue;
            };
            let old = e.best.and_then(|i| e.paths.get(i)).cloned();
            let before = e.paths.len();
            e.paths.retain(|p| p.source != source);
            n += before - e.paths.len();
            self.reselect(k, old);
        }
        n
    }

    /// Re-run the decision for `key`; `old` is the best before the change.
    fn reselect(&mut self, key: RouteKey, old: Option<Path>) {
        let Some(e) = self.entries.get_mut(&key) else {
            return;
        };
        e.best = decision::select_best(&e.paths);
        let new = e.best.and_then(|i| e.paths.get(i)).cloned();
        if e.paths.is_empty() {
            self.entries.remove(&key);
        }
        if old != new {
            self.changes.push(RibChange {
                family: key.family(),
                key,
                best: new,
            });
        }
    }

    pub fn best(&self, key: &RouteKey) -> Option<&Path> {
        let e = self.entries.get(key)?;
        e.best.and_then(|i| e.paths.get(i))
    }

    /// All best paths (a snapshot's content).
    pub fn iter_best(&self) -> impl Iterator<Item = (&RouteKey, &Path)> {
        self.entries
            .iter()
            .filter_map(|(k, e)| e.best.and_then(|i| e.paths.get(i)).map(|p| (k, p)))
    }

    /// Adj-RIB-In of `source`: its paths, best or not.
    pub fn adj_rib_in(&self, source: Source) -> impl Iterator<Item = (&RouteKey, &Path)> {
        self.entries.iter().flat_map(move |(k, e)| {
            e.paths
                .iter()
                .filter(move |p| p.source == source)
                .map(move |p| (k, p))
        })
    }

    pub fn take_changes(&mut self) -> Vec<RibChange> {
        std::mem::take(&mut self.changes)
    }
}

#[cfg(test)]
mod tests;
