//! Wire formats the forwarder reads and writes, in the smoltcp shape: a
//! zero-copy view over a byte buffer with field accessors, a typed `Repr`
//! with `parse`/`emit`, and the RFC's byte diagram above each. Also the
//! [`Frame`] window every in-place rewrite (ICMP errors, ESP encap) works on.
//! No I/O, no allocation, no panics on any input.
//!
//! Layers: [`ethernet`] (+802.1Q), [`arp`], [`ipv4`], [`ipv6`] (+extension
//! header walk), [`icmpv4`], [`icmpv6`] (+[`ndp`]), [`udp`], [`tcp`];
//! [`checksum`] holds the Internet checksum, pseudo headers and RFC 1624
//! incremental update; [`error`] the one error type all parsers return.
#![forbid(unsafe_code)]

pub mod arp;
pub mod checksum;
pub mod error;
pub mod ethernet;
pub mod frame;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod ndp;
pub mod tcp;
pub mod udp;

pub use error::{Error, Layer};
pub use ethernet::MacAddr;
pub use frame::Frame;
