//! Overlay forwarding tables (draft §4.1.1, §6; RFC 9012 §6 recursive
//! resolution): what the workers need to carry a client packet of a VRF to
//! a remote edge's WAN port inside ESP-in-UDP, and back.
//!
//! The control plane (the edge's resolver) builds an [`OverlayTable`] and
//! publishes it as one immutable snapshot per change through
//! [`overlay_channel`] (arc-swap, like the FIB); workers load it once per
//! burst and never wait for the writer.
//!
//! - A remote client prefix is a FIB route of its VRF with
//!   [`NextHop::Overlay`](crate::fib::NextHop::Overlay)`{ path }`: an index
//!   into [`OverlayTable::paths`].
//! - An [`OverlayPath`] is the inner encapsulation the remote VRF expects
//!   (its MPLS label, GRE key or VXLAN VNI) and the usable tunnels toward
//!   the remote node (Color-matched WAN-port pairs); flows are hashed over
//!   them and stay on their tunnel while the set is unchanged.
//! - A [`Tunnel`] is one (local WAN port, remote WAN endpoint) pair with its
//!   outbound SA. The SA is shared by all workers (atomic sequence number,
//!   see `sdwan_crypto::esp::SharedOutboundSa`); its outer header goes from
//!   the local WAN address to the remote endpoint over NAT-T UDP 4500. The
//!   underlay next hop is found by looking `remote` up in the FIB of the
//!   local WAN port's VRF.
//! - Received ESP-in-UDP to one of our WAN addresses is decrypted with the
//!   worker's own `InboundSet`, built from [`OverlayTable::inbound`] (RSS on
//!   the outer 5-tuple pins one SA to one rx queue, hence one worker: the
//!   per-worker anti-replay state is exact), and its inner label/key/VNI
//!   chooses the VRF through [`OverlayTable::decap`].
//!
//! ## Where the state lives, and why no lock is on the path
//!
//! | state | owner | written by | per packet |
//! |---|---|---|---|
//! | [`OverlayTable`] (paths, tunnels, decap map, inbound specs) | shared, immutable snapshot | control thread, one `publish` per change | read through the burst's `Arc` |
//! | outbound SA key schedule and outer template (`SharedOutboundSa`) | shared by all workers inside the snapshot | nobody after construction | read |
//! | outbound sequence number | shared, `AtomicU64` on its own cache line | every worker | one `fetch_add` (wait-free) |
//! | `InboundSet` (keys, replay windows, per-SA counters) | per worker ([`OverlayWorker`]) | its worker only | `&mut`, no sharing: RSS pins an SA to one queue |
//! | per-tunnel counters ([`TunnelCounters`]) | per worker | its worker only | plain `u64` adds |
//! | published counters ([`OverlayCounterSlots`]) | one block per worker | its worker, once per burst (Relaxed stores) | none |
//!
//! The only cross-core write per packet is the outbound sequence number,
//! which must be unique under the key; everything else a worker writes is
//! its own. A new snapshot is picked up by a pointer compare per burst; a
//! worker rebuilds its own inbound state when it sees a new generation
//! ([`OverlayWorker::sync`]), keeping the replay state of SPIs that stay.
//!
//! Files: `inner` (MPLS / GRE / VXLAN header push and pop), `flow` (the
//! tunnel-choice hash), `underlay` (each tunnel's underlay next hop,
//! cached per worker), `worker_state` ([`OverlayWorker`]), `counters`
//! (per-tunnel / per-SA counters and their sums). The forwarding steps
//! themselves are in `pipeline::overlay_out` (LAN -> WAN) and
//! `pipeline::overlay_in` (WAN -> LAN).

pub mod counters;
pub mod flow;
pub mod inner;
mod underlay;
mod worker_state;

pub use counters::{
    InboundKey, OverlayCounterBlock, OverlayCounterSlots, OverlayTotals, SaTotals, TunnelCounters,
    TunnelKey,
};
pub(crate) use underlay::{UnderlayCache, UnderlayHop};
pub use worker_state::OverlayWorker;

use arc_swap::{ArcSwap, Cache};
use sdwan_crypto::aead::DefaultEngine;
use sdwan_crypto::{KeyMaterial, SaParams, SharedOutboundSa};
use std::net::IpAddr;
use std::sync::Arc;

