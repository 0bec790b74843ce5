//! The provisioning service (draft §3.1.4 zero-touch provisioning): the
//! operator's HTTPS API over the device registry, device enrollment, and
//! config delivery to enrolled edges by long poll.
//!
//! Routes (JSON):
//!   POST /api/v1/enroll                   edge, no credentials: serial + CSR + nonce
//!   GET  /api/v1/config?version=N&wait=S  edge, client certificate (mTLS)
//!   GET|POST /api/v1/devices              operator token (POST: admin)
//!   GET|POST /api/v1/devices/{serial}     show / update
//!   POST /api/v1/devices/{serial}/revoke
//!   GET  /api/v1/devices/{serial}/config  rendered config (admin: holds the MD5 key)
//!   GET|POST /api/v1/tenants, /api/v1/sites
//!   GET  /api/v1/policies                 every tenant's flow rules
//!   GET|POST /api/v1/tenants/{t}/policies, DELETE .../policies/{name},
//!   POST .../policies/{name}/move         a tenant's rules (tenants.rs)
//!   POST /api/v1/tokens                   new API token (shown once)
//!   GET  /api/v1/sessions                 route reflector sessions by device
//!
//! Operator requests carry `Authorization: Bearer TOKEN`; only the token's
//! SHA-256 is stored. Refusals (401 / 403) change nothing and are counted
//! in `sdwan_controller_api_refusals_total{reason}`.

mod devices;
mod enroll;
mod tenant_check;
mod tenants;

use super::https::{Reply, Request, Service};
use super::registry::model::{Device, DeviceState, Scope, Tenant};
use super::registry::{self, Registry};
use super::render::{self, RouteReflector};
use super::rr_peers::{registry_peers, RrPeers};
use super::tls::{sha256_hex, Pki};
use crate::metrics::Metrics;
use sdwan_bgp::speaker::Speaker;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// `[provisioning]` of the controller file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningConfig {
    /// HTTPS API address (`127.0.0.1:8443`).
    pub listen: SocketAddr,
    /// CA, server certificate and registry live here.
    pub state_dir: PathBuf,
    /// Registry file; relative paths are under `state_dir`.
    #[serde(default = "default_database")]
    pub database: PathBuf,
    /// Names / addresses in the server certificate; default: the listen
    /// address and `localhost`.
    #[serde(default)]
    pub server_names: Vec<String>,
    /// Bootstrap admin token. Absent and no token in the registry: one is
    /// generated and printed once at first start.
    #[serde(default)]
    pub admin_token: Option<String>,
    /// Node ids (loopbacks) are allocated from this pool.
    #[serde(default = "default_pool")]
    pub node_pool: ipnet::Ipv4Net,
    /// AS of the edges; default: the route reflector's.
    #[serde(default)]
    pub edge_asn: Option<u32>,
    /// Route reflectors the edges dial; default: this controller's BGP
    /// listen address and port.
    #[serde(default)]
    pub route_reflectors: Vec<RouteReflector>,
    /// BGP hold time rendered for the edges.
    #[serde(default)]
    pub edge_hold_time: Option<u16>,
    /// Enrollment timestamps further than this from our clock are stale.
    #[serde(default = "default_skew")]
    pub max_clock_skew_secs: u64,
    /// Longest config long poll.
    #[serde(default = "default_long_poll")]
    pub long_poll_secs: u64,
}

fn default_database() -> PathBuf {
    "registry.db".into()
}
fn default_pool() -> ipnet::Ipv4Net {
    "10.255.0.0/24".parse().expect("static prefix")
}
fn default_skew() -> u64 {
    300
}
fn default_long_poll() -> u64 {
    30
}

impl ProvisioningConfig {
    pub fn database_path(&self) -> PathBuf {
        if self.database.is_absolute() {
            self.database.clone()
        } else {
            self.state_dir.join(&self.database)
        }
    }

