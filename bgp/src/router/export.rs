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
//!    needs a Route Target that one of P's RTC routes admits;
//! 6. a local route with `unless_peer_has: F` is not sent to a P that
//!    negotiated F (draft-ietf-bess-bgp-sdwan-usage §6 fallback UPDATE);
//! 7. RT-Constraint hold (RFC 4684 §6): VPN / SD-WAN paths wait for P's
//!    RT-Constraint End-of-RIB, so P never gets what it did not ask for.
//!
//! ADD-PATH (RFC 7911): for families where sending path identifiers was
//! negotiated, every exportable candidate is sent, each with a path id
//! the router allocates per (source, received path id); otherwise the
//! best path only.
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
use std::collections::{HashMap, HashSet};
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
        if best.source == Source::Local
            && self
                .local_unless
                .get(key)
                .is_some_and(|f| neg.families.contains(f))
        {
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
        let vpn_like = family.is_vpn_like();
        if vpn_like
            && neg.families.contains(&Family::RtConstraint)
            && (!p.rtc_eor || !rts().any(|r| p.rtc.iter().any(|c| c.matches(&r.0))))
        {
            return None;
        }
        let memo_key = (Arc::as_ptr(&best.attrs) as usize, best.source);
        let attrs = memo
            .entry(memo_key)
            .or_insert_with(|| {
                Arc::new(self.out_attrs(best, ibgp_peer, reflected, neg.four_octet_as))
            })
            .clone();
        Some(OutRoute {
            path_id: None,
            label: best.label,
            next_hop: best.next_hop,
            attrs,
        })
    }

    /// Everything `id` should hold for `key`: every exportable candidate
    /// with its path id under ADD-PATH send, else the exported best path.
    fn export_set(
        &self,
        id: PeerId,
        key: &RouteKey,
        best: Option<&Path>,
        memo: &mut Memo,
    ) -> Vec<OutRoute> {
        let p = &self.peers[id];
        if p.add_path_tx.contains(&key.family()) {
            return self
                .loc
                .candidates(key)
                .iter()
                .filter_map(|c| {
                    let mut r = self.export(id, key, c, memo)?;
                    r.path_id = self.path_ids.get(&(c.source, c.path_id)).copied();
                    Some(r)
                })
                .collect();
        }
        best.and_then(|b| self.export(id, key, b, memo))
            .into_iter()
            .collect()
    }

    fn out_attrs(
        &self,
        best: &Path,
        ibgp_peer: bool,
        reflected: bool,
        four_octet_peer: bool,
    ) -> PathAttributes {
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
        crate::wire::as4::prepare_for_peer(&mut a, four_octet_peer);
        a
    }

    /// Hand Loc-RIB changes to subscribers and to every peer's Adj-RIB-Out.
    pub(super) fn propagate(&mut self, acts: &mut Vec<IoAction>) {
        let changes = self.loc.take_changes();
        let touched = self.loc.take_touched();
        let full: Vec<PeerId> = std::mem::take(&mut self.rtc_changed);
        for id in 0..self.peers.len() {
            if !self.peers[id].established() {
                continue;
            }
            let mut memo = Memo::new();
            let desired = if full.contains(&id) {
                self.full_table(id, &mut memo)
            } else {
                let tx = &self.peers[id].add_path_tx;
                let mut d: Vec<(RouteKey, Vec<OutRoute>)> = changes
                    .iter()
                    .filter(|c| !tx.contains(&c.family))
                    .map(|c| {
                        (
                            c.key,
                            self.export_set(id, &c.key, c.best.as_ref(), &mut memo),
                        )
                    })
                    .collect();
                d.extend(
                    touched
                        .iter()
                        .filter(|k| tx.contains(&k.family()))
                        .map(|k| (*k, self.export_set(id, k, None, &mut memo))),
                );
                d
            };
            self.apply_desired(id, desired, acts);
            self.flush_deferred_eor(id, acts);
        }
        if self.record_changes {
            self.changes_out.extend(changes);
        }
    }

    /// The whole Adj-RIB-Out `id` should hold, plus withdrawals of what it
    /// holds and should not.
    fn full_table(&self, id: PeerId, memo: &mut Memo) -> Vec<(RouteKey, Vec<OutRoute>)> {
        let mut d: Vec<(RouteKey, Vec<OutRoute>)> = self
            .loc
            .iter_best()
            .map(|(k, b)| (k, self.export_set(id, &k, Some(&b), memo)))
            .collect();
        let present: HashSet<RouteKey> = d.iter().map(|(k, _)| *k).collect();
        let held: HashSet<RouteKey> = self.peers[id].adj_out.keys().map(|(k, _)| *k).collect();
        d.extend(
            held.into_iter()
                .filter(|k| !present.contains(k))
                .map(|k| (k, Vec::new())),
        );
        d
    }

    /// Make `id`'s Adj-RIB-Out hold exactly `desired` for each key listed
    /// and send the difference.
    fn apply_desired(
        &mut self,
        id: PeerId,
        desired: Vec<(RouteKey, Vec<OutRoute>)>,
        acts: &mut Vec<IoAction>,
    ) {
        let p = &mut self.peers[id];
        let mut announce = Vec::new();
        let mut withdraw = Vec::new();
        for (key, want) in desired {
            let add_path = p.add_path_tx.contains(&key.family());
            let held: Vec<Option<u32>> = if add_path {
                p.ap_ids
                    .remove(&key)
                    .unwrap_or_default()
                    .into_iter()
                    .map(Some)
                    .collect()
            } else if p.adj_out.contains_key(&(key, None)) {
                vec![None]
            } else {
                Vec::new()
            };
            for pid in held {
                if !want.iter().any(|r| r.path_id == pid) {
                    p.adj_out.remove(&(key, pid));
                    withdraw.push((key, pid));
                }
            }
            if add_path && !want.is_empty() {
                p.ap_ids
                    .insert(key, want.iter().filter_map(|r| r.path_id).collect());
            }
            for r in want {
                if p.adj_out.get(&(key, r.path_id)) != Some(&r) {
                    announce.push((key, r.clone()));
                    p.adj_out.insert((key, r.path_id), r);
                }
            }
        }
        p.counters.prefixes_advertised = p.adj_out.len() as u64;
        let max_len = p.max_len;
        for m in pack_updates(&announce, &withdraw, max_len) {
            self.send(id, &m, acts);
        }
    }

    /// End-of-RIB markers held back until the peer's RT-Constraint EoR.
    fn flush_deferred_eor(&mut self, id: PeerId, acts: &mut Vec<IoAction>) {
        let p = &mut self.peers[id];
        if !p.rtc_eor || p.deferred_eor.is_empty() {
            return;
        }
        for f in std::mem::take(&mut p.deferred_eor) {
            self.send(id, &Message::Update(Update::end_of_rib(f)), acts);
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
        let desired = self.full_table(id, &mut memo);
        self.apply_desired(id, desired, acts);
        // RFC 4684 §6: VPN routes (and so their End-of-RIB) wait for the
        // peer's RT-Constraint End-of-RIB.
        let hold = neg.families.contains(&Family::RtConstraint) && !self.peers[id].rtc_eor;
        for f in neg.families {
            if hold && f.is_vpn_like() {
                self.peers[id].deferred_eor.push(f);
            } else {
                self.send(id, &Message::Update(Update::end_of_rib(f)), acts);
            }
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
            .filter(|((k, _), _)| k.family() == family)
            .map(|((k, _), r)| (*k, r.clone()))
            .collect();
        for m in pack_updates(&routes, &[], self.peers[id].max_len) {
            self.send(id, &m, acts);
        }
        self.send(id, &Message::Update(Update::end_of_rib(family)), acts);
    }
}
