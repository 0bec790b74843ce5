//! The outer headers of a tunnel packet: IPv4 (RFC 791) or IPv6 (RFC 8200),
//! optionally UDP for NAT traversal (RFC 3948), built from a per-SA template
//! on encapsulation and parsed strictly on decapsulation.
//!
//! ```text
//! IPv4:  |ver=4 ihl|  TOS  |  total length  |  id  |flags+frag| TTL |proto|csum| src | dst |
//! IPv6:  |ver=6 TC  flow label| payload len |next hdr|hop lim| src (16) | dst (16) |
//! UDP:   | src port | dst port (4500) | length | checksum |        (RFC 768)
//! UDP payload on 4500 (RFC 3948 §2):
//!        0xFF (1 byte)                  NAT-keepalive
//!        00 00 00 00 | IKE ...          non-ESP marker: IKE, for the control plane
//!        SPI (non-zero) | seq | ...     ESP
//! ```

use crate::DropReason;
use sdwan_packet::Frame;
use std::net::IpAddr;

mod source;
pub use source::OuterSource;

pub const IPV4_HEADER_LEN: usize = 20;
pub const IPV6_HEADER_LEN: usize = 40;
pub const UDP_HEADER_LEN: usize = 8;
/// IANA "ipsec-nat-t" (RFC 3948).
pub const NATT_PORT: u16 = 4500;
pub const PROTO_ESP: u8 = 50;
pub const PROTO_UDP: u8 = 17;
const PROTO_IPV6_FRAGMENT: u8 = 44;
const IPV4_DF: u16 = 0x4000;
const IPV4_MF: u16 = 0x2000;
const IPV4_FRAG_OFFSET: u16 = 0x1fff;

/// Outer DSCP (+ECN) choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DscpPolicy {
    /// Copy the inner IPv4 TOS / IPv6 traffic class byte (DSCP and ECN,
    /// RFC 6040 normal mode); 0 for non-IP inner packets.
    Copy,
    /// This DSCP (0..=63); ECN still copied from an inner IP header
    /// (RFC 6040 §4.1 normal mode), not-ECT for non-IP inner packets.
    Set(u8),
}

/// Outer IPv4 Don't-Fragment choice (IPv6 has no DF: routers never
/// fragment it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DfPolicy {
    /// DF as the inner IPv4 header has it; clear for other inner packets.
    Copy,
    Set,
    Clear,
}

/// [`DscpPolicy`] and [`DfPolicy`] as bit operations, so the per-packet
/// choice has no branch on the policy: outer TOS = (inner TOS & `tos_keep`)
/// | `tos_set`; outer DF = (inner DF && `df_copy`) || `df_set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TosDfRule {
    /// 0xff (copy DSCP and ECN) or 0x03 (copy ECN only).
    tos_keep: u8,
    /// The set DSCP, shifted into place; 0 when copied.
    tos_set: u8,
    df_copy: bool,
    df_set: bool,
    /// A copy policy needs the whole inner IP header.
    needs_whole: bool,
}

impl TosDfRule {
    fn new(dscp: DscpPolicy, df: DfPolicy) -> Self {
        let (tos_keep, tos_set) = match dscp {
            DscpPolicy::Copy => (0xff, 0),
            DscpPolicy::Set(d) => (0x03, d << 2),
        };
        Self {
            tos_keep,
            tos_set,
            df_copy: df == DfPolicy::Copy,
            df_set: df == DfPolicy::Set,
            needs_whole: dscp == DscpPolicy::Copy || df == DfPolicy::Copy,
        }
    }
}

/// UDP encapsulation ports (RFC 3948); `dst` is usually 4500, `src` 4500 or
/// the NAT-mapped port the peer was seen from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NattPorts {
    pub src: u16,
    pub dst: u16,
}

