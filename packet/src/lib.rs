//! Wire formats the forwarder reads and writes, in the smoltcp shape: a
//! zero-copy view over a byte buffer with field accessors, a typed `Repr`
//! with `parse`/`emit`, and the RFC's byte diagram above each. Also the
//! [`Frame`] window every in-place rewrite (ICMP errors, ESP encap) works on.
//! No I/O, no allocation, no panics on any input.
#![forbid(unsafe_code)]

pub mod frame;

pub use frame::Frame;
