//! The forwarding table the workers read: per-VRF [`Lpm4`]/[`Lpm6`] whose
//! values index a next-hop table, published as immutable snapshots.
//!
//! The control thread owns a [`FibWriter`]. It applies a batch of
//! [`RouteChange`]s to its working [`Fib`] and publishes ONE new snapshot
//! per batch through an `ArcSwap`. Publishing clones the working copy,
//! which costs one `Arc` bump per VRF because the tables are persistent
//! (see [`crate::lpm`]); the next batch then copies only what it touches.
//! VRFs are found by binary search over a sorted id list.
//! Workers hold a [`FibReader`] and load the snapshot once per burst
//! ([`FibReader::load`], or [`FibCache::load`] which is a pointer compare
//! when nothing changed). Loading never blocks and never waits for the
//! writer.
//!
//! Freeing: a snapshot lives as long as someone holds it (`Arc`). The writer
//! keeps every snapshot it replaced and drops it, on its own thread, once
//! no reader holds it any more ([`FibWriter::reclaim`], also run on each
//! publish), so workers only ever decrement a count and never free tables.
//!
//! Next hops are interned: equal [`NextHop`]s share one index. An index is
//! recycled as soon as no route of the working table uses it. That is safe
//! with old snapshots alive because each snapshot carries its own
//! next-hop table (copy-on-write): an old snapshot maps its old indexes to
//! its old next hops, and the new snapshot has no route left on a recycled
//! index before it is reused.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arc_swap::{ArcSwap, Cache, Guard};

use crate::lpm::{Lpm4, Lpm6, LpmError, MAX_VALUE};

/// Where a matching packet goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NextHop {
    /// Addressed to this router.
    Local,
    /// On the subnet of `port`: resolve the destination itself.
    Connected { port: u16 },
    /// Via the gateway `via` out of `port`.
    Gateway { port: u16, via: IpAddr },
    /// Drop.
    Blackhole,
    /// A remote client prefix reached through the overlay: index into
    /// [`crate::overlay::OverlayTable::paths`] of the current overlay
    /// snapshot.
    Overlay { path: u32 },
}

/// One route as listed by [`Fib::routes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub vrf: u16,
    pub prefix: IpAddr,
    pub len: u8,
    pub next_hop: NextHop,
}

/// A change the control plane asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChange {
    /// Add `prefix/len` in `vrf`, or replace its next hop.
    Add {
        vrf: u16,
        prefix: IpAddr,
        len: u8,
        next_hop: NextHop,
    },
    /// Remove `prefix/len` from `vrf`.
    Remove { vrf: u16, prefix: IpAddr, len: u8 },
}

/// Why one change of a batch was refused (the rest of the batch applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FibError {
    /// Bad prefix (length, host bits).
    Route(LpmError),
    /// 2^24 distinct next hops are in use.
    NextHopTableFull,
}

impl fmt::Display for FibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FibError::Route(e) => write!(f, "route refused: {e}"),
            FibError::NextHopTableFull => {
                write!(
                    f,
                    "next-hop table full ({} distinct next hops)",
                    MAX_VALUE + 1
                )
            }
        }
    }
}

impl std::error::Error for FibError {}

/// What one [`FibWriter::apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Generation of the snapshot published for this batch.
    pub generation: u64,
    pub added: usize,
    pub replaced: usize,
    pub removed: usize,
    /// Removes of routes that did not exist.
    pub not_found: usize,
    /// (index in the batch, reason) of each refused change.
    pub rejected: Vec<(usize, FibError)>,
}

#[derive(Clone, Default)]
struct VrfTables {
    v4: Lpm4,
    v6: Lpm6,
}

/// One immutable version of the forwarding table.
#[derive(Clone, Default)]
pub struct Fib {
    /// Sorted VRF ids; `tables[i]` belongs to `vrf_ids[i]`.
    vrf_ids: Vec<u16>,
    /// Behind `Arc` so a publish costs one bump per VRF, and only the
    /// VRFs a batch touches get their tables cloned.
    tables: Vec<Arc<VrfTables>>,
    /// Indexed by the LPM values. Slots of recycled indexes keep a stale
    /// next hop that no route references.
    next_hops: Arc<Vec<NextHop>>,
    generation: u64,
    /// Unique per published snapshot (0: never published), see
    /// [`Fib::id`].
    id: u64,
}

