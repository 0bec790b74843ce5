//! IPv4 input (RFC 791, RFC 1812 §5.2): validate, answer echo for our
//! addresses, forward with TTL decrement (RFC 1624 incremental checksum),
//! ICMP errors for TTL expiry, no route and DF+too big.

use super::breakout::{self, Outbound};
use super::icmp_error::drop_with_icmpv4;
use super::overlay_out::{self, Client};
use super::{
    ethernet, next_hop, overlay_in, steer, wan_guard, Context, Ingress, Verdict, WorkerState,
};
use crate::counters::Event;
use crate::drop_reason::DropReason;
use crate::fib::NextHop;
use crate::neighbor::ControlEvent;
use crate::overlay::inner::Family;
use sdwan_packet::checksum;
use sdwan_packet::icmpv4::{msg_type, time_exceeded_code, unreach_code, Icmpv4Packet};
use sdwan_packet::ipv4::{protocol, Ipv4Packet};
use sdwan_packet::{Error, Frame};
use sdwan_policy::path::PathKind;
use std::net::{IpAddr, Ipv4Addr};

fn martian_source(a: Ipv4Addr) -> bool {
    a.octets()[0] == 0
        || a.is_loopback()
        || a.is_multicast()
        || a.is_broadcast()
        || a.octets()[0] >= 240
}

