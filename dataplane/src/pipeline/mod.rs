//! The I/O-free forwarding pipeline. The DPDK glue hands every received
//! frame to [`process`] as a [`Frame`] over the mbuf's memory; `process`
//! parses and validates it, answers what is addressed to us (ARP, NDP,
//! echo), looks the destination up in the FIB and the neighbor table,
//! rewrites the frame in place and returns a [`Verdict`]. The glue then
//! transmits, punts or frees. Nothing here allocates, locks or formats per
//! packet, so the whole behaviour is tested in memory.
//!
//! Per worker: one [`WorkerState`] (counters, ICMP token bucket, clock),
//! one [`crate::neighbor::EventQueue`] for [`ControlEvent`]s. Per burst the
//! glue loads the FIB and neighbor snapshots into a [`Context`] and calls
//! [`WorkerState::set_now`].
//!
//! Files: `port` (our addresses), `local_addrs` (the same, flattened per
//! VRF for the per-packet check), `ethernet` (L2 accept/demux), `arp`,
//! `ipv4`, `ipv6`, `ndp`, `icmp_error` (in-place ICMP errors), `next_hop`
//! (FIB result → neighbor → L2 rewrite), `solicit` (ARP request / NS
//! builders for the control thread), `rate_limit`, `wan_guard` (what an
//! internet WAN port admits, per-source rate limit), `overlay_out` (client
//! packet → ESP-in-UDP toward a remote edge, LAN → WAN) and `overlay_in`
//! (ESP-in-UDP to us → client packet into its VRF, WAN → LAN).

mod arp;
mod breakout;
mod ethernet;
mod icmp_error;
mod ipv4;
mod ipv6;
mod local_addrs;
mod ndp;
mod next_hop;
mod overlay_in;
mod overlay_out;
mod port;
mod rate_limit;
mod solicit;
mod steer;
#[cfg(test)]
mod tests;
mod vlan;
mod wan_guard;

pub use local_addrs::LocalAddrs;
pub(crate) use next_hop::Neighbor;
pub use port::PortConfig;
pub use rate_limit::TokenBucket;
pub use solicit::{build_arp_request, build_neighbor_solicitation, SolicitError};
pub use vlan::{to_wire, VlanBinding};
pub use wan_guard::{
    AllowRule, GuardProtocol, SourcePrefix, WanGuard, DEFAULT_RATE_LIMIT_BURST,
    DEFAULT_RATE_LIMIT_PPS,
};

use crate::counters::{Event, WorkerCounters};
use crate::drop_reason::DropReason;
use crate::fib::Fib;
use crate::neighbor::{ControlEvent, NeighborTable};
use crate::overlay::{OverlayTable, OverlayWorker};
use sdwan_packet::Frame;

/// What the glue does with the frame after [`process`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Rewritten (TTL/hop limit decremented, new L2 header toward the next
    /// hop): transmit on `port`.
    Forward { port: u16 },
    /// Rewritten into a reply (ARP reply, NA, echo reply, ICMP error):
    /// transmit on `port` (the port it came in on).
    Reply { port: u16 },
    /// Addressed to us but not handled here (TCP/UDP to our addresses,
    /// RS/RA, ...). Unchanged. A glue with an exception path (TAP) punts it;
    /// one without frees it and counts `DropReason::LocalUnhandled`. A
    /// frame received on a sub-interface is left untagged (the tag was
    /// stripped at ingress): an exception path must punt it per logical
    /// port (e.g. to a kernel VLAN device, or re-tagged with
    /// [`vlan::push`]), never as if it came in untagged on the parent.
    Local,
    /// Fully handled, nothing to send (ARP reply or NA learned): free it.
    Consumed,
    /// Free it; already counted under this reason.
    Drop(DropReason),
}

impl Verdict {
    /// The port to transmit on, if any.
    pub fn tx_port(&self) -> Option<u16> {
        match *self {
            Verdict::Forward { port } | Verdict::Reply { port } => Some(port),
            _ => None,
        }
    }
}

/// The read-only state of one burst: snapshots loaded once by the glue.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// Indexed by port id (`ports[i].id == i`).
    pub ports: &'a [PortConfig],
    pub fib: &'a Fib,
    pub neighbors: &'a NeighborTable,
    /// Our addresses per VRF: `LocalAddrs::new(ports)`, rebuilt whenever
    /// `ports` changes.
    pub local: &'a LocalAddrs,
    /// The overlay snapshot (tunnels, paths, decap map, inbound SAs),
    /// loaded once per burst like the FIB.
    pub overlay: &'a OverlayTable,
}

impl<'a> Context<'a> {
    // Several times per frame: inlined (a call costs more than the body).
    #[inline(always)]
    fn port(&self, id: u16) -> Option<&'a PortConfig> {
        self.ports.get(usize::from(id)).filter(|p| p.id == id)
    }
}

