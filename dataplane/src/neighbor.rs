//! Neighbor table (ARP, RFC 826; NDP neighbor cache, RFC 4861 §7.3) split
//! the way the FIB is:
//!
//! - [`NeighborTable`]: an immutable snapshot the workers read without
//!   locks, published by the control thread through [`SharedNeighbors`]
//!   (arc-swap). Entries carry a state so workers know when to ask for
//!   resolution and when to stay quiet.
//! - [`ControlEvent`]s flow the other way: a worker reports bindings it
//!   learned (ARP, NS, NA) and next hops it could not resolve. Each worker
//!   owns one bounded lock-free [`EventQueue`] (crossbeam `ArrayQueue`,
//!   single producer = the worker, single consumer = the control thread);
//!   when it is full the event is dropped and counted, never waited for.
//! - [`NeighborManager`]: the control side, I/O-free. It takes events and
//!   the current time, keeps the state machine (INCOMPLETE → REACHABLE →
//!   STALE → PROBE → REACHABLE or deleted), produces "send ARP/NS for X on
//!   port P" actions and a new snapshot when something changed.
//!
//! Workers never emit an event for an entry already INCOMPLETE or PROBE in
//! their snapshot, so traffic to an unresolved next hop produces one event
//! per snapshot period, not one per packet.

use crossbeam_queue::ArrayQueue;
use sdwan_packet::MacAddr;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// State of an entry as the workers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighborState {
    /// Resolution in progress (or just failed): no MAC, drop and stay quiet.
    Incomplete,
    /// Confirmed within the reachable time.
    Reachable,
    /// MAC usable but unconfirmed: the first worker to use it asks for a
    /// probe.
    Stale,
    /// MAC usable, a unicast probe is out.
    Probe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborEntry {
    pub mac: Option<MacAddr>,
    pub state: NeighborState,
}

/// Small multiplicative hasher for `(port, IpAddr)` keys: the keys are not
/// attacker-chosen beyond what the control thread admits, and SipHash
/// costs more than the rest of a lookup.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        // Fold the well-mixed high half into the low bits the table indexes by.
        self.0 ^ (self.0 >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

type KeyMap<V> = HashMap<(u16, IpAddr), V, BuildHasherDefault<KeyHasher>>;

/// The published snapshot: workers `load()` once per burst.
pub type SharedNeighbors = Arc<arc_swap::ArcSwap<NeighborTable>>;

/// How a binding was learned; decides what the manager may do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnKind {
    /// An ARP request or NS from the neighbor, addressed to us: creates a
    /// STALE entry or updates the MAC (RFC 4861 §7.2.3, RFC 826 merge).
    Request,
    /// An ARP reply to us or a solicited NA: confirms reachability. With
    /// `override_` false (NA without O flag) a different MAC is ignored
    /// (RFC 4861 §7.2.5).
    Reply { override_: bool },
    /// Gratuitous ARP or unsolicited NA: updates an existing entry only,
    /// marking it STALE if the MAC changed (RFC 4861 §7.2.5, RFC 5227).
    Unsolicited { override_: bool },
}

/// From a worker to the control thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlEvent {
    NeighborLearned {
        port: u16,
        ip: IpAddr,
        mac: MacAddr,
        kind: LearnKind,
    },
    /// A packet needed `ip` on `port` and the snapshot had no entry.
    Resolve { port: u16, ip: IpAddr },
    /// A packet was forwarded through a STALE entry: confirm it.
    Probe { port: u16, ip: IpAddr },
}

/// A worker's outgoing event queue (bounded, lock-free). Full → the event
/// is dropped and counted in `overflows`.
#[derive(Debug)]
pub struct EventQueue {
    queue: ArrayQueue<ControlEvent>,
    overflows: AtomicU64,
}

impl EventQueue {
    pub fn new(capacity: usize) -> Self {
        Self {
            queue: ArrayQueue::new(capacity.max(1)),
            overflows: AtomicU64::new(0),
        }
    }
    /// Worker side. Never blocks.
    pub fn push(&self, e: ControlEvent) {
        if self.queue.push(e).is_err() {
            self.overflows.fetch_add(1, Ordering::Relaxed);
        }
    }
    /// Control side.
    pub fn pop(&self) -> Option<ControlEvent> {
        self.queue.pop()
    }
    pub fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
    }
}

/// What the control thread must send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighborAction {
    /// ARP request for `target` on `port`; broadcast, or unicast to the MAC
    /// we have when reconfirming a STALE entry. Build it with
    /// `pipeline::build_arp_request`.
    SendArpRequest {
        port: u16,
        target: std::net::Ipv4Addr,
        unicast: Option<MacAddr>,
    },
    /// NS for `target` on `port` to its solicited-node group, or unicast
    /// when reconfirming. Build it with `pipeline::build_neighbor_solicitation`.
    SendNeighborSolicit {
        port: u16,
        target: std::net::Ipv6Addr,
        unicast: Option<MacAddr>,
    },
    /// Resolution failed after the configured probes.
    Unreachable { port: u16, ip: IpAddr },
}

