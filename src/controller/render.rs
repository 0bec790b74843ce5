//! The edge config the controller hands to a device: the overlay-contract
//! sections `[node]`, `[bgp]` (+ `[[bgp.peer]]`), `[[wan]]`, `[[vrf]]`
//! (see /work/overlay-contract.md §1). The box-local sections (`[eal]`,
//! `[dataplane]`, `[[port]]`, `[management]`) come from the edge's own
//! hardware file; `edge::bootstrap` merges the two.
//!
//! These structs mirror the contract with unknown fields refused, so a
//! rendered config is checked by parsing it back.
use super::registry::model::{Device, PolicyRule, Tenant};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderedConfig {
    pub node: Node,
    pub bgp: Bgp,
    #[serde(rename = "wan")]
    pub wans: Vec<Wan>,
    #[serde(rename = "vrf")]
    pub vrfs: Vec<Vrf>,
    /// The tenants' flow rules, per VRF, in the tenants' order.
    #[serde(default, rename = "policy", skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyRule>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: Ipv4Addr,
    pub asn: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bgp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_time: Option<u16>,
    #[serde(rename = "peer")]
    pub peers: Vec<BgpPeer>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgpPeer {
    pub address: IpAddr,
    pub port: u16,
    pub remote_as: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_address: Option<IpAddr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wan {
    pub port: String,
    pub id: u32,
    pub color: u32,
    pub kind: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub breakout: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vrf {
    pub name: String,
    pub id: u16,
    pub rd: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub import: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub export: Vec<String>,
    /// `hub-and-spoke` (with `role`, `hub_rt`, `spoke_rt`, and no
    /// import/export: the edge derives them); absent: a mesh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_rt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spoke_rt: Option<String>,
    /// Hub only: the summaries it originates (empty: the edge's default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hub_summary: Vec<String>,
    pub label: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
    pub encap: String,
}

/// A route reflector the edges dial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteReflector {
    pub address: IpAddr,
    #[serde(default = "default_bgp_port")]
    pub port: u16,
}

fn default_bgp_port() -> u16 {
    179
}

/// Import / export RTs of a device VRF: its own lists, or its tenant's
/// Route Targets when empty.
pub fn effective_rts(
    vrf: &super::registry::model::DeviceVrf,
    tenants: &[Tenant],
) -> (Vec<String>, Vec<String>) {
    let tenant_rts = tenants
        .iter()
        .find(|t| t.name == vrf.tenant)
        .map(|t| t.route_targets.clone())
        .unwrap_or_default();
    let pick = |own: &Vec<String>| {
        if own.is_empty() {
            tenant_rts.clone()
        } else {
            own.clone()
        }
    };
    (pick(&vrf.import), pick(&vrf.export))
}

/// The config `device` receives: it dials every route reflector with its
/// TCP-MD5 key, from its BGP source address when one is known.
pub fn render(
    device: &Device,
    tenants: &[Tenant],
    reflectors: &[RouteReflector],
    hold_time: Option<u16>,
) -> RenderedConfig {
    RenderedConfig {
        node: Node {
            id: device.node_id,
            asn: device.asn,
        },
        bgp: Bgp {
            hold_time,
            peers: reflectors
                .iter()
                .map(|rr| BgpPeer {
                    address: rr.address,
                    port: rr.port,
                    remote_as: device.asn,
                    md5_key: Some(device.md5_key.clone()),
                    local_address: device.bgp_source,
                })
                .collect(),
        },
        wans: device
            .wans
            .iter()
            .map(|w| Wan {
                port: w.port.clone(),
                id: w.id,
                color: w.color,
                kind: w.kind.clone(),
                breakout: w.breakout,
            })
            .collect(),
        vrfs: device
            .vrfs
            .iter()
            .map(|v| {
                let (import, export) = effective_rts(v, tenants);
                let hs = tenants
                    .iter()
                    .find(|t| t.name == v.tenant)
                    .and_then(|t| t.hub_and_spoke.clone());
                let (import, export) = if hs.is_some() {
                    (Vec::new(), Vec::new())
                } else {
                    (import, export)
                };
                Vrf {
                    name: v.name.clone(),
                    id: v.id,
                    rd: v.rd.clone(),
                    import,
                    export,
                    topology: hs.as_ref().map(|_| "hub-and-spoke".to_string()),
                    role: hs
                        .as_ref()
                        .map(|_| if v.hub { "hub" } else { "spoke" }.to_string()),
                    hub_rt: hs.as_ref().map(|h| h.hub_rt.clone()),
                    spoke_rt: hs.as_ref().map(|h| h.spoke_rt.clone()),
                    hub_summary: match &hs {
                        Some(h) if v.hub => h.hub_summary.clone(),
                        _ => Vec::new(),
                    },
                    label: v.label,
                    color: v.color,
                    encap: v.encap.clone(),
                }
            })
            .collect(),
        policies: device
            .vrfs
            .iter()
            .flat_map(|v| {
                let rules = tenants
                    .iter()
                    .find(|t| t.name == v.tenant)
                    .map(|t| t.policies.as_slice())
                    .unwrap_or_default();
                rules.iter().map(|r| PolicyRule {
                    vrf: Some(v.name.clone()),
                    ..r.clone()
                })
            })
            .collect(),
    }
}

impl RenderedConfig {
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("rendered config serializes to TOML")
    }

    pub fn from_toml(text: &str) -> Result<RenderedConfig, String> {
        toml::from_str(text).map_err(|e| format!("rendered config: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::registry::model::*;

    fn device_with_vrf() -> Device {
        Device {
            serial: "S1".into(),
            site: "paris".into(),
            state: DeviceState::Enrolled,
            node_id: "10.255.0.1".parse().unwrap(),
            asn: 65000,
            bgp_source: Some("127.0.0.21".parse().unwrap()),
            vrfs: vec![DeviceVrf {
                tenant: "blue".into(),
                name: "blue".into(),
                id: 1,
                rd: "10.255.0.1:1".into(),
                label: 1001,
                color: Some(100),
                import: vec![],
                export: vec![],
                encap: "mpls".into(),
                hub: false,
            }],
            wans: vec![WanPort {
                port: "wan0".into(),
                id: 1,
                color: 100,
                kind: "internet".into(),
                breakout: false,
            }],
            config_version: 3,
            md5_key: "k3y".into(),
            cert_fingerprint: None,
        }
    }

    #[test]
    fn renders_the_contract_sections_and_parses_back() {
        let d = device_with_vrf();
        let tenants = vec![Tenant {
            name: "blue".into(),
            route_targets: vec!["65000:1".into()],
            policies: vec![],
            hub_and_spoke: None,
        }];
        let rrs = vec![
            RouteReflector {
                address: "127.0.0.1".parse().unwrap(),
                port: 1179,
            },
            RouteReflector {
                address: "127.0.0.2".parse().unwrap(),
                port: 1179,
            },
        ];
        let r = render(&d, &tenants, &rrs, Some(30));
        let text = r.to_toml();
        for want in [
            "[node]",
            "id = \"10.255.0.1\"",
            "[[bgp.peer]]",
            "md5_key = \"k3y\"",
            "local_address = \"127.0.0.21\"",
            "[[wan]]",
            "[[vrf]]",
            "rd = \"10.255.0.1:1\"",
            "import = [\"65000:1\"]",
            "label = 1001",
        ] {
            assert!(text.contains(want), "{want} missing in\n{text}");
        }
        assert_eq!(RenderedConfig::from_toml(&text).unwrap(), r);
        assert_eq!(r.bgp.peers.len(), 2);
        // RTs of the VRF and Route Distinguisher parse as the BGP crate's
        // types.
        let rd: sdwan_bgp::wire::Rd = r.vrfs[0].rd.parse().unwrap();
        assert_eq!(rd.to_string(), "10.255.0.1:1");
        let rt: sdwan_bgp::config::RouteTarget =
            serde_json::from_value(serde_json::json!(r.vrfs[0].export[0])).unwrap();
        assert_eq!(rt.0.to_string(), "rt:65000:1");
    }

    #[test]
    fn hub_and_spoke_tenants_render_roles_the_edge_turns_into_transit() {
        let tenants = vec![Tenant {
            name: "blue".into(),
            route_targets: vec!["65000:21".into(), "65000:22".into()],
            policies: vec![],
            hub_and_spoke: Some(HubAndSpoke {
                hub_rt: "65000:21".into(),
                spoke_rt: "65000:22".into(),
                hub_summary: vec!["10.0.0.0/8".into()],
            }),
        }];
        let rr = RouteReflector {
            address: "127.0.0.1".parse().unwrap(),
            port: 1179,
        };
        let hw = "[dataplane]\nworkers = 1\n[[port]]\nname = \"wan0\"\ndevice = \"net_null0\"\naddresses = [\"192.0.2.1/24\"]\n[[port]]\nname = \"lan0\"\ndevice = \"net_null1\"\nvrf = \"blue\"\naddresses = [\"10.1.0.1/24\"]\n";
        for hub in [true, false] {
            let mut d = device_with_vrf();
            d.vrfs[0].hub = hub;
            let r = render(&d, &tenants, std::slice::from_ref(&rr), None);
            let v = &r.vrfs[0];
            assert_eq!(v.topology.as_deref(), Some("hub-and-spoke"));
            assert_eq!(v.role.as_deref(), Some(if hub { "hub" } else { "spoke" }));
            assert!(v.import.is_empty() && v.export.is_empty());
            // Only the hub originates the summaries.
            assert_eq!(v.hub_summary.len(), usize::from(hub));
            let text = r.to_toml();
            assert_eq!(RenderedConfig::from_toml(&text).unwrap(), r);
            let merged =
                crate::edge_bootstrap::merge(hw, std::path::Path::new("hw.toml"), &r, 1).unwrap();
            let cfg = crate::config::parse(std::path::Path::new("m.toml"), &merged)
                .unwrap_or_else(|e| panic!("{e}\n{merged}"));
            let vrf = &cfg.overlay.unwrap().vrfs[0];
            assert_eq!(vrf.topology.is_transit(), hub, "{merged}");
            let want = if hub { "65000:21" } else { "65000:22" };
            assert_eq!(vrf.export[0].0.to_string(), format!("rt:{want}"));
            let summaries: Vec<String> = vrf.summaries.iter().map(|p| p.to_string()).collect();
            let want: &[&str] = if hub { &["10.0.0.0/8"] } else { &[] };
            assert_eq!(summaries, want, "{merged}");
        }
    }

    #[test]
    fn tenant_policies_render_per_vrf_and_the_edge_parses_them() {
        let mut d = device_with_vrf();
        d.wans[0].breakout = true;
        let voice = PolicyRule {
            vrf: None,
            name: "voice".into(),
            action: "private-only".into(),
            protocol: Some("udp".into()),
            src: None,
            dst: None,
            src_ports: None,
            dst_ports: Some("5060-5061".into()),
            dscp: Some(46),
            flow_label: None,
        };
        let web = PolicyRule {
            name: "web".into(),
            action: "internet-breakout".into(),
            protocol: None,
            dst_ports: None,
            dscp: None,
            dst: Some("198.51.100.0/24".into()),
            ..voice.clone()
        };
        let tenants = vec![Tenant {
            name: "blue".into(),
            route_targets: vec!["65000:1".into()],
            policies: vec![voice, web],
            hub_and_spoke: None,
        }];
        let rr = RouteReflector {
            address: "127.0.0.1".parse().unwrap(),
            port: 1179,
        };
        let r = render(&d, &tenants, &[rr], None);
        assert_eq!(r.policies.len(), 2);
        assert!(r.policies.iter().all(|p| p.vrf.as_deref() == Some("blue")));
        let text = r.to_toml();
        assert!(
            text.contains("[[policy]]") && text.contains("breakout = true"),
            "{text}"
        );
        assert_eq!(RenderedConfig::from_toml(&text).unwrap(), r);
        // With the box's own sections it is a config the edge accepts.
        let hw = "[dataplane]\nworkers = 1\n[[port]]\nname = \"wan0\"\ndevice = \"net_null0\"\naddresses = [\"192.0.2.1/24\"]\n[[port]]\nname = \"lan0\"\ndevice = \"net_null1\"\nvrf = \"blue\"\naddresses = [\"10.1.0.1/24\"]\n[[wan]]\nport = \"wan0\"\ngateway = \"192.0.2.254\"\n";
        let merged =
            crate::edge_bootstrap::merge(hw, std::path::Path::new("hw.toml"), &r, 1).unwrap();
        let cfg = crate::config::parse(std::path::Path::new("merged.toml"), &merged)
            .unwrap_or_else(|e| panic!("{e}\n{merged}"));
        let o = cfg.overlay.unwrap();
        assert_eq!(o.policy.rules.rules.len(), 2);
        assert_eq!(o.policy.breakout.len(), 1);
    }
}
