//! The overlay part of the edge's management API:
//!
//! GET  /api/tunnels        one row per (local WAN port, remote WAN port):
//!                          state, SPIs, packets / bytes / drops out
//! GET  /api/wans           local WAN ports: color, kind, public address,
//!                          state (up / down), tunnels up; internet ports
//!                          also their guard (rate limit, allow rules) and
//!                          its counters (passed / rate_limited by the
//!                          per-source limiter, filtered, transit)
//! GET  /api/sa             every SA, both directions, with its counters
//! GET  /api/overlay        resolver errors, routes per VRF, generation
//! POST /api/wan?wan=ID&admin=down|up   take a WAN port out of the overlay
//!                          (its tunnels and BGP routes) or back in
//! POST /api/reload         re-read the config file (as SIGHUP); GET: the
//!                          last reload's result and changes
//! POST /api/rekey?wan=ID   new key pair for a local WAN port (every pair
//!                          on it rekeys make-before-break)
//! GET  /api/bgp/summary | neighbors | routes[?family=&rd=&vrf=]   the
//!                          edge's own speaker (`vrf`: what that VRF imports)
//!
//! The rows come from the control thread's last [`OverlayStatus`] joined
//! with the workers' published counters.
use super::state::EdgeState;
use crate::metrics::Metrics;
use crate::mgmt::bgp_view;
use crate::mgmt::server::Response;
use sdwan_dataplane::counters::CounterTotals;
use sdwan_dataplane::overlay::{InboundKey, SaTotals, TunnelKey};
use sdwan_dataplane::pipeline::GuardProtocol;
use serde_json::{json, Value};

fn totals_json(t: Option<&SaTotals>) -> Value {
    let t = t.cloned().unwrap_or_default();
    json!({
        "packets": t.packets,
        "bytes": t.bytes,
        "drops": t.drop_total(),
        "drop_reasons": t.drops,
        "native_packets": t.native_packets,
        "native_bytes": t.native_bytes,
    })
}

/// `[[policy]]` as in force: the rules in match order (first match wins,
/// default `encrypted-any`) and the breakout of each VRF.
pub fn policies(state: &EdgeState) -> Value {
    let Some(o) = &state.cfg.overlay else {
        return json!({"rules": [], "breakout": [], "default": "encrypted-any"});
    };
    // What the overlay runs now (a reload may have changed the rules).
    let status = state.overlay_status.load();
    let policy = status.policy.as_ref().unwrap_or(&o.policy);
    let vrf_name = |id: u16| {
        o.vrfs
            .iter()
            .find(|v| v.id == id)
            .map_or_else(|| id.to_string(), |v| v.name.clone())
    };
    let port_name = |p: u16| {
        state
            .cfg
            .ports
            .get(usize::from(p))
            .map_or_else(|| p.to_string(), |x| x.name.clone())
    };
    json!({
        "default": "encrypted-any",
        "rules": policy.views,
        "breakout": policy.breakout.iter().map(|b| json!({
            "vrf": vrf_name(b.vrf),
            "port": port_name(b.port),
            "public_address": b.public,
            "nat_ports": format!("{}-{}", b.ports.0, b.ports.1),
        })).collect::<Vec<_>>(),
    })
}

fn merge(mut row: Value, extra: Value) -> Value {
    if let (Some(r), Value::Object(e)) = (row.as_object_mut(), extra) {
        r.extend(e);
    }
    row
}

pub fn wans(state: &EdgeState) -> Value {
    let totals = state.counters.totals();
    let status = state.overlay_status.load();
    let rows = status.wans.iter().map(|w| {
        let row = serde_json::to_value(w).unwrap_or(Value::Null);
        merge(row, guard_json(state, &totals, w.id))
    });
    Value::Array(rows.collect())
}

