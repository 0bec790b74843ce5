//! Process-wide identities of the immutable snapshots workers read (FIB,
//! neighbor table): every published snapshot gets a number no other
//! snapshot had, so a worker can tell "same table as when I cached this"
//! with one compare, whichever writer (or test) made the table. Clones
//! share the number (same content); empty default tables are 0.

use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A number no snapshot had before (never 0). Called once per publish,
/// never per packet.
pub(crate) fn next() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_never_zero() {
        let (a, b) = (super::next(), super::next());
        assert_ne!(a, 0);
        assert_ne!(a, b);
    }
}
