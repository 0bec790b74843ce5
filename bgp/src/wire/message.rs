//! BGP message framing (RFC 4271 §4.1) and the message types: OPEN,
//! UPDATE (§4.3), NOTIFICATION (§4.5), KEEPALIVE (§4.4), ROUTE-REFRESH
//! (RFC 2918 §3, RFC 7313 §3).
//!
//! ```text
//! header: | marker (16 B, all ones) | length (2 B, 19..=4096 or 65535) | type (1 B) |
//! UPDATE: | withdrawn len (2 B) | withdrawn | attrs len (2 B) | attrs | NLRI |
//! NOTIFICATION: | code (1 B) | subcode (1 B) | data |
//! ROUTE-REFRESH: | AFI (2 B) | subtype (1 B) | SAFI (1 B) |
//! ```

use super::attr::{EncodeCtx, PathAttributes};
use super::attr_decode::{decode_attributes, DecodeCtx};
use super::cursor::{Cursor, PutBytes};
use super::error::{code, Action, DecodeError, Reason};
use super::family::Family;
use super::nlri::{decode_nlri_list, encode_nlri, PathNlri};
use super::open::Open;
use serde::Serialize;

pub const HEADER_LEN: usize = 19;
pub const MAX_LEN: usize = 4096;
pub const MAX_EXT_LEN: usize = 65535;

pub const TYPE_OPEN: u8 = 1;
pub const TYPE_UPDATE: u8 = 2;
pub const TYPE_NOTIFICATION: u8 = 3;
pub const TYPE_KEEPALIVE: u8 = 4;
pub const TYPE_ROUTE_REFRESH: u8 = 5;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Update {
    /// IPv4 unicast withdrawn routes.
    pub withdrawn: Vec<PathNlri>,
    pub attrs: PathAttributes,
    /// IPv4 unicast NLRI.
    pub nlri: Vec<PathNlri>,
}

impl Update {
    /// End-of-RIB marker for `family` (RFC 4724 §2).
    pub fn end_of_rib(family: Family) -> Update {
        let mut u = Update::default();
        if family != Family::Ipv4Unicast {
            u.attrs.mp_unreach = Some(super::attr::MpUnreach {
                family,
                withdrawn: Vec::new(),
            });
        }
        u
    }

