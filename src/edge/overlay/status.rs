//! What `sdwan show tunnels|sa|routes` and the overlay metrics read: a
//! plain copy of the resolver's state, rebuilt by the control thread after
//! each change and swapped in for the management thread (which adds the
//! workers' packet counters when it answers).
use super::resolver::Resolver;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// One (local WAN port, remote WAN port) pair.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TunnelRow {
    pub local_port: String,
    /// Our port index (the dataplane's key).
    #[serde(skip)]
    pub local_port_index: u16,
    pub local_wan_id: u32,
    /// `internet` or `private` (the local WAN port's kind).
    pub kind: &'static str,
    pub remote_node: IpAddr,
    pub remote_port: u32,
    pub remote_endpoint: IpAddr,
    pub color: u32,
    pub spi_out: Option<u32>,
    pub spi_in: Vec<u32>,
    /// `up` (outbound SA and tunnel in the snapshot), `pending` (keys not
    /// agreed yet), `silent` (no keepalive from the peer lately: on no
    /// path) or `down` (WAN port down, or no outer source address of that
    /// family).
    pub state: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SaRow {
    pub direction: &'static str,
    pub spi: u32,
    pub local_port: String,
    #[serde(skip)]
    pub local_port_index: u16,
    pub remote_node: IpAddr,
    pub remote_port: u32,
    pub remote_endpoint: Option<IpAddr>,
    pub cipher: String,
    pub esn: bool,
    pub replay_window: u32,
    pub lifetime_secs: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RouteRow {
    pub vrf: String,
    pub prefix: String,
    pub remote_node: IpAddr,
    pub rd: String,
    pub label: u32,
    pub inner: String,
    pub colors: Vec<u32>,
    pub path: u32,
    pub tunnels: usize,
}

/// One client VRF's VPN attributes as they apply now (after reloads).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VrfRow {
    pub name: String,
    pub id: u16,
    pub rd: String,
    pub label: u32,
    pub encap: &'static str,
    pub color: Option<u32>,
    /// `mesh`, `hub` or `spoke` (hub-and-spoke roles).
    pub topology: &'static str,
    /// A hub: decapsulated traffic may go back into the overlay.
    pub transit: bool,
    pub import: Vec<sdwan_bgp::config::RouteTarget>,
    pub export: Vec<sdwan_bgp::config::RouteTarget>,
    /// Prefixes announced with their own Route Targets.
    pub prefix_route_targets: BTreeMap<String, Vec<sdwan_bgp::config::RouteTarget>>,
    /// Hub summary prefixes originated toward the spokes.
    pub summaries: Vec<String>,
}

/// One local WAN port.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WanRow {
    pub id: u32,
    pub port: String,
    pub color: u32,
    pub kind: &'static str,
    pub public_address: IpAddr,
    /// `up`, or `down` (taken out by the operator or link down).
    pub state: &'static str,
    /// Tunnels from this port that are up.
    pub tunnels_up: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct OverlayStatus {
    pub node_id: Option<IpAddr>,
    pub wans: Vec<WanRow>,
    pub vrfs: Vec<VrfRow>,
    pub tunnels: Vec<TunnelRow>,
    pub sas: Vec<SaRow>,
    pub routes: Vec<RouteRow>,
    /// Overlay routes per VRF name.
    pub routes_per_vrf: BTreeMap<String, usize>,
    /// Counted refusals: unusable tunnel TLVs by reason, VPN routes without
    /// label, remote routes shadowed by a local prefix, SA build errors.
    pub errors: BTreeMap<String, u64>,
    /// Generation of the overlay snapshot the rows describe.
    pub generation: u64,
    /// The `[[policy]]` rules and breakout in force (after reloads).
    #[serde(skip)]
    pub policy: Option<crate::config::PolicyConfig>,
}

fn inner_text(i: &sdwan_dataplane::overlay::InnerEncap) -> String {
    use sdwan_dataplane::overlay::InnerEncap::*;
    match i {
        Mpls { label } => format!("mpls {label}"),
        Gre { key } => format!("gre key {key}"),
        Vxlan { vni } => format!("vxlan vni {vni}"),
    }
}