/// The guard columns of WAN `id`'s row (`null`s on a private port).
fn guard_json(state: &EdgeState, totals: &CounterTotals, id: u32) -> Value {
    let wan = state.cfg.overlay.as_ref().and_then(|o| o.wan_by_id(id));
    let Some((wan, guard)) = wan.and_then(|w| Some((w, w.guard.as_ref()?))) else {
        return json!({
            "rate_limit_pps": null, "rate_limit_burst": null, "allow": null,
            "guard_passed": null, "guard_rate_limited": null,
            "guard_filtered": null, "guard_transit": null,
        });
    };
    let c = totals
        .guard
        .get(usize::from(wan.port))
        .copied()
        .unwrap_or_default();
    let allow: Vec<String> = guard
        .allow
        .iter()
        .map(|r| {
            let p = match r.protocol {
                GuardProtocol::Tcp => "tcp",
                GuardProtocol::Udp => "udp",
            };
            format!("{p}/{} from {}/{}", r.port, r.from.addr, r.from.len)
        })
        .collect();
    json!({
        "rate_limit_pps": guard.rate_limit_pps,
        "rate_limit_burst": guard.rate_limit_burst,
        "allow": allow,
        "guard_passed": c.passed,
        "guard_rate_limited": c.rate_limited,
        "guard_filtered": c.filtered,
        "guard_transit": c.transit,
    })
}

/// The client VRFs as they apply now (topology, RTs, summaries).
pub fn vrfs(state: &EdgeState) -> Value {
    serde_json::to_value(&state.overlay_status.load().vrfs).unwrap_or(Value::Null)
}

pub fn tunnels(state: &EdgeState) -> Value {
    let status = state.overlay_status.load();
    let counters = state.overlay_counters.totals();
    Value::Array(
        status
            .tunnels
            .iter()
            .map(|t| {
                let c = t.spi_out.and_then(|spi| {
                    counters.tunnels.get(&TunnelKey {
                        local_port: t.local_port_index,
                        remote: t.remote_endpoint,
                        spi,
                    })
                });
                let v = serde_json::to_value(t).unwrap_or(Value::Null);
                merge(v, totals_json(c))
            })
            .collect(),
    )
}

pub fn sas(state: &EdgeState) -> Value {
    let status = state.overlay_status.load();
    let counters = state.overlay_counters.totals();
    Value::Array(
        status
            .sas
            .iter()
            .map(|s| {
                let c = match (s.direction, s.remote_endpoint) {
                    ("in", _) => counters.inbound.get(&InboundKey {
                        local_port: s.local_port_index,
                        spi: s.spi,
                    }),
                    (_, Some(remote)) => counters.tunnels.get(&TunnelKey {
                        local_port: s.local_port_index,
                        remote,
                        spi: s.spi,
                    }),
                    _ => None,
                };
                let v = serde_json::to_value(s).unwrap_or(Value::Null);
                merge(v, totals_json(c))
            })
            .collect(),
    )
}

pub fn overview(state: &EdgeState) -> Value {
    let s = state.overlay_status.load();
    json!({
        "enabled": state.cfg.overlay.is_some(),
        "mss_clamp": state.cfg.overlay.as_ref().and_then(|o| o.mss_clamp),
        "vrfs": s.vrfs,
        "node_id": s.node_id,
        "generation": s.generation,
        "wans": s.wans,
        "tunnels": s.tunnels.len(),
        "tunnels_up": s.tunnels_up(),
        "sas": s.sas.len(),
        "routes_per_vrf": s.routes_per_vrf,
        "errors": s.errors,
    })
}

/// `POST /api/reload`: the control thread re-reads the config file (like
/// SIGHUP); `GET /api/reload` shows what the last one did.
pub fn reload(state: &EdgeState, method: &str) -> Response {
    if method == "POST" {
        state
            .reload
            .store(true, std::sync::atomic::Ordering::Release);
        return Response::json(202, &json!({"reload": "queued"}));
    }
    let last = state
        .last_reload
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Response::json(200, &serde_json::to_value(last).unwrap_or(Value::Null))
}

