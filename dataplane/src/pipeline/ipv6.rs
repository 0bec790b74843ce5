//! IPv6 input (RFC 8200, RFC 4443): validate, answer echo and NDP for our
//! addresses (incl. link-local and solicited-node groups), forward with
//! hop-limit decrement, ICMPv6 errors for hop-limit expiry, no route and
//! packet too big. Link-local traffic never leaves its link.

use super::icmp_error::drop_with_icmpv6;
use super::overlay_out::{self, Client};
use super::{
    ethernet, ndp, next_hop, overlay_in, steer, wan_guard, Context, Ingress, PortConfig, Verdict,
    WorkerState,
};
use crate::counters::Event;
use crate::drop_reason::DropReason;
use crate::fib::NextHop;
use crate::neighbor::ControlEvent;
use crate::overlay::inner::Family;
use sdwan_packet::checksum;
use sdwan_packet::icmpv6::{msg_type, time_exceeded_code, unreach_code, Icmpv6Packet};
use sdwan_packet::ipv6::{is_link_local, next_header, Ipv6Packet, HEADER_LEN};
use sdwan_packet::{Error, Frame};
use sdwan_policy::path::PathKind;
use std::net::{IpAddr, Ipv6Addr};

// Per-frame path: inlined so no call frame or argument passing is paid.
#[inline(always)]
pub(super) fn input(
    frame: &mut Frame<'_>,
    l2: usize,
    ing: Ingress<'_>,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    let port = ing.port;
    let ip = match Ipv6Packet::new_checked(&frame.data()[l2..]) {
        Ok(p) => p,
        Err(Error::Truncated { .. }) => return Verdict::Drop(DropReason::Truncated),
        Err(_) => return Verdict::Drop(DropReason::BadIpv6Header),
    };
    let (src, dst, hop_limit, total) = (ip.src(), ip.dst(), ip.hop_limit(), ip.total_len());
    if frame.set_len(l2 + total).is_err() {
        return Verdict::Drop(DropReason::Truncated);
    }
    let guard = ing.wan_guard();
    if let Some(g) = guard {
        if let Err(r) = wan_guard::limit(port, g, IpAddr::V6(src), worker) {
            return Verdict::Drop(r);
        }
    }
    if src.is_multicast() {
        return Verdict::Drop(DropReason::MartianSource);
    }
    if dst.is_multicast() {
        if ing.from_overlay {
            return Verdict::Drop(DropReason::LocalUnhandled);
        }
        if port.joined_v6(&dst) {
            return local(frame, l2, ing, ctx, worker, events);
        }
        return Verdict::Drop(DropReason::NotForUs);
    }
    // An unspecified source is only valid for DAD, which is multicast.
    let (src_ours, dst_ours) = ctx.local.ours_v6(ing.vrf, &src, &dst);
    if src.is_unspecified() || src.is_loopback() || src_ours {
        return Verdict::Drop(DropReason::MartianSource);
    }
    if dst_ours {
        return local(frame, l2, ing, ctx, worker, events);
    }
    if guard.is_some() {
        return Verdict::Drop(wan_guard::not_for_us(port, false, worker));
    }
    if dst.is_unspecified() || dst.is_loopback() {
        return Verdict::Drop(DropReason::MartianDestination);
    }
    if is_link_local(&src) || is_link_local(&dst) {
        return Verdict::Drop(DropReason::LinkLocalScope);
    }
    let (out_id, nh_ip) = match ctx.fib.lookup_v6(ing.vrf, dst) {
        None => {
            if !ing.from_overlay && ctx.overlay.breakout_of(ing.vrf).is_some() {
                match steer::decide(frame, l2, ing.vrf, None, ctx, worker) {
                    Ok(Some(PathKind::InternetBreakout)) => {
                        return Verdict::Drop(DropReason::BreakoutNotIpv4)
                    }
                    Err(r) => return Verdict::Drop(r),
                    Ok(_) => {}
                }
            }
            let unreachable = (msg_type::DST_UNREACHABLE, unreach_code::NO_ROUTE, 0);
            return error(frame, l2, ing, worker, DropReason::NoRoute, unreachable);
        }
        Some(NextHop::Local) => return local(frame, l2, ing, ctx, worker, events),
        Some(NextHop::Blackhole) => return Verdict::Drop(DropReason::Blackhole),
        Some(NextHop::Overlay { path }) => {
            if hop_limit <= 1 {
                let te = (msg_type::TIME_EXCEEDED, time_exceeded_code::HOP_LIMIT, 0);
                return error(frame, l2, ing, worker, DropReason::HopLimitExpired, te);
            }
            // Out of the overlay and back in: only through a transit VRF
            // (a hub forwarding spoke to spoke); the TTL check above and
            // the decrement in `overlay_out` bound any loop.
            if ing.from_overlay && !ing.transit {
                return Verdict::Drop(DropReason::OverlayLoop);
            }
            let client = Client {
                family: Family::V6,
                ttl: hop_limit,
                total,
                dont_frag: true,
                from_overlay: ing.from_overlay,
            };
            let p = ctx.overlay.paths.get(*path as usize);
            return match steer::decide(frame, l2, ing.vrf, p, ctx, worker) {
                Ok(Some(PathKind::InternetBreakout)) => Verdict::Drop(DropReason::BreakoutNotIpv4),
                Ok(Some(kind)) => {
                    overlay_out::send(frame, l2, port, *path, kind, client, ctx, worker, events)
                }
                Ok(None) => Verdict::Drop(DropReason::OverlayNoTunnel),
                Err(r) => Verdict::Drop(r),
            };
        }
        Some(NextHop::Connected { port }) => (*port, IpAddr::V6(dst)),
        Some(NextHop::Gateway { port, via }) => (*port, *via),
    };
    if hop_limit <= 1 {
        let te = (msg_type::TIME_EXCEEDED, time_exceeded_code::HOP_LIMIT, 0);
        return error(frame, l2, ing, worker, DropReason::HopLimitExpired, te);
    }
    let Some(out) = ctx.port(out_id) else {
        return Verdict::Drop(DropReason::NoRoute);
    };
    if total > usize::from(out.mtu) {
        let ptb = (msg_type::PACKET_TOO_BIG, 0, u32::from(out.mtu));
        return error(frame, l2, ing, worker, DropReason::MtuExceeded, ptb);
    }
    let mac = match next_hop::resolve(ctx.neighbors, out, nh_ip, worker, events) {
        Ok(m) => m,
        Err(r) => return Verdict::Drop(r),
    };
    Ipv6Packet::new_unchecked(&mut frame.data_mut()[l2..]).set_hop_limit(hop_limit - 1);
    next_hop::rewrite_l2(frame, out, mac);
    Verdict::Forward { port: out.id }
}

