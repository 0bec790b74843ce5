//! The forwarding plane: the I/O-free per-packet pipeline (parse, validate,
//! look up, rewrite, decide), the lookup tables the workers read as
//! lock-free snapshots (FIB, neighbor table), per-worker counters and named
//! drop reasons. The DPDK glue (ports, rx/tx bursts, mbufs) lives in `ffi/`
//! and the `sdwan` binary; nothing here does I/O or unsafe.
#![forbid(unsafe_code)]
