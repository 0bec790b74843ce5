//! Path attributes (RFC 4271 §4.3, §5): the typed representation and the
//! encoder. Decoding with RFC 7606 error handling is in `attr_decode`.
//!
//! ```text
//! attribute: | flags (1 B) | type (1 B) | length (1 B, or 2 B if flag 0x10) | value |
//! flags: 0x80 optional, 0x40 transitive, 0x20 partial, 0x10 extended length
//! ```

use super::community::{ExtCommunity, LargeCommunity};
use super::cursor::PutBytes;
use super::family::Family;
use super::nlri::{encode_nlri, PathNlri};
use super::tunnel::TunnelEncap;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const FLAG_OPTIONAL: u8 = 0x80;
pub const FLAG_TRANSITIVE: u8 = 0x40;
pub const FLAG_PARTIAL: u8 = 0x20;
pub const FLAG_EXT_LEN: u8 = 0x10;

pub mod code {
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MED: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const AGGREGATOR: u8 = 7;
    pub const COMMUNITIES: u8 = 8;
    pub const ORIGINATOR_ID: u8 = 9;
    pub const CLUSTER_LIST: u8 = 10;
    pub const MP_REACH: u8 = 14;
    pub const MP_UNREACH: u8 = 15;
    pub const EXT_COMMUNITIES: u8 = 16;
    pub const AS4_PATH: u8 = 17;
    pub const AS4_AGGREGATOR: u8 = 18;
    pub const TUNNEL_ENCAP: u8 = 23;
    pub const LARGE_COMMUNITIES: u8 = 32;
    /// Type codes with their own field in [`super::PathAttributes`].
    pub const KNOWN: [u8; 17] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 23, 32];
}

/// The flags each known attribute must carry (optional/transitive bits).
pub fn expected_flags(code: u8) -> Option<u8> {
    use code::*;
    Some(match code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => FLAG_TRANSITIVE,
        MED | ORIGINATOR_ID | CLUSTER_LIST | MP_REACH | MP_UNREACH => FLAG_OPTIONAL,
        AGGREGATOR | COMMUNITIES | EXT_COMMUNITIES | AS4_PATH | AS4_AGGREGATOR | TUNNEL_ENCAP
        | LARGE_COMMUNITIES => FLAG_OPTIONAL | FLAG_TRANSITIVE,
        _ => return None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Igp = 0,
    Egp = 1,
    Incomplete = 2,
}

/// AS_PATH segment types (RFC 4271 §4.3, RFC 5065 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SegmentKind {
    Set = 1,
    Sequence = 2,
    ConfedSequence = 3,
    ConfedSet = 4,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Segment {
    pub kind: SegmentKind,
    pub asns: Vec<u32>,
}

/// AS_PATH (or AS4_PATH): segments of 2- or 4-byte ASNs, held as u32.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct AsPath {
    pub segments: Vec<Segment>,
}

impl AsPath {
    pub fn sequence(asns: Vec<u32>) -> AsPath {
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![Segment {
                kind: SegmentKind::Sequence,
                asns,
            }],
        }
    }

    /// Path length for the decision process (RFC 4271 §9.1.2.2 a): a set
    /// counts 1, confederation segments 0.
    pub fn decision_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentKind::Sequence => s.asns.len(),
                SegmentKind::Set => 1,
                _ => 0,
            })
            .sum()
    }

    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// First AS of the path (the neighbor AS for MED comparison).
    pub fn first_as(&self) -> Option<u32> {
        self.segments
            .iter()
            .find(|s| s.kind == SegmentKind::Sequence)
            .and_then(|s| s.asns.first().copied())
    }

    /// Prepend `asn` (RFC 4271 §5.1.2), opening a new sequence segment when
    /// the first one is not a sequence or already holds 255 ASNs.
    pub fn prepend(&mut self, asn: u32) {
        match self.segments.first_mut() {
            Some(s) if s.kind == SegmentKind::Sequence && s.asns.len() < 255 => {
                s.asns.insert(0, asn)
            }
            _ => self.segments.insert(
                0,
                Segment {
                    kind: SegmentKind::Sequence,
                    asns: vec![asn],
                },
            ),
        }
    }

    /// ```text
    /// segment: | type (1 B) | count (1 B) | ASN (2 or 4 B) * count |
    /// ```
    pub fn encode(&self, four_octet: bool, out: &mut Vec<u8>) {
        for s in &self.segments {
            for chunk in s.asns.chunks(255) {
                out.put_u8(s.kind as u8);
                out.put_u8(chunk.len() as u8);
                for a in chunk {
                    if four_octet {
                        out.put_u32(*a);
                    } else {
                        out.put_u16(u16::try_from(*a).unwrap_or(AS_TRANS));
                    }
                }
            }
        }
    }
}

