//! The edge's management API: `show` views as JSON, route changes, and the
//! Prometheus `/metrics` text.
//!
//! GET  /api/health | interfaces | routes[?vrf=NAME] | neighbors | drops | workers
//! GET  /api/tunnels | sa | overlay | bgp/*, POST /api/rekey (`api_overlay`)
//! POST /api/routes   `[{"op":"add","vrf":"default","prefix":"10.0.0.0/8",
//!                      "via":"10.1.0.2"}, {"op":"del",...}]` (one batch,
//!                      one new FIB snapshot; all-or-nothing validation)
//! GET  /metrics
use super::api_overlay;
use super::ports::fmt_mac;
use super::state::{fib_next_hop, EdgeState};
use crate::config::route_next_hop;
use crate::metrics::Metrics;
use crate::mgmt::server::{Handler, Response};
use ipnet::IpNet;
use sdwan_dataplane::counters::Event;
use sdwan_dataplane::drop_reason::DropReason;
use sdwan_dataplane::fib::{NextHop, RouteChange};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::sync::Arc;

pub struct EdgeApi {
    state: Arc<EdgeState>,
}

pub fn edge_metrics() -> Metrics {
    let mut m = Metrics::new();
    api_overlay::register_metrics(&mut m);
    for (name, help) in [
        (
            "sdwan_port_rx_packets_total",
            "Packets received by the workers, per port",
        ),
        (
            "sdwan_port_rx_bytes_total",
            "Bytes received by the workers, per port",
        ),
        (
            "sdwan_port_tx_packets_total",
            "Packets accepted by the tx queues, per port",
        ),
        (
            "sdwan_port_tx_bytes_total",
            "Bytes accepted by the tx queues, per port",
        ),
        (
            "sdwan_port_rx_missed_total",
            "Packets the NIC/PMD dropped for lack of rx descriptors",
        ),
        (
            "sdwan_port_rx_nombuf_total",
            "Receive failures for lack of mbufs",
        ),
    ] {
        m.counter(name, help, &["port"]);
    }
    m.gauge(
        "sdwan_port_link_up",
        "1 when the port's link is up",
        &["port"],
    );
    m.counter(
        "sdwan_drops_total",
        "Packets dropped, by reason",
        &["reason"],
    );
    m.counter(
        "sdwan_events_total",
        "Dataplane events (forwarded, replies, ICMP), by kind",
        &["event"],
    );
    m.counter(
        "sdwan_worker_polls_total",
        "Rx polls per worker",
        &["worker"],
    );
    m.counter(
        "sdwan_worker_idle_sleeps_total",
        "Times a worker backed off to sleep",
        &["worker"],
    );
    m.ratio(
        "sdwan_worker_busy_ratio",
        "Share of time a worker was awake (polling or working)",
        &["worker"],
    );
    m.gauge(
        "sdwan_fib_routes",
        "Routes in the FIB snapshot the workers use",
        &[],
    );
    m.gauge(
        "sdwan_fib_generation",
        "Generation of the FIB snapshot the workers use",
        &[],
    );
    m.gauge("sdwan_neighbors", "Entries in the neighbor table", &[]);
    m.counter(
        "sdwan_api_requests_total",
        "Management API requests, by HTTP status",
        &["code"],
    );
    m
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteOpJson {
    op: String,
    #[serde(default)]
    vrf: Option<String>,
    prefix: String,
    #[serde(default)]
    via: Option<String>,
    #[serde(default)]
    port: Option<String>,
    #[serde(default)]
    blackhole: bool,
}

fn next_hop_text(state: &EdgeState, nh: &NextHop) -> String {
    let port_name = |p: u16| {
        state
            .cfg
            .ports
            .get(p as usize)
            .map_or("?", |x| x.name.as_str())
            .to_string()
    };
    match nh {
        NextHop::Local => "local".into(),
        NextHop::Connected { port } => format!("connected {}", port_name(*port)),
        NextHop::Gateway { port, via } => format!("via {via} dev {}", port_name(*port)),
        NextHop::Blackhole => "blackhole".into(),
        NextHop::Overlay { path } => format!("overlay path {path}"),
    }
}

impl EdgeApi {
    pub fn new(state: Arc<EdgeState>) -> EdgeApi {
        EdgeApi { state }
    }

    fn interfaces(&self) -> Value {
        let totals = self.state.counters.totals();
        let rows: Vec<Value> = self
            .state
            .cfg
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                // A sub-interface shows its parent's link and MAC; the
                // hardware counters exist for the physical port only.
                let wire = self.state.cfg.wire_port(i);
                let port = &self.state.ports[wire];
                let link = port.link();
                let c = totals.ports.get(i).copied().unwrap_or_default();
                let mut row = json!({
                    "name": p.name, "device": p.device, "dpdk_port": port.id(), "vrf": p.vrf_name,
                    "mac": fmt_mac(self.state.macs[wire]),
                    "link": if link.up { "up" } else { "down" }, "speed_mbps": link.speed_mbps,
                    "addresses": p.addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                    "rx_queues": p.queues,
                    "rx_packets": c.rx_packets, "rx_bytes": c.rx_bytes,
                    "tx_packets": c.tx_packets, "tx_bytes": c.tx_bytes,
                });
                match p.vlan {
                    None => {
                        let hw = port.stats();
                        row["hw_rx_missed"] = hw.imissed.into();
                        row["hw_rx_nombuf"] = hw.rx_nombuf.into();
                        row["hw_rx_errors"] = hw.ierrors.into();
                        row["hw_tx_errors"] = hw.oerrors.into();
                    }
                    Some(v) => {
                        let parent = &self.state.cfg.ports[usize::from(v.parent)].name;
                        row["device"] = format!("{parent} vlan {}", v.id).into();
                        row["parent"] = parent.as_str().into();
                        row["vlan"] = v.id.into();
                    }
                }
                row
            })
            .collect();
        Value::Array(rows)
    }

    fn routes(&self, full_path: &str) -> Result<Value, Response> {
        let q = crate::mgmt::bgp_view::query(full_path);
        let mut vrf_filter = None;
        for (k, v) in &q {
            match k.as_str() {
                "vrf" => {
                    let id = self
                        .state
                        .vrf_id(v)
                        .ok_or_else(|| Response::error(404, format!("unknown VRF {v:?}")))?;
                    vrf_filter = Some(id);
                }
                other => {
                    return Err(Response::error(
                        400,
                        format!("unknown filter {other:?} (vrf)"),
                    ))
                }
            }
        }
        let fib = self.state.fib.load_full();
        let status = self.state.overlay_status.load();
        let mut rows: Vec<(u16, IpAddr, u8, Value)> = fib
            .routes()
            .filter(|r| vrf_filter.is_none_or(|v| v == r.vrf))
            .map(|r| {
                let vrf = self.state.cfg.vrf_name(r.vrf);
                let prefix = format!("{}/{}", r.prefix, r.len);
                let mut v = json!({
                    "vrf": vrf,
                    "prefix": prefix,
                    "next_hop": next_hop_text(&self.state, &r.next_hop),
                    "generation": fib.generation(),
                });
                if let NextHop::Overlay { path } = r.next_hop {
                    if let Some(o) = status
                        .routes
                        .iter()
                        .find(|o| o.path == path && o.prefix == prefix && o.vrf == vrf)
                    {
                        v["next_hop"] = json!(format!(
                            "overlay {} ({} tunnel{})",
                            o.remote_node,
                            o.tunnels,
                            if o.tunnels == 1 { "" } else { "s" }
                        ));
                        v["remote_node"] = json!(o.remote_node);
                        v["rd"] = json!(o.rd);
                        v["label"] = json!(o.label);
                        v["inner"] = json!(o.inner);
                        v["colors"] = json!(o.colors);
                        v["tunnels"] = json!(o.tunnels);
                    }
                }
                (r.vrf, r.prefix, r.len, v)
            })
            .collect();
        rows.sort_by_key(|r| (r.0, r.1.is_ipv6(), r.1, r.2));
        Ok(Value::Array(rows.into_iter().map(|r| r.3).collect()))
    }

    fn neighbors(&self) -> Value {
        let table = self.state.neighbors.load();
        let mut rows: Vec<((u16, IpAddr), Value)> = table
            .iter()
            .map(|((port, ip), e)| {
                let v = json!({
                    "port": self.state.cfg.ports.get(port as usize).map_or("?", |p| p.name.as_str()),
                    "ip": ip.to_string(),
                    "mac": e.mac.map(|m| fmt_mac(m.0)),
                    "state": format!("{:?}", e.state).to_lowercase(),
                });
                ((port, ip), v)
            })
            .collect();
        rows.sort_by_key(|r| r.0);
        Value::Array(rows.into_iter().map(|r| r.1).collect())
    }

    fn drops(&self) -> Value {
        let t = self.state.counters.totals();
        Value::Array(
            DropReason::ALL
                .iter()
                .map(|r| json!({ "reason": r.as_str(), "packets": t.drop_count(*r) }))
                .filter(|v| v["packets"] != 0)
                .collect(),
        )
    }

    fn workers(&self) -> Value {
        let ws = self.state.workers.lock().unwrap_or_else(|e| e.into_inner());
        Value::Array(
            ws.iter()
                .map(|w| {
                    let s = w.stats.snapshot();
                    json!({
                        "id": w.id, "core": w.core,
                        "queues": w.queues.iter().map(|(p, q)| format!(
                            "{}/{q}", self.state.cfg.ports.get(*p as usize).map_or("?", |x| x.name.as_str())
                        )).collect::<Vec<_>>(),
                        "rx_packets": s.rx_packets, "polls": s.polls,
                        "idle_sleeps": s.sleeps, "busy_ratio": s.busy_ratio(),
                    })
                })
                .collect(),
        )
    }

    fn parse_route_op(&self, i: usize, op: &RouteOpJson) -> Result<RouteChange, String> {
        let at = |m: String| format!("change #{i}: {m}");
        let vrf_name = op.vrf.as_deref().unwrap_or("default");
        let vrf = self
            .state
            .vrf_id(vrf_name)
            .ok_or_else(|| at(format!("unknown VRF {vrf_name:?}")))?;
        let prefix: IpNet = op
            .prefix
            .parse()
            .map_err(|_| at(format!("prefix {:?} is not ADDR/LEN", op.prefix)))?;
        let prefix = prefix.trunc();
        match op.op.as_str() {
            "del" => Ok(RouteChange::Remove {
                vrf,
                prefix: prefix.addr(),
                len: prefix.prefix_len(),
            }),
            "add" => {
                let via: Option<IpAddr> = match &op.via {
                    None => None,
                    Some(v) => Some(
                        v.parse()
                            .map_err(|_| at(format!("via {v:?} is not an IP address")))?,
                    ),
                };
                let port = match &op.port {
                    None => None,
                    Some(p) => Some(self.state.port_of(p).map_err(|e| at(e.to_string()))?),
                };
                let nh =
                    route_next_hop(&self.state.cfg.ports, vrf, prefix, via, port, op.blackhole)
                        .map_err(|(f, m)| at(format!("{f}: {m}")))?;
                Ok(RouteChange::Add {
                    vrf,
                    prefix: prefix.addr(),
                    len: prefix.prefix_len(),
                    next_hop: fib_next_hop(nh),
                })
            }
            other => Err(at(format!("op {other:?} is neither \"add\" nor \"del\""))),
        }
    }

    fn post_routes(&self, body: &[u8]) -> Response {
        let ops: Vec<RouteOpJson> = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return Response::error(400, format!("body: {e}")),
        };
        let mut changes = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match self.parse_route_op(i, op) {
                Ok(c) => changes.push(c),
                Err(m) => return Response::error(400, m),
            }
        }
        let report = self.state.apply_routes(changes);
        self.state
            .routes_version
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let status = if report.rejected.is_empty() { 200 } else { 422 };
        Response::json(
            status,
            &json!({
                "generation": report.generation, "added": report.added, "replaced": report.replaced,
                "removed": report.removed, "not_found": report.not_found,
                "rejected": report.rejected.iter().map(|(i, e)| json!({"change": i, "error": e.to_string()})).collect::<Vec<_>>(),
            }),
        )
    }

    pub fn refresh_metrics(&self) {
        let s = &self.state;
        let m = &s.metrics;
        let t = s.counters.totals();
        for (i, p) in s.cfg.ports.iter().enumerate() {
            let c = t.ports.get(i).copied().unwrap_or_default();
            let l = [p.name.as_str()];
            m.set_total("sdwan_port_rx_packets_total", &l, c.rx_packets);
            m.set_total("sdwan_port_rx_bytes_total", &l, c.rx_bytes);
            m.set_total("sdwan_port_tx_packets_total", &l, c.tx_packets);
            m.set_total("sdwan_port_tx_bytes_total", &l, c.tx_bytes);
            let wire = &s.ports[s.cfg.wire_port(i)];
            if p.vlan.is_none() {
                let hw = wire.stats();
                m.set_total("sdwan_port_rx_missed_total", &l, hw.imissed);
                m.set_total("sdwan_port_rx_nombuf_total", &l, hw.rx_nombuf);
            }
            m.set_gauge("sdwan_port_link_up", &l, wire.link().up as i64);
        }
        for r in DropReason::ALL {
            m.set_total("sdwan_drops_total", &[r.as_str()], t.drop_count(r));
        }
        for e in Event::ALL {
            m.set_total("sdwan_events_total", &[e.as_str()], t.event_count(e));
        }
        for w in s.workers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let snap = w.stats.snapshot();
            let id = w.id.to_string();
            m.set_total("sdwan_worker_polls_total", &[&id], snap.polls);
            m.set_total("sdwan_worker_idle_sleeps_total", &[&id], snap.sleeps);
            m.set_ratio("sdwan_worker_busy_ratio", &[&id], snap.busy_ratio());
        }
        let fib = s.fib.load_full();
        m.set_gauge("sdwan_fib_routes", &[], fib.route_count() as i64);
        m.set_gauge("sdwan_fib_generation", &[], fib.generation() as i64);
        m.set_gauge("sdwan_neighbors", &[], s.neighbors.load().len() as i64);
        api_overlay::refresh_metrics(s, m);
    }
}