impl fmt::Debug for Fib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fib")
            .field("generation", &self.generation)
            .field("vrfs", &self.vrf_ids)
            .field("next_hops", &self.next_hops.len())
            .finish()
    }
}

impl Fib {
    /// An empty table, generation 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts up by one per published batch.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A number no other published snapshot has (of any writer; 0 for a
    /// table never published): what a worker's per-snapshot caches are
    /// keyed by.
    #[inline]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// An edge has a handful of VRFs: up to 8 ids are scanned (no call,
    /// no branch per probe), more are searched.
    #[inline(always)]
    fn vrf(&self, vrf: u16) -> Option<&VrfTables> {
        let i = if self.vrf_ids.len() <= 8 {
            self.vrf_ids.iter().position(|&v| v == vrf)?
        } else {
            self.vrf_ids.binary_search(&vrf).ok()?
        };
        self.tables.get(i).map(|t| &**t)
    }

    #[inline(always)]
    fn next_hop(&self, index: u32) -> Option<&NextHop> {
        self.next_hops.get(index as usize)
    }

    /// Longest-prefix match of `dst` in `vrf`.
    #[inline(always)]
    pub fn lookup_v4(&self, vrf: u16, dst: Ipv4Addr) -> Option<&NextHop> {
        self.next_hop(self.vrf(vrf)?.v4.lookup(dst)?)
    }

    /// Longest-prefix match of `dst` in `vrf`.
    #[inline]
    pub fn lookup_v6(&self, vrf: u16, dst: Ipv6Addr) -> Option<&NextHop> {
        self.next_hop(self.vrf(vrf)?.v6.lookup(dst)?)
    }

    /// Look up a burst of IPv4 destinations (host order) of one VRF;
    /// `out[i]` gets the next hop of `dsts[i]` for the first
    /// `min(dsts.len(), out.len())` entries, which is what it returns.
    pub fn lookup_v4_bulk<'a>(
        &'a self,
        vrf: u16,
        dsts: &[u32],
        out: &mut [Option<&'a NextHop>],
    ) -> usize {
        const STEP: usize = 32;
        let n = dsts.len().min(out.len());
        let Some(t) = self.vrf(vrf) else {
            out[..n].fill(None);
            return n;
        };
        let mut idx = [None; STEP];
        for (d, o) in dsts[..n].chunks(STEP).zip(out[..n].chunks_mut(STEP)) {
            t.v4.lookup_bulk(d, &mut idx);
            for (r, i) in o.iter_mut().zip(&idx) {
                *r = i.and_then(|i| self.next_hop(i));
            }
        }
        n
    }

    /// Every route of every VRF, VRFs in id order, IPv4 before IPv6.
    pub fn routes(&self) -> impl Iterator<Item = RouteEntry> + '_ {
        self.vrf_ids
            .iter()
            .zip(&self.tables)
            .flat_map(move |(&vrf, t)| {
                let v4 = t.v4.iter().map(|(p, l, v)| (IpAddr::V4(p), l, v));
                let v6 = t.v6.iter().map(|(p, l, v)| (IpAddr::V6(p), l, v));
                v4.chain(v6).filter_map(move |(prefix, len, v)| {
                    Some(RouteEntry {
                        vrf,
                        prefix,
                        len,
                        next_hop: self.next_hop(v)?.clone(),
                    })
                })
            })
    }

    /// Number of routes over all VRFs and families.
    pub fn route_count(&self) -> usize {
        self.tables.iter().map(|t| t.v4.len() + t.v6.len()).sum()
    }
}

/// Control-thread side: owns the working table, applies batches, publishes.
pub struct FibWriter {
    shared: Arc<ArcSwap<Fib>>,
    work: Fib,
    interned: HashMap<NextHop, u32>,
    /// Routes using each next-hop index in `work`.
    users: Vec<u32>,
    free: Vec<u32>,
    /// Replaced snapshots, dropped here once no reader holds them.
    retired: Vec<Arc<Fib>>,
}

