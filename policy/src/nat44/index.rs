//! Fixed-capacity hash index from a mapping's inside key to its slab slot:
//! open addressing, linear probing, backward-shift deletion (no tombstones,
//! so probe lengths do not grow with churn). Entries pack the key's 32-bit
//! hash and the slot as one `u64`; the caller compares the full key.

const EMPTY: u64 = u64::MAX;

#[derive(Debug, Clone)]
pub(crate) struct Index {
    table: Box<[u64]>,
    mask: usize,
}

impl Index {
    /// Room for `entries` at a load factor of at most 1/2.
    pub(crate) fn new(entries: usize) -> Self {
        let cap = entries.saturating_mul(2).max(8).next_power_of_two();
        Self {
            table: vec![EMPTY; cap].into_boxed_slice(),
            mask: cap - 1,
        }
    }

    #[inline]
    fn home(&self, hash: u32) -> usize {
        hash as usize & self.mask
    }

    /// The slot of the first entry with `hash` for which `is_key(slot)`.
    #[inline]
    pub(crate) fn find(&self, hash: u32, mut is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        let mut i = self.home(hash);
        loop {
            let e = self.table[i];
            if e == EMPTY {
                return None;
            }
            // High half: hash; low half: slot (truncating casts).
            if (e >> 32) as u32 == hash && is_key(e as u32) {
                return Some(e as u32);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Adds `slot` under `hash`. The caller never holds more entries than
    /// it sized the index for, so a free position always exists.
    pub(crate) fn insert(&mut self, hash: u32, slot: u32) {
        let mut i = self.home(hash);
        while self.table[i] != EMPTY {
            i = (i + 1) & self.mask;
        }
        self.table[i] = (u64::from(hash) << 32) | u64::from(slot);
    }

    /// Removes the entry of `slot` (stored under `hash`), shifting later
    /// entries of the probe run back into the hole.
    pub(crate) fn remove(&mut self, hash: u32, slot: u32) -> bool {
        let want = (u64::from(hash) << 32) | u64::from(slot);
        let mut i = self.home(hash);
        loop {
            let e = self.table[i];
            if e == EMPTY {
                return false;
            }
            if e == want {
                break;
            }
            i = (i + 1) & self.mask;
        }
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let e = self.table[j];
            if e == EMPTY {
                break;
            }
            let home = self.home((e >> 32) as u32);
            // Leave `e` if its home lies cyclically in (hole, j].
            if (j.wrapping_sub(home) & self.mask) >= (j.wrapping_sub(hole) & self.mask) {
                self.table[hole] = e;
                hole = j;
            }
        }
        self.table[hole] = EMPTY;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn behaves_like_a_map(ops in prop::collection::vec((any::<bool>(), 0u32..64, 0u32..4), 0..300)) {
            // Few distinct hashes (0..4) force long shared probe runs.
            let mut idx = Index::new(64);
            let mut model: HashMap<u32, u32> = HashMap::new();
            for (add, slot, hash) in ops {
                if add && !model.contains_key(&slot) {
                    idx.insert(hash, slot);
                    model.insert(slot, hash);
                } else if !add {
                    let removed = model.remove(&slot).map(|h| idx.remove(h, slot));
                    prop_assert!(removed.unwrap_or(true));
                }
                for (s, h) in &model {
                    prop_assert_eq!(idx.find(*h, |x| x == *s), Some(*s));
                }
                prop_assert_eq!(idx.find(9, |_| true), None);
            }
        }
    }
}
