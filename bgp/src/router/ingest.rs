//! Applying a received UPDATE to the RIBs: RFC 7606 treat-as-withdraw,
//! families not negotiated, loop checks (RFC 4271 §9.1.2 AS_PATH, RFC 4456
//! §8 ORIGINATOR_ID / CLUSTER_LIST), RT-Constraint routes (RFC 4684) kept
//! as the peer's export filter (held back until its RT-Constraint
//! End-of-RIB), AS4_PATH merging (RFC 6793 §4.2.3), Graceful Restart
//! stale-route refresh (RFC 4724 §4.2).

use super::{PeerId, Router};
use crate::rib::{Path, RouteKey, Source};
use crate::wire::{Action, Family, Nlri, PathAttributes, PathNlri, Update};
use std::net::IpAddr;
use std::sync::Arc;

impl Router {
    pub(super) fn ingest(&mut self, id: PeerId, mut u: Update, action: Option<Action>) {
        let local_as = self.cfg.asn;
        let router_id = self.cfg.router_id;
        let cluster_id = self.cluster_id;
        let p = &mut self.peers[id];
        p.counters.updates_received += 1;
        if let Some(f) = u.is_end_of_rib() {
            p.counters.end_of_rib_received.insert(f);
            if f == Family::RtConstraint && !p.rtc_eor {
                // RFC 4684 §6: now send what its RT-Constraint routes admit.
                p.rtc_eor = true;
                self.rtc_changed.push(id);
            }
            // RFC 4724 §4.2: what was not re-announced is gone.
            self.flush_stale(id, |g| g == f);
            return;
        }
        let Some(neg) = p.fsm.negotiated().cloned() else {
            return;
        };
        // RFC 6793 §4.2.3: rebuild 4-octet paths sent by a 2-octet peer.
        crate::wire::as4::merge_received(&mut u.attrs, neg.four_octet_as);
        let ebgp = neg.peer_as != local_as;

        // Withdrawals: IPv4 unicast field and MP_UNREACH.
        let mut withdraw: Vec<(Family, PathNlri)> = u
            .withdrawn
            .iter()
            .map(|n| (Family::Ipv4Unicast, *n))
            .collect();
        if let Some(un) = u.attrs.mp_unreach.take() {
            withdraw.extend(un.withdrawn.into_iter().map(|n| (un.family, n)));
        }
        // Announcements: IPv4 unicast NLRI (NEXT_HOP) and MP_REACH.
        let mut announce: Vec<(Family, PathNlri, Option<IpAddr>)> = u
            .nlri
            .iter()
            .map(|n| (Family::Ipv4Unicast, *n, u.attrs.next_hop.map(IpAddr::V4)))
            .collect();
        if let Some(r) = u.attrs.mp_reach.take() {
            let nh = Some(r.next_hop.addr);
            announce.extend(r.nlri.into_iter().map(|n| (r.family, n, nh)));
        }

        // Whole-UPDATE verdicts.
        let mut drop_reason: Option<&'static str> = None;
        if action == Some(Action::TreatAsWithdraw) {
            drop_reason = Some("treat_as_withdraw");
        } else if u.attrs.originator_id == Some(router_id) {
            drop_reason = Some("originator_id_loop");
        } else if u.attrs.cluster_list.contains(&cluster_id) {
            drop_reason = Some("cluster_list_loop");
        } else if ebgp
            && u.attrs
                .as_path
                .as_ref()
                .is_some_and(|a| a.contains(local_as))
        {
            drop_reason = Some("as_path_loop");
        }
        if let Some(r) = drop_reason {
            p.counters.count_drop(r, announce.len() as u64);
            withdraw.extend(announce.drain(..).map(|(f, n, _)| (f, n)));
        }

        u.attrs.next_hop = None;
        let attrs = Arc::new(u.attrs);
        let next = self.path_ids.len() as u32 + 1;
        self.path_ids
            .entry((Source::Peer(id), None))
            .or_insert(next);
        let p = &mut self.peers[id];
        let peer_addr = p.cfg.address;
        let mut rtc_changed = false;

        for (family, n) in withdraw {
            if !neg.families.contains(&family) {
                p.counters.count_drop("family_not_negotiated", 1);
                continue;
            }
            let (key, _) = RouteKey::from_nlri(&n.nlri);
            if let Nlri::Rtc { rtc } = n.nlri {
                let before = p.rtc.len();
                p.rtc.retain(|r| *r != rtc);
                rtc_changed |= before != p.rtc.len();
                continue;
            }
            p.counters.withdrawals_received += 1;
            if let Some(st) = p.stale.as_mut() {
                st.paths.remove(&(key, n.path_id));
            }
            if self.loc.remove(&key, Source::Peer(id), n.path_id) {
                p.counters.accepted = p.counters.accepted.saturating_sub(1);
            }
        }
        for (family, n, next_hop) in announce {
            if !neg.families.contains(&family) {
                p.counters.count_drop("family_not_negotiated", 1);
                continue;
            }
            p.counters.prefixes_received += 1;
            if let Nlri::Rtc { rtc } = n.nlri {
                if !p.rtc.contains(&rtc) {
                    p.rtc.push(rtc);
                    rtc_changed = true;
                }
                continue;
            }
            let Some(next_hop) = next_hop else {
                p.counters.count_drop("missing_next_hop", 1);
                continue;
            };
            let (key, label) = RouteKey::from_nlri(&n.nlri);
            if let Some(st) = p.stale.as_mut() {
                st.paths.remove(&(key, n.path_id));
            }
            if n.path_id.is_some() {
                let next = self.path_ids.len() as u32 + 1;
                self.path_ids
                    .entry((Source::Peer(id), n.path_id))
                    .or_insert(next);
            }
            let path = Path {
                source: Source::Peer(id),
                peer_addr,
                peer_router_id: neg.peer_id,
                ebgp,
                path_id: n.path_id,
                label,
                next_hop,
                attrs: Arc::clone(&attrs),
            };
            if self.loc.upsert(key, path) {
                p.counters.accepted += 1;
            }
        }
        if rtc_changed {
            self.peers[id].counters.rtc_routes = self.peers[id].rtc.len() as u64;
            self.rtc_changed.push(id);
        }
    }

    /// Attributes shared by one peer's paths (memory accounting, tests).
    pub fn adj_rib_in(&self, id: PeerId) -> Vec<(RouteKey, Arc<PathAttributes>)> {
        self.loc
            .adj_rib_in(Source::Peer(id))
            .map(|(k, p)| (k, p.attrs))
            .collect()
    }
}
