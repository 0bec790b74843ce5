//! The flow key every decision in this crate is made on: the 5-tuple plus
//! the ingress VRF, DSCP and IPv6 flow label (draft §4.2: "a flow is a
//! collection of packets ... identified by the settings of one or more
//! fields in the packet headers"), and its strict extraction from an IPv4
//! or IPv6 packet.
//!
//! Ports: TCP and UDP carry their ports. ICMP and ICMPv6 echo
//! request/reply carry the echo identifier in `src_port` (so pings are
//! distinct flows, as NAT and conntrack key them) and 0 in `dst_port`.
//! Every other protocol, and every non-first fragment (whose transport
//! header is in another fragment), carries 0 in both.
//!
//! Strictness: the IP header must pass the `sdwan-packet` checks (version,
//! lengths, IPv6 extension chain). An unfragmented TCP/UDP/ICMP packet must
//! hold its whole transport header (UDP Length included); a first fragment
//! must hold the whole TCP header or the 8 bytes of the UDP/ICMP header
//! (RFC 1858 tiny-fragment rule). Checksums are not verified here.

use sdwan_packet::error::{Error, Layer, Result};
use sdwan_packet::icmpv4::{self, Icmpv4Packet};
use sdwan_packet::ipv4::{protocol, Ipv4Packet};
use sdwan_packet::ipv6::Ipv6Packet;
use sdwan_packet::tcp::TcpPacket;
use sdwan_packet::udp::UdpPacket;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Ingress VRF number (bound to a LAN port or 802.1Q sub-interface).
pub type VrfId = u32;

const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;
const ICMP_HEADER_LEN: usize = 8;
const UDP_HEADER_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

/// What a flow is identified by. Addresses are kept as `u128` (an IPv4
/// address in the low 32 bits, `family` telling which) so that keys
/// compare and hash without branching on the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub src: u128,
    pub dst: u128,
    pub vrf: VrfId,
    /// 20-bit IPv6 flow label; `None` for IPv4.
    pub flow_label: Option<u32>,
    pub src_port: u16,
    pub dst_port: u16,
    /// IPv4 Protocol / IPv6 upper-layer Next Header.
    pub protocol: u8,
    /// Differentiated Services code point (6 bits, ECN removed).
    pub dscp: u8,
    pub family: Family,
}

impl FlowKey {
    /// An IPv4 key built from fields (tests, config tools).
    pub fn v4(
        vrf: VrfId,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: u8,
        src_port: u16,
        dst_port: u16,
        dscp: u8,
    ) -> Self {
        Self {
            src: u128::from(u32::from(src)),
            dst: u128::from(u32::from(dst)),
            vrf,
            flow_label: None,
            src_port,
            dst_port,
            protocol,
            dscp: dscp & 0x3f,
            family: Family::V4,
        }
    }

    /// An IPv6 key built from fields.
    #[allow(clippy::too_many_arguments)]
    pub fn v6(
        vrf: VrfId,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        protocol: u8,
        src_port: u16,
        dst_port: u16,
        dscp: u8,
        flow_label: u32,
    ) -> Self {
        Self {
            src: u128::from(src),
            dst: u128::from(dst),
            vrf,
            flow_label: Some(flow_label & 0xf_ffff),
            src_port,
            dst_port,
            protocol,
            dscp: dscp & 0x3f,
            family: Family::V6,
        }
    }

    pub fn src_ip(&self) -> IpAddr {
        to_ip(self.family, self.src)
    }

    pub fn dst_ip(&self) -> IpAddr {
        to_ip(self.family, self.dst)
    }

    /// Parses the IP packet in `ip` (starting at the IP header; bytes past
    /// the IP length are link padding) received in `vrf`.
    pub fn parse(ip: &[u8], vrf: VrfId) -> Result<Self> {
        match ip.first().map(|b| b >> 4) {
            Some(4) => Self::parse_v4(ip, vrf),
            Some(6) => Self::parse_v6(ip, vrf),
            Some(version) => Err(Error::BadVersion {
                layer: Layer::Ipv4,
                version,
            }),
            None => Err(Error::Truncated {
                layer: Layer::Ipv4,
                need: 1,
                have: 0,
            }),
        }
    }

    fn parse_v4(ip: &[u8], vrf: VrfId) -> Result<Self> {
        let p = Ipv4Packet::new_checked(ip)?;
        let proto = p.protocol();
        let (src_port, dst_port) = if p.frag_offset() != 0 {
            (0, 0)
        } else {
            transport_ports(proto, p.payload(), p.more_frags(), false)?
        };
        Ok(Self::v4(
            vrf,
            p.src(),
            p.dst(),
            proto,
            src_port,
            dst_port,
            p.dscp_ecn() >> 2,
        ))
    }

    fn parse_v6(ip: &[u8], vrf: VrfId) -> Result<Self> {
        let p = Ipv6Packet::new_checked(ip)?;
        let ul = p.upper_layer()?;
        let (src_port, dst_port) = if ul.non_first_fragment {
            (0, 0)
        } else {
            let l4 = ip.get(ul.offset..p.total_len()).ok_or(Error::Truncated {
                layer: Layer::Ipv6Extension,
                need: ul.offset,
                have: p.total_len(),
            })?;
            transport_ports(ul.protocol, l4, ul.fragmented, true)?
        };
        Ok(Self::v6(
            vrf,
            p.src(),
            p.dst(),
            ul.protocol,
            src_port,
            dst_port,
            p.traffic_class() >> 2,
            p.flow_label(),
        ))
    }
}

fn to_ip(family: Family, a: u128) -> IpAddr {
    match family {
        // The low 32 bits hold the address; the cast keeps exactly them.
        Family::V4 => IpAddr::V4(Ipv4Addr::from(a as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(a)),
    }
}

/// Ports (or echo identifier) of the transport header at the start of
/// `l4`. `fragment`: the datagram continues in later fragments, so only
/// the header itself (not UDP Length) can be checked.
fn transport_ports(proto: u8, l4: &[u8], fragment: bool, v6: bool) -> Result<(u16, u16)> {
    match proto {
        protocol::TCP => {
            let t = TcpPacket::new_checked(l4)?;
            Ok((t.src_port(), t.dst_port()))
        }
        protocol::UDP => {
            if fragment {
                let h = header(l4, UDP_HEADER_LEN, Layer::Udp)?;
                Ok((be16(h, 0), be16(h, 2)))
            } else {
                let u = UdpPacket::new_checked(l4)?;
                Ok((u.src_port(), u.dst_port()))
            }
        }
        protocol::ICMP if !v6 => {
            let i = Icmpv4Packet::new_checked(l4)?;
            match i.msg_type() {
                icmpv4::msg_type::ECHO_REQUEST | icmpv4::msg_type::ECHO_REPLY => {
                    Ok((i.echo_ident(), 0))
                }
                _ => Ok((0, 0)),
            }
        }
        protocol::IPV6_ICMP if v6 => {
            let h = header(l4, ICMP_HEADER_LEN, Layer::Icmpv6)?;
            match h[0] {
                ICMPV6_ECHO_REQUEST | ICMPV6_ECHO_REPLY => Ok((be16(h, 4), 0)),
                _ => Ok((0, 0)),
            }
        }
        _ => Ok((0, 0)),
    }
}

fn header(l4: &[u8], len: usize, layer: Layer) -> Result<&[u8]> {
    l4.get(..len).ok_or(Error::Truncated {
        layer,
        need: len,
        have: l4.len(),
    })
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[cfg(test)]
mod tests;
