//! Per-tunnel and per-SA counters, published like the worker counters
//! (`crate::counters`): each worker counts into plain u64s it owns and, once
//! per burst that touched the overlay, copies them into its own
//! [`OverlayCounterBlock`] of `AtomicU64`s (Relaxed stores, one writer).
//! The block's key list (which tunnels, which SPIs) follows the overlay
//! snapshot, so on a generation change the worker builds a new block (an
//! allocation per snapshot change, never per packet) and swaps it into its
//! slot (arc-swap: the reader never blocks the worker and vice versa).
//! The management side calls [`OverlayCounterSlots::totals`], which sums
//! all workers by key.

use arc_swap::ArcSwap;
use sdwan_crypto::esp::SaCounters;
use sdwan_crypto::DropReason as EspDrop;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// One outbound tunnel SA: local WAN port, remote endpoint, SPI. A rekey
/// gives a new key (new SPI), so counters are per SA; `show tunnels` sums
/// by (local_port, remote).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelKey {
    pub local_port: u16,
    pub remote: IpAddr,
    pub spi: u32,
}

/// One inbound SA on the WAN port it arrives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InboundKey {
    pub local_port: u16,
    pub spi: u32,
}

/// A worker's running counters of one tunnel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TunnelCounters {
    /// Packets, inner bytes and ESP drops (from `SharedOutboundSa::encap`).
    pub sa: SaCounters,
    /// Drops after the tunnel was chosen, outside ESP: tunnel MTU, no
    /// underlay route or neighbor, no room.
    pub path_drops: u64,
    /// Client packets and bytes sent natively (unencrypted) over this
    /// private tunnel.
    pub native_packets: u64,
    pub native_bytes: u64,
    /// This worker's reserved run of the SA's sequence numbers, with
    /// their nonces and AADs built ahead (`SharedOutboundSa::encap_reserved`).
    pub seq: sdwan_crypto::esp::SeqBlock,
    /// When (worker clock, ns) the last NAT-T keepalive from the tunnel's
    /// remote end arrived on its local port; 0: never. The control thread
    /// declares a tunnel dead when this stops moving (failover, §4.1.2).
    pub last_rx_ns: u64,
}

/// packets, bytes, path drops, native packets, native bytes, last rx,
/// then one per ESP drop reason.
const FIXED: usize = 6;
const VALUES: usize = FIXED + EspDrop::COUNT;
type Values = [AtomicU64; VALUES];

fn zero() -> Values {
    std::array::from_fn(|_| AtomicU64::new(0))
}

fn store(v: &Values, c: &SaCounters, t: Option<&TunnelCounters>) {
    v[0].store(c.packets, Ordering::Relaxed);
    v[1].store(c.bytes, Ordering::Relaxed);
    if let Some(t) = t {
        v[2].store(t.path_drops, Ordering::Relaxed);
        v[3].store(t.native_packets, Ordering::Relaxed);
        v[4].store(t.native_bytes, Ordering::Relaxed);
        v[5].store(t.last_rx_ns, Ordering::Relaxed);
    }
    for (a, r) in v[FIXED..].iter().zip(EspDrop::ALL) {
        a.store(c.drops.get(*r), Ordering::Relaxed);
    }
}

/// One worker's published overlay counters for one snapshot's key list.
#[derive(Debug, Default)]
pub struct OverlayCounterBlock {
    tunnels: Vec<(TunnelKey, Values)>,
    inbound: Vec<(InboundKey, Values)>,
}

impl OverlayCounterBlock {
    pub(crate) fn new(tunnels: &[TunnelKey], inbound: &[InboundKey]) -> Self {
        Self {
            tunnels: tunnels.iter().map(|k| (*k, zero())).collect(),
            inbound: inbound.iter().map(|k| (*k, zero())).collect(),
        }
    }

    /// Stores tunnel `i`'s counters (same order as the key list).
    pub(crate) fn store_tunnel(&self, i: usize, c: &TunnelCounters) {
        if let Some((_, v)) = self.tunnels.get(i) {
            store(v, &c.sa, Some(c));
        }
    }

    pub(crate) fn store_inbound(&self, i: usize, c: &SaCounters) {
        if let Some((_, v)) = self.inbound.get(i) {
            store(v, c, None);
        }
    }
}

/// Sums for one tunnel SA or one inbound SA over all workers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaTotals {
    pub packets: u64,
    /// Inner (client) bytes.
    pub bytes: u64,
    /// Drops by name: ESP reasons (`esp_replay`, `esp_icv_fail`, ...) and,
    /// for tunnels, `path` (MTU, underlay route/neighbor, room).
    pub drops: BTreeMap<&'static str, u64>,
    /// Tunnels: client packets / bytes sent natively (private path).
    pub native_packets: u64,
    pub native_bytes: u64,
    /// Tunnels: the latest keepalive arrival over all workers (ns of the
    /// workers' monotonic clock; 0: none yet).
    pub last_rx_ns: u64,
}

impl SaTotals {
    fn add(&mut self, v: &Values) {
        self.packets += v[0].load(Ordering::Relaxed);
        self.bytes += v[1].load(Ordering::Relaxed);
        let path = v[2].load(Ordering::Relaxed);
        if path != 0 {
            *self.drops.entry("path").or_default() += path;
        }
        self.native_packets += v[3].load(Ordering::Relaxed);
        self.native_bytes += v[4].load(Ordering::Relaxed);
        self.last_rx_ns = self.last_rx_ns.max(v[5].load(Ordering::Relaxed));
        for (a, r) in v[FIXED..].iter().zip(EspDrop::ALL) {
            let n = a.load(Ordering::Relaxed);
            if n != 0 {
                *self
                    .drops
                    .entry(crate::drop_reason::DropReason::from(*r).as_str())
                    .or_default() += n;
            }
        }
    }

    /// All drops of this SA.
    pub fn drop_total(&self) -> u64 {
        self.drops.values().sum()
    }
}

/// What `sdwan show tunnels|sa` reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OverlayTotals {
    pub tunnels: BTreeMap<TunnelKey, SaTotals>,
    pub inbound: BTreeMap<InboundKey, SaTotals>,
}

/// All workers' overlay counter blocks (shared as
/// `Arc<OverlayCounterSlots>`; worker `i` publishes into `slot(i)`).
#[derive(Debug)]
pub struct OverlayCounterSlots {
    slots: Vec<ArcSwap<OverlayCounterBlock>>,
}

impl OverlayCounterSlots {
    pub fn new(workers: usize) -> Self {
        Self {
            slots: (0..workers)
                .map(|_| ArcSwap::from_pointee(OverlayCounterBlock::default()))
                .collect(),
        }
    }

    pub fn slot(&self, worker: usize) -> Option<&ArcSwap<OverlayCounterBlock>> {
        self.slots.get(worker)
    }

    /// Sums every worker's latest published counters by tunnel / SA key.
    /// Keys that left the snapshot disappear once every worker synced.
    pub fn totals(&self) -> OverlayTotals {
        let mut t = OverlayTotals::default();
        for s in &self.slots {
            let block = s.load();
            for (k, v) in &block.tunnels {
                t.tunnels.entry(*k).or_default().add(v);
            }
            for (k, v) in &block.inbound {
                t.inbound.entry(*k).or_default().add(v);
            }
        }
        t
    }
}
