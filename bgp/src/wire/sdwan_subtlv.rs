//! Typed values of the SD-WAN-Hybrid tunnel sub-TLVs (tunnel type 25) of
//! draft-ietf-idr-sdwan-edge-discovery: 65 Extended Port, 67 IPsec SA
//! Nonce with Rekey Counter, 68 Public Key, 69 IPsec SA Proposal, 70
//! Simplified IPsec SA. Only the *value* is here; `tunnel` adds the
//! sub-TLV type and length (RFC 9012 §2).
//!
//! Layouts. 67, 68 and 70 are byte-identical to what the crypto crate's
//! `keyex::params` encodes (the key agreement of
//! draft-ietf-bess-bgp-sdwan-usage §4.3; the drafts leave them open), and
//! are exactly as strict: whatever decodes here is accepted there.
//! 65 and 69 are this project's layouts after the field lists of the
//! edge-discovery draft (its text was not at hand to check the bit
//! positions): see the diagrams on [`ExtendedPort`] and [`SaProposal`].
//! Every decoder is strict (exact lengths, known code points, reserved
//! bits zero) and reports the offset of the first bad byte.

use super::cursor::{Cursor, PutBytes};
use super::error::{Malformed, VResult};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn bad<T>(at: usize) -> VResult<T> {
    Err(Malformed { at })
}

fn finish<T>(c: &Cursor, v: T) -> VResult<T> {
    if !c.is_empty() {
        return bad(c.pos());
    }
    Ok(v)
}

/// Sub-TLV 68, Public Key (34 bytes):
/// ```text
/// | Key Type (1 B, 1 = X25519) | Reserved (1 B, 0) | X25519 key (32 B, RFC 7748) |
/// ```
/// An all-zero key is malformed (it yields an all-zero shared secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PublicKey {
    pub x25519: [u8; 32],
}

pub const KEY_TYPE_X25519: u8 = 1;

impl PublicKey {
    pub const LEN: usize = 34;

    pub fn decode(v: &[u8]) -> VResult<PublicKey> {
        let mut c = Cursor::new(v);
        if c.u8()? != KEY_TYPE_X25519 {
            return bad(0);
        }
        if c.u8()? != 0 {
            return bad(1);
        }
        let x25519 = c.array::<32>()?;
        if x25519 == [0; 32] {
            return bad(2);
        }
        finish(&c, PublicKey { x25519 })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(KEY_TYPE_X25519);
        out.put_u8(0);
        out.extend_from_slice(&self.x25519);
    }
}

pub const MIN_NONCE: usize = 16;
pub const MAX_NONCE: usize = 32;

/// Sub-TLV 67, IPsec SA Nonce with Rekey Counter (5 + N bytes):
/// ```text
/// | Rekey Counter (4 B) | Nonce Length N (1 B, 16..=32) | Nonce (N B) |
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SaNonce {
    pub rekey_counter: u32,
    /// 16..=32 bytes (the encoder writes what is there; keep it in range).
    pub nonce: Vec<u8>,
}

impl SaNonce {
    pub fn decode(v: &[u8]) -> VResult<SaNonce> {
        let mut c = Cursor::new(v);
        let rekey_counter = c.u32()?;
        let n = usize::from(c.u8()?);
        if !(MIN_NONCE..=MAX_NONCE).contains(&n) {
            return bad(4);
        }
        let nonce = c.bytes(n)?.to_vec();
        finish(
            &c,
            SaNonce {
                rekey_counter,
                nonce,
            },
        )
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.rekey_counter);
        out.put_u8(u8::try_from(self.nonce.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&self.nonce);
    }
}

/// ESP transform of the Simplified IPsec SA (RFC 4106 AES-GCM, 16-byte ICV).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SaTransform {
    AesGcm128 = 1,
    AesGcm256 = 2,
}

pub const MIN_REPLAY_WINDOW: u16 = 64;
pub const MAX_REPLAY_WINDOW: u16 = 4096;

/// Sub-TLV 70, Simplified IPsec SA (12 bytes):
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Transform   |E|N|0 0 0 0 0 0|  Replay Window (64..=4096)     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   SA Lifetime (seconds)                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   SPI Base (informational)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Transform 1 AES-GCM-128, 2 AES-GCM-256; E: extended sequence numbers;
/// N: NAT-T capable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SimplifiedSa {
    pub transform: SaTransform,
    pub esn: bool,
    pub natt: bool,
    pub replay_window: u16,
    pub lifetime_secs: u32,
    pub spi_base: u32,
}

impl SimplifiedSa {
    pub const LEN: usize = 12;
    const FLAG_ESN: u8 = 0x80;
    const FLAG_NATT: u8 = 0x40;