/// Index into [`OverlayTable::tunnels`].
pub type TunnelId = u32;
/// Index into [`OverlayTable::paths`] (the value of `NextHop::Overlay`).
pub type PathId = u32;

/// The VPN encapsulation inside ESP (draft §4.1.1: the client packet keeps
/// its VRF identity across the WAN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InnerEncap {
    /// One MPLS label stack entry (S=1), ESP next header 137 (RFC 4023).
    Mpls { label: u32 },
    /// GRE with this key (RFC 2890), ESP next header 47.
    Gre { key: u32 },
    /// VXLAN with this VNI over UDP 4789 inside ESP (next header 4 or 41
    /// with an inner IP/UDP header), or Ethernet-in-ESP: the dataplane
    /// documents the exact layout.
    Vxlan { vni: u32 },
}

/// One tunnel: a local WAN port toward a remote WAN endpoint.
#[derive(Debug, Clone)]
pub struct Tunnel {
    /// Our port index of the local WAN port.
    pub local_port: u16,
    /// Over a private WAN port (MPLS VPN / leased line, draft §3.3): may
    /// also carry client packets natively, unencrypted (MPLS-in-IP, GRE,
    /// VXLAN), when the flow's policy allows it.
    pub private: bool,
    /// The remote WAN endpoint (outer destination).
    pub remote: IpAddr,
    /// Outbound SA: key, SPI, outer header template (source = our WAN
    /// address, destination = `remote`, NAT-T ports).
    pub sa: Arc<SharedOutboundSa<DefaultEngine>>,
}

/// How to reach one remote VRF at one remote node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayPath {
    pub inner: InnerEncap,
    /// Usable tunnels, the private ones first; a flow hash picks one of
    /// the kind its policy chose.
    pub tunnels: Vec<TunnelId>,
    /// How many of `tunnels` (from the front) are private.
    pub private: usize,
}

impl OverlayPath {
    /// `tunnels` (ids into `all`) reordered private first.
    pub fn new(inner: InnerEncap, mut tunnels: Vec<TunnelId>, all: &[Tunnel]) -> Self {
        let is_private = |t: &TunnelId| all.get(*t as usize).is_some_and(|t| t.private);
        tunnels.sort_by_key(|t| !is_private(t));
        let private = tunnels.iter().filter(|t| is_private(t)).count();
        Self {
            inner,
            tunnels,
            private,
        }
    }

    /// The tunnels over private WAN ports.
    #[inline]
    pub fn private_tunnels(&self) -> &[TunnelId] {
        self.tunnels.get(..self.private).unwrap_or(&[])
    }

    /// The tunnels over internet WAN ports.
    #[inline]
    pub fn internet_tunnels(&self) -> &[TunnelId] {
        self.tunnels.get(self.private..).unwrap_or(&[])
    }
}

/// Internet breakout of one client VRF (draft §3.3 policy 3): flows its
/// policy classifies `internet-breakout` leave through the internet WAN
/// port `port` unencrypted, source-NATed (NAT44) to `public`, using outside
/// ports `ports.0..=ports.1` (disjoint between VRFs, so return traffic
/// finds its VRF by port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breakout {
    pub vrf: u16,
    pub port: u16,
    pub public: std::net::Ipv4Addr,
    pub ports: (u16, u16),
}

/// After decapsulation: this label / key / VNI belongs to this VRF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecapEntry {
    pub key: InnerEncap,
    pub vrf: u16,
    /// The VRF is a transit (the hub of a hub-and-spoke topology, draft
    /// §3.1.3): a decapsulated packet whose route points back into the
    /// overlay is forwarded (TTL decremented) instead of dropped as
    /// `overlay_loop`.
    pub transit: bool,
}

/// An inbound SA every worker installs in its own `InboundSet`.
#[derive(Debug, Clone)]
pub struct InboundSaSpec {
    pub spi: u32,
    pub params: SaParams,
    pub keys: KeyMaterial,
    /// Our WAN port the SA's packets arrive on.
    pub local_port: u16,
    /// The peer's WAN address, when known: packets from elsewhere are
    /// dropped.
    pub peer: Option<IpAddr>,
}

