//! The VPN header inside ESP (draft §3.1.1, §6.1.2: "additional
//! encapsulation ... to embed the SD-WAN VPN identifier inside the IPsec
//! ESP header"): pushed in front of the client IP packet before
//! encryption, popped after decryption. Three layouts:
//!
//! MPLS (RFC 3032 §2.1, RFC 4023 §3: ESP next header 137), one entry, S=1,
//! TTL copied from the client packet (after its decrement):
//! ```text
//!  0                   1                   2                   3
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                Label                  | TC  |S|      TTL      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! GRE with key (RFC 2784, RFC 2890 §2.1: ESP next header 47); we send
//! C=0, K=1, S=0; we accept C and S (skipping their words) but not the
//! reserved bits or a version other than 0:
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |C| |K|S| Reserved0       | Ver |  Protocol Type 0x0800/0x86DD  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      [Checksum]               |       [Reserved1]             |
//! |                              Key                              |
//! |                      [Sequence Number]                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! VXLAN (RFC 7348 §5) as RFC 9012's tunnel type 8 defines it, a VXLAN
//! header in UDP/4789 in IP, the whole inner tunnel packet protected by
//! ESP tunnel mode (draft §6.1.2: "This inner tunnel is further
//! encapsulated with an outer IP header"; ESP next header 4 or 41):
//! ```text
//! | IPv4/IPv6 (family and addresses of the SA's outer header, TTL 64) |
//! | UDP src 49152 + flow entropy, dst 4789, checksum 0 (RFC 6935)     |
//! | flags 0x08 (I) | reserved (24) | VNI (24) | reserved (8)          |
//! | Ethernet dst 00:00:00:00:00:00, src our WAN port MAC, EtherType   |
//! | client IPv4/IPv6 packet ...                                       |
//! ```
//! The receiver routes on the client IP header in the VNI's VRF (RFC 9135
//! §4.4.1 interface-less IP-VRF-to-IP-VRF); no Router's MAC is exchanged,
//! so the inner MACs carry no meaning and are not checked. Why not
//! Ethernet (next header 143) with the VNI elsewhere: ESP has no other
//! field to carry it, and this layout is what a VXLAN-speaking peer expects
//! after removing ESP. Its cost is 50 (IPv4) or 70 (IPv6) bytes.

use super::InnerEncap;
use crate::drop_reason::DropReason;
use sdwan_crypto::NextHeader;
use sdwan_packet::checksum;
use sdwan_packet::ethernet::ethertype;
use sdwan_packet::{Frame, MacAddr};
use std::net::IpAddr;

pub const MPLS_LEN: usize = 4;
pub const GRE_KEY_LEN: usize = 8;
pub const VXLAN_PORT: u16 = 4789;
const VXLAN_LEN: usize = 8;
const UDP_LEN: usize = 8;
const ETH_LEN: usize = 14;
const VXLAN_FLAG_I: u8 = 0x08;
const GRE_C: u16 = 0x8000;
const GRE_K: u16 = 0x2000;
const GRE_S: u16 = 0x1000;
/// Reserved0 bits 1 and 4-12 plus the version: must be zero (RFC 2784 §2.5).
const GRE_MUST_BE_ZERO: u16 = 0x4fff;
const MPLS_BOS: u32 = 0x100;
/// Largest 20-bit label / 24-bit VNI.
const LABEL_MAX: u32 = 0xf_ffff;
const VNI_MAX: u32 = 0xff_ffff;

/// IP version of a client packet (first nibble).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn ethertype(self) -> u16 {
        match self {
            Family::V4 => ethertype::IPV4,
            Family::V6 => ethertype::IPV6,
        }
    }
    fn from_ethertype(et: u16) -> Option<Self> {
        match et {
            ethertype::IPV4 => Some(Family::V4),
            ethertype::IPV6 => Some(Family::V6),
            _ => None,
        }
    }
    /// From the version nibble of the first byte.
    pub fn of_packet(first: Option<&u8>) -> Option<Self> {
        match first.map(|b| b >> 4) {
            Some(4) => Some(Family::V4),
            Some(6) => Some(Family::V6),
            _ => None,
        }
    }
}

