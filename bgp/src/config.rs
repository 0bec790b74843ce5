//! Speaker configuration (serde, unknown fields rejected): identity, listen
//! address, route reflector cluster id, peers, peer groups with the Route
//! Targets (tenants / SD-WAN VPNs) each may receive (draft §3.1.5), and
//! locally originated routes.

use crate::wire::{ExtCommunity, Family, Prefix, Rd, SdwanNlri, TunnelEncap};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// A Route Target written "ASN:n" or "IP:n" (RFC 4360 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteTarget(pub ExtCommunity);

impl Serialize for RouteTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RouteTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RouteTarget, D::Error> {
        let s = String::deserialize(d)?;
        let s = s.strip_prefix("rt:").unwrap_or(&s);
        ExtCommunity::route_target(s)
            .map(RouteTarget)
            .map_err(serde::de::Error::custom)
    }
}

fn default_port() -> u16 {
    179
}
fn default_hold() -> u16 {
    90
}
fn default_retry() -> u64 {
    5
}
fn default_families() -> Vec<Family> {
    vec![Family::Vpnv4, Family::Vpnv6]
}
fn default_restart() -> Option<u16> {
    Some(120)
}
fn default_stale() -> u64 {
    360
}
fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpeakerConfig {
    pub router_id: Ipv4Addr,
    pub asn: u32,
    /// Where to accept BGP connections; `None`: only active peers.
    #[serde(default)]
    pub listen_address: Option<IpAddr>,
    #[serde(default = "default_port")]
    pub listen_port: u16,
    /// Route reflector cluster id (RFC 4456 §7); defaults to the router id.
    #[serde(default)]
    pub cluster_id: Option<Ipv4Addr>,
    #[serde(default = "default_hold")]
    pub hold_time: u16,
    #[serde(default = "default_retry")]
    pub connect_retry_secs: u64,
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
    #[serde(default)]
    pub peer_groups: Vec<PeerGroupConfig>,
    #[serde(default)]
    pub routes: Vec<LocalRoute>,
    /// Families for which ADD-PATH (RFC 7911) send + receive is offered to
    /// every peer that has the family configured.
    #[serde(default)]
    pub add_path: Vec<Family>,
    /// Graceful Restart (RFC 4724) restart time advertised, seconds
    /// (at most 4095); `None`: no capability.
    #[serde(default = "default_restart")]
    pub restart_time: Option<u16>,
    /// How long a restarted peer's stale routes are kept waiting for its
    /// End-of-RIB (RFC 4724 §4.2 selection deferral / stale timer).
    #[serde(default = "default_stale")]
    pub stale_routes_secs: u64,
    /// Offer Extended Message (RFC 8654).
    #[serde(default = "yes")]
    pub extended_message: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    pub address: IpAddr,
    #[serde(default = "default_port")]
    pub port: u16,
    pub remote_as: u32,
    /// TCP-MD5 key (RFC 2385); never serialized back out.
    #[serde(default, skip_serializing)]
    pub md5_key: Option<String>,
    /// Name of a [`PeerGroupConfig`]; none: unrestricted.
    #[serde(default)]
    pub peer_group: Option<String>,
    #[serde(default = "default_families")]
    pub families: Vec<Family>,
    /// Only accept connections from this peer, never dial it.
    #[serde(default)]
    pub passive: bool,
    /// Route reflector client (RFC 4456 §6); edges are clients.
    #[serde(default = "yes")]
    pub rr_client: bool,
    /// Source address for outgoing connections.
    #[serde(default)]
    pub local_address: Option<IpAddr>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeerGroupConfig {
    pub name: String,
    /// Route Targets members may receive. Empty: unrestricted (e.g. a
    /// core peer). A route without any Route Target goes only to
    /// unrestricted groups.
    #[serde(default)]
    pub route_targets: Vec<RouteTarget>,
}

/// A locally originated route.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocalRoute {
    pub prefix: Prefix,
    /// Set for VPN routes (VPNv4 / VPNv6 by the prefix's family).
    #[serde(default)]
    pub rd: Option<Rd>,
    /// MPLS label value (20 bits) for VPN routes.
    #[serde(default)]
    pub label: Option<u32>,
    pub next_hop: IpAddr,
    #[serde(default)]
    pub route_targets: Vec<RouteTarget>,
    #[serde(default)]
    pub color: Option<u32>,
    #[serde(default)]
    pub local_pref: Option<u32>,
    #[serde(default)]
    pub med: Option<u32>,
    /// Tunnel Encapsulation attribute to attach (API only).
    #[serde(skip)]
    pub tunnel_encap: Option<TunnelEncap>,
    /// Do not advertise this route to a peer that negotiated this family.
    /// The fallback form of the draft §6 dual UPDATE: the edge's loopback
    /// route with the Tunnel Encapsulation attribute goes only to route
    /// reflectors that do not speak SAFI 74 (`sdwan-v4`).
    #[serde(default)]
    pub unless_peer_has: Option<Family>,
}