/// Where the ESP header starts in a received outer packet, or what else
/// arrived on the NAT-T port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    /// `ip_len` is the outer IP packet length (the frame may be longer:
    /// Ethernet padding); `esp_offset` where the SPI starts; `ecn` the
    /// outer header's ECN field (RFC 3168: 0 not-ECT, 1 ECT(1), 2 ECT(0),
    /// 3 CE).
    Esp {
        esp_offset: usize,
        ip_len: usize,
        source: OuterSource,
        ecn: u8,
    },
    /// A one-byte 0xFF NAT-keepalive.
    Keepalive,
    /// IKE after the non-ESP marker, at `offset` (past the marker).
    Ike { offset: usize, ip_len: usize },
}

/// Parses the outer IPv4/IPv6 (and UDP) header of `data`. Accepts UDP only
/// to `natt_port`. The outer UDP checksum is not verified: ESP's ICV covers
/// the payload (RFC 3948 §3.1.2 lets receivers ignore it).
pub fn locate_esp(data: &[u8], natt_port: u16) -> Result<Located, DropReason> {
    let first = *data.first().ok_or(DropReason::Truncated)?;
    let ip = match first >> 4 {
        4 => parse_v4(data)?,
        6 => parse_v6(data)?,
        _ => return Err(DropReason::BadOuterHeader),
    };
    let (l4, ip_len) = (ip.header_len, ip.total_len);
    match ip.proto {
        PROTO_ESP => {
            let (source, ecn) = source_and_ecn(data, None)?;
            Ok(Located::Esp {
                esp_offset: l4,
                ip_len,
                source,
                ecn,
            })
        }
        PROTO_UDP => {
            let at = UdpAt {
                udp_offset: l4,
                ip_len,
            };
            locate_in_udp(data, at, natt_port)
        }
        _ => Err(DropReason::NotEsp),
    }
}

/// A UDP datagram in an outer IP packet whose header the caller has
/// already validated (version, lengths, checksum, not a fragment), e.g. a
/// forwarding pipeline's IP input stage: decapsulation then does not parse
/// the IP header a second time ([`locate_in_udp`]); it reads only the
/// source address and the ECN field from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpAt {
    /// Where the UDP header starts (past any IP options or extension
    /// headers).
    pub udp_offset: usize,
    /// The IP packet's length: the data may be longer (link padding).
    pub ip_len: usize,
}

/// The UDP part of [`locate_esp`] (RFC 3948 §2.2: keepalive, non-ESP
/// marker, ESP): accepts UDP only to `natt_port`.
///
/// ```text
///  0                   1                   2                   3
/// +-------------------------------+-------------------------------+
/// |        Source Port            |     Destination Port (4500)   |
/// +-------------------------------+-------------------------------+
/// |           Length              |          Checksum             |
/// +-------------------------------+-------------------------------+
/// | 0xFF (keepalive) | 0x00000000 (non-ESP marker) + IKE | ESP    |
/// ```
#[inline]
pub fn locate_in_udp(data: &[u8], at: UdpAt, natt_port: u16) -> Result<Located, DropReason> {
    let l4 = at.udp_offset;
    let udp = data.get(l4..at.ip_len).ok_or(DropReason::Truncated)?;
    if udp.len() < UDP_HEADER_LEN {
        return Err(DropReason::Truncated);
    }
    if u16::from_be_bytes([udp[2], udp[3]]) != natt_port {
        return Err(DropReason::NotEsp);
    }
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if udp_len < UDP_HEADER_LEN || udp_len > udp.len() {
        return Err(DropReason::BadOuterHeader);
    }
    let payload = &udp[UDP_HEADER_LEN..udp_len];
    let udp_port = Some(u16::from_be_bytes([udp[0], udp[1]]));
    let start = l4 + UDP_HEADER_LEN;
    let end = l4 + udp_len;
    match payload {
        [0xff] => Ok(Located::Keepalive),
        [0, 0, 0, 0, ..] => Ok(Located::Ike {
            offset: start + 4,
            ip_len: end,
        }),
        _ => {
            let (source, ecn) = source_and_ecn(data, udp_port)?;
            Ok(Located::Esp {
                esp_offset: start,
                ip_len: end,
                source,
                ecn,
            })
        }
    }
}