    pub fn names(&self) -> Vec<String> {
        if self.server_names.is_empty() {
            vec![self.listen.ip().to_string(), "localhost".into()]
        } else {
            self.server_names.clone()
        }
    }
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Registers this module's metrics on `m`.
pub fn register_metrics(m: &mut Metrics) {
    m.counter(
        "sdwan_controller_api_refusals_total",
        "Provisioning API requests refused for credentials, by reason",
        &["reason"],
    );
    m.counter(
        "sdwan_controller_enrollments_total",
        "Enrollment requests, by result",
        &["result"],
    );
    m.counter(
        "sdwan_controller_config_deliveries_total",
        "Rendered configs delivered to polling edges",
        &[],
    );
    m.gauge(
        "sdwan_controller_devices",
        "Registered devices by state",
        &["state"],
    );
}

pub struct Provision {
    pub cfg: ProvisioningConfig,
    pub registry: Registry,
    pub pki: Pki,
    metrics: Arc<Metrics>,
    reflectors: Vec<RouteReflector>,
    edge_asn: u32,
    /// Bumped on every registry change; config long polls wait on it.
    generation: Mutex<u64>,
    changed: Condvar,
    /// Weak: the controller shuts the speaker down while long polls may
    /// still hold the service.
    speaker: OnceLock<std::sync::Weak<Speaker>>,
    /// The device peers installed in the route reflector.
    rr_peers: RrPeers,
    /// Held across a tenant's read-check-write (concurrent API calls).
    tenant_writes: Mutex<()>,
}

/// Why a request was refused, for the reply and the counter.
pub(crate) struct Refusal {
    status: u16,
    reason: &'static str,
    message: String,
}

impl Provision {
    /// Opens the registry and PKI under the state dir; prints a bootstrap
    /// admin token when none exists.
    pub fn open(
        cfg: ProvisioningConfig,
        bgp: &sdwan_bgp::config::SpeakerConfig,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Provision> {
        use anyhow::Context;
        std::fs::create_dir_all(&cfg.state_dir)
            .with_context(|| format!("creating {}", cfg.state_dir.display()))?;
        let registry = Registry::open(&cfg.database_path())
            .with_context(|| format!("registry {}", cfg.database_path().display()))?;
        tracing::info!(path = %cfg.database_path().display(),
            schema = registry.schema_version()?, "device registry open");
        let pki = Pki::load_or_create(&cfg.state_dir, &cfg.names())?;
        let now = now_unix();
        match &cfg.admin_token {
            Some(t) => {
                registry.add_token(&sha256_hex(t.as_bytes()), "bootstrap", Scope::Admin, now)?
            }
            None if registry.token_count()? == 0 => {
                let t = random_hex(24);
                registry.add_token(&sha256_hex(t.as_bytes()), "bootstrap", Scope::Admin, now)?;
                // Printed once: only its hash is kept.
                println!("bootstrap admin token (shown once): {t}");
            }
            None => {}
        }
        let reflectors = if cfg.route_reflectors.is_empty() {
            match bgp.listen_address {
                Some(address) => vec![RouteReflector {
                    address,
                    port: bgp.listen_port,
                }],
                None => anyhow::bail!(
                    "provisioning.route_reflectors is empty and bgp.listen_address is unset: \
                     edges would have no route reflector to dial"
                ),
            }
        } else {
            cfg.route_reflectors.clone()
        };
        let edge_asn = cfg.edge_asn.unwrap_or(bgp.asn);
        Ok(Provision {
            cfg,
            registry,
            pki,
            metrics,
            reflectors,
            edge_asn,
            generation: Mutex::new(0),
            changed: Condvar::new(),
            speaker: OnceLock::new(),
            rr_peers: RrPeers::default(),
            tenant_writes: Mutex::new(()),
        })
    }

    /// Attach the route reflector and give it a peer per device.
    pub fn set_speaker(&self, s: &Arc<Speaker>) {
        let _ = self.speaker.set(Arc::downgrade(s));
        self.sync_route_reflector();
        tracing::info!(
            devices = self.rr_peers.len(),
            "route reflector peers from the registry"
        );
    }

    /// Bring the route reflector's device peers in line with the registry
    /// (see rr_peers.rs): add new devices, update peer groups, tear down
    /// revoked devices' sessions. Also run periodically, for changes made
    /// through another controller sharing the registry.
    pub fn sync_route_reflector(&self) {
        let Some(speaker) = self.speaker.get().and_then(|w| w.upgrade()) else {
            return;
        };
        let (devices, tenants) = match (self.registry.devices(), self.registry.tenants()) {
            (Ok(d), Ok(t)) => (d, t),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("route reflector peers: reading the registry: {e}");
                return;
            }
        };
        self.rr_peers
            .sync(&speaker, registry_peers(&devices, &tenants));
    }

