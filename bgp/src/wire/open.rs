//! OPEN message (RFC 4271 §4.2) and capabilities (RFC 5492): multiprotocol
//! (RFC 4760 §8), route refresh (RFC 2918), extended message (RFC 8654),
//! graceful restart (RFC 4724 §3), 4-octet AS (RFC 6793 §3), ADD-PATH
//! (RFC 7911 §4). Extended optional parameters (RFC 9072) are decoded.
//!
//! ```text
//! | version (1 B) | my AS (2 B) | hold time (2 B) | BGP identifier (4 B) |
//! | opt params length (1 B) | optional parameters |
//! optional parameter: | type (1 B, 2 = capabilities) | length (1 B) | value |
//! capability:         | code (1 B) | length (1 B) | value |
//! ```

use super::cursor::{Cursor, PutBytes};
use super::error::{code, DecodeError, Reason};
use super::family::Family;
use serde::Serialize;
use std::net::Ipv4Addr;

pub const BGP_VERSION: u8 = 4;

/// ADD-PATH send/receive mode (RFC 7911 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AddPathFamily {
    pub afi: u16,
    pub safi: u8,
    /// 1 receive, 2 send, 3 both.
    pub mode: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct GrFamily {
    pub afi: u16,
    pub safi: u8,
    /// Bit 0x80: forwarding state preserved.
    pub flags: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "capability", rename_all = "kebab-case")]