    pub fn decode(v: &[u8]) -> VResult<SimplifiedSa> {
        let mut c = Cursor::new(v);
        let transform = match c.u8()? {
            1 => SaTransform::AesGcm128,
            2 => SaTransform::AesGcm256,
            _ => return bad(0),
        };
        let flags = c.u8()?;
        if flags & !(Self::FLAG_ESN | Self::FLAG_NATT) != 0 {
            return bad(1);
        }
        let replay_window = c.u16()?;
        if !(MIN_REPLAY_WINDOW..=MAX_REPLAY_WINDOW).contains(&replay_window) {
            return bad(2);
        }
        let sa = SimplifiedSa {
            transform,
            esn: flags & Self::FLAG_ESN != 0,
            natt: flags & Self::FLAG_NATT != 0,
            replay_window,
            lifetime_secs: c.u32()?,
            spi_base: c.u32()?,
        };
        finish(&c, sa)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(self.transform as u8);
        out.put_u8(
            if self.esn { Self::FLAG_ESN } else { 0 } | if self.natt { Self::FLAG_NATT } else { 0 },
        );
        out.put_u16(self.replay_window);
        out.put_u32(self.lifetime_secs);
        out.put_u32(self.spi_base);
    }
}

/// One transform of an IPsec SA proposal; type and id numbering from the
/// IANA IKEv2 registries (RFC 7296 §3.3.2): type 1 ENCR (e.g. 20
/// AES-GCM-16), 2 PRF, 3 INTEG, 4 DH group (e.g. 31 Curve25519), 5 ESN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Transform {
    pub transform_type: u8,
    pub id: u16,
    /// Key length in bits; 0 when the transform has none.
    pub key_bits: u16,
}

/// One proposal: a number and its transforms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub number: u8,
    pub transforms: Vec<Transform>,
}

/// Sub-TLV 69, IPsec SA Proposal: the transform sets the edge accepts, in
/// preference order. Our layout (see the module doc):
/// ```text
/// proposal+:  | Proposal Number (1 B) | Transform Count (1 B, >= 1) | transform* |
/// transform:  | Transform Type (1 B, 1..=5) | Transform ID (2 B) | Key Length (2 B, bits) |
/// ```
/// At least one proposal; the transforms fill the value exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SaProposal {
    pub proposals: Vec<Proposal>,
}

impl SaProposal {
    pub fn decode(v: &[u8]) -> VResult<SaProposal> {
        let mut c = Cursor::new(v);
        let mut proposals = Vec::new();
        while !c.is_empty() {
            let number = c.u8()?;
            let count_at = c.pos();
            let count = c.u8()?;
            if count == 0 {
                return bad(count_at);
            }
            let mut transforms = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                let at = c.pos();
                let transform_type = c.u8()?;
                if !(1..=5).contains(&transform_type) {
                    return bad(at);
                }
                transforms.push(Transform {
                    transform_type,
                    id: c.u16()?,
                    key_bits: c.u16()?,
                });
            }
            proposals.push(Proposal { number, transforms });
        }
        if proposals.is_empty() {
            return bad(0);
        }
        Ok(SaProposal { proposals })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        for p in &self.proposals {
            out.put_u8(p.number);
            out.put_u8(u8::try_from(p.transforms.len()).unwrap_or(u8::MAX));
            for t in p.transforms.iter().take(usize::from(u8::MAX)) {
                out.put_u8(t.transform_type);
                out.put_u16(t.id);
                out.put_u16(t.key_bits);
            }
        }
    }
}

/// NAT type seen by the edge's WAN port (the draft's list; RFC 4787 terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NatType {
    NoNat = 1,
    FullCone = 2,
    RestrictedCone = 3,
    PortRestrictedCone = 4,
    Symmetric = 5,
    Unknown = 6,
}

impl NatType {
    fn from_u8(v: u8) -> Option<NatType> {
        Some(match v {
            1 => NatType::NoNat,
            2 => NatType::FullCone,
            3 => NatType::RestrictedCone,
            4 => NatType::PortRestrictedCone,
            5 => NatType::Symmetric,
            6 => NatType::Unknown,
            _ => return None,
        })
    }
}

/// A sub-TLV inside the Extended Port value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum PortSubTlv {
    /// 1, Underlay Network Properties (6 B):
    /// `| Connection Type (1 B: 1 wired, 2 wireless) | Port Type (1 B:
    /// 1 Ethernet, 2 fiber, 3 coax, 4 cellular) | Port Speed (4 B, Mbit/s) |`
    Underlay {
        connection_type: u8,
        port_type: u8,
        speed_mbps: u32,
    },
    /// Any other type, kept byte-exact.
    Unknown { code: u8, value: Vec<u8> },
}

