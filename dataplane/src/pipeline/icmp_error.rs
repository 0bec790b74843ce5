//! ICMP errors built in place over the offending packet (RFC 792,
//! RFC 1812 §4.3.2, RFC 4443 §2.4): the frame grows at the front by the new
//! IP + ICMP headers (headroom, else the quote is moved back into
//! tailroom), keeps as much of the original as fits in 576 (IPv4) or 1280
//! (IPv6) bytes, and goes back out of the port it came in on, to the L2
//! sender. Never about an ICMP error, a non-first fragment, a
//! multicast/broadcast destination (except Packet Too Big) or an
//! unspecified/multicast source; rate-limited by the worker's token bucket.

use super::{PortConfig, Verdict, WorkerState};
use crate::counters::Event;
use crate::drop_reason::DropReason;
use sdwan_packet::ethernet::{ethertype, EthernetFrame, EthernetRepr};
use sdwan_packet::icmpv4::{self, Icmpv4Packet};
use sdwan_packet::icmpv6::{self, Icmpv6Packet};
use sdwan_packet::ipv4::{protocol, Ipv4Packet, Ipv4Repr};
use sdwan_packet::ipv6::{next_header, Ipv6Packet, Ipv6Repr};
use sdwan_packet::Frame;

const V4_ERROR_MAX: usize = 576;
const V4_HEADERS: usize = 20 + 8;
const V6_ERROR_MAX: usize = 1280;
const V6_HEADERS: usize = 40 + 8;

/// Counts `reason`; sends the ICMPv4 error if the rules and the rate limit
/// allow (then the frame is the error: `Reply`), else `Drop(reason)`.
pub(super) fn drop_with_icmpv4(
    frame: &mut Frame<'_>,
    l2: usize,
    port: &PortConfig,
    worker: &mut WorkerState,
    reason: DropReason,
    (msg_type, code, rest): (u8, u8, u32),
) -> Verdict {
    if build_v4(frame, l2, port, worker, msg_type, code, rest) {
        worker.counters.drop(reason);
        worker.counters.event(Event::IcmpErrorsSent);
        Verdict::Reply { port: port.id }
    } else {
        Verdict::Drop(reason)
    }
}

/// IPv6 twin of [`drop_with_icmpv4`].
pub(super) fn drop_with_icmpv6(
    frame: &mut Frame<'_>,
    l2: usize,
    port: &PortConfig,
    worker: &mut WorkerState,
    reason: DropReason,
    (msg_type, code, rest): (u8, u8, u32),
) -> Verdict {
    if build_v6(frame, l2, port, worker, msg_type, code, rest) {
        worker.counters.drop(reason);
        worker.counters.event(Event::IcmpErrorsSent);
        Verdict::Reply { port: port.id }
    } else {
        Verdict::Drop(reason)
    }
}

/// Makes `headers` bytes of room between the L2 header and the first
/// `quote` bytes of the original L3 packet. Prefers headroom (no copy).
fn open_gap(frame: &mut Frame<'_>, l2: usize, headers: usize, quote: usize) -> bool {
    let need = l2 + headers + quote;
    if frame.prepend(headers).is_ok() {
        // The old L2 header now sits in the gap; it is overwritten.
    } else {
        if frame.len() < need && frame.set_len(need).is_err() {
            return false;
        }
        frame.data_mut().copy_within(l2..l2 + quote, l2 + headers);
    }
    frame.set_len(need).is_ok()
}

/// An ICMP type byte that is an error, or no type byte at all (a packet
/// too short to tell is treated as an error: no reply).
fn is_error_or_missing(msg_type: Option<&u8>, is_error: fn(u8) -> bool) -> bool {
    match msg_type {
        Some(t) => is_error(*t),
        None => true,
    }
}

fn suppressed(worker: &mut WorkerState) -> bool {
    worker.counters.event(Event::IcmpSuppressed);
    false
}

