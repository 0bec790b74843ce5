//! Named reasons a packet is dropped by ESP encapsulation or decapsulation,
//! and plain counters indexed by them (VPP's `show errors` shape: every drop
//! has a name an operator can grep).

use core::fmt;

macro_rules! drop_reasons {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// Why a packet was dropped. `name()` is the stable counter name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum DropReason {
            $(#[doc = $doc] $variant,)*
        }

        impl DropReason {
            /// Every reason, in counter-index order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];
            /// Number of reasons (length of a [`DropCounters`] array).
            pub const COUNT: usize = [$(DropReason::$variant,)*].len();

            /// Stable snake_case name used for counters and logs.
            pub const fn name(self) -> &'static str {
                match self { $(DropReason::$variant => $name,)* }
            }
        }
    };
}

drop_reasons! {
    Truncated => "truncated", "Packet shorter than the headers it claims (outer IP, UDP, ESP, IV, ICV).";
    BadOuterHeader => "bad_outer_header", "Outer IPv4/IPv6 header malformed (version, IHL, lengths, checksum).";
    Fragment => "fragment", "Outer IP fragment: reassembly is not done here.";
    NotEsp => "not_esp", "Outer protocol is neither ESP (50) nor UDP to the NAT-T port.";
    BadSpi => "bad_spi", "No inbound SA for this SPI (or SPI 0-255, reserved).";
    Replay => "replay", "Sequence number already seen or left of the anti-replay window.";
    IcvFail => "icv_fail", "AES-GCM tag did not verify.";
    BadLength => "bad_length", "Encrypted part not a multiple of 4 bytes (RFC 4303 §2.4).";
    BadPadding => "bad_padding", "Pad length exceeds the payload or pad bytes are not 1, 2, 3, ...";
    BadNextHeader => "bad_next_header", "Next header is not one this SA carries (4, 41, 47, 137, 143).";
    Dummy => "dummy", "Next header 59: a TFC dummy packet (RFC 4303 §2.6), discarded.";
    SeqExhausted => "seq_exhausted", "Outbound sequence space used up: the SA must be rekeyed, never wrapped.";
    LifetimeExpired => "lifetime_expired", "SA hard lifetime (packets or bytes) reached.";
    NoRoom => "no_room", "Frame lacks the headroom or tailroom encapsulation needs.";
    TooBig => "too_big", "Encapsulated packet would exceed 65535 bytes.";
    BadInner => "bad_inner", "Inner packet too short for the header its type promises.";
    BadOuterSource => "bad_outer_source", "Outer source address is not the peer address the SA expects.";
    EcnCeNotEct => "ecn_ce_not_ect", "Outer header marked CE but the inner packet is not ECN-capable (RFC 6040 §4.2).";
    EngineError => "engine_error", "The AEAD engine refused a burst job (intel-ipsec-mb job status not completed).";
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for DropReason {}

/// One plain counter per [`DropReason`]. Owned by one worker; the
/// management side sums copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropCounters([u64; DropReason::COUNT]);

impl Default for DropCounters {
    fn default() -> Self {
        Self([0; DropReason::COUNT])
    }
}

impl DropCounters {
    #[inline]
    pub fn count(&mut self, reason: DropReason) {
        let slot = &mut self.0[reason as usize];
        *slot = slot.wrapping_add(1);
    }

    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason as usize]
    }

    /// Sum of all reasons.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |a, b| a.wrapping_add(*b))
    }

    /// `(name, count)` for every non-zero reason.
    pub fn nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|r| (r.name(), self.get(*r)))
            .filter(|(_, n)| *n != 0)
    }

    /// Adds another worker's counters into these.
    pub fn merge(&mut self, other: &DropCounters) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.wrapping_add(*b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_indices_dense() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }

    #[test]
    fn counts_and_merges() {
        let mut a = DropCounters::default();
        a.count(DropReason::Replay);
        a.count(DropReason::Replay);
        let mut b = DropCounters::default();
        b.count(DropReason::IcvFail);
        a.merge(&b);
        assert_eq!(a.get(DropReason::Replay), 2);
        assert_eq!(a.total(), 3);
        assert_eq!(
            a.nonzero().collect::<Vec<_>>(),
            vec![("replay", 2), ("icv_fail", 1)]
        );
    }
}
