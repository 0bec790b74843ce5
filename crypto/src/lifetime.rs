//! SA lifetimes (RFC 4301 §4.4.2.1): soft limits ask for a rekey, hard
//! limits stop the SA. Packets and bytes are counted on the fast path by the
//! worker owning the SA; seconds are the control plane's (it has the clock).

/// Soft and hard limits; `u64::MAX` means "no limit".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub soft_packets: u64,
    pub hard_packets: u64,
    pub soft_bytes: u64,
    pub hard_bytes: u64,
    pub soft_seconds: u64,
    pub hard_seconds: u64,
}

impl Default for Lifetime {
    /// Rekey after 2^31 packets, 1 TiB or 1 hour; stop at 2^32 packets,
    /// 2 TiB or 75 minutes. Soft limits leave room for a make-before-break
    /// rekey before the hard ones.
    fn default() -> Self {
        Self {
            soft_packets: 1 << 31,
            hard_packets: 1 << 32,
            soft_bytes: 1 << 40,
            hard_bytes: 1 << 41,
            soft_seconds: 3600,
            hard_seconds: 4500,
        }
    }
}

impl Lifetime {
    /// No limit at all (static SAs whose peer rekeys out of band).
    pub const UNLIMITED: Lifetime = Lifetime {
        soft_packets: u64::MAX,
        hard_packets: u64::MAX,
        soft_bytes: u64::MAX,
        hard_bytes: u64::MAX,
        soft_seconds: u64::MAX,
        hard_seconds: u64::MAX,
    };

    /// The hard packet/byte limit is reached: no more traffic on this SA.
    #[inline]
    pub fn hard_reached(&self, packets: u64, bytes: u64) -> bool {
        packets >= self.hard_packets || bytes >= self.hard_bytes
    }

    /// The soft packet/byte limit is reached: time to rekey.
    #[inline]
    pub fn soft_reached(&self, packets: u64, bytes: u64) -> bool {
        packets >= self.soft_packets || bytes >= self.soft_bytes
    }
}
