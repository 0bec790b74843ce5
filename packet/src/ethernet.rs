//! Ethernet II frames (IEEE 802.3 clause 3.2.6 "Length/Type" >= 0x0600) with
//! at most one IEEE 802.1Q tag.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Destination MAC (6 octets)                   |
//! +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                     Source MAC (6 octets)                     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   EtherType (or 0x8100)       | [PCP|DEI| VID (12) ] if 8100  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | [inner EtherType if tagged]   |  payload ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::error::{be16, put16, Error, Layer, Result};
use std::fmt;

pub const HEADER_LEN: usize = 14;
pub const VLAN_TAG_LEN: usize = 4;

/// EtherType values this crate knows.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86dd;
    pub const QINQ: u16 = 0x88a8;
}

/// A 48-bit IEEE MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    #[inline]
    pub fn is_broadcast(&self) -> bool {
        self.0 == [0xff; 6]
    }
    /// The I/G bit: group (multicast or broadcast) address.
    #[inline]
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
    #[inline]
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }
    /// RFC 2464 §7: the Ethernet group address for an IPv6 multicast address
    /// is 33:33 followed by its last four octets.
    pub fn from_ipv6_multicast(addr: &std::net::Ipv6Addr) -> MacAddr {
        let o = addr.octets();
        MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Zero-copy view of an Ethernet II frame, optionally 802.1Q tagged.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps `buffer` without checks; accessors may panic on short input.
    /// Use [`Self::new_checked`] on untrusted bytes.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Checks the frame holds the full header (incl. the 802.1Q tag when the
    /// outer EtherType says so) and that the type field is an EtherType
    /// rather than an 802.3 length. Stacked tags (QinQ) are rejected.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let f = Self { buffer };
        let len = f.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::truncated(Layer::Ethernet, HEADER_LEN, len));
        }
        let outer = be16(f.buffer.as_ref(), 12);
        if outer == ethertype::VLAN {
            let need = HEADER_LEN + VLAN_TAG_LEN;
            if len < need {
                return Err(Error::truncated(Layer::Vlan, need, len));
            }
            let inner = be16(f.buffer.as_ref(), 16);
            if inner == ethertype::VLAN || inner == ethertype::QINQ {
                return Err(Error::Unsupported {
                    layer: Layer::Vlan,
                    field: "stacked tags",
                });
            }
            if inner < 0x0600 {
                return Err(Error::BadField {
                    layer: Layer::Vlan,
                    field: "inner ethertype",
                });
            }
        } else if outer == ethertype::QINQ {
            return Err(Error::Unsupported {
                layer: Layer::Ethernet,
                field: "802.1ad tag",
            });
        } else if outer < 0x0600 {
            return Err(Error::BadField {
                layer: Layer::Ethernet,
                field: "ethertype (802.3 length)",
            });
        }
        Ok(f)
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn dst(&self) -> MacAddr {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buffer.as_ref()[0..6]);
        MacAddr(m)
    }

    #[inline]
    pub fn src(&self) -> MacAddr {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buffer.as_ref()[6..12]);
        MacAddr(m)
    }

    fn is_tagged(&self) -> bool {
        be16(self.buffer.as_ref(), 12) == ethertype::VLAN
    }

    /// The 12-bit VLAN ID when the frame carries an 802.1Q tag.
    #[inline]
    pub fn vlan_id(&self) -> Option<u16> {
        self.is_tagged()
            .then(|| be16(self.buffer.as_ref(), 14) & 0x0fff)
    }

    /// The EtherType of the payload (inside the tag if tagged).
    #[inline(always)]
    pub fn ethertype(&self) -> u16 {
        if self.is_tagged() {
            be16(self.buffer.as_ref(), 16)
        } else {
            be16(self.buffer.as_ref(), 12)
        }
    }

    /// Length of the L2 header: 14, or 18 with a tag.
    #[inline]
    pub fn header_len(&self) -> usize {
        if self.is_tagged() {
            HEADER_LEN + VLAN_TAG_LEN
        } else {
            HEADER_LEN
        }
    }

    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    #[inline]
    pub fn set_dst(&mut self, m: MacAddr) {
        self.buffer.as_mut()[0..6].copy_from_slice(&m.0);
    }
    #[inline]
    pub fn set_src(&mut self, m: MacAddr) {
        self.buffer.as_mut()[6..12].copy_from_slice(&m.0);
    }
    /// Sets the payload EtherType (inside the tag if tagged).
    #[inline]
    pub fn set_ethertype(&mut self, t: u16) {
        let at = if self.is_tagged() { 16 } else { 12 };
        put16(self.buffer.as_mut(), at, t);
    }
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let h = self.header_len();
        &mut self.buffer.as_mut()[h..]
    }
}