/// Worker side: cheap to clone, `Send + Sync`, never blocks.
#[derive(Clone)]
pub struct FibReader {
    shared: Arc<ArcSwap<Fib>>,
}

/// A worker's own cached handle: [`FibCache::load`] is a pointer compare
/// while the snapshot is unchanged.
pub struct FibCache(Cache<Arc<ArcSwap<Fib>>, Arc<Fib>>);

/// A writer and a reader over an empty table (generation 0).
pub fn fib_channel() -> (FibWriter, FibReader) {
    let shared = Arc::new(ArcSwap::from_pointee(Fib::new()));
    let writer = FibWriter {
        shared: Arc::clone(&shared),
        work: Fib::new(),
        interned: HashMap::new(),
        users: Vec::new(),
        free: Vec::new(),
        retired: Vec::new(),
    };
    (writer, FibReader { shared })
}

impl FibReader {
    /// The current snapshot; hold it for one burst.
    #[inline]
    pub fn load(&self) -> Guard<Arc<Fib>> {
        self.shared.load()
    }

    /// The current snapshot as an owned `Arc`.
    pub fn load_full(&self) -> Arc<Fib> {
        self.shared.load_full()
    }

    /// A per-worker cached handle.
    pub fn cache(&self) -> FibCache {
        FibCache(Cache::new(Arc::clone(&self.shared)))
    }
}

impl FibCache {
    /// The current snapshot (re-read only when a new one was published).
    #[inline]
    pub fn load(&mut self) -> &Arc<Fib> {
        self.0.load()
    }
}

impl FibWriter {
    /// The working table (what the next publish will contain).
    pub fn working(&self) -> &Fib {
        &self.work
    }

    /// Snapshots replaced but still held by some reader.
    pub fn retired_in_use(&self) -> usize {
        self.retired.len()
    }

