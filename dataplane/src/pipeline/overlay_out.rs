//! LAN → WAN through the overlay (draft §4.1.1, §6.1.2): a client packet
//! whose FIB next hop is `NextHop::Overlay { path }` (TTL already checked
//! by the IP stage) leaves as
//! `Ethernet / outer IPv4|IPv6 / UDP 4500 / ESP(inner header / client packet)`
//! out of the tunnel's local WAN port.
//!
//! Steps: tunnel by flow hash → tunnel MTU check (frag-needed / PTB to the
//! sender, RFC 1191 / RFC 8201, rate-limited) → underlay next hop (the
//! remote endpoint looked up in the WAN port's VRF) and its MAC, cached
//! per tunnel while the FIB and neighbor snapshots stay → TCP MSS
//! clamp → TTL / hop-limit decrement → strip the LAN Ethernet header →
//! push MPLS / GRE / VXLAN → ESP + outer headers (`SharedOutboundSa`) →
//! Ethernet toward the underlay next hop.
//!
//! On a private tunnel whose flow policy allows it (`PathKind::Private`),
//! the packet goes natively, unencrypted (draft §3.3, §6.2.2: "traffic
//! forwarded over the trusted VPN paths can be native"): the same VPN
//! header in an outer IP header from our private WAN address to the
//! remote one, protocol 137 MPLS-in-IP (RFC 4023 §3) or 47 GRE (RFC 2890);
//! the VXLAN layout already is an IP/UDP packet between the same
//! addresses:
//! ```text
//! Ethernet / IPv4|IPv6 (proto 137) / MPLS label / client packet
//! Ethernet / IPv4|IPv6 (proto 47)  / GRE with key / client packet
//! Ethernet / IPv4|IPv6 / UDP 4789  / VXLAN / Ethernet / client packet
//! ```
//! The outer header copies the client's DSCP, TTL 64, no DF.
//!
//! Room: with 128 B of mbuf headroom plus the 14 B LAN header we reuse,
//! IPv6 outer (40) + UDP (8) + ESP (16) + MPLS (4) + Ethernet (14) = 82 B
//! fits; GRE adds 8; VXLAN over IPv6 needs 148 B, so then the frame is
//! moved back into its tailroom once (a copy of the packet), and only
//! when that is short too is it dropped as `no_room`.

use super::icmp_error::{drop_with_icmpv4, drop_with_icmpv6};
use super::{ipv4, Context, Neighbor, PortConfig, Verdict, WorkerState};
use crate::counters::Event;
use crate::drop_reason::DropReason;
use crate::fib::NextHop;
use crate::neighbor::ControlEvent;
use crate::overlay::inner::{self, Family, VxlanOuter};
use crate::overlay::InnerEncap;
use crate::overlay::{flow, Tunnel, UnderlayHop};
use sdwan_crypto::esp::{ICV_LEN, TRAILER_LEN};
use sdwan_packet::ethernet::{ethertype, HEADER_LEN as ETH_LEN};
use sdwan_packet::icmpv4::{msg_type as icmp4, unreach_code};
use sdwan_packet::icmpv6::msg_type as icmp6;
use sdwan_packet::ipv6::Ipv6Packet;
use sdwan_packet::tcp::{flags, TcpPacket};
use sdwan_packet::{checksum, Frame, MacAddr};
use sdwan_policy::path::PathKind;
use std::net::IpAddr;

/// What the IP stage learned about the client packet at `l2`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Client {
    pub family: Family,
    /// TTL / hop limit as received (> 1).
    pub ttl: u8,
    /// IP total length.
    pub total: usize,
    /// IPv4 DF (always true for IPv6: routers never fragment it).
    pub dont_frag: bool,
    /// Transit: decapsulated here and sent on to another edge (a hub). No
    /// ICMP error goes back (it would leave unencrypted through the WAN
    /// port) and no MSS clamp (the spoke clamped at its LAN port).
    pub from_overlay: bool,
}

