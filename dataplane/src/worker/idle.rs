//! Adaptive idling of a poll-mode worker. Busy-polling is right under load
//! and wrong on an idle 2-core box: after `threshold` empty polls in a row
//! the worker sleeps, doubling the sleep up to `max_sleep`; the first poll
//! that returns packets puts it back to busy polling. The longest a packet
//! can wait in an idle queue is therefore `max_sleep` (≤ 1 ms by config).
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct AdaptiveIdle {
    threshold: u32,
    min_sleep: Duration,
    max_sleep: Duration,
    empty_in_a_row: u32,
    next_sleep: Duration,
}

impl AdaptiveIdle {
    pub fn new(threshold: u32, max_sleep: Duration) -> AdaptiveIdle {
        let min_sleep = Duration::from_micros(10).min(max_sleep);
        AdaptiveIdle {
            threshold,
            min_sleep,
            max_sleep,
            empty_in_a_row: 0,
            next_sleep: min_sleep,
        }
    }

    /// Records a poll that returned `received` packets; returns how long the
    /// worker should sleep now (None: poll again at once).
    #[inline]
    pub fn after_poll(&mut self, received: usize) -> Option<Duration> {
        if received > 0 {
            self.empty_in_a_row = 0;
            self.next_sleep = self.min_sleep;
            return None;
        }
        self.empty_in_a_row = self.empty_in_a_row.saturating_add(1);
        if self.empty_in_a_row < self.threshold {
            return None;
        }
        let sleep = self.next_sleep;
        self.next_sleep = (self.next_sleep * 2).min(self.max_sleep);
        Some(sleep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_to_the_bound_and_resets_on_traffic() {
        let mut idle = AdaptiveIdle::new(3, Duration::from_micros(100));
        assert_eq!(idle.after_poll(0), None);
        assert_eq!(idle.after_poll(0), None);
        assert_eq!(idle.after_poll(0), Some(Duration::from_micros(10)));
        assert_eq!(idle.after_poll(0), Some(Duration::from_micros(20)));
        assert_eq!(idle.after_poll(0), Some(Duration::from_micros(40)));
        assert_eq!(idle.after_poll(0), Some(Duration::from_micros(80)));
        assert_eq!(idle.after_poll(0), Some(Duration::from_micros(100)));
        assert_eq!(idle.after_poll(0), Some(Duration::from_micros(100)));
        assert_eq!(idle.after_poll(5), None);
        assert_eq!(
            idle.after_poll(0),
            None,
            "threshold counts again after traffic"
        );
        assert_eq!(idle.after_poll(0), None);
        assert_eq!(idle.after_poll(0), Some(Duration::from_micros(10)));
    }
}
