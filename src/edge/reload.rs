//! Live configuration reload (SIGHUP, `POST /api/reload`, or a new
//! version pushed by the controller): what can change without a restart
//! is applied, and a file that changes anything else is refused whole,
//! before anything changes.
//!
//! Live: static routes (`[[route]]`, one new FIB snapshot; client-VRF
//! routes are re-originated or withdrawn in BGP by the overlay) and the
//! VPN attributes of existing overlay VRFs (`rd`, `import`, `export`,
//! the topology keys, per-prefix Route Targets, `label`, `color`, `encap`:
//! routes re-originated (hub summaries too), remote routes
//! re-imported, the decap map republished; SAs and tunnels untouched).
//!
//! Restart needed: EAL, dataplane, ports, the VRF list itself, static
//! neighbors, management / metrics listeners, `[node]`, `[bgp]`,
//! `[[wan]]`, `[[static_peer]]`.
use super::overlay::runtime::OverlayRuntime;
use super::state::{route_add, EdgeState};
use crate::config::{OverlayConfig, Resolved, RouteNextHop};
use sdwan_dataplane::fib::RouteChange;
use serde::Serialize;
use std::sync::atomic::Ordering;

/// What a reload will do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Static route changes (removals first).
    pub fib: Vec<RouteChange>,
    /// The new overlay config, when a VRF's VPN attributes changed.
    pub overlay: Option<OverlayConfig>,
    /// One line per change, for the log and `GET /api/reload`.
    pub changes: Vec<String>,
}

/// The last reload, as `GET /api/reload` shows it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ReloadReport {
    /// `applied`, `unchanged` or `refused`.
    pub result: &'static str,
    pub changes: Vec<String>,
    pub error: Option<String>,
    /// Reloads since start.
    pub count: u64,
}

/// The sections that differ and cannot change live.
fn restart_needed(old: &Resolved, new: &Resolved) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |differs: bool, what: &'static str| {
        if differs {
            out.push(what);
        }
    };
    check(old.eal_args != new.eal_args, "[eal]");
    check(
        old.workers != new.workers
            || old.cores != new.cores
            || old.idle_polls_before_sleep != new.idle_polls_before_sleep
            || old.max_sleep_us != new.max_sleep_us
            || old.mbufs != new.mbufs
            || old.rx_desc != new.rx_desc
            || old.tx_desc != new.tx_desc,
        "[dataplane]",
    );
    check(old.ports != new.ports, "[[port]]");
    check(old.vrfs != new.vrfs, "the [[vrf]] list (names, ids)");
    check(old.neighbors != new.neighbors, "[[neighbor]]");
    check(
        old.management != new.management || old.metrics != new.metrics,
        "[management] / [metrics]",
    );
    match (&old.overlay, &new.overlay) {
        (None, None) => {}
        (Some(_), None) | (None, Some(_)) => out.push("the overlay ([node])"),
        (Some(a), Some(b)) => {
            let mut check = |differs: bool, what: &'static str| {
                if differs {
                    out.push(what);
                }
            };
            check(
                a.node_id != b.node_id || a.asn != b.asn || a.mss_clamp != b.mss_clamp,
                "[node]",
            );
            check(a.hold_time != b.hold_time || a.peers != b.peers, "[bgp]");
            check(a.wans != b.wans, "[[wan]]");
            check(a.static_peers != b.static_peers, "[[static_peer]]");
            let ids = |o: &OverlayConfig| {
                o.vrfs
                    .iter()
                    .map(|v| (v.id, v.name.clone()))
                    .collect::<Vec<_>>()
            };
            check(ids(a) != ids(b), "the overlay [[vrf]] list");
        }
    }
    out
}

