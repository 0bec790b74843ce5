//! `sdwan controller`: the BGP route reflector (constrained propagation of
//! the SD-WAN routes, draft §3.1.5 and §5) with its management API and
//! metrics. Zero-touch provisioning builds on this later.

mod api;

use crate::config::{ConfigError, Listen};
use anyhow::Context;
use sdwan_bgp::config::SpeakerConfig;
use sdwan_bgp::speaker::Speaker;
use serde::Deserialize;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The controller's TOML file: `[bgp]` is the speaker (router id, AS,
/// listen address, cluster id, peers, peer groups with their authorized
/// Route Targets, local routes); `[management]` the API listener.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControllerFile {
    bgp: SpeakerConfig,
    #[serde(default)]
    management: crate::config::ManagementConfig,
}

struct ControllerConfig {
    bgp: SpeakerConfig,
    management: Listen,
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
    })
}

pub fn run(path: &Path) -> anyhow::Result<()> {
    let cfg = load(path)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handler")?;
    }
    let router_id = cfg.bgp.router_id;
    let speaker =
        Arc::new(Speaker::start(cfg.bgp).map_err(|e| anyhow::anyhow!("BGP speaker: {e}"))?);
    tracing::info!(%router_id, local = ?speaker.local_addr(), "BGP route reflector running");
    let api = Arc::new(api::ControllerApi::new(speaker.clone()));
    let mgmt_stop = Arc::new(AtomicBool::new(false));
    let server = crate::mgmt::server::spawn(&cfg.management, api.clone(), mgmt_stop.clone())?;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    tracing::info!("stopping");
    mgmt_stop.store(true, Ordering::Relaxed);
    let _ = server.join();
    drop(api);
    match Arc::try_unwrap(speaker) {
        Ok(s) => s.shutdown(),
        Err(_) => tracing::warn!("speaker still referenced at shutdown"),
    }
    tracing::info!("stopped");
    Ok(())
}
