//! Edge routes: enrollment (serial + CSR + fresh nonce and timestamp, no
//! credentials yet) and the config long poll (client certificate).
//!
//! Enrollment checks, in order, each refusal counted in
//! `sdwan_controller_enrollments_total{result}`: request well formed
//! (`bad_request`), timestamp within `max_clock_skew_secs` (`stale`),
//! nonce never seen (`replay`), serial registered (`unknown_serial`), not
//! revoked (`revoked`), CSR signature valid (`bad_csr`). Refusal messages
//! speak only of the request itself, never of other devices or tenants.
use super::{Provision, Refusal};
use crate::controller::https::{Reply, Request};
use crate::controller::registry::model::DeviceState;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub serial: String,
    /// PEM PKCS#10 request for the edge's new key.
    pub csr: String,
    /// 16 to 64 random bytes, hex; single use.
    pub nonce: String,
    /// Unix seconds when the request was made.
    pub timestamp: u64,
    /// Source address of the edge's BGP sessions (loopback tests); default
    /// its node id.
    #[serde(default)]
    pub bgp_source: Option<IpAddr>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollReply {
    /// PEM client certificate (CN = serial) signed by the controller CA.
    pub certificate: String,
    pub ca: String,
    /// Rendered edge config (TOML, overlay-contract sections).
    pub config: String,
    pub version: u64,
}

impl Provision {
    fn enroll_refused(&self, status: u16, result: &'static str, message: String) -> Reply {
        self.metrics
            .inc("sdwan_controller_enrollments_total", &[result]);
        Reply::json(status, &json!({ "error": message, "reason": result }))
    }

    pub(super) fn enroll(&self, req: &Request) -> Reply {
        let r: EnrollRequest = match serde_json::from_slice(&req.body) {
            Ok(r) => r,
            Err(e) => {
                return self.enroll_refused(
                    400,
                    "bad_request",
                    format!("bad enrollment request: {e}"),
                )
            }
        };
        let nonce_ok =
            (32..=128).contains(&r.nonce.len()) && r.nonce.bytes().all(|b| b.is_ascii_hexdigit());
        if !nonce_ok {
            return self.enroll_refused(
                400,
                "bad_request",
                "nonce must be 16 to 64 random bytes in hex".into(),
            );
        }
        let now = super::now_unix();
        let skew = self.cfg.max_clock_skew_secs;
        if now.abs_diff(r.timestamp) > skew {
            return self.enroll_refused(
                403,
                "stale",
                format!(
                    "enrollment timestamp {} is more than {skew} s from the controller's clock ({now})",
                    r.timestamp
                ),
            );
        }
        match self.registry.remember_nonce(
            &r.nonce.to_ascii_lowercase(),
            now,
            now.saturating_sub(2 * skew),
        ) {
            Ok(true) => {}
            Ok(false) => {
                return self.enroll_refused(
                    403,
                    "replay",
                    "enrollment nonce already used: replayed request".into(),
                )
            }
            Err(e) => return Reply::error(500, e.to_string()),
        }
        let device = match self.registry.device(&r.serial) {
            Ok(Some(d)) => d,
            Ok(None) => {
                tracing::warn!(serial = %r.serial, peer = %req.peer, "enrollment of an unregistered serial");
                return self.enroll_refused(
                    403,
                    "unknown_serial",
                    format!("serial {:?} is not registered on this controller", r.serial),
                );
            }
            Err(e) => return Reply::error(500, e.to_string()),
        };
        if device.state == DeviceState::Revoked {
            tracing::warn!(serial = %r.serial, peer = %req.peer, "enrollment of a revoked device");
            return self.enroll_refused(
                403,
                "revoked",
                format!("device {:?} is revoked", r.serial),
            );
        }
        let (cert, fingerprint) = match self.pki.sign_csr(&r.csr, &r.serial) {
            Ok(c) => c,
            Err(m) => return self.enroll_refused(400, "bad_csr", m),
        };
        if let Err(e) = self
            .registry
            .record_enrollment(&r.serial, &fingerprint, r.bgp_source, now)
        {
            return Reply::error(500, e.to_string());
        }
        let device = match self.registry.device(&r.serial) {
            Ok(Some(d)) => d,
            _ => return Reply::error(500, "device vanished during enrollment"),
        };
        let rendered = match self.rendered(&device) {
            Ok(c) => c,
            Err(e) => return Reply::error(500, e.to_string()),
        };
        self.metrics
            .inc("sdwan_controller_enrollments_total", &["ok"]);
        tracing::info!(serial = %r.serial, node = %device.node_id, peer = %req.peer,
            bgp_source = ?device.bgp_source, "device enrolled");
        self.notify();
        let reply = EnrollReply {
            certificate: cert,
            ca: self.pki.ca_pem().to_string(),
            config: rendered.to_toml(),
            version: device.config_version,
        };
        Reply::json(200, &serde_json::to_value(&reply).unwrap_or_default())
    }

    /// `GET /api/v1/config?version=N[&wait=S]`: the config as soon as its
    /// version differs from N, or `{"changed": false}` after the wait.
    pub(super) fn config_poll(&self, req: &Request) -> Reply {
        let Some(fp) = req.client_cert_sha256.as_deref() else {
            return self.refuse(Refusal {
                status: 401,
                reason: "no_client_cert",
                message: "config polling needs the client certificate issued at enrollment".into(),
            });
        };
        let have: u64 = match req.query("version").map(str::parse).transpose() {
            Ok(v) => v.unwrap_or(0),
            Err(_) => return Reply::error(400, "version must be an integer"),
        };
        let wait: u64 = match req.query("wait").map(str::parse).transpose() {
            Ok(w) => w.unwrap_or(self.cfg.long_poll_secs),
            Err(_) => return Reply::error(400, "wait must be an integer (seconds)"),
        };
        let until = Instant::now() + Duration::from_secs(wait.min(self.cfg.long_poll_secs));
        loop {
            let seen = self.generation();
            let device = match self.registry.device_by_fingerprint(fp) {
                Ok(Some(d)) => d,
                Ok(None) => {
                    return self.refuse(Refusal {
                        status: 403,
                        reason: "unknown_client_cert",
                        message: "this certificate is not the current one of any device".into(),
                    })
                }
                Err(e) => return Reply::error(500, e.to_string()),
            };
            if device.state == DeviceState::Revoked {
                return self.refuse(Refusal {
                    status: 403,
                    reason: "revoked",
                    message: format!("device {:?} is revoked", device.serial),
                });
            }
            if device.config_version != have {
                return match self.rendered(&device) {
                    Ok(c) => {
                        self.metrics
                            .inc("sdwan_controller_config_deliveries_total", &[]);
                        Reply::json(
                            200,
                            &json!({"changed": true, "version": device.config_version, "config": c.to_toml()}),
                        )
                    }
                    Err(e) => Reply::error(500, e.to_string()),
                };
            }
            if Instant::now() >= until {
                return Reply::json(200, &json!({"changed": false, "version": have}));
            }
            self.wait_change(seen, until);
        }
    }
}
