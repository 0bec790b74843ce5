//! The edge's overlay control plane (draft-ietf-bess-bgp-sdwan-usage §6):
//! what the edge originates in BGP ([`origin`]: client VPN routes, WAN
//! ports as SAFI 74 routes and the fallback node-id route), the tunnel TLV
//! of a WAN port in both directions ([`tunnel_attr`]), keys per WAN-port
//! pair ([`keys`]), recursive resolution of learned routes to tunnels
//! ([`resolver`], I/O-free), the views `show` prints ([`status`]) and the
//! glue that runs them beside the control loop ([`runtime`]), which also
//! watches tunnel keepalives ([`liveness_watch`]).

pub mod keys;
mod liveness_watch;
pub mod origin;
pub mod resolver;
pub mod runtime;
mod sa_history;
pub mod status;
pub mod tunnel_attr;

#[cfg(test)]
mod resolver_tests;
#[cfg(test)]
mod static_peer_tests;
#[cfg(test)]
mod topology_tests;