impl OverlayStatus {
    pub fn of(r: &Resolver, generation: u64) -> OverlayStatus {
        let cfg = r.config();
        let keys = r.keys();
        let wan_name = |id: u32| cfg.wan_by_id(id).map(|w| (w.port_name.clone(), w.port));
        let mut tunnels = Vec::new();
        for (node, ports) in r.remote_ports() {
            for rp in ports {
                for w in cfg.wans.iter().filter(|w| w.color == rp.color) {
                    let pair = (w.id, rp.peer());
                    let out = keys.outbound().get(&pair);
                    let spi_in = keys
                        .inbound()
                        .iter()
                        .filter(|(_, e)| e.local_wan == w.id && e.peer == rp.peer())
                        .map(|(spi, _)| *spi)
                        .collect();
                    let state = match (out, w.source_for(rp.endpoint)) {
                        _ if !r.wan_is_up(w.id) => "down",
                        (_, None) => "down",
                        _ if r.dead_tunnels().contains(&pair) => "silent",
                        (Some(o), Some(_)) if o.shared.is_some() => "up",
                        _ => "pending",
                    };
                    tunnels.push(TunnelRow {
                        local_port: w.port_name.clone(),
                        local_port_index: w.port,
                        local_wan_id: w.id,
                        kind: w.kind.as_str(),
                        remote_node: *node,
                        remote_port: rp.port,
                        remote_endpoint: rp.endpoint,
                        color: rp.color,
                        spi_out: out.map(|o| o.sa.spi),
                        spi_in,
                        state,
                    });
                }
            }
        }
        let endpoint_of = |node: IpAddr, port: u32| {
            r.remote_ports()
                .get(&node)
                .and_then(|v| v.iter().find(|p| p.port == port))
                .map(|p| p.endpoint)
        };
        let mut sas = Vec::new();
        let sa_row = |dir: &'static str,
                      wan: u32,
                      peer: &sdwan_crypto::keyex::Endpoint,
                      sa: &sdwan_crypto::keyex::DirectionalSa| {
            let (name, idx) = wan_name(wan).unwrap_or_else(|| ("?".into(), u16::MAX));
            SaRow {
                direction: dir,
                spi: sa.spi,
                local_port: name,
                local_port_index: idx,
                remote_node: peer.node,
                remote_port: peer.port,
                remote_endpoint: endpoint_of(peer.node, peer.port),
                cipher: format!("{:?}", sa.keys.cipher()),
                esn: sa.params.esn,
                replay_window: sa.params.replay_window,
                lifetime_secs: sa.params.lifetime.hard_seconds,
            }
        };
        for ((wan, peer), e) in keys.outbound() {
            sas.push(sa_row("out", *wan, peer, &e.sa));
        }
        for e in keys.inbound().values() {
            sas.push(sa_row("in", e.local_wan, &e.peer, &e.sa));
        }
        let mut routes = Vec::new();
        let mut routes_per_vrf: BTreeMap<String, usize> =
            cfg.vrfs.iter().map(|v| (v.name.clone(), 0)).collect();
        for ((vrf, prefix), inst) in r.installed() {
            let Some(key) = r.path_key(inst.path) else {
                continue;
            };
            let vrf_name = cfg
                .vrfs
                .iter()
                .find(|v| v.id == *vrf)
                .map_or_else(|| vrf.to_string(), |v| v.name.clone());
            *routes_per_vrf.entry(vrf_name.clone()).or_default() += 1;
            routes.push(RouteRow {
                vrf: vrf_name,
                prefix: prefix.to_string(),
                remote_node: key.node,
                rd: inst.rd.to_string(),
                label: inst.label,
                inner: inner_text(&key.inner),
                colors: key.colors.clone(),
                path: inst.path,
                tunnels: r.path_tunnel_count(inst.path),
            });
        }
        let mut errors: BTreeMap<String, u64> = r
            .errors
            .tunnel_attr
            .iter()
            .map(|(k, v)| (format!("tunnel_attr_{k}"), *v))
            .collect();
        errors.insert("vpn_without_label".into(), r.errors.vpn_without_label);
        errors.insert("shadowed_by_local".into(), r.errors.shadowed_by_local);
        errors.insert("static_sa_refused".into(), r.errors.static_sa_refused);
        errors.insert("sa_build_failed".into(), keys.build_errors);
        errors.insert("sa_reuse_refused".into(), keys.reuse_refused);
        let m = keys.manager().errors();
        errors.insert("keyex_derive_failed".into(), m.derive_failed);
        errors.insert("keyex_spi_collisions".into(), m.spi_collisions);
        errors.insert("keyex_unknown_local_port".into(), m.unknown_local_port);
        let wans = cfg
            .wans
            .iter()
            .map(|w| WanRow {
                id: w.id,
                port: w.port_name.clone(),
                color: w.color,
                kind: w.kind.as_str(),
                public_address: w.public_address,
                state: if r.wan_is_up(w.id) { "up" } else { "down" },
                tunnels_up: tunnels
                    .iter()
                    .filter(|t| t.local_wan_id == w.id && t.state == "up")
                    .count(),
            })
            .collect();
        let vrfs = cfg
            .vrfs
            .iter()
            .map(|v| VrfRow {
                name: v.name.clone(),
                id: v.id,
                rd: v.rd.to_string(),
                label: v.label,
                encap: v.encap.as_str(),
                color: v.color,
                topology: v.topology.as_str(),
                transit: v.topology.is_transit(),
                import: v.import.clone(),
                export: v.export.clone(),
                prefix_route_targets: v
                    .prefix_rts
                    .iter()
                    .map(|(p, rts)| (p.to_string(), rts.clone()))
                    .collect(),
                summaries: v.summaries.iter().map(ToString::to_string).collect(),
            })
            .collect();
        OverlayStatus {
            node_id: Some(IpAddr::V4(cfg.node_id)),
            wans,
            vrfs,
            tunnels,
            sas,
            routes,
            routes_per_vrf,
            errors,
            generation,
            policy: Some(cfg.policy.clone()),
        }
    }

    pub fn tunnels_up(&self) -> usize {
        self.tunnels.iter().filter(|t| t.state == "up").count()
    }
}
