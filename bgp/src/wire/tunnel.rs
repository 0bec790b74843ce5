//! Tunnel Encapsulation attribute, path attribute 23 (RFC 9012 §2), with the
//! sub-TLVs of RFC 9012 §3 and the SD-WAN-Hybrid ones of
//! draft-ietf-idr-sdwan-edge-discovery (values typed in `sdwan_subtlv`).
//! Unknown sub-TLVs (and tunnels of
//! unknown type) are kept byte-exact and passed on.
//!
//! ```text
//! attribute value = Tunnel TLV*
//! Tunnel TLV:  | Tunnel Type (2 B) | Length (2 B) | sub-TLV* |
//! sub-TLV:     | Type (1 B) | Length (1 B if type < 128, else 2 B) | value |
//! ```

use super::cursor::{len16_end, len16_start, Cursor, PutBytes};
use super::error::{Malformed, VResult};
use super::sdwan_subtlv::{ExtendedPort, PublicKey, SaNonce, SaProposal, SimplifiedSa};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const TUNNEL_VXLAN: u16 = 8;
pub const TUNNEL_NVGRE: u16 = 9;
pub const TUNNEL_GRE: u16 = 2;
pub const TUNNEL_MPLS_IN_GRE: u16 = 11;
pub const TUNNEL_VXLAN_GPE: u16 = 12;
pub const TUNNEL_SDWAN_HYBRID: u16 = 25;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TunnelEncap {
    pub tunnels: Vec<Tunnel>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tunnel {
    pub tunnel_type: u16,
    pub sub_tlvs: Vec<SubTlv>,
}

/// Encapsulation sub-TLV (RFC 9012 §3.2), whose layout depends on the tunnel
/// type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "format", rename_all = "kebab-case")]
pub enum Encapsulation {
    /// VXLAN / NVGRE (§3.2.1, §3.2.2), 12 bytes:
    /// ```text
    /// |V|M|R R R R R R| VN-ID (3 B) |
    /// | MAC Address (6 B) | Reserved (2 B) |
    /// ```
    /// `vn_id` is present iff V is set, `mac` iff M is set.
    VnId {
        vn_id: Option<u32>,
        mac: Option<[u8; 6]>,
    },
    /// GRE / MPLS-in-GRE (§3.2.3, §3.2.6): 4-byte key.
    GreKey { key: u32 },
    /// Any other tunnel type: bytes kept as received.
    Raw { value: Vec<u8> },
}

/// One sub-TLV. Code points: RFC 9012 §3 and IANA "BGP Tunnel Encapsulation
/// Attribute Sub-TLVs"; 64–70 from draft-ietf-idr-sdwan-edge-discovery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SubTlv {
    /// 1
    Encapsulation { encap: Encapsulation },
    /// 2: Ethertype of the payload (§3.4.1).
    ProtocolType { ethertype: u16 },
    /// 4: Color (§3.3.1), an extended community 03 0b | flags (2 B) | color.
    Color { flags: u16, color: u32 },
    /// 6: Tunnel Egress Endpoint (§3.1):
    /// `| Reserved (4 B) | AFI (2 B) | address (0, 4 or 16 B) |`;
    /// AFI 0 / no address means "the route's next hop".
    EgressEndpoint { address: Option<IpAddr> },
    /// 7: DS field (§3.3.1).
    DsField { dscp: u8 },
    /// 8: UDP destination port (§3.3.2).
    UdpDestPort { port: u16 },
    /// 9: Embedded Label Handling (§3.4.2): 1 payload, 2 no payload.
    EmbeddedLabelHandling { value: u8 },
    /// 10: MPLS Label Stack (§3.5): 4-byte label stack entries.
    MplsLabelStack { entries: Vec<u32> },
    /// 11: Prefix-SID (§3.6), RFC 8669 TLVs kept as bytes.
    PrefixSid { value: Vec<u8> },
    /// 64: IPsec SA ID: list of 4-byte SA identifiers.
    IpsecSaId { ids: Vec<u32> },
    /// 65: Extended Port (NAT info, encapsulation, underlay).
    ExtendedPort { port: ExtendedPort },
    /// 67: IPsec SA nonce with the rekey counter.
    RekeyCounter { nonce: SaNonce },
    /// 68: Public Key (X25519).
    PublicKey { key: PublicKey },
    /// 69: IPsec SA Proposal (transform list).
    Proposal { proposal: SaProposal },
    /// 70: Simplified IPsec SA.
    SimplifiedIpsecSa { sa: SimplifiedSa },
    /// Any other sub-TLV type, kept and passed on.
    Unknown { code: u8, value: Vec<u8> },
}