/// Bytes the inner header adds for `encap` (the VXLAN layout depends on
/// the outer family).
#[inline]
pub fn len(encap: InnerEncap, outer_v6: bool) -> usize {
    match encap {
        InnerEncap::Mpls { .. } => MPLS_LEN,
        InnerEncap::Gre { .. } => GRE_KEY_LEN,
        InnerEncap::Vxlan { .. } => {
            (if outer_v6 { 40 } else { 20 }) + UDP_LEN + VXLAN_LEN + ETH_LEN
        }
    }
}

/// What the VXLAN layout needs besides the client packet.
#[derive(Debug, Clone, Copy)]
pub struct VxlanOuter {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_mac: MacAddr,
    /// UDP source-port entropy (RFC 7348 §5: a hash of the inner flow).
    pub entropy: u16,
}

/// Pushes the inner header for `encap` in front of the client packet that
/// `frame` holds; returns the ESP next header. `ttl` is the client packet's
/// TTL / hop limit (MPLS copies it). The caller checked the headroom.
#[inline(always)]
pub fn push(
    frame: &mut Frame<'_>,
    encap: InnerEncap,
    family: Family,
    ttl: u8,
    vx: &VxlanOuter,
) -> Result<NextHeader, DropReason> {
    match encap {
        InnerEncap::Mpls { label } => {
            let lse = ((label & LABEL_MAX) << 12) | MPLS_BOS | u32::from(ttl);
            let h = frame.prepend(MPLS_LEN).map_err(|_| DropReason::NoRoom)?;
            h.copy_from_slice(&lse.to_be_bytes());
            Ok(NextHeader::Mpls)
        }
        InnerEncap::Gre { key } => {
            let h = frame.prepend(GRE_KEY_LEN).map_err(|_| DropReason::NoRoom)?;
            h[..2].copy_from_slice(&GRE_K.to_be_bytes());
            h[2..4].copy_from_slice(&family.ethertype().to_be_bytes());
            h[4..8].copy_from_slice(&key.to_be_bytes());
            Ok(NextHeader::Gre)
        }
        InnerEncap::Vxlan { vni } => push_vxlan(frame, vni, family, vx),
    }
}

fn push_vxlan(
    frame: &mut Frame<'_>,
    vni: u32,
    family: Family,
    vx: &VxlanOuter,
) -> Result<NextHeader, DropReason> {
    let h = frame
        .prepend(ETH_LEN + VXLAN_LEN)
        .map_err(|_| DropReason::NoRoom)?;
    h[..VXLAN_LEN].copy_from_slice(&[VXLAN_FLAG_I, 0, 0, 0, 0, 0, 0, 0]);
    h[4..7].copy_from_slice(&(vni & VNI_MAX).to_be_bytes()[1..]);
    h[VXLAN_LEN..VXLAN_LEN + 6].fill(0);
    h[VXLAN_LEN + 6..VXLAN_LEN + 12].copy_from_slice(&vx.src_mac.0);
    h[VXLAN_LEN + 12..].copy_from_slice(&family.ethertype().to_be_bytes());
    let udp_len = frame.len() + UDP_LEN;
    let udp_len16 = u16::try_from(udp_len).map_err(|_| DropReason::EspTooBig)?;
    let u = frame.prepend(UDP_LEN).map_err(|_| DropReason::NoRoom)?;
    u[..2].copy_from_slice(&(0xc000 | (vx.entropy & 0x3fff)).to_be_bytes());
    u[2..4].copy_from_slice(&VXLAN_PORT.to_be_bytes());
    u[4..6].copy_from_slice(&udp_len16.to_be_bytes());
    u[6..8].fill(0);
    match (vx.src, vx.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(udp_len + 20).map_err(|_| DropReason::EspTooBig)?;
            let ip = frame.prepend(20).map_err(|_| DropReason::NoRoom)?;
            ip[..12].copy_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0]);
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let c = checksum::checksum(ip);
            ip[10..12].copy_from_slice(&c.to_be_bytes());
            Ok(NextHeader::Ipv4)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let ip = frame.prepend(40).map_err(|_| DropReason::NoRoom)?;
            ip[..8].copy_from_slice(&[0x60, 0, 0, 0, 0, 0, 17, 64]);
            ip[4..6].copy_from_slice(&udp_len16.to_be_bytes());
            ip[8..24].copy_from_slice(&s.octets());
            ip[24..40].copy_from_slice(&d.octets());
            Ok(NextHeader::Ipv6)
        }
        _ => Err(DropReason::BadInnerEncap),
    }
}