    /// Apply `changes` in order and publish one snapshot. Refused changes
    /// are listed in the report; the others apply.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = RouteChange>) -> ApplyReport {
        let mut report = ApplyReport::default();
        for (i, change) in changes.into_iter().enumerate() {
            match change {
                RouteChange::Add {
                    vrf,
                    prefix,
                    len,
                    next_hop,
                } => match self.add(vrf, prefix, len, next_hop) {
                    Ok(None) => report.added += 1,
                    Ok(Some(())) => report.replaced += 1,
                    Err(e) => report.rejected.push((i, e)),
                },
                RouteChange::Remove { vrf, prefix, len } => {
                    if self.remove(vrf, prefix, len) {
                        report.removed += 1;
                    } else {
                        report.not_found += 1;
                    }
                }
            }
        }
        report.generation = self.publish();
        report
    }

    /// Drop replaced snapshots no reader holds any more; returns how many.
    pub fn reclaim(&mut self) -> usize {
        let before = self.retired.len();
        // After `swap`, arc-swap has turned every reader's borrowed guard of
        // the old value into a counted reference, so a count of 1 means only
        // this list holds it and nobody can acquire it again.
        self.retired.retain(|f| Arc::strong_count(f) > 1);
        before - self.retired.len()
    }

    fn publish(&mut self) -> u64 {
        self.work.generation += 1;
        let mut snapshot = self.work.clone();
        snapshot.id = crate::snapshot_id::next();
        let old = self.shared.swap(Arc::new(snapshot));
        self.retired.push(old);
        self.reclaim();
        self.work.generation
    }

    fn tables_mut(&mut self, vrf: u16) -> &mut VrfTables {
        let i = match self.work.vrf_ids.binary_search(&vrf) {
            Ok(i) => i,
            Err(i) => {
                self.work.vrf_ids.insert(i, vrf);
                self.work.tables.insert(i, Arc::new(VrfTables::default()));
                i
            }
        };
        Arc::make_mut(&mut self.work.tables[i])
    }

    /// `Ok(Some(()))` when an existing route was replaced.
    fn add(
        &mut self,
        vrf: u16,
        prefix: IpAddr,
        len: u8,
        next_hop: NextHop,
    ) -> Result<Option<()>, FibError> {
        // Validate before interning so a refused route leaks no index.
        let check = match prefix {
            IpAddr::V4(p) => Lpm4::check_prefix(p, len),
            IpAddr::V6(p) => Lpm6::check_prefix(p, len),
        };
        check.map_err(FibError::Route)?;
        let index = self.intern(next_hop)?;
        let t = self.tables_mut(vrf);
        let old = match prefix {
            IpAddr::V4(p) => t.v4.insert(p, len, index),
            IpAddr::V6(p) => t.v6.insert(p, len, index),
        };
        match old {
            Ok(Some(o)) => {
                self.release(o);
                Ok(Some(()))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.release(index);
                Err(FibError::Route(e))
            }
        }
    }

    fn remove(&mut self, vrf: u16, prefix: IpAddr, len: u8) -> bool {
        let Ok(i) = self.work.vrf_ids.binary_search(&vrf) else {
            return false;
        };
        let present = match prefix {
            IpAddr::V4(p) => self.work.tables[i].v4.get(p, len).is_some(),
            IpAddr::V6(p) => self.work.tables[i].v6.get(p, len).is_some(),
        };
        if !present {
            return false;
        }
        let t = Arc::make_mut(&mut self.work.tables[i]);
        let old = match prefix {
            IpAddr::V4(p) => t.v4.remove(p, len),
            IpAddr::V6(p) => t.v6.remove(p, len),
        };
        if t.v4.is_empty() && t.v6.is_empty() {
            self.work.vrf_ids.remove(i);
            self.work.tables.remove(i);
        }
        match old {
            Some(o) => {
                self.release(o);
                true
            }
            None => false,
        }
    }

    /// Index of `nh`, counting one more route on it.
    fn intern(&mut self, nh: NextHop) -> Result<u32, FibError> {
        if let Some(&i) = self.interned.get(&nh) {
            self.users[i as usize] += 1;
            return Ok(i);
        }
        let hops = Arc::make_mut(&mut self.work.next_hops);
        let i = match self.free.pop() {
            Some(i) => {
                hops[i as usize] = nh.clone();
                i
            }
            None => {
                let i = u32::try_from(hops.len())
                    .ok()
                    .filter(|&i| i <= MAX_VALUE)
                    .ok_or(FibError::NextHopTableFull)?;
                hops.push(nh.clone());
                self.users.push(0);
                i
            }
        };
        self.users[i as usize] = 1;
        self.interned.insert(nh, i);
        Ok(i)
    }

    /// One route less on next-hop `index`; recycle it at zero.
    fn release(&mut self, index: u32) {
        let Some(n) = self.users.get_mut(index as usize) else {
            return;
        };
        *n = n.saturating_sub(1);
        if *n == 0 {
            if let Some(nh) = self.work.next_hops.get(index as usize) {
                self.interned.remove(nh);
            }
            self.free.push(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }

    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    fn gw(port: u16, via: &str) -> NextHop {
        NextHop::Gateway { port, via: v4(via) }
    }

    fn add(vrf: u16, prefix: IpAddr, len: u8, next_hop: NextHop) -> RouteChange {
        RouteChange::Add {
            vrf,
            prefix,
            len,
            next_hop,
        }
    }

    #[test]
    fn one_snapshot_per_batch_with_vrfs_and_interning() {
        let (mut w, r) = fib_channel();
        assert_eq!(r.load().generation(), 0);
        let report = w.apply([
            add(0, v4("0.0.0.0"), 0, gw(1, "192.0.2.1")),
            add(0, v4("10.0.0.0"), 8, NextHop::Connected { port: 2 }),
            add(7, v4("10.0.0.0"), 8, gw(1, "192.0.2.1")),
            add(7, v6("2001:db8::"), 32, NextHop::Blackhole),
            add(0, v4("10.0.0.1"), 8, NextHop::Local),
            add(0, v6("::1"), 128, NextHop::Local),
            add(0, v4("10.0.0.0"), 8, NextHop::Connected { port: 3 }),
            RouteChange::Remove {
                vrf: 9,
                prefix: v4("10.0.0.0"),
                len: 8,
            },
        ]);
        assert_eq!(report.generation, 1);
        assert_eq!((report.added, report.replaced, report.not_found), (5, 1, 1));
        assert_eq!(
            report.rejected,
            vec![(4, FibError::Route(LpmError::HostBitsSet { len: 8 }))]
        );
        let fib = r.load();
        assert_eq!(fib.generation(), 1);
        let a = "10.1.2.3".parse().unwrap();
        assert_eq!(fib.lookup_v4(0, a), Some(&NextHop::Connected { port: 3 }));
        assert_eq!(fib.lookup_v4(7, a), Some(&gw(1, "192.0.2.1")));
        assert_eq!(
            fib.lookup_v4(0, "11.0.0.1".parse().unwrap()),
            Some(&gw(1, "192.0.2.1"))
        );
        assert_eq!(fib.lookup_v4(7, "11.0.0.1".parse().unwrap()), None);
        assert_eq!(fib.lookup_v4(3, a), None);
        assert_eq!(
            fib.lookup_v6(7, "2001:db8::5".parse().unwrap()),
            Some(&NextHop::Blackhole)
        );
        assert_eq!(
            fib.lookup_v6(0, "::1".parse().unwrap()),
            Some(&NextHop::Local)
        );
        // gw(1, ..) is shared by two routes; Connected{3} was interned
        // (index 4) before Connected{2} (index 1) lost its last route and
        // went to the free list.
        assert_eq!(fib.next_hops.len(), 5);
        assert_eq!(w.free.len(), 1);
        let mut out = [None; 3];
        let dsts = [u32::from(a), 0x0b00_0001, 0xc000_0201];
        assert_eq!(fib.lookup_v4_bulk(0, &dsts, &mut out), 3);
        assert_eq!(
            out,
            [
                fib.lookup_v4(0, a),
                fib.lookup_v4(0, "11.0.0.1".parse().unwrap()),
                fib.lookup_v4(0, "192.0.2.1".parse().unwrap())
            ]
        );
        let routes: Vec<RouteEntry> = fib.routes().collect();
        assert_eq!(routes.len(), fib.route_count());
        assert_eq!(routes.len(), 5);
        assert_eq!(
            routes[0],
            RouteEntry {
                vrf: 0,
                prefix: v4("0.0.0.0"),
                len: 0,
                next_hop: gw(1, "192.0.2.1")
            }
        );
        assert_eq!(routes[4].vrf, 7);
        assert_eq!(routes[4].prefix, v6("2001:db8::"));
    }

    /// Up to 8 VRFs are scanned, more are binary-searched: both find
    /// each VRF's own route and nothing for a VRF without tables.
    #[test]
    fn vrf_tables_are_found_with_few_and_many_vrfs() {
        for count in [1u16, 8, 9, 40] {
            let (mut w, r) = fib_channel();
            // Odd ids, added out of order.
            let ids: Vec<u16> = (0..count).rev().map(|i| 2 * i + 1).collect();
            w.apply(
                ids.iter()
                    .map(|&vrf| add(vrf, v4("10.0.0.0"), 8, NextHop::Connected { port: vrf })),
            );
            let fib = r.load_full();
            let dst = "10.1.2.3".parse().unwrap();
            for &vrf in &ids {
                assert_eq!(
                    fib.lookup_v4(vrf, dst),
                    Some(&NextHop::Connected { port: vrf }),
                    "{count} VRFs, VRF {vrf}"
                );
                assert_eq!(
                    fib.lookup_v4(vrf + 1, dst),
                    None,
                    "{count} VRFs, VRF {}",
                    vrf + 1
                );
            }
        }
    }

    #[test]
    fn recycled_next_hop_index_keeps_old_snapshot_intact() {
        let (mut w, r) = fib_channel();
        let a = "10.1.2.3".parse().unwrap();
        w.apply([add(0, v4("10.0.0.0"), 8, gw(1, "192.0.2.1"))]);
        let old = r.load_full();
        w.apply([
            RouteChange::Remove {
                vrf: 0,
                prefix: v4("10.0.0.0"),
                len: 8,
            },
            add(0, v4("10.0.0.0"), 8, gw(2, "192.0.2.2")),
        ]);
        let new = r.load_full();
        assert_eq!(new.next_hops.len(), 1, "index 0 was recycled");
        assert_eq!(new.lookup_v4(0, a), Some(&gw(2, "192.0.2.2")));
        assert_eq!(old.lookup_v4(0, a), Some(&gw(1, "192.0.2.1")));
        // Emptying a VRF drops its tables.
        w.apply([RouteChange::Remove {
            vrf: 0,
            prefix: v4("10.0.0.0"),
            len: 8,
        }]);
        assert!(r.load().vrf_ids.is_empty());
    }

    #[test]
    fn old_snapshot_freed_only_when_no_reader_holds_it() {
        let (mut w, r) = fib_channel();
        w.apply([add(0, v4("10.0.0.0"), 8, NextHop::Local)]);
        let held = r.load_full();
        let guard = r.load();
        let weak = Arc::downgrade(&held);
        w.apply([add(0, v4("11.0.0.0"), 8, NextHop::Local)]);
        w.apply([add(0, v4("12.0.0.0"), 8, NextHop::Local)]);
        // Generation 0 was dropped by the writer, generation 1 is held.
        assert_eq!(w.retired_in_use(), 1);
        assert_eq!(held.generation(), 1);
        assert_eq!(guard.generation(), 1);
        drop(held);
        assert_eq!(w.reclaim(), 0, "the guard still holds generation 1");
        assert!(weak.upgrade().is_some());
        drop(guard);
        assert_eq!(w.reclaim(), 1);
        assert!(weak.upgrade().is_none(), "freed once no reader holds it");
        assert_eq!(w.retired_in_use(), 0);
    }

    #[test]
    fn reader_never_misses_unchanged_prefix_during_churn() {
        const BATCHES: u32 = 3_000;
        const MIN_LOOKUPS: u64 = 2_000_000;
        let (mut w, r) = fib_channel();
        let stable = NextHop::Gateway {
            port: 9,
            via: v6("fe80::1"),
        };
        w.apply([
            add(0, v4("10.1.2.0"), 24, NextHop::Connected { port: 1 }),
            add(0, v6("2001:db8:1::"), 48, stable.clone()),
        ]);
        let done = AtomicBool::new(false);
        let lookups = std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut cache = r.cache();
                let dst4: Ipv4Addr = "10.1.2.77".parse().unwrap();
                let dst6: Ipv6Addr = "2001:db8:1::77".parse().unwrap();
                let (mut n, mut last_gen) = (0u64, 0);
                while n < MIN_LOOKUPS || !done.load(Ordering::Relaxed) {
                    let fib = cache.load();
                    assert!(fib.generation() >= last_gen, "generation went back");
                    last_gen = fib.generation();
                    for _ in 0..32 {
                        assert_eq!(
                            fib.lookup_v4(0, dst4),
                            Some(&NextHop::Connected { port: 1 })
                        );
                        assert_eq!(fib.lookup_v6(0, dst6), Some(&stable));
                    }
                    n += 64;
                }
                n
            });
            // Churn around the stable routes: same /12 chunk, covering and
            // more specific neighbours, the default route, fresh next hops.
            for i in 0..BATCHES {
                let b = (i % 250) as u8;
                let nh = gw(2, &format!("192.0.2.{b}"));
                let mut batch = vec![
                    add(0, v4(&format!("10.1.{b}.0")), 24, nh.clone()),
                    add(0, v4(&format!("10.1.2.{}", b & 0x30)), 28, nh.clone()),
                    add(
                        0,
                        v6(&format!("2001:db8:1:{:x}::", u16::from(b) + 1)),
                        64,
                        nh.clone(),
                    ),
                    add(0, v4("10.0.0.0"), 8, nh.clone()),
                    add(0, v4("0.0.0.0"), 0, nh.clone()),
                ];
                if b == 2 {
                    batch.truncate(0);
                }
                if i % 2 == 1 {
                    batch = batch
                        .into_iter()
                        .map(|c| match c {
                            RouteChange::Add {
                                vrf, prefix, len, ..
                            } => RouteChange::Remove { vrf, prefix, len },
                            other => other,
                        })
                        .collect();
                }
                w.apply(batch);
            }
            done.store(true, Ordering::Relaxed);
            reader.join().unwrap()
        });
        assert!(lookups >= MIN_LOOKUPS);
        assert_eq!(r.load().generation(), u64::from(BATCHES) + 1);
    }
}