/// Compares the running config with a newly parsed one.
pub fn plan(old: &Resolved, new: &Resolved) -> Result<Plan, String> {
    let blocked = restart_needed(old, new);
    if !blocked.is_empty() {
        return Err(format!(
            "restart needed: {} changed; nothing was applied",
            blocked.join(", ")
        ));
    }
    let mut p = Plan::default();
    for r in old.routes.iter().filter(|r| !new.routes.contains(r)) {
        // Replaced ones are re-added below; a plain removal goes first.
        if !new
            .routes
            .iter()
            .any(|n| n.vrf == r.vrf && n.prefix == r.prefix)
        {
            p.fib.push(RouteChange::Remove {
                vrf: r.vrf,
                prefix: r.prefix.addr(),
                len: r.prefix.prefix_len(),
            });
            p.changes.push(format!(
                "route {} removed from VRF {}",
                r.prefix,
                old.vrf_name(r.vrf)
            ));
        }
    }
    for r in new.routes.iter().filter(|r| !old.routes.contains(r)) {
        p.fib.push(route_add(r));
        let port = |i: u16| new.ports.get(i as usize).map_or("?", |p| p.name.as_str());
        let nh = match r.next_hop {
            RouteNextHop::Connected { port: i } => format!("dev {}", port(i)),
            RouteNextHop::Gateway { port: i, via } => format!("via {via} dev {}", port(i)),
            RouteNextHop::Blackhole => "blackhole".into(),
        };
        p.changes.push(format!(
            "route {} in VRF {} {nh}",
            r.prefix,
            new.vrf_name(r.vrf)
        ));
    }
    if let (Some(a), Some(b)) = (&old.overlay, &new.overlay) {
        for (va, vb) in a.vrfs.iter().zip(&b.vrfs) {
            if va != vb {
                p.changes.push(format!(
                    "VRF {}: rd {} label {} encap {} color {:?} topology {} import {} export {}",
                    vb.name,
                    vb.rd,
                    vb.label,
                    vb.encap.as_str(),
                    vb.color,
                    vb.topology.as_str(),
                    rts(&vb.import),
                    rts(&vb.export)
                ));
            }
        }
        if a.policy != b.policy {
            let breakout: Vec<String> = b
                .policy
                .breakout
                .iter()
                .map(|x| new.vrf_name(x.vrf).to_string())
                .collect();
            p.changes.push(format!(
                "[[policy]]: {} rules, breakout for [{}]",
                b.policy.rules.rules.len(),
                breakout.join(", ")
            ));
        }
        if a.vrfs != b.vrfs || a.policy != b.policy {
            p.overlay = Some(b.clone());
        }
    }
    Ok(p)
}

fn rts(v: &[sdwan_bgp::config::RouteTarget]) -> String {
    let s: Vec<String> = v.iter().map(|r| r.0.to_string()).collect();
    s.join(",")
}

