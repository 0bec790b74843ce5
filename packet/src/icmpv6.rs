//! ICMPv6 (RFC 4443): echo request/reply, destination unreachable, packet
//! too big, time exceeded; Neighbor Discovery messages (RFC 4861) are
//! decoded by [`crate::ndp`]. The checksum covers the IPv6 pseudo header
//! (RFC 4443 §2.3, RFC 8200 §8.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | echo: Identifier              | Sequence Number               |
//! | packet too big: MTU (32)                                      |
//! | unreachable / time exceeded: unused (32)                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | echo data, or as much of the invoking packet as fits in 1280  |
//! ```

use crate::checksum;
use crate::error::{be16, be32, put16, put32, Error, Layer, Result};
use crate::ipv6::next_header;
use crate::ndp::NdpRepr;
use std::net::Ipv6Addr;

pub const HEADER_LEN: usize = 8;

pub mod msg_type {
    pub const DST_UNREACHABLE: u8 = 1;
    pub const PACKET_TOO_BIG: u8 = 2;
    pub const TIME_EXCEEDED: u8 = 3;
    pub const PARAM_PROBLEM: u8 = 4;
    pub const ECHO_REQUEST: u8 = 128;
    pub const ECHO_REPLY: u8 = 129;
    pub const ROUTER_SOLICIT: u8 = 133;
    pub const ROUTER_ADVERT: u8 = 134;
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    pub const NEIGHBOR_ADVERT: u8 = 136;
    pub const REDIRECT: u8 = 137;
}

/// RFC 4443 §3.1 codes.
pub mod unreach_code {
    pub const NO_ROUTE: u8 = 0;
    pub const ADMIN_PROHIBITED: u8 = 1;
    pub const ADDRESS: u8 = 3;
    pub const PORT: u8 = 4;
}

/// RFC 4443 §3.3 codes.
pub mod time_exceeded_code {
    pub const HOP_LIMIT: u8 = 0;
    pub const REASSEMBLY: u8 = 1;
}

/// RFC 4443 §2.1: types 0–127 are errors.
pub fn is_error_type(t: u8) -> bool {
    t < 128
}

/// Zero-copy view of an ICMPv6 message (the upper-layer payload).
#[derive(Debug, Clone)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let len = buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::truncated(Layer::Icmpv6, HEADER_LEN, len));
        }
        Ok(Self { buffer })
    }
    pub fn buffer(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[0]
    }
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[1]
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    pub fn echo_ident(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }
    pub fn echo_seq(&self) -> u16 {
        be16(self.buffer.as_ref(), 6)
    }
    pub fn rest_of_header(&self) -> u32 {
        be32(self.buffer.as_ref(), 4)
    }
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let b = self.buffer.as_ref();
        let Ok(len) = u32::try_from(b.len()) else {
            return false;
        };
        let s = checksum::combine(
            checksum::pseudo_header_v6(src, dst, next_header::ICMPV6, len),
            checksum::sum(b),
        );
        checksum::fold(s) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    pub fn set_msg_type(&mut self, t: u8) {
        self.buffer.as_mut()[0] = t;
    }
    pub fn set_code(&mut self, c: u8) {
        self.buffer.as_mut()[1] = c;
    }
    pub fn set_checksum(&mut self, c: u16) {
        put16(self.buffer.as_mut(), 2, c);
    }
    pub fn set_rest_of_header(&mut self, v: u32) {
        put32(self.buffer.as_mut(), 4, v);
    }
    /// Recomputes the checksum over pseudo header and the whole buffer.
    /// Buffers longer than 4 GiB cannot occur (IPv6 payloads are < 64 KiB).
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        let s = checksum::combine(
            checksum::pseudo_header_v6(src, dst, next_header::ICMPV6, len),
            checksum::sum(b),
        );
        self.set_checksum(checksum::finish(s));
    }
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
}

/// Typed ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv6Repr<'a> {
    EchoRequest {
        ident: u16,
        seq: u16,
        data: &'a [u8],
    },
    EchoReply {
        ident: u16,
        seq: u16,
        data: &'a [u8],
    },
    DstUnreachable {
        code: u8,
        data: &'a [u8],
    },
    PacketTooBig {
        mtu: u32,
        data: &'a [u8],
    },
    TimeExceeded {
        code: u8,
        data: &'a [u8],
    },
    Ndp(NdpRepr),
}

