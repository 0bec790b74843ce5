//! Token bucket for ICMP errors (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)): one
//! per worker, so no state is shared. Time is nanoseconds from any
//! monotonic origin, supplied by the caller.

/// `rate` tokens per second, at most `burst` saved up.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Nanoseconds of credit per token (0: unlimited).
    cost_ns: u64,
    max_credit_ns: u64,
    credit_ns: u64,
    last_ns: u64,
}

impl TokenBucket {
    /// `rate` tokens/s (0 = never), `burst` tokens max; starts full.
    pub fn new(rate: u32, burst: u32) -> Self {
        let cost_ns = if rate == 0 {
            u64::MAX
        } else {
            1_000_000_000 / u64::from(rate)
        };
        let max_credit_ns = cost_ns.saturating_mul(u64::from(burst.max(1)));
        Self {
            cost_ns,
            max_credit_ns,
            credit_ns: max_credit_ns,
            last_ns: 0,
        }
    }

    /// Takes one token at time `now_ns` if available.
    pub fn take(&mut self, now_ns: u64) -> bool {
        let elapsed = now_ns.saturating_sub(self.last_ns);
        self.last_ns = self.last_ns.max(now_ns);
        self.credit_ns = self
            .credit_ns
            .saturating_add(elapsed)
            .min(self.max_credit_ns);
        if self.cost_ns != u64::MAX && self.credit_ns >= self.cost_ns {
            self.credit_ns -= self.cost_ns;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let mut b = TokenBucket::new(10, 3);
        let t = 5_000_000_000;
        assert!(b.take(t) && b.take(t) && b.take(t));
        assert!(!b.take(t));
        assert!(!b.take(t + 50_000_000));
        assert!(b.take(t + 100_000_000));
        assert!(!b.take(t + 100_000_000));
        // Time going backwards does not mint tokens.
        assert!(!b.take(t));
        assert!(!TokenBucket::new(0, 5).take(u64::MAX));
    }
}
