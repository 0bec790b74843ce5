//! IPv6 header (RFC 8200 §3) and a safe walk over extension headers
//! (RFC 8200 §4) to find the upper-layer protocol for ICMPv6/UDP/TCP demux.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Source Address (16 octets)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               Destination Address (16 octets)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Extension header (Hop-by-Hop 0, Routing 43, Destination Options 60):
//! | Next Header | Hdr Ext Len (8-octet units, not counting the first) | ...
//! Fragment header (44), 8 octets:
//! | Next Header | Reserved | Fragment Offset (13) |Res|M| Identification (32) |
//! Authentication header (51): | Next Header | Payload Len (4-octet units - 2) |
//! ```

use crate::error::{be16, put16, Error, Layer, Result};
use std::net::Ipv6Addr;

pub const HEADER_LEN: usize = 40;

/// Next Header values for extension headers this crate walks over.
pub mod next_header {
    pub const HOP_BY_HOP: u8 = 0;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AUTH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const NO_NEXT: u8 = 59;
    pub const DEST_OPTS: u8 = 60;
}

/// Upper bound on extension headers walked before giving up.
const MAX_EXTENSION_HEADERS: usize = 8;

/// Where the upper-layer header of a packet starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    /// Protocol number of the upper layer (after all extension headers).
    pub protocol: u8,
    /// Offset of the upper-layer header from the start of the IPv6 header.
    pub offset: usize,
    /// A Fragment header with a non-zero offset was seen: the upper-layer
    /// header is in another fragment and `offset` points at payload bytes.
    pub non_first_fragment: bool,
    /// A Fragment header was seen at all.
    pub fragmented: bool,
}

/// Zero-copy view of an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Checks the fixed header is present, version is 6 and the payload
    /// length fits in the buffer (trailing bytes are link padding). Jumbo
    /// payloads (length 0 with a Hop-by-Hop Jumbo option) are rejected.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self { buffer };
        let b = p.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::truncated(Layer::Ipv6, HEADER_LEN, b.len()));
        }
        let version = b[0] >> 4;
        if version != 6 {
            return Err(Error::BadVersion {
                layer: Layer::Ipv6,
                version,
            });
        }
        let total = HEADER_LEN + usize::from(p.payload_len());
        if total > b.len() {
            return Err(Error::truncated(Layer::Ipv6, total, b.len()));
        }
        Ok(p)
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        let b = self.buffer.as_ref();
        (b[0] << 4) | (b[1] >> 4)
    }
    #[inline]
    pub fn flow_label(&self) -> u32 {
        let b = self.buffer.as_ref();
        (u32::from(b[1] & 0x0f) << 16) | (u32::from(b[2]) << 8) | u32::from(b[3])
    }
    #[inline]
    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }
    /// Header plus payload (without link padding).
    #[inline]
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.payload_len())
    }
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[6]
    }
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[7]
    }
    #[inline]
    pub fn src(&self) -> Ipv6Addr {
        addr_at(self.buffer.as_ref(), 8)
    }
    #[inline]
    pub fn dst(&self) -> Ipv6Addr {
        addr_at(self.buffer.as_ref(), 24)
    }
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.total_len()]
    }

    /// Walks the extension-header chain (at most 8 headers, each bounded by
    /// the payload length) and returns where the upper layer starts. ESP
    /// and "No Next Header" end the walk and are returned as the protocol.
    #[inline]
    pub fn upper_layer(&self) -> Result<UpperLayer> {
        let b = &self.buffer.as_ref()[..self.total_len()];
        let mut nh = self.next_header();
        let mut off = HEADER_LEN;
        let mut fragmented = false;
        let mut non_first_fragment = false;
        for _ in 0..MAX_EXTENSION_HEADERS {
            let len = match nh {
                next_header::HOP_BY_HOP | next_header::ROUTING | next_header::DEST_OPTS => {
                    if nh == next_header::HOP_BY_HOP && off != HEADER_LEN {
                        return Err(Error::BadField {
                            layer: Layer::Ipv6Extension,
                            field: "hop-by-hop header not first",
                        });
                    }
                    need(b, off, 2)?;
                    (usize::from(b[off + 1]) + 1) * 8
                }
                next_header::FRAGMENT => {
                    need(b, off, 8)?;
                    fragmented = true;
                    if be16(b, off + 2) & 0xfff8 != 0 {
                        non_first_fragment = true;
                    }
                    8
                }
                next_header::AUTH => {
                    need(b, off, 2)?;
                    (usize::from(b[off + 1]) + 2) * 4
                }
                proto => {
                    return Ok(UpperLayer {
                        protocol: proto,
                        offset: off,
                        non_first_fragment,
                        fragmented,
                    })
                }
            };
            need(b, off, len)?;
            nh = b[off];
            off += len;
            if non_first_fragment {
                return Ok(UpperLayer {
                    protocol: nh,
                    offset: off,
                    non_first_fragment,
                    fragmented,
                });
            }
        }
        Err(Error::Unsupported {
            layer: Layer::Ipv6Extension,
            field: "more than 8 extension headers",
        })
    }
}

