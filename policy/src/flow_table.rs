//! The per-worker flow cache that keeps flows on their path (issue:
//! "flows stay on their path") and moves them when that path fails.
//!
//! Fixed capacity, open addressing with linear probing over at most
//! [`PROBE`] slots; all memory is allocated in [`FlowTable::new`]. An entry
//! remembers the flow's action, its path (or that it is being dropped), the
//! policy generation it was classified under, the [`PathState`] epoch its
//! path was checked in, and when it was last seen.
//!
//! Per packet ([`FlowTable::steer`]):
//! - hit, same policy generation and epoch: the cached path (one hash, one
//!   or two cache lines);
//! - policy generation changed: re-classify; epoch changed: if the cached
//!   path is still usable and allowed, keep it, else choose again (the flow
//!   moves, or is dropped with a named reason; a `PrivateOnly` flow is
//!   dropped, never moved to the internet). So a failover reaches every
//!   flow at its next packet after the control thread sets the state;
//! - miss, or entry idle longer than the timeout: classify, choose, insert
//!   into the first free or idle slot of the probe window, else evict the
//!   least recently seen entry there (counted).
//!
//! Entries are never deleted, only reused, so a lookup stops at the first
//! never-used slot.
//!
//! [`PathState`]: crate::path::PathState

use crate::classifier::{Action, ClassId, PolicySnapshot};
use crate::drop_reason::{DropCounters, PolicyDrop};
use crate::flow_key::FlowKey;
use crate::hash::hash_flow;
use crate::path::{allowed, choose_path, no_path_reason, PathKind, PathView};

/// Slots examined per lookup.
pub const PROBE: usize = 16;

#[derive(Debug, Clone, Copy)]
pub struct FlowTableConfig {
    /// Entries; rounded up to a power of two, at least [`PROBE`].
    pub capacity: usize,
    /// A flow not seen for this long is forgotten (re-classified as new).
    pub idle_timeout_ns: u64,
    pub seed: u64,
}

/// What to do with the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steer {
    Forward {
        path: PathKind,
        class: Option<ClassId>,
    },
    Drop(PolicyDrop),
}

/// Per-worker flow events (drops are in [`FlowTable::drops`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub new_flows: u64,
    /// Flows whose path failed and that were given another one.
    pub moved: u64,
    /// Entries found idle past the timeout.
    pub expired: u64,
    /// Live entries pushed out by a new flow (probe window full).
    pub evicted: u64,
    /// Entries re-classified after a policy publish.
    pub reclassified: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: FlowKey,
    last_seen: u64,
    path_epoch: u64,
    policy_gen: u64,
    action: Action,
    /// `None`: no allowed path is usable; the flow is being dropped.
    path: Option<PathKind>,
    used: bool,
}

const EMPTY: Entry = Entry {
    key: FlowKey {
        src: 0,
        dst: 0,
        vrf: 0,
        flow_label: None,
        src_port: 0,
        dst_port: 0,
        protocol: 0,
        dscp: 0,
        family: crate::flow_key::Family::V4,
    },
    last_seen: 0,
    path_epoch: 0,
    policy_gen: 0,
    action: Action::new(crate::classifier::PathPolicy::PrivateOnly),
    path: None,
    used: false,
};

#[derive(Debug)]
pub struct FlowTable {
    slots: Box<[Entry]>,
    mask: usize,
    idle_ns: u64,
    seed: u64,
    stats: FlowStats,
    drops: DropCounters,
}

impl FlowTable {
    pub fn new(cfg: FlowTableConfig) -> Self {
        let cap = cfg.capacity.max(PROBE).next_power_of_two();
        Self {
            slots: vec![EMPTY; cap].into_boxed_slice(),
            mask: cap - 1,
            idle_ns: cfg.idle_timeout_ns,
            seed: cfg.seed,
            stats: FlowStats::default(),
            drops: DropCounters::default(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn stats(&self) -> FlowStats {
        self.stats
    }

    pub fn drops(&self) -> &DropCounters {
        &self.drops
    }

    /// Entries seen within the idle timeout (walks the whole table: for
    /// management, not per packet).
    pub fn active(&self, now: u64) -> usize {
        self.slots
            .iter()
            .filter(|e| e.used && !self.idle(e, now))
            .count()
    }

    #[inline]
    fn idle(&self, e: &Entry, now: u64) -> bool {
        now.saturating_sub(e.last_seen) > self.idle_ns
    }

    /// Decides the path of one packet of flow `key` at time `now` (ns),
    /// under `policy` and the path state `paths` the worker loaded for
    /// this burst.
    pub fn steer(
        &mut self,
        key: &FlowKey,
        now: u64,
        policy: &PolicySnapshot,
        paths: PathView,
    ) -> Steer {
        let base = hash_flow(self.seed, key) as usize;
        let mut found = None;
        let mut reusable = None;
        let mut oldest = (u64::MAX, base & self.mask);
        for i in 0..PROBE {
            let s = base.wrapping_add(i) & self.mask;
            let e = &self.slots[s];
            if !e.used {
                reusable = reusable.or(Some(s));
                break;
            }
            if e.key == *key {
                found = Some(s);
                break;
            }
            if reusable.is_none() && self.idle(e, now) {
                reusable = Some(s);
            }
            if e.last_seen < oldest.0 {
                oldest = (e.last_seen, s);
            }
        }
        let slot = match found {
            Some(s) if !self.idle(&self.slots[s], now) => {
                return self.refresh(s, key, now, policy, paths);
            }
            Some(s) => {
                self.stats.expired += 1;
                s
            }
            None => match reusable {
                Some(s) => {
                    if self.slots[s].used {
                        self.stats.expired += 1;
                    }
                    s
                }
                None => {
                    self.stats.evicted += 1;
                    oldest.1
                }
            },
        };
        self.stats.new_flows += 1;
        let action = policy.classify(key).action;
        let path = choose_path(action.policy, paths.usable).ok();
        self.slots[slot] = Entry {
            key: *key,
            last_seen: now,
            path_epoch: paths.epoch,
            policy_gen: policy.generation(),
            action,
            path,
            used: true,
        };
        self.verdict(slot)
    }

    fn refresh(
        &mut self,
        s: usize,
        key: &FlowKey,
        now: u64,
        policy: &PolicySnapshot,
        paths: PathView,
    ) -> Steer {
        let e = &mut self.slots[s];
        let mut recheck = e.path_epoch != paths.epoch;
        if e.policy_gen != policy.generation() {
            e.action = policy.classify(key).action;
            e.policy_gen = policy.generation();
            self.stats.reclassified += 1;
            recheck = true;
        }
        if recheck {
            e.path_epoch = paths.epoch;
            let keep = e
                .path
                .filter(|p| allowed(e.action.policy, *p, paths.usable));
            if keep.is_none() {
                let next = choose_path(e.action.policy, paths.usable).ok();
                if e.path.is_some() && next.is_some() {
                    self.stats.moved += 1;
                }
                e.path = next;
            }
        }
        e.last_seen = now;
        self.verdict(s)
    }

    #[inline]
    fn verdict(&mut self, s: usize) -> Steer {
        let e = &self.slots[s];
        match e.path {
            Some(path) => Steer::Forward {
                path,
                class: e.action.class,
            },
            None => {
                let r = no_path_reason(e.action.policy);
                self.drops.count(r);
                Steer::Drop(r)
            }
        }
    }
}

#[cfg(test)]
mod tests;
