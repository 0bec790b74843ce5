//! Per-worker counters. Each worker owns a [`WorkerCounters`] of plain u64s
//! (no atomics, no sharing on the per-packet path) and once per burst calls
//! [`WorkerCounters::publish`] to copy its running totals into its own
//! [`CounterSlot`] of `AtomicU64`s (Relaxed stores, single writer). The
//! metrics reader sums the slots of all workers with [`CounterSlots::totals`].
//! Both structs are `#[repr(align(64))]` so no two workers share a cache
//! line.

use crate::drop_reason::DropReason;
use std::sync::atomic::{AtomicU64, Ordering};

/// Non-drop events the pipeline counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Event {
    /// Frames forwarded toward a next hop.
    Forwarded,
    /// Frames rewritten into a reply (ARP reply, NA, echo reply, ICMP error).
    Replied,
    /// Frames for us handed to the glue as `Verdict::Local`.
    LocalDelivered,
    /// Frames fully handled with nothing to send (ARP reply / NA learned).
    Consumed,
    ArpRepliesSent,
    NeighborAdvertsSent,
    EchoRepliesSent,
    /// ICMP/ICMPv6 errors generated (time exceeded, frag needed, PTB).
    IcmpErrorsSent,
    /// ICMP errors not sent because the token bucket was empty.
    IcmpRateLimited,
    /// ICMP errors not sent by rule (about an ICMP error, a non-first
    /// fragment, a multicast/broadcast/unspecified source or destination,
    /// or no source address configured on the port).
    IcmpSuppressed,
    /// Neighbor bindings learned and reported to the control thread.
    NeighborsLearned,
    /// Resolution requests emitted for unknown next hops.
    ResolveRequests,
    /// Forwarded through a STALE neighbor entry (re-probe requested).
    StaleNeighborUsed,
    /// Client packets encrypted into a tunnel (LAN -> WAN).
    OverlayEncapsulated,
    /// ESP packets decrypted and handed to the inner VRF (WAN -> LAN).
    OverlayDecapsulated,
    /// NAT-T keepalives (RFC 3948 §2.3) received and consumed.
    OverlayKeepalives,
    /// TCP SYNs whose MSS option was lowered to the overlay clamp.
    MssClamped,
    /// Inbound SAs a worker could not install from a snapshot (bad key
    /// or window): the SA's packets then drop as `esp_bad_spi`.
    InboundSaRejected,
    /// Client packets sent natively (unencrypted) over a private tunnel.
    NativeEncapsulated,
    /// Native overlay packets from a private tunnel handed to their VRF.
    NativeDecapsulated,
    /// Client packets source-NATed out of an internet port (breakout).
    BreakoutSent,
    /// Breakout return packets translated back into their VRF.
    BreakoutReturned,
    /// Policy flows moved to another path kind after theirs failed.
    FlowsMoved,
    /// A breakout NAT44 a worker could not build from the snapshot.
    BreakoutRejected,
    /// Decapsulated packets a transit VRF (a hub) encrypted again toward
    /// another edge (WAN -> WAN, hub-and-spoke).
    OverlayTransit,
}

impl Event {
    pub const COUNT: usize = Event::OverlayTransit as usize + 1;
    pub const ALL: [Event; Event::COUNT] = [
        Event::Forwarded,
        Event::Replied,
        Event::LocalDelivered,
        Event::Consumed,
        Event::ArpRepliesSent,
        Event::NeighborAdvertsSent,
        Event::EchoRepliesSent,
        Event::IcmpErrorsSent,
        Event::IcmpRateLimited,
        Event::IcmpSuppressed,
        Event::NeighborsLearned,
        Event::ResolveRequests,
        Event::StaleNeighborUsed,
        Event::OverlayEncapsulated,
        Event::OverlayDecapsulated,
        Event::OverlayKeepalives,
        Event::MssClamped,
        Event::InboundSaRejected,
        Event::NativeEncapsulated,
        Event::NativeDecapsulated,
        Event::BreakoutSent,
        Event::BreakoutReturned,
        Event::FlowsMoved,
        Event::BreakoutRejected,
        Event::OverlayTransit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::Forwarded => "forwarded",
            Event::Replied => "replied",
            Event::LocalDelivered => "local_delivered",
            Event::Consumed => "consumed",
            Event::ArpRepliesSent => "arp_replies_sent",
            Event::NeighborAdvertsSent => "neighbor_adverts_sent",
            Event::EchoRepliesSent => "echo_replies_sent",
            Event::IcmpErrorsSent => "icmp_errors_sent",
            Event::IcmpRateLimited => "icmp_rate_limited",
            Event::IcmpSuppressed => "icmp_suppressed",
            Event::NeighborsLearned => "neighbors_learned",
            Event::ResolveRequests => "resolve_requests",
            Event::StaleNeighborUsed => "stale_neighbor_used",
            Event::OverlayEncapsulated => "overlay_encapsulated",
            Event::OverlayDecapsulated => "overlay_decapsulated",
            Event::OverlayKeepalives => "overlay_keepalives",
            Event::MssClamped => "mss_clamped",
            Event::InboundSaRejected => "inbound_sa_rejected",
            Event::NativeEncapsulated => "native_encapsulated",
            Event::NativeDecapsulated => "native_decapsulated",
            Event::BreakoutSent => "breakout_sent",
            Event::BreakoutReturned => "breakout_returned",
            Event::FlowsMoved => "flows_moved",
            Event::BreakoutRejected => "breakout_rejected",
            Event::OverlayTransit => "overlay_transit",
        }
    }
}

