//! IPv4 longest-prefix match: a DIR-24-8 whose `tbl24` is cut into 4,096
//! copy-on-write chunks (design and costs in the module doc of `lpm`).

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

use super::{check_value, entry, entry_depth, entry_value, LpmError, EXT, MAX_VALUE, VALID};

/// Top directory level: address bits 31..24.
const TOP_SLOTS: usize = 256;
/// Second directory level: address bits 23..20.
const MID_SLOTS: usize = 16;
/// Routes up to this length live in the directory slots' `fallback`.
const DIR_BITS: u8 = 12;
/// tbl24 entries per chunk: address bits 19..8.
const CHUNK_ENTRIES: usize = 1 << (24 - DIR_BITS);
/// Entries per tbl8 group: address bits 7..0.
const GROUP_ENTRIES: usize = 256;

/// Routes of one chunk (or the short routes), sorted by (length, prefix).
/// A sorted `Vec` clones with one allocation, which matters more here than
/// insertion cost: a chunk holds a few hundred routes at most in practice
/// (4,096 /24s when full).
#[derive(Clone, Default)]
struct Routes(Vec<(u64, u32)>);

impl Routes {
    fn key(prefix: u32, len: u8) -> u64 {
        (u64::from(len) << 32) | u64::from(prefix)
    }

    fn get(&self, prefix: u32, len: u8) -> Option<u32> {
        let k = Self::key(prefix, len);
        self.0
            .binary_search_by_key(&k, |r| r.0)
            .ok()
            .map(|i| self.0[i].1)
    }

    fn insert(&mut self, prefix: u32, len: u8, value: u32) -> Option<u32> {
        let k = Self::key(prefix, len);
        match self.0.binary_search_by_key(&k, |r| r.0) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (k, value));
                None
            }
        }
    }

    fn remove(&mut self, prefix: u32, len: u8) -> Option<u32> {
        let k = Self::key(prefix, len);
        let i = self.0.binary_search_by_key(&k, |r| r.0).ok()?;
        Some(self.0.remove(i).1)
    }

    /// Entry of the longest route with `min_len <= length < len` covering
    /// `prefix`, or 0 (invalid) when there is none.
    fn covering(&self, prefix: u32, len: u8, min_len: u8) -> u32 {
        (min_len..len)
            .rev()
            .find_map(|l| self.get(prefix & mask(l), l).map(|v| entry(l, v)))
            .unwrap_or(0)
    }

    fn iter(&self) -> impl Iterator<Item = (u32, u8, u32)> + '_ {
        // The key packs a length ≤ 32 over a 32-bit prefix: both casts are exact.
        self.0.iter().map(|&(k, v)| (k as u32, (k >> 32) as u8, v))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Network mask of a prefix length 0..=32.
fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

/// One /12 of the address space: its tbl24 entries, tbl8 groups and routes
/// longer than /12.
#[derive(Clone)]
struct Chunk {
    tbl24: [u32; CHUNK_ENTRIES],
    tbl8: Vec<[u32; GROUP_ENTRIES]>,
    /// tbl8 groups no tbl24 entry points to, reused before growing `tbl8`.
    free8: Vec<u32>,
    routes: Routes,
}

impl Chunk {
    fn empty() -> Self {
        Chunk {
            tbl24: [0; CHUNK_ENTRIES],
            tbl8: Vec::new(),
            free8: Vec::new(),
            routes: Routes::default(),
        }
    }

    fn tbl24_index(addr: u32) -> usize {
        // Masked to 12 bits.
        ((addr >> 8) as usize) & (CHUNK_ENTRIES - 1)
    }

