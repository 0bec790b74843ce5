//! The decision process (RFC 4271 §9.1.2.2) with the route reflection
//! tie-breaks of RFC 4456 §9. Next-hop reachability and IGP cost (steps
//! 9.1.2.1 and e) are not evaluated: the controller is not in the
//! forwarding path and has no IGP; every next hop counts as reachable.

use super::{Path, Source};
use crate::wire::Origin;
use std::cmp::Ordering;

/// RFC 4271 §5.1.5: LOCAL_PREF assumed when absent.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// Index of the best path, or `None` for an empty list.
pub fn select_best(paths: &[Path]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, p) in paths.iter().enumerate() {
        best = match best {
            None => Some(i),
            Some(b) if prefer(p, &paths[b]) == Ordering::Greater => Some(i),
            keep => keep,
        };
    }
    best
}

/// Compare two paths: `Greater` means `a` is preferred over `b`.
pub fn prefer(a: &Path, b: &Path) -> Ordering {
    // Locally originated routes win over learned ones.
    let local = |p: &Path| p.source == Source::Local;
    let lp = |p: &Path| p.attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
    let as_len = |p: &Path| p.attrs.as_path.as_ref().map_or(0, |x| x.decision_len());
    let origin = |p: &Path| p.attrs.origin.unwrap_or(Origin::Incomplete) as u8;
    let neighbor_as = |p: &Path| p.attrs.as_path.as_ref().and_then(|x| x.first_as());
    let med = |p: &Path| p.attrs.med.unwrap_or(0);
    // RFC 4456 §9: ORIGINATOR_ID stands in for the router id.
    let rid = |p: &Path| u32::from(p.attrs.originator_id.unwrap_or(p.peer_router_id));
    local(a)
        .cmp(&local(b))
        .then(lp(a).cmp(&lp(b)))
        .then(as_len(b).cmp(&as_len(a)))
        .then(origin(b).cmp(&origin(a)))
        .then_with(|| {
            // c) MED only between routes from the same neighbouring AS.
            if neighbor_as(a) == neighbor_as(b) {
                med(b).cmp(&med(a))
            } else {
                Ordering::Equal
            }
        })
        .then(a.ebgp.cmp(&b.ebgp))
        .then(rid(b).cmp(&rid(a)))
        .then(b.attrs.cluster_list.len().cmp(&a.attrs.cluster_list.len()))
        .then(b.peer_addr.cmp(&a.peer_addr))
        .then(b.path_id.cmp(&a.path_id))
}