impl SubTlv {
    pub fn code(&self) -> u8 {
        match self {
            SubTlv::Encapsulation { .. } => 1,
            SubTlv::ProtocolType { .. } => 2,
            SubTlv::Color { .. } => 4,
            SubTlv::EgressEndpoint { .. } => 6,
            SubTlv::DsField { .. } => 7,
            SubTlv::UdpDestPort { .. } => 8,
            SubTlv::EmbeddedLabelHandling { .. } => 9,
            SubTlv::MplsLabelStack { .. } => 10,
            SubTlv::PrefixSid { .. } => 11,
            SubTlv::IpsecSaId { .. } => 64,
            SubTlv::ExtendedPort { .. } => 65,
            SubTlv::RekeyCounter { .. } => 67,
            SubTlv::PublicKey { .. } => 68,
            SubTlv::Proposal { .. } => 69,
            SubTlv::SimplifiedIpsecSa { .. } => 70,
            SubTlv::Unknown { code, .. } => *code,
        }
    }
}

/// Sub-TLV codes that have their own variant (an `Unknown` must not use one).
pub const KNOWN_SUB_TLVS: [u8; 15] = [1, 2, 4, 6, 7, 8, 9, 10, 11, 64, 65, 67, 68, 69, 70];

impl TunnelEncap {
    /// Decode the attribute value. Offsets in errors are relative to `buf`.
    pub fn decode(buf: &[u8]) -> VResult<TunnelEncap> {
        let mut c = Cursor::new(buf);
        let mut tunnels = Vec::new();
        while !c.is_empty() {
            let tunnel_type = c.u16()?;
            let len = usize::from(c.u16()?);
            let base = c.pos();
            let body = c.bytes(len)?;
            let sub_tlvs =
                decode_sub_tlvs(body, tunnel_type).map_err(|m| Malformed { at: base + m.at })?;
            tunnels.push(Tunnel {
                tunnel_type,
                sub_tlvs,
            });
        }
        if tunnels.is_empty() {
            return c.err();
        }
        Ok(TunnelEncap { tunnels })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        for t in &self.tunnels {
            out.put_u16(t.tunnel_type);
            let at = len16_start(out);
            for s in &t.sub_tlvs {
                encode_sub_tlv(s, out);
            }
            len16_end(out, at);
        }
    }

    /// Colors of every tunnel (RFC 9012 §3.3.1), for recursive resolution.
    pub fn colors(&self) -> impl Iterator<Item = u32> + '_ {
        self.tunnels.iter().flat_map(|t| {
            t.sub_tlvs.iter().filter_map(|s| match s {
                SubTlv::Color { color, .. } => Some(*color),
                _ => None,
            })
        })
    }
}

fn decode_sub_tlvs(buf: &[u8], tunnel_type: u16) -> VResult<Vec<SubTlv>> {
    let mut c = Cursor::new(buf);
    let mut out = Vec::new();
    while !c.is_empty() {
        let code = c.u8()?;
        let len = if code < 128 {
            usize::from(c.u8()?)
        } else {
            usize::from(c.u16()?)
        };
        let at = c.pos();
        let v = c.bytes(len)?;
        let s = decode_sub_tlv(code, v, tunnel_type).map_err(|m| Malformed { at: at + m.at })?;
        out.push(s);
    }
    Ok(out)
}

