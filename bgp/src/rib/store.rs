//! Compact Loc-RIB storage. A [`Path`] is what callers see; what the RIB
//! keeps per route is 16 bytes plus the key:
//!
//! ```text
//!   Stored (16 B)                      Head (one per UPDATE, shared)
//!   +-----------------+------+------+   +----------------------------------+
//!   | Arc<Head>       |label |pathid|-->| source, peer_addr, peer_router_id|
//!   +-----------------+------+------+   | ebgp, next_hop, has_label,       |
//!                                       | has_path_id, Arc<PathAttributes> |
//!                                       +----------------------------------+
//! ```
//!
//! Everything a path shares with the other routes of its UPDATE lives in
//! the [`Head`]; consecutive upserts with the same head share one `Arc`.
//! A key with one candidate (the common case) stores it inline
//! ([`Cands::One`]); only keys with several candidates allocate.
//! Keys are spread over [`SHARDS`] hash maps, so growing the table moves
//! 1/SHARDS of the routes at a time instead of all of them at once (the
//! resize of one big map briefly holds the old and new tables together).

use super::{decision, Path, Source};
use crate::wire::PathAttributes;
use std::collections::hash_map::{self, HashMap, RandomState};
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Number of hash maps a [`Sharded`] map spreads its keys over.
pub(super) const SHARDS: usize = 256;

/// The per-UPDATE part of a path.
#[derive(Debug, PartialEq)]
pub(super) struct Head {
    source: Source,
    peer_addr: IpAddr,
    peer_router_id: Ipv4Addr,
    ebgp: bool,
    has_label: bool,
    has_path_id: bool,
    next_hop: IpAddr,
    attrs: Arc<PathAttributes>,
}

impl Head {
    fn matches(&self, p: &Path) -> bool {
        self.source == p.source
            && self.peer_addr == p.peer_addr
            && self.peer_router_id == p.peer_router_id
            && self.ebgp == p.ebgp
            && self.has_label == p.label.is_some()
            && self.has_path_id == p.path_id.is_some()
            && self.next_hop == p.next_hop
            && Arc::ptr_eq(&self.attrs, &p.attrs)
    }
}

/// One candidate as stored.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    head: Arc<Head>,
    label: u32,
    path_id: u32,
}

impl PartialEq for Stored {
    fn eq(&self, o: &Stored) -> bool {
        self.label == o.label
            && self.path_id == o.path_id
            && (Arc::ptr_eq(&self.head, &o.head) || self.head == o.head)
    }
}

impl Stored {
    pub(super) fn source(&self) -> Source {
        self.head.source
    }

    pub(super) fn path_id(&self) -> Option<u32> {
        self.head.has_path_id.then_some(self.path_id)
    }

    pub(super) fn to_path(&self) -> Path {
        let h = &*self.head;
        Path {
            source: h.source,
            peer_addr: h.peer_addr,
            peer_router_id: h.peer_router_id,
            ebgp: h.ebgp,
            path_id: self.path_id(),
            label: h.has_label.then_some(self.label),
            next_hop: h.next_hop,
            attrs: Arc::clone(&h.attrs),
        }
    }
}

/// Turns paths into [`Stored`] ones, sharing the head of the previous path
/// when it matches (all routes of one UPDATE arrive in a row).
#[derive(Debug, Default)]
pub(super) struct Interner {
    last: Option<Arc<Head>>,
}

impl Interner {
    pub(super) fn store(&mut self, p: Path) -> Stored {
        let head = match &self.last {
            Some(h) if h.matches(&p) => Arc::clone(h),
            _ => {
                let h = Arc::new(Head {
                    source: p.source,
                    peer_addr: p.peer_addr,
                    peer_router_id: p.peer_router_id,
                    ebgp: p.ebgp,
                    has_label: p.label.is_some(),
                    has_path_id: p.path_id.is_some(),
                    next_hop: p.next_hop,
                    attrs: p.attrs,
                });
                self.last = Some(Arc::clone(&h));
                h
            }
        };
        Stored {
            head,
            label: p.label.unwrap_or(0),
            path_id: p.path_id.unwrap_or(0),
        }
    }
}