fn need(b: &[u8], off: usize, len: usize) -> Result<()> {
    let end = off.checked_add(len).ok_or(Error::BadLength {
        layer: Layer::Ipv6Extension,
        value: len,
    })?;
    if end > b.len() {
        return Err(Error::truncated(Layer::Ipv6Extension, end, b.len()));
    }
    Ok(())
}

pub(crate) fn addr_at(b: &[u8], at: usize) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[at..at + 16]);
    Ipv6Addr::from(o)
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    #[inline]
    pub fn set_hop_limit(&mut self, h: u8) {
        self.buffer.as_mut()[7] = h;
    }
    #[inline]
    pub fn set_src(&mut self, a: &Ipv6Addr) {
        self.buffer.as_mut()[8..24].copy_from_slice(&a.octets());
    }
    #[inline]
    pub fn set_dst(&mut self, a: &Ipv6Addr) {
        self.buffer.as_mut()[24..40].copy_from_slice(&a.octets());
    }
    #[inline]
    pub fn set_payload_len(&mut self, len: u16) {
        put16(self.buffer.as_mut(), 4, len);
    }
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let t = self.total_len();
        &mut self.buffer.as_mut()[HEADER_LEN..t]
    }
}

/// Typed fixed IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
    pub payload_len: usize,
}

impl Ipv6Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) -> Result<Self> {
        Ok(Self {
            src: p.src(),
            dst: p.dst(),
            next_header: p.next_header(),
            hop_limit: p.hop_limit(),
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
            payload_len: usize::from(p.payload_len()),
        })
    }

    /// Writes the 40-byte fixed header at the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        if buf.len() < HEADER_LEN {
            return Err(Error::truncated(Layer::Ipv6, HEADER_LEN, buf.len()));
        }
        let len = u16::try_from(self.payload_len).map_err(|_| Error::BadLength {
            layer: Layer::Ipv6,
            value: self.payload_len,
        })?;
        if self.flow_label > 0x000f_ffff {
            return Err(Error::BadField {
                layer: Layer::Ipv6,
                field: "flow label",
            });
        }
        let word = (6u32 << 28) | (u32::from(self.traffic_class) << 20) | self.flow_label;
        buf[0..4].copy_from_slice(&word.to_be_bytes());
        put16(buf, 4, len);
        buf[6] = self.next_header;
        buf[7] = self.hop_limit;
        buf[8..24].copy_from_slice(&self.src.octets());
        buf[24..40].copy_from_slice(&self.dst.octets());
        Ok(())
    }
}