    /// Rewrite the entries `prefix/len` covers for which `pick` holds with
    /// `new`. With `collapse`, tbl8 groups left without routes longer than
    /// /24 fold back into their tbl24 entry.
    fn paint(
        &mut self,
        prefix: u32,
        len: u8,
        new: u32,
        pick: impl Fn(u32) -> bool,
        collapse: bool,
    ) {
        if len <= 24 {
            let first = Self::tbl24_index(prefix);
            let count = 1usize << (24 - len);
            for i in first..first + count {
                let e = self.tbl24[i];
                if e & EXT != 0 {
                    let g = (e & MAX_VALUE) as usize;
                    for x in self.tbl8[g].iter_mut() {
                        if pick(*x) {
                            *x = new;
                        }
                    }
                    if collapse {
                        self.try_collapse(i);
                    }
                } else if pick(e) {
                    self.tbl24[i] = new;
                }
            }
        } else {
            let i = Self::tbl24_index(prefix);
            let g = self.group_of(i);
            let first = (prefix & 0xff) as usize;
            let count = 1usize << (32 - len);
            for x in self.tbl8[g][first..first + count].iter_mut() {
                if pick(*x) {
                    *x = new;
                }
            }
            if collapse {
                self.try_collapse(i);
            }
        }
    }

    /// The tbl8 group behind tbl24 entry `i`, created (filled with the
    /// entry's current route) when there is none.
    fn group_of(&mut self, i: usize) -> usize {
        let e = self.tbl24[i];
        if e & EXT != 0 {
            return (e & MAX_VALUE) as usize;
        }
        let fill = [e; GROUP_ENTRIES];
        let g = match self.free8.pop() {
            Some(g) => {
                self.tbl8[g as usize] = fill;
                g as usize
            }
            None => {
                self.tbl8.push(fill);
                self.tbl8.len() - 1
            }
        };
        // At most CHUNK_ENTRIES groups exist (one per tbl24 entry): fits 24 bits.
        self.tbl24[i] = EXT | g as u32;
        g
    }

    /// Fold the group behind tbl24 entry `i` back when no route longer than
    /// /24 is left in it (then all its entries come from the same route).
    fn try_collapse(&mut self, i: usize) {
        let e = self.tbl24[i];
        if e & EXT == 0 {
            return;
        }
        let g = (e & MAX_VALUE) as usize;
        let first = self.tbl8[g][0];
        let uniform = self.tbl8[g].iter().all(|&x| x == first);
        if uniform && (first & VALID == 0 || entry_depth(first) <= 24) {
            self.tbl24[i] = first;
            self.free8.push(g as u32);
        }
    }
}

/// One directory slot: the chunk for a /12 and the longest route ≤ /12
/// covering it.
#[derive(Clone)]
struct Slot {
    chunk: Arc<Chunk>,
    fallback: u32,
}

#[derive(Clone)]
struct Mid {
    slots: [Slot; MID_SLOTS],
}

/// IPv4 longest-prefix-match table. `Clone` costs 256 `Arc` bumps (of
/// the mids, which the writer keeps warm) and shares everything; the copies
/// then diverge copy-on-write.
#[derive(Clone)]
pub struct Lpm4 {
    top: [Arc<Mid>; TOP_SLOTS],
    /// Routes of length ≤ /12 (expanded into `Slot::fallback`).
    short: Arc<Routes>,
    /// The chunk every /12 without longer routes points to.
    empty: Arc<Chunk>,
    len: usize,
}

impl Default for Lpm4 {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Lpm4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lpm4").field("routes", &self.len).finish()
    }
}

fn validate(prefix: u32, len: u8) -> Result<(), LpmError> {
    if len > 32 {
        return Err(LpmError::PrefixTooLong { len, max: 32 });
    }
    if prefix & !mask(len) != 0 {
        return Err(LpmError::HostBitsSet { len });
    }
    Ok(())
}

/// `e` if valid, else `fallback`, without a branch (about half of random
/// lookups fall back: a branch would mispredict).
#[inline(always)]
fn or_fallback(e: u32, fallback: u32) -> u32 {
    // All ones when the valid bit (bit 31) is set, else zero.
    let keep = ((e as i32) >> 31) as u32;
    (e & keep) | (fallback & !keep)
}

