//! The workers' immutable neighbor snapshot, laid out for the per-packet
//! lookup: two open-addressed arrays (linear probing, load ≤ 1/2, built
//! once by the control thread), one for IPv4 keyed by a single `u64`
//! `(port, address)` word and one for IPv6 keyed by `(port, u128)`. A
//! lookup is one multiply, one shift and usually one compare; no hashing
//! of an `IpAddr` enum, no SIMD group probing.

use super::NeighborEntry;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Fibonacci hashing constant (2^64 / golden ratio).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// Bit set in every occupied IPv4 key, so 0 means "empty slot".
const V4_USED: u64 = 1 << 48;

fn v4_key(port: u16, ip: Ipv4Addr) -> u64 {
    V4_USED | (u64::from(port) << 32) | u64::from(u32::from(ip))
}

#[derive(Debug, Clone, Copy)]
struct V6Slot {
    /// `port + 1`; 0 means "empty slot".
    port: u32,
    ip: u128,
    entry: NeighborEntry,
}

/// Immutable snapshot read by workers. Keyed by (port, address): the same
/// link-local address may live on several ports.
#[derive(Debug, Clone, Default)]
pub struct NeighborTable {
    len: usize,
    v4: Vec<(u64, NeighborEntry)>,
    v6: Vec<V6Slot>,
    /// `64 - log2(capacity)` of each array (capacity is a power of two).
    v4_shift: u32,
    v6_shift: u32,
    /// Unique per built snapshot (0: the empty default), see
    /// [`NeighborTable::id`].
    id: u64,
}

/// Capacity (a power of two, ≥ 2n, ≥ 2) and the hash shift for it.
fn sizing(n: usize) -> (usize, u32) {
    let cap = (n.saturating_mul(2)).max(2).next_power_of_two();
    (cap, 64 - cap.trailing_zeros())
}

#[inline]
fn slot(hash_input: u64, shift: u32) -> usize {
    (hash_input.wrapping_mul(GOLDEN) >> shift) as usize
}

fn v6_hash(port: u16, ip: u128) -> u64 {
    (ip as u64) ^ ((ip >> 64) as u64).rotate_left(29) ^ (u64::from(port) << 48)
}

impl NeighborTable {
    /// A snapshot of `entries`; a key given twice keeps the last entry.
    pub fn from_entries(entries: impl IntoIterator<Item = ((u16, IpAddr), NeighborEntry)>) -> Self {
        let entries: Vec<_> = entries.into_iter().collect();
        let n4 = entries.iter().filter(|((_, ip), _)| ip.is_ipv4()).count();
        let (cap4, v4_shift) = sizing(n4);
        let (cap6, v6_shift) = sizing(entries.len() - n4);
        let empty = NeighborEntry {
            mac: None,
            state: super::NeighborState::Incomplete,
        };
        let mut v4 = vec![(0u64, empty); cap4];
        let mut v6 = vec![
            V6Slot {
                port: 0,
                ip: 0,
                entry: empty
            };
            cap6
        ];
        let mut len = 0;
        for ((port, ip), entry) in entries {
            match ip {
                IpAddr::V4(a) => {
                    let key = v4_key(port, a);
                    let mut i = slot(key, v4_shift);
                    while v4[i].0 != 0 && v4[i].0 != key {
                        i = (i + 1) & (cap4 - 1);
                    }
                    len += usize::from(v4[i].0 == 0);
                    v4[i] = (key, entry);
                }
                IpAddr::V6(a) => {
                    let (ip, p) = (u128::from(a), u32::from(port) + 1);
                    let mut i = slot(v6_hash(port, ip), v6_shift);
                    while v6[i].port != 0 && (v6[i].port != p || v6[i].ip != ip) {
                        i = (i + 1) & (cap6 - 1);
                    }
                    len += usize::from(v6[i].port == 0);
                    v6[i] = V6Slot { port: p, ip, entry };
                }
            }
        }
        Self {
            len,
            v4,
            v6,
            v4_shift,
            v6_shift,
            id: crate::snapshot_id::next(),
        }
    }

