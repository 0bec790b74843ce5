//! NLRI encodings of every family we speak: IPv4/IPv6 prefixes (RFC 4271
//! §4.3, RFC 4760 §5), VPN-IPv4/IPv6 (RFC 4364 §4.3.4, RFC 4659, RFC 8277),
//! RT-Constraint (RFC 4684 §4), SD-WAN edge discovery (SAFI 74), each
//! optionally preceded by an ADD-PATH path identifier (RFC 7911 §3).

use super::cursor::{Cursor, PutBytes};
use super::error::{Malformed, VResult};
use super::family::{Family, Rd};
use serde::Serialize;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP prefix with all host bits zero (canonical form).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// Build a prefix, clearing host bits; `None` if `len` is too long.
    pub fn new(addr: IpAddr, len: u8) -> Option<Prefix> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return None;
        }
        let addr = match addr {
            IpAddr::V4(a) => {
                let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
            }
            IpAddr::V6(a) => {
                let m = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
            }
        };
        Some(Prefix { addr, len })
    }
    pub fn addr(&self) -> IpAddr {
        self.addr
    }
    pub fn len(&self) -> u8 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn contains(&self, ip: IpAddr) -> bool {
        Prefix::new(ip, self.len).is_some_and(|p| p.addr == self.addr)
    }

    /// `len` then the significant bytes of the address.
    fn decode_bits(c: &mut Cursor, v6: bool, len: u8) -> VResult<Prefix> {
        let max = if v6 { 128 } else { 32 };
        if len > max {
            return c.err();
        }
        let nbytes = usize::from(len).div_ceil(8);
        let b = c.bytes(nbytes)?;
        let mut full = [0u8; 16];
        full[..nbytes].copy_from_slice(b);
        let addr = if v6 {
            IpAddr::V6(Ipv6Addr::from(full))
        } else {
            IpAddr::V4(Ipv4Addr::new(full[0], full[1], full[2], full[3]))
        };
        Prefix::new(addr, len).ok_or(Malformed { at: c.pos() })
    }

    fn encode_bytes(&self, out: &mut Vec<u8>) {
        let nbytes = usize::from(self.len).div_ceil(8);
        match self.addr {
            IpAddr::V4(a) => out.extend_from_slice(&a.octets()[..nbytes]),
            IpAddr::V6(a) => out.extend_from_slice(&a.octets()[..nbytes]),
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl std::str::FromStr for Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Prefix, String> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected ADDR/LEN"))?;
        let addr: IpAddr = a.parse().map_err(|_| format!("{s:?}: bad address"))?;
        let len: u8 = l.parse().map_err(|_| format!("{s:?}: bad length"))?;
        Prefix::new(addr, len).ok_or_else(|| format!("{s:?}: length too long"))
    }
}

impl Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Prefix, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// RT-Constraint NLRI (RFC 4684 §4): a prefix over origin AS + Route Target.
///
/// ```text
/// | length (1 B, bits: 0 or 32..=96) | origin AS (4 B) | route target (0..8 B) |
/// ```
/// Length 0 is the default route (all RTs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RtcNlri {
    Default,
    Rt {
        origin_as: u32,
        /// Prefix length over the 8-byte RT, 0..=64 bits.
        rt_bits: u8,
        /// RT bytes; bits past `rt_bits` are zero.
        rt: [u8; 8],
    },
}

impl RtcNlri {
    /// Does this constraint admit the extended community `rt`?
    pub fn matches(&self, rt: &[u8; 8]) -> bool {
        match self {
            RtcNlri::Default => true,
            RtcNlri::Rt { rt_bits, rt: p, .. } => {
                let a = u64::from_be_bytes(*p);
                let b = u64::from_be_bytes(*rt);
                let m = if *rt_bits == 0 {
                    0
                } else {
                    u64::MAX << (64 - rt_bits)
                };
                a & m == b & m
            }
        }
    }
}

/// SD-WAN edge discovery NLRI (draft-ietf-idr-sdwan-edge-discovery, SAFI 74).
///
/// ```text
/// | Route Type (2 B) | Length (2 B) | Port-Local-ID (4 B) |
/// | SD-WAN-Color (4 B) | SD-WAN Node ID (4 B IPv4 / 16 B IPv6) |
/// ```
/// Length counts the bytes after it (12 or 24).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SdwanNlri {
    pub route_type: u16,
    pub port_local_id: u32,
    pub color: u32,
    pub node_id: IpAddr,
}