/// (top, mid) directory indexes of an address.
#[inline(always)]
fn dir_index(addr: u32) -> (usize, usize) {
    (
        (addr >> 24) as usize,
        ((addr >> 20) as usize) & (MID_SLOTS - 1),
    )
}

impl Lpm4 {
    /// An empty table (~70 KiB: the directory and one shared empty chunk).
    pub fn new() -> Self {
        let empty = Arc::new(Chunk::empty());
        let mid = Arc::new(Mid {
            slots: std::array::from_fn(|_| Slot {
                chunk: Arc::clone(&empty),
                fallback: 0,
            }),
        });
        Lpm4 {
            top: std::array::from_fn(|_| Arc::clone(&mid)),
            short: Arc::new(Routes::default()),
            empty,
            len: 0,
        }
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Add or replace `prefix/len`; returns the value it replaced.
    pub fn insert(
        &mut self,
        prefix: Ipv4Addr,
        len: u8,
        value: u32,
    ) -> Result<Option<u32>, LpmError> {
        let p = u32::from(prefix);
        validate(p, len)?;
        check_value(value)?;
        let new = entry(len, value);
        let pick = |e: u32| e & VALID == 0 || entry_depth(e) <= len;
        let old = if len <= DIR_BITS {
            let old = Arc::make_mut(&mut self.short).insert(p, len, value);
            self.paint_slots(p, len, new, pick);
            old
        } else {
            let slot = self.slot_mut(p);
            let chunk = Arc::make_mut(&mut slot.chunk);
            let old = chunk.routes.insert(p, len, value);
            chunk.paint(p, len, new, pick, false);
            old
        };
        if old.is_none() {
            self.len += 1;
        }
        Ok(old)
    }

    /// Remove `prefix/len`; returns its value, `None` if absent or invalid.
    pub fn remove(&mut self, prefix: Ipv4Addr, len: u8) -> Option<u32> {
        // Look first so that removing an absent route copies nothing.
        self.get(prefix, len)?;
        let p = u32::from(prefix);
        let pick = |e: u32| e & VALID != 0 && entry_depth(e) == len;
        let old = if len <= DIR_BITS {
            let short = Arc::make_mut(&mut self.short);
            let old = short.remove(p, len);
            let cover = short.covering(p, len, 0);
            self.paint_slots(p, len, cover, pick);
            old
        } else {
            let empty = Arc::clone(&self.empty);
            let slot = self.slot_mut(p);
            let chunk = Arc::make_mut(&mut slot.chunk);
            let old = chunk.routes.remove(p, len);
            let cover = chunk.routes.covering(p, len, DIR_BITS + 1);
            chunk.paint(p, len, cover, pick, true);
            if chunk.routes.is_empty() {
                // All entries are invalid and all groups folded: share.
                slot.chunk = empty;
            }
            old
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Whether `prefix/len` is acceptable to [`Self::insert`].
    pub fn check_prefix(prefix: Ipv4Addr, len: u8) -> Result<(), LpmError> {
        validate(u32::from(prefix), len)
    }

    /// Exact-match read of `prefix/len`.
    pub fn get(&self, prefix: Ipv4Addr, len: u8) -> Option<u32> {
        let p = u32::from(prefix);
        validate(p, len).ok()?;
        if len <= DIR_BITS {
            self.short.get(p, len)
        } else {
            let (t, m) = dir_index(p);
            self.top[t].slots[m].chunk.routes.get(p, len)
        }
    }

    /// Longest-prefix match of `addr`.
    #[inline(always)]
    pub fn lookup(&self, addr: Ipv4Addr) -> Option<u32> {
        self.lookup_u32(u32::from(addr))
    }

    /// Longest-prefix match of an address in host byte order.
    #[inline(always)]
    pub fn lookup_u32(&self, addr: u32) -> Option<u32> {
        let (t, m) = dir_index(addr);
        let slot = &self.top[t].slots[m];
        let chunk = &*slot.chunk;
        let mut e = chunk.tbl24[Chunk::tbl24_index(addr)];
        if e & EXT != 0 {
            e = chunk.tbl8[(e & MAX_VALUE) as usize][(addr & 0xff) as usize];
        }
        entry_value(or_fallback(e, slot.fallback))
    }

    /// Look up a burst: `out[i] = lookup_u32(addrs[i])` for the first
    /// `min(addrs.len(), out.len())` addresses, which is what it returns.
    /// Works in groups of 16 in three passes (directory slots, tbl24
    /// entries, then tbl8/fallback) so the 16 tbl24 misses are in flight
    /// together instead of each waiting behind its own directory loads.
    pub fn lookup_bulk(&self, addrs: &[u32], out: &mut [Option<u32>]) -> usize {
        const STEP: usize = 16;
        let n = addrs.len().min(out.len());
        let mut a = addrs[..n].chunks_exact(STEP);
        let mut o = out[..n].chunks_exact_mut(STEP);
        for (a, o) in (&mut a).zip(&mut o) {
            let slots: [&Slot; STEP] = std::array::from_fn(|i| {
                let (t, m) = dir_index(a[i]);
                &self.top[t].slots[m]
            });
            let ent: [u32; STEP] =
                std::array::from_fn(|i| slots[i].chunk.tbl24[Chunk::tbl24_index(a[i])]);
            for i in 0..STEP {
                let mut e = ent[i];
                if e & EXT != 0 {
                    e = slots[i].chunk.tbl8[(e & MAX_VALUE) as usize][(a[i] & 0xff) as usize];
                }
                o[i] = entry_value(or_fallback(e, slots[i].fallback));
            }
        }
        for (r, &x) in o.into_remainder().iter_mut().zip(a.remainder()) {
            *r = self.lookup_u32(x);
        }
        n
    }

    /// Every route as (prefix, length, value): short routes first, then by
    /// /12, each by (length, prefix).
    pub fn iter(&self) -> impl Iterator<Item = (Ipv4Addr, u8, u32)> + '_ {
        let long = self
            .top
            .iter()
            .flat_map(|mid| mid.slots.iter())
            .flat_map(|slot| slot.chunk.routes.iter());
        self.short
            .iter()
            .chain(long)
            .map(|(p, l, v)| (Ipv4Addr::from(p), l, v))
    }

    /// Bytes held by this table counting shared parts once per table (the
    /// memory a single version costs; versions share most of it).
    pub fn memory_bytes(&self) -> usize {
        let mut total = std::mem::size_of::<Self>() + TOP_SLOTS * std::mem::size_of::<Mid>();
        total += self.short.0.capacity() * std::mem::size_of::<(u64, u32)>();
        let mut seen_empty = false;
        for slot in self.top.iter().flat_map(|mid| mid.slots.iter()) {
            if Arc::ptr_eq(&slot.chunk, &self.empty) {
                if seen_empty {
                    continue;
                }
                seen_empty = true;
            }
            let c = &slot.chunk;
            total += std::mem::size_of::<Chunk>()
                + c.tbl8.capacity() * GROUP_ENTRIES * 4
                + c.routes.0.capacity() * std::mem::size_of::<(u64, u32)>();
        }
        total
    }

    /// The directory slot of `addr`, made exclusive to this table.
    fn slot_mut(&mut self, addr: u32) -> &mut Slot {
        let (t, m) = dir_index(addr);
        &mut Arc::make_mut(&mut self.top[t]).slots[m]
    }

    /// Rewrite the fallback of the slots a route ≤ /12 covers.
    fn paint_slots(&mut self, prefix: u32, len: u8, new: u32, pick: impl Fn(u32) -> bool) {
        let first = (prefix >> (32 - DIR_BITS)) as usize;
        let count = 1usize << (DIR_BITS - len);
        for s in first..first + count {
            let slot = &mut Arc::make_mut(&mut self.top[s / MID_SLOTS]).slots[s % MID_SLOTS];
            if pick(slot.fallback) {
                slot.fallback = new;
            }
        }
    }
}
