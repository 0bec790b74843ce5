//! Export policy and Adj-RIB-Out: which best paths each peer receives.
//!
//! Rules, in order (a path is sent to peer P only if all hold):
//! 1. P negotiated the path's AFI/SAFI (never send another family);
//! 2. P is not the path's source, nor its ORIGINATOR_ID (RFC 4456 §8);
//! 3. iBGP-learned paths go to iBGP peers only by reflection: source or P
//!    must be a route reflector client (RFC 4456 §6);
//! 4. constrained propagation (draft-ietf-bess-bgp-sdwan-usage §3.1.5, §5):
//!    if P's peer group lists Route Targets, the path must carry one of
//!    them; a path without Route Target goes only to unrestricted groups;
//! 5. RT-Constraint (RFC 4684 §4): if P negotiated it, a VPN / SD-WAN path
//!    needs a Route Target that one of P's RTC routes admits.
//!
//! Reflected paths get ORIGINATOR_ID (if absent) and our CLUSTER_ID
//! prepended to CLUSTER_LIST (RFC 4456 §8). Next hops are left unchanged
//! (the controller is not in the forwarding path).

use super::pack::pack_updates;
use super::{IoAction, OutRoute, PeerId, Router};
use crate::rib::{Path, RouteKey, Source};
use crate::wire::attr::MpReach;
use crate::wire::nlri::RtcNlri;
use crate::wire::{Family, Message, NextHop, Nlri, PathAttributes, PathNlri, Update};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

type Memo = HashMap<(usize, Source), Arc<PathAttributes>>;

impl Router {
    /// Decide what `id` should hold in its Adj-RIB-Out for `key`.
    fn export(&self, id: PeerId, key: &RouteKey, best: &Path, memo: &mut Memo) -> Option<OutRoute> {
        let p = &self.peers[id];
        let neg = p.fsm.negotiated()?;
        let family = key.family();
        if family == Family::RtConstraint || !neg.families.contains(&family) {
            return None;
        }
        if best.source == Source::Peer(id) || best.attrs.originator_id == Some(neg.peer_id) {
            return None;
        }
        let ibgp_peer = neg.peer_as == self.cfg.asn;
        let reflected = matches!(best.source, Source::Peer(_)) && !best.ebgp && ibgp_peer;
        if reflected {
            let Source::Peer(src) = best.source else {
                return None;
            };
            if !self.peers[src].cfg.rr_client && !p.cfg.rr_client {
                return None;
            }
        }
        let rts = || best.attrs.route_targets();
        if let Some(auth) = &p.authorized {
            if !rts().any(|r| auth.contains(r)) {
                return None;
            }
        }
        let vpn_like = matches!(
            family,
            Family::Vpnv4 | Family::Vpnv6 | Family::SdwanV4 | Family::SdwanV6
        );
        if vpn_like
            && neg.families.contains(&Family::RtConstraint)
            && !rts().any(|r| p.rtc.iter().any(|c| c.matches(&r.0)))
        {
            return None;
        }
        let memo_key = (Arc::as_ptr(&best.attrs) as usize, best.source);
        let attrs = memo
            .entry(memo_key)
            .or_insert_with(|| Arc::new(self.out_attrs(best, ibgp_peer, reflected)))
            .clone();
        Some(OutRoute {
            label: best.label,
            next_hop: best.next_hop,
            attrs,
        })
    }

    fn out_attrs(&self, best: &Path, ibgp_peer: bool, reflected: bool) -> PathAttributes {
        let mut a = (*best.attrs).clone();
        if ibgp_peer {
            if reflected {
                a.originator_id.get_or_insert(best.peer_router_id);
                a.cluster_list.insert(0, self.cluster_id);
            }
            a.local_pref
                .get_or_insert(crate::rib::decision::DEFAULT_LOCAL_PREF);
        } else {
            a.local_pref = None;
            a.originator_id = None;
            a.cluster_list.clear();
            a.as_path
                .get_or_insert_with(Default::default)
                .prepend(self.cfg.asn);
            if best.source != Source::Local {
                a.med = None;
            }
        }
        a
    }