/// Sub-TLV 65, Extended Port: the WAN port's addresses before and after
/// NAT and its underlay. Our layout (see the module doc):
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |I|0 0 0 0 0 0 0|   NAT Type    |  Encap Type   | Transport Net |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     RD ID     |  Local IP address (4 B, or 16 B if I) ...     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Local Port (2 B)  | Public IP address (4 or 16 B) ...        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Public Port (2 B) | sub-TLVs: | Type (1 B) | Length (1 B) | value | ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// I: both addresses are IPv6. NAT Type: [`NatType`]. Encap Type: 1 IPsec
/// (ESP in UDP), 2 GRE, 3 VXLAN (kept as a number). Both addresses share
/// one family: a public address of the other family is encoded as the
/// unspecified address ([`ExtendedPort::is_valid`] tells).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExtendedPort {
    pub nat_type: NatType,
    pub encap_type: u8,
    pub transport_network_id: u8,
    pub rd_id: u8,
    pub local_addr: IpAddr,
    pub local_port: u16,
    pub public_addr: IpAddr,
    pub public_port: u16,
    pub sub_tlvs: Vec<PortSubTlv>,
}

impl ExtendedPort {
    const FLAG_V6: u8 = 0x80;

    /// Both addresses of one family (what the layout can carry).
    pub fn is_valid(&self) -> bool {
        self.local_addr.is_ipv6() == self.public_addr.is_ipv6()
    }

    pub fn decode(v: &[u8]) -> VResult<ExtendedPort> {
        let mut c = Cursor::new(v);
        let flags = c.u8()?;
        if flags & !Self::FLAG_V6 != 0 {
            return bad(0);
        }
        let v6 = flags & Self::FLAG_V6 != 0;
        let nat_type = NatType::from_u8(c.u8()?).ok_or(Malformed { at: 1 })?;
        let encap_type = c.u8()?;
        let transport_network_id = c.u8()?;
        let rd_id = c.u8()?;
        let addr = |c: &mut Cursor| -> VResult<IpAddr> {
            Ok(if v6 {
                IpAddr::V6(Ipv6Addr::from(c.array::<16>()?))
            } else {
                IpAddr::V4(Ipv4Addr::from(c.array::<4>()?))
            })
        };
        let local_addr = addr(&mut c)?;
        let local_port = c.u16()?;
        let public_addr = addr(&mut c)?;
        let public_port = c.u16()?;
        let mut sub_tlvs = Vec::new();
        while !c.is_empty() {
            let at = c.pos();
            let code = c.u8()?;
            let len = usize::from(c.u8()?);
            let value = c.bytes(len)?;
            sub_tlvs.push(match code {
                1 => {
                    let mut s = Cursor::new(value);
                    let u = PortSubTlv::Underlay {
                        connection_type: s.u8().map_err(|_| Malformed { at })?,
                        port_type: s.u8().map_err(|_| Malformed { at })?,
                        speed_mbps: s.u32().map_err(|_| Malformed { at })?,
                    };
                    if !s.is_empty() {
                        return bad(at);
                    }
                    u
                }
                code => PortSubTlv::Unknown {
                    code,
                    value: value.to_vec(),
                },
            });
        }
        Ok(ExtendedPort {
            nat_type,
            encap_type,
            transport_network_id,
            rd_id,
            local_addr,
            local_port,
            public_addr,
            public_port,
            sub_tlvs,
        })
    }