impl<'a> Icmpv6Repr<'a> {
    /// Verifies the checksum (with the pseudo header of `src`/`dst`) and
    /// decodes the supported types. NDP messages get the RFC 4861 §7.1
    /// validity checks that do not depend on the IP header (code 0, length,
    /// target not multicast, option lengths); the hop-limit-255 check and
    /// the unspecified-source rules are up to the caller, who has the
    /// IP header.
    pub fn parse(src: &Ipv6Addr, dst: &Ipv6Addr, p: &'a Icmpv6Packet<&'a [u8]>) -> Result<Self> {
        if !p.verify_checksum(src, dst) {
            return Err(Error::BadChecksum {
                layer: Layer::Icmpv6,
            });
        }
        let data = &p.buffer[HEADER_LEN..];
        let echo_code = || {
            if p.code() == 0 {
                Ok(())
            } else {
                Err(Error::BadField {
                    layer: Layer::Icmpv6,
                    field: "echo code",
                })
            }
        };
        match p.msg_type() {
            msg_type::ECHO_REQUEST => {
                echo_code()?;
                Ok(Self::EchoRequest {
                    ident: p.echo_ident(),
                    seq: p.echo_seq(),
                    data,
                })
            }
            msg_type::ECHO_REPLY => {
                echo_code()?;
                Ok(Self::EchoReply {
                    ident: p.echo_ident(),
                    seq: p.echo_seq(),
                    data,
                })
            }
            msg_type::DST_UNREACHABLE => Ok(Self::DstUnreachable {
                code: p.code(),
                data,
            }),
            msg_type::PACKET_TOO_BIG => Ok(Self::PacketTooBig {
                mtu: p.rest_of_header(),
                data,
            }),
            msg_type::TIME_EXCEEDED => Ok(Self::TimeExceeded {
                code: p.code(),
                data,
            }),
            msg_type::NEIGHBOR_SOLICIT | msg_type::NEIGHBOR_ADVERT => {
                Ok(Self::Ndp(NdpRepr::parse(p)?))
            }
            _ => Err(Error::Unsupported {
                layer: Layer::Icmpv6,
                field: "message type",
            }),
        }
    }

    pub fn buffer_len(&self) -> usize {
        match self {
            Self::EchoRequest { data, .. }
            | Self::EchoReply { data, .. }
            | Self::DstUnreachable { data, .. }
            | Self::PacketTooBig { data, .. }
            | Self::TimeExceeded { data, .. } => HEADER_LEN + data.len(),
            Self::Ndp(n) => n.buffer_len(),
        }
    }

    /// Writes the message and its checksum into `buf[..buffer_len()]`.
    pub fn emit(&self, src: &Ipv6Addr, dst: &Ipv6Addr, buf: &mut [u8]) -> Result<()> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::truncated(Layer::Icmpv6, len, buf.len()));
        }
        let buf = &mut buf[..len];
        let (t, c, rest, data) = match *self {
            Self::EchoRequest { ident, seq, data } => (
                msg_type::ECHO_REQUEST,
                0,
                (u32::from(ident) << 16) | u32::from(seq),
                data,
            ),
            Self::EchoReply { ident, seq, data } => (
                msg_type::ECHO_REPLY,
                0,
                (u32::from(ident) << 16) | u32::from(seq),
                data,
            ),
            Self::DstUnreachable { code, data } => (msg_type::DST_UNREACHABLE, code, 0, data),
            Self::PacketTooBig { mtu, data } => (msg_type::PACKET_TOO_BIG, 0, mtu, data),
            Self::TimeExceeded { code, data } => (msg_type::TIME_EXCEEDED, code, 0, data),
            Self::Ndp(n) => {
                n.emit_body(buf)?;
                Icmpv6Packet::new_unchecked(buf).fill_checksum(src, dst);
                return Ok(());
            }
        };
        let mut p = Icmpv6Packet::new_unchecked(buf);
        p.set_msg_type(t);
        p.set_code(c);
        p.set_rest_of_header(rest);
        p.data_mut().copy_from_slice(data);
        p.fill_checksum(src, dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addrs() -> (Ipv6Addr, Ipv6Addr) {
        (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        )
    }

    #[test]
    fn checksum_binds_pseudo_header() {
        let (s, d) = addrs();
        let r = Icmpv6Repr::EchoRequest {
            ident: 7,
            seq: 9,
            data: b"ping",
        };
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(&s, &d, &mut b).unwrap();
        let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Icmpv6Repr::parse(&s, &d, &p).unwrap(), r);
        assert_eq!(Icmpv6Repr::parse(&d, &s, &p).unwrap(), r); // symmetric sum
        let other: Ipv6Addr = "2001:db8::3".parse().unwrap();
        assert_eq!(
            Icmpv6Repr::parse(&s, &other, &p),
            Err(Error::BadChecksum {
                layer: Layer::Icmpv6
            })
        );
    }

    fn make(kind: u8, a: u16, b: u16, code: u8, data: &[u8]) -> Icmpv6Repr<'_> {
        match kind % 5 {
            0 => Icmpv6Repr::EchoRequest {
                ident: a,
                seq: b,
                data,
            },
            1 => Icmpv6Repr::EchoReply {
                ident: a,
                seq: b,
                data,
            },
            2 => Icmpv6Repr::DstUnreachable { code, data },
            3 => Icmpv6Repr::PacketTooBig {
                mtu: (u32::from(a) << 16) | u32::from(b),
                data,
            },
            _ => Icmpv6Repr::TimeExceeded { code, data },
        }
    }

    proptest! {
        #[test]
        fn roundtrip(kind in any::<u8>(), a in any::<u16>(), b2 in any::<u16>(), code in any::<u8>(),
                     data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let (s, d) = addrs();
            let r = make(kind, a, b2, code, &data);
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&s, &d, &mut b).unwrap();
            let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
            prop_assert_eq!(Icmpv6Repr::parse(&s, &d, &p).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let (s, d) = addrs();
            if let Ok(p) = Icmpv6Packet::new_checked(&b[..]) {
                let _ = Icmpv6Repr::parse(&s, &d, &p);
                let _ = crate::ndp::NdpRepr::parse(&p);
            }
        }
    }
}