fn martian_destination(a: Ipv4Addr) -> bool {
    a.octets()[0] == 0 || a.is_loopback() || (a.octets()[0] >= 240 && !a.is_broadcast())
}

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
    let ip = match Ipv4Packet::new_checked(&frame.data()[l2..]) {
        Ok(p) => p,
        Err(Error::Truncated { .. }) => return Verdict::Drop(DropReason::Truncated),
        Err(Error::BadLength { .. }) => return Verdict::Drop(DropReason::BadIpv4Length),
        Err(_) => return Verdict::Drop(DropReason::BadIpv4Header),
    };
    if !ip.verify_checksum() {
        return Verdict::Drop(DropReason::BadIpv4Checksum);
    }
    let (src, dst, ttl, total) = (ip.src(), ip.dst(), ip.ttl(), usize::from(ip.total_len()));
    let dont_frag = ip.dont_frag();
    // Drop link padding: replies and forwarded frames carry the IP length.
    if frame.set_len(l2 + total).is_err() {
        return Verdict::Drop(DropReason::Truncated);
    }
    let guard = ing.wan_guard();
    if let Some(g) = guard {
        if let Err(r) = wan_guard::limit(ing.port, g, IpAddr::V4(src), worker) {
            return Verdict::Drop(r);
        }
    }
    let (src_ours, dst_ours) = ctx.local.ours_v4(ing.vrf, src, dst);
    if martian_source(src) || src_ours {
        return Verdict::Drop(DropReason::MartianSource);
    }
    if dst_ours {
        return local(frame, l2, ing, ctx, worker, events);
    }
    if guard.is_some() {
        let group = dst.is_multicast() || dst.is_broadcast();
        return Verdict::Drop(wan_guard::not_for_us(ing.port, group, worker));
    }
    if dst.is_multicast() || dst.is_broadcast() {
        // Link-scope control traffic (or multicast data we do not route).
        return Verdict::Drop(DropReason::LocalUnhandled);
    }
    if martian_destination(dst) {
        return Verdict::Drop(DropReason::MartianDestination);
    }
    let (out_id, nh_ip) = match ctx.fib.lookup_v4(ing.vrf, dst) {
        None => {
            // A breakout flow needs no route in its VRF.
            if !ing.from_overlay && ctx.overlay.breakout_of(ing.vrf).is_some() {
                match steer::decide(frame, l2, ing.vrf, None, ctx, worker) {
                    Ok(Some(PathKind::InternetBreakout)) => {
                        let pkt = Outbound {
                            dst,
                            ttl,
                            total,
                            dont_frag,
                        };
                        return breakout::send(frame, l2, ing, pkt, ctx, worker, events);
                    }
                    Err(r) => return Verdict::Drop(r),
                    Ok(_) => {}
                }
            }
            let unreachable = (msg_type::DST_UNREACHABLE, unreach_code::NET, 0);
            return error(frame, l2, ing, worker, DropReason::NoRoute, unreachable);
        }
        Some(NextHop::Local) => return local(frame, l2, ing, ctx, worker, events),
        Some(NextHop::Blackhole) => return Verdict::Drop(DropReason::Blackhole),
        Some(NextHop::Overlay { path }) => {
            if ttl <= 1 {
                let te = (msg_type::TIME_EXCEEDED, time_exceeded_code::TTL, 0);
                return error(frame, l2, ing, worker, DropReason::TtlExpired, te);
            }
            // Out of the overlay and back in: only through a transit VRF
            // (a hub forwarding spoke to spoke); the TTL check above and
            // the decrement in `overlay_out` bound any loop.
            if ing.from_overlay && !ing.transit {
                return Verdict::Drop(DropReason::OverlayLoop);
            }
            let client = Client {
                family: Family::V4,
                ttl,
                total,
                dont_frag,
                from_overlay: ing.from_overlay,
            };
            let p = ctx.overlay.paths.get(*path as usize);
            return match steer::decide(frame, l2, ing.vrf, p, ctx, worker) {
                Ok(Some(PathKind::InternetBreakout)) => {
                    let pkt = Outbound {
                        dst,
                        ttl,
                        total,
                        dont_frag,
                    };
                    breakout::send(frame, l2, ing, pkt, ctx, worker, events)
                }
                Ok(Some(kind)) => {
                    let port = ing.port;
                    overlay_out::send(frame, l2, port, *path, kind, client, ctx, worker, events)
                }
                Ok(None) => Verdict::Drop(DropReason::OverlayNoTunnel),
                Err(r) => Verdict::Drop(r),
            };
        }
        Some(NextHop::Connected { port }) => (*port, IpAddr::V4(dst)),
        Some(NextHop::Gateway { port, via }) => (*port, *via),
    };
    if ttl <= 1 {
        let te = (msg_type::TIME_EXCEEDED, time_exceeded_code::TTL, 0);
        return error(frame, l2, ing, worker, DropReason::TtlExpired, te);
    }
    let Some(out) = ctx.port(out_id) else {
        return Verdict::Drop(DropReason::NoRoute);
    };
    if total > usize::from(out.mtu) {
        if !dont_frag {
            // We never fragment.
            return Verdict::Drop(DropReason::MtuExceeded);
        }
        let frag_needed = (
            msg_type::DST_UNREACHABLE,
            unreach_code::FRAG_NEEDED,
            u32::from(out.mtu),
        );
        return error(frame, l2, ing, worker, DropReason::MtuExceeded, frag_needed);
    }
    let mac = match next_hop::resolve(ctx.neighbors, out, nh_ip, worker, events) {
        Ok(m) => m,
        Err(r) => return Verdict::Drop(r),
    };
    decrement_ttl(frame, l2, ttl);
    next_hop::rewrite_l2(frame, out, mac);
    Verdict::Forward { port: out.id }
}

/// An ICMP error back to the sender, except for packets that came out of
/// the overlay (the error would have to go back into the tunnel: counted
/// drop only).
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
    drop_with_icmpv4(frame, l2, ing.port, worker, reason, icmp)
}

