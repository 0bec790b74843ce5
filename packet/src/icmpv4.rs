//! ICMP for IPv4 (RFC 792): echo request/reply, destination unreachable
//! (incl. "fragmentation needed" with the next-hop MTU of RFC 1191 §4) and
//! time exceeded.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | echo: Identifier              | Sequence Number               |
//! | unreach code 4: unused (16)   | Next-Hop MTU                  |
//! | time exceeded: unused (32)                                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | echo data, or invoking IP header + leading payload bytes ...
//! ```

use crate::checksum;
use crate::error::{be16, be32, put16, put32, Error, Layer, Result};

pub const HEADER_LEN: usize = 8;

pub mod msg_type {
    pub const ECHO_REPLY: u8 = 0;
    pub const DST_UNREACHABLE: u8 = 3;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAM_PROBLEM: u8 = 12;
}

/// Destination unreachable codes used by a router (RFC 792, RFC 1812 §5.2.7.1).
pub mod unreach_code {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
    pub const PROTOCOL: u8 = 2;
    pub const PORT: u8 = 3;
    pub const FRAG_NEEDED: u8 = 4;
    pub const ADMIN_PROHIBITED: u8 = 13;
}

/// Time exceeded codes.
pub mod time_exceeded_code {
    pub const TTL: u8 = 0;
    pub const REASSEMBLY: u8 = 1;
}

/// True for the message types that are errors: a router must never send an
/// ICMP error about one of these (RFC 1812 §4.3.2.7).
pub fn is_error_type(t: u8) -> bool {
    !matches!(t, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)
}

/// Zero-copy view of an ICMPv4 message (the IPv4 payload).
#[derive(Debug, Clone)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let len = buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::truncated(Layer::Icmpv4, HEADER_LEN, len));
        }
        Ok(Self { buffer })
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
    pub fn next_hop_mtu(&self) -> u16 {
        be16(self.buffer.as_ref(), 6)
    }
    /// The 4 bytes after the checksum.
    pub fn rest_of_header(&self) -> u32 {
        be32(self.buffer.as_ref(), 4)
    }
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(self.buffer.as_ref())) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
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
    /// Recomputes the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(c);
    }
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// Typed ICMPv4 message; `data` borrows the message body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv4Repr<'a> {
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
    /// `next_hop_mtu` is meaningful for code 4 (fragmentation needed) only
    /// and zero otherwise.
    DstUnreachable {
        code: u8,
        next_hop_mtu: u16,
        data: &'a [u8],
    },
    TimeExceeded {
        code: u8,
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Verifies the checksum and decodes the four supported types; other
    /// types are `Unsupported`.
    pub fn parse(p: &'a Icmpv4Packet<&'a [u8]>) -> Result<Self> {
        if !p.verify_checksum() {
            return Err(Error::BadChecksum {
                layer: Layer::Icmpv4,
            });
        }
        let data = &p.buffer[HEADER_LEN..];
        let code_zero = || {
            if p.code() == 0 {
                Ok(())
            } else {
                Err(Error::BadField {
                    layer: Layer::Icmpv4,
                    field: "echo code",
                })
            }
        };
        match p.msg_type() {
            msg_type::ECHO_REQUEST => {
                code_zero()?;
                Ok(Self::EchoRequest {
                    ident: p.echo_ident(),
                    seq: p.echo_seq(),
                    data,
                })
            }
            msg_type::ECHO_REPLY => {
                code_zero()?;
                Ok(Self::EchoReply {
                    ident: p.echo_ident(),
                    seq: p.echo_seq(),
                    data,
                })
            }
            msg_type::DST_UNREACHABLE => {
                let next_hop_mtu = if p.code() == unreach_code::FRAG_NEEDED {
                    p.next_hop_mtu()
                } else {
                    0
                };
                Ok(Self::DstUnreachable {
                    code: p.code(),
                    next_hop_mtu,
                    data,
                })
            }
            msg_type::TIME_EXCEEDED => Ok(Self::TimeExceeded {
                code: p.code(),
                data,
            }),
            _ => Err(Error::Unsupported {
                layer: Layer::Icmpv4,
                field: "message type",
            }),
        }
    }

    fn data(&self) -> &'a [u8] {
        match *self {
            Self::EchoRequest { data, .. }
            | Self::EchoReply { data, .. }
            | Self::DstUnreachable { data, .. }
            | Self::TimeExceeded { data, .. } => data,
        }
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Writes header, data and checksum into `buf[..buffer_len()]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::truncated(Layer::Icmpv4, len, buf.len()));
        }
        let (t, c, rest) = match *self {
            Self::EchoRequest { ident, seq, .. } => (
                msg_type::ECHO_REQUEST,
                0,
                (u32::from(ident) << 16) | u32::from(seq),
            ),
            Self::EchoReply { ident, seq, .. } => (
                msg_type::ECHO_REPLY,
                0,
                (u32::from(ident) << 16) | u32::from(seq),
            ),
            Self::DstUnreachable {
                code, next_hop_mtu, ..
            } => (msg_type::DST_UNREACHABLE, code, u32::from(next_hop_mtu)),
            Self::TimeExceeded { code, .. } => (msg_type::TIME_EXCEEDED, code, 0),
        };
        let mut p = Icmpv4Packet::new_unchecked(&mut buf[..len]);
        p.set_msg_type(t);
        p.set_code(c);
        p.set_rest_of_header(rest);
        p.data_mut().copy_from_slice(self.data());
        p.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_checksum_and_unknown_type() {
        let mut b = [0u8; 12];
        Icmpv4Repr::EchoRequest {
            ident: 1,
            seq: 2,
            data: &[1, 2, 3, 4],
        }
        .emit(&mut b)
        .unwrap();
        b[9] ^= 0xff;
        let p = Icmpv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(
            Icmpv4Repr::parse(&p),
            Err(Error::BadChecksum {
                layer: Layer::Icmpv4
            })
        );
        let mut b = [0u8; 8];
        b[0] = 42;
        Icmpv4Packet::new_unchecked(&mut b[..]).fill_checksum();
        let p = Icmpv4Packet::new_checked(&b[..]).unwrap();
        assert!(matches!(
            Icmpv4Repr::parse(&p),
            Err(Error::Unsupported { .. })
        ));
        assert!(Icmpv4Packet::new_checked(&b[..7]).is_err());
    }

    fn make(kind: u8, a: u16, b: u16, code: u8, data: &[u8]) -> Icmpv4Repr<'_> {
        match kind % 4 {
            0 => Icmpv4Repr::EchoRequest {
                ident: a,
                seq: b,
                data,
            },
            1 => Icmpv4Repr::EchoReply {
                ident: a,
                seq: b,
                data,
            },
            2 if code % 5 == 4 => Icmpv4Repr::DstUnreachable {
                code: 4,
                next_hop_mtu: a,
                data,
            },
            2 => Icmpv4Repr::DstUnreachable {
                code: code % 4,
                next_hop_mtu: 0,
                data,
            },
            _ => Icmpv4Repr::TimeExceeded {
                code: code % 2,
                data,
            },
        }
    }

    proptest! {
        #[test]
        fn roundtrip(kind in any::<u8>(), a in any::<u16>(), b2 in any::<u16>(), code in any::<u8>(),
                     data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let r = make(kind, a, b2, code, &data);
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut b).unwrap();
            let p = Icmpv4Packet::new_checked(&b[..]).unwrap();
            prop_assert_eq!(Icmpv4Repr::parse(&p).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = Icmpv4Packet::new_checked(&b[..]) { let _ = Icmpv4Repr::parse(&p); }
        }
    }
}
