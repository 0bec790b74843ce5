//! Per-VRF topologies through Route Targets (draft-ietf-bess-bgp-sdwan-usage
//! §3.1.3, §4.1, §5.4): the config says which topology, the RTs follow.
//!
//! | `[[vrf]]` keys | imports | exports |
//! |---|---|---|
//! | `route_target = X` (mesh) | X | X |
//! | `import = [..]`, `export = [..]` (expert) | as listed | as listed |
//! | `topology = "hub-and-spoke"`, `role = "hub"` | `spoke_rt` | `hub_rt` (+ `hub_summary`) |
//! | `topology = "hub-and-spoke"`, `role = "spoke"` | `hub_rt` | `spoke_rt` |
//!
//! Spokes import only `hub_rt`, so they learn the hub's prefixes and its
//! summaries (default `0.0.0.0/0`, `::/0`) and send spoke-to-spoke traffic
//! to the hub; the hub imports the spokes' routes and forwards overlay to
//! overlay (its VRF is marked transit in the overlay snapshot). The hub
//! originates only its own prefixes and summaries, never what it imported,
//! and a spoke never imports `spoke_rt`: no route goes round in circles.
//!
//! Flow-based segmentation (§5.4): `[[route]] route_targets` and
//! `[[vrf.export_prefix]]` announce one prefix with its own RTs instead of
//! the VRF's export ones; the route reflector's constrained propagation
//! (peer groups' authorized RTs, §3.1.5) keeps it from unauthorized edges.
use super::error::ConfigError;
use super::model::{EdgeConfig, VrfConfig};
use super::overlay::{parse_rt, parse_rts, Cx};
use super::validate::ResolvedPort;
use ipnet::IpNet;
use sdwan_bgp::config::RouteTarget;
use sdwan_bgp::wire::Prefix;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// The role of an edge in a hub-and-spoke VRF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Hub,
    Spoke,
}

/// How the edges of one VPN reach each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// Every edge to every edge (also the expert `import` / `export` form).
    Mesh,
    HubAndSpoke(Role),
}

impl Topology {
    pub fn as_str(self) -> &'static str {
        match self {
            Topology::Mesh => "mesh",
            Topology::HubAndSpoke(Role::Hub) => "hub",
            Topology::HubAndSpoke(Role::Spoke) => "spoke",
        }
    }

    /// A hub forwards decapsulated traffic back into the overlay.
    pub fn is_transit(self) -> bool {
        self == Topology::HubAndSpoke(Role::Hub)
    }
}

/// What the topology keys of one `[[vrf]]` resolve to.
pub(super) struct VrfRts {
    pub topology: Topology,
    pub import: Vec<RouteTarget>,
    pub export: Vec<RouteTarget>,
    /// Hub only: the summary prefixes originated with `export`.
    pub summaries: Vec<Prefix>,
}

/// Resolves the topology keys of `vrf[i]`; every conflict names its keys.
pub(super) fn vrf_rts(cx: &Cx<'_>, i: usize, v: &VrfConfig) -> Result<VrfRts, ConfigError> {
    let f = |k: &str| format!("vrf[{i}].{k}");
    let name = v.name.get_ref();
    let topology = v.topology.as_ref().map(|t| t.get_ref().as_str());
    match topology {
        None | Some("mesh") => mesh(cx, i, v),
        Some("hub-and-spoke") => hub_and_spoke(cx, i, v),
        Some(other) => {
            let span = v.topology.as_ref().map_or(v.name.span(), Spanned::span);
            Err(cx.err(
                span,
                f("topology"),
                format!("{other:?} is neither \"mesh\" nor \"hub-and-spoke\" (VRF {name:?})"),
            ))
        }
    }
}

/// The first of `keys` that is set, for a "does not belong here" error.
fn first_set<'a>(keys: &[(Option<Range<usize>>, &'a str)]) -> Option<(Range<usize>, &'a str)> {
    keys.iter().find_map(|(s, k)| s.clone().map(|s| (s, *k)))
}