/// Pops the inner header of a decrypted payload (`frame` holds it from its
/// first byte): returns the VPN identifier and the client packet's family;
/// the frame then holds the client packet.
#[inline(always)]
pub fn pop(frame: &mut Frame<'_>, nh: NextHeader) -> Result<(InnerEncap, Family), DropReason> {
    let d = frame.data();
    let (key, skip, family) = match nh {
        NextHeader::Mpls => {
            let b = d.get(..MPLS_LEN).ok_or(DropReason::BadInnerEncap)?;
            let lse = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            if lse & MPLS_BOS == 0 {
                // A deeper stack is not something our peers send.
                return Err(DropReason::BadInnerEncap);
            }
            let family = Family::of_packet(d.get(MPLS_LEN)).ok_or(DropReason::BadInnerEncap)?;
            (InnerEncap::Mpls { label: lse >> 12 }, MPLS_LEN, family)
        }
        NextHeader::Gre => {
            let b = d.get(..4).ok_or(DropReason::BadInnerEncap)?;
            let flags = u16::from_be_bytes([b[0], b[1]]);
            let proto = u16::from_be_bytes([b[2], b[3]]);
            if flags & GRE_MUST_BE_ZERO != 0 || flags & GRE_K == 0 {
                return Err(DropReason::BadInnerEncap);
            }
            let family = Family::from_ethertype(proto).ok_or(DropReason::BadInnerEncap)?;
            let key_at = if flags & GRE_C != 0 { 8 } else { 4 };
            let k = d.get(key_at..key_at + 4).ok_or(DropReason::BadInnerEncap)?;
            let key = u32::from_be_bytes([k[0], k[1], k[2], k[3]]);
            let skip = key_at + 4 + if flags & GRE_S != 0 { 4 } else { 0 };
            (InnerEncap::Gre { key }, skip, family)
        }
        NextHeader::Ipv4 | NextHeader::Ipv6 => pop_vxlan(d)?,
        NextHeader::Ethernet => return Err(DropReason::BadInnerEncap),
    };
    if skip >= frame.len() {
        return Err(DropReason::BadInnerEncap);
    }
    frame
        .trim_front(skip)
        .map_err(|_| DropReason::BadInnerEncap)?;
    Ok((key, family))
}

