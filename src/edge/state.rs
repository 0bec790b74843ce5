//! What the running edge shares between its threads: the configuration,
//! the FIB writer (control side only) and readers, the neighbor snapshot,
//! per-worker counter slots and event queues. Workers only ever read
//! snapshots and write their own slots; the mutexes here are taken by the
//! control and management threads only.
use super::ports::OpenedPorts;
use crate::config::{Resolved, ResolvedRoute, RouteNextHop};
use crate::metrics::Metrics;
use anyhow::Context;
use sdwan_dataplane::counters::CounterSlots;
use sdwan_dataplane::fib::{fib_channel, ApplyReport, FibReader, FibWriter, NextHop, RouteChange};
use sdwan_dataplane::neighbor::{EventQueue, NeighborTable, SharedNeighbors};
use sdwan_dataplane::overlay::{
    overlay_channel, OverlayCounterSlots, OverlayReader, OverlayWriter,
};
use sdwan_dataplane::pipeline::PortConfig as PipelinePort;
use sdwan_dataplane::worker::stats::WorkerStats;
use sdwan_ffi::Port;
use sdwan_packet::MacAddr;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

pub struct WorkerInfo {
    pub id: usize,
    pub core: Option<usize>,
    /// (port, rx queue) pairs the worker polls.
    pub queues: Vec<(u16, u16)>,
    pub stats: Arc<WorkerStats>,
}

pub struct EdgeState {
    pub cfg: Resolved,
    pub ports: Vec<Port>,
    pub macs: Vec<[u8; 6]>,
    pub fib: FibReader,
    pub fib_writer: Mutex<FibWriter>,
    pub neighbors: SharedNeighbors,
    /// Slot `i` for worker `i`.
    pub counters: Arc<CounterSlots>,
    /// Worker → control events, one queue per worker.
    pub events: Vec<Arc<EventQueue>>,
    pub workers: Mutex<Vec<WorkerInfo>>,
    pub metrics: Metrics,
    /// The ports as the pipeline sees them (MAC, VRF, MTU, addresses).
    pub pipeline_ports: Arc<[PipelinePort]>,
    /// Overlay snapshot (tunnels, paths, decap, inbound SAs): workers load
    /// it once per burst like the FIB; the control thread publishes.
    pub overlay: OverlayReader,
    pub overlay_writer: Mutex<OverlayWriter>,
    /// Per-worker tunnel / SA counters (slot `i` for worker `i`).
    pub overlay_counters: Arc<OverlayCounterSlots>,
    /// What `show tunnels|sa|routes` and `show bgp` read (control thread
    /// publishes; empty without an overlay).
    pub overlay_status: arc_swap::ArcSwap<super::overlay::status::OverlayStatus>,
    /// Bumped by every operator route change (`POST /api/routes`): the
    /// overlay re-reads the client prefixes it originates.
    pub routes_version: std::sync::atomic::AtomicU64,
    /// Local WAN ids the operator asked to rekey (`POST /api/rekey`),
    /// drained by the control thread.
    pub rekey_requests: Mutex<Vec<u32>>,
    /// Operator WAN port state changes (`POST /api/wan`): (id, up).
    pub wan_requests: Mutex<Vec<(u32, bool)>>,
    /// Set by SIGHUP and `POST /api/reload`: the control loop re-reads
    /// the config file.
    pub reload: Arc<std::sync::atomic::AtomicBool>,
    /// What the last reload did (`GET /api/reload`).
    pub last_reload: Mutex<super::reload::ReloadReport>,
    /// Per-peer BGP series of the speaker (`/metrics`).
    pub bgp_metrics: crate::mgmt::bgp_metrics::BgpMetrics,
    /// The BGP speaker, once started (overlay only).
    pub speaker: std::sync::OnceLock<Arc<sdwan_bgp::speaker::Speaker>>,
}

/// Pipeline view of the configured ports (index = our port index):
/// `macs` holds the physical ports' MACs; a sub-interface uses its
/// parent's (and so gets the same EUI-64 link-local address);
/// an internet WAN port carries its guard.
pub fn pipeline_ports(cfg: &Resolved, macs: &[[u8; 6]]) -> Vec<PipelinePort> {
    cfg.ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mac = MacAddr(macs[cfg.wire_port(i)]);
            let mut pc = PipelinePort::new(i as u16, mac, p.vrf);
            if let Some(v) = p.vlan {
                pc = pc.on_vlan(v.parent, v.id);
            }
            if let Some(mtu) = p.mtu {
                pc.mtu = mtu;
            }
            for a in &p.addresses {
                pc = match a.addr() {
                    IpAddr::V4(v4) => pc.with_ipv4(v4, a.prefix_len()),
                    IpAddr::V6(v6) => pc.with_ipv6(v6, a.prefix_len()),
                };
            }
            pc.guard = cfg
                .overlay
                .iter()
                .flat_map(|o| &o.wans)
                .find(|w| usize::from(w.port) == i)
                .and_then(|w| w.guard.clone());
            pc
        })
        .collect()
}

