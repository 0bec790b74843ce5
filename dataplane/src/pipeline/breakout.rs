//! Internet breakout (draft §3.3 policy 3: "handed off to the Internet
//! without further encryption"): an IPv4 client flow its VRF's policy
//! classifies `internet-breakout` leaves through the VRF's internet WAN
//! port, unencrypted, with its source translated to the port's public
//! address by this worker's NAT44 (`sdwan_policy::nat44`: address and
//! port-dependent mapping and filtering, per-worker port blocks), routed
//! in the underlay VRF toward the internet gateway.
//!
//! Return traffic arrives on that port addressed to the public address:
//! its destination port (TCP/UDP) or echo identifier (ICMP echo reply)
//! falls in one VRF's outside port range, whose NAT translates it back
//! and hands the packet to the IP stage in that VRF (as traffic out of
//! the overlay: no ICMP errors toward the internet about it, no second
//! trip into a tunnel).
//!
//! IPv6 has no NAT66 here: IPv6 breakout flows drop as
//! `breakout_not_ipv4`.

use super::icmp_error::drop_with_icmpv4;
use super::{ipv4, next_hop, Context, Ingress, PortConfig, Verdict, WorkerState};
use crate::counters::Event;
use crate::drop_reason::DropReason;
use crate::fib::NextHop;
use crate::neighbor::ControlEvent;
use sdwan_packet::icmpv4::{msg_type, time_exceeded_code, unreach_code};
use sdwan_packet::Frame;
use std::net::{IpAddr, Ipv4Addr};

const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// What the IPv4 stage read of the client packet at `l2`.
#[derive(Clone, Copy)]
pub(super) struct Outbound {
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub total: usize,
    pub dont_frag: bool,
}

/// Sends the client packet at `l2` out of its VRF's breakout port.
#[inline(never)]
pub(super) fn send(
    frame: &mut Frame<'_>,
    l2: usize,
    ing: Ingress<'_>,
    pkt: Outbound,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    let Some(b) = ctx.overlay.breakout_of(ing.vrf) else {
        return Verdict::Drop(DropReason::InternetPathDown);
    };
    let Some(out) = ctx.port(b.port) else {
        return Verdict::Drop(DropReason::InternetPathDown);
    };
    if pkt.ttl <= 1 {
        if ing.from_overlay {
            return Verdict::Drop(DropReason::TtlExpired);
        }
        let te = (msg_type::TIME_EXCEEDED, time_exceeded_code::TTL, 0);
        return drop_with_icmpv4(frame, l2, ing.port, worker, DropReason::TtlExpired, te);
    }
    if pkt.total > usize::from(out.mtu) {
        // No ICMP error back into a tunnel (a hub's transit traffic).
        if !pkt.dont_frag || ing.from_overlay {
            return Verdict::Drop(DropReason::MtuExceeded);
        }
        let fragn = (
            msg_type::DST_UNREACHABLE,
            unreach_code::FRAG_NEEDED,
            u32::from(out.mtu),
        );
        return drop_with_icmpv4(frame, l2, ing.port, worker, DropReason::MtuExceeded, fragn);
    }
    let via = match ctx.fib.lookup_v4(out.vrf, pkt.dst) {
        Some(NextHop::Connected { port }) if *port == out.id => IpAddr::V4(pkt.dst),
        Some(NextHop::Gateway { port, via }) if *port == out.id => *via,
        _ => return Verdict::Drop(DropReason::UnderlayNoRoute),
    };
    let mac = match next_hop::resolve(ctx.neighbors, out, via, worker, events) {
        Ok(m) => m,
        Err(r) => return Verdict::Drop(r),
    };
    let now = worker.now_ns;
    let Some(nat) = worker.overlay.nat_of(ing.vrf) else {
        return Verdict::Drop(DropReason::InternetPathDown);
    };
    let Some(ip) = frame.data_mut().get_mut(l2..l2 + pkt.total) else {
        return Verdict::Drop(DropReason::Truncated);
    };
    if let Err(r) = nat.outbound(ip, now) {
        return Verdict::Drop(r.into());
    }
    ipv4::decrement_ttl(frame, l2, pkt.ttl);
    next_hop::rewrite_l2(frame, out, mac);
    worker.counters.event(Event::BreakoutSent);
    Verdict::Forward { port: out.id }
}

/// Return traffic of a breakout flow: IPv4 at `l2` addressed to `dst` (one
/// of our addresses) on `port`. `None`: not breakout return traffic.
#[inline(never)]
pub(super) fn receive(
    frame: &mut Frame<'_>,
    l2: usize,
    dst: Ipv4Addr,
    port: &PortConfig,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Option<Verdict> {
    if !ctx
        .overlay
        .breakout
        .iter()
        .any(|b| b.port == port.id && b.public == dst)
    {
        return None;
    }
    let outside = outside_port(&frame.data()[l2..])?;
    let now = worker.now_ns;
    let (vrf, nat) = worker.overlay.nat_by_outside_port(port.id, outside)?;
    if let Err(r) = nat.inbound(&mut frame.data_mut()[l2..], now) {
        return Some(Verdict::Drop(r.into()));
    }
    worker.counters.event(Event::BreakoutReturned);
    let ing = Ingress {
        port,
        vrf,
        from_overlay: true,
        transit: false,
    };
    Some(ipv4::input(frame, l2, ing, ctx, worker, events))
}

/// The NAT's outside port of a return packet: the TCP/UDP destination
/// port, or the identifier of an ICMP echo reply. Fragments and other
/// ICMP are not breakout return traffic.
fn outside_port(ip: &[u8]) -> Option<u16> {
    let ihl = usize::from(*ip.first()? & 0x0f) * 4;
    let frag = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x3fff;
    if frag != 0 {
        return None;
    }
    let l4 = ip.get(ihl..)?;
    match *ip.get(9)? {
        PROTO_TCP | PROTO_UDP => Some(u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?])),
        PROTO_ICMP if *l4.first()? == msg_type::ECHO_REPLY => {
            Some(u16::from_be_bytes([*l4.get(4)?, *l4.get(5)?]))
        }
        _ => None,
    }
}