/// Source address and ECN field (RFC 3168: the low two bits of the IPv4
/// TOS / IPv6 traffic class) of the IP header that starts `data`, whose
/// version and length were validated (by [`locate_esp`] or the caller's
/// IP stage); `udp_port` goes into the [`OuterSource`].
#[inline(always)]
pub fn source_and_ecn(data: &[u8], udp_port: Option<u16>) -> Result<(OuterSource, u8), DropReason> {
    match data.first().map(|b| b >> 4) {
        Some(4) => {
            let h: &[u8; IPV4_HEADER_LEN] = data.first_chunk().ok_or(DropReason::Truncated)?;
            let s = [h[12], h[13], h[14], h[15]];
            Ok((OuterSource::v4(s, udp_port), h[1] & 3))
        }
        Some(6) => {
            let h: &[u8; IPV6_HEADER_LEN] = data.first_chunk().ok_or(DropReason::Truncated)?;
            let mut s = [0u8; 16];
            s.copy_from_slice(&h[8..24]);
            Ok((OuterSource::v6(s, udp_port), (h[1] >> 4) & 3))
        }
        _ => Err(DropReason::BadOuterHeader),
    }
}

/// What decapsulation needs from a verified outer IP header.
struct OuterIp {
    proto: u8,
    header_len: usize,
    total_len: usize,
}

/// The fields of an IPv4 header decapsulation uses.
fn parse_v4(d: &[u8]) -> Result<OuterIp, DropReason> {
    if d.len() < IPV4_HEADER_LEN {
        return Err(DropReason::Truncated);
    }
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([d[2], d[3]]));
    if ihl < IPV4_HEADER_LEN || total < ihl {
        return Err(DropReason::BadOuterHeader);
    }
    if total > d.len() {
        return Err(DropReason::Truncated);
    }
    if ipv4_checksum(&d[..ihl]) != 0 {
        return Err(DropReason::BadOuterHeader);
    }
    let frag = u16::from_be_bytes([d[6], d[7]]);
    if frag & (IPV4_MF | IPV4_FRAG_OFFSET) != 0 {
        return Err(DropReason::Fragment);
    }
    Ok(OuterIp {
        proto: d[9],
        header_len: ihl,
        total_len: total,
    })
}

/// The fields of an IPv6 header decapsulation uses. Extension headers
/// other than a fragment header are not walked: such packets are `not_esp`.
fn parse_v6(d: &[u8]) -> Result<OuterIp, DropReason> {
    if d.len() < IPV6_HEADER_LEN {
        return Err(DropReason::Truncated);
    }
    let payload = usize::from(u16::from_be_bytes([d[4], d[5]]));
    let total = IPV6_HEADER_LEN + payload;
    if total > d.len() {
        return Err(DropReason::Truncated);
    }
    if d[6] == PROTO_IPV6_FRAGMENT {
        return Err(DropReason::Fragment);
    }
    Ok(OuterIp {
        proto: d[6],
        header_len: IPV6_HEADER_LEN,
        total_len: total,
    })
}

/// RFC 1071 checksum over an IPv4 header (0 when a header verifies).
pub fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for c in h.chunks_exact(2) {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The precomputed outer header bytes of one SA: everything but lengths,
/// TOS/traffic class, DF, IPv4 id and checksums.
#[derive(Debug, Clone)]
pub struct OuterTemplate {
    bytes: [u8; IPV6_HEADER_LEN + UDP_HEADER_LEN],
    len: usize,
    v6: bool,
    udp: bool,
    /// The DSCP and DF policies as bit operations on the inner values
    /// (see [`TosDfRule`]).
    rule: TosDfRule,
    /// Partial one's-complement sum of the IPv6 pseudo-header addresses
    /// (UDP checksum, IPv6 only), or of the IPv4 template header with zero
    /// TOS, length, id and flags (so the per-packet checksum is arithmetic
    /// on the variable fields and never reads the header back).
    base_sum: u32,
}

/// Outer source and destination of different address families, or a DSCP
/// above 63.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadOuter {
    MixedFamilies,
    DscpOutOfRange(u8),
}

