//! From a FIB result to a MAC: neighbor lookup on the egress port, the
//! resolution/probe events for the control thread, and the L2 rewrite.

use super::{PortConfig, WorkerState};
use crate::counters::Event;
use crate::drop_reason::DropReason;
use crate::neighbor::{ControlEvent, NeighborState, NeighborTable};
use sdwan_packet::ethernet::EthernetFrame;
use sdwan_packet::{Frame, MacAddr};
use std::net::IpAddr;

/// The MAC of `ip` on `out`, or `NoNeighbor` after asking the control
/// thread to resolve it (only when the snapshot has no entry at all: an
/// INCOMPLETE entry means a request is already out). A STALE entry is used
/// and a probe requested (RFC 4861 §7.3.3).
// Per-frame path: inlined so no call frame or argument passing is paid.
#[inline(always)]
pub(super) fn resolve(
    neighbors: &NeighborTable,
    out: &PortConfig,
    ip: IpAddr,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Result<MacAddr, DropReason> {
    Neighbor::look_up(neighbors, out.id, ip).use_for(out.id, ip, worker, events)
}

/// What the neighbor snapshot says about one next hop, as a value (the
/// overlay caches it per tunnel while the snapshot stays, see
/// `crate::overlay::UnderlayCache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Neighbor {
    /// REACHABLE (or DELAY / PROBE / static): use `mac`.
    Usable(MacAddr),
    /// STALE: use `mac` and ask for a probe.
    Stale(MacAddr),
    /// No entry: ask for resolution, drop.
    Missing,
    /// INCOMPLETE (resolution under way) or FAILED: drop.
    Unresolved,
}

impl Neighbor {
    #[inline(always)]
    pub(crate) fn look_up(neighbors: &NeighborTable, port: u16, ip: IpAddr) -> Self {
        match neighbors.lookup(port, ip) {
            None => Neighbor::Missing,
            Some(e) => match e.mac {
                None => Neighbor::Unresolved,
                Some(mac) if e.state == NeighborState::Stale => Neighbor::Stale(mac),
                Some(mac) => Neighbor::Usable(mac),
            },
        }
    }

    /// The MAC for this packet, with the events and counts a lookup of
    /// `ip` on `port` owes the control thread every time it is made.
    #[inline(always)]
    pub(crate) fn use_for(
        self,
        port: u16,
        ip: IpAddr,
        worker: &mut WorkerState,
        events: &mut impl FnMut(ControlEvent),
    ) -> Result<MacAddr, DropReason> {
        match self {
            Neighbor::Usable(mac) => Ok(mac),
            Neighbor::Stale(mac) => {
                events(ControlEvent::Probe { port, ip });
                worker.counters.event(Event::StaleNeighborUsed);
                Ok(mac)
            }
            Neighbor::Missing => {
                events(ControlEvent::Resolve { port, ip });
                worker.counters.event(Event::ResolveRequests);
                Err(DropReason::NoNeighbor)
            }
            Neighbor::Unresolved => Err(DropReason::NoNeighbor),
        }
    }
}

/// New L2 header toward the next hop: dst `mac`, src the egress port.
// Per-frame path: inlined so no call frame or argument passing is paid.
#[inline(always)]
pub(super) fn rewrite_l2(frame: &mut Frame<'_>, out: &PortConfig, mac: MacAddr) {
    let mut eth = EthernetFrame::new_unchecked(frame.data_mut());
    eth.set_dst(mac);
    eth.set_src(out.mac);
}
