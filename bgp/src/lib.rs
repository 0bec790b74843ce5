//! BGP control plane of the SD-WAN overlay (draft-ietf-bess-bgp-sdwan-usage
//! §3.1.5, §5): everything between TCP bytes and the Loc-RIB change stream.
//! Nothing here touches DPDK; the codec, FSM and router core are I/O-free.
//!
//! - `wire`: the codec (RFC 4271, 2918, 4456, 4760, 6793, 7606, 7911, 8092,
//!   8654, 9012, RFC 4364/4659/4684, SD-WAN edge discovery SAFI 74);
//!   `wire::sdwan_subtlv` types the SD-WAN-Hybrid sub-TLVs 65/67/68/69/70,
//!   `wire::as4` carries 4-octet ASNs across 2-octet peers;
//! - `fsm`: the session state machine (RFC 4271 §8) and capability
//!   negotiation (ADD-PATH, Graceful Restart, Extended Message), time
//!   passed in;
//! - `rib`: Loc-RIB, Adj-RIB-In view, decision process (§9.1.2);
//! - `router`: peers, Adj-RIB-Out (ADD-PATH send), route reflection with
//!   constrained propagation by peer group and RT-Constraint, Graceful
//!   Restart receiving speaker, local origination (VPN, unicast, SAFI 74);
//! - `speaker`: the tokio thread, TCP-MD5 sockets, connection collision
//!   (RFC 4271 §6.8) and the handle API (`originate`, `originate_sdwan`,
//!   `withdraw`, `subscribe`, `snapshot`, `peers`);
//! - `config`: serde configuration; `decode_tool` + `pcap`: `sdwan bgp decode`.
#![forbid(unsafe_code)]

pub mod config;
pub mod decode_tool;
pub mod fsm;
pub mod pcap;
pub mod rib;
pub mod router;
pub mod speaker;
pub mod wire;