/// The FIB form of a configured next hop.
pub fn fib_next_hop(nh: RouteNextHop) -> NextHop {
    match nh {
        RouteNextHop::Connected { port } => NextHop::Connected { port },
        RouteNextHop::Gateway { port, via } => NextHop::Gateway { port, via },
        RouteNextHop::Blackhole => NextHop::Blackhole,
    }
}

pub fn route_add(r: &ResolvedRoute) -> RouteChange {
    RouteChange::Add {
        vrf: r.vrf,
        prefix: r.prefix.addr(),
        len: r.prefix.prefix_len(),
        next_hop: fib_next_hop(r.next_hop),
    }
}

/// Connected subnets and our own addresses (as /32, /128 `Local`) of every
/// port, then the static routes.
pub fn initial_routes(cfg: &Resolved) -> Vec<RouteChange> {
    let mut changes = Vec::new();
    for (idx, p) in cfg.ports.iter().enumerate() {
        for a in &p.addresses {
            let net = a.trunc();
            changes.push(RouteChange::Add {
                vrf: p.vrf,
                prefix: net.addr(),
                len: net.prefix_len(),
                next_hop: NextHop::Connected { port: idx as u16 },
            });
            let host_len = if a.addr().is_ipv4() { 32 } else { 128 };
            changes.push(RouteChange::Add {
                vrf: p.vrf,
                prefix: a.addr(),
                len: host_len,
                next_hop: NextHop::Local,
            });
        }
    }
    changes.extend(wan_default_routes(cfg));
    changes.extend(cfg.routes.iter().map(route_add));
    changes
}

/// The underlay default route of VRF `default` via each WAN port's
/// `gateway` (the first WAN port per IP version wins; a static default
/// route in VRF `default`, applied after, replaces it).
pub fn wan_default_routes(cfg: &Resolved) -> Vec<RouteChange> {
    let mut out: Vec<RouteChange> = Vec::new();
    let Some(o) = &cfg.overlay else {
        return out;
    };
    for w in &o.wans {
        let Some(via) = w.gateway else { continue };
        let prefix: IpAddr = if via.is_ipv4() {
            std::net::Ipv4Addr::UNSPECIFIED.into()
        } else {
            std::net::Ipv6Addr::UNSPECIFIED.into()
        };
        if out
            .iter()
            .any(|c| matches!(c, RouteChange::Add { prefix: p, .. } if *p == prefix))
        {
            continue;
        }
        out.push(RouteChange::Add {
            vrf: 0,
            prefix,
            len: 0,
            next_hop: NextHop::Gateway { port: w.port, via },
        });
    }
    out
}

impl EdgeState {
    pub fn new(cfg: &Resolved, opened: &OpenedPorts) -> anyhow::Result<EdgeState> {
        let (mut writer, reader) = fib_channel();
        let report = writer.apply(initial_routes(cfg));
        if let Some((i, e)) = report.rejected.first() {
            anyhow::bail!("initial route #{i} refused by the FIB: {e}");
        }
        let nworkers = cfg.worker_count();
        let nports = cfg.ports.len();
        let macs: Vec<[u8; 6]> = opened.ports.iter().map(|p| p.mac).collect();
        let (overlay_writer, overlay) = overlay_channel();
        Ok(EdgeState {
            overlay,
            overlay_writer: Mutex::new(overlay_writer),
            overlay_counters: Arc::new(OverlayCounterSlots::new(nworkers)),
            overlay_status: arc_swap::ArcSwap::from_pointee(Default::default()),
            speaker: std::sync::OnceLock::new(),
            routes_version: std::sync::atomic::AtomicU64::new(0),
            rekey_requests: Mutex::new(Vec::new()),
            reload: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            wan_requests: Mutex::new(Vec::new()),
            bgp_metrics: Default::default(),
            last_reload: Mutex::new(Default::default()),
            pipeline_ports: pipeline_ports(cfg, &macs).into(),
            cfg: cfg.clone(),
            ports: opened.ports.iter().map(|p| p.port.clone()).collect(),
            macs,
            fib: reader,
            fib_writer: Mutex::new(writer),
            neighbors: Arc::new(arc_swap::ArcSwap::from_pointee(NeighborTable::default())),
            counters: Arc::new(CounterSlots::new(nworkers, nports)),
            events: (0..nworkers)
                .map(|_| Arc::new(EventQueue::new(4096)))
                .collect(),
            workers: Mutex::new(Vec::new()),
            metrics: crate::edge::api::edge_metrics(),
        })
    }

    pub fn register_worker(
        &self,
        id: usize,
        core: Option<usize>,
        queues: Vec<(u16, u16)>,
        stats: Arc<WorkerStats>,
    ) {
        self.workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(WorkerInfo {
                id,
                core,
                queues,
                stats,
            });
    }

    pub fn apply_routes(&self, changes: Vec<RouteChange>) -> ApplyReport {
        let mut w = self.fib_writer.lock().unwrap_or_else(|e| e.into_inner());
        let report = w.apply(changes);
        w.reclaim();
        report
    }

    pub fn vrf_id(&self, name: &str) -> Option<u16> {
        self.cfg
            .vrfs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }

    pub fn port_of(&self, name: &str) -> anyhow::Result<u16> {
        self.cfg
            .port_index(name)
            .with_context(|| format!("unknown port {name:?}"))
    }
}
