//! IPsec core of the SD-WAN edge, I/O-free and independent of DPDK:
//!
//! - [`esp`]: ESP tunnel mode (RFC 4303) with AES-GCM-128/256 (RFC 4106),
//!   encapsulation and decapsulation in place on a [`sdwan_packet::Frame`]
//!   (an mbuf-shaped window), with the outer IPv4/IPv6 header and NAT-T UDP
//!   (RFC 3948) from [`outer`]; no allocation per packet.
//! - [`replay`]: the RFC 6479 anti-replay bitmap with ESN inference.
//! - [`aead`]: the AES-GCM engine trait and its backends (aws-lc-rs default,
//!   RustCrypto and intel-ipsec-mb behind features).
//! - [`drop_reason`]: named, counted drop reasons.
//! - [`ecn`]: RFC 6040 ECN combination at decapsulation.
//! - [`sadb`]: the control-plane SA database (SPI allocation, inbound by
//!   SPI, outbound per (peer node, local port, remote port), lifetimes).
//! - [`keyex`]: key agreement without IKE (draft-ietf-bess-bgp-sdwan-usage
//!   §4.3): X25519 per WAN port, parameters carried in BGP tunnel sub-TLVs,
//!   HKDF-SHA256 per direction; make-before-break rekey of each pair; and
//!   [`keyex::Manager`], the edge-wide, I/O-free owner of port secrets,
//!   pair sessions and the SADB that emits install/use/remove actions.
//!
//! Fast-path API for the dataplane (one worker owns each hot SA; no lock,
//! no allocation per packet):
//!
//! ```text
//! let mut out = OutboundSa::<DefaultEngine>::new(params, &keys, outer_cfg)?;   // per tunnel
//! out.encap(&mut frame, NextHeader::Ipv4)?;      // frame: inner packet -> outer IP [+UDP] + ESP
//! let mut inb = InboundSet::<DefaultEngine>::new(4500);                        // per worker
//! inb.insert(InboundSa::new(params, &keys)?);
//! match inb.decap(&mut frame)? {                 // frame: outer IP packet -> inner packet
//!     Received::Inner { spi, next_header, source, rebound } => ...,   // rebound: NAT moved the peer
//!     Received::Keepalive | Received::Ike => ...,
//! }
//! let mut ctx = DefaultEngine::new_burst();                                  // per worker
//! out.encap_burst(&mut frames, NextHeader::Ipv4, &mut ctx, &mut results);   // one engine call per 64
//! inb.decap_burst(&mut frames, &mut ctx, &mut results);
//! out.counters(); inb.drops(); inb.get(spi).unwrap().counters();   // plain u64s per SA / reason
//! out.needs_rekey();                              // soft lifetime or sequence space half used
//! ```
//!
//! Not here: sockets, DPDK, BGP encoding of the sub-TLV headers (bgp/ wraps
//! the value bytes this crate defines), IKEv2.
#![forbid(unsafe_code)]

pub mod aead;
pub mod drop_reason;
pub mod ecn;
pub mod esp;
pub mod keyex;
pub mod lifetime;
pub mod outer;
pub mod replay;
pub mod sadb;

pub use drop_reason::{DropCounters, DropReason};
pub use esp::{
    Cipher, InboundSa, InboundSet, KeyMaterial, NextHeader, OutboundSa, OuterConfig, Received,
    SaParams, SharedOutboundSa,
};
pub use lifetime::Lifetime;