impl Handler for EdgeApi {
    fn handle(&self, method: &str, full_path: &str, body: &[u8]) -> Response {
        let path = full_path.split('?').next().unwrap_or(full_path);
        let st = &*self.state;
        let resp = match (method, path) {
            ("GET", "/api/health") => Response::json(200, &json!({"status": "ok"})),
            ("GET", "/api/interfaces") => Response::json(200, &self.interfaces()),
            ("GET", "/api/routes") => self
                .routes(full_path)
                .map_or_else(|e| e, |v| Response::json(200, &v)),
            ("GET", "/api/tunnels") => Response::json(200, &api_overlay::tunnels(st)),
            ("GET", "/api/wans") => Response::json(200, &api_overlay::wans(st)),
            ("GET", "/api/vrfs") => Response::json(200, &api_overlay::vrfs(st)),
            ("GET", "/api/sa") => Response::json(200, &api_overlay::sas(st)),
            ("GET", "/api/overlay") => Response::json(200, &api_overlay::overview(st)),
            ("GET", "/api/policies") => Response::json(200, &api_overlay::policies(st)),
            ("POST", "/api/rekey") => api_overlay::rekey(st, full_path),
            ("POST", "/api/wan") => api_overlay::wan_admin(st, full_path),
            ("GET" | "POST", "/api/reload") => api_overlay::reload(st, method),
            ("GET", "/api/bgp/summary" | "/api/bgp/neighbors" | "/api/bgp/routes") => {
                api_overlay::bgp(st, path, full_path)
            }
            ("GET", "/api/neighbors") => Response::json(200, &self.neighbors()),
            ("GET", "/api/drops") => Response::json(200, &self.drops()),
            ("GET", "/api/workers") => Response::json(200, &self.workers()),
            ("POST", "/api/routes") => self.post_routes(body),
            ("GET", "/metrics") => {
                self.refresh_metrics();
                Response::text(200, self.state.metrics.render())
            }
            (
                _,
                "/api/health" | "/api/interfaces" | "/api/routes" | "/api/neighbors" | "/api/drops"
                | "/api/workers" | "/api/tunnels" | "/api/wans" | "/api/vrfs" | "/api/sa"
                | "/api/overlay" | "/api/policies" | "/api/rekey" | "/api/reload" | "/api/wan"
                | "/api/bgp/summary" | "/api/bgp/neighbors" | "/api/bgp/routes" | "/metrics",
            ) => Response::error(405, format!("{method} not allowed on {path}")),
            _ => Response::error(404, format!("no such endpoint {path}")),
        };
        self.state
            .metrics
            .inc("sdwan_api_requests_total", &[&resp.status.to_string()]);
        resp
    }
}