    /// A number no other built table has (0 for the empty default): what
    /// a worker's per-snapshot caches are keyed by.
    #[inline]
    pub fn id(&self) -> u64 {
        self.id
    }

    #[inline]
    pub fn lookup(&self, port: u16, ip: IpAddr) -> Option<&NeighborEntry> {
        match ip {
            IpAddr::V4(a) => self.lookup_v4(port, a),
            IpAddr::V6(a) => self.lookup_v6(port, &a),
        }
    }

    #[inline(always)]
    pub fn lookup_v4(&self, port: u16, ip: Ipv4Addr) -> Option<&NeighborEntry> {
        let mask = self.v4.len().checked_sub(1)?;
        let key = v4_key(port, ip);
        let mut i = slot(key, self.v4_shift);
        // Load ≤ 1/2: an empty slot always ends the probe.
        loop {
            let (k, e) = self.v4.get(i)?;
            if *k == key {
                return Some(e);
            }
            if *k == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    #[inline]
    pub fn lookup_v6(&self, port: u16, ip: &Ipv6Addr) -> Option<&NeighborEntry> {
        let mask = self.v6.len().checked_sub(1)?;
        let (ip, p) = (u128::from(*ip), u32::from(port) + 1);
        let mut i = slot(v6_hash(port, ip), self.v6_shift);
        loop {
            let s = self.v6.get(i)?;
            if s.port == p && s.ip == ip {
                return Some(&s.entry);
            }
            if s.port == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// All entries (for `show neighbors`), unordered.
    pub fn iter(&self) -> impl Iterator<Item = ((u16, IpAddr), &NeighborEntry)> {
        let v4 = self.v4.iter().filter(|(k, _)| *k != 0).map(|(k, e)| {
            let ip = Ipv4Addr::from(*k as u32);
            (((k >> 32) as u16, IpAddr::V4(ip)), e)
        });
        let v6 = self.v6.iter().filter(|s| s.port != 0).map(|s| {
            let port = (s.port - 1) as u16;
            ((port, IpAddr::V6(Ipv6Addr::from(s.ip))), &s.entry)
        });
        v4.chain(v6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbor::NeighborState;
    use sdwan_packet::MacAddr;

    fn entry(last: u8) -> NeighborEntry {
        NeighborEntry {
            mac: Some(MacAddr([2, 0, 0, 0, 0, last])),
            state: NeighborState::Reachable,
        }
    }

    #[test]
    fn finds_every_entry_and_nothing_else() {
        let mut all = Vec::new();
        for i in 0..300u32 {
            let port = (i % 3) as u16;
            all.push((
                (port, IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))),
                entry(i as u8),
            ));
            let v6 = Ipv6Addr::from((0xfe80u128 << 112) | u128::from(i));
            all.push(((port, IpAddr::V6(v6)), entry(i as u8)));
        }
        let t = NeighborTable::from_entries(all.clone());
        assert_eq!(t.len(), 600);
        for ((port, ip), e) in &all {
            assert_eq!(t.lookup(*port, *ip), Some(e));
            // Same address on another port: absent.
            assert_eq!(t.lookup(port + 3, *ip), None);
        }
        assert_eq!(t.lookup(0, IpAddr::V4(Ipv4Addr::new(10, 0, 9, 9))), None);
        assert_eq!(t.iter().count(), 600);
        let empty = NeighborTable::default();
        assert!(empty.is_empty());
        assert_eq!(
            empty.lookup(0, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0))),
            None
        );
        assert_eq!(empty.lookup(0, IpAddr::V6(Ipv6Addr::LOCALHOST)), None);
    }

    #[test]
    fn duplicate_key_keeps_last() {
        let k = (1, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        let t = NeighborTable::from_entries([(k, entry(1)), (k, entry(2))]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.lookup(k.0, k.1), Some(&entry(2)));
    }
}
