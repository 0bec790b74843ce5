//! Anti-replay window (RFC 4303 §3.4.3) as the RFC 6479 bitmap: a ring of
//! 64-bit blocks where advancing the window clears whole blocks instead of
//! shifting bits, with extended sequence number inference (RFC 4303
//! Appendix A2.2).
//!
//! ```text
//!   block = (seq >> 6) & mask          bit = seq & 63
//!   ring:  [b0][b1]...[bN-1]   N = next power of two >= W/64 + 1
//!   valid: top - W < seq <= top (checked), or seq > top (new)
//! ```
//!
//! The caller checks *before* decrypting ([`ReplayWindow::check`]) and
//! records the number only *after* the ICV verified
//! ([`ReplayWindow::update`]), so forged packets cannot move the window.
//!
//! Size 0 turns anti-replay off (RFC 4303 §3.4.3: the receiver's choice;
//! useful with manually keyed SAs, whose sender starts again at 1 when it
//! restarts, RFC 4301 §4.5): every number but 0 is accepted and only the
//! highest is kept. ESN needs the window to infer the high half, so the
//! SA refuses ESN with a size-0 window.

/// Smallest and largest configurable window (packets); 0 is "off".
pub const MIN_WINDOW: u32 = 64;
pub const MAX_WINDOW: u32 = 4096;
const MAX_BLOCKS: usize = 128; // next_pow2(4096/64 + 1)

/// Is `size` a window [`ReplayWindow::new`] takes: 0 (off) or
/// 64..=4096?
pub const fn valid_size(size: u32) -> bool {
    size == 0 || (MIN_WINDOW <= size && size <= MAX_WINDOW)
}

/// Window size neither 0 nor inside 64..=4096.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadWindowSize(pub u32);

/// The sequence number was seen before or is left of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed;

#[derive(Clone)]
pub struct ReplayWindow {
    /// Highest authenticated sequence number (full 64 bits); 0 = none yet.
    top: u64,
    size: u32,
    mask: u64,
    blocks: [u64; MAX_BLOCKS],
}

impl core::fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplayWindow")
            .field("top", &self.top)
            .field("size", &self.size)
            .finish()
    }
}

