//! A tenant is checked with the edge's own config code before anything is
//! stored or pushed, so the controller refuses exactly what an edge would
//! refuse: the tenant is rendered by `render::render` (as for a real
//! device) into the one VRF of a made-up device (its hub when the tenant
//! is hub-and-spoke, so `hub_summary` is checked too; an internet WAN port
//! marked breakout), merged with a small hardware file by the edge's
//! bootstrap merge, and parsed by `config::parse`. An error is mapped back
//! to the tenant's terms: the rule (by name and position) and its field,
//! or the tenant field.
use crate::controller::registry::model::{
    default_encap, Device, DeviceState, DeviceVrf, Tenant, WanPort,
};
use crate::controller::render::{render, RouteReflector};
use std::fmt;
use std::path::Path;

/// Why an edge would refuse a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub tenant: String,
    /// Index of the offending rule in the tenant's policies.
    pub rule: Option<(usize, String)>,
    /// The rule's field (`dst_ports`), or the tenant's
    /// (`hub_and_spoke.hub_summary[0]`, `route_targets`).
    pub field: String,
    pub message: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tenant {:?}: ", self.tenant)?;
        if let Some((i, name)) = &self.rule {
            write!(f, "policy {name:?} (position {}): ", i + 1)?;
        }
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The box around the rendered tenant: one worker (breakout requires
/// it), a WAN port and a LAN port in the tenant's VRF.
fn hardware(vrf: &str) -> String {
    format!(
        r#"
[dataplane]
workers = 1

[[port]]
name = "wan0"
device = "net_null0"
addresses = ["192.0.2.1/24"]

[[port]]
name = "lan0"
device = "net_null1"
vrf = "{vrf}"
addresses = ["10.0.0.1/24"]

[[wan]]
port = "wan0"
gateway = "192.0.2.254"
"#
    )
}

/// The device the tenant is rendered for.
fn probe_device(t: &Tenant) -> Device {
    Device {
        serial: "tenant-check".into(),
        site: "check".into(),
        state: DeviceState::Enrolled,
        node_id: "10.255.255.1".parse().expect("static address"),
        asn: 65000,
        bgp_source: None,
        vrfs: vec![DeviceVrf {
            tenant: t.name.clone(),
            name: t.name.clone(),
            id: 1,
            rd: "10.255.255.1:1".into(),
            label: 1001,
            color: None,
            import: Vec::new(),
            export: Vec::new(),
            encap: default_encap(),
            hub: t.hub_and_spoke.is_some(),
        }],
        wans: vec![WanPort {
            port: "wan0".into(),
            id: 1,
            color: 1,
            kind: "internet".into(),
            breakout: true,
        }],
        config_version: 1,
        md5_key: "tenant-check".into(),
        cert_fingerprint: None,
    }
}

/// Maps the edge's field (`policy[1].dst`, `vrf[0].hub_summary[0]`) to
/// the tenant's terms.
fn refused(t: &Tenant, field: &str, message: String) -> Refused {
    let mut r = Refused {
        tenant: t.name.clone(),
        rule: None,
        field: field.to_string(),
        message,
    };
    if let Some(rest) = field.strip_prefix("policy[") {
        if let Some((i, key)) = rest.split_once(']') {
            if let Some(rule) = i
                .parse::<usize>()
                .ok()
                .and_then(|i| t.policies.get(i).map(|p| (i, p)))
            {
                r.rule = Some((rule.0, rule.1.name.clone()));
                r.field = key.trim_start_matches('.').to_string();
                if r.field.is_empty() {
                    r.field = "rule".into();
                }
            }
        }
    } else if let Some(rest) = field
        .strip_prefix("vrf[0].")
        .or_else(|| field.strip_prefix("vrf."))
    {
        r.field = match rest.split(['[', '.']).next().unwrap_or(rest) {
            "hub_rt" | "spoke_rt" | "hub_summary" | "role" | "topology" => {
                format!("hub_and_spoke.{rest}")
            }
            "import" | "export" | "route_target" => "route_targets".into(),
            _ => rest.to_string(),
        };
    }
    r
}

/// Why tenant `t` (its Route Targets, topology and policies) would be
/// refused by an edge.
pub fn check(t: &Tenant) -> Result<(), Refused> {
    if let Some((i, r)) = t.policies.iter().enumerate().find(|(_, r)| r.vrf.is_some()) {
        return Err(Refused {
            tenant: t.name.clone(),
            rule: Some((i, r.name.clone())),
            field: "vrf".into(),
            message: "a tenant's rule has no vrf: it applies in every device VRF of the tenant"
                .into(),
        });
    }
    // Rules are addressed by name in the API's paths.
    for (i, r) in t.policies.iter().enumerate() {
        if let Err(m) = super::devices::check_name("policy name", &r.name) {
            return Err(Refused {
                tenant: t.name.clone(),
                rule: Some((i, r.name.clone())),
                field: "name".into(),
                message: m,
            });
        }
    }
    let mut names = std::collections::HashSet::new();
    if let Some((i, r)) = t
        .policies
        .iter()
        .enumerate()
        .find(|(_, r)| !names.insert(r.name.trim()))
    {
        return Err(Refused {
            tenant: t.name.clone(),
            rule: Some((i, r.name.clone())),
            field: "name".into(),
            message: "another rule of the tenant has this name (rules are addressed by name)"
                .into(),
        });
    }
    let rr = RouteReflector {
        address: "127.0.0.1".parse().expect("static address"),
        port: 179,
    };
    let rendered = render(&probe_device(t), std::slice::from_ref(t), &[rr], None);
    let hw = hardware(&t.name);
    let merged = crate::edge_bootstrap::merge(&hw, Path::new("tenant-check"), &rendered, 1)
        .map_err(|e| refused(t, "tenant", format!("{e:#}")))?;
    crate::config::parse(Path::new("tenant-check"), &merged)
        .map(|_| ())
        .map_err(|e| refused(t, &e.field, e.message))
}
/// A device hosting a tenant with `internet-breakout` rules needs a WAN
/// port marked `breakout` (the edge refuses the config otherwise).
pub fn breakout_ok(d: &Device, tenants: &[Tenant]) -> Result<(), String> {
    if d.wans.iter().any(|w| w.breakout) {
        return Ok(());
    }
    for v in &d.vrfs {
        let Some(t) = tenants.iter().find(|t| t.name == v.tenant) else {
            continue;
        };
        if let Some(r) = t.policies.iter().find(|r| r.is_breakout()) {
            return Err(format!(
                "device {:?}: tenant {:?} has internet-breakout policy {:?} but the device has no breakout WAN port (--wan PORT:ID:COLOR:internet:breakout)",
                d.serial, t.name, r.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::registry::model::{HubAndSpoke, PolicyRule};

    fn rule(name: &str, action: &str) -> PolicyRule {
        PolicyRule {
            vrf: None,
            name: name.into(),
            action: action.into(),
            protocol: None,
            src: None,
            dst: None,
            src_ports: None,
            dst_ports: None,
            dscp: None,
            flow_label: None,
        }
    }

    fn tenant(policies: Vec<PolicyRule>) -> Tenant {
        Tenant {
            name: "acme".into(),
            route_targets: vec!["65000:1".into(), "65000:2".into()],
            policies,
            hub_and_spoke: None,
        }
    }

    #[test]
    fn the_edge_parser_judges_tenant_rules() {
        let voice = PolicyRule {
            protocol: Some("udp".into()),
            dst_ports: Some("5060-5061".into()),
            dscp: Some(46),
            ..rule("voice", "private-only")
        };
        let web = PolicyRule {
            dst: Some("198.51.100.0/24".into()),
            ..rule("web", "internet-breakout")
        };
        assert_eq!(check(&tenant(vec![voice.clone(), web])), Ok(()));
        let bad = [
            (rule("x", "fast"), "action", "private-only"),
            (
                PolicyRule {
                    dst: Some("10.0.0.1/8".into()),
                    ..rule("x", "any")
                },
                "dst",
                "beyond",
            ),
            (
                PolicyRule {
                    dst_ports: Some("80".into()),
                    ..rule("x", "any")
                },
                "dst_ports",
                "protocol",
            ),
            (
                PolicyRule {
                    dscp: Some(64),
                    ..rule("x", "any")
                },
                "dscp",
                "> 63",
            ),
            (
                PolicyRule {
                    flow_label: Some(1 << 20),
                    ..rule("x", "any")
                },
                "flow_label",
                "20 bits",
            ),
            (
                PolicyRule {
                    vrf: Some("v".into()),
                    ..rule("x", "any")
                },
                "vrf",
                "every device VRF",
            ),
            (rule("voice", "any"), "name", "another rule"),
            (rule("x/y", "any"), "name", "A-Z a-z 0-9"),
        ];
        for (r, field, words) in bad {
            let rule_name = r.name.clone();
            let e = check(&tenant(vec![voice.clone(), r])).unwrap_err();
            assert_eq!(e.rule, Some((1, rule_name.clone())), "{e}");
            assert_eq!(e.field, field, "{e}");
            assert!(e.message.contains(words), "{e}");
            let text = e.to_string();
            assert!(
                text.starts_with(&format!(
                    "tenant \"acme\": policy \"{rule_name}\" (position 2): {field}: "
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn hub_and_spoke_keys_are_judged_by_the_edge_too() {
        let mut t = tenant(vec![]);
        t.hub_and_spoke = Some(HubAndSpoke {
            hub_rt: "65000:1".into(),
            spoke_rt: "65000:2".into(),
            hub_summary: vec!["10.0.0.0/8".into(), "::/0".into()],
        });
        assert_eq!(check(&t), Ok(()));
        t.hub_and_spoke.as_mut().unwrap().hub_summary =
            vec!["10.0.0.0/8".into(), "10.1.2.3/8".into()];
        let e = check(&t).unwrap_err();
        assert_eq!(e.field, "hub_and_spoke.hub_summary[1]", "{e}");
        assert_eq!(e.rule, None);
        t.hub_and_spoke.as_mut().unwrap().hub_summary = vec!["not-a-prefix".into()];
        let e = check(&t).unwrap_err();
        assert!(e.field.starts_with("hub_and_spoke.hub_summary"), "{e}");
    }
}