fn decode_sub_tlv(code: u8, v: &[u8], tunnel_type: u16) -> VResult<SubTlv> {
    let mut c = Cursor::new(v);
    let bad = Err(Malformed { at: 0 });
    let s = match code {
        1 => SubTlv::Encapsulation {
            encap: decode_encapsulation(v, tunnel_type)?,
        },
        2 => SubTlv::ProtocolType {
            ethertype: c.u16()?,
        },
        4 => {
            let t = c.array::<2>()?;
            if t != [0x03, 0x0b] {
                return bad;
            }
            SubTlv::Color {
                flags: c.u16()?,
                color: c.u32()?,
            }
        }
        6 => {
            let _reserved = c.u32()?;
            let afi = c.u16()?;
            let address = match (afi, c.remaining()) {
                (0, 0) => None,
                (1, 4) => Some(IpAddr::V4(Ipv4Addr::from(c.array::<4>()?))),
                (2, 16) => Some(IpAddr::V6(Ipv6Addr::from(c.array::<16>()?))),
                _ => return bad,
            };
            SubTlv::EgressEndpoint { address }
        }
        7 => SubTlv::DsField { dscp: c.u8()? },
        8 => SubTlv::UdpDestPort { port: c.u16()? },
        9 => SubTlv::EmbeddedLabelHandling { value: c.u8()? },
        10 => {
            if v.len() % 4 != 0 {
                return bad;
            }
            let mut entries = Vec::with_capacity(v.len() / 4);
            while !c.is_empty() {
                entries.push(c.u32()?);
            }
            SubTlv::MplsLabelStack { entries }
        }
        11 => SubTlv::PrefixSid { value: v.to_vec() },
        64 => {
            if v.is_empty() || v.len() % 4 != 0 {
                return bad;
            }
            let mut ids = Vec::with_capacity(v.len() / 4);
            while !c.is_empty() {
                ids.push(c.u32()?);
            }
            SubTlv::IpsecSaId { ids }
        }
        // Typed SD-WAN values consume the whole value or fail themselves.
        65 => SubTlv::ExtendedPort {
            port: ExtendedPort::decode(v)?,
        },
        67 => SubTlv::RekeyCounter {
            nonce: SaNonce::decode(v)?,
        },
        68 => SubTlv::PublicKey {
            key: PublicKey::decode(v)?,
        },
        69 => SubTlv::Proposal {
            proposal: SaProposal::decode(v)?,
        },
        70 => SubTlv::SimplifiedIpsecSa {
            sa: SimplifiedSa::decode(v)?,
        },
        code => SubTlv::Unknown {
            code,
            value: v.to_vec(),
        },
    };
    if !c.is_empty()
        && !matches!(code, 1 | 11 | 65 | 67 | 68 | 69 | 70)
        && KNOWN_SUB_TLVS.contains(&code)
    {
        // Fixed-size sub-TLVs must be exactly their size.
        return Err(Malformed { at: c.pos() });
    }
    Ok(s)
}

fn decode_encapsulation(v: &[u8], tunnel_type: u16) -> VResult<Encapsulation> {
    let mut c = Cursor::new(v);
    match tunnel_type {
        TUNNEL_VXLAN | TUNNEL_NVGRE => {
            if v.len() != 12 {
                return c.err();
            }
            let flags = c.u8()?;
            let vni = c.array::<3>()?;
            let mac = c.array::<6>()?;
            let vn_id =
                (flags & 0x80 != 0).then(|| u32::from_be_bytes([0, vni[0], vni[1], vni[2]]));
            let mac = (flags & 0x40 != 0).then_some(mac);
            // RFC 9012 §3.2.1: fields whose flag is clear are ignored.
            Ok(Encapsulation::VnId { vn_id, mac })
        }
        TUNNEL_GRE | TUNNEL_MPLS_IN_GRE if v.len() == 4 => {
            Ok(Encapsulation::GreKey { key: c.u32()? })
        }
        _ => Ok(Encapsulation::Raw { value: v.to_vec() }),
    }
}

fn encode_encapsulation(e: &Encapsulation, out: &mut Vec<u8>) {
    match e {
        Encapsulation::VnId { vn_id, mac } => {
            let flags =
                if vn_id.is_some() { 0x80 } else { 0 } | if mac.is_some() { 0x40 } else { 0 };
            out.put_u8(flags);
            out.extend_from_slice(&vn_id.unwrap_or(0).to_be_bytes()[1..]);
            out.extend_from_slice(&mac.unwrap_or([0; 6]));
            out.extend_from_slice(&[0, 0]);
        }
        Encapsulation::GreKey { key } => out.put_u32(*key),
        Encapsulation::Raw { value } => out.extend_from_slice(value),
    }
}

