//! Packing Adj-RIB-Out changes into UPDATE messages of at most 4096 bytes
//! (RFC 4271 §4), or 65535 with Extended Message (RFC 8654): routes sharing
//! attributes and next hop share an UPDATE; path identifiers (RFC 7911)
//! are written where the route carries one;
//! IPv4 unicast uses the NLRI / Withdrawn fields, every other family
//! MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).

use super::OutRoute;
use crate::rib::RouteKey;
use crate::wire::attr::{EncodeCtx, MpReach, MpUnreach};
use crate::wire::nlri::encode_nlri;
use crate::wire::{Family, Message, NextHop, PathNlri, Update};
use std::collections::HashMap;
use std::net::IpAddr;

/// Encoded size of one NLRI.
fn nlri_len(n: &PathNlri) -> usize {
    let mut v = Vec::with_capacity(40);
    encode_nlri(n, &mut v);
    v.len()
}

/// Split `nlri` into chunks whose encoded size fits `room` bytes.
fn chunks(nlri: Vec<PathNlri>, room: usize) -> Vec<Vec<PathNlri>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut used = 0;
    for n in nlri {
        let l = nlri_len(&n);
        if used + l > room && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            used = 0;
        }
        used += l;
        cur.push(n);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn encoded_len(u: &Update) -> usize {
    // Encoding with 4-octet ASNs is never shorter than with 2-octet ones.
    Message::Update(u.clone())
        .encode(EncodeCtx {
            four_octet_as: true,
        })
        .len()
}

/// Build the UPDATEs (each at most `max_len` bytes) for a batch of
/// announcements and withdrawals (key, path id).
pub(super) fn pack_updates(
    announce: &[(RouteKey, OutRoute)],
    withdraw: &[(RouteKey, Option<u32>)],
    max_len: usize,
) -> Vec<Message> {
    let mut msgs = Vec::new();

    // Withdrawals, per family.
    let mut by_family: Vec<(Family, Vec<PathNlri>)> = Vec::new();
    for (k, path_id) in withdraw {
        let f = k.family();
        let n = PathNlri {
            path_id: *path_id,
            nlri: k.to_nlri(None),
        };
        match by_family.iter_mut().find(|(ff, _)| *ff == f) {
            Some((_, v)) => v.push(n),
            None => by_family.push((f, vec![n])),
        }
    }
    for (f, list) in by_family {
        let base = if f == Family::Ipv4Unicast {
            encoded_len(&Update::default())
        } else {
            encoded_len(&Update::end_of_rib(f)) + 1
        };
        for chunk in chunks(list, max_len.saturating_sub(base)) {
            let mut u = Update::default();
            if f == Family::Ipv4Unicast {
                u.withdrawn = chunk;
            } else {
                u.attrs.mp_unreach = Some(MpUnreach {
                    family: f,
                    withdrawn: chunk,
                });
            }
            msgs.push(Message::Update(u));
        }
    }

    // Announcements, grouped by (family, shared attributes, next hop).
    let mut order: Vec<(Family, usize, IpAddr)> = Vec::new();
    let mut groups: HashMap<(Family, usize, IpAddr), (OutRoute, Vec<PathNlri>)> = HashMap::new();
    for (k, r) in announce {
        let g = (
            k.family(),
            std::sync::Arc::as_ptr(&r.attrs) as usize,
            r.next_hop,
        );
        let n = PathNlri {
            path_id: r.path_id,
            nlri: k.to_nlri(r.label),
        };
        groups
            .entry(g)
            .or_insert_with(|| {
                order.push(g);
                (r.clone(), Vec::new())
            })
            .1
            .push(n);
    }
    for g in order {
        let Some((route, list)) = groups.remove(&g) else {
            continue;
        };
        let (family, _, next_hop) = g;
        let mut template = Update {
            attrs: (*route.attrs).clone(),
            ..Default::default()
        };
        if family == Family::Ipv4Unicast {
            template.attrs.next_hop = match next_hop {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            };
        } else {
            template.attrs.mp_reach = Some(MpReach {
                family,
                next_hop: NextHop {
                    addr: next_hop,
                    link_local: None,
                },
                nlri: Vec::new(),
            });
        }
        // +2: the MP_REACH length may switch to the 2-byte form.
        let base = encoded_len(&template) + 2;
        for chunk in chunks(list, max_len.saturating_sub(base)) {
            let mut u = template.clone();
            match u.attrs.mp_reach.as_mut() {
                Some(r) => r.nlri = chunk,
                None => u.nlri = chunk,
            }
            msgs.push(Message::Update(u));
        }
    }
    msgs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::message::MAX_LEN;
    use crate::wire::{decode_message, DecodeCtx, PathAttributes, Rd};
    use std::sync::Arc;

    #[test]
    fn many_routes_split_into_messages_within_4096_bytes() {
        let attrs = Arc::new(PathAttributes {
            origin: Some(crate::wire::Origin::Igp),
            ..Default::default()
        });
        let routes: Vec<(RouteKey, OutRoute)> = (0..2000u32)
            .map(|i| {
                let prefix = crate::wire::Prefix::new(
                    IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + (i << 8))),
                    24,
                )
                .unwrap();
                let key = RouteKey::Vpn {
                    rd: Rd::new_as2(65000, i % 7),
                    prefix,
                };
                (
                    key,
                    OutRoute {
                        path_id: None,
                        label: Some(0x641),
                        next_hop: "192.0.2.1".parse().unwrap(),
                        attrs: attrs.clone(),
                    },
                )
            })
            .collect();
        let withdraw: Vec<(RouteKey, Option<u32>)> =
            routes.iter().take(500).map(|(k, _)| (*k, None)).collect();
        let msgs = pack_updates(&routes, &withdraw, MAX_LEN);
        let ctx = DecodeCtx {
            four_octet_as: true,
            ..Default::default()
        };
        let (mut ann, mut wd) = (0, 0);
        for m in &msgs {
            let b = m.encode(EncodeCtx {
                four_octet_as: true,
            });
            assert!(b.len() <= MAX_LEN, "{}", b.len());
            let Message::Update(u) = decode_message(&b, &ctx).unwrap().message else {
                panic!()
            };
            ann += u.attrs.mp_reach.map_or(0, |r| r.nlri.len());
            wd += u.attrs.mp_unreach.map_or(0, |r| r.withdrawn.len());
        }
        assert_eq!((ann, wd), (2000, 500));
        assert!(
            msgs.len() < 20,
            "{} messages: routes must share UPDATEs",
            msgs.len()
        );
    }
}
