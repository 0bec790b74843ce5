//! Tunnel liveness (draft §4.1.2 failover): every edge sends a NAT-T
//! keepalive (RFC 3948 §2.3) on each of its tunnels every
//! [`KEEPALIVE_INTERVAL`]; the workers stamp the tunnel a keepalive
//! arrives over. A tunnel that has been heard from and then stays silent
//! for [`DEAD_AFTER`] leaves every path (its flows move to another path
//! their policy allows, or drop as `private_path_down`); it rejoins at
//! its next keepalive. A tunnel never heard from (a peer that sends no
//! keepalives, a static peer) is taken as alive.
use super::{Batch, PairKey, Resolver, Update};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

/// How often a keepalive goes out on each tunnel.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_millis(100);
/// Silence after which a tunnel is dead: five missed keepalives, so a
/// failover completes well within the 1 s.
pub const DEAD_AFTER: Duration = Duration::from_millis(500);

impl Resolver {
    /// The pair whose tunnel leaves our port `local_port` toward `remote`.
    pub fn pair_of(&self, local_port: u16, remote: IpAddr) -> Option<PairKey> {
        self.keys.outbound().keys().copied().find(|k| {
            self.wan(k.0).is_some_and(|w| w.port == local_port)
                && self.remote(&k.1).is_some_and(|r| r.endpoint == remote)
        })
    }

    /// Sets the dead tunnels; re-resolves every node when the set changed.
    pub fn set_dead(&mut self, dead: BTreeSet<PairKey>) -> Update {
        if dead == self.dead {
            return Update::default();
        }
        self.dead = dead;
        let mut b = Batch {
            overlay_dirty: true,
            ..Batch::default()
        };
        b.nodes.extend(self.effective.keys().copied());
        self.finish(b)
    }

    pub fn dead_tunnels(&self) -> &BTreeSet<PairKey> {
        &self.dead
    }
}