/// RFC 6793 §9: the 2-byte stand-in for a 4-byte ASN.
pub const AS_TRANS: u16 = 23456;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Aggregator {
    pub asn: u32,
    pub address: Ipv4Addr,
}

/// MP next hop (RFC 4760 §3): global address and, for IPv6, an optional
/// link-local one. VPN families prefix each with a zero RD on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct NextHop {
    pub addr: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_local: Option<Ipv6Addr>,
}

impl NextHop {
    pub fn encode(&self, family: Family, out: &mut Vec<u8>) {
        let rd = family.next_hop_has_rd();
        if rd {
            out.extend_from_slice(&[0; 8]);
        }
        match self.addr {
            IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
        }
        if let Some(ll) = self.link_local {
            if rd {
                out.extend_from_slice(&[0; 8]);
            }
            out.extend_from_slice(&ll.octets());
        }
    }
}

/// MP_REACH_NLRI (RFC 4760 §3).
///
/// ```text
/// | AFI (2 B) | SAFI (1 B) | NH length (1 B) | next hop | reserved (1 B) | NLRI |
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MpReach {
    pub family: Family,
    pub next_hop: NextHop,
    pub nlri: Vec<PathNlri>,
}

/// MP_UNREACH_NLRI (RFC 4760 §4): `| AFI (2 B) | SAFI (1 B) | withdrawn NLRI |`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MpUnreach {
    pub family: Family,
    pub withdrawn: Vec<PathNlri>,
}

/// An attribute we do not interpret, kept for passing on (RFC 4271 §5).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct RawAttr {
    /// Flags without the extended-length bit (chosen again on encode).
    pub flags: u8,
    pub code: u8,
    pub value: Vec<u8>,
}

/// All path attributes of one UPDATE, typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PathAttributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_path: Option<AsPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub atomic_aggregate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregator: Option<Aggregator>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub originator_id: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cluster_list: Vec<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mp_reach: Option<MpReach>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mp_unreach: Option<MpUnreach>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ext_communities: Vec<ExtCommunity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as4_path: Option<AsPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as4_aggregator: Option<Aggregator>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel_encap: Option<TunnelEncap>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub large_communities: Vec<LargeCommunity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<RawAttr>,
}

/// Options of the encoder, from the negotiated capabilities.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncodeCtx {
    pub four_octet_as: bool,
}

fn put_attr(out: &mut Vec<u8>, flags: u8, code: u8, value: &[u8]) {
    if value.len() > 255 {
        out.put_u8(flags | FLAG_EXT_LEN);
        out.put_u8(code);
        out.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
    } else {
        out.put_u8(flags & !FLAG_EXT_LEN);
        out.put_u8(code);
        out.put_u8(value.len() as u8);
    }
    out.extend_from_slice(value);
}

fn known(out: &mut Vec<u8>, code: u8, value: &[u8]) {
    put_attr(
        out,
        expected_flags(code).unwrap_or(FLAG_OPTIONAL),
        code,
        value,
    );
}

fn encode_aggregator(a: &Aggregator, four: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(8);
    if four {
        v.put_u32(a.asn);
    } else {
        v.put_u16(u16::try_from(a.asn).unwrap_or(AS_TRANS));
    }
    v.extend_from_slice(&a.address.octets());
    v
}

