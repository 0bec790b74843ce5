//! The edge's TOML configuration: the model (serde, unknown keys refused)
//! and [`load`], which parses and validates a file before anything starts.
//! Every error names the file, line, column and field.

mod error;
mod model;
mod overlay;
mod policy;
mod ports;
mod static_peer;
mod topology;
mod validate;
mod wan_guard;

pub use error::ConfigError;
pub use model::*;
pub use overlay::WanKind;
pub use overlay::{OverlayConfig, OverlayVrf, ResolvedWan, VrfEncap};
pub use policy::PolicyConfig;
#[cfg(test)]
pub use ports::ResolvedVlan;
#[cfg(test)]
pub use topology::{Role, Topology};
pub use validate::{route_next_hop, Listen, Resolved, ResolvedRoute, RouteNextHop};

use std::path::Path;

/// Reads, parses and validates `path`.
pub fn load(path: &Path) -> Result<Resolved, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
    parse(path, &text)
}

/// Parses and validates `text` (named `path` in messages).
pub fn parse(path: &Path, text: &str) -> Result<Resolved, ConfigError> {
    let raw: EdgeConfig = toml::from_str(text).map_err(|e| ConfigError::toml(path, text, e))?;
    validate::validate(raw, path, text)
}

#[cfg(test)]
mod overlay_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod topology_tests;
#[cfg(test)]
mod vlan_tests;