/// `POST /api/wan?wan=ID&admin=down|up`: take a WAN port out of the
/// overlay (maintenance) or put it back; queued for the control thread.
pub fn wan_admin(state: &EdgeState, full_path: &str) -> Response {
    let Some(o) = &state.cfg.overlay else {
        return Response::error(409, "no overlay configured");
    };
    let q = bgp_view::query(full_path);
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let Some(id) = get("wan").and_then(|w| w.parse::<u32>().ok()) else {
        return Response::error(400, "missing or bad ?wan=ID (a [[wan]] id)");
    };
    if o.wan_by_id(id).is_none() {
        return Response::error(404, format!("no [[wan]] with id {id}"));
    }
    let up = match get("admin") {
        Some("up") => true,
        Some("down") => false,
        other => {
            return Response::error(400, format!("admin={other:?}: use admin=up or admin=down"))
        }
    };
    state
        .wan_requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, up));
    Response::json(
        202,
        &json!({"wan": id, "admin": if up { "up" } else { "down" }}),
    )
}

/// `POST /api/rekey?wan=ID`: queued for the control thread.
pub fn rekey(state: &EdgeState, full_path: &str) -> Response {
    let Some(o) = &state.cfg.overlay else {
        return Response::error(409, "no overlay configured");
    };
    let q = bgp_view::query(full_path);
    let Some((_, wan)) = q.iter().find(|(k, _)| k == "wan") else {
        return Response::error(400, "missing ?wan=ID (a [[wan]] id)");
    };
    let Ok(id) = wan.parse::<u32>() else {
        return Response::error(400, format!("wan {wan:?} is not a number"));
    };
    if o.wan_by_id(id).is_none() {
        return Response::error(404, format!("no [[wan]] with id {id}"));
    }
    state
        .rekey_requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(id);
    Response::json(202, &json!({"wan": id, "rekey": "queued"}))
}

/// `/api/bgp/...` of the edge's speaker.
pub fn bgp(state: &EdgeState, route: &str, full_path: &str) -> Response {
    let Some(speaker) = state.speaker.get() else {
        return Response::error(409, "no BGP speaker: the overlay is not configured");
    };
    let r = match route {
        "/api/bgp/summary" => bgp_view::summary(speaker),
        "/api/bgp/neighbors" => Ok(bgp_view::neighbors(speaker)),
        _ => {
            // The VRFs as they apply now (a reload may have changed them).
            let status = state.overlay_status.load();
            let imports = |name: &str| {
                status
                    .vrfs
                    .iter()
                    .find(|v| v.name == name)
                    .map(|v| v.import.clone())
            };
            bgp_view::routes_in(speaker, full_path, Some(&imports))
        }
    };
    r.map_or_else(|e| e, |v| Response::json(200, &v))
}

/// The overlay's Prometheus series (registered even without an overlay,
/// so dashboards see zeros rather than gaps).
pub fn register_metrics(m: &mut Metrics) {
    crate::mgmt::bgp_metrics::BgpMetrics::register(m);
    let t = &["local_port", "remote_node", "remote_endpoint"];
    m.gauge(
        "sdwan_tunnel_up",
        "1 when the tunnel has an outbound SA in the workers' snapshot",
        t,
    );
    m.counter(
        "sdwan_tunnel_tx_packets_total",
        "Packets encrypted into the tunnel",
        t,
    );
    m.counter(
        "sdwan_tunnel_tx_bytes_total",
        "Inner bytes encrypted into the tunnel",
        t,
    );
    m.counter(
        "sdwan_tunnel_native_tx_packets_total",
        "Client packets sent unencrypted over the (private) tunnel",
        t,
    );
    m.counter(
        "sdwan_tunnel_drops_total",
        "Packets dropped after the tunnel was chosen",
        t,
    );
    let sa = &["local_port", "spi"];
    m.counter(
        "sdwan_sa_rx_packets_total",
        "Packets decrypted and accepted, per inbound SA",
        sa,
    );
    m.counter(
        "sdwan_sa_rx_drops_total",
        "ESP drops per inbound SA (replay, ICV, ...)",
        sa,
    );
    m.gauge(
        "sdwan_overlay_routes",
        "Remote client routes installed, per VRF",
        &["vrf"],
    );
    m.gauge(
        "sdwan_overlay_generation",
        "Generation of the overlay snapshot",
        &[],
    );
    m.counter(
        "sdwan_overlay_errors_total",
        "Refused overlay input by reason",
        &["reason"],
    );
    m.counter(
        "sdwan_wan_guard_packets_total",
        "Internet WAN port guard: packets its per-source rate limiter passed (passed) or dropped (rate_limited), then dropped as not admitted (filtered) or not for us (transit)",
        &["port", "result"],
    );
    m.counter(
        "sdwan_config_reloads_total",
        "Config reloads by result (applied, unchanged, refused)",
        &["result"],
    );
}