    /// After a registry change: updates the route reflector's peers and
    /// wakes config long polls.
    fn notify(&self) {
        self.sync_route_reflector();
        let mut g = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        *g += 1;
        self.changed.notify_all();
    }

    /// Waits until the next change or `until`; false on timeout.
    fn wait_change(&self, seen: u64, until: std::time::Instant) -> u64 {
        let mut g = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        while *g == seen {
            let now = std::time::Instant::now();
            if now >= until {
                break;
            }
            g = self
                .changed
                .wait_timeout(g, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *g
    }

    fn tenant_writes(&self) -> std::sync::MutexGuard<'_, ()> {
        self.tenant_writes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn generation(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn refuse(&self, r: Refusal) -> Reply {
        self.metrics
            .inc("sdwan_controller_api_refusals_total", &[r.reason]);
        Reply::json(
            r.status,
            &serde_json::json!({ "error": r.message, "reason": r.reason }),
        )
    }

    /// The operator token's scope, or the refusal.
    fn authorize(&self, req: &Request) -> Result<Scope, Refusal> {
        let Some(auth) = req.header("authorization") else {
            return Err(Refusal {
                status: 401,
                reason: "missing_token",
                message: "an API token is required (Authorization: Bearer TOKEN)".into(),
            });
        };
        let token = auth.strip_prefix("Bearer ").unwrap_or("").trim();
        let found = if token.is_empty() {
            None
        } else {
            self.registry
                .token_scope(&sha256_hex(token.as_bytes()))
                .map_err(|e| Refusal {
                    status: 500,
                    reason: "registry_error",
                    message: e.to_string(),
                })?
        };
        let Some((_, scope)) = found else {
            return Err(Refusal {
                status: 401,
                reason: "bad_token",
                message: "unknown API token".into(),
            });
        };
        let reading = req.method == "GET" && !req.route().ends_with("/config");
        if scope == Scope::Read && !reading {
            return Err(Refusal {
                status: 403,
                reason: "wrong_scope",
                message: format!(
                    "token scope \"read\" does not allow {} {}",
                    req.method,
                    req.route()
                ),
            });
        }
        Ok(scope)
    }

    pub fn refresh_metrics(&self) {
        let Ok(devices) = self.registry.devices() else {
            return;
        };
        for state in [
            DeviceState::Registered,
            DeviceState::Enrolled,
            DeviceState::Revoked,
        ] {
            let n = devices.iter().filter(|d| d.state == state).count();
            self.metrics
                .set_gauge("sdwan_controller_devices", &[state.as_str()], n as i64);
        }
    }

    /// The config `device` receives now.
    pub fn rendered(&self, d: &Device) -> registry::Result<render::RenderedConfig> {
        let tenants: Vec<Tenant> = self.registry.tenants()?;
        Ok(render::render(
            d,
            &tenants,
            &self.reflectors,
            self.cfg.edge_hold_time,
        ))
    }
}

fn registry_reply(e: registry::Error) -> Reply {
    Reply::error(e.status(), e.to_string())
}

impl Service for Provision {
    fn handle(&self, req: &Request) -> Reply {
        let route = req.route().to_string();
        let reply = match (req.method.as_str(), route.as_str()) {
            ("POST", "/api/v1/enroll") => self.enroll(req),
            ("GET", "/api/v1/config") => self.config_poll(req),
            (_, "/api/v1/enroll" | "/api/v1/config") => {
                Reply::error(405, format!("{} not allowed on {route}", req.method))
            }
            (_, r) if r.starts_with("/api/v1/") => match self.authorize(req) {
                Ok(scope) => self.operator(req, scope),
                Err(refusal) => self.refuse(refusal),
            },
            _ => Reply::error(404, format!("no such endpoint {route}")),
        };
        tracing::debug!(method = %req.method, %route, status = reply.status, peer = %req.peer,
            "provisioning API");
        reply
    }
}

/// Parses a JSON body into `T`, naming what was wrong.
fn body<T: serde::de::DeserializeOwned>(req: &Request) -> Result<T, Reply> {
    serde_json::from_slice(&req.body)
        .map_err(|e| Reply::error(400, format!("bad request body: {e}")))
}