/// A locally originated SD-WAN edge discovery route (SAFI 74,
/// draft-ietf-idr-sdwan-edge-discovery; draft-ietf-bess-bgp-sdwan-usage
/// §6): the NLRI names the edge's WAN port, the Tunnel Encapsulation
/// attribute carries its SD-WAN-Hybrid tunnel (egress endpoint, IPsec
/// parameters). Sent only to peers that negotiated SdwanV4 / SdwanV6 (by
/// the node id's address family). Withdraw with
/// `Speaker::withdraw(RouteKey::Sdwan { .. })`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SdwanLocalRoute {
    pub nlri: SdwanNlri,
    pub next_hop: IpAddr,
    pub route_targets: Vec<RouteTarget>,
    pub tunnel_encap: TunnelEncap,
}

impl SdwanLocalRoute {
    pub fn validate(&self) -> Result<(), String> {
        if self.tunnel_encap.tunnels.is_empty() {
            return Err(format!(
                "SD-WAN route {}/{}: the Tunnel Encapsulation attribute needs a tunnel",
                self.nlri.node_id, self.nlri.port_local_id
            ));
        }
        Ok(())
    }
}

impl SpeakerConfig {
    /// Cross-field checks serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        for p in &self.peers {
            p.validate(&self.peer_groups)?;
        }
        let mut seen = std::collections::HashSet::new();
        for p in &self.peers {
            if !seen.insert(p.address) {
                return Err(format!("peer {} configured twice", p.address));
            }
        }
        for r in &self.routes {
            r.validate()?;
        }
        Ok(())
    }
}

impl PeerConfig {
    /// Checks one peer against the peer groups it may name (also for
    /// peers added at run time, `Router::add_peer`).
    pub fn validate(&self, groups: &[PeerGroupConfig]) -> Result<(), String> {
        if let Some(g) = &self.peer_group {
            if !groups.iter().any(|pg| &pg.name == g) {
                return Err(format!("peer {}: unknown peer group {g:?}", self.address));
            }
        }
        if self.families.is_empty() {
            return Err(format!("peer {}: no address family", self.address));
        }
        if self.md5_key.as_ref().is_some_and(|k| k.len() > 80) {
            return Err(format!(
                "peer {}: TCP-MD5 key longer than 80 bytes (RFC 2385, Linux limit)",
                self.address
            ));
        }
        Ok(())
    }
}

impl LocalRoute {
    pub fn validate(&self) -> Result<(), String> {
        if self.rd.is_some() != self.label.is_some() {
            return Err(format!(
                "route {}: a VPN route needs both rd and label",
                self.prefix
            ));
        }
        if self.label.is_some_and(|l| l >= 1 << 20) {
            return Err(format!("route {}: label must fit 20 bits", self.prefix));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_fields() {
        let j = r#"{"router_id":"10.0.0.1","asn":65000,"listen_address":"127.0.0.1","listen_port":1179,
            "peer_groups":[{"name":"t1","route_targets":["65000:1"]}],
            "peers":[{"address":"127.0.0.2","remote_as":65000,"peer_group":"t1","md5_key":"s"}],
            "routes":[{"prefix":"10.1.0.0/24","rd":"65000:1","label":100,"next_hop":"192.0.2.1","route_targets":["65000:1"],"color":7}]}"#;
        let c: SpeakerConfig = serde_json::from_str(j).unwrap();
        c.validate().unwrap();
        assert_eq!(c.peers[0].families, vec![Family::Vpnv4, Family::Vpnv6]);
        assert_eq!(
            c.peer_groups[0].route_targets[0].0.to_string(),
            "rt:65000:1"
        );
        assert!(serde_json::to_string(&c).unwrap().find("md5").is_none());
        let bad = j.replace("\"asn\"", "\"asn_typo\":1,\"asn\"");
        assert!(serde_json::from_str::<SpeakerConfig>(&bad).is_err());
        let mut c2 = c.clone();
        c2.peers[0].peer_group = Some("nope".into());
        assert!(c2.validate().is_err());
    }
}
