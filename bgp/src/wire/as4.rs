//! 4-octet AS numbers across 2-octet-only ("OLD") peers, RFC 6793 §4.2:
//! what to attach when sending to an OLD peer (AS4_PATH, AS4_AGGREGATOR)
//! and how to rebuild the real path from what an OLD peer sends. Between
//! two NEW speakers AS4_PATH / AS4_AGGREGATOR are neither sent nor used
//! (§4.1).

use super::attr::{PathAttributes, Segment, SegmentKind, AS_TRANS};

fn has_four_octet(a: &PathAttributes) -> bool {
    a.as_path.as_ref().is_some_and(|p| {
        p.segments
            .iter()
            .any(|s| s.asns.iter().any(|n| *n > 0xffff))
    })
}

/// Outgoing attributes for a peer (§4.2.2). To an OLD peer the encoder
/// writes AS_TRANS for each 4-octet ASN; the real path goes in AS4_PATH
/// (without confederation segments) and a 4-octet aggregator in
/// AS4_AGGREGATOR, each only when needed. To a NEW peer neither is sent.
pub fn prepare_for_peer(a: &mut PathAttributes, four_octet_peer: bool) {
    if four_octet_peer {
        a.as4_path = None;
        a.as4_aggregator = None;
        return;
    }
    a.as4_path = if has_four_octet(a) {
        a.as_path.as_ref().map(|p| {
            let mut p = p.clone();
            p.segments
                .retain(|s| matches!(s.kind, SegmentKind::Sequence | SegmentKind::Set));
            p
        })
    } else {
        None
    };
    a.as4_aggregator = a.aggregator.filter(|g| g.asn > 0xffff);
}

/// Received attributes (§4.2.3). From a NEW peer the AS4 attributes are
/// dropped. From an OLD peer: AS4_AGGREGATOR replaces an AGGREGATOR of
/// AS_TRANS; an AGGREGATOR of another ASN means a NEW speaker did not
/// aggregate, so both AS4 attributes are ignored. AS4_PATH replaces the
/// tail of AS_PATH unless it is longer than AS_PATH (then it is ignored).
/// Returns true when an AS4 attribute was used.
pub fn merge_received(a: &mut PathAttributes, four_octet_peer: bool) -> bool {
    let as4_path = a.as4_path.take();
    let as4_aggregator = a.as4_aggregator.take();
    if four_octet_peer {
        return false;
    }
    let mut used = false;
    match (a.aggregator, as4_aggregator) {
        (Some(g), _) if g.asn != u32::from(AS_TRANS) => return false,
        (Some(_), Some(g4)) => {
            a.aggregator = Some(g4);
            used = true;
        }
        _ => {}
    }
    let (Some(path), Some(p4)) = (a.as_path.as_mut(), as4_path) else {
        return used;
    };
    let n = path.decision_len();
    let n4 = p4.decision_len();
    if n < n4 {
        return used;
    }
    // Keep the first n - n4 ASes of AS_PATH (a set counts one,
    // confederation segments none), then the AS4_PATH segments.
    let mut keep = n - n4;
    let mut head: Vec<Segment> = Vec::new();
    for s in &path.segments {
        if keep == 0 {
            break;
        }
        match s.kind {
            SegmentKind::Sequence => {
                let take = keep.min(s.asns.len());
                head.push(Segment {
                    kind: s.kind,
                    asns: s.asns[..take].to_vec(),
                });
                keep -= take;
            }
            SegmentKind::Set => {
                head.push(s.clone());
                keep -= 1;
            }
            SegmentKind::ConfedSequence | SegmentKind::ConfedSet => head.push(s.clone()),
        }
    }
    for s in p4.segments {
        match head.last_mut() {
            // One sequence, as the path was before AS_TRANS replaced part.
            Some(last) if last.kind == SegmentKind::Sequence && s.kind == SegmentKind::Sequence => {
                last.asns.extend(s.asns)
            }
            _ => head.push(s),
        }
    }
    path.segments = head;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attr::{Aggregator, AsPath};
    use crate::wire::{decode_message, DecodeCtx, EncodeCtx, Message, Update};

    #[test]
    fn old_peer_round_trip_restores_four_octet_path() {
        let mut a = PathAttributes {
            as_path: Some(AsPath::sequence(vec![65000, 4_200_000_001, 65001])),
            aggregator: Some(Aggregator {
                asn: 4_200_000_002,
                address: "192.0.2.9".parse().unwrap(),
            }),
            ..Default::default()
        };
        let want = a.clone();
        prepare_for_peer(&mut a, false);
        assert_eq!(a.as4_path, want.as_path);
        // Through the 2-octet encoder and decoder, as an OLD peer sees it.
        let u = Update {
            attrs: a,
            ..Default::default()
        };
        let b = Message::Update(u).encode(EncodeCtx {
            four_octet_as: false,
        });
        let d = decode_message(&b, &DecodeCtx::default()).unwrap();
        let Message::Update(mut u) = d.message else {
            panic!("not an UPDATE")
        };
        assert_eq!(
            u.attrs.as_path,
            Some(AsPath::sequence(vec![65000, u32::from(AS_TRANS), 65001]))
        );
        assert!(merge_received(&mut u.attrs, false));
        assert_eq!(u.attrs.as_path, want.as_path);
        assert_eq!(u.attrs.aggregator, want.aggregator);
        assert_eq!((u.attrs.as4_path, u.attrs.as4_aggregator), (None, None));
    }

    #[test]
    fn old_peer_prepends_are_kept_and_bad_as4_ignored() {
        // An OLD speaker prepended 64999 after a NEW one sent [AS_TRANS].
        let mut a = PathAttributes {
            as_path: Some(AsPath::sequence(vec![64999, u32::from(AS_TRANS)])),
            as4_path: Some(AsPath::sequence(vec![4_200_000_001])),
            ..Default::default()
        };
        assert!(merge_received(&mut a, false));
        assert_eq!(
            a.as_path,
            Some(AsPath::sequence(vec![64999, 4_200_000_001]))
        );
        // AS4_PATH longer than AS_PATH: ignored.
        let mut a = PathAttributes {
            as_path: Some(AsPath::sequence(vec![64999])),
            as4_path: Some(AsPath::sequence(vec![1, 2])),
            ..Default::default()
        };
        assert!(!merge_received(&mut a, false));
        assert_eq!(a.as_path, Some(AsPath::sequence(vec![64999])));
        // From a NEW peer: dropped, not used; nothing added for NEW peers.
        let mut a = PathAttributes {
            as_path: Some(AsPath::sequence(vec![4_200_000_001])),
            as4_path: Some(AsPath::sequence(vec![7])),
            ..Default::default()
        };
        assert!(!merge_received(&mut a, true));
        assert_eq!(a.as4_path, None);
        prepare_for_peer(&mut a, true);
        assert_eq!(a.as4_path, None);
        // 2-octet-only path to an OLD peer: no AS4_PATH.
        let mut a = PathAttributes {
            as_path: Some(AsPath::sequence(vec![65000])),
            ..Default::default()
        };
        prepare_for_peer(&mut a, false);
        assert_eq!(a.as4_path, None);
    }
}
