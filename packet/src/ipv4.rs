//! IPv4 header (RFC 791 §3.1). Options are kept in the header and skipped;
//! the checksum is verified on demand and kept current across TTL
//! decrements with the RFC 1624 incremental update.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |   DSCP/ECN    |          Total Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Identification        |Flags|      Fragment Offset    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Source Address                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options                    |    Padding    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::checksum;
use crate::error::{be16, put16, Error, Layer, Result};
use std::net::Ipv4Addr;

pub const MIN_HEADER_LEN: usize = 20;
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// IP protocol numbers (IANA) used by this crate.
pub mod protocol {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6_ICMP: u8 = 58;
}

/// Zero-copy view of an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Checks, in order: 20 bytes present, version 4, IHL >= 5, the IHL
    /// header present, Total Length >= header, Total Length <= buffer
    /// (bytes past Total Length are link padding). Does not verify the
    /// checksum: see [`Self::verify_checksum`].
    #[inline(always)]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self { buffer };
        let b = p.buffer.as_ref();
        if b.len() < MIN_HEADER_LEN {
            return Err(Error::truncated(Layer::Ipv4, MIN_HEADER_LEN, b.len()));
        }
        let version = b[0] >> 4;
        if version != 4 {
            return Err(Error::BadVersion {
                layer: Layer::Ipv4,
                version,
            });
        }
        let hl = p.header_len();
        if hl < MIN_HEADER_LEN {
            return Err(Error::BadHeaderLength {
                layer: Layer::Ipv4,
                value: hl,
            });
        }
        if b.len() < hl {
            return Err(Error::truncated(Layer::Ipv4, hl, b.len()));
        }
        let total = p.total_len() as usize;
        if total < hl {
            return Err(Error::BadLength {
                layer: Layer::Ipv4,
                value: total,
            });
        }
        if total > b.len() {
            return Err(Error::truncated(Layer::Ipv4, total, b.len()));
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
    /// IHL in bytes.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[0] & 0x0f) * 4
    }
    #[inline]
    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[1]
    }
    #[inline]
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    #[inline]
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }
    #[inline(always)]
    pub fn dont_frag(&self) -> bool {
        be16(self.buffer.as_ref(), 6) & FLAG_DF != 0
    }
    #[inline(always)]
    pub fn more_frags(&self) -> bool {
        be16(self.buffer.as_ref(), 6) & FLAG_MF != 0
    }
    /// Fragment offset in bytes.
    #[inline(always)]
    pub fn frag_offset(&self) -> usize {
        usize::from(be16(self.buffer.as_ref(), 6) & FRAG_OFFSET_MASK) * 8
    }
    /// True for any fragment (first or later).
    #[inline(always)]
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[8]
    }
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[9]
    }
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 10)
    }
    /// One bounds check and one load (the per-packet paths read both
    /// addresses of every header).
    #[inline(always)]
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr_at(12))
    }
    #[inline(always)]
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr_at(16))
    }
    #[inline(always)]
    fn addr_at(&self, at: usize) -> [u8; 4] {
        let b = self.buffer.as_ref();
        match b.get(at..at + 4) {
            Some(&[w, x, y, z]) => [w, x, y, z],
            _ => panic!("IPv4 header shorter than {} bytes", at + 4),
        }
    }
    /// True when the header checksum verifies. Every received packet, once
    /// or twice (outer and inner header): inlined.
    #[inline(always)]
    pub fn verify_checksum(&self) -> bool {
        let h = &self.buffer.as_ref()[..self.header_len()];
        // The usual header without options as a fixed-size block: five
        // native-order loads, no byte swaps (the one's-complement sum is
        // byte-order independent, RFC 1071 §2 (B), and the all-ones
        // result that verifies reads the same either way).
        let s = match <&[u8; MIN_HEADER_LEN]>::try_from(h) {
            Ok(fixed) => checksum::sum_native(fixed),
            Err(_) => checksum::sum(h),
        };
        checksum::fold(s) == 0xffff
    }
    /// The header bytes (incl. options).
    #[inline]
    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.header_len()]
    }
    /// `header_len..total_len`: the payload without link padding.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[8] = ttl;
    }
    #[inline]
    pub fn set_src(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[12..16].copy_from_slice(&a.octets());
    }
    #[inline]
    pub fn set_dst(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[16..20].copy_from_slice(&a.octets());
    }
    #[inline]
    pub fn set_total_len(&mut self, len: u16) {
        put16(self.buffer.as_mut(), 2, len);
    }
    #[inline]
    pub fn set_checksum(&mut self, c: u16) {
        put16(self.buffer.as_mut(), 10, c);
    }
    /// Recomputes the header checksum from scratch.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(self.header());
        self.set_checksum(c);
    }
    /// Decrements TTL by one and patches the checksum incrementally
    /// (RFC 1624 over the TTL/Protocol word). Returns the new TTL, or `None`
    /// (and changes nothing) when TTL is already 0.
    #[inline]
    pub fn decrement_ttl(&mut self) -> Option<u8> {
        let ttl = self.ttl().checked_sub(1)?;
        let b = self.buffer.as_mut();
        let old = be16(b, 8);
        b[8] = ttl;
        let new = be16(b, 8);
        let c = checksum::update16(be16(b, 10), old, new);
        put16(b, 10, c);
        Some(ttl)
    }
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (h, t) = (self.header_len(), usize::from(self.total_len()));
        &mut self.buffer.as_mut()[h..t]
    }
}