/// Timers (defaults from RFC 4861 §10 and Linux ARP).
#[derive(Debug, Clone, Copy)]
pub struct NeighborConfig {
    /// REACHABLE lasts this long after a confirmation (RFC 4861:
    /// REACHABLE_TIME 30 s).
    pub reachable_time: Duration,
    /// STALE entries unused this long are deleted.
    pub stale_timeout: Duration,
    /// Interval between probes (RETRANS_TIMER 1 s).
    pub retrans: Duration,
    /// Probes before giving up (MAX_MULTICAST/UNICAST_SOLICIT 3).
    pub max_probes: u8,
    /// A failed INCOMPLETE entry stays (suppressing new requests) this long.
    pub failed_hold: Duration,
    /// Upper bound on entries; new requests beyond it are ignored.
    pub max_entries: usize,
}

impl Default for NeighborConfig {
    fn default() -> Self {
        Self {
            reachable_time: Duration::from_secs(30),
            stale_timeout: Duration::from_secs(600),
            retrans: Duration::from_secs(1),
            max_probes: 3,
            failed_hold: Duration::from_secs(3),
            max_entries: 65_536,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Timer {
    /// INCOMPLETE or PROBE: probes sent so far, next due time.
    Probing { sent: u8, next: Instant },
    /// INCOMPLETE after failure: removed at this time.
    FailedUntil(Instant),
    /// REACHABLE until this time.
    ReachableUntil(Instant),
    /// STALE since this time.
    StaleSince(Instant),
    /// Configured statically: never ages, never overwritten by learning.
    Permanent,
}

#[derive(Debug, Clone, Copy)]
struct ManagedEntry {
    mac: Option<MacAddr>,
    state: NeighborState,
    timer: Timer,
}

/// Control-side neighbor state machine. No I/O, no clock: pass `now`.
#[derive(Debug, Default)]
pub struct NeighborManager {
    cfg: NeighborConfig,
    entries: KeyMap<ManagedEntry>,
    changed: bool,
}

fn probe_action(port: u16, ip: IpAddr, unicast: Option<MacAddr>) -> NeighborAction {
    match ip {
        IpAddr::V4(target) => NeighborAction::SendArpRequest {
            port,
            target,
            unicast,
        },
        IpAddr::V6(target) => NeighborAction::SendNeighborSolicit {
            port,
            target,
            unicast,
        },
    }
}

impl NeighborManager {
    pub fn new(cfg: NeighborConfig) -> Self {
        Self {
            cfg,
            entries: KeyMap::default(),
            changed: false,
        }
    }

    /// Applies one event from a worker.
    pub fn handle_event(
        &mut self,
        ev: ControlEvent,
        now: Instant,
        actions: &mut Vec<NeighborAction>,
    ) {
        match ev {
            ControlEvent::Resolve { port, ip } => {
                if self.entries.contains_key(&(port, ip))
                    || self.entries.len() >= self.cfg.max_entries
                {
                    return;
                }
                self.entries.insert(
                    (port, ip),
                    ManagedEntry {
                        mac: None,
                        state: NeighborState::Incomplete,
                        timer: Timer::Probing {
                            sent: 1,
                            next: now + self.cfg.retrans,
                        },
                    },
                );
                self.changed = true;
                actions.push(probe_action(port, ip, None));
            }
            ControlEvent::Probe { port, ip } => {
                let Some(e) = self.entries.get_mut(&(port, ip)) else {
                    return;
                };
                if e.state != NeighborState::Stale {
                    return;
                }
                e.state = NeighborState::Probe;
                e.timer = Timer::Probing {
                    sent: 1,
                    next: now + self.cfg.retrans,
                };
                self.changed = true;
                actions.push(probe_action(port, ip, e.mac));
            }
            ControlEvent::NeighborLearned {
                port,
                ip,
                mac,
                kind,
            } => self.learn(port, ip, mac, kind, now),
        }
    }

    /// Installs a static (permanent) binding, as configured by the
    /// operator: REACHABLE forever, not changed by ARP/NDP.
    pub fn add_static(&mut self, port: u16, ip: IpAddr, mac: MacAddr) {
        self.entries.insert(
            (port, ip),
            ManagedEntry {
                mac: Some(mac),
                state: NeighborState::Reachable,
                timer: Timer::Permanent,
            },
        );
        self.changed = true;
    }

    fn learn(&mut self, port: u16, ip: IpAddr, mac: MacAddr, kind: LearnKind, now: Instant) {
        if self
            .entries
            .get(&(port, ip))
            .is_some_and(|e| matches!(e.timer, Timer::Permanent))
        {
            return;
        }
        let reachable = ManagedEntry {
            mac: Some(mac),
            state: NeighborState::Reachable,
            timer: Timer::ReachableUntil(now + self.cfg.reachable_time),
        };
        let stale = ManagedEntry {
            mac: Some(mac),
            state: NeighborState::Stale,
            timer: Timer::StaleSince(now),
        };
        let full = self.entries.len() >= self.cfg.max_entries;
        let existing = self.entries.get_mut(&(port, ip));
        let new = match (kind, existing) {
            (LearnKind::Request, Some(e)) if e.mac == Some(mac) => {
                // Same binding: keep REACHABLE/PROBE as is (RFC 4861 §7.2.3).
                if e.state == NeighborState::Incomplete {
                    Some(stale)
                } else {
                    None
                }
            }
            (LearnKind::Request, Some(_)) => Some(stale),
            (LearnKind::Request, None) if !full => Some(stale),
            (LearnKind::Reply { .. }, None) => None, // unsolicited "reply": do not create
            (LearnKind::Reply { override_ }, Some(e)) => {
                if e.mac.is_none() || e.mac == Some(mac) || override_ {
                    Some(reachable)
                } else {
                    None
                }
            }
            (LearnKind::Unsolicited { override_ }, Some(e)) if e.mac.is_some() => {
                if e.mac != Some(mac) && override_ {
                    Some(stale)
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(n) = new {
            self.entries.insert((port, ip), n);
            self.changed = true;
        }
    }

    /// Runs timers: retransmits probes, gives up, ages REACHABLE → STALE,
    /// deletes unused STALE and failed entries. Call at least every
    /// `retrans`.
    pub fn poll(&mut self, now: Instant, actions: &mut Vec<NeighborAction>) {
        let cfg = self.cfg;
        let mut changed = false;
        self.entries.retain(|&(port, ip), e| match e.timer {
            Timer::Probing { sent, next } if now >= next => {
                if sent >= cfg.max_probes {
                    changed = true;
                    actions.push(NeighborAction::Unreachable { port, ip });
                    if e.state == NeighborState::Incomplete {
                        e.timer = Timer::FailedUntil(now + cfg.failed_hold);
                        true
                    } else {
                        false // PROBE failed: delete (RFC 4861 §7.3.3)
                    }
                } else {
                    e.timer = Timer::Probing {
                        sent: sent + 1,
                        next: now + cfg.retrans,
                    };
                    let unicast = if e.state == NeighborState::Probe {
                        e.mac
                    } else {
                        None
                    };
                    actions.push(probe_action(port, ip, unicast));
                    true
                }
            }
            Timer::FailedUntil(t) if now >= t => {
                changed = true;
                false
            }
            Timer::ReachableUntil(t) if now >= t => {
                changed = true;
                e.state = NeighborState::Stale;
                e.timer = Timer::StaleSince(now);
                true
            }
            Timer::StaleSince(t) if now.saturating_duration_since(t) >= cfg.stale_timeout => {
                changed = true;
                false
            }
            _ => true,
        });
        self.changed |= changed;
    }

    /// Forgets everything learned on `port` (link down, readdressed).
    pub fn flush_port(&mut self, port: u16) {
        let before = self.entries.len();
        self.entries.retain(|&(p, _), _| p != port);
        self.changed |= before != self.entries.len();
    }

    /// A new snapshot if anything changed since the last call.
    pub fn take_snapshot(&mut self) -> Option<NeighborTable> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        Some(NeighborTable::from_entries(self.entries.iter().map(
            |(&k, e)| {
                (
                    k,
                    NeighborEntry {
                        mac: e.mac,
                        state: e.state,
                    },
                )
            },
        )))
    }

    /// Publishes a new snapshot to the workers if anything changed.
    pub fn publish(&mut self, shared: &SharedNeighbors) -> bool {
        match self.take_snapshot() {
            Some(t) => {
                shared.store(Arc::new(t));
                true
            }
            None => false,
        }
    }

    /// Drains every worker queue into the state machine, runs timers and
    /// publishes: one control-thread tick.
    pub fn tick(
        &mut self,
        queues: &[Arc<EventQueue>],
        now: Instant,
        shared: &SharedNeighbors,
        actions: &mut Vec<NeighborAction>,
    ) {
        for q in queues {
            while let Some(ev) = q.pop() {
                self.handle_event(ev, now, actions);
            }
        }
        self.poll(now, actions);
        self.publish(shared);
    }
}

mod table;
#[cfg(test)]
mod tests;

pub use table::NeighborTable;
