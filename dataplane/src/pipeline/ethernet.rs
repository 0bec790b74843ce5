//! L2 accept and demux: a routed, untagged port accepts frames to its MAC,
//! broadcast (ARP), and IPv6 multicast (33:33:..., RFC 2464 §7; the IPv6
//! stage checks the group is one we joined).

use super::{arp, ipv4, ipv6, Context, Ingress, PortConfig, Verdict, WorkerState};
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
    if eth.vlan_id().is_some() {
        return Verdict::Drop(DropReason::VlanNotConfigured);
    }
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