/// Where a packet enters the IP stage: from a port (its VRF), or out of the
/// overlay after decryption (VRF from the label; ICMP errors and local
/// delivery are not sent back into the tunnel, and the packet may not go
/// back into the overlay unless its VRF is a transit one).
#[derive(Clone, Copy)]
struct Ingress<'a> {
    port: &'a PortConfig,
    vrf: u16,
    from_overlay: bool,
    /// Out of the overlay into a transit VRF (a hub): may go back into the
    /// overlay toward another edge.
    transit: bool,
}

impl<'a> Ingress<'a> {
    #[inline(always)]
    fn port(port: &'a PortConfig) -> Self {
        Self {
            port,
            vrf: port.vrf,
            from_overlay: false,
            transit: false,
        }
    }

    /// The guard of an internet WAN port, for packets received on it
    /// (not for client packets decrypted out of the overlay).
    #[inline(always)]
    fn wan_guard(&self) -> Option<&'a wan_guard::WanGuard> {
        if self.from_overlay {
            None
        } else {
            self.port.guard.as_ref()
        }
    }
}

/// ICMP error rate limit per worker.
#[derive(Debug, Clone, Copy)]
pub struct IcmpRateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for IcmpRateLimit {
    /// 1000/s with a burst of 50 per worker (Linux icmp_ratelimit-like).
    fn default() -> Self {
        Self {
            per_second: 1000,
            burst: 50,
        }
    }
}

/// Everything one worker owns and writes per packet.
#[derive(Debug)]
pub struct WorkerState {
    pub counters: WorkerCounters,
    /// This worker's inbound SAs, tunnel counters and WAN port set, synced
    /// from the overlay snapshot on each generation change.
    pub overlay: OverlayWorker,
    /// Per-source rate limiters of the guarded (internet WAN) ports.
    wan_guard: wan_guard::GuardWorker,
    icmp_bucket: TokenBucket,
    now_ns: u64,
}

impl WorkerState {
    pub fn new(num_ports: usize, icmp: IcmpRateLimit) -> Self {
        Self {
            counters: WorkerCounters::new(num_ports),
            overlay: OverlayWorker::new(),
            wan_guard: wan_guard::GuardWorker::default(),
            icmp_bucket: TokenBucket::new(icmp.per_second, icmp.burst),
            now_ns: 0,
        }
    }

    /// Sets the clock (monotonic nanoseconds) once per burst.
    pub fn set_now(&mut self, now_ns: u64) {
        self.now_ns = now_ns;
    }

    /// The clock as last set.
    pub fn now(&self) -> u64 {
        self.now_ns
    }

    fn icmp_allowed(&mut self) -> bool {
        if self.icmp_bucket.take(self.now_ns) {
            true
        } else {
            self.counters.event(Event::IcmpRateLimited);
            false
        }
    }
}

/// Decides what happens to `frame`, received on `in_port`, rewriting it in
/// place. Counts rx on `in_port`, the verdict, and every drop by reason
/// (tx is counted by the glue once the tx ring took the frame). Events for
/// the control thread (learned neighbors, resolution requests) go to
/// `events`; pass a closure pushing into the worker's `EventQueue`.
pub fn process(
    frame: &mut Frame<'_>,
    in_port: u16,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    worker.counters.rx(in_port, frame.len());
    worker.overlay.sync(ctx.overlay, &mut worker.counters);
    // Frames arrive on physical ports only; a sub-interface is reached
    // through its parent's tag.
    let verdict = match ctx.port(in_port) {
        Some(port) if port.vlan.is_none() => ethernet::input(frame, port, ctx, worker, events),
        _ => Verdict::Drop(DropReason::UnknownPort),
    };
    let verdict = egress(frame, verdict, ctx, worker);
    let c = &mut worker.counters;
    match verdict {
        Verdict::Forward { .. } => c.event(Event::Forwarded),
        Verdict::Reply { .. } => c.event(Event::Replied),
        Verdict::Local => c.event(Event::LocalDelivered),
        Verdict::Consumed => c.event(Event::Consumed),
        Verdict::Drop(r) => c.drop(r),
    }
    verdict
}

/// The one egress step: a frame for a sub-interface (forwarded, a reply,
/// an ICMP error, a decapsulated overlay packet) gets its 802.1Q tag and
/// leaves on the parent. Its tx is counted on the sub-interface here, as
/// handed to the parent's tx queue (the glue counts the parent's tx, and a
/// full queue as `tx_full`).
#[inline(always)]
fn egress(
    frame: &mut Frame<'_>,
    verdict: Verdict,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
) -> Verdict {
    let Some(port) = verdict.tx_port() else {
        return verdict;
    };
    let Some(binding) = ctx.port(port).and_then(|p| p.vlan) else {
        return verdict;
    };
    if !vlan::push(frame, binding.vid) {
        return Verdict::Drop(DropReason::NoRoom);
    }
    worker.counters.tx(port, frame.len());
    match verdict {
        Verdict::Reply { .. } => Verdict::Reply {
            port: binding.parent,
        },
        _ => Verdict::Forward {
            port: binding.parent,
        },
    }
}