impl OuterTemplate {
    pub fn new(
        src: IpAddr,
        dst: IpAddr,
        natt: Option<NattPorts>,
        ttl: u8,
        dscp: DscpPolicy,
        df: DfPolicy,
        flow_label: u32,
    ) -> Result<Self, BadOuter> {
        if let DscpPolicy::Set(d) = dscp {
            if d > 63 {
                return Err(BadOuter::DscpOutOfRange(d));
            }
        }
        let mut bytes = [0u8; IPV6_HEADER_LEN + UDP_HEADER_LEN];
        let proto = if natt.is_some() { PROTO_UDP } else { PROTO_ESP };
        let (ip_len, v6, base_sum) = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                bytes[0] = 0x45;
                bytes[8] = ttl;
                bytes[9] = proto;
                bytes[12..16].copy_from_slice(&s.octets());
                bytes[16..20].copy_from_slice(&d.octets());
                (IPV4_HEADER_LEN, false, sum16(&bytes[..IPV4_HEADER_LEN]))
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let first = 0x6000_0000u32 | (flow_label & 0x000f_ffff);
                bytes[..4].copy_from_slice(&first.to_be_bytes());
                bytes[6] = proto;
                bytes[7] = ttl;
                bytes[8..24].copy_from_slice(&s.octets());
                bytes[24..40].copy_from_slice(&d.octets());
                (IPV6_HEADER_LEN, true, sum16(&bytes[8..40]))
            }
            _ => return Err(BadOuter::MixedFamilies),
        };
        let mut len = ip_len;
        if let Some(p) = natt {
            bytes[len..len + 2].copy_from_slice(&p.src.to_be_bytes());
            bytes[len + 2..len + 4].copy_from_slice(&p.dst.to_be_bytes());
            len += UDP_HEADER_LEN;
        }
        Ok(Self {
            bytes,
            len,
            v6,
            udp: natt.is_some(),
            rule: TosDfRule::new(dscp, df),
            base_sum,
        })
    }

    /// Bytes the outer headers take.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn is_v6(&self) -> bool {
        self.v6
    }
    /// UDP (NAT-T) encapsulation.
    pub fn has_udp(&self) -> bool {
        self.udp
    }

    /// Largest IP payload (ESP or UDP+ESP) the outer header can carry.
    pub fn max_payload(&self) -> usize {
        if self.v6 {
            65535
        } else {
            65535 - IPV4_HEADER_LEN
        }
    }

    /// The outer TOS/traffic class and DF for an inner packet whose first
    /// bytes are `inner`. `None` when a copy policy needs bytes the inner
    /// IP header lacks.
    #[inline]
    pub fn tos_df(&self, inner_is_ip: Option<u8>, inner: &[u8]) -> Option<(u8, bool)> {
        // Inner TOS / traffic class, inner DF, and whether the whole
        // inner IP header is there (0, false, true for non-IP packets).
        let (tos, df, whole) = match (inner_is_ip, inner) {
            (Some(4), [_, tos, _, _, _, _, flags, ..]) => {
                (*tos, flags & 0x40 != 0, inner.len() >= IPV4_HEADER_LEN)
            }
            (Some(4), [_, tos, ..]) => (*tos, false, false),
            (Some(6), [b0, b1, ..]) => {
                ((b0 << 4) | (b1 >> 4), false, inner.len() >= IPV6_HEADER_LEN)
            }
            (Some(_), _) => (0, false, false),
            (None, _) => (0, false, true),
        };
        let r = &self.rule;
        if !whole && r.needs_whole {
            return None;
        }
        // Non-short-circuit `&` / `|`: no branch on packet bits.
        Some(((tos & r.tos_keep) | r.tos_set, (df & r.df_copy) | r.df_set))
    }

    /// Writes a NAT-keepalive (RFC 3948 §2.3: UDP payload 0xFF) with
    /// these outer headers into `frame`, replacing its content. `NotEsp`
    /// without UDP encapsulation, `NoRoom` when the buffer is too small.
    pub fn write_keepalive(&self, frame: &mut Frame<'_>, ip_id: u16) -> Result<(), DropReason> {
        let l = self.len;
        if !self.udp {
            return Err(DropReason::NotEsp);
        }
        frame.set_len(0).map_err(|_| DropReason::NoRoom)?;
        frame.append(l + 1).map_err(|_| DropReason::NoRoom)?;
        let packet = frame.data_mut();
        packet[l] = 0xff;
        self.write_front(packet, 0, false, ip_id)
    }

    /// Writes the outer headers over the first [`Self::len`] bytes of
    /// `packet`, for the IP payload in the rest of it (see [`Self::write`]).
    /// `NoRoom` when `packet` is shorter than the headers.
    #[inline(always)]
    pub fn write_front(
        &self,
        packet: &mut [u8],
        tos: u8,
        df: bool,
        ip_id: u16,
    ) -> Result<(), DropReason> {
        let Some((hdr, after)) = packet.split_at_mut_checked(self.len) else {
            return Err(DropReason::NoRoom);
        };
        self.write(hdr, after, tos, df, ip_id);
        Ok(())
    }

    /// Writes the outer headers into `hdr` (exactly `self.len()` bytes) for
    /// an IP payload of `payload` (the ESP packet, or UDP+ESP). `after` is
    /// the bytes following the headers (the ESP packet), needed only for
    /// the IPv6 UDP checksum.
    #[inline(always)]
    pub fn write(&self, hdr: &mut [u8], after: &[u8], tos: u8, df: bool, ip_id: u16) {
        // IPv4 as fixed-size arrays: no memcpy call and no bounds check
        // per field on the per-packet path.
        const V4: usize = IPV4_HEADER_LEN;
        const V4U: usize = IPV4_HEADER_LEN + UDP_HEADER_LEN;
        match (self.v6, self.udp) {
            (false, true) => {
                if let Ok(h) = <&mut [u8; V4U]>::try_from(&mut *hdr) {
                    return self.write_v4(h, after.len(), tos, df, ip_id);
                }
            }
            (false, false) => {
                if let Ok(h) = <&mut [u8; V4]>::try_from(&mut *hdr) {
                    return self.write_v4(h, after.len(), tos, df, ip_id);
                }
            }
            (true, _) => {}
        }
        // IPv6 (a header slice of the wrong length panics here).
        hdr.copy_from_slice(&self.bytes[..self.len]);
        let payload = (self.len - IPV6_HEADER_LEN + after.len()) as u16;
        hdr[0] = 0x60 | (tos >> 4);
        hdr[1] = (tos << 4) | (hdr[1] & 0x0f);
        hdr[4..6].copy_from_slice(&payload.to_be_bytes());
        if self.udp {
            let udp_len = (after.len() + UDP_HEADER_LEN) as u16;
            let u = &mut hdr[IPV6_HEADER_LEN..];
            u[4..6].copy_from_slice(&udp_len.to_be_bytes());
            // RFC 8200 §8.1: the UDP checksum is mandatory over IPv6.
            let mut s = self.base_sum + u32::from(udp_len) + u32::from(PROTO_UDP);
            s += sum16(&u[..6]) + sum16(after);
            let c = !fold(s);
            let c = if c == 0 { 0xffff } else { c };
            u[6..8].copy_from_slice(&c.to_be_bytes());
        }
    }

    /// The IPv4 header (N = 20) or IPv4 + UDP headers (N = 28) from the
    /// template, for `after_len` bytes of ESP after them.
    #[inline(always)]
    fn write_v4<const N: usize>(
        &self,
        h: &mut [u8; N],
        after_len: usize,
        tos: u8,
        df: bool,
        ip_id: u16,
    ) {
        let Some(template) = self.bytes.first_chunk::<N>() else {
            unreachable!("the template holds the longest header");
        };
        *h = *template;
        let total = (N + after_len) as u16;
        h[1] = tos;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&ip_id.to_be_bytes());
        let flags = u16::from(df) * IPV4_DF;
        h[6..8].copy_from_slice(&flags.to_be_bytes());
        // Template word 0 is 0x4500: TOS adds in the low byte.
        let s =
            self.base_sum + u32::from(tos) + u32::from(total) + u32::from(ip_id) + u32::from(flags);
        h[10..12].copy_from_slice(&(!fold(s)).to_be_bytes());
        if N == IPV4_HEADER_LEN + UDP_HEADER_LEN {
            // RFC 3948 §2.1: the UDP checksum SHOULD be zero over IPv4.
            let udp_len = (after_len + UDP_HEADER_LEN) as u16;
            h[IPV4_HEADER_LEN + 4..IPV4_HEADER_LEN + 6].copy_from_slice(&udp_len.to_be_bytes());
        }
    }
}

