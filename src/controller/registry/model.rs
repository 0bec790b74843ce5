//! What the registry stores: tenants (a name and its Route Targets), sites,
//! devices with their VRFs and WAN ports, API tokens (hashes only).
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceState {
    /// Known by serial, never enrolled.
    Registered,
    /// Holds a controller-issued client certificate.
    Enrolled,
    /// Refused from now on: enrollment, config polling, BGP peering.
    Revoked,
}

impl DeviceState {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeviceState::Registered => "registered",
            DeviceState::Enrolled => "enrolled",
            DeviceState::Revoked => "revoked",
        }
    }
    pub fn parse(s: &str) -> Option<DeviceState> {
        Some(match s {
            "registered" => DeviceState::Registered,
            "enrolled" => DeviceState::Enrolled,
            "revoked" => DeviceState::Revoked,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub name: String,
    /// Route Targets of the tenant's SD-WAN VPN ("65000:1"): a VRF of this
    /// tenant imports and exports them, and the route reflector reflects
    /// only these to the tenant's devices (draft §3.1.5).
    pub route_targets: Vec<String>,
    /// Flow rules of the tenant's VPN, in match order: every device
    /// renders them as `[[policy]]` of its VRF of this tenant (the edge's
    /// `config::policy` checks them; the API refuses what it refuses).
    #[serde(default)]
    pub policies: Vec<PolicyRule>,
    /// The VPN's topology (draft §3.2): absent, a mesh over
    /// `route_targets`; present, hub-and-spoke with these two RTs (both
    /// among `route_targets`, so the reflector authorises them), the
    /// devices marked hub for the tenant being the hubs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_and_spoke: Option<HubAndSpoke>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubAndSpoke {
    /// Exported by hubs, imported by spokes.
    pub hub_rt: String,
    /// Exported by spokes, imported by hubs.
    pub spoke_rt: String,
    /// Summary prefixes the hubs originate with `hub_rt` (the edge's
    /// `hub_summary`; empty: the edge's default `0.0.0.0/0`, `::/0`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hub_summary: Vec<String>,
}

/// One `[[policy]]` rule without its VRF (the fields and values of the
/// edge's config: action `private-only` | `encrypted-any` | `any` |
/// `internet-breakout`, protocol, prefixes, `"N"` / `"LO-HI"` ports...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Set only where rendered (the device's VRF of the tenant); a
    /// tenant's stored rule has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
    pub name: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_ports: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_ports: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dscp: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_label: Option<u32>,
}

impl PolicyRule {
    pub fn is_breakout(&self) -> bool {
        self.action == "internet-breakout"
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// One client VRF of a device (an edge's `[[vrf]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceVrf {
    pub tenant: String,
    /// VRF name on the edge (the tenant name unless set).
    pub name: String,
    pub id: u16,
    pub rd: String,
    pub label: u32,
    #[serde(default)]
    pub color: Option<u32>,
    pub import: Vec<String>,
    pub export: Vec<String>,
    #[serde(default = "default_encap")]
    pub encap: String,
    /// The hub of its tenant's hub-and-spoke VPN (else a spoke).
    #[serde(default)]
    pub hub: bool,
}

pub fn default_encap() -> String {
    "mpls".into()
}

/// One WAN port role of a device (an edge's `[[wan]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WanPort {
    /// Name of the box's `[[port]]` used as this WAN port.
    pub port: String,
    /// Port-Local-ID (SAFI 74 NLRI).
    pub id: u32,
    pub color: u32,
    /// "internet" | "private".
    pub kind: String,
    /// Internet breakout of the tenants' `internet-breakout` flows leaves
    /// through this (internet) port.
    #[serde(default)]
    pub breakout: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub serial: String,
    pub site: String,
    pub state: DeviceState,
    /// SD-WAN node id = loopback = BGP router id.
    pub node_id: Ipv4Addr,
    pub asn: u32,
    /// Address the edge's BGP session comes from (given at enrollment);
    /// the route reflector's passive peer for this device uses it, or
    /// `node_id` when absent.
    #[serde(default)]
    pub bgp_source: Option<IpAddr>,
    pub vrfs: Vec<DeviceVrf>,
    pub wans: Vec<WanPort>,
    /// Bumped on every change of what the edge receives.
    pub config_version: u64,
    /// TCP-MD5 key of this device's BGP sessions (generated, never shown
    /// by the operator API).
    #[serde(skip_serializing)]
    pub md5_key: String,
    /// SHA-256 of the current client certificate (DER), hex.
    #[serde(default)]
    pub cert_fingerprint: Option<String>,
}

impl Device {
    /// The address the route reflector expects this device's session from.
    pub fn peer_address(&self) -> IpAddr {
        self.bgp_source.unwrap_or(IpAddr::V4(self.node_id))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read and change everything.
    Admin,
    /// GET only.
    Read,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Read => "read",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "admin" => Some(Scope::Admin),
            "read" => Some(Scope::Read),
            _ => None,
        }
    }
}