/// RFC 4291 §2.7.1: the solicited-node multicast address ff02::1:ffXX:XXXX
/// for `addr`.
pub fn solicited_node(addr: &Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// RFC 4291 §2.5.1 / RFC 2464 §4: the link-local address fe80::/64 with
/// the modified EUI-64 interface identifier derived from `mac`.
pub fn link_local_from_mac(mac: [u8; 6]) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([mac[0] ^ 0x02, mac[1]]),
        u16::from_be_bytes([mac[2], 0xff]),
        u16::from_be_bytes([0xfe, mac[3]]),
        u16::from_be_bytes([mac[4], mac[5]]),
    )
}

/// fe80::/10.
pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(nh: u8, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN + payload.len()];
        Ipv6Repr {
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8::2".parse().unwrap(),
            next_header: nh,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
            payload_len: payload.len(),
        }
        .emit(&mut b)
        .unwrap();
        b[HEADER_LEN..].copy_from_slice(payload);
        b
    }

    #[test]
    fn walks_extension_headers() {
        // Hop-by-hop (8 B) -> Dest opts (16 B) -> UDP.
        let mut pl = vec![next_header::DEST_OPTS, 0, 1, 4, 0, 0, 0, 0];
        pl.extend_from_slice(&[
            next_header::UDP,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ]);
        pl.extend_from_slice(&[0u8; 8]);
        let b = header(next_header::HOP_BY_HOP, &pl);
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        let ul = p.upper_layer().unwrap();
        assert_eq!(
            (ul.protocol, ul.offset, ul.fragmented),
            (next_header::UDP, 64, false)
        );
    }

    #[test]
    fn non_first_fragment_is_flagged() {
        let pl = [next_header::ICMPV6, 0, 0x00, 0x08, 0, 0, 0, 1, 9, 9];
        let b = header(next_header::FRAGMENT, &pl);
        let ul = Ipv6Packet::new_checked(&b[..])
            .unwrap()
            .upper_layer()
            .unwrap();
        assert!(ul.non_first_fragment && ul.fragmented);
    }

    #[test]
    fn rejects_truncated_extension_and_late_hop_by_hop() {
        let b = header(next_header::ROUTING, &[next_header::UDP, 3, 0, 0]);
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        assert!(matches!(
            p.upper_layer(),
            Err(Error::Truncated {
                layer: Layer::Ipv6Extension,
                ..
            })
        ));
        let b = header(
            next_header::DEST_OPTS,
            &[0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0],
        );
        assert!(Ipv6Packet::new_checked(&b[..])
            .unwrap()
            .upper_layer()
            .is_err());
        let mut short = header(next_header::UDP, &[0u8; 8]);
        short.truncate(45);
        assert!(matches!(
            Ipv6Packet::new_checked(&short[..]),
            Err(Error::Truncated { need: 48, .. })
        ));
        assert!(Ipv6Packet::new_checked(&short[..39]).is_err());
    }

    #[test]
    fn address_helpers() {
        let ll = link_local_from_mac([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(ll, "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap());
        assert!(is_link_local(&ll));
        let sn = solicited_node(&"2001:db8::1:2:3".parse().unwrap());
        assert_eq!(sn, "ff02::1:ff02:3".parse::<Ipv6Addr>().unwrap());
    }

    proptest! {
        #[test]
        fn roundtrip(src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), nh in any::<u8>(), hl in any::<u8>(),
                     tc in any::<u8>(), fl in 0u32..0x10_0000, len in 0usize..64) {
            let r = Ipv6Repr { src: src.into(), dst: dst.into(), next_header: nh, hop_limit: hl,
                               traffic_class: tc, flow_label: fl, payload_len: len };
            let mut b = vec![0u8; HEADER_LEN + len];
            r.emit(&mut b).unwrap();
            let p = Ipv6Packet::new_checked(&b[..]).unwrap();
            prop_assert_eq!(Ipv6Repr::parse(&p).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Ok(p) = Ipv6Packet::new_checked(&b[..]) {
                let _ = p.upper_layer();
                let _ = Ipv6Repr::parse(&p);
            }
        }
    }
}