fn encode_sub_tlv(s: &SubTlv, out: &mut Vec<u8>) {
    let code = s.code();
    out.put_u8(code);
    let mut v = Vec::new();
    match s {
        SubTlv::Encapsulation { encap } => encode_encapsulation(encap, &mut v),
        SubTlv::ProtocolType { ethertype } => v.put_u16(*ethertype),
        SubTlv::Color { flags, color } => {
            v.extend_from_slice(&[0x03, 0x0b]);
            v.put_u16(*flags);
            v.put_u32(*color);
        }
        SubTlv::EgressEndpoint { address } => {
            v.put_u32(0);
            match address {
                None => v.put_u16(0),
                Some(IpAddr::V4(a)) => {
                    v.put_u16(1);
                    v.extend_from_slice(&a.octets());
                }
                Some(IpAddr::V6(a)) => {
                    v.put_u16(2);
                    v.extend_from_slice(&a.octets());
                }
            }
        }
        SubTlv::DsField { dscp } => v.put_u8(*dscp),
        SubTlv::UdpDestPort { port } => v.put_u16(*port),
        SubTlv::EmbeddedLabelHandling { value } => v.put_u8(*value),
        SubTlv::MplsLabelStack { entries } => entries.iter().for_each(|e| v.put_u32(*e)),
        SubTlv::IpsecSaId { ids } => ids.iter().for_each(|e| v.put_u32(*e)),
        SubTlv::ExtendedPort { port } => port.encode(&mut v),
        SubTlv::RekeyCounter { nonce } => nonce.encode(&mut v),
        SubTlv::PublicKey { key } => key.encode(&mut v),
        SubTlv::Proposal { proposal } => proposal.encode(&mut v),
        SubTlv::SimplifiedIpsecSa { sa } => sa.encode(&mut v),
        SubTlv::PrefixSid { value } | SubTlv::Unknown { value, .. } => v.extend_from_slice(value),
    }
    if code < 128 {
        out.put_u8(u8::try_from(v.len()).unwrap_or(u8::MAX));
    } else {
        out.put_u16(u16::try_from(v.len()).unwrap_or(u16::MAX));
    }
    out.extend_from_slice(&v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc9012_and_sdwan_sub_tlvs() {
        #[rustfmt::skip]
        let buf = [
            0, 8, 0, 28,                                  // VXLAN, 28 bytes
            1, 12, 0x80, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, // encap VNI 10
            4, 8, 0x03, 0x0b, 0, 0, 0, 0, 0, 100,         // color 100
            8, 2, 0x12, 0xb5,                             // UDP 4789
            0, 25, 0, 18,                                 // SD-WAN hybrid
            64, 4, 0, 0, 0, 7,                            // SA id 7
            6, 10, 0, 0, 0, 0, 0, 1, 192, 0, 2, 1,        // egress 192.0.2.1
        ];
        let t = TunnelEncap::decode(&buf).unwrap();
        assert_eq!(t.tunnels.len(), 2);
        assert_eq!(
            t.tunnels[0].sub_tlvs[0],
            SubTlv::Encapsulation {
                encap: Encapsulation::VnId {
                    vn_id: Some(10),
                    mac: None
                }
            }
        );
        assert_eq!(t.colors().collect::<Vec<_>>(), vec![100]);
        assert_eq!(t.tunnels[1].sub_tlvs[0], SubTlv::IpsecSaId { ids: vec![7] });
        let mut out = Vec::new();
        t.encode(&mut out);
        assert_eq!(out, buf);
    }

    #[test]
    fn keeps_unknown_and_two_byte_length_sub_tlvs() {
        let buf = [0, 77, 0, 9, 200, 0, 2, 0xaa, 0xbb, 99, 1, 0xcc, 0];
        // 200 has a 2-byte length; 99 is unknown with 1 byte; trailing 0 is
        // a truncated header -> error.
        assert!(TunnelEncap::decode(&buf).is_err());
        let buf = [0, 77, 0, 8, 200, 0, 2, 0xaa, 0xbb, 99, 1, 0xcc];
        let t = TunnelEncap::decode(&buf).unwrap();
        assert_eq!(
            t.tunnels[0].sub_tlvs[0],
            SubTlv::Unknown {
                code: 200,
                value: vec![0xaa, 0xbb]
            }
        );
        let mut out = Vec::new();
        t.encode(&mut out);
        assert_eq!(out, buf);
    }

    #[test]
    fn rejects_malformed() {
        assert!(TunnelEncap::decode(&[]).is_err());
        assert!(TunnelEncap::decode(&[0, 8, 0, 4, 4, 8]).is_err());
        assert!(TunnelEncap::decode(&[0, 8, 0, 3, 8, 1, 0]).is_err()); // port 1 byte
        assert!(TunnelEncap::decode(&[0, 8, 0, 10, 4, 8, 0x03, 0x0c, 0, 0, 0, 0, 0, 1]).is_err());
        assert!(TunnelEncap::decode(&[0, 8, 0, 8, 6, 6, 0, 0, 0, 0, 0, 1]).is_err());
    }
}
