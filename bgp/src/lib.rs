//! BGP control plane of the SD-WAN overlay (draft-ietf-bess-bgp-sdwan-usage
//! §5): the wire codec (`wire`: RFC 4271, 4760, 7606, 9012, SD-WAN edge
//! discovery SAFI 74), the session FSM, RIBs and the route reflector with
//! constrained propagation. Nothing here touches DPDK; the codec and FSM are
//! I/O-free.
#![forbid(unsafe_code)]

pub mod wire;
pub mod fsm;
pub mod rib;
pub mod config;
pub mod router;
pub mod speaker;
pub mod decode_tool;
pub mod pcap;