impl PathAttributes {
    /// Encode all attributes in type-code order, unknown ones last in the
    /// order received.
    pub fn encode(&self, ctx: EncodeCtx, out: &mut Vec<u8>) {
        use code::*;
        let four = ctx.four_octet_as;
        if let Some(o) = self.origin {
            known(out, ORIGIN, &[o as u8]);
        }
        if let Some(p) = &self.as_path {
            let mut v = Vec::new();
            p.encode(four, &mut v);
            known(out, AS_PATH, &v);
        }
        if let Some(nh) = self.next_hop {
            known(out, NEXT_HOP, &nh.octets());
        }
        if let Some(m) = self.med {
            known(out, MED, &m.to_be_bytes());
        }
        if let Some(l) = self.local_pref {
            known(out, LOCAL_PREF, &l.to_be_bytes());
        }
        if self.atomic_aggregate {
            known(out, ATOMIC_AGGREGATE, &[]);
        }
        if let Some(a) = &self.aggregator {
            known(out, AGGREGATOR, &encode_aggregator(a, four));
        }
        if !self.communities.is_empty() {
            let v: Vec<u8> = self
                .communities
                .iter()
                .flat_map(|c| c.to_be_bytes())
                .collect();
            known(out, COMMUNITIES, &v);
        }
        if let Some(o) = self.originator_id {
            known(out, ORIGINATOR_ID, &o.octets());
        }
        if !self.cluster_list.is_empty() {
            let v: Vec<u8> = self.cluster_list.iter().flat_map(|c| c.octets()).collect();
            known(out, CLUSTER_LIST, &v);
        }
        if let Some(r) = &self.mp_reach {
            let (afi, safi) = r.family.afi_safi();
            let mut v = Vec::new();
            v.put_u16(afi);
            v.put_u8(safi);
            let mut nh = Vec::new();
            r.next_hop.encode(r.family, &mut nh);
            v.put_u8(nh.len() as u8);
            v.extend_from_slice(&nh);
            v.put_u8(0);
            for n in &r.nlri {
                encode_nlri(n, &mut v);
            }
            known(out, MP_REACH, &v);
        }
        if let Some(u) = &self.mp_unreach {
            let (afi, safi) = u.family.afi_safi();
            let mut v = Vec::new();
            v.put_u16(afi);
            v.put_u8(safi);
            for n in &u.withdrawn {
                encode_nlri(n, &mut v);
            }
            known(out, MP_UNREACH, &v);
        }
        if !self.ext_communities.is_empty() {
            let v: Vec<u8> = self.ext_communities.iter().flat_map(|c| c.0).collect();
            known(out, EXT_COMMUNITIES, &v);
        }
        if let Some(p) = &self.as4_path {
            let mut v = Vec::new();
            p.encode(true, &mut v);
            known(out, AS4_PATH, &v);
        }
        if let Some(a) = &self.as4_aggregator {
            known(out, AS4_AGGREGATOR, &encode_aggregator(a, true));
        }
        if let Some(t) = &self.tunnel_encap {
            let mut v = Vec::new();
            t.encode(&mut v);
            known(out, TUNNEL_ENCAP, &v);
        }
        if !self.large_communities.is_empty() {
            let mut v = Vec::new();
            for l in &self.large_communities {
                v.put_u32(l.global);
                v.put_u32(l.data1);
                v.put_u32(l.data2);
            }
            known(out, LARGE_COMMUNITIES, &v);
        }
        for u in &self.unknown {
            put_attr(out, u.flags, u.code, &u.value);
        }
    }

    /// Route Targets among the extended communities.
    pub fn route_targets(&self) -> impl Iterator<Item = &ExtCommunity> {
        self.ext_communities.iter().filter(|c| c.is_route_target())
    }

    /// Colors among the extended communities (RFC 9012 §4.3).
    pub fn colors(&self) -> impl Iterator<Item = u32> + '_ {
        self.ext_communities.iter().filter_map(|c| c.as_color())
    }
}