/// Typed IPv4 header without options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub dscp_ecn: u8,
    pub ident: u16,
    pub dont_frag: bool,
    /// Payload length (Total Length minus the header).
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Parses a checked packet; rejects a bad checksum. Options and
    /// fragment fields other than DF are not represented.
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv4Packet<T>) -> Result<Self> {
        if !p.verify_checksum() {
            return Err(Error::BadChecksum { layer: Layer::Ipv4 });
        }
        Ok(Self {
            src: p.src(),
            dst: p.dst(),
            protocol: p.protocol(),
            ttl: p.ttl(),
            dscp_ecn: p.dscp_ecn(),
            ident: p.ident(),
            dont_frag: p.dont_frag(),
            payload_len: usize::from(p.total_len()) - p.header_len(),
        })
    }

    pub fn header_len(&self) -> usize {
        MIN_HEADER_LEN
    }

    /// Writes a 20-byte header with a valid checksum at the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        if buf.len() < MIN_HEADER_LEN {
            return Err(Error::truncated(Layer::Ipv4, MIN_HEADER_LEN, buf.len()));
        }
        let total = self
            .payload_len
            .checked_add(MIN_HEADER_LEN)
            .and_then(|t| u16::try_from(t).ok())
            .ok_or(Error::BadLength {
                layer: Layer::Ipv4,
                value: self.payload_len,
            })?;
        buf[0] = 0x45;
        buf[1] = self.dscp_ecn;
        put16(buf, 2, total);
        put16(buf, 4, self.ident);
        put16(buf, 6, if self.dont_frag { FLAG_DF } else { 0 });
        buf[8] = self.ttl;
        buf[9] = self.protocol;
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..MIN_HEADER_LEN]);
        p.set_src(self.src);
        p.set_dst(self.dst);
        p.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> [u8; 28] {
        let mut b = [0u8; 28];
        Ipv4Repr {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(198, 51, 100, 7),
            protocol: protocol::UDP,
            ttl: 64,
            dscp_ecn: 0,
            ident: 0x1234,
            dont_frag: true,
            payload_len: 8,
        }
        .emit(&mut b)
        .unwrap();
        b
    }

    #[test]
    fn each_malformation_has_its_error() {
        let b = sample();
        assert!(Ipv4Packet::new_checked(&b[..]).unwrap().verify_checksum());
        assert!(matches!(
            Ipv4Packet::new_checked(&b[..19]),
            Err(Error::Truncated { .. })
        ));
        let mut v = b;
        v[0] = 0x65;
        assert!(matches!(
            Ipv4Packet::new_checked(&v[..]),
            Err(Error::BadVersion { version: 6, .. })
        ));
        let mut v = b;
        v[0] = 0x44;
        assert!(matches!(
            Ipv4Packet::new_checked(&v[..]),
            Err(Error::BadHeaderLength { value: 16, .. })
        ));
        let mut v = b;
        v[0] = 0x4f; // 60-byte header in a 28-byte buffer
        assert!(matches!(
            Ipv4Packet::new_checked(&v[..]),
            Err(Error::Truncated { need: 60, .. })
        ));
        let mut v = b;
        v[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert!(matches!(
            Ipv4Packet::new_checked(&v[..]),
            Err(Error::BadLength { .. })
        ));
        let mut v = b;
        v[2..4].copy_from_slice(&29u16.to_be_bytes());
        assert!(matches!(
            Ipv4Packet::new_checked(&v[..]),
            Err(Error::Truncated { need: 29, .. })
        ));
        let mut v = b;
        v[15] ^= 1;
        let p = Ipv4Packet::new_checked(&v[..]).unwrap();
        assert_eq!(
            Ipv4Repr::parse(&p),
            Err(Error::BadChecksum { layer: Layer::Ipv4 })
        );
    }

    #[test]
    fn padding_is_not_payload() {
        let mut b = [0u8; 40];
        b[..28].copy_from_slice(&sample());
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload().len(), 8);
    }

    #[test]
    fn decrement_ttl_keeps_checksum_valid() {
        let mut b = sample();
        for ttl in (0..64).rev() {
            let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
            assert_eq!(p.decrement_ttl(), Some(ttl));
            let inc = p.checksum();
            p.fill_checksum();
            assert_eq!(inc, p.checksum());
        }
        assert_eq!(
            Ipv4Packet::new_checked(&mut b[..]).unwrap().decrement_ttl(),
            None
        );
    }

    proptest! {
        #[test]
        fn roundtrip(src in any::<u32>(), dst in any::<u32>(), proto in any::<u8>(), ttl in any::<u8>(),
                     tos in any::<u8>(), id in any::<u16>(), df in any::<bool>(), len in 0usize..100) {
            let r = Ipv4Repr { src: src.into(), dst: dst.into(), protocol: proto, ttl, dscp_ecn: tos,
                               ident: id, dont_frag: df, payload_len: len };
            let mut b = vec![0u8; 20 + len];
            r.emit(&mut b).unwrap();
            let p = Ipv4Packet::new_checked(&b[..]).unwrap();
            prop_assert_eq!(Ipv4Repr::parse(&p).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Ipv4Packet::new_checked(&b[..]) {
                let _ = Ipv4Repr::parse(&p);
                let _ = (p.payload(), p.is_fragment());
            }
        }
    }
}
