//! The only crate with `unsafe`: our own binding to the system DPDK 22.11
//! (bindgen over pkg-config `libdpdk`, plus a C shim for DPDK's `static
//! inline` functions) with safe wrappers for EAL, mempools, ports, mbufs,
//! bursts and rte_lpm; and the socket options (TCP-MD5) that libc lacks a safe
//! form for. Each `unsafe` block states the invariant it relies on.
//!
//! Threading model the wrappers assume: [`Eal`] is initialised once per
//! process; each worker thread calls [`register_thread`] before touching
//! mbufs (so mempool per-lcore caches work) and owns its rx/tx queue pairs
//! exclusively ([`RxQueue`]/[`TxQueue`] are `Send` but not `Clone`/`Sync`).

pub mod tcp_md5;

#[cfg(feature = "ipsec-mb")]
pub mod gcm_small;
#[cfg(feature = "ipsec-mb")]
pub mod ipsec_mb;

#[cfg(feature = "dpdk")]
mod eal;
#[cfg(feature = "dpdk")]
mod mbuf;
#[cfg(feature = "dpdk")]
mod mempool;
#[cfg(feature = "dpdk")]
mod port;
#[cfg(feature = "dpdk")]
pub mod rte_lpm;
#[cfg(feature = "dpdk")]
mod sys;

#[cfg(feature = "dpdk")]
pub use eal::{rdtsc, register_thread, tsc_hz, Eal, EalError};
#[cfg(feature = "dpdk")]
pub use mbuf::{Burst, Mbuf, BURST_MAX};
#[cfg(feature = "dpdk")]
pub use mempool::Mempool;
#[cfg(feature = "dpdk")]
pub use port::{LinkStatus, Port, PortConfig, PortStats, RxQueue, TxQueue};
