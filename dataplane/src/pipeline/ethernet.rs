//! L2 accept and demux: a routed port accepts frames to its MAC,
//! broadcast (ARP), and IPv6 multicast (33:33:..., RFC 2464 §7; the IPv6
//! stage checks the group is one we joined). Tagged frames go to the
//! 802.1Q sub-interface of their VID, untagged (see `vlan`).

use super::{arp, ipv4, ipv6, vlan, Context, Ingress, PortConfig, Verdict, WorkerState};
use crate::drop_reason::DropReason;
use crate::neighbor::ControlEvent;
use sdwan_packet::ethernet::{ethertype, EthernetFrame, HEADER_LEN};
use sdwan_packet::{Error, Frame};

// Per-frame path: inlined so no call frame or argument passing is paid.
#[inline(always)]
pub(super) fn input(
    frame: &mut Frame<'_>,
    port: &PortConfig,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    let eth = match EthernetFrame::new_checked(frame.data()) {
        Ok(e) => e,
        Err(Error::Truncated { .. }) => return Verdict::Drop(DropReason::Truncated),
        Err(_) => return Verdict::Drop(DropReason::BadEthertype),
    };
    match eth.vlan_id() {
        None => accept(frame, port, ctx, worker, events),
        Some(vid) => tagged(frame, port, vid, ctx, worker, events),
    }
}

/// A tagged frame on the physical port `parent`: the sub-interface of its
/// VID gets it untagged (counted as received there too); VID 0 (priority
/// tag, IEEE 802.1Q §9.6) belongs to the parent itself; any other VID is
/// `vlan_not_configured`.
#[inline(never)]
fn tagged(
    frame: &mut Frame<'_>,
    parent: &PortConfig,
    vid: u16,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    let port = if vid == 0 {
        parent
    } else {
        match vlan::sub_interface(ctx.ports, parent.id, vid) {
            Some(sub) => sub,
            None => return Verdict::Drop(DropReason::VlanNotConfigured),
        }
    };
    if !vlan::strip(frame) {
        return Verdict::Drop(DropReason::Truncated);
    }
    if port.id != parent.id {
        worker.counters.rx(port.id, frame.len());
    }
    accept(frame, port, ctx, worker, events)
}

/// An untagged frame on `port` (physical, or a sub-interface once its tag
/// is stripped).
#[inline(always)]
fn accept(
    frame: &mut Frame<'_>,
    port: &PortConfig,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    let eth = EthernetFrame::new_unchecked(frame.data());
    if eth.src().is_multicast() {
        return Verdict::Drop(DropReason::BadSourceMac);
    }
    let dst = eth.dst();
    let et = eth.ethertype();
    let accepted = dst == port.mac
        || (dst.is_broadcast() && et != ethertype::IPV6)
        || (dst.0[0] == 0x33 && dst.0[1] == 0x33 && et == ethertype::IPV6);
    if !accepted {
        return Verdict::Drop(DropReason::NotForUs);
    }
    match et {
        ethertype::ARP => arp::input(frame, HEADER_LEN, port, worker, events),
        ethertype::IPV4 => ipv4::input(frame, HEADER_LEN, Ingress::port(port), ctx, worker, events),
        ethertype::IPV6 => ipv6::input(frame, HEADER_LEN, Ingress::port(port), ctx, worker, events),
        _ => Verdict::Drop(DropReason::BadEthertype),
    }
}

/// Rewrites the L2 header of a reply: back to the sender of `frame`, from
/// us. The EtherType stays.
pub(super) fn turn_around(frame: &mut Frame<'_>, port: &PortConfig) {
    let mut eth = EthernetFrame::new_unchecked(frame.data_mut());
    let src = eth.src();
    eth.set_dst(src);
    eth.set_src(port.mac);
}
