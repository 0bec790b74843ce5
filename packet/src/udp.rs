//! UDP header (RFC 768), checksum over the IPv4 or IPv6 pseudo header
//! (RFC 8200 §8.1: mandatory for IPv6, zero means "none" for IPv4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            Length             |           Checksum            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::checksum;
use crate::error::{be16, put16, Error, Layer, Result};
use crate::ipv4::protocol;
use std::net::IpAddr;

pub const HEADER_LEN: usize = 8;

#[derive(Debug, Clone)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

fn pseudo(src: &IpAddr, dst: &IpAddr, len: u16) -> Result<u32> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            Ok(checksum::pseudo_header_v4(*s, *d, protocol::UDP, len))
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => Ok(checksum::pseudo_header_v6(
            s,
            d,
            protocol::UDP,
            u32::from(len),
        )),
        _ => Err(Error::BadField {
            layer: Layer::Udp,
            field: "mixed address families",
        }),
    }
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    /// Checks the header is present and 8 <= Length <= buffer length.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self { buffer };
        let b = p.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::truncated(Layer::Udp, HEADER_LEN, b.len()));
        }
        let len = usize::from(p.len());
        if len < HEADER_LEN {
            return Err(Error::BadLength {
                layer: Layer::Udp,
                value: len,
            });
        }
        if len > b.len() {
            return Err(Error::truncated(Layer::Udp, len, b.len()));
        }
        Ok(p)
    }
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), 0)
    }
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    /// The Length field (header + data).
    pub fn len(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 6)
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }
    /// Verifies the checksum; an IPv4 datagram with checksum 0 carries none
    /// and passes, an IPv6 one fails.
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        if self.checksum() == 0 {
            return src.is_ipv4();
        }
        let Ok(p) = pseudo(src, dst, self.len()) else {
            return false;
        };
        let s = checksum::combine(
            p,
            checksum::sum(&self.buffer.as_ref()[..usize::from(self.len())]),
        );
        checksum::fold(s) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    pub fn set_src_port(&mut self, v: u16) {
        put16(self.buffer.as_mut(), 0, v);
    }
    pub fn set_dst_port(&mut self, v: u16) {
        put16(self.buffer.as_mut(), 2, v);
    }
    pub fn set_len(&mut self, v: u16) {
        put16(self.buffer.as_mut(), 4, v);
    }
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), 6, v);
    }
    /// Computes the checksum over pseudo header + Length bytes; a computed
    /// 0 is sent as 0xffff (RFC 768).
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) -> Result<()> {
        self.set_checksum(0);
        let len = self.len();
        let p = pseudo(src, dst, len)?;
        let c = checksum::finish(checksum::combine(
            p,
            checksum::sum(&self.buffer.as_ref()[..usize::from(len)]),
        ));
        self.set_checksum(if c == 0 { 0xffff } else { c });
        Ok(())
    }
}

/// Typed UDP header; the payload stays in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: usize,
}

impl UdpRepr {
    /// Parses and verifies the checksum against the given IP addresses.
    pub fn parse<T: AsRef<[u8]>>(p: &UdpPacket<T>, src: &IpAddr, dst: &IpAddr) -> Result<Self> {
        if !p.verify_checksum(src, dst) {
            return Err(Error::BadChecksum { layer: Layer::Udp });
        }
        Ok(Self {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            payload_len: usize::from(p.len()) - HEADER_LEN,
        })
    }

    /// Writes the header into `buf` (which holds header + payload already)
    /// and fills the checksum.
    pub fn emit(&self, buf: &mut [u8], src: &IpAddr, dst: &IpAddr) -> Result<()> {
        let total = self.payload_len.saturating_add(HEADER_LEN);
        let len = u16::try_from(total).map_err(|_| Error::BadLength {
            layer: Layer::Udp,
            value: total,
        })?;
        if buf.len() < total {
            return Err(Error::truncated(Layer::Udp, total, buf.len()));
        }
        let mut p = UdpPacket::new_unchecked(&mut buf[..total]);
        p.set_src_port(self.src_port);
        p.set_dst_port(self.dst_port);
        p.set_len(len);
        p.fill_checksum(src, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn length_checks_and_zero_checksum() {
        let mut b = [0u8; 12];
        let (s, d): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        UdpRepr {
            src_port: 1,
            dst_port: 2,
            payload_len: 4,
        }
        .emit(&mut b, &s, &d)
        .unwrap();
        assert!(UdpPacket::new_checked(&b[..11]).is_err());
        let mut v = b;
        v[5] = 7;
        assert!(matches!(
            UdpPacket::new_checked(&v[..]),
            Err(Error::BadLength { .. })
        ));
        let mut v = b;
        v[6] = 0;
        v[7] = 0;
        assert!(UdpPacket::new_checked(&v[..])
            .unwrap()
            .verify_checksum(&s, &d));
        let (s6, d6): (IpAddr, IpAddr) = ("::1".parse().unwrap(), "::2".parse().unwrap());
        assert!(!UdpPacket::new_checked(&v[..])
            .unwrap()
            .verify_checksum(&s6, &d6));
    }

    proptest! {
        #[test]
        fn roundtrip(sp in any::<u16>(), dp in any::<u16>(), data in proptest::collection::vec(any::<u8>(), 0..40),
                     v6 in any::<bool>()) {
            let (s, d): (IpAddr, IpAddr) = if v6 {
                ("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap())
            } else {
                ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap())
            };
            let r = UdpRepr { src_port: sp, dst_port: dp, payload_len: data.len() };
            let mut b = vec![0u8; 8 + data.len()];
            b[8..].copy_from_slice(&data);
            r.emit(&mut b, &s, &d).unwrap();
            let p = UdpPacket::new_checked(&b[..]).unwrap();
            prop_assert_eq!(UdpRepr::parse(&p, &s, &d).unwrap(), r);
            prop_assert_eq!(p.payload(), &data[..]);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let (s, d): (IpAddr, IpAddr) = ("::1".parse().unwrap(), "::2".parse().unwrap());
            if let Ok(p) = UdpPacket::new_checked(&b[..]) { let _ = UdpRepr::parse(&p, &s, &d); }
        }
    }
}
