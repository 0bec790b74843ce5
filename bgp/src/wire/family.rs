//! Address families (AFI/SAFI, RFC 4760 §3) we speak, and Route
//! Distinguishers (RFC 4364 §4.2).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

pub const AFI_IPV4: u16 = 1;
pub const AFI_IPV6: u16 = 2;
pub const SAFI_UNICAST: u8 = 1;
pub const SAFI_SDWAN: u8 = 74;
pub const SAFI_VPN: u8 = 128;
pub const SAFI_RTC: u8 = 132;

/// The AFI/SAFI pairs this speaker decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    Ipv4Unicast,
    Ipv6Unicast,
    Vpnv4,
    Vpnv6,
    /// Route Target constraint (RFC 4684), AFI 1 / SAFI 132.
    RtConstraint,
    /// SD-WAN edge discovery, SAFI 74, IPv4 node id.
    SdwanV4,
    /// SD-WAN edge discovery, SAFI 74, IPv6 node id.
    SdwanV6,
}

impl Family {
    pub const ALL: [Family; 7] = [
        Family::Ipv4Unicast,
        Family::Ipv6Unicast,
        Family::Vpnv4,
        Family::Vpnv6,
        Family::RtConstraint,
        Family::SdwanV4,
        Family::SdwanV6,
    ];

    /// Families whose routes carry Route Targets that RT-Constraint
    /// (RFC 4684) filters: VPN-IP and SD-WAN edge discovery.
    pub fn is_vpn_like(self) -> bool {
        matches!(
            self,
            Family::Vpnv4 | Family::Vpnv6 | Family::SdwanV4 | Family::SdwanV6
        )
    }

    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Family> {
        Some(match (afi, safi) {
            (AFI_IPV4, SAFI_UNICAST) => Family::Ipv4Unicast,
            (AFI_IPV6, SAFI_UNICAST) => Family::Ipv6Unicast,
            (AFI_IPV4, SAFI_VPN) => Family::Vpnv4,
            (AFI_IPV6, SAFI_VPN) => Family::Vpnv6,
            (AFI_IPV4, SAFI_RTC) => Family::RtConstraint,
            (AFI_IPV4, SAFI_SDWAN) => Family::SdwanV4,
            (AFI_IPV6, SAFI_SDWAN) => Family::SdwanV6,
            _ => return None,
        })
    }

    pub fn afi_safi(self) -> (u16, u8) {
        match self {
            Family::Ipv4Unicast => (AFI_IPV4, SAFI_UNICAST),
            Family::Ipv6Unicast => (AFI_IPV6, SAFI_UNICAST),
            Family::Vpnv4 => (AFI_IPV4, SAFI_VPN),
            Family::Vpnv6 => (AFI_IPV6, SAFI_VPN),
            Family::RtConstraint => (AFI_IPV4, SAFI_RTC),
            Family::SdwanV4 => (AFI_IPV4, SAFI_SDWAN),
            Family::SdwanV6 => (AFI_IPV6, SAFI_SDWAN),
        }
    }