/// Typed Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    pub dst: MacAddr,
    pub src: MacAddr,
    pub vlan_id: Option<u16>,
    pub ethertype: u16,
}

impl EthernetRepr {
    pub fn parse<T: AsRef<[u8]>>(f: &EthernetFrame<T>) -> Result<Self> {
        Ok(Self {
            dst: f.dst(),
            src: f.src(),
            vlan_id: f.vlan_id(),
            ethertype: f.ethertype(),
        })
    }

    pub fn header_len(&self) -> usize {
        if self.vlan_id.is_some() {
            HEADER_LEN + VLAN_TAG_LEN
        } else {
            HEADER_LEN
        }
    }

    /// Writes the header into the first `header_len()` bytes of `buf`.
    /// Fails (writing nothing) when `buf` is shorter, or the VLAN ID does not
    /// fit in 12 bits, or the EtherType is an 802.3 length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        if buf.len() < self.header_len() {
            return Err(Error::truncated(
                Layer::Ethernet,
                self.header_len(),
                buf.len(),
            ));
        }
        if self.ethertype < 0x0600 {
            return Err(Error::BadField {
                layer: Layer::Ethernet,
                field: "ethertype",
            });
        }
        buf[0..6].copy_from_slice(&self.dst.0);
        buf[6..12].copy_from_slice(&self.src.0);
        match self.vlan_id {
            Some(vid) if vid > 0x0fff => {
                return Err(Error::BadField {
                    layer: Layer::Vlan,
                    field: "vlan id",
                })
            }
            Some(vid) => {
                put16(buf, 12, ethertype::VLAN);
                put16(buf, 14, vid);
                put16(buf, 16, self.ethertype);
            }
            None => put16(buf, 12, self.ethertype),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_short_and_802_3_and_qinq() {
        assert!(matches!(
            EthernetFrame::new_checked(&[0u8; 13][..]),
            Err(Error::Truncated {
                layer: Layer::Ethernet,
                ..
            })
        ));
        let mut b = [0u8; 20];
        b[12..14].copy_from_slice(&0x05dcu16.to_be_bytes());
        assert!(EthernetFrame::new_checked(&b[..]).is_err());
        b[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
        assert!(matches!(
            EthernetFrame::new_checked(&b[..17]),
            Err(Error::Truncated {
                layer: Layer::Vlan,
                ..
            })
        ));
        b[16..18].copy_from_slice(&0x8100u16.to_be_bytes());
        assert!(EthernetFrame::new_checked(&b[..]).is_err());
    }

    #[test]
    fn reads_tagged_frame() {
        let mut b = [0u8; 18];
        let r = EthernetRepr {
            dst: MacAddr::BROADCAST,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            vlan_id: Some(100),
            ethertype: ethertype::IPV6,
        };
        r.emit(&mut b).unwrap();
        let f = EthernetFrame::new_checked(&b[..]).unwrap();
        assert_eq!(f.vlan_id(), Some(100));
        assert_eq!(f.ethertype(), ethertype::IPV6);
        assert_eq!(f.header_len(), 18);
        assert!(f.dst().is_broadcast());
    }

    proptest! {
        #[test]
        fn roundtrip(dst in any::<[u8; 6]>(), src in any::<[u8; 6]>(),
                     vid in proptest::option::of(0u16..4096), et in 0x0600u16..) {
            prop_assume!(et != ethertype::VLAN && et != ethertype::QINQ);
            let r = EthernetRepr { dst: MacAddr(dst), src: MacAddr(src), vlan_id: vid, ethertype: et };
            let mut b = [0u8; 18];
            r.emit(&mut b).unwrap();
            let f = EthernetFrame::new_checked(&b[..r.header_len()]).unwrap();
            prop_assert_eq!(EthernetRepr::parse(&f).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(f) = EthernetFrame::new_checked(&b[..]) {
                let _ = EthernetRepr::parse(&f);
                let _ = f.payload();
            }
        }
    }
}
