//! A worker's cache of each tunnel's underlay next hop: the remote
//! endpoint's route in the local WAN port's VRF and what the neighbor
//! snapshot says about that route's next hop. Both only change when the
//! FIB, the neighbor snapshot or the tunnel list changes, so a tunnel pays
//! the LPM and neighbor lookups once per snapshot pair instead of once per
//! packet. An entry is valid for the [`Fib::id`](crate::fib::Fib::id) and
//! [`NeighborTable::id`](crate::neighbor::NeighborTable::id) it was filled
//! under; the whole cache is emptied when the worker syncs to a new
//! overlay generation (tunnel ids are per snapshot).
//!
//! What the cache holds is the lookups' result, not their side effects:
//! the events and counts a lookup owes (a resolution request for a missing
//! neighbor, a probe for a STALE one) are still made for every packet by
//! the caller (`pipeline::overlay_out`).

use crate::pipeline::Neighbor;
use std::net::IpAddr;

/// Where a tunnel's packets go in the underlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnderlayHop {
    /// No route to the remote endpoint in the WAN port's VRF that leaves
    /// through that port.
    NoRoute,
    /// The next hop `ip` (the endpoint itself, or a gateway) and its
    /// neighbor state on the WAN port.
    Via { ip: IpAddr, neighbor: Neighbor },
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    fib: u64,
    neighbors: u64,
    hop: Option<UnderlayHop>,
}

const EMPTY: Slot = Slot {
    fib: 0,
    neighbors: 0,
    hop: None,
};

/// One slot per tunnel id of the synced overlay snapshot.
#[derive(Debug, Default)]
pub(crate) struct UnderlayCache {
    slots: Vec<Slot>,
}

impl UnderlayCache {
    /// Empties the cache for a tunnel list of `tunnels` entries (on an
    /// overlay generation change; allocates then only).
    pub(crate) fn reset(&mut self, tunnels: usize) {
        self.slots.clear();
        self.slots.resize(tunnels, EMPTY);
    }

    /// The hop of tunnel `tid` if it was filled under the FIB snapshot
    /// `fib` and the neighbor snapshot `neighbors`.
    #[inline(always)]
    pub(crate) fn get(&self, tid: usize, fib: u64, neighbors: u64) -> Option<UnderlayHop> {
        let s = self.slots.get(tid)?;
        if s.fib == fib && s.neighbors == neighbors {
            s.hop
        } else {
            None
        }
    }

    /// Remembers `hop` for tunnel `tid` under those snapshots (a tunnel id
    /// past the synced list is not cached).
    #[inline]
    pub(crate) fn put(&mut self, tid: usize, fib: u64, neighbors: u64, hop: UnderlayHop) {
        if let Some(s) = self.slots.get_mut(tid) {
            *s = Slot {
                fib,
                neighbors,
                hop: Some(hop),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sdwan_packet::MacAddr;

    #[test]
    fn an_entry_holds_only_for_the_snapshots_it_was_filled_under() {
        let mut c = UnderlayCache::default();
        c.reset(2);
        let hop = UnderlayHop::Via {
            ip: "192.0.2.254".parse().unwrap(),
            neighbor: Neighbor::Usable(MacAddr([2, 0, 0, 0, 0, 1])),
        };
        assert_eq!(c.get(0, 5, 7), None, "empty after reset");
        c.put(0, 5, 7, hop);
        assert_eq!(c.get(0, 5, 7), Some(hop));
        assert_eq!(c.get(0, 6, 7), None, "new FIB");
        assert_eq!(c.get(0, 5, 8), None, "new neighbor snapshot");
        assert_eq!(c.get(1, 5, 7), None, "other tunnel");
        c.put(9, 5, 7, hop);
        assert_eq!(c.get(9, 5, 7), None, "past the tunnel list: not cached");
        c.reset(2);
        assert_eq!(c.get(0, 5, 7), None, "new overlay generation");
    }
}