    /// Next hops of VPN families carry an 8-byte zero RD (RFC 4364 §4.3.2).
    pub fn next_hop_has_rd(self) -> bool {
        matches!(self, Family::Vpnv4 | Family::Vpnv6)
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4Unicast => "ipv4-unicast",
            Family::Ipv6Unicast => "ipv6-unicast",
            Family::Vpnv4 => "vpnv4",
            Family::Vpnv6 => "vpnv6",
            Family::RtConstraint => "rt-constraint",
            Family::SdwanV4 => "sdwan-v4",
            Family::SdwanV6 => "sdwan-v6",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Family {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Family::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown address family {s:?}"))
    }
}

/// Route Distinguisher (RFC 4364 §4.2): 2-byte type + 6-byte value.
///
/// ```text
///  type 0: | 0x0000 | ASN (2 B)   | number (4 B) |
///  type 1: | 0x0001 | IPv4 (4 B)  | number (2 B) |
///  type 2: | 0x0002 | ASN (4 B)   | number (2 B) |
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rd(pub [u8; 8]);

impl Rd {
    pub fn rd_type(&self) -> u16 {
        u16::from_be_bytes([self.0[0], self.0[1]])
    }
    pub fn new_as2(asn: u16, n: u32) -> Rd {
        let mut b = [0u8; 8];
        b[2..4].copy_from_slice(&asn.to_be_bytes());
        b[4..8].copy_from_slice(&n.to_be_bytes());
        Rd(b)
    }
    pub fn new_ip(ip: Ipv4Addr, n: u16) -> Rd {
        let mut b = [0u8; 8];
        b[1] = 1;
        b[2..6].copy_from_slice(&ip.octets());
        b[6..8].copy_from_slice(&n.to_be_bytes());
        Rd(b)
    }
    pub fn new_as4(asn: u32, n: u16) -> Rd {
        let mut b = [0u8; 8];
        b[1] = 2;
        b[2..6].copy_from_slice(&asn.to_be_bytes());
        b[6..8].copy_from_slice(&n.to_be_bytes());
        Rd(b)
    }
}

/// Shared by RDs and Route Targets: "ASN:n", "IP:n" or "ASN4:n" text form
/// of a type/value administrator field pair.
pub(crate) fn fmt_admin_value(f: &mut fmt::Formatter<'_>, ty: u8, v: &[u8; 6]) -> fmt::Result {
    match ty {
        0 => write!(
            f,
            "{}:{}",
            u16::from_be_bytes([v[0], v[1]]),
            u32::from_be_bytes([v[2], v[3], v[4], v[5]])
        ),
        1 => write!(
            f,
            "{}:{}",
            Ipv4Addr::new(v[0], v[1], v[2], v[3]),
            u16::from_be_bytes([v[4], v[5]])
        ),
        2 => write!(
            f,
            "{}:{}",
            u32::from_be_bytes([v[0], v[1], v[2], v[3]]),
            u16::from_be_bytes([v[4], v[5]])
        ),
        _ => write!(f, "type{}:{:02x?}", ty, v),
    }
}

/// Parse "ASN:n" / "IP:n" into (type, 6-byte value). A number above 65535
/// before the colon selects the 4-byte-ASN form.
pub(crate) fn parse_admin_value(s: &str) -> Result<(u8, [u8; 6]), String> {
    let (a, n) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?}: expected ADMIN:NUMBER"))?;
    let mut v = [0u8; 6];
    if let Ok(ip) = a.parse::<Ipv4Addr>() {
        let n: u16 = n
            .parse()
            .map_err(|_| format!("{s:?}: number must fit 16 bits"))?;
        v[..4].copy_from_slice(&ip.octets());
        v[4..].copy_from_slice(&n.to_be_bytes());
        return Ok((1, v));
    }
    let asn: u32 = a.parse().map_err(|_| format!("{s:?}: bad administrator"))?;
    if let Ok(asn16) = u16::try_from(asn) {
        let n: u32 = n.parse().map_err(|_| format!("{s:?}: bad number"))?;
        v[..2].copy_from_slice(&asn16.to_be_bytes());
        v[2..].copy_from_slice(&n.to_be_bytes());
        Ok((0, v))
    } else {
        let n: u16 = n
            .parse()
            .map_err(|_| format!("{s:?}: number must fit 16 bits"))?;
        v[..4].copy_from_slice(&asn.to_be_bytes());
        v[4..].copy_from_slice(&n.to_be_bytes());
        Ok((2, v))
    }
}

impl fmt::Display for Rd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v = [0u8; 6];
        v.copy_from_slice(&self.0[2..]);
        match self.rd_type() {
            t @ 0..=2 => fmt_admin_value(f, t as u8, &v),
            t => write!(f, "rd-type{}:{:02x?}", t, v),
        }
    }
}

impl FromStr for Rd {
    type Err = String;
    fn from_str(s: &str) -> Result<Rd, String> {
        let (t, v) = parse_admin_value(s)?;
        let mut b = [0u8; 8];
        b[1] = t;
        b[2..].copy_from_slice(&v);
        Ok(Rd(b))
    }
}

impl Serialize for Rd {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rd {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rd, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rd_text_forms_round_trip() {
        for s in ["65000:1", "192.0.2.1:7", "4200000000:9"] {
            let rd: Rd = s.parse().unwrap();
            assert_eq!(rd.to_string(), s);
        }
        assert_eq!(Rd::new_as2(65000, 1).0, [0, 0, 0xfd, 0xe8, 0, 0, 0, 1]);
        assert!("x:1".parse::<Rd>().is_err());
    }

    #[test]
    fn family_code_points() {
        for f in Family::ALL {
            let (a, s) = f.afi_safi();
            assert_eq!(Family::from_afi_safi(a, s), Some(f));
            assert_eq!(f.name().parse::<Family>().unwrap(), f);
        }
        assert_eq!(Family::from_afi_safi(2, 132), None);
        assert_eq!(Family::Vpnv4.afi_safi(), (1, 128));
        assert_eq!(Family::SdwanV6.afi_safi(), (2, 74));
    }
}