impl ReplayWindow {
    /// A window accepting `size` packets behind the highest seen
    /// (64..=4096), or no anti-replay check at all (0).
    pub fn new(size: u32) -> Result<Self, BadWindowSize> {
        if !valid_size(size) {
            return Err(BadWindowSize(size));
        }
        let nblocks = (size as usize).div_ceil(64) + 1;
        let nblocks = nblocks.next_power_of_two();
        Ok(Self {
            top: 0,
            size,
            mask: nblocks as u64 - 1,
            blocks: [0; MAX_BLOCKS],
        })
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    /// Highest authenticated sequence number (0 before the first packet).
    pub fn top(&self) -> u64 {
        self.top
    }

    /// Reconstructs the full 64-bit sequence number from the 32 bits on the
    /// wire (RFC 4303 Appendix A2.2). Without ESN the high half is zero.
    /// `None` when the guess would fall below 0 or above 2^64-1.
    pub fn infer(&self, seq_lo: u32, esn: bool) -> Option<u64> {
        if !esn {
            return Some(u64::from(seq_lo));
        }
        let tl = self.top as u32;
        let th = (self.top >> 32) as u32;
        let w = self.size.saturating_sub(1);
        let hi = if tl >= w {
            if seq_lo >= tl - w {
                Some(th)
            } else {
                th.checked_add(1)
            }
        } else if seq_lo >= tl.wrapping_sub(w) {
            th.checked_sub(1)
        } else {
            Some(th)
        }?;
        Some(u64::from(hi) << 32 | u64::from(seq_lo))
    }

    /// Would `seq` be accepted? Does not change the window.
    #[inline]
    pub fn check(&self, seq: u64) -> Result<(), Replayed> {
        if seq == 0 {
            return Err(Replayed);
        }
        if seq > self.top || self.size == 0 {
            return Ok(());
        }
        if self.top - seq >= u64::from(self.size) {
            return Err(Replayed);
        }
        let block = ((seq >> 6) & self.mask) as usize;
        if self.blocks[block] & (1u64 << (seq & 63)) != 0 {
            return Err(Replayed);
        }
        Ok(())
    }

    /// Records an authenticated `seq`. Re-checks, so a duplicate that raced
    /// in a batch after the first check is still refused.
    #[inline]
    pub fn update(&mut self, seq: u64) -> Result<(), Replayed> {
        self.check(seq)?;
        if seq > self.top {
            let old_index = self.top >> 6;
            let new_index = seq >> 6;
            let diff = new_index - old_index;
            if diff > self.mask {
                self.blocks[..=self.mask as usize].fill(0);
            } else {
                for i in 1..=diff {
                    self.blocks[((old_index + i) & self.mask) as usize] = 0;
                }
            }
            self.top = seq;
        }
        let block = ((seq >> 6) & self.mask) as usize;
        self.blocks[block] |= 1u64 << (seq & 63);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes_outside_range_refused() {
        assert_eq!(ReplayWindow::new(63).unwrap_err(), BadWindowSize(63));
        assert_eq!(ReplayWindow::new(4097).unwrap_err(), BadWindowSize(4097));
        assert!(ReplayWindow::new(64).is_ok());
        assert!(ReplayWindow::new(4096).is_ok());
        assert!(ReplayWindow::new(1000).is_ok());
        assert_eq!(ReplayWindow::new(1).unwrap_err(), BadWindowSize(1));
        assert_eq!(ReplayWindow::new(0).unwrap().size(), 0);
    }

    #[test]
    fn size_zero_accepts_repeats_and_old_numbers_but_keeps_the_highest() {
        let mut w = ReplayWindow::new(0).unwrap();
        assert_eq!(w.check(0), Err(Replayed));
        for seq in [1, 1, 1_000_000, 5, 1_000_000, 2] {
            assert!(w.check(seq).is_ok(), "{seq}");
            w.update(seq).unwrap();
        }
        assert_eq!(w.top(), 1_000_000);
        assert_eq!(w.infer(7, false), Some(7));
    }

    #[test]
    fn duplicates_and_old_refused() {
        let mut w = ReplayWindow::new(64).unwrap();
        assert_eq!(w.check(0), Err(Replayed));
        w.update(1).unwrap();
        assert_eq!(w.check(1), Err(Replayed));
        w.update(100).unwrap();
        assert_eq!(w.check(36), Err(Replayed)); // 100 - 36 = 64 >= W
        assert!(w.check(37).is_ok());
        w.update(37).unwrap();
        assert_eq!(w.update(37), Err(Replayed));
        // Out of order inside the window.
        w.update(99).unwrap();
        w.update(50).unwrap();
        assert_eq!(w.check(99), Err(Replayed));
        // A jump far ahead clears everything.
        w.update(1_000_000).unwrap();
        assert!(w.check(1_000_000 - 63).is_ok());
        assert_eq!(w.check(1_000_000 - 64), Err(Replayed));
    }

    #[test]
    fn esn_inference_across_the_32_bit_boundary() {
        let mut w = ReplayWindow::new(128).unwrap();
        w.update(0xffff_fff0).unwrap();
        // Just after the wrap: the high half goes to 1.
        assert_eq!(w.infer(5, true), Some(0x1_0000_0005));
        // Late packet from before the wrap: high half stays 0.
        assert_eq!(w.infer(0xffff_ffa0, true), Some(0xffff_ffa0));
        w.update(0x1_0000_0005).unwrap();
        // Tl < W-1 case: a late packet belongs to the previous epoch.
        assert_eq!(w.infer(0xffff_fff8, true), Some(0xffff_fff8));
        assert!(w.check(0xffff_fff8).is_ok());
        assert_eq!(w.infer(6, true), Some(0x1_0000_0006));
        assert_eq!(w.infer(6, false), Some(6));
        // Before any packet, Th - 1 underflows for low numbers near 2^32.
        let fresh = ReplayWindow::new(64).unwrap();
        assert_eq!(fresh.infer(0xffff_fff0, true), None);
        assert_eq!(fresh.infer(1, true), Some(1));
    }

    /// Reference model: a set of seen numbers and the highest one.
    fn model_accepts(seen: &std::collections::BTreeSet<u64>, top: u64, w: u64, s: u64) -> bool {
        s != 0 && !seen.contains(&s) && (s > top || top - s < w)
    }

    proptest! {
        #[test]
        fn matches_a_set_model(size in 64u32..=4096, seqs in proptest::collection::vec(1u64..20_000, 1..400)) {
            let mut w = ReplayWindow::new(size).unwrap();
            let mut seen = std::collections::BTreeSet::new();
            let mut top = 0;
            for s in seqs {
                let expect = model_accepts(&seen, top, u64::from(size), s);
                prop_assert_eq!(w.check(s).is_ok(), expect, "seq {} top {}", s, top);
                if expect {
                    w.update(s).unwrap();
                    seen.insert(s);
                    top = top.max(s);
                }
            }
        }
    }
}