/// An ICMPv6 error back to the sender, except for packets that came out
/// of the overlay (counted drop only).
#[inline(always)]
fn error(
    frame: &mut Frame<'_>,
    l2: usize,
    ing: Ingress<'_>,
    worker: &mut WorkerState,
    reason: DropReason,
    icmp: (u8, u8, u32),
) -> Verdict {
    if ing.from_overlay {
        return Verdict::Drop(reason);
    }
    drop_with_icmpv6(frame, l2, ing.port, worker, reason, icmp)
}

/// Addressed to us (unicast, or a group we joined): ESP-in-UDP on a WAN
/// port goes to the overlay, echo and NDP are handled, the rest goes to
/// the glue (on an internet WAN port only what its guard admits). Client packets out of the overlay addressed to us are not
/// answered (the reply would have to go back into the tunnel).
fn local(
    frame: &mut Frame<'_>,
    l2: usize,
    ing: Ingress<'_>,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    if ing.from_overlay {
        return Verdict::Drop(DropReason::LocalUnhandled);
    }
    let port = ing.port;
    let ip = Ipv6Packet::new_unchecked(&frame.data()[l2..]);
    let ul = match ip.upper_layer() {
        Ok(u) => u,
        Err(Error::Truncated { .. }) => return Verdict::Drop(DropReason::Truncated),
        Err(_) => return Verdict::Drop(DropReason::BadIpv6ExtensionHeader),
    };
    let l4 = l2 + ul.offset;
    if ul.protocol == next_header::UDP && !ul.fragmented {
        if let Some(v) = overlay_in::receive(frame, l2, l4, port, ctx, worker, events) {
            return v;
        }
    }
    if !ul.fragmented {
        let proto = ul.protocol;
        if let Some(v) = overlay_in::receive_native(frame, l2, l4, proto, port, ctx, worker, events)
        {
            return v;
        }
    }
    // The WAN guard refuses what is not ours (internet WAN ports).
    let ip = Ipv6Packet::new_unchecked(&frame.data()[l2..]);
    let (src, dst, hop_limit) = (ip.src(), ip.dst(), ip.hop_limit());
    if let Some(g) = ing.wan_guard() {
        let l4_bytes = frame.data().get(l4..).unwrap_or(&[]);
        if !wan_guard::admits_v6(g, &src, &dst, ul.protocol, ul.fragmented, l4_bytes) {
            return Verdict::Drop(wan_guard::filtered(port, worker));
        }
    }
    if ul.protocol != next_header::ICMPV6 || ul.fragmented {
        return Verdict::Local;
    }
    let icmp_at = l2 + ul.offset;
    let icmp = match Icmpv6Packet::new_checked(&frame.data()[icmp_at..]) {
        Ok(i) => i,
        Err(_) => return Verdict::Drop(DropReason::Truncated),
    };
    if !icmp.verify_checksum(&src, &dst) {
        return Verdict::Drop(DropReason::BadIcmpChecksum);
    }
    match icmp.msg_type() {
        msg_type::NEIGHBOR_SOLICIT | msg_type::NEIGHBOR_ADVERT => ndp::input(
            frame,
            l2,
            icmp_at,
            port,
            (src, dst, hop_limit),
            worker,
            events,
        ),
        // Echo to a group or through extension headers: not answered here.
        msg_type::ECHO_REQUEST if !dst.is_multicast() && ul.offset == HEADER_LEN => {
            if icmp.code() != 0 {
                return Verdict::Drop(DropReason::BadIcmp);
            }
            echo_reply(frame, l2, port, worker, src, dst)
        }
        _ => Verdict::Local,
    }
}

fn echo_reply(
    frame: &mut Frame<'_>,
    l2: usize,
    port: &PortConfig,
    worker: &mut WorkerState,
    src: Ipv6Addr,
    dst: Ipv6Addr,
) -> Verdict {
    let data = frame.data_mut();
    let mut ip = Ipv6Packet::new_unchecked(&mut data[l2..]);
    ip.set_src(&dst);
    ip.set_dst(&src);
    ip.set_hop_limit(64);
    // Swapping addresses leaves the pseudo-header sum unchanged; only the
    // type word changes.
    let mut icmp = Icmpv6Packet::new_unchecked(&mut data[l2 + HEADER_LEN..]);
    icmp.set_msg_type(msg_type::ECHO_REPLY);
    let c = checksum::update16(
        icmp.checksum(),
        u16::from(msg_type::ECHO_REQUEST) << 8,
        u16::from(msg_type::ECHO_REPLY) << 8,
    );
    icmp.set_checksum(c);
    ethernet::turn_around(frame, port);
    worker.counters.event(Event::EchoRepliesSent);
    Verdict::Reply { port: port.id }
}
