//! BGP control plane of the SD-WAN overlay (draft-ietf-bess-bgp-sdwan-usage
//! §3.1.5, §5): everything between TCP bytes and the Loc-RIB change stream.
//! Nothing here touches DPDK; the codec, FSM and router core are I/O-free.
//!
//! - `wire`: the codec (RFC 4271, 2918, 4456, 4760, 6793, 7606, 7911, 8092,
//!   8654, 9012, RFC 4364/4659/4684, SD-WAN edge discovery SAFI 74);
//! - `fsm`: the session state machine (RFC 4271 §8), time passed in;
//! - `rib`: Loc-RIB, Adj-RIB-In view, decision process (§9.1.2);
//! - `router`: peers, Adj-RIB-Out, route reflection with constrained
//!   propagation by peer group and RT-Constraint;
//! - `speaker`: the tokio thread, TCP-MD5 sockets and the handle API;
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