/// rx/tx per port (logical: a sub-interface counts its own frames, its
/// parent every frame on the wire).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortCounters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

/// The guard of an internet WAN port (pipeline `wan_guard`), per port:
/// packets its rate limiter passed and dropped, and what the filter
/// dropped after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardCounters {
    pub passed: u64,
    pub rate_limited: u64,
    pub filtered: u64,
    pub transit: u64,
}

impl GuardCounters {
    fn words(&self) -> [u64; 4] {
        [self.passed, self.rate_limited, self.filtered, self.transit]
    }
}

/// One worker's counters; owned and written by that worker only.
#[derive(Debug, Clone)]
#[repr(align(64))]
pub struct WorkerCounters {
    drops: [u64; DropReason::COUNT],
    events: [u64; Event::COUNT],
    ports: Vec<PortCounters>,
    guard: Vec<GuardCounters>,
}

impl WorkerCounters {
    /// Counters for port ids `0..num_ports`; higher ids are not counted
    /// per port (the pipeline drops them as `unknown_port` anyway).
    pub fn new(num_ports: usize) -> Self {
        Self {
            drops: [0; DropReason::COUNT],
            events: [0; Event::COUNT],
            ports: vec![PortCounters::default(); num_ports],
            guard: vec![GuardCounters::default(); num_ports],
        }
    }
    #[inline]
    pub fn guard_mut(&mut self, port: u16) -> Option<&mut GuardCounters> {
        self.guard.get_mut(usize::from(port))
    }
    pub fn guard(&self, port: u16) -> GuardCounters {
        self.guard
            .get(usize::from(port))
            .copied()
            .unwrap_or_default()
    }
    #[inline]
    pub fn drop(&mut self, r: DropReason) {
        self.drops[r.index()] += 1;
    }
    #[inline]
    pub fn event(&mut self, e: Event) {
        self.events[e as usize] += 1;
    }
    #[inline]
    pub fn rx(&mut self, port: u16, bytes: usize) {
        if let Some(p) = self.ports.get_mut(usize::from(port)) {
            p.rx_packets += 1;
            p.rx_bytes += bytes as u64;
        }
    }
    /// Called by the glue once a frame is accepted by the tx ring; for an
    /// 802.1Q sub-interface, by the pipeline when the frame is tagged for
    /// its parent (the glue then counts the parent).
    #[inline]
    pub fn tx(&mut self, port: u16, bytes: usize) {
        if let Some(p) = self.ports.get_mut(usize::from(port)) {
            p.tx_packets += 1;
            p.tx_bytes += bytes as u64;
        }
    }
    /// Counts `n` drops at once (e.g. `TxFull` after a tx burst).
    #[inline]
    pub fn drop_n(&mut self, r: DropReason, n: u64) {
        self.drops[r.index()] += n;
    }
    /// Counts a whole tx burst's result on `port`.
    #[inline]
    pub fn tx_burst(&mut self, port: u16, packets: u64, bytes: u64) {
        if let Some(p) = self.ports.get_mut(usize::from(port)) {
            p.tx_packets += packets;
            p.tx_bytes += bytes;
        }
    }
    pub fn drops(&self, r: DropReason) -> u64 {
        self.drops[r.index()]
    }
    pub fn events(&self, e: Event) -> u64 {
        self.events[e as usize]
    }
    pub fn port(&self, port: u16) -> PortCounters {
        self.ports
            .get(usize::from(port))
            .copied()
            .unwrap_or_default()
    }

    /// Copies the running totals into this worker's slot (Relaxed stores;
    /// the slot has one writer). Call once per burst.
    pub fn publish(&self, slot: &CounterSlot) {
        for (a, v) in slot.drops.iter().zip(self.drops.iter()) {
            a.store(*v, Ordering::Relaxed);
        }
        for (a, v) in slot.events.iter().zip(self.events.iter()) {
            a.store(*v, Ordering::Relaxed);
        }
        for (a, v) in slot.ports.iter().zip(self.ports.iter()) {
            a[0].store(v.rx_packets, Ordering::Relaxed);
            a[1].store(v.rx_bytes, Ordering::Relaxed);
            a[2].store(v.tx_packets, Ordering::Relaxed);
            a[3].store(v.tx_bytes, Ordering::Relaxed);
        }
        for (a, v) in slot.guard.iter().zip(self.guard.iter()) {
            for (a, v) in a.iter().zip(v.words()) {
                a.store(v, Ordering::Relaxed);
            }
        }
    }
}

