//! Per-worker loop statistics in a cache-aligned slot written by its worker
//! only (Relaxed load+store, no locked instruction) and read by metrics.
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[repr(align(64))]
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub polls: AtomicU64,
    pub empty_polls: AtomicU64,
    pub rx_packets: AtomicU64,
    pub sleeps: AtomicU64,
    pub sleep_ns: AtomicU64,
    pub run_ns: AtomicU64,
}

/// A plain copy of [`WorkerStats`].
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct WorkerStatsSnapshot {
    pub polls: u64,
    pub empty_polls: u64,
    pub rx_packets: u64,
    pub sleeps: u64,
    pub sleep_ns: u64,
    pub run_ns: u64,
}

impl WorkerStatsSnapshot {
    /// Share of wall time the worker spent awake (polling or working).
    pub fn busy_ratio(&self) -> f64 {
        if self.run_ns == 0 {
            return 0.0;
        }
        1.0 - (self.sleep_ns.min(self.run_ns) as f64 / self.run_ns as f64)
    }
}

#[inline]
fn bump(a: &AtomicU64, by: u64) {
    a.store(a.load(Relaxed).wrapping_add(by), Relaxed);
}

impl WorkerStats {
    #[inline]
    pub fn record_poll(&self, received: usize) {
        bump(&self.polls, 1);
        if received == 0 {
            bump(&self.empty_polls, 1);
        } else {
            bump(&self.rx_packets, received as u64);
        }
    }

    #[inline]
    pub fn record_sleep(&self, ns: u64) {
        bump(&self.sleeps, 1);
        bump(&self.sleep_ns, ns);
    }

    #[inline]
    pub fn set_run_ns(&self, ns: u64) {
        self.run_ns.store(ns, Relaxed);
    }

    pub fn snapshot(&self) -> WorkerStatsSnapshot {
        WorkerStatsSnapshot {
            polls: self.polls.load(Relaxed),
            empty_polls: self.empty_polls.load(Relaxed),
            rx_packets: self.rx_packets.load(Relaxed),
            sleeps: self.sleeps.load(Relaxed),
            sleep_ns: self.sleep_ns.load(Relaxed),
            run_ns: self.run_ns.load(Relaxed),
        }
    }
}
