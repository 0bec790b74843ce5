//! Make-before-break rekeying of the SA pair between one local and one peer
//! WAN port, as an I/O-free state machine (boringtun's shape): events in
//! (local parameters changed, peer advertisement received, first packet
//! authenticated on an SA, clock tick), [`Action`]s out for the SADB and
//! the workers. Time is whole seconds from any monotonic origin.
//!
//! Rules that make a rekey lose no packet:
//! 1. Whenever either side's parameters change, the new inbound SA is
//!    installed at once, so it exists before the peer can use it. An
//!    advertiser installs its new inbound SA before its advertisement
//!    leaves (the caller advertises after applying the actions).
//! 2. The new outbound SA is used only when the peer surely has the
//!    matching inbound SA: at once when the change came from the peer's own
//!    advertisement and we have no unconfirmed change of ours; otherwise
//!    after the first packet authenticates on the new inbound SA (the peer
//!    derived the same generation), or after `confirm_timeout` seconds.
//!    First contact (no generation in use yet) counts as an unconfirmed
//!    change of ours: the peer may not have our advertisement yet, so a new
//!    pair starts sending after `confirm_timeout` (or the first packet).
//! 3. A superseded inbound SA keeps decrypting for `grace` seconds (packets
//!    in flight, a peer still switching) and is then removed.

use super::derive::{derive_pair, DeriveError, DirectionalSa, PairKeys, PeerParams, PortSecret};
use crate::esp::Cipher;

/// What the caller must do, in order.
#[derive(Debug, Clone)]
pub enum Action {
    /// Give the workers this inbound SA (keep older ones).
    InstallInbound(DirectionalSa),
    /// Switch this pair's outbound traffic to this SA.
    UseOutbound(DirectionalSa),
    /// Remove the inbound SA with this SPI.
    RemoveInbound(u32),
}

/// Timers of the make-before-break exchange, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RekeyTimers {
    pub grace: u64,
    pub confirm_timeout: u64,
}

impl Default for RekeyTimers {
    fn default() -> Self {
        Self {
            grace: 30,
            // A peer's advertisement and ours cross the reflector within
            // a second or two; waiting longer only delays a new tunnel
            // (10 s cost every edge start 10 s of no_route drops).
            confirm_timeout: 3,
        }
    }
}

#[derive(Debug)]
struct Pending {
    keys: PairKeys,
    since: u64,
}

/// The SA pair between one local port and one peer port.
#[derive(Debug)]
pub struct PairSession {
    cipher: Cipher,
    timers: RekeyTimers,
    peer: Option<PeerParams>,
    current: Option<PairKeys>,
    pending: Option<Pending>,
    /// Inbound SPIs superseded, with their removal time.
    retiring: Vec<(u32, u64)>,
}

impl PairSession {
    pub fn new(cipher: Cipher, timers: RekeyTimers) -> Self {
        Self {
            cipher,
            timers,
            peer: None,
            current: None,
            pending: None,
            retiring: Vec::new(),
        }
    }

    /// The SPI outbound traffic uses now.
    pub fn outbound_spi(&self) -> Option<u32> {
        self.current.as_ref().map(|k| k.outbound.spi)
    }

    /// A generation is installed inbound but not yet used outbound.
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Nothing installed and nothing left to remove: the session may go.
    pub fn is_idle(&self) -> bool {
        self.peer.is_none()
            && self.current.is_none()
            && self.pending.is_none()
            && self.retiring.is_empty()
    }

    /// The peer port went away (withdrawn) or ours did: stop sending (the
    /// caller removes the outbound SA whose SPI is returned) and retire
    /// every inbound SA for `grace` seconds, so packets in flight still
    /// decrypt; `tick` removes them.
    pub fn close(&mut self, now: u64) -> Option<u32> {
        self.peer = None;
        let current = self.current.take();
        let out = current.as_ref().map(|c| c.outbound.spi);
        if let Some(p) = self.pending.take() {
            self.retire(p.keys.inbound.spi, now);
        }
        if let Some(c) = current {
            self.retire(c.inbound.spi, now);
        }
        out
    }