/// Largest client packet a tunnel carries when its WAN port's IP MTU is
/// `mtu`: ESP pads `inner + 2` to a multiple of 4 (RFC 4303 §2.4), and the
/// outer headers, ESP header, IV (`sa_head`) and ICV come on top.
pub fn tunnel_mtu(mtu: u16, sa_head: usize, inner_header: usize) -> usize {
    (usize::from(mtu).saturating_sub(sa_head + ICV_LEN) & !3)
        .saturating_sub(TRAILER_LEN + inner_header)
}

#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(super) fn send(
    frame: &mut Frame<'_>,
    l2: usize,
    in_port: &PortConfig,
    path: u32,
    kind: PathKind,
    client: Client,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    let table = ctx.overlay;
    let Some(p) = table.paths.get(path as usize) else {
        return Verdict::Drop(DropReason::OverlayNoTunnel);
    };
    let tunnels = match kind {
        PathKind::Private | PathKind::PrivateEncrypted => p.private_tunnels(),
        PathKind::InternetEncrypted => p.internet_tunnels(),
        PathKind::InternetBreakout => &[],
    };
    if tunnels.is_empty() {
        return Verdict::Drop(DropReason::OverlayNoTunnel);
    }
    // The hash chooses among several tunnels and is VXLAN's UDP source
    // port entropy; one tunnel without VXLAN needs none.
    let vxlan = matches!(p.inner, InnerEncap::Vxlan { .. });
    let (hash, tid) = match tunnels {
        [only] if !vxlan => (0, *only as usize),
        _ => {
            let hash = flow::hash(&frame.data()[l2..], client.family);
            (hash, tunnels[flow::pick(hash, tunnels.len())] as usize)
        }
    };
    let Some(tunnel) = table.tunnels.get(tid) else {
        return Verdict::Drop(DropReason::OverlayNoTunnel);
    };
    let Some(out) = ctx.port(tunnel.local_port) else {
        return Verdict::Drop(DropReason::OverlayNoTunnel);
    };
    let native = kind == PathKind::Private;
    let how = Encap {
        tunnel,
        tid,
        inner: p.inner,
        hash,
        native,
    };
    match encapsulate(frame, l2, in_port, out, &how, client, ctx, worker, events) {
        Ok(v) => v,
        Err(r) => {
            if let Some(tc) = worker.overlay.tunnels.get_mut(tid) {
                tc.path_drops += 1;
            }
            worker.overlay.dirty = true;
            Verdict::Drop(r)
        }
    }
}

