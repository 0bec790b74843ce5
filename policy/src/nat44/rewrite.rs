//! Reading the NAT-relevant fields of an IPv4 packet and rewriting them in
//! place with incremental checksum updates (RFC 1624 eqn. 3, via
//! `sdwan_packet::checksum::update16`).
//!
//! ```text
//! IPv4 (RFC 791):   src addr @12..16   dst addr @16..20   hdr csum @10
//! TCP  (RFC 9293):  src port @0  dst port @2  flags @13   csum @16
//! UDP  (RFC 768):   src port @0  dst port @2              csum @6 (0 = none)
//! ICMP echo (RFC 792): type @0  csum @2  identifier @4
//! ```
//!
//! The TCP and UDP checksums cover a pseudo header holding both addresses,
//! so an address change updates them as well as the IPv4 header checksum;
//! the ICMP checksum covers only the ICMP message, so only the identifier
//! change updates it. A UDP checksum of 0 means "none" and stays 0; an
//! updated UDP checksum that comes out 0 is sent as 0xffff (RFC 768).

use crate::drop_reason::PolicyDrop;
use sdwan_packet::checksum::update16;
use sdwan_packet::icmpv4::msg_type;
use sdwan_packet::ipv4::{protocol, Ipv4Packet};
use sdwan_packet::tcp::{flags as tcp_flags, TcpPacket};

const UDP_HEADER_LEN: usize = 8;
const ICMP_HEADER_LEN: usize = 8;

/// Protocols NAT translates, as table indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatProto {
    Tcp = 0,
    Udp = 1,
    Icmp = 2,
}

impl NatProto {
    pub const COUNT: usize = 3;
}

/// Where the packet's translatable fields are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct View {
    pub proto: NatProto,
    /// Offset of the transport header from the IPv4 header.
    pub l4: usize,
    pub src: u32,
    pub dst: u32,
    /// TCP/UDP source port; the echo identifier for ICMP.
    pub src_port: u16,
    /// TCP/UDP destination port; the echo identifier again for ICMP (it
    /// plays the role of both ports).
    pub dst_port: u16,
    /// TCP flags (0 for UDP/ICMP).
    pub tcp_flags: u8,
}

impl View {
    pub fn fin_or_rst(&self) -> bool {
        self.tcp_flags & (tcp_flags::FIN | tcp_flags::RST) != 0
    }
}

/// Parses `ip` for NAT. `echo_type` is the ICMP type accepted: echo
/// request outbound, echo reply inbound.
pub(crate) fn parse(ip: &[u8], echo_type: u8) -> Result<View, PolicyDrop> {
    let p = Ipv4Packet::new_checked(ip).map_err(|_| PolicyDrop::NatMalformed)?;
    if p.is_fragment() {
        return Err(PolicyDrop::NatFragment);
    }
    let l4 = p.header_len();
    let payload = p.payload();
    let (proto, src_port, dst_port, flags) = match p.protocol() {
        protocol::TCP => {
            let t = TcpPacket::new_checked(payload).map_err(|_| PolicyDrop::NatMalformed)?;
            (NatProto::Tcp, t.src_port(), t.dst_port(), t.flags())
        }
        protocol::UDP => {
            let h = payload
                .get(..UDP_HEADER_LEN)
                .ok_or(PolicyDrop::NatMalformed)?;
            let len = usize::from(be16(h, 4));
            if len < UDP_HEADER_LEN || len > payload.len() {
                return Err(PolicyDrop::NatMalformed);
            }
            (NatProto::Udp, be16(h, 0), be16(h, 2), 0)
        }
        protocol::ICMP => {
            let h = payload
                .get(..ICMP_HEADER_LEN)
                .ok_or(PolicyDrop::NatMalformed)?;
            if h[0] != echo_type || h[1] != 0 {
                // ICMP errors about translated flows (RFC 5508 §4.2) are
                // not translated here.
                return Err(PolicyDrop::NatUnsupportedProtocol);
            }
            (NatProto::Icmp, be16(h, 4), be16(h, 4), 0)
        }
        _ => return Err(PolicyDrop::NatUnsupportedProtocol),
    };
    Ok(View {
        proto,
        l4,
        src: u32::from(p.src()),
        dst: u32::from(p.dst()),
        src_port,
        dst_port,
        tcp_flags: flags,
    })
}

pub(crate) const ECHO_REQUEST: u8 = msg_type::ECHO_REQUEST;
pub(crate) const ECHO_REPLY: u8 = msg_type::ECHO_REPLY;

/// Which side of the packet to rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Source address and source port / echo identifier (outbound).
    Source,
    /// Destination address and destination port / echo identifier
    /// (inbound).
    Destination,
}

/// Replaces one address and one port (or the echo identifier) of the
/// packet `v` describes, fixing every checksum that covers them.
pub(crate) fn rewrite(ip: &mut [u8], v: &View, side: Side, addr: u32, port: u16) {
    let (addr_at, old_addr, old_port) = match side {
        Side::Source => (12, v.src, v.src_port),
        Side::Destination => (16, v.dst, v.dst_port),
    };
    let (oa_hi, oa_lo) = halves(old_addr);
    let (na_hi, na_lo) = halves(addr);
    // IPv4 header checksum.
    let mut c = be16(ip, 10);
    c = update16(update16(c, oa_hi, na_hi), oa_lo, na_lo);
    put16(ip, 10, c);
    ip[addr_at..addr_at + 4].copy_from_slice(&addr.to_be_bytes());
    let l4 = v.l4;
    match v.proto {
        NatProto::Tcp | NatProto::Udp => {
            let port_at = l4 + if side == Side::Source { 0 } else { 2 };
            let csum_at = l4 + if v.proto == NatProto::Tcp { 16 } else { 6 };
            let old = be16(ip, csum_at);
            if v.proto == NatProto::Tcp || old != 0 {
                let mut c = update16(update16(old, oa_hi, na_hi), oa_lo, na_lo);
                c = update16(c, old_port, port);
                if v.proto == NatProto::Udp && c == 0 {
                    c = 0xffff;
                }
                put16(ip, csum_at, c);
            }
            put16(ip, port_at, port);
        }
        NatProto::Icmp => {
            let c = update16(be16(ip, l4 + 2), old_port, port);
            put16(ip, l4 + 2, c);
            put16(ip, l4 + 4, port);
        }
    }
}

fn halves(a: u32) -> (u16, u16) {
    // Upper and lower 16 bits (truncating cast of the low half).
    ((a >> 16) as u16, a as u16)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