pub enum Capability {
    /// 1: `| AFI (2 B) | reserved (1 B) | SAFI (1 B) |`
    Multiprotocol {
        afi: u16,
        safi: u8,
    },
    /// 2
    RouteRefresh,
    /// 6
    ExtendedMessage,
    /// 64: `| R (1 bit) B (1 bit) reserved (2 bits) | restart time (12 bits) |`
    /// then `| AFI (2 B) | SAFI (1 B) | flags (1 B) |` per family.
    GracefulRestart {
        flags: u8,
        restart_time: u16,
        families: Vec<GrFamily>,
    },
    /// 65: `| ASN (4 B) |`
    FourOctetAs {
        asn: u32,
    },
    /// 69: `| AFI (2 B) | SAFI (1 B) | send/receive (1 B) |` per family.
    AddPath {
        families: Vec<AddPathFamily>,
    },
    Unknown {
        code: u8,
        value: Vec<u8>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Open {
    /// The 2-byte "My Autonomous System" field (AS_TRANS for 4-byte ASNs).
    pub my_as: u16,
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The speaker's real ASN: the 4-octet AS capability, else `my_as`.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs { asn } => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    pub fn families(&self) -> Vec<Family> {
        let mut v: Vec<Family> = self
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol { afi, safi } => Family::from_afi_safi(*afi, *safi),
                _ => None,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn has(&self, f: impl Fn(&Capability) -> bool) -> bool {
        self.capabilities.iter().any(f)
    }

    /// Decode the OPEN body (after the 19-byte header). `base` = 19.
    pub fn decode(body: &[u8], base: usize) -> Result<Open, DecodeError> {
        let trunc = |at: usize| DecodeError::reset(Reason::Truncated, base + at, code::HEADER, 2);
        let mut c = Cursor::new(body);
        let version = c.u8().map_err(|m| trunc(m.at))?;
        if version != BGP_VERSION {
            return Err(
                DecodeError::reset(Reason::UnsupportedVersion, base, code::OPEN, 1)
                    .with_data(&u16::from(BGP_VERSION).to_be_bytes()),
            );
        }
        let my_as = c.u16().map_err(|m| trunc(m.at))?;
        let hold_at = c.pos();
        let hold_time = c.u16().map_err(|m| trunc(m.at))?;
        if hold_time == 1 || hold_time == 2 {
            return Err(DecodeError::reset(
                Reason::UnacceptableHoldTime,
                base + hold_at,
                code::OPEN,
                6,
            ));
        }
        let id_at = c.pos();
        let bgp_id = Ipv4Addr::from(c.array::<4>().map_err(|m| trunc(m.at))?);
        if bgp_id.is_unspecified() {
            return Err(DecodeError::reset(
                Reason::BadBgpIdentifier,
                base + id_at,
                code::OPEN,
                3,
            ));
        }
        let opt_at = c.pos();
        let opt_len = c.u8().map_err(|m| trunc(m.at))?;
        let bad_param = |at: usize| {
            DecodeError::reset(Reason::MalformedOptionalParameter, base + at, code::OPEN, 0)
        };
        // RFC 9072: non-ext length 255 and type 255 mark 2-byte lengths.
        let extended = opt_len == 255 && c.rest().first() == Some(&255);
        let params_len = if extended {
            let _ = c.u8();
            usize::from(c.u16().map_err(|m| trunc(m.at))?)
        } else {
            usize::from(opt_len)
        };
        let params_at = c.pos();
        let params = c.bytes(params_len).map_err(|_| bad_param(opt_at))?;
        if !c.is_empty() {
            return Err(bad_param(c.pos()));
        }
        let mut p = Cursor::new(params);
        let mut capabilities = Vec::new();
        while !p.is_empty() {
            let at = params_at + p.pos();
            let ptype = p.u8().map_err(|_| bad_param(at))?;
            let plen = if extended {
                usize::from(p.u16().map_err(|_| bad_param(at))?)
            } else {
                usize::from(p.u8().map_err(|_| bad_param(at))?)
            };
            let vat = params_at + p.pos();
            let value = p.bytes(plen).map_err(|_| bad_param(at))?;
            if ptype != 2 {
                return Err(DecodeError::reset(
                    Reason::UnsupportedOptionalParameter,
                    base + at,
                    code::OPEN,
                    4,
                ));
            }
            decode_capabilities(value, &mut capabilities).map_err(|m| {
                DecodeError::reset(Reason::MalformedCapability, base + vat + m, code::OPEN, 0)
            })?;
        }
        Ok(Open {
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        })
    }

    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u8(BGP_VERSION);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.extend_from_slice(&self.bgp_id.octets());
        let mut caps = Vec::new();
        for c in &self.capabilities {
            encode_capability(c, &mut caps);
        }
        if caps.is_empty() {
            out.put_u8(0);
        } else if caps.len() + 2 <= 255 {
            out.put_u8((caps.len() + 2) as u8);
            out.put_u8(2);
            out.put_u8(caps.len() as u8);
            out.extend_from_slice(&caps);
        } else {
            // RFC 9072 extended optional parameters.
            out.put_u8(255);
            out.put_u8(255);
            out.put_u16(u16::try_from(caps.len() + 3).unwrap_or(u16::MAX));
            out.put_u8(2);
            out.put_u16(u16::try_from(caps.len()).unwrap_or(u16::MAX));
            out.extend_from_slice(&caps);
        }
    }
}

/// Returns the offset of a malformed capability inside `buf` on error.
fn decode_capabilities(buf: &[u8], out: &mut Vec<Capability>) -> Result<(), usize> {
    let mut c = Cursor::new(buf);
    while !c.is_empty() {
        let at = c.pos();
        let code = c.u8().map_err(|_| at)?;
        let len = usize::from(c.u8().map_err(|_| at)?);
        let v = c.bytes(len).map_err(|_| at)?;
        let mut vc = Cursor::new(v);
        let cap = match code {
            1 if len == 4 => {
                let afi = vc.u16().map_err(|_| at)?;
                let _ = vc.u8();
                Capability::Multiprotocol {
                    afi,
                    safi: vc.u8().map_err(|_| at)?,
                }
            }
            2 if len == 0 => Capability::RouteRefresh,
            6 if len == 0 => Capability::ExtendedMessage,
            64 if len >= 2 && (len - 2) % 4 == 0 => {
                let w = vc.u16().map_err(|_| at)?;
                let mut families = Vec::new();
                while !vc.is_empty() {
                    families.push(GrFamily {
                        afi: vc.u16().map_err(|_| at)?,
                        safi: vc.u8().map_err(|_| at)?,
                        flags: vc.u8().map_err(|_| at)?,
                    });
                }
                Capability::GracefulRestart {
                    flags: (w >> 12) as u8,
                    restart_time: w & 0x0fff,
                    families,
                }
            }
            65 if len == 4 => Capability::FourOctetAs {
                asn: vc.u32().map_err(|_| at)?,
            },
            69 if len % 4 == 0 => {
                let mut families = Vec::new();
                while !vc.is_empty() {
                    let e = AddPathFamily {
                        afi: vc.u16().map_err(|_| at)?,
                        safi: vc.u8().map_err(|_| at)?,
                        mode: vc.u8().map_err(|_| at)?,
                    };
                    if !(1..=3).contains(&e.mode) {
                        return Err(at);
                    }
                    families.push(e);
                }
                Capability::AddPath { families }
            }
            1 | 2 | 6 | 64 | 65 | 69 => return Err(at),
            code => Capability::Unknown {
                code,
                value: v.to_vec(),
            },
        };
        out.push(cap);
    }
    Ok(())
}

fn encode_capability(c: &Capability, out: &mut Vec<u8>) {
    let mut v = Vec::new();
    let code = match c {
        Capability::Multiprotocol { afi, safi } => {
            v.put_u16(*afi);
            v.put_u8(0);
            v.put_u8(*safi);
            1
        }
        Capability::RouteRefresh => 2,
        Capability::ExtendedMessage => 6,
        Capability::GracefulRestart {
            flags,
            restart_time,
            families,
        } => {
            v.put_u16((u16::from(*flags & 0x0f) << 12) | (restart_time & 0x0fff));
            for f in families {
                v.put_u16(f.afi);
                v.put_u8(f.safi);
                v.put_u8(f.flags);
            }
            64
        }
        Capability::FourOctetAs { asn } => {
            v.put_u32(*asn);
            65
        }
        Capability::AddPath { families } => {
            for f in families {
                v.put_u16(f.afi);
                v.put_u8(f.safi);
                v.put_u8(f.mode);
            }
            69
        }
        Capability::Unknown { code, value } => {
            v.extend_from_slice(value);
            *code
        }
    };
    out.put_u8(code);
    out.put_u8(u8::try_from(v.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(&v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_with_capabilities_round_trips() {
        let o = Open {
            my_as: 65000,
            hold_time: 90,
            bgp_id: Ipv4Addr::new(192, 0, 2, 1),
            capabilities: vec![
                Capability::Multiprotocol { afi: 1, safi: 128 },
                Capability::RouteRefresh,
                Capability::FourOctetAs { asn: 65000 },
                Capability::GracefulRestart {
                    flags: 8,
                    restart_time: 120,
                    families: vec![GrFamily {
                        afi: 1,
                        safi: 128,
                        flags: 0x80,
                    }],
                },
                Capability::AddPath {
                    families: vec![AddPathFamily {
                        afi: 1,
                        safi: 1,
                        mode: 3,
                    }],
                },
                Capability::ExtendedMessage,
                Capability::Unknown {
                    code: 73,
                    value: vec![1, 2],
                },
            ],
        };
        let mut b = Vec::new();
        o.encode_body(&mut b);
        assert_eq!(Open::decode(&b, 19).unwrap(), o);
        assert_eq!(o.asn(), 65000);
        assert_eq!(o.families(), vec![Family::Vpnv4]);
    }

    #[test]
    fn open_errors_name_the_field() {
        let e = Open::decode(&[3, 0, 1, 0, 90, 1, 1, 1, 1, 0], 19).unwrap_err();
        assert_eq!(e.notify, (2, 1));
        let e = Open::decode(&[4, 0, 1, 0, 2, 1, 1, 1, 1, 0], 19).unwrap_err();
        assert_eq!((e.notify, e.offset), ((2, 6), 22));
        let e = Open::decode(&[4, 0, 1, 0, 90, 0, 0, 0, 0, 0], 19).unwrap_err();
        assert_eq!(e.notify, (2, 3));
        let e = Open::decode(&[4, 0, 1, 0, 90, 1, 1, 1, 1, 3, 1, 1, 0], 19).unwrap_err();
        assert_eq!(e.notify, (2, 4));
        let e = Open::decode(&[4, 0, 1, 0, 90, 1, 1, 1, 1, 4, 2, 2, 65, 1], 19).unwrap_err();
        assert_eq!(e.reason, Reason::MalformedCapability);
        assert!(Open::decode(&[4, 0, 1, 0, 90, 1, 1, 1, 1, 5, 2, 2], 19).is_err());
    }
}