/// One published overlay state.
#[derive(Debug, Clone, Default)]
pub struct OverlayTable {
    /// Bumped by the writer on every publish.
    pub generation: u64,
    pub tunnels: Vec<Tunnel>,
    pub paths: Vec<OverlayPath>,
    pub decap: Vec<DecapEntry>,
    pub inbound: Vec<InboundSaSpec>,
    /// Clamp the TCP MSS of SYNs entering from LAN ports to this value
    /// (none: no clamping).
    pub mss_clamp: Option<u16>,
    /// The flow classifier of the VRFs in `policy_vrfs` (draft §4.2.2,
    /// §4.3); other VRFs use `encrypted-any` without classifying.
    pub policy: Option<Arc<sdwan_policy::classifier::PolicySnapshot>>,
    /// Sorted ids of the VRFs that have policy rules.
    pub policy_vrfs: Vec<u16>,
    /// VRFs that break out to the internet, one entry each.
    pub breakout: Vec<Breakout>,
}

impl OverlayTable {
    /// The decap entry (VRF, transit) of a decrypted label / key / VNI.
    #[inline]
    pub fn decap(&self, key: InnerEncap) -> Option<&DecapEntry> {
        self.decap.iter().find(|e| e.key == key)
    }

    /// The VRF a decrypted label / key / VNI belongs to.
    #[inline]
    pub fn decap_vrf(&self, key: InnerEncap) -> Option<u16> {
        self.decap(key).map(|e| e.vrf)
    }

    /// The policy that classifies flows of `vrf`, if it has rules.
    #[inline]
    pub fn policy_of(&self, vrf: u16) -> Option<&sdwan_policy::classifier::PolicySnapshot> {
        if self.policy_vrfs.is_empty() || self.policy_vrfs.binary_search(&vrf).is_err() {
            return None;
        }
        self.policy.as_deref()
    }

    /// The breakout of `vrf`, if it has one.
    #[inline]
    pub fn breakout_of(&self, vrf: u16) -> Option<&Breakout> {
        self.breakout.iter().find(|b| b.vrf == vrf)
    }

    /// Whether `src` is the remote end of a private tunnel on `port`
    /// (native overlay traffic is accepted from there only); `None` when
    /// `port` carries no private tunnel at all. One pass over the tunnels.
    pub fn private_peer(&self, port: u16, src: IpAddr) -> Option<bool> {
        let mut on_port = false;
        for t in self
            .tunnels
            .iter()
            .filter(|t| t.private && t.local_port == port)
        {
            if t.remote == src {
                return Some(true);
            }
            on_port = true;
        }
        on_port.then_some(false)
    }
}

/// Control side of the overlay snapshot.
pub struct OverlayWriter {
    shared: Arc<ArcSwap<OverlayTable>>,
    generation: u64,
}

/// Worker side: cheap to clone, never blocks.
#[derive(Clone)]
pub struct OverlayReader {
    shared: Arc<ArcSwap<OverlayTable>>,
}

/// A worker's cached handle: a pointer compare while unchanged.
pub struct OverlayCache(Cache<Arc<ArcSwap<OverlayTable>>, Arc<OverlayTable>>);

/// A writer and a reader over an empty table (generation 0).
pub fn overlay_channel() -> (OverlayWriter, OverlayReader) {
    let shared = Arc::new(ArcSwap::from_pointee(OverlayTable::default()));
    (
        OverlayWriter {
            shared: Arc::clone(&shared),
            generation: 0,
        },
        OverlayReader { shared },
    )
}

impl OverlayWriter {
    /// Publishes `table` as the new snapshot (its generation is set here)
    /// and returns the generation.
    pub fn publish(&mut self, mut table: OverlayTable) -> u64 {
        self.generation += 1;
        table.generation = self.generation;
        self.shared.store(Arc::new(table));
        self.generation
    }

    /// The snapshot the workers see now.
    pub fn current(&self) -> Arc<OverlayTable> {
        self.shared.load_full()
    }
}

impl OverlayReader {
    pub fn load_full(&self) -> Arc<OverlayTable> {
        self.shared.load_full()
    }

    pub fn cache(&self) -> OverlayCache {
        OverlayCache(Cache::new(Arc::clone(&self.shared)))
    }
}

impl OverlayCache {
    #[inline]
    pub fn load(&mut self) -> &Arc<OverlayTable> {
        self.0.load()
    }
}
