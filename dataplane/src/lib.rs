//! The forwarding plane: the I/O-free per-packet pipeline (parse, validate,
//! look up, rewrite, decide), the lookup tables the workers read as
//! lock-free snapshots (FIB, neighbor table), per-worker counters and named
//! drop reasons; and (feature `dpdk`, on by default) the poll-mode worker
//! loop that drives the pipeline from DPDK rx/tx bursts through the safe
//! wrappers of `ffi/`. All of it is safe Rust.
#![forbid(unsafe_code)]

pub mod counters;
pub mod drop_reason;
pub mod fib;
pub mod lpm;
pub mod neighbor;
pub mod overlay;
pub mod pipeline;
mod snapshot_id;
#[cfg(feature = "dpdk")]
pub mod worker;
