//! RIBs (RFC 4271 §3.2): route keys, paths, the Loc-RIB with the decision
//! process, and change events for consumers.
//!
//! Storage: every path a peer sent lives once, as a candidate in the
//! Loc-RIB entry of its key; a peer's Adj-RIB-In is the set of candidates
//! whose source is that peer ([`LocRib::adj_rib_in`]). What a path shares
//! with the rest of its UPDATE (attributes, next hop, peer) is stored once
//! per UPDATE; see `store` for the per-route layout.

pub mod decision;
mod store;

use crate::wire::nlri::{RtcNlri, SdwanNlri};
use crate::wire::{Family, Nlri, PathAttributes, Prefix, Rd};
use serde::Serialize;
use std::collections::hash_map;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use store::{Cands, Interner, Sharded, Stored};

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

/// A VPNv4 key packed into 13 bytes (alignment 1): the bulk of a
/// route reflector's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Vpn4Key {
    rd: [u8; 8],
    addr: [u8; 4],
    len: u8,
}

impl Vpn4Key {
    fn of(k: &RouteKey) -> Option<Vpn4Key> {
        match k {
            RouteKey::Vpn { rd, prefix } => match prefix.addr() {
                IpAddr::V4(a) => Some(Vpn4Key {
                    rd: rd.0,
                    addr: a.octets(),
                    len: prefix.len(),
                }),
                IpAddr::V6(_) => None,
            },
            _ => None,
        }
    }

    fn key(&self) -> Option<RouteKey> {
        Some(RouteKey::Vpn {
            rd: Rd(self.rd),
            prefix: Prefix::new(IpAddr::V4(Ipv4Addr::from(self.addr)), self.len)?,
        })
    }
}

/// The Loc-RIB: every key's candidates ([`store`] for the layout) and the
/// changes of its best paths not yet taken.
#[derive(Debug, Default)]
pub struct LocRib {
    vpn4: Sharded<Vpn4Key>,
    other: Sharded<RouteKey>,
    len: usize,
    interner: Interner,
    changes: Vec<RibChange>,
    /// Keys whose candidate set changed (best or not), kept only when
    /// `track_touched` is on (ADD-PATH send needs every path).
    touched: Vec<RouteKey>,
    pub track_touched: bool,
}