fn mesh(cx: &Cx<'_>, i: usize, v: &VrfConfig) -> Result<VrfRts, ConfigError> {
    let f = |k: &str| format!("vrf[{i}].{k}");
    let name = v.name.get_ref();
    let hub_keys = [
        (v.role.as_ref().map(Spanned::span), "role"),
        (v.hub_rt.as_ref().map(Spanned::span), "hub_rt"),
        (v.spoke_rt.as_ref().map(Spanned::span), "spoke_rt"),
        (v.hub_summary.as_ref().map(Spanned::span), "hub_summary"),
    ];
    if let Some((span, k)) = first_set(&hub_keys) {
        return Err(cx.err(
            span,
            f(k),
            format!("`{k}` belongs to topology = \"hub-and-spoke\"; VRF {name:?} is a mesh"),
        ));
    }
    let (import, export) = match &v.route_target {
        Some(rt) => {
            let explicit = [
                (v.import.first().map(Spanned::span), "import"),
                (v.export.first().map(Spanned::span), "export"),
            ];
            if let Some((span, k)) = first_set(&explicit) {
                return Err(cx.err(
                    span,
                    f(k),
                    format!(
                        "VRF {name:?} sets both `route_target` (import = export) and `{k}`: use one form or the other"
                    ),
                ));
            }
            let rt = parse_rt(cx, rt, &f("route_target"))?;
            (vec![rt], vec![rt])
        }
        None => {
            let import = parse_rts(cx, &v.import, &f("import"))?;
            let export = parse_rts(cx, &v.export, &f("export"))?;
            if import.is_empty() && export.is_empty() {
                return Err(cx.err(
                    v.name.span(),
                    f("route_target"),
                    format!(
                        "VRF {name:?} imports and exports no Route Target (set `route_target`, `import`/`export`, or a `topology`)"
                    ),
                ));
            }
            (import, export)
        }
    };
    Ok(VrfRts {
        topology: Topology::Mesh,
        import,
        export,
        summaries: Vec::new(),
    })
}

fn hub_and_spoke(cx: &Cx<'_>, i: usize, v: &VrfConfig) -> Result<VrfRts, ConfigError> {
    let f = |k: &str| format!("vrf[{i}].{k}");
    let name = v.name.get_ref();
    let mesh_keys = [
        (v.route_target.as_ref().map(Spanned::span), "route_target"),
        (v.import.first().map(Spanned::span), "import"),
        (v.export.first().map(Spanned::span), "export"),
    ];
    if let Some((span, k)) = first_set(&mesh_keys) {
        return Err(cx.err(
            span,
            f(k),
            format!(
                "VRF {name:?} is hub-and-spoke: `hub_rt` and `spoke_rt` set its Route Targets, remove `{k}`"
            ),
        ));
    }
    let topo_span = v.topology.as_ref().map_or(v.name.span(), Spanned::span);
    let need = |k: &str| {
        cx.err(
            topo_span.clone(),
            f(k),
            format!("VRF {name:?} is hub-and-spoke and needs `{k}`"),
        )
    };
    let role = match v.role.as_ref().map(|r| (r.get_ref().as_str(), r.span())) {
        None => return Err(need("role")),
        Some(("hub", _)) => Role::Hub,
        Some(("spoke", _)) => Role::Spoke,
        Some((other, span)) => {
            return Err(cx.err(
                span,
                f("role"),
                format!("{other:?} is neither \"hub\" nor \"spoke\""),
            ))
        }
    };
    let hub_rt = parse_rt(
        cx,
        v.hub_rt.as_ref().ok_or_else(|| need("hub_rt"))?,
        &f("hub_rt"),
    )?;
    let spoke_text = v.spoke_rt.as_ref().ok_or_else(|| need("spoke_rt"))?;
    let spoke_rt = parse_rt(cx, spoke_text, &f("spoke_rt"))?;
    if hub_rt == spoke_rt {
        return Err(cx.err(
            spoke_text.span(),
            f("spoke_rt"),
            "must differ from `hub_rt`: a spoke importing what spokes export would bypass the hub",
        ));
    }
    let summaries = match (role, &v.hub_summary) {
        (Role::Spoke, Some(s)) => {
            return Err(cx.err(
                s.span(),
                f("hub_summary"),
                format!("VRF {name:?} is a spoke: only the hub advertises summaries"),
            ))
        }
        (Role::Spoke, None) => Vec::new(),
        (Role::Hub, None) => ["0.0.0.0/0", "::/0"]
            .iter()
            .filter_map(|p| p.parse::<IpNet>().ok())
            .filter_map(prefix_of)
            .collect(),
        (Role::Hub, Some(list)) => {
            let mut out = Vec::new();
            for (j, p) in list.get_ref().iter().enumerate() {
                let net = *p.get_ref();
                if net != net.trunc() {
                    return Err(cx.err(
                        p.span(),
                        format!("vrf[{i}].hub_summary[{j}]"),
                        format!("{net} has host bits set (the prefix is {})", net.trunc()),
                    ));
                }
                let Some(px) = prefix_of(net).filter(|px| !out.contains(px)) else {
                    return Err(cx.err(
                        p.span(),
                        format!("vrf[{i}].hub_summary[{j}]"),
                        format!("{net} listed twice"),
                    ));
                };
                out.push(px);
            }
            out
        }
    };
    let (import, export) = match role {
        Role::Hub => (vec![spoke_rt], vec![hub_rt]),
        Role::Spoke => (vec![hub_rt], vec![spoke_rt]),
    };
    Ok(VrfRts {
        topology: Topology::HubAndSpoke(role),
        import,
        export,
        summaries,
    })
}

