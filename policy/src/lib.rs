//! Segmentation and path policy for the SD-WAN edge: the I/O-free,
//! lock-free building blocks the dataplane workers call per packet to
//! decide which underlay a flow takes (draft-ietf-bess-bgp-sdwan-usage
//! §3.1.3 traffic segmentation, §3.3 differential encrypted SD-WAN, §4.2
//! policy configuration, §5.4 flow-based segmentation, §6.2 hybrid
//! underlay forwarding, §8 internet-facing ports). Nothing here allocates
//! per packet, takes a lock or does I/O; time comes in as nanoseconds.
//!
//! What lives where:
//! - [`flow_key`]: the flow key (5-tuple, ingress VRF, DSCP, IPv6 flow
//!   label) and its strict extraction from an IPv4/IPv6 packet.
//! - [`classifier`]: rules (first match wins) naming a
//!   [`classifier::PathPolicy`] and a traffic class; the compiled
//!   bitmap-intersection classifier, the linear scan it is measured
//!   against, and the [`classifier::PolicyStore`] that publishes compiled
//!   rule sets to workers as immutable `arc-swap` snapshots.
//! - [`path`]: the path choice (private / internet encrypted / breakout)
//!   for a policy and the usable underlays, and the shared
//!   [`path::PathState`] (usable set + epoch) the control thread flips on
//!   link or tunnel loss.
//! - [`flow_table`]: the per-worker fixed-capacity flow cache that keeps
//!   flows on their path, moves them on failover and drops `PrivateOnly`
//!   flows (counted) instead of leaking them onto the internet.
//! - [`nat44`]: source NAT for internet breakout (port allocation per
//!   public address and worker, timeouts, return traffic, in-place rewrite
//!   with RFC 1624 checksum updates).
//! - [`rate_limit`]: per-source token buckets (GCRA) protecting internet
//!   ports from floods.
//! - [`drop_reason`]: every named drop reason and the per-worker counters;
//!   [`hash`]: the seeded hash the fixed tables share.
//!
//! Not here: VRF/port binding and route targets (config and `bgp/`), ESP
//! (`crypto/`), the packet loop that calls these (`dataplane/`).
#![forbid(unsafe_code)]

pub mod classifier;
pub mod drop_reason;
pub mod flow_key;
pub mod flow_table;
pub mod hash;
pub mod nat44;
pub mod path;
pub mod rate_limit;

pub use drop_reason::{DropCounters, PolicyDrop};
pub use flow_key::{Family, FlowKey, VrfId};
