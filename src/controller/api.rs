//! The controller's management API.
//!
//! GET /api/health
//! GET /api/bgp/summary     speaker identity, Loc-RIB size, one row a peer
//! GET /api/bgp/neighbors   peers with negotiated families and counters
//! GET /api/bgp/routes?family=vpnv4&rd=65000:1   Loc-RIB best paths
//! GET /metrics
use crate::metrics::Metrics;
use crate::mgmt::server::{Handler, Response};
use sdwan_bgp::router::status::PeerSummary;
use sdwan_bgp::speaker::Speaker;
use serde_json::{json, Value};
use std::sync::Arc;

pub struct ControllerApi {
    speaker: Arc<Speaker>,
    metrics: Metrics,
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// One peer as a flat row (what `show bgp summary` prints).
fn peer_row(p: &PeerSummary) -> Value {
    json!({
        "neighbor": p.address.to_string(),
        "port": p.port,
        "remote_as": p.remote_as,
        "peer_group": p.peer_group,
        "state": to_json(&p.state),
        "uptime_secs": p.uptime_secs,
        "families": to_json(&p.negotiated_families),
        "prefixes_received": p.counters.prefixes_received,
        "prefixes_accepted": p.counters.accepted,
        "prefixes_advertised": p.counters.prefixes_advertised,
        "updates_received": p.counters.updates_received,
        "updates_sent": p.counters.updates_sent,
        "errors": to_json(&p.counters.errors),
        "last_down_reason": p.counters.last_down_reason,
    })
}

/// `?a=b&c=d` into pairs.
fn query(path: &str) -> Vec<(String, String)> {
    path.split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%3a", ":")))
                .collect()
        })
        .unwrap_or_default()
}

impl ControllerApi {
    pub fn new(speaker: Arc<Speaker>) -> ControllerApi {
        let mut m = Metrics::new();
        m.gauge(
            "sdwan_bgp_peer_established",
            "1 when the session is Established",
            &["peer"],
        );
        m.gauge(
            "sdwan_bgp_prefixes_received",
            "Prefixes received from the peer",
            &["peer"],
        );
        m.gauge(
            "sdwan_bgp_prefixes_accepted",
            "Prefixes accepted into Adj-RIB-In",
            &["peer"],
        );
        m.gauge(
            "sdwan_bgp_prefixes_advertised",
            "Prefixes advertised to the peer",
            &["peer"],
        );
        m.counter(
            "sdwan_bgp_updates_received_total",
            "UPDATE messages received",
            &["peer"],
        );
        m.counter(
            "sdwan_bgp_updates_sent_total",
            "UPDATE messages sent",
            &["peer"],
        );
        m.counter(
            "sdwan_bgp_errors_total",
            "Malformed input by RFC 7606 reason",
            &["peer", "reason"],
        );
        m.gauge("sdwan_bgp_loc_rib_routes", "Routes in the Loc-RIB", &[]);
        m.counter(
            "sdwan_api_requests_total",
            "Management API requests, by HTTP status",
            &["code"],
        );
        ControllerApi {
            speaker,
            metrics: m,
        }
    }

    fn summary(&self) -> Result<Value, Response> {
        let c = self
            .speaker
            .counters()
            .ok_or_else(|| Response::error(503, "BGP speaker not running"))?;
        Ok(json!({
            "router_id": c.router_id.to_string(),
            "asn": c.asn,
            "loc_rib_routes": c.loc_rib_routes,
            "loc_rib_by_family": to_json(&c.loc_rib_by_family),
            "peers": c.peers.iter().map(peer_row).collect::<Vec<_>>(),
        }))
    }