/// The chosen tunnel and how to use it.
struct Encap<'a> {
    tunnel: &'a Tunnel,
    tid: usize,
    inner: InnerEncap,
    hash: u32,
    /// Unencrypted (private tunnel, policy allows native).
    native: bool,
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn encapsulate(
    frame: &mut Frame<'_>,
    l2: usize,
    in_port: &PortConfig,
    out: &PortConfig,
    how: &Encap<'_>,
    client: Client,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Result<Verdict, DropReason> {
    let (tunnel, tid, encap, hash) = (how.tunnel, how.tid, how.inner, how.hash);
    let sa = &*tunnel.sa;
    let outer = *sa.outer();
    let outer_v6 = outer.dst.is_ipv6();
    let inner_header = inner::len(encap, outer_v6);
    let native_outer = native_outer_len(encap, outer_v6);
    let (head, tail) = if how.native {
        (native_outer, 0)
    } else {
        (sa.headroom_needed(), sa.tailroom_needed())
    };
    let max = if how.native {
        usize::from(out.mtu).saturating_sub(native_outer + inner_header)
    } else {
        tunnel_mtu(out.mtu, sa.headroom_needed(), inner_header)
    };
    if client.total > max {
        // A path drop of this tunnel whether or not an ICMP error goes back.
        if let Some(tc) = worker.overlay.tunnels.get_mut(tid) {
            tc.path_drops += 1;
        }
        worker.overlay.dirty = true;
        return Ok(too_big(frame, l2, in_port, client, max, worker).unwrap_or_else(Verdict::Drop));
    }
    let mac = underlay_mac(ctx, out, tunnel.remote, tid, worker, events)?;
    let front = inner_header + head + ETH_LEN;
    make_room(frame, l2, front, tail)?;
    let dscp = client_dscp(&frame.data()[l2..], client.family);
    if let Some(clamp) = ctx.overlay.mss_clamp.filter(|_| !client.from_overlay) {
        if clamp_mss(frame, l2, client.family, clamp) {
            worker.counters.event(Event::MssClamped);
        }
    }
    let ttl = client.ttl - 1;
    match client.family {
        Family::V4 => ipv4::decrement_ttl(frame, l2, client.ttl),
        Family::V6 => Ipv6Packet::new_unchecked(&mut frame.data_mut()[l2..]).set_hop_limit(ttl),
    }
    frame.trim_front(l2).map_err(|_| DropReason::Truncated)?;
    let vx = VxlanOuter {
        src: outer.src,
        dst: outer.dst,
        src_mac: out.mac,
        entropy: hash as u16,
    };
    let client_len = frame.len() as u64;
    let nh = inner::push(frame, encap, client.family, ttl, &vx)?;
    let tc = worker
        .overlay
        .tunnels
        .get_mut(tid)
        .ok_or(DropReason::OverlayNoTunnel)?;
    if how.native {
        if !matches!(encap, InnerEncap::Vxlan { .. }) {
            push_outer_ip(frame, outer.src, outer.dst, nh as u8, dscp)?;
        }
        tc.native_packets += 1;
        tc.native_bytes += client_len;
        worker.overlay.dirty = true;
        push_ethernet(frame, mac, out.mac, outer_v6)?;
        worker.counters.event(Event::NativeEncapsulated);
        return Ok(Verdict::Forward { port: out.id });
    }
    if let Err(r) = sa.encap_reserved(frame, nh, &mut tc.sa, &mut tc.seq) {
        // Counted on the tunnel by the SA; not a path drop.
        worker.overlay.dirty = true;
        return Ok(Verdict::Drop(r.into()));
    }
    worker.overlay.dirty = true;
    push_ethernet(frame, mac, out.mac, outer_v6)?;
    worker.counters.event(Event::OverlayEncapsulated);
    if client.from_overlay {
        worker.counters.event(Event::OverlayTransit);
    }
    Ok(Verdict::Forward { port: out.id })
}

/// Frag-needed (IPv4 with DF) or Packet Too Big (IPv6) carrying the tunnel
/// MTU back to the sender; IPv4 without DF, and transit packets (the sender
/// is behind another tunnel), are dropped (we never fragment).
#[cold]
fn too_big(
    frame: &mut Frame<'_>,
    l2: usize,
    in_port: &PortConfig,
    client: Client,
    max: usize,
    worker: &mut WorkerState,
) -> Result<Verdict, DropReason> {
    let mtu = max as u32;
    let reason = DropReason::MtuExceeded;
    Ok(match client.family {
        _ if client.from_overlay => return Err(reason),
        Family::V4 if !client.dont_frag => return Err(reason),
        Family::V4 => {
            let fn_ = (icmp4::DST_UNREACHABLE, unreach_code::FRAG_NEEDED, mtu);
            drop_with_icmpv4(frame, l2, in_port, worker, reason, fn_)
        }
        Family::V6 => {
            let ptb = (icmp6::PACKET_TOO_BIG, 0, mtu);
            drop_with_icmpv6(frame, l2, in_port, worker, reason, ptb)
        }
    })
}

/// Prepends the Ethernet header toward the underlay next hop (IEEE 802.3:
/// destination, source, EtherType of the outer IP header).
#[inline(always)]
fn push_ethernet(
    frame: &mut Frame<'_>,
    dst: MacAddr,
    src: MacAddr,
    v6: bool,
) -> Result<(), DropReason> {
    let h = frame.prepend(ETH_LEN).map_err(|_| DropReason::NoRoom)?;
    let h = <&mut [u8; ETH_LEN]>::try_from(h).map_err(|_| DropReason::NoRoom)?;
    let et = if v6 { ethertype::IPV6 } else { ethertype::IPV4 };
    h[..6].copy_from_slice(&dst.0);
    h[6..12].copy_from_slice(&src.0);
    h[12..].copy_from_slice(&et.to_be_bytes());
    Ok(())
}

/// Bytes of the outer IP header a native packet gets (none for VXLAN,
/// whose layout carries its own).
#[inline]
fn native_outer_len(encap: InnerEncap, v6: bool) -> usize {
    match encap {
        InnerEncap::Vxlan { .. } => 0,
        _ if v6 => 40,
        _ => 20,
    }
}

/// The client packet's DSCP (copied to the native outer header).
#[inline]
fn client_dscp(ip: &[u8], family: Family) -> u8 {
    match family {
        Family::V4 => ip.get(1).map_or(0, |b| b >> 2),
        Family::V6 => match ip.get(..2) {
            Some(h) => ((h[0] & 0x0f) << 2) | (h[1] >> 6),
            None => 0,
        },
    }
}

/// Prepends an outer IPv4 (RFC 791, TTL 64, no DF, checksum) or IPv6
/// (hop limit 64) header carrying `protocol`.
fn push_outer_ip(
    frame: &mut Frame<'_>,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    dscp: u8,
) -> Result<(), DropReason> {
    let payload = frame.len();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(payload + 20).map_err(|_| DropReason::MtuExceeded)?;
            let h = frame.prepend(20).map_err(|_| DropReason::NoRoom)?;
            h[..12].copy_from_slice(&[0x45, dscp << 2, 0, 0, 0, 0, 0, 0, 64, protocol, 0, 0]);
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h[12..16].copy_from_slice(&s.octets());
            h[16..20].copy_from_slice(&d.octets());
            let c = checksum::checksum(h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let len = u16::try_from(payload).map_err(|_| DropReason::MtuExceeded)?;
            let h = frame.prepend(40).map_err(|_| DropReason::NoRoom)?;
            h[0] = 0x60 | (dscp >> 2);
            h[1] = (dscp & 3) << 6;
            h[2..4].fill(0);
            h[4..6].copy_from_slice(&len.to_be_bytes());
            h[6] = protocol;
            h[7] = 64;
            h[8..24].copy_from_slice(&s.octets());
            h[24..40].copy_from_slice(&d.octets());
        }
        _ => return Err(DropReason::BadInnerEncap),
    }
    Ok(())
}

