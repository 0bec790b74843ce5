//! The overlay part of the edge's management API:
//!
//! GET  /api/tunnels        one row per (local WAN port, remote WAN port):
//!                          state, SPIs, packets / bytes / drops out
//! GET  /api/sa             every SA, both directions, with its counters
//! GET  /api/overlay        resolver errors, routes per VRF, generation
//! POST /api/rekey?wan=ID   new key pair for a local WAN port (every pair
//!                          on it rekeys make-before-break)
//! GET  /api/bgp/summary | neighbors | routes   the edge's own speaker
//!
//! The rows come from the control thread's last [`OverlayStatus`] joined
//! with the workers' published counters.
use super::state::EdgeState;
use crate::mgmt::bgp_view;
use crate::mgmt::server::Response;
use sdwan_dataplane::overlay::{InboundKey, SaTotals, TunnelKey};
use serde_json::{json, Value};

fn totals_json(t: Option<&SaTotals>) -> Value {
    let t = t.cloned().unwrap_or_default();
    json!({
        "packets": t.packets,
        "bytes": t.bytes,
        "drops": t.drop_total(),
        "drop_reasons": t.drops,
    })
}

fn merge(mut row: Value, extra: Value) -> Value {
    if let (Some(r), Value::Object(e)) = (row.as_object_mut(), extra) {
        r.extend(e);
    }
    row
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
    let vrfs: Vec<Value> = state
        .cfg
        .overlay
        .iter()
        .flat_map(|o| &o.vrfs)
        .map(|v| {
            json!({
                "name": v.name, "rd": v.rd.to_string(), "label": v.label,
                "encap": v.encap.as_str(), "color": v.color,
                "import": v.import,
                "export": v.export,
            })
        })
        .collect();
    json!({
        "enabled": state.cfg.overlay.is_some(),
        "mss_clamp": state.cfg.overlay.as_ref().and_then(|o| o.mss_clamp),
        "vrfs": vrfs,
        "node_id": s.node_id,
        "generation": s.generation,
        "tunnels": s.tunnels.len(),
        "tunnels_up": s.tunnels_up(),
        "sas": s.sas.len(),
        "routes_per_vrf": s.routes_per_vrf,
        "errors": s.errors,
    })
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
        _ => bgp_view::routes(speaker, full_path),
    };
    r.map_or_else(|e| e, |v| Response::json(200, &v))
}
