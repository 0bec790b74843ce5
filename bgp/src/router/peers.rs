//! Peers and peer groups changed at run time (a controller enrolling and
//! revoking devices, draft-ietf-bess-bgp-sdwan-usage §3.1.4 / §5).
//!
//! - [`Router::add_peer`] validates the peer like the config does (its peer
//!   group must exist, an address is an active peer at most once), gives
//!   it the next `PeerId` and starts its FSM.
//! - [`Router::remove_peer`] sends Cease / Peer De-configured (RFC 4486
//!   §4, subcode 3) if the OPEN went out, closes the connection and drops
//!   the peer's Adj-RIB-In as on a session loss (Loc-RIB changes,
//!   withdrawals to the other peers), but never keeps its routes as
//!   Graceful-Restart stale (RFC 4724 §4.2 is for a peer coming back).
//! - [`Router::set_peer_group`] adds a peer group or changes its Route
//!   Targets; members' Adj-RIB-Out is recomputed, their sessions stay up.
//!
//! Ids are never reused: a removed peer's slot stays as a tombstone
//! (`Peer::removed`, its maps emptied; a few hundred bytes) that is never
//! started, listed, or matched by address. So a `PeerId` held anywhere
//! (the runtime's connection table, a connection task still reporting,
//! `Source::Peer` in the RIB or the ADD-PATH id map) can never name a
//! different peer; re-adding the address makes a new slot.

use super::{IoAction, Peer, PeerId, Router};
use crate::config::{PeerConfig, PeerGroupConfig};
use crate::fsm::Event;
use crate::rib::Source;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

impl Router {
    /// Add and start a peer. Errors: invalid config, unknown peer group,
    /// address already an active peer.
    pub fn add_peer(
        &mut self,
        p: PeerConfig,
        now: Instant,
    ) -> Result<(PeerId, Vec<IoAction>), String> {
        p.validate(&self.cfg.peer_groups)?;
        if self.peer_by_addr(p.address).is_some() {
            return Err(format!("peer {} is already configured", p.address));
        }
        let id = self.peers.len();
        self.peers.push(Peer::new(&self.cfg, &p));
        self.cfg.peers.push(p);
        let mut acts = Vec::new();
        self.fsm_event(id, now, Event::Start, &mut acts);
        Ok((id, acts))
    }

    /// Remove the active peer at `addr`: Cease / Peer De-configured if a
    /// session is (being) set up, close, withdraw its routes from the
    /// others. Its id is retired. Error: no such peer.
    pub fn remove_peer(&mut self, addr: IpAddr, now: Instant) -> Result<Vec<IoAction>, String> {
        let id = self
            .peer_by_addr(addr)
            .ok_or_else(|| format!("no peer {addr}"))?;
        let mut acts = Vec::new();
        self.fsm_event(id, now, Event::Deconfigured, &mut acts);
        // Whatever the FSM did (it was Idle / Active with stale routes of
        // a restarting peer, or the Down above kept nothing): no route of
        // this peer survives it.
        let p = &mut self.peers[id];
        p.stale = None;
        p.counters.accepted = 0;
        self.loc.remove_source(Source::Peer(id));
        self.rtc_changed.retain(|x| *x != id);
        self.propagate(&mut acts);
        let p = &mut self.peers[id];
        p.removed = true;
        p.adj_out = HashMap::new();
        p.ap_ids = HashMap::new();
        p.rtc = Vec::new();
        p.deferred_eor = Vec::new();
        p.negotiated = None;
        self.cfg.peers.retain(|c| c.address != addr);
        Ok(acts)
    }

    /// Add a peer group, or replace the Route Targets of an existing one:
    /// its members' Adj-RIB-Out is recomputed (new routes announced,
    /// routes no longer authorized withdrawn) without a session reset.
    pub fn set_peer_group(&mut self, g: PeerGroupConfig) -> Vec<IoAction> {
        match self.cfg.peer_groups.iter_mut().find(|x| x.name == g.name) {
            Some(x) => *x = g.clone(),
            None => self.cfg.peer_groups.push(g.clone()),
        }
        let auth = super::authorized(&self.cfg.peer_groups, Some(&g.name));
        for id in 0..self.peers.len() {
            let p = &mut self.peers[id];
            if p.removed || p.cfg.peer_group.as_deref() != Some(g.name.as_str()) {
                continue;
            }
            p.authorized = auth.clone();
            self.rtc_changed.push(id);
        }
        let mut acts = Vec::new();
        self.propagate(&mut acts);
        acts
    }

    /// Remove a peer group no active peer uses.
    pub fn remove_peer_group(&mut self, name: &str) -> Result<(), String> {
        if let Some(p) = self
            .peers
            .iter()
            .find(|p| !p.removed && p.cfg.peer_group.as_deref() == Some(name))
        {
            return Err(format!(
                "peer group {name:?} is used by peer {}",
                p.cfg.address
            ));
        }
        let before = self.cfg.peer_groups.len();
        self.cfg.peer_groups.retain(|g| g.name != name);
        if before == self.cfg.peer_groups.len() {
            return Err(format!("no peer group {name:?}"));
        }
        Ok(())
    }
}
