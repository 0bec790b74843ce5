//! Path attribute decoding with per-attribute RFC 7606 error handling.
//!
//! Each attribute's decoder reports only *that* it is malformed; the table
//! in [`action_for`] says what RFC 7606 §7 (and RFC 4271, 4456, 4760, 6793,
//! 8092, 9012) demands for that attribute: attribute discard,
//! treat-as-withdraw or session reset. Errors that allow the session to
//! survive are collected and the rest of the UPDATE is still decoded.

use super::attr::*;
use super::community::{ExtCommunity, LargeCommunity};
use super::cursor::Cursor;
use super::error::{code as ncode, Action, DecodeError, Malformed, Reason, VResult};
use super::family::Family;
use super::nlri::decode_nlri_list;
use super::tunnel::TunnelEncap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Negotiated options the decoder needs.
#[derive(Clone, Debug, Default)]
pub struct DecodeCtx {
    /// 4-octet AS capability exchanged by both sides (RFC 6793).
    pub four_octet_as: bool,
    /// Families for which we receive ADD-PATH path identifiers (RFC 7911).
    pub add_path_rx: Vec<Family>,
    /// Session is eBGP: LOCAL_PREF is discarded (RFC 7606 §7.5).
    pub ebgp: bool,
    /// RFC 8654 negotiated: messages up to 65535 bytes.
    pub extended_message: bool,
}

impl DecodeCtx {
    pub fn add_path(&self, f: Family) -> bool {
        self.add_path_rx.contains(&f)
    }
}

/// Result of decoding an attribute list that did not require a reset.
#[derive(Clone, Debug, Default)]
pub struct AttrDecode {
    pub attrs: PathAttributes,
    /// Errors handled by discard or treat-as-withdraw, in order found.
    pub errors: Vec<DecodeError>,
}

/// RFC 7606 action and reason for a malformed known attribute.
fn action_for(code: u8) -> (Action, Reason) {
    use code::*;
    use Action::*;
    match code {
        ORIGIN => (TreatAsWithdraw, Reason::InvalidOrigin), // §7.1
        AS_PATH => (TreatAsWithdraw, Reason::MalformedAsPath), // §7.2
        NEXT_HOP => (TreatAsWithdraw, Reason::InvalidNextHop), // §7.3
        MED => (TreatAsWithdraw, Reason::AttributeLength),  // §7.4
        LOCAL_PREF => (TreatAsWithdraw, Reason::AttributeLength), // §7.5
        ATOMIC_AGGREGATE => (AttributeDiscard, Reason::AttributeLength), // §7.6
        AGGREGATOR => (AttributeDiscard, Reason::MalformedAggregator), // §7.7
        COMMUNITIES => (TreatAsWithdraw, Reason::MalformedCommunities), // §7.8
        ORIGINATOR_ID => (TreatAsWithdraw, Reason::MalformedOriginatorId), // §7.9
        CLUSTER_LIST => (TreatAsWithdraw, Reason::MalformedClusterList), // §7.10
        MP_REACH => (SessionReset, Reason::MalformedMpReach), // §7.11
        MP_UNREACH => (SessionReset, Reason::MalformedMpUnreach), // §7.11
        EXT_COMMUNITIES => (TreatAsWithdraw, Reason::MalformedExtCommunities), // §7.14
        AS4_PATH => (AttributeDiscard, Reason::MalformedAs4Path), // RFC 6793 §6
        AS4_AGGREGATOR => (AttributeDiscard, Reason::MalformedAs4Aggregator), // RFC 6793 §6
        TUNNEL_ENCAP => (TreatAsWithdraw, Reason::MalformedTunnelEncap), // RFC 9012 §13
        LARGE_COMMUNITIES => (TreatAsWithdraw, Reason::MalformedLargeCommunities), // RFC 8092 §6
        _ => (AttributeDiscard, Reason::AttributeLength),
    }
}

