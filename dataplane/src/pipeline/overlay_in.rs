//! WAN → LAN through the overlay (draft §6.1.2, RFC 3948 §2.2): UDP to one
//! of our addresses on a WAN port (a port that carries tunnels in the
//! current snapshot) is demultiplexed by destination port:
//!
//! - 500 (IKE) → dropped, `ike_not_supported` (keys come from BGP, §4.3);
//! - 4500 → the worker's own `InboundSet`: a keepalive (0xFF) is consumed
//!   and counted, IKE behind the non-ESP marker is `ike_not_supported`, ESP
//!   is decrypted (SPI, the peer address the SA is bound to, anti-replay,
//!   ICV; every ESP drop keeps its name as `esp_*`; the outer IP header
//!   is the one the IP stage validated, not parsed again), the SA's WAN
//!   port is checked (`esp_wrong_peer`), the
//!   MPLS / GRE / VXLAN header is popped, its label / key / VNI picks the
//!   VRF (`unknown_vpn_label` otherwise), and the client packet goes
//!   through the ordinary IPv4/IPv6 stage in that VRF (TTL decrement,
//!   lookup, new Ethernet header toward the LAN next hop; back into the
//!   overlay only in a transit VRF, the hub of a hub-and-spoke topology,
//!   else `overlay_loop`);
//! - anything else → `None`: the caller delivers it locally as before.
//!
//! Native (unencrypted) overlay traffic on a private WAN port
//! ([`receive_native`]): IP protocol 137 (MPLS-in-IP), 47 (GRE) or UDP
//! 4789 (VXLAN) to our address from the remote end of one of the port's
//! private tunnels is popped and routed like decrypted traffic; from any
//! other source it is dropped (`native_unknown_peer`). A keepalive marks
//! the tunnel it came over as alive (tunnel liveness, see
//! `OverlayWorker::keepalive_from`).

use super::{ipv4, ipv6, Context, Ingress, PortConfig, Verdict, WorkerState};
use crate::counters::Event;
use crate::drop_reason::DropReason;
use crate::neighbor::ControlEvent;
use crate::overlay::inner::{self, Family};
use crate::overlay::DecapEntry;
use sdwan_crypto::outer::{source_and_ecn, UdpAt, NATT_PORT};
use sdwan_crypto::{NextHeader, Received};
use sdwan_packet::ethernet::{ethertype, HEADER_LEN as ETH_LEN};
use sdwan_packet::Frame;
use std::net::IpAddr;

/// UDP port of IKE (RFC 7296 §2).
pub const IKE_PORT: u16 = 500;

