//! IPv6 longest-prefix match: a 16-bit first level and `rte_lpm6`-style
//! 256-entry `u32` groups in a chunked copy-on-write arena (design and
//! costs in the module doc of `lpm`).

use std::fmt;
use std::net::Ipv6Addr;
use std::ops::Range;
use std::sync::Arc;

use super::{check_value, entry, entry_depth, entry_value, LpmError, MAX_VALUE, VALID};

/// Arena entry bit: the low 24 bits index the child group.
const CHILD: u32 = 1 << 30;
/// Groups per copy-on-write chunk.
const CHUNK_GROUPS: usize = 16;
/// Chunks per mid (directory page).
const MID_CHUNKS: usize = 64;
/// Groups per mid.
const MID_GROUPS: u32 = (CHUNK_GROUPS * MID_CHUNKS) as u32;
/// The first-level groups: group `b` holds entries for addresses whose
/// first byte is `b`, indexed by the second byte.
const FIRST_GROUPS: u32 = 256;
/// End of the free list.
const NO_GROUP: u32 = u32::MAX;
/// Longest route kept in the short table (routes /0../16).
const SHORT_MAX: u8 = 16;

/// 256 entries for one address byte. `entries` is all a lookup reads;
/// `depth` holds the length of the route behind each leaf entry (0 for
/// none), `routes` the routes ending in this byte as (relative length
/// 1..=8, masked byte, value), sorted, and `below` how many routes end in
/// this group or under it (a group whose count drops to 0 is folded back
/// into its parent entry and freed).
#[derive(Clone)]
struct Group {
    entries: [u32; 256],
    depth: [u8; 256],
    routes: Vec<(u8, u8, u32)>,
    below: u32,
}

impl Group {
    fn filled(e: u32, d: u8) -> Self {
        Group {
            entries: [e; 256],
            depth: [d; 256],
            routes: Vec::new(),
            below: 0,
        }
    }

    fn route_index(&self, rel: u8, byte: u8) -> Result<usize, usize> {
        self.routes
            .binary_search_by_key(&(rel, byte), |r| (r.0, r.1))
    }

    fn route(&self, rel: u8, byte: u8) -> Option<u32> {
        self.route_index(rel, byte).ok().map(|i| self.routes[i].2)
    }
}

type Chunk = [Group; CHUNK_GROUPS];
type Mid = [Arc<Chunk>; MID_CHUNKS];
/// One 256-entry page of the short table (entries per /16).
type ShortPage = [u32; 256];

fn empty_mid() -> Arc<Mid> {
    let chunk: Arc<Chunk> = Arc::new(std::array::from_fn(|_| Group::filled(0, 0)));
    Arc::new(std::array::from_fn(|_| Arc::clone(&chunk)))
}

/// Network mask of a prefix length 0..=128.
fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

/// Byte mask keeping the first `rel` (1..=8) bits.
fn byte_mask(rel: u8) -> u8 {
    0xffu8 << (8 - rel)
}

fn validate(prefix: u128, len: u8) -> Result<(), LpmError> {
    if len > 128 {
        return Err(LpmError::PrefixTooLong { len, max: 128 });
    }
    if prefix & !mask(len) != 0 {
        return Err(LpmError::HostBitsSet { len });
    }
    Ok(())
}

/// (byte index 2..=15, relative length 1..=8) where a route of length
/// 17..=128 ends.
fn position(len: u8) -> (usize, u8) {
    let t = (len - 1) / 8;
    (usize::from(t), len - 8 * t)
}

/// IPv6 longest-prefix-match table. `Clone` is a few word copies and three
/// `Arc` bumps; copies diverge copy-on-write per 16-group chunk.
#[derive(Clone)]
pub struct Lpm6 {
    /// Directory of the group arena: group `g` is
    /// `top[g / 1024][(g / 16) % 64][g % 16]`.
    top: Arc<[Arc<Mid>]>,
    /// Groups handed out (first-level ones included); freed ones are
    /// chained through their `entries[0]` from `free`.
    groups: u32,
    free: u32,
    /// Best route of length 0..=16 per /16 (`entry` with depth), used when
    /// the arena walk ends without a leaf.
    short: Arc<[Arc<ShortPage>; 256]>,
    /// Routes of length 0..=16 as (length, top 16 bits, value), sorted.
    short_routes: Arc<Vec<(u8, u16, u32)>>,
    len: usize,
}