fn attr_error(code: u8, reason: Reason, action: Action, offset: usize, subcode: u8) -> DecodeError {
    DecodeError {
        reason,
        offset,
        attr_type: Some(code),
        action,
        notify: (ncode::UPDATE, subcode),
        data: Vec::new(),
    }
}

/// Decode the Path Attributes field of an UPDATE. `base` is the offset of
/// `buf` inside the message (for error offsets).
pub fn decode_attributes(
    buf: &[u8],
    base: usize,
    ctx: &DecodeCtx,
) -> Result<AttrDecode, DecodeError> {
    let mut out = AttrDecode::default();
    let mut seen = [false; 256];
    let mut c = Cursor::new(buf);
    while !c.is_empty() {
        let start = base + c.pos();
        let rest = c.rest();
        // RFC 7606 §4: an attribute whose header does not fit (fewer than
        // 3, or 4 with Extended Length, octets left) or whose length
        // overruns the Total Path Attribute Length is treat-as-withdraw;
        // the total length still locates the NLRI field. Parsing stops
        // there. Exception: if the broken attribute is MP_REACH_NLRI or
        // MP_UNREACH_NLRI its NLRI cannot be located to be withdrawn, so
        // the session is reset (RFC 7606 §3 j, §5.3).
        let header = match rest {
            [f, code, l, ..] if f & FLAG_EXT_LEN == 0 => Some((*f, *code, 3, usize::from(*l))),
            [f, code, a, b, ..] if f & FLAG_EXT_LEN != 0 => {
                Some((*f, *code, 4, usize::from(u16::from_be_bytes([*a, *b]))))
            }
            _ => None,
        };
        let Some((flags, code, hlen, len)) = header.filter(|h| h.2 + h.3 <= rest.len()) else {
            let code = rest.get(1).copied();
            if code == Some(code::MP_REACH) || code == Some(code::MP_UNREACH) {
                return Err(DecodeError::reset(
                    Reason::AttributeLengthOverrun,
                    start,
                    ncode::UPDATE,
                    1,
                )
                .with_attr(code.unwrap_or(0)));
            }
            out.errors.push(DecodeError {
                reason: Reason::AttributeLengthOverrun,
                offset: start,
                attr_type: code,
                action: Action::TreatAsWithdraw,
                notify: (ncode::UPDATE, 1),
                data: Vec::new(),
            });
            break;
        };
        // Both fit (checked above).
        let _ = c.bytes(hlen);
        let vstart = base + c.pos();
        let value = c.bytes(len).unwrap_or_default();

        // Duplicates (RFC 7606 §3 g): MP attributes reset, others: keep the
        // first, discard the rest.
        let slot = &mut seen[usize::from(code)];
        if *slot {
            if code == code::MP_REACH || code == code::MP_UNREACH {
                return Err(DecodeError::reset(
                    Reason::DuplicateMpAttribute,
                    start,
                    ncode::UPDATE,
                    1,
                )
                .with_attr(code));
            }
            out.errors.push(attr_error(
                code,
                Reason::DuplicateAttribute,
                Action::AttributeDiscard,
                start,
                1,
            ));
            continue;
        }
        *slot = true;

        let Some(expected) = expected_flags(code) else {
            // Unrecognized attribute (RFC 4271 §5, §6.3).
            if flags & FLAG_OPTIONAL == 0 {
                return Err(DecodeError::reset(
                    Reason::UnrecognizedWellKnown,
                    start,
                    ncode::UPDATE,
                    2,
                )
                .with_attr(code)
                .with_data(value));
            }
            if flags & FLAG_TRANSITIVE != 0 {
                out.attrs.unknown.push(RawAttr {
                    flags: (flags | FLAG_PARTIAL) & !FLAG_EXT_LEN,
                    code,
                    value: value.to_vec(),
                });
            }
            continue;
        };

        // RFC 7606 §3 c: flag errors are handled like that attribute's
        // malformation.
        if flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE) != expected {
            let (action, _) = action_for(code);
            if action == Action::SessionReset {
                return Err(
                    DecodeError::reset(Reason::AttributeFlags, start, ncode::UPDATE, 4)
                        .with_attr(code),
                );
            }
            out.errors
                .push(attr_error(code, Reason::AttributeFlags, action, start, 4));
            continue;
        }

        if code == code::LOCAL_PREF && ctx.ebgp {
            // RFC 7606 §7.5: ignore LOCAL_PREF from an external peer.
            out.errors.push(attr_error(
                code,
                Reason::LocalPrefFromEbgp,
                Action::AttributeDiscard,
                start,
                0,
            ));
            continue;
        }

        match decode_one(code, value, ctx, &mut out.attrs) {
            Ok(()) => {}
            Err(OneErr::Family) => {
                out.errors.push(attr_error(
                    code,
                    Reason::UnsupportedFamily,
                    Action::AttributeDiscard,
                    start,
                    9,
                ));
            }
            Err(OneErr::Bad(m)) => {
                let (action, reason) = action_for(code);
                let off = vstart + m.at;
                if action == Action::SessionReset {
                    let sub = if code == code::MP_REACH || code == code::MP_UNREACH {
                        9
                    } else {
                        1
                    };
                    return Err(DecodeError::reset(reason, off, ncode::UPDATE, sub).with_attr(code));
                }
                out.errors.push(attr_error(code, reason, action, off, 0));
            }
        }
    }
    Ok(out)
}

