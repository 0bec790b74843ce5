//! Watches the workers' keepalive stamps (`SaTotals::last_rx_ns` per
//! tunnel) and names the tunnels that went silent: heard from once, then
//! no new keepalive for `DEAD_AFTER` (see `resolver::liveness`). Only the
//! change of a stamp matters, so the workers' clocks need no common epoch.
use super::resolver::DEAD_AFTER;
use sdwan_dataplane::overlay::OverlayTotals;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Instant;

/// (local port, remote endpoint) of a tunnel, over its SA generations.
pub type TunnelEnds = (u16, IpAddr);

#[derive(Default)]
pub struct LivenessWatch {
    /// Latest stamp seen and when it last moved.
    seen: BTreeMap<TunnelEnds, (u64, Instant)>,
}

impl LivenessWatch {
    /// The silent tunnels as of `now`, given the latest worker totals.
    pub fn dead(&mut self, totals: &OverlayTotals, now: Instant) -> BTreeSet<TunnelEnds> {
        let mut latest: BTreeMap<TunnelEnds, u64> = BTreeMap::new();
        for (k, t) in &totals.tunnels {
            let e = latest.entry((k.local_port, k.remote)).or_default();
            *e = (*e).max(t.last_rx_ns);
        }
        for (ends, stamp) in &latest {
            if *stamp == 0 {
                continue;
            }
            match self.seen.get_mut(ends) {
                Some((s, _)) if *s == *stamp => {}
                Some(entry) => *entry = (*stamp, now),
                None => {
                    self.seen.insert(*ends, (*stamp, now));
                }
            }
        }
        // Tunnels that left the snapshot are forgotten.
        self.seen.retain(|ends, _| latest.contains_key(ends));
        self.seen
            .iter()
            .filter(|(_, (_, at))| now.duration_since(*at) >= DEAD_AFTER)
            .map(|(ends, _)| *ends)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sdwan_dataplane::overlay::{SaTotals, TunnelKey};
    use std::time::Duration;

    fn totals(stamps: &[(u32, u64)]) -> OverlayTotals {
        let mut t = OverlayTotals::default();
        for (spi, stamp) in stamps {
            t.tunnels.insert(
                TunnelKey {
                    local_port: 0,
                    remote: "203.0.113.2".parse().unwrap(),
                    spi: *spi,
                },
                SaTotals {
                    last_rx_ns: *stamp,
                    ..SaTotals::default()
                },
            );
        }
        t
    }

    #[test]
    fn silent_after_being_heard_is_dead_and_a_new_stamp_revives() {
        let mut w = LivenessWatch::default();
        let t0 = Instant::now();
        // Never heard from: alive.
        assert!(w.dead(&totals(&[(1, 0)]), t0).is_empty());
        assert!(w.dead(&totals(&[(1, 0)]), t0 + DEAD_AFTER * 3).is_empty());
        assert!(w.dead(&totals(&[(1, 5)]), t0).is_empty());
        let quiet = t0 + DEAD_AFTER - Duration::from_millis(1);
        assert!(w.dead(&totals(&[(1, 5)]), quiet).is_empty());
        let dead = w.dead(&totals(&[(1, 5)]), t0 + DEAD_AFTER);
        assert_eq!(dead.len(), 1);
        // A rekeyed SA (new key, stamp 0 so far) does not hide the old one's.
        assert_eq!(w.dead(&totals(&[(1, 5), (2, 0)]), t0 + DEAD_AFTER).len(), 1);
        assert!(w
            .dead(&totals(&[(1, 5), (2, 9)]), t0 + DEAD_AFTER)
            .is_empty());
    }
}
