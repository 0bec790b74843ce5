//! A worker's SAs by SPI: kept densely in a vector, found through a hash
//! index, with the position of the last SA found remembered. A worker's
//! packets come in runs from one SA, and for those the lookup is one
//! bounds check and one compare (no hashing, no call); a remembered
//! position that now holds another SA is simply a miss, so inserting and
//! removing never have to correct it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Identity-like hasher for SPIs: they are random or HKDF output already,
/// so a multiply spreads them and SipHash would only cost cycles.
#[derive(Default)]
pub struct SpiHasher(u64);

impl Hasher for SpiHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Values of type `T` by SPI (see the module documentation).
pub(crate) struct SaTable<T> {
    items: Vec<(u32, T)>,
    index: HashMap<u32, usize, BuildHasherDefault<SpiHasher>>,
    /// Where the last lookup found its SA.
    last: usize,
}

impl<T> Default for SaTable<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            index: HashMap::default(),
            last: 0,
        }
    }
}

impl<T> SaTable<T> {
    /// Inserts or replaces the value of `spi`; returns the one replaced.
    pub fn insert(&mut self, spi: u32, value: T) -> Option<T> {
        match self.index.get(&spi) {
            Some(&i) => Some(std::mem::replace(&mut self.items[i].1, value)),
            None => {
                self.index.insert(spi, self.items.len());
                self.items.push((spi, value));
                None
            }
        }
    }

    pub fn remove(&mut self, spi: u32) -> Option<T> {
        let i = self.index.remove(&spi)?;
        let (_, value) = self.items.swap_remove(i);
        // The last item moved into the hole.
        if let Some(&(moved, _)) = self.items.get(i) {
            self.index.insert(moved, i);
        }
        Some(value)
    }

    pub fn get(&self, spi: u32) -> Option<&T> {
        match self.items.get(self.last) {
            Some((s, v)) if *s == spi => Some(v),
            _ => self.items.get(*self.index.get(&spi)?).map(|(_, v)| v),
        }
    }

    /// The per-packet lookup: remembers where it found `spi`.
    #[inline(always)]
    pub fn get_mut(&mut self, spi: u32) -> Option<&mut T> {
        let i = match self.items.get(self.last) {
            Some((s, _)) if *s == spi => self.last,
            _ => {
                let i = *self.index.get(&spi)?;
                self.last = i;
                i
            }
        };
        self.items.get_mut(i).map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.items.iter().map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32, u8),
        Remove(u32),
        Get(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct SPIs, so operations hit the same ones often.
        prop_oneof![
            (0u32..6, any::<u8>()).prop_map(|(s, v)| Op::Insert(s, v)),
            (0u32..6).prop_map(Op::Remove),
            (0u32..6).prop_map(Op::Get),
        ]
    }

    proptest! {
        /// Any sequence of inserts, removals and lookups (the remembered
        /// position going stale included) answers as a map does.
        #[test]
        fn behaves_as_a_map(ops in prop::collection::vec(op(), 1..200)) {
            let mut t = SaTable::default();
            let mut m = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(s, v) => prop_assert_eq!(t.insert(s, v), m.insert(s, v)),
                    Op::Remove(s) => prop_assert_eq!(t.remove(s), m.remove(&s)),
                    Op::Get(s) => {
                        prop_assert_eq!(t.get(s), m.get(&s));
                        prop_assert_eq!(t.get_mut(s).copied(), m.get(&s).copied());
                    }
                }
                prop_assert_eq!(t.len(), m.len());
                let mut values: Vec<u8> = t.values().copied().collect();
                let mut expected: Vec<u8> = m.values().copied().collect();
                values.sort_unstable();
                expected.sort_unstable();
                prop_assert_eq!(values, expected);
            }
        }
    }
}
