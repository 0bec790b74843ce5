//! The controller's management API.
//!
//! GET /api/health
//! GET /api/bgp/summary     speaker identity, Loc-RIB size, one row a peer
//! GET /api/bgp/neighbors   peers with negotiated families and counters
//! GET /api/bgp/routes?family=vpnv4&rd=65000:1   Loc-RIB best paths
//! GET /metrics
use crate::metrics::Metrics;
use crate::mgmt::bgp_view::{self, to_json};
use crate::mgmt::server::{Handler, Response};
use sdwan_bgp::speaker::Speaker;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

pub struct ControllerApi {
    speaker: Arc<Speaker>,
    metrics: Arc<Metrics>,
    provision: Option<Arc<super::provision::Provision>>,
    /// Peers in the last metrics refresh: one removed since (a revoked
    /// device) has its gauges set to 0 rather than frozen.
    exported_peers: Mutex<BTreeSet<String>>,
}

/// Registers the route reflector's metrics on `m`.
pub fn register_metrics(m: &mut Metrics) {
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
}

impl ControllerApi {
    pub fn new(
        speaker: Arc<Speaker>,
        metrics: Arc<Metrics>,
        provision: Option<Arc<super::provision::Provision>>,
    ) -> ControllerApi {
        ControllerApi {
            speaker,
            metrics,
            provision,
            exported_peers: Mutex::new(BTreeSet::new()),
        }
    }

    fn summary(&self) -> Result<Value, Response> {
        bgp_view::summary(&self.speaker)
    }

    fn routes(&self, path: &str) -> Result<Value, Response> {
        bgp_view::routes(&self.speaker, path)
    }

    fn refresh_metrics(&self) {
        if let Some(p) = &self.provision {
            p.refresh_metrics();
        }
        let Some(c) = self.speaker.counters() else {
            return;
        };
        let m = &self.metrics;
        let now: BTreeSet<String> = c.peers.iter().map(|p| p.address.to_string()).collect();
        let mut exported = self
            .exported_peers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for gone in exported.difference(&now) {
            for g in [
                "sdwan_bgp_peer_established",
                "sdwan_bgp_prefixes_received",
                "sdwan_bgp_prefixes_accepted",
                "sdwan_bgp_prefixes_advertised",
            ] {
                m.set_gauge(g, &[gone.as_str()], 0);
            }
        }
        *exported = now;
        drop(exported);
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
            ("GET", "/api/bgp/neighbors") => {
                Response::json(200, &bgp_view::neighbors(&self.speaker))
            }
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