/// IP / UDP 4789 / VXLAN / Ethernet: strict on lengths, the protocol, the
/// port and the I flag; the tunnel addresses are authenticated by ESP.
fn pop_vxlan(d: &[u8]) -> Result<(InnerEncap, usize, Family), DropReason> {
    let bad = DropReason::BadInnerEncap;
    let (proto, ip_len, total) = match d.first().map(|b| b >> 4) {
        Some(4) => {
            let h = d.get(..20).ok_or(bad)?;
            let ihl = usize::from(h[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let frag = u16::from_be_bytes([h[6], h[7]]) & 0x3fff;
            if ihl < 20 || frag != 0 {
                return Err(bad);
            }
            (h[9], ihl, total)
        }
        Some(6) => {
            let h = d.get(..40).ok_or(bad)?;
            let total = 40 + usize::from(u16::from_be_bytes([h[4], h[5]]));
            (h[6], 40, total)
        }
        _ => return Err(bad),
    };
    if proto != 17 || total > d.len() || total < ip_len + UDP_LEN + VXLAN_LEN + ETH_LEN {
        return Err(bad);
    }
    let u = &d[ip_len..total];
    let udp_len = usize::from(u16::from_be_bytes([u[4], u[5]]));
    if u16::from_be_bytes([u[2], u[3]]) != VXLAN_PORT || udp_len != u.len() {
        return Err(bad);
    }
    let vx = &u[UDP_LEN..UDP_LEN + VXLAN_LEN];
    if vx[0] & VXLAN_FLAG_I == 0 {
        return Err(bad);
    }
    let vni = u32::from_be_bytes([0, vx[4], vx[5], vx[6]]);
    let et_at = UDP_LEN + VXLAN_LEN + 12;
    let family = Family::from_ethertype(u16::from_be_bytes([u[et_at], u[et_at + 1]])).ok_or(bad)?;
    Ok((
        InnerEncap::Vxlan { vni },
        ip_len + UDP_LEN + VXLAN_LEN + ETH_LEN,
        family,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vx(v6: bool) -> VxlanOuter {
        let (src, dst): (IpAddr, IpAddr) = if v6 {
            (
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
            )
        } else {
            (
                "192.0.2.1".parse().unwrap(),
                "198.51.100.2".parse().unwrap(),
            )
        };
        VxlanOuter {
            src,
            dst,
            src_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            entropy: 0x1234,
        }
    }

    fn roundtrip(encap: InnerEncap, v6: bool) {
        let client = [
            0x45u8, 0, 0, 20, 0, 0, 0, 0, 63, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let mut buf = [0u8; 256];
        buf[128..148].copy_from_slice(&client);
        let mut f = Frame::new(&mut buf, 128, 20).unwrap();
        let nh = push(&mut f, encap, Family::V4, 63, &vx(v6)).unwrap();
        assert_eq!(f.len(), 20 + len(encap, v6));
        assert_eq!(pop(&mut f, nh).unwrap(), (encap, Family::V4));
        assert_eq!(f.data(), &client);
    }

    #[test]
    fn push_pop_roundtrip_every_layout() {
        for v6 in [false, true] {
            roundtrip(InnerEncap::Mpls { label: 1001 }, v6);
            roundtrip(InnerEncap::Gre { key: 0xdead_beef }, v6);
            roundtrip(InnerEncap::Vxlan { vni: 0x12_3456 }, v6);
        }
    }

    #[test]
    fn mpls_entry_bits() {
        let mut buf = [0u8; 64];
        buf[32] = 0x60;
        let mut f = Frame::new(&mut buf, 32, 1).unwrap();
        push(
            &mut f,
            InnerEncap::Mpls { label: 1001 },
            Family::V6,
            9,
            &vx(false),
        )
        .unwrap();
        // 1001 << 12 | S | TTL 9
        assert_eq!(&f.data()[..4], &[0x00, 0x3e, 0x91, 0x09]);
    }

    #[test]
    fn pop_rejects_malformed_layouts() {
        let cases: [(&[u8], NextHeader); 6] = [
            (&[0, 0x3e, 0x90, 9, 0x45], NextHeader::Mpls), // S = 0
            (&[0, 0x3e, 0x91, 9, 0x15], NextHeader::Mpls), // not IP after
            (&[0, 0, 0x08, 0, 0, 0, 0, 1, 0x45], NextHeader::Gre), // no key
            (&[0x20, 1, 0x08, 0, 0, 0, 0, 1, 0x45], NextHeader::Gre), // version 1
            (&[0x20, 0, 0x08, 0, 0, 0], NextHeader::Gre),  // short
            (&[0x45, 0, 0, 20], NextHeader::Ipv4),         // not VXLAN
        ];
        for (bytes, nh) in cases {
            let mut buf = bytes.to_vec();
            let n = buf.len();
            let mut f = Frame::new(&mut buf, 0, n).unwrap();
            assert_eq!(pop(&mut f, nh), Err(DropReason::BadInnerEncap), "{bytes:?}");
        }
        let mut e = [0u8; 20];
        let mut f = Frame::new(&mut e, 0, 20).unwrap();
        assert_eq!(
            pop(&mut f, NextHeader::Ethernet),
            Err(DropReason::BadInnerEncap)
        );
    }
}
