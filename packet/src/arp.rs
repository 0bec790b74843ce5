//! ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses, the
//! only combination a router port speaks.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Hardware type (1)         |    Protocol type (0x0800)     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | HW len (6)    | Proto len (4) |   Operation (1 req, 2 reply)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Sender hardware address (6)                   |
//! +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |  Sender protocol address (4)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                               |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                 Target hardware address (6)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Target protocol address (4)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::error::{be16, put16, Error, Layer, Result};
use crate::ethernet::MacAddr;
use std::net::Ipv4Addr;

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;
const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOperation {
    Request,
    Reply,
}

impl ArpOperation {
    fn code(self) -> u16 {
        match self {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
        }
    }
}

/// Zero-copy view of an ARP packet.
#[derive(Debug, Clone)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Checks length and that the packet is Ethernet/IPv4 with lengths 6/4.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self { buffer };
        let b = p.buffer.as_ref();
        if b.len() < PACKET_LEN {
            return Err(Error::truncated(Layer::Arp, PACKET_LEN, b.len()));
        }
        if be16(b, 0) != HTYPE_ETHERNET || b[4] != 6 {
            return Err(Error::Unsupported {
                layer: Layer::Arp,
                field: "hardware type",
            });
        }
        if be16(b, 2) != PTYPE_IPV4 || b[5] != 4 {
            return Err(Error::Unsupported {
                layer: Layer::Arp,
                field: "protocol type",
            });
        }
        Ok(p)
    }

    pub fn operation_raw(&self) -> u16 {
        be16(self.buffer.as_ref(), 6)
    }
    pub fn operation(&self) -> Result<ArpOperation> {
        match self.operation_raw() {
            1 => Ok(ArpOperation::Request),
            2 => Ok(ArpOperation::Reply),
            _ => Err(Error::Unsupported {
                layer: Layer::Arp,
                field: "operation",
            }),
        }
    }
    fn mac_at(&self, at: usize) -> MacAddr {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buffer.as_ref()[at..at + 6]);
        MacAddr(m)
    }
    fn ip_at(&self, at: usize) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
    }
    pub fn sender_mac(&self) -> MacAddr {
        self.mac_at(8)
    }
    pub fn sender_ip(&self) -> Ipv4Addr {
        self.ip_at(14)
    }
    pub fn target_mac(&self) -> MacAddr {
        self.mac_at(18)
    }
    pub fn target_ip(&self) -> Ipv4Addr {
        self.ip_at(24)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    pub fn set_operation(&mut self, op: ArpOperation) {
        put16(self.buffer.as_mut(), 6, op.code());
    }
    pub fn set_sender(&mut self, mac: MacAddr, ip: Ipv4Addr) {
        let b = self.buffer.as_mut();
        b[8..14].copy_from_slice(&mac.0);
        b[14..18].copy_from_slice(&ip.octets());
    }
    pub fn set_target(&mut self, mac: MacAddr, ip: Ipv4Addr) {
        let b = self.buffer.as_mut();
        b[18..24].copy_from_slice(&mac.0);
        b[24..28].copy_from_slice(&ip.octets());
    }
}

/// Typed Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    pub operation: ArpOperation,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    pub fn parse<T: AsRef<[u8]>>(p: &ArpPacket<T>) -> Result<Self> {
        Ok(Self {
            operation: p.operation()?,
            sender_mac: p.sender_mac(),
            sender_ip: p.sender_ip(),
            target_mac: p.target_mac(),
            target_ip: p.target_ip(),
        })
    }

    /// Writes the 28-byte packet at the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        if buf.len() < PACKET_LEN {
            return Err(Error::truncated(Layer::Arp, PACKET_LEN, buf.len()));
        }
        put16(buf, 0, HTYPE_ETHERNET);
        put16(buf, 2, PTYPE_IPV4);
        buf[4] = 6;
        buf[5] = 4;
        let mut p = ArpPacket::new_unchecked(&mut buf[..PACKET_LEN]);
        p.set_operation(self.operation);
        p.set_sender(self.sender_mac, self.sender_ip);
        p.set_target(self.target_mac, self.target_ip);
        Ok(())
    }

    /// RFC 5227 §2.1.1 / RFC 826: a request or reply announcing the sender's
    /// own binding (sender IP == target IP).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_other_hardware_and_ops() {
        let r = ArpRepr {
            operation: ArpOperation::Request,
            sender_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            sender_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_mac: MacAddr::ZERO,
            target_ip: Ipv4Addr::new(10, 0, 0, 2),
        };
        let mut b = [0u8; PACKET_LEN];
        r.emit(&mut b).unwrap();
        assert!(ArpPacket::new_checked(&b[..27]).is_err());
        let mut bad = b;
        bad[1] = 6; // IEEE 802 hardware type
        assert!(ArpPacket::new_checked(&bad[..]).is_err());
        let mut bad = b;
        bad[7] = 3; // RARP request
        let p = ArpPacket::new_checked(&bad[..]).unwrap();
        assert!(ArpRepr::parse(&p).is_err());
    }

    proptest! {
        #[test]
        fn roundtrip(req in any::<bool>(), sm in any::<[u8; 6]>(), si in any::<u32>(),
                     tm in any::<[u8; 6]>(), ti in any::<u32>()) {
            let r = ArpRepr {
                operation: if req { ArpOperation::Request } else { ArpOperation::Reply },
                sender_mac: MacAddr(sm), sender_ip: si.into(),
                target_mac: MacAddr(tm), target_ip: ti.into(),
            };
            let mut b = [0u8; PACKET_LEN];
            r.emit(&mut b).unwrap();
            let p = ArpPacket::new_checked(&b[..]).unwrap();
            prop_assert_eq!(ArpRepr::parse(&p).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = ArpPacket::new_checked(&b[..]) { let _ = ArpRepr::parse(&p); }
        }
    }
}