/// The MAC toward tunnel `tid`'s remote endpoint in the underlay, from
/// the worker's cache while the FIB and neighbor snapshots stay (the
/// resolution / probe events are made per packet as without the cache).
#[inline(always)]
fn underlay_mac(
    ctx: &Context<'_>,
    out: &PortConfig,
    remote: IpAddr,
    tid: usize,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Result<MacAddr, DropReason> {
    let (fib, neighbors) = (ctx.fib.id(), ctx.neighbors.id());
    let hop = match worker.overlay.underlay.get(tid, fib, neighbors) {
        Some(hop) => hop,
        None => {
            let hop = underlay_hop(ctx, out, remote);
            worker.overlay.underlay.put(tid, fib, neighbors, hop);
            hop
        }
    };
    match hop {
        UnderlayHop::NoRoute => Err(DropReason::UnderlayNoRoute),
        UnderlayHop::Via { ip, neighbor } => neighbor.use_for(out.id, ip, worker, events),
    }
}

/// The remote endpoint's next hop in the underlay: a route in the WAN
/// port's VRF that leaves through that same port (a tunnel is bound to its
/// port: its SA's outer source is that port's address), and its neighbor
/// state. Once per tunnel and snapshot pair (`underlay_mac`).
#[cold]
#[inline(never)]
fn underlay_hop(ctx: &Context<'_>, out: &PortConfig, remote: IpAddr) -> UnderlayHop {
    let route = match remote {
        IpAddr::V4(a) => ctx.fib.lookup_v4(out.vrf, a),
        IpAddr::V6(a) => ctx.fib.lookup_v6(out.vrf, a),
    };
    let ip = match route {
        Some(NextHop::Connected { port }) if *port == out.id => remote,
        Some(NextHop::Gateway { port, via }) if *port == out.id => *via,
        _ => return UnderlayHop::NoRoute,
    };
    UnderlayHop::Via {
        ip,
        neighbor: Neighbor::look_up(ctx.neighbors, out.id, ip),
    }
}

/// Ensures `front` bytes can be written before the client packet at `l2`
/// (whose `l2` header bytes are reused) and `back` after it: moves the
/// frame toward its tail when the headroom is short and the tailroom
/// allows, else `NoRoom`.
#[inline(always)]
fn make_room(
    frame: &mut Frame<'_>,
    l2: usize,
    front: usize,
    back: usize,
) -> Result<(), DropReason> {
    let have = frame.headroom() + l2;
    if have >= front && frame.tailroom() >= back {
        return Ok(());
    }
    let shift = front.saturating_sub(have);
    if frame.tailroom() < shift + back {
        return Err(DropReason::NoRoom);
    }
    let len = frame.len();
    frame.set_len(len + shift).map_err(|_| DropReason::NoRoom)?;
    frame.data_mut().copy_within(..len, shift);
    frame.trim_front(shift).map_err(|_| DropReason::NoRoom)
}

/// Lowers the MSS option of an unfragmented TCP SYN to `clamp` (RFC 1624
/// incremental checksum update, in `TcpPacket::clamp_mss`). True when it
/// changed. IPv6 packets with extension headers are left alone.
// Every client packet asks: the protocol test is inlined, only TCP
// packets pay the call.
#[inline(always)]
fn clamp_mss(frame: &mut Frame<'_>, l2: usize, family: Family, clamp: u16) -> bool {
    let proto_at = match family {
        Family::V4 => l2 + 9,
        Family::V6 => l2 + 6,
    };
    let tcp = sdwan_packet::ipv4::protocol::TCP;
    frame.data().get(proto_at) == Some(&tcp) && clamp_tcp_mss(frame, l2, family, clamp)
}

/// [`clamp_mss`] for a packet whose protocol / next header is TCP.
#[inline(never)]
fn clamp_tcp_mss(frame: &mut Frame<'_>, l2: usize, family: Family, clamp: u16) -> bool {
    let d = &mut frame.data_mut()[l2..];
    let l4 = match family {
        Family::V4 => {
            let frag = u16::from_be_bytes([d[6], d[7]]) & 0x3fff;
            if frag != 0 {
                return false;
            }
            usize::from(d[0] & 0x0f) * 4
        }
        Family::V6 => 40,
    };
    let Some(seg) = d.get_mut(l4..) else {
        return false;
    };
    let Ok(mut tcp) = TcpPacket::new_checked(seg) else {
        return false;
    };
    if tcp.flags() & flags::SYN == 0 {
        return false;
    }
    match tcp.mss() {
        Ok(Some(m)) if m > clamp => tcp.clamp_mss(clamp).is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_mtu_is_the_largest_packet_that_fits() {
        // IPv4 outer + UDP + ESP header/IV = 44; MPLS 4.
        for mtu in [576u16, 1280, 1400, 1500, 1501, 1502, 1503, 9000] {
            let max = tunnel_mtu(mtu, 44, 4);
            let size = |inner: usize| {
                let p = inner + 4 + TRAILER_LEN;
                44 + p.div_ceil(4) * 4 + ICV_LEN
            };
            assert!(size(max) <= usize::from(mtu), "{mtu}");
            assert!(size(max + 1) > usize::from(mtu), "{mtu}");
        }
        assert_eq!(tunnel_mtu(40, 44, 4), 0);
    }
}
