//! Who sent a received tunnel packet ([`OuterSource`]), in the form the
//! per-packet decap path carries it.

use std::net::IpAddr;

/// Who sent a received tunnel packet: outer source address and, for ESP in
/// UDP, the UDP source port (a NAT's mapped port, RFC 3948 §3).
///
/// Held as two machine words, because every ESP packet carries one from
/// the outer header to the SA: the address as one `u128` (an IPv4 address
/// mapped into ::ffff:0:0/96, RFC 4291 §2.5.5.2) and the family and port
/// in `meta`. An `IpAddr` (a 1-byte tag and 4 or 16 unaligned bytes) is
/// built with narrow stores and copied with wide overlapping loads, which
/// the CPU cannot forward from those stores: perf put about a quarter of
/// the decap stage's samples on two such copies (the loop bench's time
/// hardly moved when they went; out-of-order execution hid most of it).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OuterSource {
    addr: u128,
    /// [`META_V6`] | [`META_PORT`] | the UDP port (low 16 bits).
    meta: u32,
}

const META_V6: u32 = 1 << 17;
const META_PORT: u32 = 1 << 16;
const V4_MAPPED: u128 = 0xffff << 32;

impl OuterSource {
    pub fn new(addr: IpAddr, udp_port: Option<u16>) -> Self {
        match addr {
            IpAddr::V4(a) => Self::v4(a.octets(), udp_port),
            IpAddr::V6(a) => Self::v6(a.octets(), udp_port),
        }
    }
    /// From the source field of an IPv4 header.
    #[inline(always)]
    pub(super) fn v4(octets: [u8; 4], udp_port: Option<u16>) -> Self {
        Self {
            addr: V4_MAPPED | u128::from(u32::from_be_bytes(octets)),
            meta: udp_port.map_or(0, |p| META_PORT | u32::from(p)),
        }
    }
    /// From the source field of an IPv6 header.
    #[inline(always)]
    pub(super) fn v6(octets: [u8; 16], udp_port: Option<u16>) -> Self {
        Self {
            addr: u128::from_be_bytes(octets),
            meta: META_V6 | udp_port.map_or(0, |p| META_PORT | u32::from(p)),
        }
    }
    pub fn addr(&self) -> IpAddr {
        if self.meta & META_V6 != 0 {
            IpAddr::from(self.addr.to_be_bytes())
        } else {
            // The low 32 bits of an IPv4-mapped address.
            IpAddr::from((self.addr as u32).to_be_bytes())
        }
    }
    pub fn udp_port(&self) -> Option<u16> {
        (self.meta & META_PORT != 0).then_some(self.meta as u16)
    }
    /// Same address (and family) as `other`; ports are not compared.
    #[inline(always)]
    pub fn same_host(&self, other: &Self) -> bool {
        self.addr == other.addr && (self.meta ^ other.meta) & META_V6 == 0
    }
}

impl std::fmt::Debug for OuterSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OuterSource")
            .field("addr", &self.addr())
            .field("udp_port", &self.udp_port())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn outer_source_keeps_address_family_and_port() {
        let v4: IpAddr = Ipv4Addr::new(192, 0, 2, 1).into();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse::<Ipv6Addr>().unwrap().into();
        let v6: IpAddr = "2001:db8::1".parse::<Ipv6Addr>().unwrap().into();
        for (a, port) in [(v4, Some(4500)), (mapped, None), (v6, Some(0)), (v6, None)] {
            let s = OuterSource::new(a, port);
            assert_eq!((s.addr(), s.udp_port()), (a, port));
            assert!(s.same_host(&OuterSource::new(a, Some(1))));
        }
        // An IPv4 address and its IPv4-mapped IPv6 form are different
        // outer sources (different families on the wire).
        let (s4, s6) = (OuterSource::new(v4, None), OuterSource::new(mapped, None));
        assert!(!s4.same_host(&s6));
        assert_ne!(s4, s6);
        assert_eq!(
            OuterSource::v4([192, 0, 2, 1], Some(7)),
            OuterSource::new(v4, Some(7))
        );
        assert_eq!(
            format!("{s4:?}"),
            "OuterSource { addr: 192.0.2.1, udp_port: None }"
        );
    }
}
