//! Longest-prefix match tables for IPv4 ([`Lpm4`]) and IPv6 ([`Lpm6`]),
//! built so that worker threads read an immutable snapshot while the control
//! thread prepares the next version next to it.
//!
//! # Why persistent
//!
//! Routes change up to thousands of times per second. The control thread
//! mutates its own working copy and publishes a clone of it (see
//! [`crate::fib`]); workers keep reading the clone they loaded. A clone is
//! a handful of `Arc` bumps and every structure below is copy-on-write
//! (`Arc::make_mut`), so after a publish the next change copies only the
//! pieces it touches. Nothing is ever mutated while a reader can see it, so
//! the lookup path takes no lock, does no atomic operation and allocates
//! nothing.
//!
//! # IPv4: DIR-24-8 cut into shared chunks
//!
//! The classic DIR-24-8 (DPDK `rte_lpm`) has a 2^24-entry `tbl24` indexed by
//! the top 24 address bits and 256-entry `tbl8` groups for prefixes longer
//! than /24. We cut the `tbl24` into 4,096 chunks of 4,096 entries (one chunk
//! per /12, 16 KiB), each behind an `Arc` and owning its own `tbl8` groups
//! and the list of its routes. The 4,096 chunk pointers sit in a 256 × 16
//! directory (`top` inline in the table, 256 `mid` arrays of 16 slots behind
//! `Arc`). Entries are `u32`: valid bit, tbl8-group bit, 6-bit depth,
//! 24-bit value (next-hop index, hence the `< 2^24` limit).
//!
//! Routes of length ≤ /12 are not expanded into chunks at all: each
//! directory slot carries a `fallback` entry (the longest such route covering
//! that /12) used when the chunk entry is invalid. So the default route or a
//! /8 costs O(slots covered) to change instead of rewriting 16 M entries,
//! and every /12 without longer routes shares one empty chunk (an empty
//! table is ~100 KiB, a full one ~64 MiB like `rte_lpm`).
//!
//! Lookup: `top[a>>24] -> mid.slot[(a>>20)&15] -> chunk.tbl24[(a>>8)&0xfff]`
//! (+ `chunk.tbl8[g][a&0xff]` for prefixes > /24). `top` (2 KiB) and the
//! mids (64 KiB in all) stay in L1/L2, so a random lookup costs the same one
//! DRAM access as `rte_lpm` plus two cache hits; no bounds check can fail
//! (fixed-size arrays indexed by masked bits) and the fallback is chosen
//! without a branch. [`Lpm4::lookup_bulk`] takes groups of 16 in three
//! passes (directory, tbl24, tbl8/fallback) so the tbl24 misses overlap (no
//! software prefetch: that intrinsic may only be called from `ffi/`).
//!
//! Update cost (one route, after a publish): the 256 mid pointers of `top`
//! (`Arc` bumps of warm lines), one mid (256 B, 16 chunk `Arc` bumps), one
//! chunk (16 KiB + its tbl8 groups and route list). A route ≤ /12 touches
//! 2^(12-len) slots instead. Old versions free their unique parts when the
//! last reader drops them. The `Arc` bumps of copied pointer arrays (cache
//! misses on the pointees' counts) cost about as much as the copying.
//!
//! # IPv6: 16-bit first level + `tbl8`-style groups in a shared arena
//!
//! Like `rte_lpm6`, but copy-on-write. Every node is a *group* of 256
//! `u32` entries (1 KiB read by lookups; a side array keeps the route length
//! behind each leaf and a sorted list the routes ending in the group). An
//! entry is empty, a leaf (`VALID` + value) or a child (`CHILD` + 24-bit
//! group index); a child group starts as 256 copies of the leaf it replaced
//! (prefix expansion, as `rte_lpm6`), so a walk ends on the answer without
//! remembering earlier leaves. Groups 0..=255 are the first level: group
//! `b` serves addresses whose first byte is `b`, indexed by the second (a
//! 2^16-entry level in 256 pieces), and holds only children. Routes /17
//! and longer live in the group of their last byte (/48: first level + 4
//! groups, one load each; `rte_lpm6` needs 4 but spends 64 MiB on a 24-bit
//! first level). Routes /0../16 sit in a separate short table (2^16
//! entries, one per /16, in 256 shared pages) read only when the walk ends
//! without a leaf, so the default route or a /8 costs O(/16s covered) to
//! change, never a repaint of the groups below.
//!
//! Groups live in an arena: 16 groups per `Arc`'d chunk, 64 chunk pointers
//! per `Arc`'d mid, and an `Arc<[mid]>` top (group `g` is
//! `top[g/1024][(g/16)%64][g%16]`). Indexes stay stable, so an update
//! rewrites entries in place in its own copy: a clone is three `Arc`
//! bumps, and the first change after a publish copies the top (a few
//! dozen pointers), one mid per touched chunk and the touched chunks
//! (21 KiB each). A new /48 under an existing /32 touches ≤ 4 groups. A
//! route with many groups below it repaints those groups' inherited
//! entries (the cost `rte_lpm6` pays too). Each group counts the routes in
//! or below it; at 0 it is folded back into its parent entry and put on a
//! free list chained through its first entry. Lookups take one dependent
//! DRAM access per group; the directory hops (top, mid) hit L1/L2.
//! [`Lpm6::lookup_bulk`] walks 8 addresses level by level so their misses
//! overlap.
//!
//! Limits: 2^24 groups ([`LpmError::TableFull`]); the arena never shrinks
//! (freed groups are reused, not returned).
//!
//! Measured (benches/lpm.rs, 150k clustered routes, same run as
//! `rte_lpm6`): bulk lookups at par (time ratio 0.98), single lookups 1.26×
//! (the two directory hops per group), ~104 MiB (the old 4 KiB-node trie
//! took 320 MiB). Known gap: changing a route that has many groups below
//! it repaints (and so copies) every chunk of that subtree, because child
//! groups carry expanded copies of the covering leaf; one change +
//! snapshot costs ~30 µs against ~18 µs for the old trie.
//!
//! # Validation
//!
//! Strict: a length over /32 (/128), a prefix with host bits set, or a value
//! ≥ 2^24 is rejected with [`LpmError`]; nothing is masked silently.