/// Re-reads `path` and applies it (control thread). Every outcome is
/// logged, kept for `GET /api/reload` and counted in
/// `sdwan_config_reloads_total{result}`.
pub fn run(
    path: &std::path::Path,
    state: &EdgeState,
    running: &mut Resolved,
    overlay: Option<&mut OverlayRuntime>,
) {
    let outcome = crate::config::load(path)
        .map_err(|e| format!("{e:#}"))
        .and_then(|new| plan(running, &new).map(|p| (new, p)));
    let mut report = ReloadReport::default();
    match outcome {
        Err(e) => {
            tracing::warn!(path = %path.display(), "config reload refused: {e}");
            report.result = "refused";
            report.error = Some(e);
        }
        Ok((_, p)) if p.changes.is_empty() => {
            tracing::info!(path = %path.display(), "config reload: nothing changed");
            report.result = "unchanged";
        }
        Ok((new, p)) => {
            if !p.fib.is_empty() {
                let r = state.apply_routes(p.fib);
                for (i, e) in &r.rejected {
                    tracing::warn!(change = i, error = %e, "reloaded route refused by the FIB");
                }
                // The overlay re-reads the client prefixes it originates.
                state.routes_version.fetch_add(1, Ordering::AcqRel);
            }
            if let (Some(o), Some(cfg)) = (overlay, p.overlay) {
                o.reconfigure(cfg);
            }
            for c in &p.changes {
                tracing::info!("config reload: {c}");
            }
            report.result = "applied";
            report.changes = p.changes;
            *running = new;
        }
    }
    state
        .metrics
        .inc("sdwan_config_reloads_total", &[report.result]);
    let mut last = state.last_reload.lock().unwrap_or_else(|e| e.into_inner());
    report.count = last.count + 1;
    *last = report;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use std::path::Path;

    const EDGE1: &str = include_str!("../../examples/overlay-edge1.toml");

    fn parse(text: &str) -> Resolved {
        config::parse(Path::new("edge.toml"), text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn same_file_changes_nothing() {
        let p = plan(&parse(EDGE1), &parse(EDGE1)).unwrap();
        assert!(p.fib.is_empty() && p.overlay.is_none() && p.changes.is_empty());
    }

    #[test]
    fn routes_and_vrf_targets_change_live() {
        let new = EDGE1.replacen(
            "export = [\"65000:1\"]",
            "export = [\"65000:1\", \"65000:9\"]",
            1,
        ) + "\n[[route]]\nvrf = \"blue\"\nprefix = \"10.1.9.0/24\"\nvia = \"10.1.1.2\"\n";
        let p = plan(&parse(EDGE1), &parse(&new)).unwrap();
        assert_eq!(p.fib.len(), 1, "{:?}", p.fib);
        assert!(matches!(p.fib[0], RouteChange::Add { len: 24, .. }));
        let o = p.overlay.expect("overlay change");
        let blue = o.vrfs.iter().find(|v| v.name == "blue").unwrap();
        assert_eq!(blue.export.len(), 2);
        assert_eq!(p.changes.len(), 2, "{:?}", p.changes);
        // And back: the route is removed.
        let back = plan(&parse(&new), &parse(EDGE1)).unwrap();
        assert!(matches!(
            back.fib[..],
            [RouteChange::Remove { len: 24, .. }]
        ));
    }

    #[test]
    fn policies_change_live() {
        let new = format!(
            "{EDGE1}\n[[policy]]\nvrf = \"blue\"\nname = \"voice\"\naction = \"private-only\"\nprotocol = \"udp\"\n"
        );
        let p = plan(&parse(EDGE1), &parse(&new)).unwrap();
        assert!(p.fib.is_empty());
        let o = p.overlay.expect("overlay change");
        assert_eq!(o.policy.rules.rules.len(), 1);
        assert_eq!(p.changes, vec!["[[policy]]: 1 rules, breakout for []"]);
    }

    #[test]
    fn topology_and_prefix_route_targets_change_live() {
        let hub = EDGE1.replacen(
            "import = [\"65000:1\"]\nexport = [\"65000:1\"]",
            "topology = \"hub-and-spoke\"\nrole = \"hub\"\nhub_rt = \"65000:21\"\nspoke_rt = \"65000:22\"",
            1,
        );
        assert_ne!(hub, EDGE1);
        let p = plan(&parse(EDGE1), &parse(&hub)).unwrap();
        assert!(p.fib.is_empty());
        let o = p.overlay.expect("overlay change");
        let blue = o.vrfs.iter().find(|v| v.name == "blue").unwrap();
        assert!(blue.topology.is_transit());
        assert_eq!(blue.summaries.len(), 2);
        assert!(
            p.changes.iter().any(|c| c.contains("topology hub")),
            "{:?}",
            p.changes
        );
        // A static route gets its own Route Targets: only the VRF changes.
        let route = "\n[[route]]\nvrf = \"blue\"\nprefix = \"10.1.9.0/24\"\nvia = \"10.1.1.2\"\n";
        let with_rts = format!("{EDGE1}{route}route_targets = [\"65000:900\"]\n");
        let p = plan(&parse(&format!("{EDGE1}{route}")), &parse(&with_rts)).unwrap();
        assert!(p.fib.is_empty(), "{:?}", p.fib);
        let o = p.overlay.expect("overlay change");
        let blue = o.vrfs.iter().find(|v| v.name == "blue").unwrap();
        assert_eq!(blue.prefix_rts.len(), 1);
    }

    #[test]
    fn anything_else_is_refused_whole_naming_the_sections() {
        let new = EDGE1
            .replace("mac = \"02:00:00:00:01:00\"", "mac = \"02:00:00:00:01:77\"")
            .replace("hold_time = 30", "hold_time = 60")
            + "\n[[route]]\nvrf = \"blue\"\nprefix = \"10.1.9.0/24\"\nvia = \"10.1.1.2\"\n";
        let e = plan(&parse(EDGE1), &parse(&new)).unwrap_err();
        assert!(
            e.contains("[[port]]") && e.contains("[bgp]") && e.contains("nothing was applied"),
            "{e}"
        );
    }
}