/// One NLRI of any family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Nlri {
    Unicast {
        prefix: Prefix,
    },
    /// VPN-IP (RFC 4364/4659): one label (RFC 8277 without the multiple-
    /// labels capability), raw 3-byte label field incl. TC and S bits.
    Vpn {
        label: u32,
        rd: Rd,
        prefix: Prefix,
    },
    Rtc {
        rtc: RtcNlri,
    },
    Sdwan {
        sdwan: SdwanNlri,
    },
}

impl Nlri {
    /// MPLS label value (20 bits) of a VPN route.
    pub fn label_value(&self) -> Option<u32> {
        match self {
            Nlri::Vpn { label, .. } => Some(label >> 4),
            _ => None,
        }
    }
}

/// An NLRI with its ADD-PATH path identifier (RFC 7911 §3), if negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PathNlri {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    #[serde(flatten)]
    pub nlri: Nlri,
}

/// Decode a whole NLRI field of `family`. `add_path`: each entry starts with
/// a 4-byte path identifier. Offsets in errors are relative to `buf`.
pub fn decode_nlri_list(buf: &[u8], family: Family, add_path: bool) -> VResult<Vec<PathNlri>> {
    let mut c = Cursor::new(buf);
    let mut out = Vec::new();
    while !c.is_empty() {
        let path_id = if add_path { Some(c.u32()?) } else { None };
        let nlri = decode_one(&mut c, family)?;
        out.push(PathNlri { path_id, nlri });
    }
    Ok(out)
}

fn decode_one(c: &mut Cursor, family: Family) -> VResult<Nlri> {
    match family {
        Family::Ipv4Unicast | Family::Ipv6Unicast => {
            let len = c.u8()?;
            let prefix = Prefix::decode_bits(c, family == Family::Ipv6Unicast, len)?;
            Ok(Nlri::Unicast { prefix })
        }
        Family::Vpnv4 | Family::Vpnv6 => {
            // | length (bits) | label (3 B) | RD (8 B) | prefix |
            let start = c.pos();
            let bits = c.u8()?;
            let plen = bits.checked_sub(88).ok_or(Malformed { at: start })?;
            let l = c.array::<3>()?;
            let label = u32::from_be_bytes([0, l[0], l[1], l[2]]);
            let rd = Rd(c.array()?);
            let prefix = Prefix::decode_bits(c, family == Family::Vpnv6, plen)?;
            Ok(Nlri::Vpn { label, rd, prefix })
        }
        Family::RtConstraint => {
            let start = c.pos();
            let bits = c.u8()?;
            if bits == 0 {
                return Ok(Nlri::Rtc {
                    rtc: RtcNlri::Default,
                });
            }
            if !(32..=96).contains(&bits) {
                return Err(Malformed { at: start });
            }
            let origin_as = c.u32()?;
            let rt_bits = bits - 32;
            let n = usize::from(rt_bits).div_ceil(8);
            let mut rt = [0u8; 8];
            rt[..n].copy_from_slice(c.bytes(n)?);
            let m = if rt_bits == 0 {
                0
            } else {
                u64::MAX << (64 - rt_bits)
            };
            let rt = (u64::from_be_bytes(rt) & m).to_be_bytes();
            Ok(Nlri::Rtc {
                rtc: RtcNlri::Rt {
                    origin_as,
                    rt_bits,
                    rt,
                },
            })
        }
        Family::SdwanV4 | Family::SdwanV6 => {
            let route_type = c.u16()?;
            let len_at = c.pos();
            let len = c.u16()?;
            let want = if family == Family::SdwanV6 { 24 } else { 12 };
            if len != want {
                return Err(Malformed { at: len_at });
            }
            let port_local_id = c.u32()?;
            let color = c.u32()?;
            let node_id = if family == Family::SdwanV6 {
                IpAddr::V6(Ipv6Addr::from(c.array::<16>()?))
            } else {
                IpAddr::V4(Ipv4Addr::from(c.array::<4>()?))
            };
            Ok(Nlri::Sdwan {
                sdwan: SdwanNlri {
                    route_type,
                    port_local_id,
                    color,
                    node_id,
                },
            })
        }
    }
}

/// Does `nlri` belong to `family` (address family of the prefix included)?
pub fn nlri_fits(nlri: &Nlri, family: Family) -> bool {
    match (nlri, family) {
        (Nlri::Unicast { prefix }, Family::Ipv4Unicast) => prefix.addr().is_ipv4(),
        (Nlri::Unicast { prefix }, Family::Ipv6Unicast) => prefix.addr().is_ipv6(),
        (Nlri::Vpn { prefix, label, .. }, Family::Vpnv4) => {
            prefix.addr().is_ipv4() && *label < 1 << 24
        }
        (Nlri::Vpn { prefix, label, .. }, Family::Vpnv6) => {
            prefix.addr().is_ipv6() && *label < 1 << 24
        }
        (Nlri::Rtc { rtc }, Family::RtConstraint) => match rtc {
            RtcNlri::Default => true,
            RtcNlri::Rt { rt_bits, .. } => *rt_bits <= 64,
        },
        (Nlri::Sdwan { sdwan }, Family::SdwanV4) => sdwan.node_id.is_ipv4(),
        (Nlri::Sdwan { sdwan }, Family::SdwanV6) => sdwan.node_id.is_ipv6(),
        _ => false,
    }
}