fn build_v4(
    frame: &mut Frame<'_>,
    l2: usize,
    port: &PortConfig,
    worker: &mut WorkerState,
    msg_type: u8,
    code: u8,
    rest: u32,
) -> bool {
    let peer = EthernetFrame::new_unchecked(frame.data()).src();
    let orig = Ipv4Packet::new_unchecked(&frame.data()[l2..]);
    let (src, dst) = (orig.src(), orig.dst());
    let about_icmp_error = orig.protocol() == protocol::ICMP
        && is_error_or_missing(orig.payload().first(), icmpv4::is_error_type);
    if dst.is_multicast()
        || dst.is_broadcast()
        || src.is_unspecified()
        || src.is_multicast()
        || src.is_broadcast()
        || orig.frag_offset() != 0
        || about_icmp_error
    {
        return suppressed(worker);
    }
    let quote = usize::from(orig.total_len()).min(V4_ERROR_MAX - V4_HEADERS);
    let Some(our) = port.source_v4(src) else {
        return suppressed(worker);
    };
    if !worker.icmp_allowed() {
        return false;
    }
    if !open_gap(frame, l2, V4_HEADERS, quote) {
        return suppressed(worker);
    }
    let data = frame.data_mut();
    let eth = EthernetRepr {
        dst: peer,
        src: port.mac,
        vlan_id: None,
        ethertype: ethertype::IPV4,
    };
    let ip = Ipv4Repr {
        src: our,
        dst: src,
        protocol: protocol::ICMP,
        ttl: 64,
        dscp_ecn: 0xc0, // CS6, network control (RFC 1812 §4.3.2.5 precedence)
        ident: 0,
        dont_frag: false,
        payload_len: 8 + quote,
    };
    if eth.emit(&mut data[..l2]).is_err() || ip.emit(&mut data[l2..l2 + 20]).is_err() {
        return suppressed(worker);
    }
    let mut icmp = Icmpv4Packet::new_unchecked(&mut data[l2 + 20..]);
    icmp.set_msg_type(msg_type);
    icmp.set_code(code);
    icmp.set_rest_of_header(rest);
    icmp.fill_checksum();
    true
}

fn build_v6(
    frame: &mut Frame<'_>,
    l2: usize,
    port: &PortConfig,
    worker: &mut WorkerState,
    msg_type: u8,
    code: u8,
    rest: u32,
) -> bool {
    let peer = EthernetFrame::new_unchecked(frame.data()).src();
    let orig = Ipv6Packet::new_unchecked(&frame.data()[l2..]);
    let (src, dst) = (orig.src(), orig.dst());
    let about_icmp_error = match orig.upper_layer() {
        Ok(ul) if ul.protocol == next_header::ICMPV6 => {
            let first = ul
                .offset
                .checked_sub(40)
                .and_then(|o| orig.payload().get(o));
            ul.non_first_fragment || is_error_or_missing(first, icmpv6::is_error_type)
        }
        Ok(ul) => ul.non_first_fragment,
        Err(_) => true,
    };
    if (dst.is_multicast() && msg_type != icmpv6::msg_type::PACKET_TOO_BIG)
        || src.is_unspecified()
        || src.is_multicast()
        || about_icmp_error
    {
        return suppressed(worker);
    }
    let quote = orig.total_len().min(V6_ERROR_MAX - V6_HEADERS);
    let Some(our) = port.source_v6(&src) else {
        return suppressed(worker);
    };
    if !worker.icmp_allowed() {
        return false;
    }
    if !open_gap(frame, l2, V6_HEADERS, quote) {
        return suppressed(worker);
    }
    let data = frame.data_mut();
    let eth = EthernetRepr {
        dst: peer,
        src: port.mac,
        vlan_id: None,
        ethertype: ethertype::IPV6,
    };
    let ip = Ipv6Repr {
        src: our,
        dst: src,
        next_header: next_header::ICMPV6,
        hop_limit: 64,
        traffic_class: 0xc0,
        flow_label: 0,
        payload_len: 8 + quote,
    };
    if eth.emit(&mut data[..l2]).is_err() || ip.emit(&mut data[l2..l2 + 40]).is_err() {
        return suppressed(worker);
    }
    let mut icmp = Icmpv6Packet::new_unchecked(&mut data[l2 + 40..]);
    icmp.set_msg_type(msg_type);
    icmp.set_code(code);
    icmp.set_rest_of_header(rest);
    icmp.fill_checksum(&our, &src);
    true
}