impl LocRib {
    pub fn new() -> LocRib {
        LocRib::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn get(&self, key: &RouteKey) -> Option<&Cands> {
        match Vpn4Key::of(key) {
            Some(k) => self.vpn4.get(&k),
            None => self.other.get(key),
        }
    }

    /// Add or replace the path of (`source`, `path_id`) for `key`; true
    /// if the path is new (not a replacement).
    pub fn upsert(&mut self, key: RouteKey, path: Path) -> bool {
        let s = self.interner.store(path);
        let (new, old, best) = match Vpn4Key::of(&key) {
            Some(k) => upsert_in(self.vpn4.entry(k), s),
            None => upsert_in(self.other.entry(key), s),
        };
        self.len += usize::from(old.is_none());
        if self.track_touched {
            self.touched.push(key);
        }
        if old.as_ref() != best.as_ref() {
            self.changes.push(RibChange {
                family: key.family(),
                key,
                best: best.as_ref().map(Stored::to_path),
            });
        }
        new
    }

    /// Remove the path of (`source`, `path_id`); true if one was there.
    pub fn remove(&mut self, key: &RouteKey, source: Source, path_id: Option<u32>) -> bool {
        let keep = |p: &Stored| !(p.source() == source && p.path_id() == path_id);
        let r = match Vpn4Key::of(key) {
            Some(k) => remove_in(self.vpn4.entry(k), keep),
            None => remove_in(self.other.entry(*key), keep),
        };
        let Some((old, best)) = r else {
            return false;
        };
        self.len -= usize::from(best.is_none());
        if self.track_touched {
            self.touched.push(*key);
        }
        if Some(&old) != best.as_ref() {
            self.changes.push(RibChange {
                family: key.family(),
                key: *key,
                best: best.as_ref().map(Stored::to_path),
            });
        }
        true
    }

    /// Remove every path of `source` (session down); returns how many.
    pub fn remove_source(&mut self, source: Source) -> usize {
        self.remove_source_if(source, |_, _| true)
    }

    /// Remove the paths of `source` for which `pred(key, path_id)` holds;
    /// returns how many.
    pub fn remove_source_if(
        &mut self,
        source: Source,
        pred: impl Fn(&RouteKey, Option<u32>) -> bool,
    ) -> usize {
        let mut n = 0;
        let mut emptied = 0;
        let changes = &mut self.changes;
        let touched = &mut self.touched;
        let track = self.track_touched;
        let mut visit = |key: RouteKey, c: &mut Cands| -> bool {
            let old = c.best().clone();
            let (left, gone) = c.retain(|p| !(p.source() == source && pred(&key, p.path_id())));
            if gone == 0 {
                return true;
            }
            if track {
                touched.push(key);
            }
            n += gone;
            let best = left.then(|| c.best().clone());
            emptied += usize::from(!left);
            if Some(&old) != best.as_ref() {
                changes.push(RibChange {
                    family: key.family(),
                    key,
                    best: best.as_ref().map(Stored::to_path),
                });
            }
            left
        };
        self.vpn4
            .retain(|k, c| k.key().map_or(true, |key| visit(key, c)));
        self.other.retain(|k, c| visit(*k, c));
        self.len -= emptied;
        n
    }

    /// Every candidate path of `key`, best first.
    pub fn candidates(&self, key: &RouteKey) -> Vec<Path> {
        self.get(key)
            .map(|c| {
                let best = c.best();
                let mut v = vec![best.to_path()];
                let is_best =
                    |p: &Stored| p.source() == best.source() && p.path_id() == best.path_id();
                v.extend(c.all().iter().filter(|p| !is_best(p)).map(Stored::to_path));
                v
            })
            .unwrap_or_default()
    }

    /// Keys whose candidates changed since the last call (deduplicated).
    pub fn take_touched(&mut self) -> Vec<RouteKey> {
        let mut v = std::mem::take(&mut self.touched);
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn best(&self, key: &RouteKey) -> Option<Path> {
        self.get(key).map(|c| c.best().to_path())
    }

    /// Every key with its candidates.
    fn iter(&self) -> impl Iterator<Item = (RouteKey, &Cands)> {
        self.vpn4
            .iter()
            .filter_map(|(k, c)| Some((k.key()?, c)))
            .chain(self.other.iter().map(|(k, c)| (*k, c)))
    }

    /// All best paths (a snapshot's content).
    pub fn iter_best(&self) -> impl Iterator<Item = (RouteKey, Path)> + '_ {
        self.iter().map(|(k, c)| (k, c.best().to_path()))
    }

    /// Keys with a route, without building their paths.
    pub fn keys(&self) -> impl Iterator<Item = RouteKey> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Adj-RIB-In of `source`: its paths, best or not.
    pub fn adj_rib_in(&self, source: Source) -> impl Iterator<Item = (RouteKey, Path)> + '_ {
        self.iter().flat_map(move |(k, c)| {
            c.all()
                .iter()
                .filter(move |p| p.source() == source)
                .map(move |p| (k, p.to_path()))
        })
    }

    pub fn take_changes(&mut self) -> Vec<RibChange> {
        std::mem::take(&mut self.changes)
    }
}

/// Upsert into one map slot: (path is new, best before, best after).
fn upsert_in<K>(
    e: hash_map::Entry<'_, K, Cands>,
    s: Stored,
) -> (bool, Option<Stored>, Option<Stored>) {
    match e {
        hash_map::Entry::Vacant(v) => {
            let best = s.clone();
            v.insert(Cands::One(s));
            (true, None, Some(best))
        }
        hash_map::Entry::Occupied(mut o) => {
            let c = o.get_mut();
            let old = c.best().clone();
            let (new, _) = c.upsert(s);
            let best = c.best().clone();
            (new, Some(old), Some(best))
        }
    }
}

/// Remove matching candidates from one slot: `None` if none matched, else
/// (best before, best after).
fn remove_in<K>(
    e: hash_map::Entry<'_, K, Cands>,
    keep: impl Fn(&Stored) -> bool,
) -> Option<(Stored, Option<Stored>)> {
    let hash_map::Entry::Occupied(mut o) = e else {
        return None;
    };
    let c = o.get_mut();
    let old = c.best().clone();
    let (left, gone) = c.retain(keep);
    if gone == 0 {
        return None;
    }
    if !left {
        o.remove();
        return Some((old, None));
    }
    Some((old, Some(o.get().best().clone())))
}

#[cfg(test)]
mod tests;
