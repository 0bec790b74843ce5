//! Session up and down in the router: the negotiated options a session
//! brings (ADD-PATH, Extended Message, 4-octet AS) and Graceful Restart,
//! receiving-speaker side (RFC 4724 §4.2): when a peer that advertised the
//! capability loses its TCP session without a NOTIFICATION, its routes of
//! the families it listed stay in the Loc-RIB as stale for its restart
//! time; once it is back they are kept (if it kept forwarding state, F
//! bit) until its End-of-RIB for the family or the stale-routes timer,
//! and whatever it did not re-announce is removed.

use super::{IoAction, PeerId, Router, Stale};
use crate::fsm::Negotiated;
use crate::rib::{RouteKey, Source};
use crate::wire::message::{MAX_EXT_LEN, MAX_LEN};
use crate::wire::{DecodeCtx, EncodeCtx, Family};
use std::collections::HashSet;
use std::time::{Duration, Instant};

impl Router {
    pub(super) fn established(
        &mut self,
        id: PeerId,
        now: Instant,
        n: Negotiated,
        acts: &mut Vec<IoAction>,
    ) {
        let local_as = self.cfg.asn;
        let stale_for = Duration::from_secs(self.cfg.stale_routes_secs);
        let p = &mut self.peers[id];
        p.decode_ctx = DecodeCtx {
            four_octet_as: n.four_octet_as,
            add_path_rx: n.add_path_rx.clone(),
            ebgp: n.peer_as != local_as,
            extended_message: n.extended_message,
        };
        p.encode_ctx = EncodeCtx {
            four_octet_as: n.four_octet_as,
        };
        p.add_path_tx = n.add_path_tx.clone();
        p.max_len = if n.extended_message {
            MAX_EXT_LEN
        } else {
            MAX_LEN
        };
        p.established_at = Some(now);
        p.counters.established_count += 1;
        p.rtc_eor = false;
        if let Some(st) = p.stale.as_mut() {
            st.deadline = now + stale_for;
        }
        if !n.add_path_tx.is_empty() {
            self.loc.track_touched = true;
        }
        // §4.2: families the peer no longer lists with forwarding state
        // preserved lose their stale routes at once.
        let kept: Vec<Family> = n
            .graceful_restart
            .as_ref()
            .map(|g| {
                g.families
                    .iter()
                    .filter(|(_, fwd)| *fwd)
                    .map(|(f, _)| *f)
                    .collect()
            })
            .unwrap_or_default();
        self.flush_stale(id, |f| !kept.contains(&f));
        self.peers[id].negotiated = Some(n);
        self.initial_advertisement(id, acts);
        self.propagate(acts);
    }

    /// The session left Established (or never got there).
    pub(super) fn peer_down(&mut self, id: PeerId, now: Instant) {
        let src = Source::Peer(id);
        let p = &mut self.peers[id];
        let gr = if p.fsm.down_by_tcp_loss() && p.established_at_down {
            p.negotiated
                .as_ref()
                .and_then(|n| n.graceful_restart.clone())
        } else {
            None
        };
        p.established_at_down = false;
        let Some(gr) = gr.filter(|g| !g.families.is_empty()) else {
            self.peers[id].stale = None;
            self.loc.remove_source(src);
            self.peers[id].counters.accepted = 0;
            return;
        };
        let families: Vec<Family> = gr.families.iter().map(|(f, _)| *f).collect();
        self.loc
            .remove_source_if(src, |k, _| !families.contains(&k.family()));
        let paths: HashSet<(RouteKey, Option<u32>)> = self
            .loc
            .adj_rib_in(src)
            .map(|(k, p)| (k, p.path_id))
            .collect();
        let p = &mut self.peers[id];
        p.counters.accepted = paths.len() as u64;
        p.stale = (!paths.is_empty()).then(|| Stale {
            paths,
            deadline: now + Duration::from_secs(u64::from(gr.restart_time)),
        });
    }
}