    /// Hand Loc-RIB changes to subscribers and to every peer's Adj-RIB-Out.
    pub(super) fn propagate(&mut self, acts: &mut Vec<IoAction>) {
        let changes = self.loc.take_changes();
        let full: Vec<PeerId> = std::mem::take(&mut self.rtc_changed);
        for id in 0..self.peers.len() {
            if !self.peers[id].established() {
                continue;
            }
            let mut memo = Memo::new();
            let desired: Vec<(RouteKey, Option<OutRoute>)> = if full.contains(&id) {
                let mut d: Vec<(RouteKey, Option<OutRoute>)> = self
                    .loc
                    .iter_best()
                    .map(|(k, b)| (k, self.export(id, &k, &b, &mut memo)))
                    .collect();
                let present: std::collections::HashSet<RouteKey> =
                    d.iter().map(|(k, _)| *k).collect();
                d.extend(
                    self.peers[id]
                        .adj_out
                        .keys()
                        .filter(|k| !present.contains(k))
                        .map(|k| (*k, None)),
                );
                d
            } else {
                changes
                    .iter()
                    .map(|c| {
                        (
                            c.key,
                            c.best
                                .as_ref()
                                .and_then(|b| self.export(id, &c.key, b, &mut memo)),
                        )
                    })
                    .collect()
            };
            self.apply_desired(id, desired, acts);
        }
        if self.record_changes {
            self.changes_out.extend(changes);
        }
    }

    fn apply_desired(
        &mut self,
        id: PeerId,
        desired: Vec<(RouteKey, Option<OutRoute>)>,
        acts: &mut Vec<IoAction>,
    ) {
        let p = &mut self.peers[id];
        let mut announce = Vec::new();
        let mut withdraw = Vec::new();
        for (key, want) in desired {
            match want {
                Some(r) => {
                    if p.adj_out.get(&key) != Some(&r) {
                        announce.push((key, r.clone()));
                        p.adj_out.insert(key, r);
                    }
                }
                None => {
                    if p.adj_out.remove(&key).is_some() {
                        withdraw.push(key);
                    }
                }
            }
        }
        p.counters.prefixes_advertised = p.adj_out.len() as u64;
        for m in pack_updates(&announce, &withdraw) {
            self.send(id, &m, acts);
        }
    }

    /// After Established: our RT-Constraint default route (RFC 4684 §3.2:
    /// as reflector we want every route), the whole table, End-of-RIB.
    pub(super) fn initial_advertisement(&mut self, id: PeerId, acts: &mut Vec<IoAction>) {
        let Some(neg) = self.peers[id].fsm.negotiated().cloned() else {
            return;
        };
        if neg.families.contains(&Family::RtConstraint) {
            let mut u = Update::default();
            u.attrs.origin = Some(crate::wire::Origin::Igp);
            u.attrs.as_path = Some(Default::default());
            if neg.peer_as == self.cfg.asn {
                u.attrs.local_pref = Some(crate::rib::decision::DEFAULT_LOCAL_PREF);
            }
            u.attrs.mp_reach = Some(MpReach {
                family: Family::RtConstraint,
                next_hop: NextHop {
                    addr: IpAddr::V4(self.cfg.router_id),
                    link_local: None,
                },
                nlri: vec![PathNlri {
                    path_id: None,
                    nlri: Nlri::Rtc {
                        rtc: RtcNlri::Default,
                    },
                }],
            });
            self.send(id, &Message::Update(u), acts);
        }
        let mut memo = Memo::new();
        let desired: Vec<(RouteKey, Option<OutRoute>)> = self
            .loc
            .iter_best()
            .map(|(k, b)| (k, self.export(id, &k, &b, &mut memo)))
            .collect();
        self.apply_desired(id, desired, acts);
        for f in neg.families {
            self.send(id, &Message::Update(Update::end_of_rib(f)), acts);
        }
    }

    /// ROUTE-REFRESH (RFC 2918 §4): send the Adj-RIB-Out of `family` again.
    pub(super) fn refresh(&mut self, id: PeerId, family: Family, acts: &mut Vec<IoAction>) {
        let negotiated = self.peers[id]
            .fsm
            .negotiated()
            .is_some_and(|n| n.families.contains(&family));
        if !negotiated {
            return;
        }
        let routes: Vec<(RouteKey, OutRoute)> = self.peers[id]
            .adj_out
            .iter()
            .filter(|(k, _)| k.family() == family)
            .map(|(k, r)| (*k, r.clone()))
            .collect();
        for m in pack_updates(&routes, &[]) {
            self.send(id, &m, acts);
        }
        self.send(id, &Message::Update(Update::end_of_rib(family)), acts);
    }
}