/// One's-complement partial sum of big-endian 16-bit words.
fn sum16(d: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut it = d.chunks_exact(2);
    for c in &mut it {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = it.remainder() {
        acc += u64::from(*b) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u32
}

/// One's-complement fold of a 32-bit sum: two rounds always suffice
/// (the first leaves at most 0x1fffe).
#[inline(always)]
fn fold(s: u32) -> u16 {
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4() -> (IpAddr, IpAddr) {
        (
            Ipv4Addr::new(192, 0, 2, 1).into(),
            Ipv4Addr::new(198, 51, 100, 2).into(),
        )
    }

    #[test]
    fn v4_natt_header_verifies_and_locates() {
        let (s, d) = v4();
        let natt = Some(NattPorts {
            src: 4500,
            dst: NATT_PORT,
        });
        let t = OuterTemplate::new(s, d, natt, 64, DscpPolicy::Set(46), DfPolicy::Set, 0).unwrap();
        assert_eq!(t.len(), 28);
        let mut pkt = vec![0u8; 28 + 12];
        pkt[28..].copy_from_slice(&[0, 0, 1, 0, 0, 0, 0, 1, 9, 9, 9, 9]);
        let (h, esp) = pkt.split_at_mut(28);
        t.write(h, esp, 46 << 2, true, 7);
        assert_eq!(ipv4_checksum(&pkt[..20]), 0);
        assert_eq!(pkt[1], 46 << 2);
        assert_eq!(pkt[6], 0x40);
        assert_eq!(&pkt[26..28], &[0, 0], "UDP checksum zero over IPv4");
        assert_eq!(
            locate_esp(&pkt, NATT_PORT),
            Ok(Located::Esp {
                esp_offset: 28,
                ip_len: 40,
                source: OuterSource::new(s, Some(4500)),
                ecn: 0,
            })
        );
        assert_eq!(locate_esp(&pkt, 4501), Err(DropReason::NotEsp));
        // Corrupt the checksum.
        pkt[8] ^= 1;
        assert_eq!(locate_esp(&pkt, NATT_PORT), Err(DropReason::BadOuterHeader));
    }

    #[test]
    fn v6_udp_checksum_is_valid() {
        let s: IpAddr = "2001:db8::1".parse::<Ipv6Addr>().unwrap().into();
        let d: IpAddr = "2001:db8::2".parse::<Ipv6Addr>().unwrap().into();
        let natt = Some(NattPorts {
            src: 1234,
            dst: NATT_PORT,
        });
        let t =
            OuterTemplate::new(s, d, natt, 64, DscpPolicy::Copy, DfPolicy::Copy, 0x12345).unwrap();
        let mut pkt = vec![0u8; 48 + 13];
        for (i, b) in pkt[48..].iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        let (h, esp) = pkt.split_at_mut(48);
        t.write(h, esp, 0xb8, false, 0);
        // Verify: pseudo header + UDP header + payload sums to 0xffff.
        let udp_len = 8 + 13u32;
        let sum = sum16(&pkt[8..40]) + udp_len + 17 + sum16(&pkt[40..]);
        assert_eq!(fold(sum), 0xffff);
        assert_eq!(pkt[0], 0x6b);
        assert_eq!(pkt[1] >> 4, 0x8);
        assert_eq!(
            locate_esp(&pkt, NATT_PORT),
            Ok(Located::Esp {
                esp_offset: 48,
                ip_len: 61,
                source: OuterSource::new(s, Some(1234)),
                ecn: 0,
            })
        );
    }

    /// RFC 6040 §4.1 normal mode: the outer ECN field is the inner one,
    /// whatever the DSCP policy; decap sees it in `Located::Esp::ecn`.
    #[test]
    fn ecn_is_copied_to_the_outer_header() {
        let (s, d) = v4();
        let mut inner4 = [0u8; 20];
        inner4[0] = 0x45;
        let mut inner6 = [0u8; 40];
        inner6[0] = 0x60;
        for (policy, dscp_out) in [(DscpPolicy::Copy, 10u8), (DscpPolicy::Set(46), 46)] {
            let t = OuterTemplate::new(s, d, None, 64, policy, DfPolicy::Clear, 0).unwrap();
            for ecn in 0..4u8 {
                inner4[1] = (10 << 2) | ecn;
                let (tos, _) = t.tos_df(Some(4), &inner4).unwrap();
                assert_eq!((tos >> 2, tos & 3), (dscp_out, ecn), "{policy:?} v4");
                let tc = (10 << 2) | ecn;
                inner6[0] = 0x60 | (tc >> 4);
                inner6[1] = tc << 4;
                let (tos, _) = t.tos_df(Some(6), &inner6).unwrap();
                assert_eq!((tos >> 2, tos & 3), (dscp_out, ecn), "{policy:?} v6");
                let mut pkt = vec![0u8; 20 + 24];
                let (h, p) = pkt.split_at_mut(20);
                t.write(h, p, tos, false, 1);
                assert!(matches!(
                    locate_esp(&pkt, NATT_PORT),
                    Ok(Located::Esp { ecn: e, .. }) if e == ecn
                ));
            }
            // Non-IP inner: not-ECT.
            let (tos, _) = t.tos_df(None, &[0xff; 4]).unwrap();
            assert_eq!(tos & 3, 0);
        }
    }

    #[test]
    fn keepalive_and_ike_marker_demux() {
        let (s, d) = v4();
        let natt = Some(NattPorts {
            src: NATT_PORT,
            dst: NATT_PORT,
        });
        let t = OuterTemplate::new(s, d, natt, 64, DscpPolicy::Set(0), DfPolicy::Clear, 0).unwrap();
        let mut ka = vec![0u8; 29];
        ka[28] = 0xff;
        let (h, p) = ka.split_at_mut(28);
        t.write(h, p, 0, false, 1);
        assert_eq!(locate_esp(&ka, NATT_PORT), Ok(Located::Keepalive));
        let mut ike = vec![0u8; 28 + 8];
        ike[32] = 0x21;
        let (h, p) = ike.split_at_mut(28);
        t.write(h, p, 0, false, 1);
        assert_eq!(
            locate_esp(&ike, NATT_PORT),
            Ok(Located::Ike {
                offset: 32,
                ip_len: 36
            })
        );
    }

    #[test]
    fn fragments_and_garbage_refused() {
        let (s, d) = v4();
        let t = OuterTemplate::new(s, d, None, 64, DscpPolicy::Copy, DfPolicy::Copy, 0).unwrap();
        let mut pkt = vec![0u8; 20 + 24];
        let (h, p) = pkt.split_at_mut(20);
        t.write(h, p, 0, false, 1);
        assert_eq!(
            locate_esp(&pkt, NATT_PORT),
            Ok(Located::Esp {
                esp_offset: 20,
                ip_len: 44,
                source: OuterSource::new(s, None),
                ecn: 0,
            })
        );
        pkt[6] = 0x20; // MF
        pkt[10] = 0;
        pkt[11] = 0;
        let c = ipv4_checksum(&pkt[..20]);
        pkt[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(locate_esp(&pkt, NATT_PORT), Err(DropReason::Fragment));
        assert_eq!(locate_esp(&[], NATT_PORT), Err(DropReason::Truncated));
        assert_eq!(
            locate_esp(&[0x55; 30], NATT_PORT),
            Err(DropReason::BadOuterHeader)
        );
        assert_eq!(
            locate_esp(&pkt[..30], NATT_PORT),
            Err(DropReason::Truncated)
        );
        assert_eq!(
            OuterTemplate::new(
                s,
                "::1".parse().unwrap(),
                None,
                1,
                DscpPolicy::Copy,
                DfPolicy::Copy,
                0
            )
            .unwrap_err(),
            BadOuter::MixedFamilies
        );
    }
}