    fn routes(&self, path: &str) -> Result<Value, Response> {
        let q = query(path);
        let want = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let family = want("family");
        let rd = want("rd");
        if let Some(k) = q.iter().find(|(k, _)| k != "family" && k != "rd") {
            return Err(Response::error(
                400,
                format!("unknown filter {:?} (family, rd)", k.0),
            ));
        }
        let mut rows: Vec<(String, Value)> = self
            .speaker
            .snapshot()
            .into_iter()
            .filter(|(k, _)| family.is_none_or(|f| to_json(&k.family()) == f))
            .filter(|(k, _)| rd.is_none_or(|r| k.rd().map(|x| x.to_string()).as_deref() == Some(r)))
            .map(|(k, p)| {
                let a = &p.attrs;
                let v = json!({
                    "family": to_json(&k.family()),
                    "route": k.to_string(),
                    "rd": k.rd().map(|r| r.to_string()),
                    "next_hop": p.next_hop.to_string(),
                    // Path::label is the raw 3-byte field (label, TC, S).
                    "label": p.label.map(|l| l >> 4),
                    "source": to_json(&p.source),
                    "peer": p.peer_addr.to_string(),
                    "local_pref": a.local_pref,
                    "med": a.med,
                    "ext_communities": a.ext_communities.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                    "originator_id": a.originator_id.map(|o| o.to_string()),
                    "cluster_list": a.cluster_list.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                });
                (k.to_string(), v)
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Value::Array(rows.into_iter().map(|r| r.1).collect()))
    }

    fn refresh_metrics(&self) {
        let Some(c) = self.speaker.counters() else {
            return;
        };
        let m = &self.metrics;
        for p in &c.peers {
            let peer = p.address.to_string();
            let l = [peer.as_str()];
            let up = to_json(&p.state)
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("established"));
            m.set_gauge("sdwan_bgp_peer_established", &l, up as i64);
            m.set_gauge(
                "sdwan_bgp_prefixes_received",
                &l,
                p.counters.prefixes_received as i64,
            );
            m.set_gauge(
                "sdwan_bgp_prefixes_accepted",
                &l,
                p.counters.accepted as i64,
            );
            m.set_gauge(
                "sdwan_bgp_prefixes_advertised",
                &l,
                p.counters.prefixes_advertised as i64,
            );
            m.set_total(
                "sdwan_bgp_updates_received_total",
                &l,
                p.counters.updates_received,
            );
            m.set_total("sdwan_bgp_updates_sent_total", &l, p.counters.updates_sent);
            for (reason, n) in &p.counters.errors {
                m.set_total("sdwan_bgp_errors_total", &[&peer, reason], *n);
            }
        }
        m.set_gauge("sdwan_bgp_loc_rib_routes", &[], c.loc_rib_routes as i64);
    }
}

impl Handler for ControllerApi {
    fn handle(&self, method: &str, path: &str, _body: &[u8]) -> Response {
        let route = path.split('?').next().unwrap_or(path);
        let resp = match (method, route) {
            ("GET", "/api/health") => Response::json(200, &json!({"status": "ok"})),
            ("GET", "/api/bgp/summary") => self
                .summary()
                .map_or_else(|e| e, |v| Response::json(200, &v)),
            ("GET", "/api/bgp/neighbors") => Response::json(
                200,
                &Value::Array(
                    self.speaker
                        .peers()
                        .iter()
                        .map(|p| {
                            let mut row = peer_row(p);
                            row["detail"] = to_json(p);
                            row
                        })
                        .collect(),
                ),
            ),
            ("GET", "/api/bgp/routes") => self
                .routes(path)
                .map_or_else(|e| e, |v| Response::json(200, &v)),
            ("GET", "/metrics") => {
                self.refresh_metrics();
                Response::text(200, self.metrics.render())
            }
            (
                _,
                "/api/health" | "/api/bgp/summary" | "/api/bgp/neighbors" | "/api/bgp/routes"
                | "/metrics",
            ) => Response::error(405, format!("{method} not allowed on {route}")),
            _ => Response::error(404, format!("no such endpoint {route}")),
        };
        self.metrics
            .inc("sdwan_api_requests_total", &[&resp.status.to_string()]);
        resp
    }
}