/// The candidates of one key; never empty while in a map.
#[derive(Clone, Debug)]
pub(super) enum Cands {
    One(Stored),
    Many(Box<Many>),
}

#[derive(Clone, Debug)]
pub(super) struct Many {
    paths: Vec<Stored>,
    best: usize,
}

impl Cands {
    pub(super) fn best(&self) -> &Stored {
        match self {
            Cands::One(s) => s,
            // `best` is kept in range by `settle`.
            Cands::Many(m) => m.paths.get(m.best).unwrap_or(&m.paths[0]),
        }
    }

    pub(super) fn all(&self) -> &[Stored] {
        match self {
            Cands::One(s) => std::slice::from_ref(s),
            Cands::Many(m) => &m.paths,
        }
    }

    /// Add or replace the candidate of (source, path id). Returns
    /// (is new, changed at all).
    pub(super) fn upsert(&mut self, s: Stored) -> (bool, bool) {
        let (src, pid) = (s.source(), s.path_id());
        let paths: &mut Vec<Stored> = match self {
            Cands::One(cur) if cur.source() == src && cur.path_id() == pid => {
                if *cur == s {
                    return (false, false);
                }
                *cur = s;
                return (false, true);
            }
            Cands::One(cur) => {
                let first = cur.clone();
                *self = Cands::Many(Box::new(Many {
                    paths: vec![first, s],
                    best: 0,
                }));
                self.settle();
                return (true, true);
            }
            Cands::Many(m) => &mut m.paths,
        };
        let res = match paths
            .iter_mut()
            .find(|p| p.source() == src && p.path_id() == pid)
        {
            Some(p) if *p == s => return (false, false),
            Some(p) => {
                *p = s;
                (false, true)
            }
            None => {
                paths.push(s);
                (true, true)
            }
        };
        self.settle();
        res
    }

    /// Keep the candidates `keep` says yes to. Returns (anything left,
    /// how many were removed).
    pub(super) fn retain(&mut self, keep: impl Fn(&Stored) -> bool) -> (bool, usize) {
        match self {
            Cands::One(s) => {
                let k = keep(s);
                (k, usize::from(!k))
            }
            Cands::Many(m) => {
                let before = m.paths.len();
                m.paths.retain(|p| keep(p));
                let gone = before - m.paths.len();
                if m.paths.is_empty() {
                    return (false, gone);
                }
                self.settle();
                (true, gone)
            }
        }
    }

    /// Re-run the decision; a single candidate goes back inline.
    fn settle(&mut self) {
        let Cands::Many(m) = self else {
            return;
        };
        if m.paths.len() == 1 {
            if let Some(s) = m.paths.pop() {
                *self = Cands::One(s);
            }
            return;
        }
        let paths: Vec<Path> = m.paths.iter().map(Stored::to_path).collect();
        m.best = decision::select_best(&paths).unwrap_or(0);
    }
}

/// A hash map split into [`SHARDS`] maps by key hash.
#[derive(Debug)]
pub(super) struct Sharded<K> {
    pick: RandomState,
    shards: Vec<HashMap<K, Cands>>,
}

impl<K: Hash + Eq + Copy> Default for Sharded<K> {
    fn default() -> Self {
        Sharded {
            pick: RandomState::new(),
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
        }
    }
}

impl<K: Hash + Eq + Copy> Sharded<K> {
    fn shard(&self, k: &K) -> usize {
        (self.pick.hash_one(k) >> 56) as usize % SHARDS
    }

    pub(super) fn entry(&mut self, k: K) -> hash_map::Entry<'_, K, Cands> {
        let i = self.shard(&k);
        self.shards[i].entry(k)
    }

    pub(super) fn get(&self, k: &K) -> Option<&Cands> {
        self.shards[self.shard(k)].get(k)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &Cands)> {
        self.shards.iter().flat_map(|m| m.iter())
    }

    /// Apply `f` to every entry; entries it returns false for are removed.
    pub(super) fn retain(&mut self, mut f: impl FnMut(&K, &mut Cands) -> bool) {
        for m in &mut self.shards {
            m.retain(|k, c| f(k, c));
        }
    }
}