impl Default for Lpm6 {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Lpm6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lpm6").field("routes", &self.len).finish()
    }
}

impl Lpm6 {
    pub fn new() -> Self {
        let page: Arc<ShortPage> = Arc::new([0; 256]);
        Lpm6 {
            top: Arc::from(vec![empty_mid()]),
            groups: FIRST_GROUPS,
            free: NO_GROUP,
            short: Arc::new(std::array::from_fn(|_| Arc::clone(&page))),
            short_routes: Arc::new(Vec::new()),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    fn group(&self, g: u32) -> Option<&Group> {
        let g = g as usize;
        let mid = self.top.get(g / MID_GROUPS as usize)?;
        Some(&mid[(g / CHUNK_GROUPS) % MID_CHUNKS][g % CHUNK_GROUPS])
    }

    /// Entry `byte` of group `g`; 0 for a group outside the arena (cannot
    /// happen: entries only name allocated groups).
    #[inline(always)]
    fn entry_of(&self, g: u32, byte: u8) -> u32 {
        self.group(g)
            .map_or(0, |grp| grp.entries[usize::from(byte)])
    }

    /// Writable group `g` (< `self.groups`), copying the directory path and
    /// chunk if shared.
    fn group_mut(&mut self, g: u32) -> &mut Group {
        let g = g as usize;
        if Arc::get_mut(&mut self.top).is_none() {
            self.top = Arc::from(self.top.to_vec());
        }
        let top = Arc::get_mut(&mut self.top).expect("top unique after copy");
        let mid = Arc::make_mut(&mut top[g / MID_GROUPS as usize]);
        let chunk = Arc::make_mut(&mut mid[(g / CHUNK_GROUPS) % MID_CHUNKS]);
        &mut chunk[g % CHUNK_GROUPS]
    }

    /// A new group with every entry `e` of depth `d`.
    fn alloc(&mut self, e: u32, d: u8) -> u32 {
        let g = if self.free != NO_GROUP {
            let g = self.free;
            self.free = self.entry_of(g, 0);
            g
        } else {
            let g = self.groups;
            if g.is_multiple_of(MID_GROUPS) {
                let mut top = self.top.to_vec();
                top.push(empty_mid());
                self.top = Arc::from(top);
            }
            self.groups += 1;
            g
        };
        *self.group_mut(g) = Group::filled(e, d);
        g
    }

    fn release(&mut self, g: u32) {
        let next = self.free;
        *self.group_mut(g) = Group::filled(next, 0);
        self.free = g;
    }

    /// Add or replace `prefix/len`; returns the value it replaced.
    pub fn insert(
        &mut self,
        prefix: Ipv6Addr,
        len: u8,
        value: u32,
    ) -> Result<Option<u32>, LpmError> {
        let p = u128::from(prefix);
        validate(p, len)?;
        check_value(value)?;
        let old = if len <= SHORT_MAX {
            self.short_insert(p, len, value)
        } else {
            self.arena_insert(p, len, value)?
        };
        if old.is_none() {
            self.len += 1;
        }
        Ok(old)
    }

    fn short_insert(&mut self, p: u128, len: u8, value: u32) -> Option<u32> {
        // Top 16 bits; truncation is the intent.
        let bits = (p >> 112) as u16;
        let routes = Arc::make_mut(&mut self.short_routes);
        let old = match routes.binary_search_by_key(&(len, bits), |r| (r.0, r.1)) {
            Ok(i) => Some(std::mem::replace(&mut routes[i].2, value)),
            Err(i) => {
                routes.insert(i, (len, bits, value));
                None
            }
        };
        self.short_paint(bits, len, entry(len, value), |e| {
            e & VALID == 0 || entry_depth(e) <= len
        });
        old
    }

    /// Rewrite the short entries `bits/len` covers for which `pick` holds.
    fn short_paint(&mut self, bits: u16, len: u8, new: u32, pick: impl Fn(u32) -> bool) {
        let first = usize::from(bits);
        let count = 1usize << (16 - len);
        let short = Arc::make_mut(&mut self.short);
        for i in first..first + count {
            let page = Arc::make_mut(&mut short[i >> 8]);
            let e = &mut page[i & 0xff];
            if pick(*e) {
                *e = new;
            }
        }
    }

    fn arena_insert(&mut self, p: u128, len: u8, value: u32) -> Result<Option<u32>, LpmError> {
        let bytes = p.to_be_bytes();
        let (t, rel) = position(len);
        let byte = bytes[t] & byte_mask(rel);
        if let Some(g) = self.find_group(&bytes, t) {
            if let Some(old) = self.group(g).and_then(|grp| grp.route(rel, byte)) {
                let grp = self.group_mut(g);
                if let Ok(i) = grp.route_index(rel, byte) {
                    grp.routes[i].2 = value;
                }
                self.paint(g, byte, rel, VALID | value, len, |_, d| d == len);
                return Ok(Some(old));
            }
        }
        // At most 14 new groups; refuse before changing anything.
        if self.free == NO_GROUP && self.groups > MAX_VALUE - 16 {
            return Err(LpmError::TableFull);
        }
        let mut path = [0u32; 16];
        let mut g = u32::from(bytes[0]);
        path[1] = g;
        for i in 1..t {
            let slot = usize::from(bytes[i]);
            let e = self.entry_of(g, bytes[i]);
            g = if e & CHILD != 0 {
                e & MAX_VALUE
            } else {
                let d = self.group(g).map_or(0, |grp| grp.depth[slot]);
                let c = self.alloc(e, d);
                self.group_mut(g).entries[slot] = CHILD | c;
                c
            };
            path[i + 1] = g;
        }
        for &pg in &path[2..=t] {
            self.group_mut(pg).below += 1;
        }
        let grp = self.group_mut(g);
        if let Err(i) = grp.route_index(rel, byte) {
            grp.routes.insert(i, (rel, byte, value));
        }
        self.paint(g, byte, rel, VALID | value, len, |e, d| {
            e & VALID == 0 || d <= len
        });
        Ok(None)
    }

    /// Group handling byte `t` on the path of `bytes`, if it exists.
    fn find_group(&self, bytes: &[u8; 16], t: usize) -> Option<u32> {
        let mut g = u32::from(bytes[0]);
        for &b in &bytes[1..t] {
            let e = self.entry_of(g, b);
            if e & CHILD == 0 {
                return None;
            }
            g = e & MAX_VALUE;
        }
        Some(g)
    }

    /// Set leaf `new` (route length `new_depth`) on the entries of group
    /// `g` that `byte/rel` covers, and on every entry of the groups below
    /// them, wherever `pick(entry, depth)` holds.
    fn paint(
        &mut self,
        g: u32,
        byte: u8,
        rel: u8,
        new: u32,
        new_depth: u8,
        pick: impl Fn(u32, u8) -> bool,
    ) {
        let first = usize::from(byte);
        let mut work: Vec<(u32, Range<usize>)> = vec![(g, first..first + (1 << (8 - rel)))];
        while let Some((g, range)) = work.pop() {
            let grp = self.group_mut(g);
            for s in range {
                let e = grp.entries[s];
                if e & CHILD != 0 {
                    work.push((e & MAX_VALUE, 0..256));
                } else if pick(e, grp.depth[s]) {
                    grp.entries[s] = new;
                    grp.depth[s] = new_depth;
                }
            }
        }
    }

    /// Remove `prefix/len`; returns its value, `None` if absent or invalid.
    pub fn remove(&mut self, prefix: Ipv6Addr, len: u8) -> Option<u32> {
        // Look first so that removing an absent route copies nothing.
        let old = self.get(prefix, len)?;
        let p = u128::from(prefix);
        if len <= SHORT_MAX {
            self.short_remove(p, len);
        } else {
            self.arena_remove(p, len);
        }
        self.len -= 1;
        Some(old)
    }

    fn short_remove(&mut self, p: u128, len: u8) {
        // Top 16 bits; truncation is the intent.
        let bits = (p >> 112) as u16;
        let routes = Arc::make_mut(&mut self.short_routes);
        if let Ok(i) = routes.binary_search_by_key(&(len, bits), |r| (r.0, r.1)) {
            routes.remove(i);
        }
        let cover = (0..len)
            .rev()
            .find_map(|l| {
                let b = if l == 0 {
                    0
                } else {
                    bits & (u16::MAX << (16 - l))
                };
                routes
                    .binary_search_by_key(&(l, b), |r| (r.0, r.1))
                    .ok()
                    .map(|i| entry(l, routes[i].2))
            })
            .unwrap_or(0);
        self.short_paint(bits, len, cover, |e| {
            e & VALID != 0 && entry_depth(e) == len
        });
    }

    fn arena_remove(&mut self, p: u128, len: u8) {
        let bytes = p.to_be_bytes();
        let (t, rel) = position(len);
        let byte = bytes[t] & byte_mask(rel);
        let mut path = [0u32; 16];
        path[1] = u32::from(bytes[0]);
        for i in 1..t {
            path[i + 1] = self.entry_of(path[i], bytes[i]) & MAX_VALUE;
        }
        let g = path[t];
        let grp = self.group_mut(g);
        if let Ok(i) = grp.route_index(rel, byte) {
            grp.routes.remove(i);
        }
        // The longest remaining arena route covering the removed one.
        let mut cover = (0, 0);
        'search: for i in (2..=t).rev() {
            let Some(grp) = self.group(path[i]) else {
                continue;
            };
            let top_rel = if i == t { rel - 1 } else { 8 };
            for r in (1..=top_rel).rev() {
                if let Some(v) = grp.route(r, bytes[i] & byte_mask(r)) {
                    // i ≤ 15, so 8·i + r ≤ 128.
                    cover = (VALID | v, 8 * i as u8 + r);
                    break 'search;
                }
            }
        }
        self.paint(g, byte, rel, cover.0, cover.1, |e, d| {
            e & VALID != 0 && d == len
        });
        for &pg in &path[2..=t] {
            let grp = self.group_mut(pg);
            grp.below -= 1;
        }
        for i in (2..=t).rev() {
            let Some(grp) = self.group(path[i]) else {
                break;
            };
            if grp.below != 0 {
                break;
            }
            // No route ends in or under it: every entry is the inherited one.
            let (e, d) = (grp.entries[0], grp.depth[0]);
            let parent = self.group_mut(path[i - 1]);
            let slot = usize::from(bytes[i - 1]);
            parent.entries[slot] = e;
            parent.depth[slot] = d;
            self.release(path[i]);
        }
    }

    /// Whether `prefix/len` is acceptable to [`Self::insert`].
    pub fn check_prefix(prefix: Ipv6Addr, len: u8) -> Result<(), LpmError> {
        validate(u128::from(prefix), len)
    }

    /// Exact-match read of `prefix/len`.
    pub fn get(&self, prefix: Ipv6Addr, len: u8) -> Option<u32> {
        let p = u128::from(prefix);
        validate(p, len).ok()?;
        if len <= SHORT_MAX {
            // Top 16 bits; truncation is the intent.
            let bits = (p >> 112) as u16;
            let r = &self.short_routes;
            return r
                .binary_search_by_key(&(len, bits), |r| (r.0, r.1))
                .ok()
                .map(|i| r[i].2);
        }
        let bytes = p.to_be_bytes();
        let (t, rel) = position(len);
        let g = self.find_group(&bytes, t)?;
        self.group(g)?.route(rel, bytes[t] & byte_mask(rel))
    }

    /// Longest-prefix match of `addr`.
    #[inline]
    pub fn lookup(&self, addr: Ipv6Addr) -> Option<u32> {
        self.lookup_u128(u128::from(addr))
    }

    /// Longest-prefix match of an address as a big-endian `u128`.
    #[inline]
    pub fn lookup_u128(&self, addr: u128) -> Option<u32> {
        let b = addr.to_be_bytes();
        let mut e = self.entry_of(u32::from(b[0]), b[1]);
        for &byte in &b[2..] {
            if e & CHILD == 0 {
                break;
            }
            e = self.entry_of(e & MAX_VALUE, byte);
        }
        self.finish(e, &b)
    }

    /// The result for the last arena entry `e` of address bytes `b`.
    #[inline(always)]
    fn finish(&self, e: u32, b: &[u8; 16]) -> Option<u32> {
        let e = if e & VALID != 0 {
            e
        } else {
            self.short[usize::from(b[0])][usize::from(b[1])]
        };
        entry_value(e)
    }

    /// Look up a burst: `out[i] = lookup_u128(addrs[i])` for the first
    /// `min(addrs.len(), out.len())` addresses, which is what it returns.
    /// Walks 8 addresses level by level so their cache misses overlap.
    pub fn lookup_bulk(&self, addrs: &[u128], out: &mut [Option<u32>]) -> usize {
        const LANES: usize = 8;
        let n = addrs.len().min(out.len());
        for (a, o) in addrs[..n].chunks(LANES).zip(out[..n].chunks_mut(LANES)) {
            let mut b = [[0u8; 16]; LANES];
            let mut e = [0u32; LANES];
            for ((bk, ek), &ak) in b.iter_mut().zip(&mut e).zip(a) {
                *bk = ak.to_be_bytes();
                *ek = self.entry_of(u32::from(bk[0]), bk[1]);
            }
            for level in 2..16 {
                let mut more = false;
                for (ek, bk) in e.iter_mut().zip(&b).take(a.len()) {
                    if *ek & CHILD != 0 {
                        *ek = self.entry_of(*ek & MAX_VALUE, bk[level]);
                        more = true;
                    }
                }
                if !more {
                    break;
                }
            }
            for ((ok, &ek), bk) in o.iter_mut().zip(&e).zip(&b) {
                *ok = self.finish(ek, bk);
            }
        }
        n
    }

    /// Bytes held by this version (chunks shared with other versions are
    /// counted here too) and its number of live groups.
    pub fn memory_bytes(&self) -> (usize, usize) {
        let chunks = (self.groups as usize).div_ceil(CHUNK_GROUPS);
        let mut routes = 0;
        for g in 0..self.groups {
            if let Some(grp) = self.group(g) {
                routes += grp.routes.capacity();
            }
        }
        let mut free = 0;
        let mut f = self.free;
        while f != NO_GROUP {
            free += 1;
            f = self.entry_of(f, 0);
        }
        let bytes = std::mem::size_of::<Self>()
            + self.top.len() * std::mem::size_of::<Mid>()
            + chunks * std::mem::size_of::<Chunk>()
            + routes * std::mem::size_of::<(u8, u8, u32)>()
            + 256 * std::mem::size_of::<ShortPage>()
            + self.short_routes.capacity() * std::mem::size_of::<(u8, u16, u32)>();
        (bytes, self.groups as usize - free)
    }

    /// Every route as (prefix, length, value): routes up to /16 first, then
    /// the arena depth first.
    pub fn iter(&self) -> impl Iterator<Item = (Ipv6Addr, u8, u32)> + '_ {
        let short = self
            .short_routes
            .iter()
            .map(|&(l, bits, v)| (Ipv6Addr::from(u128::from(bits) << 112), l, v));
        short.chain(Iter {
            table: self,
            stack: (0..FIRST_GROUPS)
                .rev()
                .map(|g| (g, 1usize, u128::from(g) << 120))
                .collect(),
            pending: Vec::new(),
        })
    }
}

/// Depth-first walk over the groups, yielding each group's routes.
struct Iter<'a> {
    table: &'a Lpm6,
    /// (group, byte index it handles, address bits above that byte).
    stack: Vec<(u32, usize, u128)>,
    pending: Vec<(Ipv6Addr, u8, u32)>,
}

impl Iterator for Iter<'_> {
    type Item = (Ipv6Addr, u8, u32);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.pending.pop() {
                return Some(r);
            }
            let (g, i, above) = self.stack.pop()?;
            let Some(grp) = self.table.group(g) else {
                continue;
            };
            let shift = 120 - 8 * i;
            // i ≤ 15.
            let base = 8 * i as u8;
            for &(rel, byte, v) in grp.routes.iter().rev() {
                let p = above | (u128::from(byte) << shift);
                self.pending.push((Ipv6Addr::from(p), base + rel, v));
            }
            for (b, &e) in grp.entries.iter().enumerate().rev() {
                if e & CHILD != 0 {
                    // b < 256.
                    let p = above | ((b as u128) << shift);
                    self.stack.push((e & MAX_VALUE, i + 1, p));
                }
            }
        }
    }
}