enum OneErr {
    Bad(Malformed),
    Family,
}

impl From<Malformed> for OneErr {
    fn from(m: Malformed) -> Self {
        OneErr::Bad(m)
    }
}

fn exact<const N: usize>(v: &[u8]) -> VResult<[u8; N]> {
    let mut c = Cursor::new(v);
    let a = c.array::<N>()?;
    if !c.is_empty() {
        return c.err();
    }
    Ok(a)
}

fn decode_one(code: u8, v: &[u8], ctx: &DecodeCtx, a: &mut PathAttributes) -> Result<(), OneErr> {
    use code::*;
    match code {
        ORIGIN => {
            a.origin = Some(match exact::<1>(v)?[0] {
                0 => Origin::Igp,
                1 => Origin::Egp,
                2 => Origin::Incomplete,
                _ => return Err(Malformed { at: 0 }.into()),
            })
        }
        AS_PATH => a.as_path = Some(decode_as_path(v, ctx.four_octet_as)?),
        NEXT_HOP => {
            let nh = Ipv4Addr::from(exact::<4>(v)?);
            // RFC 4271 §6.3: a multicast or unspecified next hop is invalid.
            if nh.is_multicast() || nh.is_unspecified() || nh.is_broadcast() {
                return Err(Malformed { at: 0 }.into());
            }
            a.next_hop = Some(nh);
        }
        MED => a.med = Some(u32::from_be_bytes(exact(v)?)),
        LOCAL_PREF => a.local_pref = Some(u32::from_be_bytes(exact(v)?)),
        ATOMIC_AGGREGATE => {
            exact::<0>(v)?;
            a.atomic_aggregate = true;
        }
        AGGREGATOR => a.aggregator = Some(decode_aggregator(v, ctx.four_octet_as)?),
        COMMUNITIES => {
            if v.is_empty() || v.len() % 4 != 0 {
                return Err(Malformed { at: 0 }.into());
            }
            a.communities = v
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
        }
        ORIGINATOR_ID => a.originator_id = Some(Ipv4Addr::from(exact::<4>(v)?)),
        CLUSTER_LIST => {
            if v.is_empty() || v.len() % 4 != 0 {
                return Err(Malformed { at: 0 }.into());
            }
            a.cluster_list = v
                .chunks_exact(4)
                .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                .collect();
        }
        MP_REACH => a.mp_reach = Some(decode_mp_reach(v, ctx)?),
        MP_UNREACH => {
            let mut c = Cursor::new(v);
            let afi = c.u16()?;
            let safi = c.u8()?;
            let family = Family::from_afi_safi(afi, safi).ok_or(OneErr::Family)?;
            let at = c.pos();
            let withdrawn = decode_nlri_list(c.rest(), family, ctx.add_path(family))
                .map_err(|m| Malformed { at: at + m.at })?;
            a.mp_unreach = Some(MpUnreach { family, withdrawn });
        }
        EXT_COMMUNITIES => {
            if v.is_empty() || v.len() % 8 != 0 {
                return Err(Malformed { at: 0 }.into());
            }
            a.ext_communities = v
                .chunks_exact(8)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    ExtCommunity(b)
                })
                .collect();
        }
        AS4_PATH => {
            let p = decode_as_path(v, true)?;
            // RFC 6793 §6: AS4_PATH may not carry confederation segments.
            if p.segments
                .iter()
                .any(|s| matches!(s.kind, SegmentKind::ConfedSequence | SegmentKind::ConfedSet))
            {
                return Err(Malformed { at: 0 }.into());
            }
            a.as4_path = Some(p);
        }
        AS4_AGGREGATOR => a.as4_aggregator = Some(decode_aggregator(v, true)?),
        TUNNEL_ENCAP => a.tunnel_encap = Some(TunnelEncap::decode(v)?),
        LARGE_COMMUNITIES => {
            if v.is_empty() || v.len() % 12 != 0 {
                return Err(Malformed { at: 0 }.into());
            }
            a.large_communities = v
                .chunks_exact(12)
                .map(|c| LargeCommunity {
                    global: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                    data1: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                    data2: u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
                })
                .collect();
        }
        _ => {}
    }
    Ok(())
}