/// `l2`: start of the outer IP header (validated by the IP stage), `l4`:
/// start of its UDP header.
#[inline(never)]
pub(super) fn receive(
    frame: &mut Frame<'_>,
    l2: usize,
    l4: usize,
    port: &PortConfig,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Option<Verdict> {
    if !worker.overlay.is_wan(port.id) {
        return None;
    }
    let d = frame.data();
    let Some(udp) = d.get(l4..l4 + 8) else {
        return Some(Verdict::Drop(DropReason::Truncated));
    };
    match u16::from_be_bytes([udp[2], udp[3]]) {
        IKE_PORT => return Some(Verdict::Drop(DropReason::IkeNotSupported)),
        NATT_PORT => {}
        _ => return None,
    }
    Some(decap(frame, l2, l4, port, ctx, worker, events))
}

/// Source address of the outer IP header (validated by the IP stage).
fn outer_source(ip: &[u8]) -> Option<IpAddr> {
    source_and_ecn(ip, None).ok().map(|(s, _)| s.addr())
}

#[inline(always)]
fn decap(
    frame: &mut Frame<'_>,
    l2: usize,
    l4: usize,
    port: &PortConfig,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    if frame.trim_front(l2).is_err() {
        return Verdict::Drop(DropReason::Truncated);
    }
    // The IP stage validated the outer header and cut the frame to its
    // length: the crypto layer parses only the UDP part (and reads the
    // source address and ECN field).
    let at = UdpAt {
        udp_offset: l4 - l2,
        ip_len: frame.len(),
    };
    let ow = &mut worker.overlay;
    ow.dirty = true;
    // A variant the crypto crate adds later is dropped under `esp_other`
    // until it is handled here.
    #[allow(unreachable_patterns)]
    let (tag, next_header) = match ow.inbound.decap_udp(frame, at) {
        Err(r) => return Verdict::Drop(r.into()),
        Ok(Received::Keepalive) => {
            worker.counters.event(Event::OverlayKeepalives);
            // The frame still starts at the outer IP header.
            let Some(src) = outer_source(frame.data()) else {
                return Verdict::Drop(DropReason::Truncated);
            };
            let now = worker.now_ns;
            worker
                .overlay
                .keepalive_from(ctx.overlay, port.id, src, now);
            return Verdict::Consumed;
        }
        Ok(Received::Ike) => return Verdict::Drop(DropReason::IkeNotSupported),
        Ok(Received::Inner {
            tag, next_header, ..
        }) => (tag, next_header),
        Ok(_) => return Verdict::Drop(DropReason::EspOther),
    };
    // The SA's tag is the WAN port it is bound to; its peer address the
    // crypto layer checked before decrypting (`esp_bad_outer_source`).
    if tag != u32::from(port.id) {
        return Verdict::Drop(DropReason::EspWrongPeer);
    }
    // Genuine tunnel traffic: not counted against the WAN guard's limit.
    if port.guard.is_some() {
        super::wan_guard::refund(port, worker);
    }
    client(frame, port, next_header, ctx, worker, events)
}

/// IP protocol numbers of native overlay packets (RFC 4023 §3, RFC 2784).
pub const PROTO_MPLS_IN_IP: u8 = 137;
pub const PROTO_GRE: u8 = 47;
const PROTO_UDP: u8 = 17;

/// Native overlay traffic to us on a private WAN port. `l2`: outer IP
/// header, `l4`: its payload, `protocol`: the outer protocol. `None`: not
/// native overlay traffic (deliver as before).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(super) fn receive_native(
    frame: &mut Frame<'_>,
    l2: usize,
    l4: usize,
    protocol: u8,
    port: &PortConfig,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Option<Verdict> {
    let nh = match protocol {
        PROTO_MPLS_IN_IP => NextHeader::Mpls,
        PROTO_GRE => NextHeader::Gre,
        PROTO_UDP => {
            let udp = frame.data().get(l4..l4 + 8)?;
            if u16::from_be_bytes([udp[2], udp[3]]) != inner::VXLAN_PORT {
                return None;
            }
            if frame.data()[l2] >> 4 == 4 {
                NextHeader::Ipv4
            } else {
                NextHeader::Ipv6
            }
        }
        _ => return None,
    };
    let src = outer_source(&frame.data()[l2..])?;
    match ctx.overlay.private_peer(port.id, src) {
        None => return None,
        Some(false) => return Some(Verdict::Drop(DropReason::NativeUnknownPeer)),
        Some(true) => {}
    }
    // VXLAN pops from the outer IP header; MPLS and GRE from the payload.
    let start = if protocol == PROTO_UDP { l2 } else { l4 };
    if frame.trim_front(start).is_err() {
        return Some(Verdict::Drop(DropReason::Truncated));
    }
    worker.counters.event(Event::NativeDecapsulated);
    Some(client(frame, port, nh, ctx, worker, events))
}

/// The decrypted payload: pop the VPN header, pick the VRF, route the
/// client packet in it.
#[inline(always)]
fn client(
    frame: &mut Frame<'_>,
    port: &PortConfig,
    next_header: NextHeader,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    let (key, family) = match inner::pop(frame, next_header) {
        Ok(k) => k,
        Err(r) => return Verdict::Drop(r),
    };
    let Some(&DecapEntry { vrf, transit, .. }) = ctx.overlay.decap(key) else {
        return Verdict::Drop(DropReason::UnknownVpnLabel);
    };
    // An Ethernet header for the IP stage's L2 rewrite (addresses are set
    // toward the next hop there).
    let Ok(h) = frame.prepend(ETH_LEN) else {
        return Verdict::Drop(DropReason::NoRoom);
    };
    h[..12].fill(0);
    let et = match family {
        Family::V4 => ethertype::IPV4,
        Family::V6 => ethertype::IPV6,
    };
    h[12..].copy_from_slice(&et.to_be_bytes());
    worker.counters.event(Event::OverlayDecapsulated);
    let ing = Ingress {
        port,
        vrf,
        from_overlay: true,
        transit,
    };
    match family {
        Family::V4 => ipv4::input(frame, ETH_LEN, ing, ctx, worker, events),
        Family::V6 => ipv6::input(frame, ETH_LEN, ing, ctx, worker, events),
    }
}