fn prefix_of(net: IpNet) -> Option<Prefix> {
    Prefix::new(net.addr(), net.prefix_len())
}

/// Per-prefix export Route Targets of VRF `vrf[i]`: its `[[route]]
/// route_targets` and `[[vrf.export_prefix]]` (connected subnets only).
pub(super) fn prefix_rts(
    cx: &Cx<'_>,
    raw: &EdgeConfig,
    i: usize,
    ports: &[ResolvedPort],
) -> Result<BTreeMap<Prefix, Vec<RouteTarget>>, ConfigError> {
    let v = &raw.vrfs[i];
    let name = v.name.get_ref();
    let mut out = BTreeMap::new();
    for (j, r) in raw.routes.iter().enumerate() {
        let Some(list) = &r.route_targets else {
            continue;
        };
        if r.vrf.as_ref().map(|n| n.get_ref()) != Some(name) {
            continue;
        }
        let field = format!("route[{j}].route_targets");
        let rts = non_empty_rts(cx, list, &field)?;
        if let Some(px) = prefix_of(r.prefix.get_ref().trunc()) {
            out.insert(px, rts);
        }
    }
    for (j, e) in v.export_prefixes.iter().enumerate() {
        let f = |k: &str| format!("vrf[{i}].export_prefix[{j}].{k}");
        let net = *e.prefix.get_ref();
        let connected = ports
            .iter()
            .filter(|p| &p.vrf_name == name)
            .any(|p| p.addresses.iter().any(|a| a.trunc() == net));
        if !connected {
            return Err(cx.err(
                e.prefix.span(),
                f("prefix"),
                format!(
                    "{net} is not a connected subnet of a port in VRF {name:?} (a static route takes `route_targets` in its [[route]])"
                ),
            ));
        }
        let rts = non_empty_rts(cx, &e.route_targets, &f("route_targets"))?;
        let Some(px) = prefix_of(net) else {
            continue;
        };
        if out.insert(px, rts).is_some() {
            return Err(cx.err(
                e.prefix.span(),
                f("prefix"),
                format!("{net} has its Route Targets set twice in VRF {name:?}"),
            ));
        }
    }
    Ok(out)
}

fn non_empty_rts(
    cx: &Cx<'_>,
    list: &Spanned<Vec<Spanned<String>>>,
    field: &str,
) -> Result<Vec<RouteTarget>, ConfigError> {
    if list.get_ref().is_empty() {
        return Err(cx.err(
            list.span(),
            field,
            "empty: leave the key out to use the VRF's export Route Targets",
        ));
    }
    parse_rts(cx, list.get_ref(), field)
}

/// `route_targets` on a `[[route]]` outside the client VRFs (VRF
/// `default`, the underlay): refused.
pub(super) fn check_underlay_routes(cx: &Cx<'_>, raw: &EdgeConfig) -> Result<(), ConfigError> {
    for (j, r) in raw.routes.iter().enumerate() {
        let Some(list) = &r.route_targets else {
            continue;
        };
        let vrf = r.vrf.as_ref().map_or("default", |n| n.get_ref().as_str());
        if !raw.vrfs.iter().any(|v| v.name.get_ref() == vrf) {
            return Err(cx.err(
                list.span(),
                format!("route[{j}].route_targets"),
                format!("route in VRF {vrf:?} (the underlay) is not announced in BGP: Route Targets apply to client VRF routes"),
            ));
        }
    }
    Ok(())
}