pub fn refresh_metrics(state: &EdgeState, m: &Metrics) {
    if let Some(speaker) = state.speaker.get() {
        state.bgp_metrics.refresh(speaker, m);
    }
    let status = state.overlay_status.load();
    let counters = state.overlay_counters.totals();
    for t in &status.tunnels {
        let remote_node = t.remote_node.to_string();
        let endpoint = t.remote_endpoint.to_string();
        let l = [
            t.local_port.as_str(),
            remote_node.as_str(),
            endpoint.as_str(),
        ];
        m.set_gauge("sdwan_tunnel_up", &l, i64::from(t.state == "up"));
        // A rekey starts a new SA: sum every SA of the pair still counted.
        let (mut pk, mut by, mut dr, mut native) = (0, 0, 0, 0);
        for (k, c) in &counters.tunnels {
            if k.local_port == t.local_port_index && k.remote == t.remote_endpoint {
                pk += c.packets;
                by += c.bytes;
                dr += c.drop_total();
                native += c.native_packets;
            }
        }
        m.set_total("sdwan_tunnel_native_tx_packets_total", &l, native);
        m.set_total("sdwan_tunnel_tx_packets_total", &l, pk);
        m.set_total("sdwan_tunnel_tx_bytes_total", &l, by);
        m.set_total("sdwan_tunnel_drops_total", &l, dr);
    }
    for s in status.sas.iter().filter(|s| s.direction == "in") {
        let spi = format!("{:#010x}", s.spi);
        let l = [s.local_port.as_str(), spi.as_str()];
        let c = counters.inbound.get(&InboundKey {
            local_port: s.local_port_index,
            spi: s.spi,
        });
        m.set_total("sdwan_sa_rx_packets_total", &l, c.map_or(0, |c| c.packets));
        m.set_total(
            "sdwan_sa_rx_drops_total",
            &l,
            c.map_or(0, SaTotals::drop_total),
        );
    }
    for (vrf, n) in &status.routes_per_vrf {
        m.set_gauge("sdwan_overlay_routes", &[vrf.as_str()], *n as i64);
    }
    m.set_gauge("sdwan_overlay_generation", &[], status.generation as i64);
    let totals = state.counters.totals();
    for w in state.cfg.overlay.iter().flat_map(|o| &o.wans) {
        if w.guard.is_none() {
            continue;
        }
        let c = totals
            .guard
            .get(usize::from(w.port))
            .copied()
            .unwrap_or_default();
        for (result, n) in [
            ("passed", c.passed),
            ("rate_limited", c.rate_limited),
            ("filtered", c.filtered),
            ("transit", c.transit),
        ] {
            m.set_total(
                "sdwan_wan_guard_packets_total",
                &[w.port_name.as_str(), result],
                n,
            );
        }
    }
    for (reason, n) in &status.errors {
        m.set_total("sdwan_overlay_errors_total", &[reason.as_str()], *n);
    }
}