    /// Is this an End-of-RIB marker? Returns its family.
    pub fn is_end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        let a = &self.attrs;
        if *a == PathAttributes::default() {
            return Some(Family::Ipv4Unicast);
        }
        match &a.mp_unreach {
            Some(u) if u.withdrawn.is_empty() && a.mp_reach.is_none() => {
                let only = PathAttributes {
                    mp_unreach: a.mp_unreach.clone(),
                    ..Default::default()
                };
                (only == *a).then_some(u.family)
            }
            _ => None,
        }
    }

    /// Does the UPDATE announce anything (IPv4 NLRI or MP_REACH NLRI)?
    pub fn has_reachable(&self) -> bool {
        !self.nlri.is_empty()
            || self
                .attrs
                .mp_reach
                .as_ref()
                .is_some_and(|r| !r.nlri.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl Notification {
    pub fn new(code: u8, subcode: u8) -> Notification {
        Notification {
            code,
            subcode,
            data: Vec::new(),
        }
    }
    pub fn from_error(e: &DecodeError) -> Notification {
        Notification {
            code: e.notify.0,
            subcode: e.notify.1,
            data: e.data.clone(),
        }
    }
    /// Cease (6) subcodes from RFC 4486 used here.
    pub const CEASE_ADMIN_SHUTDOWN: u8 = 2;
    pub const CEASE_PEER_DECONFIGURED: u8 = 3;
    pub const CEASE_ADMIN_RESET: u8 = 4;
    pub const CEASE_CONNECTION_REJECTED: u8 = 5;
    pub const CEASE_COLLISION: u8 = 7;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RouteRefresh {
    pub afi: u16,
    /// RFC 7313: 0 normal, 1 BoRR, 2 EoRR.
    pub subtype: u8,
    pub safi: u8,
}

// An UPDATE is the common case; boxing it would add an allocation per
// message for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

/// A decoded message plus the errors RFC 7606 lets the session survive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub message: Message,
    pub errors: Vec<DecodeError>,
}

impl Decoded {
    /// The strongest survivable action among the errors, if any.
    pub fn action(&self) -> Option<Action> {
        self.errors.iter().map(|e| e.action).max()
    }
}

/// Length of the message at the start of `buf` once its header is there
/// (`Ok(None)`: need more bytes). Checks the marker and length bounds.
pub fn frame_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, DecodeError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    if buf[..16].iter().any(|b| *b != 0xff) {
        return Err(DecodeError::reset(Reason::BadMarker, 0, code::HEADER, 1));
    }
    let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
    if !(HEADER_LEN..=max_len).contains(&len) {
        return Err(
            DecodeError::reset(Reason::BadMessageLength, 16, code::HEADER, 2)
                .with_data(&buf[16..18]),
        );
    }
    Ok(Some(len))
}

/// Decode exactly one whole message (header included).
pub fn decode_message(buf: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let max = if ctx.extended_message {
        MAX_EXT_LEN
    } else {
        MAX_LEN
    };
    let len = frame_len(buf, max)?
        .ok_or_else(|| DecodeError::reset(Reason::Truncated, buf.len(), code::HEADER, 2))?;
    if len != buf.len() {
        return Err(
            DecodeError::reset(Reason::BadMessageLength, 16, code::HEADER, 2)
                .with_data(&buf[16..18]),
        );
    }
    let ty = buf[18];
    let body = &buf[HEADER_LEN..];
    let bad_len = || {
        DecodeError::reset(Reason::BadMessageLength, 16, code::HEADER, 2).with_data(&buf[16..18])
    };
    let message = match ty {
        TYPE_OPEN => {
            if body.len() < 10 {
                return Err(bad_len());
            }
            Message::Open(Open::decode(body, HEADER_LEN)?)
        }
        TYPE_UPDATE => {
            if body.len() < 4 {
                return Err(bad_len());
            }
            let (update, errors) = decode_update(body, ctx)?;
            return Ok(Decoded {
                message: Message::Update(update),
                errors,
            });
        }
        TYPE_NOTIFICATION => {
            if body.len() < 2 {
                return Err(bad_len());
            }
            Message::Notification(Notification {
                code: body[0],
                subcode: body[1],
                data: body[2..].to_vec(),
            })
        }
        TYPE_KEEPALIVE => {
            if !body.is_empty() {
                return Err(bad_len());
            }
            Message::Keepalive
        }
        TYPE_ROUTE_REFRESH => {
            if body.len() != 4 {
                // RFC 7313 §5: invalid length -> ROUTE-REFRESH error 7/1.
                return Err(DecodeError::reset(
                    Reason::MalformedRouteRefresh,
                    16,
                    code::ROUTE_REFRESH,
                    1,
                )
                .with_data(body));
            }
            Message::RouteRefresh(RouteRefresh {
                afi: u16::from_be_bytes([body[0], body[1]]),
                subtype: body[2],
                safi: body[3],
            })
        }
        _ => {
            return Err(
                DecodeError::reset(Reason::BadMessageType, 18, code::HEADER, 3).with_data(&[ty]),
            )
        }
    };
    Ok(Decoded {
        message,
        errors: Vec::new(),
    })
}

/// UPDATE body (RFC 4271 §4.3, §6.3; RFC 7606 §5).
fn decode_update(body: &[u8], ctx: &DecodeCtx) -> Result<(Update, Vec<DecodeError>), DecodeError> {
    let base = HEADER_LEN;
    let malformed =
        |at: usize| DecodeError::reset(Reason::MalformedAttributeList, base + at, code::UPDATE, 1);
    let mut c = Cursor::new(body);
    let wlen = usize::from(c.u16().map_err(|_| malformed(0))?);
    let w_at = c.pos();
    let wbuf = c.bytes(wlen).map_err(|_| malformed(0))?;
    let alen_at = c.pos();
    let alen = usize::from(c.u16().map_err(|_| malformed(alen_at))?);
    let a_at = c.pos();
    let abuf = c.bytes(alen).map_err(|_| malformed(alen_at))?;
    let n_at = c.pos();
    let nbuf = c.rest();
    let v4_add_path = ctx.add_path(Family::Ipv4Unicast);
    let bad_nlri =
        |at: usize| DecodeError::reset(Reason::MalformedNlri, base + at, code::UPDATE, 10);
    let withdrawn = decode_nlri_list(wbuf, Family::Ipv4Unicast, v4_add_path)
        .map_err(|m| bad_nlri(w_at + m.at))?;
    let nlri = decode_nlri_list(nbuf, Family::Ipv4Unicast, v4_add_path)
        .map_err(|m| bad_nlri(n_at + m.at))?;
    let mut ad = decode_attributes(abuf, base + a_at, ctx)?;
    let update_tmp = Update {
        withdrawn,
        attrs: std::mem::take(&mut ad.attrs),
        nlri,
    };
    // RFC 7606 §3 d: a missing well-known mandatory attribute on an UPDATE
    // that announces routes is treat-as-withdraw. An attribute already
    // reported malformed is not reported again as missing.
    if update_tmp.has_reachable() {
        let a = &update_tmp.attrs;
        let reported = |code: u8| ad.errors.iter().any(|e| e.attr_type == Some(code));
        let mut missing = Vec::new();
        if a.origin.is_none() && !reported(1) {
            missing.push(1);
        }
        if a.as_path.is_none() && !reported(2) {
            missing.push(2);
        }
        if !update_tmp.nlri.is_empty() && a.next_hop.is_none() && !reported(3) {
            missing.push(3);
        }
        for m in missing {
            ad.errors.push(DecodeError {
                reason: Reason::MissingWellKnown,
                offset: base + a_at,
                attr_type: Some(m),
                action: Action::TreatAsWithdraw,
                notify: (code::UPDATE, 3),
                data: vec![m],
            });
        }
    }
    Ok((update_tmp, ad.errors))
}

fn header(out: &mut Vec<u8>, ty: u8) {
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&[0, 0]);
    out.put_u8(ty);
}

