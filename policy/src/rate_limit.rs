//! Per-source rate limiting for internet-facing ports (draft §6.2.2, §8:
//! "traffic received through Internet-facing WAN ports must undergo
//! anti-DDoS mechanisms"; issue: "per-source rate limiting (token bucket)
//! protects the CPU from floods").
//!
//! A fixed table of token buckets indexed by a seeded hash of the source
//! address (IPv6 sources by their /64 by default: one attacker holds a
//! whole /64). Each bucket is the generic cell rate algorithm (GCRA,
//! ITU-T I.371), which is a token bucket kept as one `u64`, the
//! "theoretical arrival time" (TAT):
//!
//! ```text
//! T = 1 s / rate          tau = T × (burst − 1)
//! on a packet at time t:  tat = max(TAT, t)
//!                         tat − t > tau  → drop (rate_limited)
//!                         else TAT = tat + T, pass
//! ```
//!
//! So a source may send `burst` packets at once and `rate` per second
//! after. Sources whose hashes collide share a bucket (the table has no
//! per-source state to allocate); the seed keeps a sender from choosing
//! collisions on purpose. Size the table well above the number of
//! expected legitimate sources. Per worker: no locks, no allocation after
//! [`RateLimiter::new`].

use crate::drop_reason::{DropCounters, PolicyDrop};
use crate::hash::hash_words;
use core::fmt;
use std::net::IpAddr;

const SEC: u64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Buckets; rounded up to a power of two.
    pub buckets: usize,
    /// Sustained packets per second per source.
    pub rate_pps: u64,
    /// Packets a source may send back to back.
    pub burst: u32,
    /// IPv6 sources are grouped by this prefix length (0..=128).
    pub v6_prefix_len: u8,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateLimitConfigError {
    /// Rate 0 or above 1e9 packets per second.
    BadRate {
        rate_pps: u64,
    },
    ZeroBurst,
    NoBuckets,
    BadPrefixLen {
        len: u8,
    },
}

impl fmt::Display for RateLimitConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimitConfigError::BadRate { rate_pps } => {
                write!(f, "rate {rate_pps} pps outside 1..=1e9")
            }
            RateLimitConfigError::ZeroBurst => write!(f, "burst is 0"),
            RateLimitConfigError::NoBuckets => write!(f, "bucket count is 0"),
            RateLimitConfigError::BadPrefixLen { len } => write!(f, "IPv6 prefix /{len} > /128"),
        }
    }
}

impl std::error::Error for RateLimitConfigError {}

/// The bucket an admitted packet took its token from (see
/// [`RateLimiter::refund_charged`]); valid for the limiter that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charged(usize);

#[derive(Debug)]
pub struct RateLimiter {
    tat: Box<[u64]>,
    mask: usize,
    interval_ns: u64,
    tolerance_ns: u64,
    v6_mask: u128,
    seed: u64,
    /// The last key looked up, its family and its bucket: a tunnel peer
    /// sends most packets on a port back to back, and its source then
    /// costs one compare instead of three multiplications (the hash is a
    /// pure function of the key and the seed, so the memo changes no
    /// answer).
    memo: (u128, bool, usize),
    passed: u64,
    drops: DropCounters,
}

impl RateLimiter {
    pub fn new(cfg: &RateLimitConfig) -> Result<Self, RateLimitConfigError> {
        if cfg.rate_pps == 0 || cfg.rate_pps > SEC {
            return Err(RateLimitConfigError::BadRate {
                rate_pps: cfg.rate_pps,
            });
        }
        if cfg.burst == 0 {
            return Err(RateLimitConfigError::ZeroBurst);
        }
        if cfg.buckets == 0 {
            return Err(RateLimitConfigError::NoBuckets);
        }
        if cfg.v6_prefix_len > 128 {
            return Err(RateLimitConfigError::BadPrefixLen {
                len: cfg.v6_prefix_len,
            });
        }
        let n = cfg.buckets.next_power_of_two();
        let interval_ns = SEC / cfg.rate_pps;
        let host = 128 - u32::from(cfg.v6_prefix_len);
        let mut limiter = Self {
            tat: vec![0; n].into_boxed_slice(),
            mask: n - 1,
            interval_ns,
            tolerance_ns: interval_ns.saturating_mul(u64::from(cfg.burst) - 1),
            v6_mask: if host == 128 { 0 } else { u128::MAX << host },
            seed: cfg.seed,
            memo: (0, false, 0),
            passed: 0,
            drops: DropCounters::default(),
        };
        limiter.memo.2 = limiter.hashed_bucket(0, false);
        Ok(limiter)
    }