    /// Encode; a public address of the other family than the local one is
    /// written as the unspecified address of the local family.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let v6 = self.local_addr.is_ipv6();
        out.put_u8(if v6 { Self::FLAG_V6 } else { 0 });
        out.put_u8(self.nat_type as u8);
        out.put_u8(self.encap_type);
        out.put_u8(self.transport_network_id);
        out.put_u8(self.rd_id);
        let put = |out: &mut Vec<u8>, a: IpAddr| match (a, v6) {
            (IpAddr::V4(a), false) => out.extend_from_slice(&a.octets()),
            (IpAddr::V6(a), true) => out.extend_from_slice(&a.octets()),
            (_, false) => out.extend_from_slice(&[0; 4]),
            (_, true) => out.extend_from_slice(&[0; 16]),
        };
        put(out, self.local_addr);
        out.put_u16(self.local_port);
        put(out, self.public_addr);
        out.put_u16(self.public_port);
        for s in &self.sub_tlvs {
            match s {
                PortSubTlv::Underlay {
                    connection_type,
                    port_type,
                    speed_mbps,
                } => {
                    out.put_u8(1);
                    out.put_u8(6);
                    out.put_u8(*connection_type);
                    out.put_u8(*port_type);
                    out.put_u32(*speed_mbps);
                }
                PortSubTlv::Unknown { code, value } => {
                    out.put_u8(*code);
                    out.put_u8(u8::try_from(value.len()).unwrap_or(u8::MAX));
                    out.extend_from_slice(&value[..value.len().min(255)]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes produced by crypto/src/keyex/params.rs for the same values
    /// (written out by hand from its layout; the crates do not depend on
    /// each other).
    #[test]
    fn layouts_match_the_crypto_crate() {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8 + 1);
        let mut want = vec![1, 0];
        want.extend_from_slice(&key);
        let pk = PublicKey::decode(&want).unwrap();
        assert_eq!(pk.x25519, key);
        let mut out = Vec::new();
        pk.encode(&mut out);
        assert_eq!(out, want);

        let nonce: Vec<u8> = (0xa0..0xb0).collect();
        let mut want = vec![0, 0, 1, 2, 16];
        want.extend_from_slice(&nonce);
        let n = SaNonce::decode(&want).unwrap();
        assert_eq!((n.rekey_counter, n.nonce.clone()), (258, nonce));
        let mut out = Vec::new();
        n.encode(&mut out);
        assert_eq!(out, want);

        // AES-GCM-256, ESN + NAT-T, window 1024, 3600 s, SPI base 0x1000.
        let want = [2, 0xc0, 0x04, 0x00, 0, 0, 0x0e, 0x10, 0, 0, 0x10, 0];
        let sa = SimplifiedSa::decode(&want).unwrap();
        assert_eq!(
            sa,
            SimplifiedSa {
                transform: SaTransform::AesGcm256,
                esn: true,
                natt: true,
                replay_window: 1024,
                lifetime_secs: 3600,
                spi_base: 0x1000,
            }
        );
        let mut out = Vec::new();
        sa.encode(&mut out);
        assert_eq!(out, want);
    }

    #[test]
    fn strict_decoders_name_the_offset() {
        let mut k = vec![1, 0];
        k.extend_from_slice(&[0; 32]);
        assert_eq!(PublicKey::decode(&k).unwrap_err().at, 2);
        k[0] = 2;
        assert_eq!(PublicKey::decode(&k).unwrap_err().at, 0);
        assert!(PublicKey::decode(&[1, 0, 1]).is_err());
        assert_eq!(SaNonce::decode(&[0, 0, 0, 1, 8, 1]).unwrap_err().at, 4);
        let mut n = vec![0, 0, 0, 1, 16];
        n.extend_from_slice(&[7; 17]);
        assert_eq!(SaNonce::decode(&n).unwrap_err().at, 21);
        let sa = [1, 0x20, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(SimplifiedSa::decode(&sa).unwrap_err().at, 1);
        let sa = [1, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(SimplifiedSa::decode(&sa).unwrap_err().at, 2);
        assert!(SaProposal::decode(&[]).is_err());
        assert_eq!(SaProposal::decode(&[1, 0]).unwrap_err().at, 1);
        assert_eq!(
            SaProposal::decode(&[1, 1, 9, 0, 20, 0, 128])
                .unwrap_err()
                .at,
            2
        );
        assert!(ExtendedPort::decode(&[0, 7, 1, 0, 0]).is_err());
    }

    #[test]
    fn extended_port_and_proposal_round_trip() {
        let p = ExtendedPort {
            nat_type: NatType::PortRestrictedCone,
            encap_type: 1,
            transport_network_id: 2,
            rd_id: 0,
            local_addr: "192.168.1.10".parse().unwrap(),
            local_port: 4500,
            public_addr: "198.51.100.7".parse().unwrap(),
            public_port: 61000,
            sub_tlvs: vec![
                PortSubTlv::Underlay {
                    connection_type: 1,
                    port_type: 1,
                    speed_mbps: 1000,
                },
                PortSubTlv::Unknown {
                    code: 9,
                    value: vec![1, 2],
                },
            ],
        };
        let mut b = Vec::new();
        p.encode(&mut b);
        assert_eq!(b.len(), 5 + 4 + 2 + 4 + 2 + 8 + 4);
        assert_eq!(ExtendedPort::decode(&b).unwrap(), p);
        let pr = SaProposal {
            proposals: vec![Proposal {
                number: 1,
                transforms: vec![
                    Transform {
                        transform_type: 1,
                        id: 20,
                        key_bits: 256,
                    },
                    Transform {
                        transform_type: 4,
                        id: 31,
                        key_bits: 0,
                    },
                ],
            }],
        };
        let mut b = Vec::new();
        pr.encode(&mut b);
        assert_eq!(b, [1, 2, 1, 0, 20, 1, 0, 4, 0, 31, 0, 0]);
        assert_eq!(SaProposal::decode(&b).unwrap(), pr);
    }
}