/// AS_PATH (RFC 4271 §4.3; RFC 7606 §7.2: zero-count segments and unknown
/// segment types are malformed).
fn decode_as_path(v: &[u8], four: bool) -> VResult<AsPath> {
    let mut c = Cursor::new(v);
    let mut segments = Vec::new();
    while !c.is_empty() {
        let at = c.pos();
        let kind = match c.u8()? {
            1 => SegmentKind::Set,
            2 => SegmentKind::Sequence,
            3 => SegmentKind::ConfedSequence,
            4 => SegmentKind::ConfedSet,
            _ => return Err(Malformed { at }),
        };
        let n = c.u8()?;
        if n == 0 {
            return Err(Malformed { at: at + 1 });
        }
        let mut asns = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            asns.push(if four { c.u32()? } else { u32::from(c.u16()?) });
        }
        // Canonical form: consecutive segments of one kind are merged when
        // the first is not full (the encoder splits at 255).
        match segments.last_mut() {
            Some(Segment {
                kind: k,
                asns: prev,
            }) if *k == kind && prev.len() % 255 == 0 => prev.extend(asns),
            _ => segments.push(Segment { kind, asns }),
        }
    }
    Ok(AsPath { segments })
}

fn decode_aggregator(v: &[u8], four: bool) -> VResult<Aggregator> {
    if four {
        let b = exact::<8>(v)?;
        Ok(Aggregator {
            asn: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            address: Ipv4Addr::new(b[4], b[5], b[6], b[7]),
        })
    } else {
        let b = exact::<6>(v)?;
        Ok(Aggregator {
            asn: u32::from(u16::from_be_bytes([b[0], b[1]])),
            address: Ipv4Addr::new(b[2], b[3], b[4], b[5]),
        })
    }
}