    pub fn passed(&self) -> u64 {
        self.passed
    }

    pub fn drops(&self) -> &DropCounters {
        &self.drops
    }

    /// Admits or drops (and counts) one packet from `src` at `now` (ns).
    /// An admitted packet's [`Charged`] bucket can take the token back
    /// ([`Self::refund_charged`]) without hashing the source again.
    #[inline]
    pub fn check(&mut self, src: IpAddr, now: u64) -> Result<Charged, PolicyDrop> {
        self.check_key(self.key(src), src.is_ipv6(), now)
    }

    /// [`Self::check`] for an IPv4 source given as a `u32` (the hot path:
    /// no address conversion).
    #[inline]
    pub fn check_v4(&mut self, src: u32, now: u64) -> Result<Charged, PolicyDrop> {
        self.check_key(u128::from(src), false, now)
    }

    /// [`Self::refund`] of the packet [`Self::check`] admitted as `c`.
    #[inline]
    pub fn refund_charged(&mut self, c: Charged) {
        if let Some(t) = self.tat.get_mut(c.0) {
            *t = t.saturating_sub(self.interval_ns);
        }
    }

    /// The bucket key of a source: the IPv4 address, or the IPv6 address
    /// cut to the configured prefix.
    #[inline]
    fn key(&self, src: IpAddr) -> u128 {
        match src {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a) & self.v6_mask,
        }
    }

    /// The bucket of a key: low and high halves of the key (truncating
    /// casts), family apart.
    #[inline]
    fn bucket(&mut self, key: u128, v6: bool) -> usize {
        let (k, f, i) = self.memo;
        if k == key && f == v6 {
            return i;
        }
        let i = self.hashed_bucket(key, v6);
        self.memo = (key, v6, i);
        i
    }

    #[inline]
    fn hashed_bucket(&self, key: u128, v6: bool) -> usize {
        let h = hash_words(self.seed, &[key as u64, (key >> 64) as u64 ^ u64::from(v6)]);
        h as usize & self.mask
    }

    #[inline(always)]
    fn check_key(&mut self, key: u128, v6: bool, now: u64) -> Result<Charged, PolicyDrop> {
        let i = self.bucket(key, v6);
        let b = &mut self.tat[i];
        let tat = (*b).max(now);
        if tat - now > self.tolerance_ns {
            self.drops.count(PolicyDrop::RateLimited);
            return Err(PolicyDrop::RateLimited);
        }
        *b = tat.saturating_add(self.interval_ns);
        self.passed += 1;
        Ok(Charged(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn limiter(rate: u64, burst: u32) -> RateLimiter {
        RateLimiter::new(&RateLimitConfig {
            buckets: 4096,
            rate_pps: rate,
            burst,
            v6_prefix_len: 64,
            seed: 5,
        })
        .unwrap()
    }

    fn v4(d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, d))
    }

    #[test]
    fn refunded_packets_do_not_count() {
        let mut rl = limiter(1000, 10);
        // A source whose every packet is refunded is never limited.
        for _ in 0..100 {
            let c = rl.check(v4(1), 0).unwrap();
            rl.refund_charged(c);
        }
        // Its burst is whole; a refund gives back one packet, no more.
        let mut last = None;
        for _ in 0..10 {
            last = rl.check(v4(1), 0).ok();
        }
        let charged = last.unwrap();
        assert!(rl.check(v4(1), 0).is_err());
        rl.refund_charged(charged);
        rl.check(v4(1), 0).unwrap();
        assert!(rl.check(v4(1), 0).is_err());
        // check_v4 charges the same bucket as check.
        rl.refund_charged(charged);
        let c = rl
            .check_v4(u32::from(Ipv4Addr::new(198, 51, 100, 1)), 0)
            .unwrap();
        rl.refund_charged(c);
        rl.check(v4(1), 0).unwrap();
        assert!(rl.check(v4(1), 0).is_err());
        // IPv6: a /64 shares one bucket, charged and refunded together.
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        let by_b = rl.check(b, 0).unwrap();
        for _ in 0..9 {
            rl.check(a, 0).unwrap();
        }
        assert!(rl.check(a, 0).is_err());
        rl.refund_charged(by_b);
        rl.check(a, 0).unwrap();
        assert!(rl.check(a, 0).is_err());
        assert_eq!(rl.drops().get(PolicyDrop::RateLimited), 5);
    }

    #[test]
    fn burst_then_rate() {
        let mut rl = limiter(1000, 10); // one packet per ms
        for _ in 0..10 {
            rl.check(v4(1), 0).unwrap();
        }
        assert_eq!(rl.check(v4(1), 0), Err(PolicyDrop::RateLimited));
        // 1 ms later one more token.
        rl.check(v4(1), 1_000_000).unwrap();
        assert_eq!(rl.check(v4(1), 1_000_000), Err(PolicyDrop::RateLimited));
        // After a quiet second the full burst is back, not more.
        let t = 2 * SEC;
        for _ in 0..10 {
            rl.check(v4(1), t).unwrap();
        }
        assert!(rl.check(v4(1), t).is_err());
        assert_eq!(rl.passed(), 21);
        assert_eq!(rl.drops().get(PolicyDrop::RateLimited), 3);
    }

    #[test]
    fn a_flooding_source_does_not_starve_others() {
        let mut rl = limiter(100, 5);
        let mut flood_passed = 0;
        for i in 0..10_000u64 {
            if rl.check(v4(66), i * 1000).is_ok() {
                flood_passed += 1;
            }
        }
        // Just under 10 ms of flood: the burst only (the next token is
        // due 10 ms after the burst's last one).
        assert_eq!(flood_passed, 5);
        for d in 1..50 {
            assert!(rl.check(v4(d), 10_000_000).is_ok(), "source {d}");
        }
    }

    #[test]
    fn ipv6_sources_share_their_64() {
        let mut rl = limiter(10, 2);
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:1:2::ffff".parse().unwrap();
        let c: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        rl.check(a.into(), 0).unwrap();
        rl.check(b.into(), 0).unwrap();
        assert!(rl.check(a.into(), 0).is_err());
        rl.check(c.into(), 0).unwrap();
    }

    #[test]
    fn config_errors() {
        let cfg = RateLimitConfig {
            buckets: 16,
            rate_pps: 10,
            burst: 1,
            v6_prefix_len: 64,
            seed: 0,
        };
        let err = |c: RateLimitConfig| RateLimiter::new(&c).err();
        assert_eq!(
            err(RateLimitConfig { rate_pps: 0, ..cfg }),
            Some(RateLimitConfigError::BadRate { rate_pps: 0 })
        );
        assert_eq!(
            err(RateLimitConfig { burst: 0, ..cfg }),
            Some(RateLimitConfigError::ZeroBurst)
        );
        assert_eq!(
            err(RateLimitConfig { buckets: 0, ..cfg }),
            Some(RateLimitConfigError::NoBuckets)
        );
        assert_eq!(
            err(RateLimitConfig {
                v6_prefix_len: 129,
                ..cfg
            }),
            Some(RateLimitConfigError::BadPrefixLen { len: 129 })
        );
        assert!(err(cfg).is_none());
    }

    proptest! {
        /// The last-key memo answers as the hash would, whatever the
        /// order of keys and families (IPv4 0.0.0.0, the memo's first
        /// entry, and the IPv6 address :: included).
        #[test]
        fn memo_gives_the_hashed_bucket(keys in prop::collection::vec((0u128..4, any::<bool>(), any::<u128>()), 1..200)) {
            let mut rl = limiter(10, 2);
            for (small, v6, big) in keys {
                let key = if small < 2 { small } else { big };
                prop_assert_eq!(rl.bucket(key, v6), rl.hashed_bucket(key, v6));
            }
        }

        #[test]
        fn long_run_rate_is_bounded(rate in 1u64..10_000, burst in 1u32..50, gaps in prop::collection::vec(0u64..2_000_000, 1..500)) {
            let mut rl = limiter(rate, burst);
            let mut now = 0u64;
            let mut passed = 0u64;
            for g in gaps {
                now += g;
                if rl.check_v4(1, now).is_ok() { passed += 1; }
            }
            // GCRA never admits more than burst + elapsed / T.
            let bound = u64::from(burst) + now / (SEC / rate);
            prop_assert!(passed <= bound, "passed {} bound {}", passed, bound);
        }
    }
}