/// TTL `ttl` (> 1, read at parse) minus one with the RFC 1624 incremental
/// checksum update, on the header validated at `l2`: one bounds check
/// instead of one per field. Every forwarded packet: inlined.
#[inline(always)]
pub(super) fn decrement_ttl(frame: &mut Frame<'_>, l2: usize, ttl: u8) {
    let Some(h) = frame
        .data_mut()
        .get_mut(l2 + 8..l2 + 12)
        .and_then(|s| <&mut [u8; 4]>::try_from(s).ok())
    else {
        return;
    };
    let ttl = ttl.saturating_sub(1);
    let old = u16::from_be_bytes([h[0], h[1]]);
    let new = u16::from_be_bytes([ttl, h[1]]);
    let c = checksum::update16(u16::from_be_bytes([h[2], h[3]]), old, new);
    h[0] = ttl;
    h[2..4].copy_from_slice(&c.to_be_bytes());
}

/// Addressed to us: ESP-in-UDP on a WAN port goes to the overlay, echo
/// requests are answered, the rest goes to the glue (on an internet WAN
/// port only what its guard admits). Client packets out of the overlay
/// addressed to us are not answered (the reply would have to go back into
/// the tunnel). Tunnel traffic is most of what is addressed to us: this
/// head is inlined, the rest ([`local_other`]) is a call.
#[inline(always)]
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
    let ip = Ipv4Packet::new_unchecked(&frame.data()[l2..]);
    let (proto, l4, fragment) = (ip.protocol(), l2 + ip.header_len(), ip.is_fragment());
    if proto == protocol::UDP && !fragment {
        if let Some(v) = overlay_in::receive(frame, l2, l4, ing.port, ctx, worker, events) {
            return v;
        }
    }
    local_other(frame, (l2, l4), (proto, fragment), ing, ctx, worker, events)
}

/// [`local`] past the ESP-in-UDP case: `at` = (IP header, its payload),
/// `kind` = (protocol, is a fragment) as `local` read them.
#[inline(never)]
fn local_other(
    frame: &mut Frame<'_>,
    (l2, l4): (usize, usize),
    (proto, fragment): (u8, bool),
    ing: Ingress<'_>,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    let port = ing.port;
    let dst = Ipv4Packet::new_unchecked(&frame.data()[l2..]).dst();
    if !fragment {
        if let Some(v) = overlay_in::receive_native(frame, l2, l4, proto, port, ctx, worker, events)
        {
            return v;
        }
    }
    // Breakout NAT return traffic (internet WAN ports), before the guard.
    if !ctx.overlay.breakout.is_empty() {
        if let Some(v) = breakout::receive(frame, l2, dst, port, ctx, worker, events) {
            return v;
        }
    }
    // The WAN guard refuses what is not ours (internet WAN ports).
    if let Some(g) = ing.wan_guard() {
        let d = frame.data();
        let src = Ipv4Packet::new_unchecked(&d[l2..]).src();
        if !wan_guard::admits_v4(g, src, proto, fragment, d.get(l4..).unwrap_or(&[])) {
            return Verdict::Drop(wan_guard::filtered(port, worker));
        }
    }
    let ip = Ipv4Packet::new_unchecked(&frame.data()[l2..]);
    if proto != protocol::ICMP || fragment {
        return Verdict::Local;
    }
    let hl = ip.header_len();
    let icmp = match Icmpv4Packet::new_checked(ip.payload()) {
        Ok(i) => i,
        Err(_) => return Verdict::Drop(DropReason::Truncated),
    };
    if icmp.msg_type() != msg_type::ECHO_REQUEST {
        return Verdict::Local;
    }
    if !icmp.verify_checksum() {
        return Verdict::Drop(DropReason::BadIcmpChecksum);
    }
    if icmp.code() != 0 {
        return Verdict::Drop(DropReason::BadIcmp);
    }
    let (src, dst) = (ip.src(), ip.dst());
    let data = frame.data_mut();
    let mut ip = Ipv4Packet::new_unchecked(&mut data[l2..]);
    ip.set_src(dst);
    ip.set_dst(src);
    ip.set_ttl(64);
    ip.fill_checksum();
    let mut icmp = Icmpv4Packet::new_unchecked(&mut data[l2 + hl..]);
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
