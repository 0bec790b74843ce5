//! The controller's management API.
//!
//! GET /api/health
//! GET /api/bgp/summary     speaker identity, Loc-RIB size, one row a peer
//! GET /api/bgp/neighbors   peers with negotiated families and counters
//! GET /api/bgp/routes?family=vpnv4&rd=65000:1   Loc-RIB best paths
//! GET /metrics
use crate::metrics::Metrics;
use crate::mgmt::bgp_metrics::BgpMetrics;
use crate::mgmt::bgp_view;
use crate::mgmt::server::{Handler, Response};
use sdwan_bgp::speaker::Speaker;
use serde_json::{json, Value};
use std::sync::Arc;

pub struct ControllerApi {
    speaker: Arc<Speaker>,
    metrics: Arc<Metrics>,
    provision: Option<Arc<super::provision::Provision>>,
    bgp_metrics: BgpMetrics,
}

/// Registers the route reflector's metrics on `m`.
pub fn register_metrics(m: &mut Metrics) {
    BgpMetrics::register(m);
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
            bgp_metrics: BgpMetrics::default(),
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
        self.bgp_metrics.refresh(&self.speaker, &self.metrics);
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