mod v4;
mod v6;

#[cfg(test)]
mod proptests;

pub use v4::Lpm4;
pub use v6::Lpm6;

use std::fmt;

/// Largest value a route may carry (values are next-hop indexes packed into
/// 24 bits of a table entry).
pub const MAX_VALUE: u32 = (1 << 24) - 1;

/// Why a route was refused by [`Lpm4::insert`] or [`Lpm6::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpmError {
    /// Prefix length above the address width.
    PrefixTooLong { len: u8, max: u8 },
    /// Bits beyond the prefix length are set (e.g. 10.0.0.1/24).
    HostBitsSet { len: u8 },
    /// Value ≥ 2^24.
    ValueTooLarge { value: u32 },
    /// The IPv6 group arena reached its 2^24-group limit.
    TableFull,
}

impl fmt::Display for LpmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LpmError::PrefixTooLong { len, max } => {
                write!(f, "prefix length /{len} exceeds /{max}")
            }
            LpmError::HostBitsSet { len } => {
                write!(f, "prefix has bits set beyond its length /{len}")
            }
            LpmError::ValueTooLarge { value } => {
                write!(f, "route value {value} exceeds {MAX_VALUE} (24 bits)")
            }
            LpmError::TableFull => write!(f, "IPv6 table full: 2^24 node groups in use"),
        }
    }
}

impl std::error::Error for LpmError {}

/// Entry bit: the entry holds a route.
const VALID: u32 = 1 << 31;
/// Entry bit (IPv4 tbl24 only): low 24 bits index a tbl8 group.
const EXT: u32 = 1 << 30;
/// Depth field position (bits 24..30).
const DEPTH_SHIFT: u32 = 24;
/// Mask of the 6-bit depth field once shifted down.
const DEPTH_MASK: u32 = 0x3f;

/// A valid entry for a route of `depth` carrying `value`.
#[inline]
fn entry(depth: u8, value: u32) -> u32 {
    VALID | (u32::from(depth) << DEPTH_SHIFT) | value
}

#[inline]
fn entry_depth(e: u32) -> u8 {
    // Masked to 6 bits, so the cast cannot truncate.
    ((e >> DEPTH_SHIFT) & DEPTH_MASK) as u8
}

/// `Some(value)` of a valid entry, `None` otherwise.
#[inline]
fn entry_value(e: u32) -> Option<u32> {
    if e & VALID != 0 {
        Some(e & MAX_VALUE)
    } else {
        None
    }
}

fn check_value(value: u32) -> Result<(), LpmError> {
    if value > MAX_VALUE {
        Err(LpmError::ValueTooLarge { value })
    } else {
        Ok(())
    }
}