/// MP_REACH_NLRI (RFC 4760 §3); next hop lengths per family (RFC 4364
/// §4.3.2, RFC 4659 §3.2.1, RFC 2545 §3, RFC 8950).
fn decode_mp_reach(v: &[u8], ctx: &DecodeCtx) -> Result<MpReach, OneErr> {
    let mut c = Cursor::new(v);
    let afi = c.u16()?;
    let safi = c.u8()?;
    let family = Family::from_afi_safi(afi, safi).ok_or(OneErr::Family)?;
    let nh_len = usize::from(c.u8()?);
    let nh_at = c.pos();
    let nh = c.bytes(nh_len)?;
    let next_hop = decode_next_hop(nh, family).map_err(|m| Malformed { at: nh_at + m.at })?;
    let _reserved = c.u8()?;
    let at = c.pos();
    let nlri = decode_nlri_list(c.rest(), family, ctx.add_path(family))
        .map_err(|m| Malformed { at: at + m.at })?;
    Ok(MpReach {
        family,
        next_hop,
        nlri,
    })
}

fn decode_next_hop(nh: &[u8], family: Family) -> VResult<NextHop> {
    let mut c = Cursor::new(nh);
    let rd = family.next_hop_has_rd();
    let take_rd = |c: &mut Cursor| -> VResult<()> {
        if rd && c.u64()? != 0 {
            return Err(Malformed { at: 0 });
        }
        Ok(())
    };
    let body = nh
        .len()
        .checked_sub(if rd { 8 } else { 0 })
        .ok_or(Malformed { at: 0 })?;
    let next_hop = match body {
        4 => {
            take_rd(&mut c)?;
            NextHop {
                addr: IpAddr::V4(Ipv4Addr::from(c.array::<4>()?)),
                link_local: None,
            }
        }
        16 => {
            take_rd(&mut c)?;
            NextHop {
                addr: IpAddr::V6(Ipv6Addr::from(c.array::<16>()?)),
                link_local: None,
            }
        }
        // Global + link-local; VPN: RD + global + RD + link-local (40 = 48-8).
        32 | 40 => {
            take_rd(&mut c)?;
            if (body == 40) != rd {
                return Err(Malformed { at: 0 });
            }
            let g = Ipv6Addr::from(c.array::<16>()?);
            take_rd(&mut c)?;
            NextHop {
                addr: IpAddr::V6(g),
                link_local: Some(Ipv6Addr::from(c.array::<16>()?)),
            }
        }
        _ => return Err(Malformed { at: 0 }),
    };
    Ok(next_hop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx4() -> DecodeCtx {
        DecodeCtx {
            four_octet_as: true,
            ..Default::default()
        }
    }

    #[test]
    fn malformed_optional_attribute_is_discard_or_withdraw_not_reset() {
        // ORIGIN ok, AGGREGATOR with 3 bytes (discard), COMMUNITIES 3 bytes (withdraw).
        let buf = [0x40, 1, 1, 0, 0xc0, 7, 3, 1, 2, 3, 0xc0, 8, 3, 1, 2, 3];
        let d = decode_attributes(&buf, 23, &ctx4()).unwrap();
        assert_eq!(d.attrs.origin, Some(Origin::Igp));
        assert_eq!(d.errors.len(), 2);
        assert_eq!(d.errors[0].reason, Reason::MalformedAggregator);
        assert_eq!(d.errors[0].action, Action::AttributeDiscard);
        assert_eq!(d.errors[0].attr_type, Some(7));
        assert_eq!(d.errors[1].action, Action::TreatAsWithdraw);
        assert_eq!(d.errors[1].offset, 23 + 13);
    }

    #[test]
    fn mp_reach_errors_reset_and_overrun_resets() {
        let bad_nh = [0x80, 14, 6, 0, 1, 128, 2, 0, 0];
        let e = decode_attributes(&bad_nh, 0, &ctx4()).unwrap_err();
        assert_eq!(e.action, Action::SessionReset);
        assert_eq!(e.reason, Reason::MalformedMpReach);
        // An MP attribute that overruns: its NLRI is lost, reset.
        let e = decode_attributes(&[0x80, 14, 9, 0, 1], 0, &ctx4()).unwrap_err();
        assert_eq!(e.reason, Reason::AttributeLengthOverrun);
        assert_eq!(e.action, Action::SessionReset);
    }

    #[test]
    fn overrun_is_treat_as_withdraw_keeping_what_was_parsed() {
        // ORIGIN fine, then ORIGIN-length 5 with one byte left (RFC 7606 §4).
        let d = decode_attributes(&[0x40, 1, 1, 0, 0xc0, 8, 5, 0], 7, &ctx4()).unwrap();
        assert_eq!(d.attrs.origin, Some(Origin::Igp));
        assert_eq!(d.errors.len(), 1);
        let e = &d.errors[0];
        assert_eq!(
            (e.reason, e.action, e.offset, e.attr_type),
            (
                Reason::AttributeLengthOverrun,
                Action::TreatAsWithdraw,
                11,
                Some(8)
            )
        );
        // Two stray bytes: not even a header.
        let d = decode_attributes(&[0x40, 1, 1, 0, 0x40, 2], 0, &ctx4()).unwrap();
        assert_eq!(d.errors[0].action, Action::TreatAsWithdraw);
        // An MP_UNREACH whose header is cut: reset.
        let e = decode_attributes(&[0x90, 15, 0], 0, &ctx4()).unwrap_err();
        assert_eq!(e.action, Action::SessionReset);
    }

    #[test]
    fn unknown_attributes() {
        // optional transitive 99: kept with partial bit; optional
        // non-transitive 98: dropped; well-known 97: reset.
        let d = decode_attributes(&[0xc0, 99, 1, 7, 0x80, 98, 0], 0, &ctx4()).unwrap();
        assert_eq!(
            d.attrs.unknown,
            vec![RawAttr {
                flags: 0xe0,
                code: 99,
                value: vec![7]
            }]
        );
        let e = decode_attributes(&[0x40, 97, 0], 0, &ctx4()).unwrap_err();
        assert_eq!(e.reason, Reason::UnrecognizedWellKnown);
        assert_eq!(e.notify, (3, 2));
    }

    #[test]
    fn as_path_two_and_four_octet() {
        let d = decode_attributes(
            &[0x40, 2, 6, 2, 2, 0xfd, 0xe8, 0xfd, 0xe9],
            0,
            &DecodeCtx::default(),
        )
        .unwrap();
        assert_eq!(d.attrs.as_path, Some(AsPath::sequence(vec![65000, 65001])));
        let d = decode_attributes(&[0x40, 2, 2, 2, 0], 0, &ctx4()).unwrap();
        assert_eq!(d.errors[0].reason, Reason::MalformedAsPath);
        assert_eq!(d.errors[0].action, Action::TreatAsWithdraw);
    }

    #[test]
    fn flag_errors_and_duplicates() {
        // ORIGIN marked optional: treat-as-withdraw; duplicate MED discarded.
        let buf = [
            0xc0, 1, 1, 0, 0x80, 4, 4, 0, 0, 0, 1, 0x80, 4, 4, 0, 0, 0, 2,
        ];
        let d = decode_attributes(&buf, 0, &ctx4()).unwrap();
        assert_eq!(d.errors[0].reason, Reason::AttributeFlags);
        assert_eq!(d.errors[0].action, Action::TreatAsWithdraw);
        assert_eq!(d.attrs.med, Some(1));
        assert_eq!(d.errors[1].reason, Reason::DuplicateAttribute);
    }

    #[test]
    fn vpnv6_next_hop_forms() {
        let mut nh = vec![0u8; 24];
        nh[8] = 0x20;
        let h = decode_next_hop(&nh, Family::Vpnv6).unwrap();
        assert!(h.addr.is_ipv6());
        assert!(decode_next_hop(&[0u8; 12], Family::Vpnv6)
            .unwrap()
            .addr
            .is_ipv4());
        assert!(decode_next_hop(&[1u8; 12], Family::Vpnv4).is_err());
        assert!(decode_next_hop(&[0u8; 48], Family::Vpnv6)
            .unwrap()
            .link_local
            .is_some());
        assert!(decode_next_hop(&[0u8; 5], Family::Ipv4Unicast).is_err());
    }
}