/// Encode one NLRI (with its path id if present). The caller guarantees it
/// fits the family it is sent under ([`nlri_fits`]).
pub fn encode_nlri(p: &PathNlri, out: &mut Vec<u8>) {
    if let Some(id) = p.path_id {
        out.put_u32(id);
    }
    match &p.nlri {
        Nlri::Unicast { prefix } => {
            out.put_u8(prefix.len());
            prefix.encode_bytes(out);
        }
        Nlri::Vpn { label, rd, prefix } => {
            out.put_u8(prefix.len().saturating_add(88));
            out.extend_from_slice(&label.to_be_bytes()[1..]);
            out.extend_from_slice(&rd.0);
            prefix.encode_bytes(out);
        }
        Nlri::Rtc { rtc } => match rtc {
            RtcNlri::Default => out.put_u8(0),
            RtcNlri::Rt {
                origin_as,
                rt_bits,
                rt,
            } => {
                out.put_u8(rt_bits.saturating_add(32));
                out.put_u32(*origin_as);
                out.extend_from_slice(&rt[..usize::from(*rt_bits).div_ceil(8)]);
            }
        },
        Nlri::Sdwan { sdwan } => {
            out.put_u16(sdwan.route_type);
            out.put_u16(if sdwan.node_id.is_ipv6() { 24 } else { 12 });
            out.put_u32(sdwan.port_local_id);
            out.put_u32(sdwan.color);
            match sdwan.node_id {
                IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpnv4_nlri_bytes() {
        // 112 bits = 24 label + 64 RD + 24 prefix; label 100, BOS.
        let buf = [
            112, 0x00, 0x06, 0x41, 0, 0, 0xfd, 0xe8, 0, 0, 0, 1, 10, 1, 2,
        ];
        let v = decode_nlri_list(&buf, Family::Vpnv4, false).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].nlri.label_value(), Some(100));
        match v[0].nlri {
            Nlri::Vpn { rd, prefix, .. } => {
                assert_eq!(rd.to_string(), "65000:1");
                assert_eq!(prefix.to_string(), "10.1.2.0/24");
            }
            _ => panic!("not vpn"),
        }
        let mut out = Vec::new();
        encode_nlri(&v[0], &mut out);
        assert_eq!(out, buf);
    }

    #[test]
    fn rejects_bad_lengths_without_panic() {
        assert!(decode_nlri_list(&[33, 1, 2, 3, 4, 5], Family::Ipv4Unicast, false).is_err());
        assert!(decode_nlri_list(&[24, 1, 2], Family::Ipv4Unicast, false).is_err());
        assert!(decode_nlri_list(&[80, 0, 0, 0], Family::Vpnv4, false).is_err());
        assert!(decode_nlri_list(&[20, 0, 0, 0, 1], Family::RtConstraint, false).is_err());
        assert!(decode_nlri_list(&[0, 1, 0, 13], Family::SdwanV4, false).is_err());
        assert!(decode_nlri_list(&[0, 0, 0], Family::Ipv4Unicast, true).is_err());
    }

    #[test]
    fn host_bits_are_cleared_and_rtc_matches() {
        let v = decode_nlri_list(&[8, 0xff], Family::Ipv4Unicast, false).unwrap();
        assert_eq!(
            v[0].nlri,
            Nlri::Unicast {
                prefix: "255.0.0.0/8".parse().unwrap()
            }
        );
        let rt = [0, 2, 0xfd, 0xe8, 0, 0, 0, 7];
        let buf = [96, 0, 0, 0xfd, 0xe8, 0, 2, 0xfd, 0xe8, 0, 0, 0, 7];
        let v = decode_nlri_list(&buf, Family::RtConstraint, false).unwrap();
        let Nlri::Rtc { rtc } = v[0].nlri else {
            panic!()
        };
        assert!(rtc.matches(&rt));
        assert!(!rtc.matches(&[0, 2, 0xfd, 0xe8, 0, 0, 0, 8]));
        assert!(RtcNlri::Default.matches(&rt));
    }
}