/// A worker's published counters, read by the metrics side.
#[derive(Debug)]
#[repr(align(64))]
pub struct CounterSlot {
    drops: [AtomicU64; DropReason::COUNT],
    events: [AtomicU64; Event::COUNT],
    ports: Vec<[AtomicU64; 4]>,
    guard: Vec<[AtomicU64; 4]>,
}

impl CounterSlot {
    pub fn new(num_ports: usize) -> Self {
        Self {
            drops: std::array::from_fn(|_| AtomicU64::new(0)),
            events: std::array::from_fn(|_| AtomicU64::new(0)),
            ports: (0..num_ports)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
            guard: (0..num_ports)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
        }
    }
}

/// All workers' slots (shared as `Arc<CounterSlots>`; worker `i` publishes
/// into `slot(i)`).
#[derive(Debug)]
pub struct CounterSlots {
    slots: Vec<CounterSlot>,
    num_ports: usize,
}

/// Sums over all workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterTotals {
    pub drops: [u64; DropReason::COUNT],
    pub events: [u64; Event::COUNT],
    pub ports: Vec<PortCounters>,
    /// Per port: its WAN guard (all zero on unguarded ports).
    pub guard: Vec<GuardCounters>,
}

impl CounterTotals {
    pub fn drop_count(&self, r: DropReason) -> u64 {
        self.drops[r.index()]
    }
    pub fn event_count(&self, e: Event) -> u64 {
        self.events[e as usize]
    }
    /// Non-zero drop counters by name, in declaration order.
    pub fn nonzero_drops(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|r| (r.as_str(), self.drops[r.index()]))
            .filter(|(_, n)| *n != 0)
    }
}

impl CounterSlots {
    pub fn new(workers: usize, num_ports: usize) -> Self {
        Self {
            slots: (0..workers).map(|_| CounterSlot::new(num_ports)).collect(),
            num_ports,
        }
    }
    pub fn slot(&self, worker: usize) -> Option<&CounterSlot> {
        self.slots.get(worker)
    }
    pub fn totals(&self) -> CounterTotals {
        let mut t = CounterTotals {
            drops: [0; DropReason::COUNT],
            events: [0; Event::COUNT],
            ports: vec![PortCounters::default(); self.num_ports],
            guard: vec![GuardCounters::default(); self.num_ports],
        };
        for s in &self.slots {
            for (d, a) in t.drops.iter_mut().zip(s.drops.iter()) {
                *d += a.load(Ordering::Relaxed);
            }
            for (d, a) in t.events.iter_mut().zip(s.events.iter()) {
                *d += a.load(Ordering::Relaxed);
            }
            for (p, a) in t.ports.iter_mut().zip(s.ports.iter()) {
                p.rx_packets += a[0].load(Ordering::Relaxed);
                p.rx_bytes += a[1].load(Ordering::Relaxed);
                p.tx_packets += a[2].load(Ordering::Relaxed);
                p.tx_bytes += a[3].load(Ordering::Relaxed);
            }
            for (g, a) in t.guard.iter_mut().zip(s.guard.iter()) {
                g.passed += a[0].load(Ordering::Relaxed);
                g.rate_limited += a[1].load(Ordering::Relaxed);
                g.filtered += a[2].load(Ordering::Relaxed);
                g.transit += a[3].load(Ordering::Relaxed);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_and_sum_across_workers() {
        let slots = CounterSlots::new(2, 2);
        let mut a = WorkerCounters::new(2);
        let mut b = WorkerCounters::new(2);
        a.drop(DropReason::NoRoute);
        b.drop(DropReason::NoRoute);
        b.event(Event::Forwarded);
        a.rx(1, 64);
        b.rx(1, 100);
        b.tx(0, 60);
        b.tx_burst(1, 2, 128);
        b.drop_n(DropReason::TxFull, 3);
        a.rx(9, 1); // unknown port: not counted per port
        b.guard_mut(1).unwrap().rate_limited += 4;
        a.guard_mut(1).unwrap().passed += 1;
        assert!(a.guard_mut(9).is_none());
        a.publish(slots.slot(0).unwrap());
        b.publish(slots.slot(1).unwrap());
        let t = slots.totals();
        assert_eq!(t.drop_count(DropReason::NoRoute), 2);
        assert_eq!(t.event_count(Event::Forwarded), 1);
        assert_eq!(
            t.ports[1],
            PortCounters {
                rx_packets: 2,
                rx_bytes: 164,
                tx_packets: 2,
                tx_bytes: 128
            }
        );
        assert_eq!(t.ports[0].tx_bytes, 60);
        assert_eq!(
            t.guard[1],
            GuardCounters {
                passed: 1,
                rate_limited: 4,
                ..Default::default()
            }
        );
        assert_eq!(
            t.nonzero_drops().collect::<Vec<_>>(),
            vec![("no_route", 2), ("tx_full", 3)]
        );
        // Publishing again is idempotent (totals, not deltas).
        a.publish(slots.slot(0).unwrap());
        assert_eq!(slots.totals().drop_count(DropReason::NoRoute), 2);
        assert_eq!(std::mem::align_of::<WorkerCounters>(), 64);
        assert_eq!(std::mem::align_of::<CounterSlot>(), 64);
    }
}
