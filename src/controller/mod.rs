//! `sdwan controller`: the BGP route reflector (constrained propagation of
//! the SD-WAN routes, draft §3.1.5 and §5) with its management API and
//! metrics, plus zero-touch provisioning (draft §3.1.4) when the config
//! has a `[provisioning]` section: the device registry (SQLite), the
//! controller's CA, the operator HTTPS API, enrollment and config push.
//!
//! Files: `registry/` (SQLite store), `tls.rs` (CA, certificates),
//! `https.rs` (HTTPS server), `client.rs` (HTTPS client for CLI and
//! edges), `provision/` (API routes, enrollment, long poll), `render.rs`
//! (the edge config a device receives), `rr_peers.rs` (route reflector
//! peers from the registry), `ops_cli.rs` (`sdwan controller device ...`).

mod api;
pub mod client;
mod https;
mod ops_cli;
mod policy_cli;
pub mod provision;
mod registry;
pub mod render;
mod rr_peers;
pub mod tls;

pub use ops_cli::{run_command, ControllerArgs};

use crate::config::{ConfigError, Listen};
use crate::metrics::Metrics;
use anyhow::Context;
use provision::{Provision, ProvisioningConfig};
use sdwan_bgp::config::SpeakerConfig;
use sdwan_bgp::speaker::Speaker;
use serde::Deserialize;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The controller's TOML file: `[bgp]` is the speaker (router id, AS,
/// listen address, cluster id, peers, peer groups with their authorized
/// Route Targets, local routes); `[management]` the API listener;
/// `[provisioning]` (optional) zero-touch provisioning.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControllerFile {
    bgp: SpeakerConfig,
    #[serde(default)]
    management: crate::config::ManagementConfig,
    #[serde(default)]
    provisioning: Option<ProvisioningConfig>,
}

struct ControllerConfig {
    bgp: SpeakerConfig,
    management: Listen,
    provisioning: Option<ProvisioningConfig>,
}

fn load(path: &Path) -> Result<ControllerConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
    let raw: ControllerFile =
        toml::from_str(&text).map_err(|e| ConfigError::toml(path, &text, e))?;
    let at = |field: &str, message: String| ConfigError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        field: field.to_string(),
        message,
    };
    raw.bgp.validate().map_err(|m| at("bgp", m))?;
    let management = Listen::parse(raw.management.listen.get_ref()).map_err(|m| {
        ConfigError::at(
            path,
            &text,
            raw.management.listen.span().start,
            "management.listen",
            m,
        )
    })?;
    Ok(ControllerConfig {
        bgp: raw.bgp,
        management,
        provisioning: raw.provisioning,
    })
}

/// `sdwan controller ca-cert`: the CA PEM on stdout (created on first
/// use), its SHA-256 fingerprint on stderr.
pub fn print_ca(path: &Path) -> anyhow::Result<()> {
    let cfg = load(path)?;
    let p = cfg
        .provisioning
        .with_context(|| format!("{}: no [provisioning] section", path.display()))?;
    let pki = tls::Pki::load_or_create(&p.state_dir, &p.names())?;
    print!("{}", pki.ca_pem());
    eprintln!(
        "SHA-256 fingerprint: {}",
        tls::pem_fingerprint(pki.ca_pem())?
    );
    Ok(())
}

/// How often the route reflector's device peers are re-read from the
/// registry (changes made through another controller).
const REGISTRY_RESYNC: Duration = Duration::from_secs(2);

pub fn run(path: &Path) -> anyhow::Result<()> {
    let cfg = load(path)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handler")?;
    }
    let mut metrics = Metrics::new();
    api::register_metrics(&mut metrics);
    provision::register_metrics(&mut metrics);
    let metrics = Arc::new(metrics);
    let provision = match cfg.provisioning {
        Some(p) => Some(Arc::new(Provision::open(p, &cfg.bgp, metrics.clone())?)),
        None => None,
    };
    // The route reflector starts with the file's peers; provisioning adds
    // one per device in the registry at run time (`set_speaker` below, then
    // on every registry change: see rr_peers.rs).
    let bgp = cfg.bgp;
    let router_id = bgp.router_id;
    let peers = bgp.peers.len();
    let speaker = Arc::new(Speaker::start(bgp).map_err(|e| anyhow::anyhow!("BGP speaker: {e}"))?);
    tracing::info!(%router_id, peers, local = ?speaker.local_addr(), "BGP route reflector running");
    let api = Arc::new(api::ControllerApi::new(
        speaker.clone(),
        metrics.clone(),
        provision.clone(),
    ));
    let mgmt_stop = Arc::new(AtomicBool::new(false));
    let server = crate::mgmt::server::spawn(&cfg.management, api.clone(), mgmt_stop.clone())?;
    let https = match &provision {
        Some(p) => {
            p.set_speaker(&speaker);
            let (addr, h) = https::spawn(
                p.cfg.listen,
                p.pki.server_config()?,
                p.clone(),
                mgmt_stop.clone(),
            )?;
            tracing::info!(%addr, "provisioning API (HTTPS) running");
            Some(h)
        }
        None => None,
    };
    // Registry changes made here sync the route reflector at once; a
    // second controller sharing the registry (redundant route reflectors)
    // makes changes this process does not see: re-read it now and then.
    let mut next_sync = std::time::Instant::now() + REGISTRY_RESYNC;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if std::time::Instant::now() >= next_sync {
            if let Some(p) = &provision {
                p.sync_route_reflector();
            }
            next_sync = std::time::Instant::now() + REGISTRY_RESYNC;
        }
    }
    tracing::info!("stopping");
    mgmt_stop.store(true, Ordering::Relaxed);
    let _ = server.join();
    if let Some(h) = https {
        let _ = h.join();
    }
    drop(api);
    drop(provision);
    match Arc::try_unwrap(speaker) {
        Ok(s) => s.shutdown(),
        Err(_) => tracing::warn!("speaker still referenced at shutdown"),
    }
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::load;
    use std::path::Path;

    /// The shipped controller examples load, and the topology example's
    /// peer groups authorize the payment gateway's RT for stores only.
    #[test]
    fn controller_examples_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        load(&dir.join("controller.toml")).unwrap_or_else(|e| panic!("{e}"));
        let c = load(&dir.join("topology-controller.toml")).unwrap_or_else(|e| panic!("{e}"));
        let rts = |g: &str| -> Vec<String> {
            c.bgp
                .peer_groups
                .iter()
                .find(|p| p.name == g)
                .map(|p| p.route_targets.iter().map(|r| r.0.to_string()).collect())
                .unwrap_or_default()
        };
        assert!(rts("stores").contains(&"rt:65000:900".to_string()));
        assert!(!rts("offices").contains(&"rt:65000:900".to_string()));
        assert!(rts("hub").contains(&"rt:65000:22".to_string()));
    }
}
