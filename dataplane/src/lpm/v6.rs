//! IPv6 longest-prefix match: a persistent trie of 256-slot nodes, one per
//! address byte (design and costs in the module doc of `lpm`).

use std::fmt;
use std::net::Ipv6Addr;
use std::sync::Arc;

use super::{check_value, entry, entry_depth, entry_value, LpmError, VALID};

/// Slots per node (8-bit stride).
const FANOUT: usize = 256;
/// Deepest level (bits 127..120 are level 0, bits 7..0 level 15).
const LAST_LEVEL: u8 = 15;

/// One slot of a node: the subtree below this byte value and the longest
/// route ending in this node's byte that covers the slot. Kept side by side
/// so a lookup touches one cache line per level.
#[derive(Clone, Default)]
struct Slot {
    child: Option<Arc<Node>>,
    /// Entry of that route, depth relative to the level (1..=8), or 0.
    leaf: u32,
}

/// A node for one address byte (256 × 16 B slots). `routes` lists the
/// routes ending in this byte (length 8·level+1 ..= 8·level+8) as
/// (relative length, masked byte, value), sorted.
#[derive(Clone)]
struct Node {
    slots: [Slot; FANOUT],
    routes: Vec<(u8, u8, u32)>,
}

impl Node {
    fn empty() -> Self {
        Node {
            slots: std::array::from_fn(|_| Slot::default()),
            routes: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.slots.iter().all(|s| s.child.is_none())
    }

    fn route_index(&self, rel: u8, byte: u8) -> Result<usize, usize> {
        self.routes
            .binary_search_by_key(&(rel, byte), |r| (r.0, r.1))
    }

    fn route(&self, rel: u8, byte: u8) -> Option<u32> {
        self.route_index(rel, byte).ok().map(|i| self.routes[i].2)
    }

    /// Rewrite leaves of slots `byte/rel` covers for which `pick` holds.
    fn paint(&mut self, rel: u8, byte: u8, new: u32, pick: impl Fn(u32) -> bool) {
        let first = usize::from(byte);
        let count = 1usize << (8 - rel);
        for s in self.slots[first..first + count].iter_mut() {
            if pick(s.leaf) {
                s.leaf = new;
            }
        }
    }
}

/// Byte of `addr` examined at `level` (0 = most significant).
#[inline(always)]
fn byte_at(addr: u128, level: u8) -> u8 {
    // Shifted down to the low byte; truncation is the intent.
    (addr >> (120 - 8 * u32::from(level))) as u8
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

/// IPv6 longest-prefix-match table. `Clone` is two word copies and one
/// `Arc` bump; copies diverge copy-on-write along the changed path.
#[derive(Clone)]
pub struct Lpm6 {
    root: Arc<Node>,
    /// Entry of the ::/0 route, 0 when absent.
    default: u32,
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

fn validate(prefix: u128, len: u8) -> Result<(), LpmError> {
    if len > 128 {
        return Err(LpmError::PrefixTooLong { len, max: 128 });
    }
    if prefix & !mask(len) != 0 {
        return Err(LpmError::HostBitsSet { len });
    }
    Ok(())
}

/// (level, relative length, masked byte) where route `prefix/len` (len ≥ 1)
/// lives.
fn position(prefix: u128, len: u8) -> (u8, u8, u8) {
    let level = (len - 1) / 8;
    let rel = len - 8 * level;
    (level, rel, byte_at(prefix, level) & byte_mask(rel))
}

impl Lpm6 {
    pub fn new() -> Self {
        Lpm6 {
            root: Arc::new(Node::empty()),
            default: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
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
        let old = if len == 0 {
            let old = entry_value(self.default);
            self.default = entry(0, value);
            old
        } else {
            let (level, rel, byte) = position(p, len);
            let mut node = Arc::make_mut(&mut self.root);
            for l in 0..level {
                let child = &mut node.slots[usize::from(byte_at(p, l))].child;
                node = Arc::make_mut(child.get_or_insert_with(|| Arc::new(Node::empty())));
            }
            let old = match node.route_index(rel, byte) {
                Ok(i) => Some(std::mem::replace(&mut node.routes[i].2, value)),
                Err(i) => {
                    node.routes.insert(i, (rel, byte, value));
                    None
                }
            };
            node.paint(rel, byte, entry(rel, value), |e| {
                e & VALID == 0 || entry_depth(e) <= rel
            });
            old
        };
        if old.is_none() {
            self.len += 1;
        }
        Ok(old)
    }

    /// Remove `prefix/len`; returns its value, `None` if absent or invalid.
    pub fn remove(&mut self, prefix: Ipv6Addr, len: u8) -> Option<u32> {
        // Look first so that removing an absent route copies nothing.
        self.get(prefix, len)?;
        let p = u128::from(prefix);
        let old = if len == 0 {
            let old = entry_value(self.default);
            self.default = 0;
            old
        } else {
            remove_below(&mut self.root, 0, p, len)
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Whether `prefix/len` is acceptable to [`Self::insert`].
    pub fn check_prefix(prefix: Ipv6Addr, len: u8) -> Result<(), LpmError> {
        validate(u128::from(prefix), len)
    }

    /// Exact-match read of `prefix/len`.
    pub fn get(&self, prefix: Ipv6Addr, len: u8) -> Option<u32> {
        let p = u128::from(prefix);
        validate(p, len).ok()?;
        if len == 0 {
            return entry_value(self.default);
        }
        let (level, rel, byte) = position(p, len);
        let mut node = &*self.root;
        for l in 0..level {
            node = node.slots[usize::from(byte_at(p, l))].child.as_deref()?;
        }
        node.route(rel, byte)
    }

    /// Longest-prefix match of `addr`.
    #[inline]
    pub fn lookup(&self, addr: Ipv6Addr) -> Option<u32> {
        self.lookup_u128(u128::from(addr))
    }

    /// Longest-prefix match of an address as a big-endian `u128`.
    #[inline]
    pub fn lookup_u128(&self, addr: u128) -> Option<u32> {
        let mut best = self.default;
        let mut node = &*self.root;
        let mut level = 0u8;
        loop {
            let slot = &node.slots[usize::from(byte_at(addr, level))];
            if slot.leaf & VALID != 0 {
                best = slot.leaf;
            }
            match &slot.child {
                Some(c) if level < LAST_LEVEL => {
                    node = c;
                    level += 1;
                }
                _ => break,
            }
        }
        entry_value(best)
    }

    /// Look up a burst: `out[i] = lookup_u128(addrs[i])` for the first
    /// `min(addrs.len(), out.len())` addresses, which is what it returns.
    pub fn lookup_bulk(&self, addrs: &[u128], out: &mut [Option<u32>]) -> usize {
        let n = addrs.len().min(out.len());
        for (r, &a) in out[..n].iter_mut().zip(&addrs[..n]) {
            *r = self.lookup_u128(a);
        }
        n
    }

    /// Bytes held by this version (nodes shared with other versions are
    /// counted here too) and its number of nodes.
    pub fn memory_bytes(&self) -> (usize, usize) {
        let mut stack = vec![&*self.root];
        let (mut bytes, mut nodes) = (std::mem::size_of::<Self>(), 0);
        while let Some(n) = stack.pop() {
            nodes += 1;
            bytes += std::mem::size_of::<Node>()
                + n.routes.capacity() * std::mem::size_of::<(u8, u8, u32)>();
            stack.extend(n.slots.iter().filter_map(|s| s.child.as_deref()));
        }
        (bytes, nodes)
    }

    /// Every route as (prefix, length, value), depth first.
    pub fn iter(&self) -> impl Iterator<Item = (Ipv6Addr, u8, u32)> + '_ {
        let default = entry_value(self.default).map(|v| (Ipv6Addr::UNSPECIFIED, 0, v));
        default.into_iter().chain(Iter {
            stack: vec![(&*self.root, 0u8, 0u128)],
            pending: Vec::new(),
        })
    }
}

/// Remove `prefix/len` from the subtree of `node` (at `level`), pruning
/// nodes left empty. The route is known to exist.
fn remove_below(node: &mut Arc<Node>, level: u8, p: u128, len: u8) -> Option<u32> {
    let (target, rel, byte) = position(p, len);
    let n = Arc::make_mut(node);
    if level < target {
        let b = usize::from(byte_at(p, level));
        let child = n.slots[b].child.as_mut()?;
        let old = remove_below(child, level + 1, p, len);
        if n.slots[b].child.as_deref().is_some_and(Node::is_empty) {
            n.slots[b].child = None;
        }
        return old;
    }
    let i = n.route_index(rel, byte).ok()?;
    let (_, _, old) = n.routes.remove(i);
    let cover = (1..rel)
        .rev()
        .find_map(|r| n.route(r, byte & byte_mask(r)).map(|v| entry(r, v)))
        .unwrap_or(0);
    n.paint(rel, byte, cover, |e| {
        e & VALID != 0 && entry_depth(e) == rel
    });
    Some(old)
}

/// Depth-first walk over the nodes, yielding each node's routes.
struct Iter<'a> {
    /// (node, level, address bits above this node's byte).
    stack: Vec<(&'a Node, u8, u128)>,
    pending: Vec<(Ipv6Addr, u8, u32)>,
}

impl Iterator for Iter<'_> {
    type Item = (Ipv6Addr, u8, u32);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.pending.pop() {
                return Some(r);
            }
            let (node, level, above) = self.stack.pop()?;
            let shift = 120 - 8 * u32::from(level);
            for &(rel, byte, v) in node.routes.iter().rev() {
                let p = above | (u128::from(byte) << shift);
                self.pending.push((Ipv6Addr::from(p), 8 * level + rel, v));
            }
            if level < LAST_LEVEL {
                for (b, s) in node.slots.iter().enumerate().rev() {
                    if let Some(c) = &s.child {
                        // b < 256.
                        let p = above | ((b as u128) << shift);
                        self.stack.push((c, level + 1, p));
                    }
                }
            }
        }
    }
}