fn finish(mut out: Vec<u8>) -> Vec<u8> {
    let n = u16::try_from(out.len()).unwrap_or(u16::MAX);
    out[16..18].copy_from_slice(&n.to_be_bytes());
    out
}

impl Message {
    /// Encode with the header. The caller keeps UPDATEs within the
    /// negotiated size (see `pack`).
    pub fn encode(&self, ctx: EncodeCtx) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        match self {
            Message::Open(o) => {
                header(&mut out, TYPE_OPEN);
                o.encode_body(&mut out);
            }
            Message::Update(u) => {
                header(&mut out, TYPE_UPDATE);
                encode_update_body(u, ctx, &mut out);
            }
            Message::Notification(n) => {
                header(&mut out, TYPE_NOTIFICATION);
                out.put_u8(n.code);
                out.put_u8(n.subcode);
                out.extend_from_slice(&n.data);
            }
            Message::Keepalive => header(&mut out, TYPE_KEEPALIVE),
            Message::RouteRefresh(r) => {
                header(&mut out, TYPE_ROUTE_REFRESH);
                out.put_u16(r.afi);
                out.put_u8(r.subtype);
                out.put_u8(r.safi);
            }
        }
        finish(out)
    }
}

pub fn encode_update_body(u: &Update, ctx: EncodeCtx, out: &mut Vec<u8>) {
    let mut w = Vec::new();
    for n in &u.withdrawn {
        encode_nlri(n, &mut w);
    }
    out.put_u16(u16::try_from(w.len()).unwrap_or(u16::MAX));
    out.extend_from_slice(&w);
    let mut a = Vec::new();
    u.attrs.encode(ctx, &mut a);
    out.put_u16(u16::try_from(a.len()).unwrap_or(u16::MAX));
    out.extend_from_slice(&a);
    for n in &u.nlri {
        encode_nlri(n, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> DecodeCtx {
        DecodeCtx {
            four_octet_as: true,
            ..Default::default()
        }
    }

    #[test]
    fn keepalive_and_header_errors() {
        let k = Message::Keepalive.encode(EncodeCtx::default());
        assert_eq!(k.len(), 19);
        assert_eq!(
            decode_message(&k, &ctx()).unwrap().message,
            Message::Keepalive
        );
        let mut bad = k.clone();
        bad[3] = 0;
        assert_eq!(decode_message(&bad, &ctx()).unwrap_err().notify, (1, 1));
        let mut bad = k.clone();
        bad[18] = 9;
        assert_eq!(decode_message(&bad, &ctx()).unwrap_err().notify, (1, 3));
        let mut bad = k;
        bad[17] = 18;
        assert_eq!(decode_message(&bad, &ctx()).unwrap_err().notify, (1, 2));
    }

    #[test]
    fn update_missing_well_known_is_treat_as_withdraw() {
        let u = Update {
            nlri: vec![PathNlri {
                path_id: None,
                nlri: super::super::nlri::Nlri::Unicast {
                    prefix: "10.0.0.0/8".parse().unwrap(),
                },
            }],
            ..Default::default()
        };
        let b = Message::Update(u).encode(EncodeCtx::default());
        let d = decode_message(&b, &ctx()).unwrap();
        assert_eq!(d.action(), Some(Action::TreatAsWithdraw));
        let missing: Vec<_> = d.errors.iter().map(|e| e.attr_type).collect();
        assert_eq!(missing, vec![Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn end_of_rib_markers() {
        for f in [Family::Ipv4Unicast, Family::Vpnv4] {
            let b = Message::Update(Update::end_of_rib(f)).encode(EncodeCtx::default());
            let d = decode_message(&b, &ctx()).unwrap();
            let Message::Update(u) = d.message else {
                panic!()
            };
            assert_eq!(u.is_end_of_rib(), Some(f));
        }
    }

    #[test]
    fn route_refresh_bad_length() {
        let mut b = Message::RouteRefresh(RouteRefresh {
            afi: 1,
            subtype: 0,
            safi: 128,
        })
        .encode(EncodeCtx::default());
        assert!(decode_message(&b, &ctx()).is_ok());
        b.push(0);
        b[17] += 1;
        assert_eq!(decode_message(&b, &ctx()).unwrap_err().notify, (7, 1));
    }
}
