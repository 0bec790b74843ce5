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
    match neighbors.lookup(out.id, ip) {
        None => {
            events(ControlEvent::Resolve { port: out.id, ip });
            worker.counters.event(Event::ResolveRequests);
            Err(DropReason::NoNeighbor)
        }
        Some(e) => {
            let mac = e.mac.ok_or(DropReason::NoNeighbor)?;
            if e.state == NeighborState::Stale {
                events(ControlEvent::Probe { port: out.id, ip });
                worker.counters.event(Event::StaleNeighborUsed);
            }
            Ok(mac)
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