    /// Inbound SPIs that are installed: current, pending, retiring.
    pub fn inbound_spis(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.current.iter().map(|k| k.inbound.spi).collect();
        v.extend(self.pending.iter().map(|p| p.keys.inbound.spi));
        v.extend(self.retiring.iter().map(|r| r.0));
        v
    }

    /// A new advertisement from the peer port.
    pub fn on_peer_params(
        &mut self,
        local: &PortSecret,
        peer: PeerParams,
        now: u64,
    ) -> Result<Vec<Action>, DeriveError> {
        if self.peer == Some(peer) {
            return Ok(Vec::new());
        }
        self.peer = Some(peer);
        let keys = derive_pair(local, &peer, self.cipher)?;
        // Our own change is confirmed only if a pending generation carries
        // our current counter and was already seen working; otherwise the
        // peer may not know our latest parameters yet.
        let ours_unconfirmed = self.current.is_none()
            || self
                .pending
                .as_ref()
                .is_some_and(|p| p.keys.local_counter == local.counter())
            || self
                .current
                .as_ref()
                .is_some_and(|c| c.local_counter != local.counter());
        Ok(self.new_generation(keys, !ours_unconfirmed, now))
    }

    /// Our port's parameters changed (rekey); call after
    /// [`PortSecret::rekey`], then advertise.
    pub fn on_local_change(
        &mut self,
        local: &PortSecret,
        now: u64,
    ) -> Result<Vec<Action>, DeriveError> {
        let Some(peer) = self.peer else {
            return Ok(Vec::new());
        };
        let keys = derive_pair(local, &peer, self.cipher)?;
        Ok(self.new_generation(keys, false, now))
    }

    /// The workers saw the first authenticated packet on inbound `spi`.
    pub fn on_inbound_used(&mut self, spi: u32, now: u64) -> Vec<Action> {
        match &self.pending {
            Some(p) if p.keys.inbound.spi == spi => self.activate_pending(now),
            _ => Vec::new(),
        }
    }

    /// Clock: activates a pending generation after `confirm_timeout` and
    /// removes inbound SAs past their grace period.
    pub fn tick(&mut self, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(p) = &self.pending {
            if now >= p.since.saturating_add(self.timers.confirm_timeout) {
                actions.extend(self.activate_pending(now));
            }
        }
        let mut keep = Vec::with_capacity(self.retiring.len());
        for (spi, at) in self.retiring.drain(..) {
            if now >= at {
                actions.push(Action::RemoveInbound(spi));
            } else {
                keep.push((spi, at));
            }
        }
        self.retiring = keep;
        actions
    }

    fn new_generation(&mut self, keys: PairKeys, use_now: bool, now: u64) -> Vec<Action> {
        // A generation derived again (the peer came back with the same
        // parameters) revives its retiring inbound SA instead of removing it.
        self.retiring.retain(|r| r.0 != keys.inbound.spi);
        let mut actions = vec![Action::InstallInbound(keys.inbound.clone())];
        // A pending generation that never got used is superseded.
        if let Some(old) = self.pending.take() {
            self.retire(old.keys.inbound.spi, now);
        }
        self.pending = Some(Pending { keys, since: now });
        if use_now {
            actions.extend(self.activate_pending(now));
        }
        actions
    }

    fn activate_pending(&mut self, now: u64) -> Vec<Action> {
        let Some(p) = self.pending.take() else {
            return Vec::new();
        };
        let actions = vec![Action::UseOutbound(p.keys.outbound.clone())];
        if let Some(old) = self.current.replace(p.keys) {
            self.retire(old.inbound.spi, now);
        }
        actions
    }

    fn retire(&mut self, spi: u32, now: u64) {
        let current_in = self.current.as_ref().map(|c| c.inbound.spi);
        if Some(spi) != current_in && !self.retiring.iter().any(|r| r.0 == spi) {
            self.retiring
                .push((spi, now.saturating_add(self.timers.grace)));
        }
    }
}
