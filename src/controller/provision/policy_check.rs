//! Tenant flow policies are checked with the edge's own config parser
//! (`config::policy`), so the controller refuses exactly what an edge
//! would refuse, before anything is stored or pushed: each rule is
//! rendered as `[[policy]]` of one VRF into a small but complete edge
//! config (one internet WAN with breakout, one LAN port) and parsed.
use crate::controller::registry::model::{Device, PolicyRule, Tenant};
use std::path::Path;

/// The edge config around the rules (one worker: breakout requires it).
const FRAME: &str = r#"
[dataplane]
workers = 1

[node]
id = "10.255.255.1"
asn = 65000

[[bgp.peer]]
address = "127.0.0.1"

[[wan]]
port = "wan0"
id = 1
color = 1
kind = "internet"
gateway = "192.0.2.254"
breakout = true

[[vrf]]
name = "v"
id = 1
rd = "65000:1"
route_target = "65000:1"
label = 100

[[port]]
name = "wan0"
device = "net_null0"
addresses = ["192.0.2.1/24"]

[[port]]
name = "lan0"
device = "net_null1"
vrf = "v"
addresses = ["10.0.0.1/24"]
"#;

#[derive(serde::Serialize)]
struct Rules<'a> {
    policy: Vec<&'a PolicyRule>,
}

/// Why tenant `t`'s policies would be refused by an edge, naming the rule.
pub fn check(t: &Tenant) -> Result<(), String> {
    let mut rules = Vec::new();
    for (i, r) in t.policies.iter().enumerate() {
        if r.vrf.is_some() {
            return Err(format!(
                "tenant {:?}: policy {i} ({:?}): no vrf: the rule applies in every device VRF of the tenant",
                t.name, r.name
            ));
        }
        rules.push(PolicyRule {
            vrf: Some("v".into()),
            ..r.clone()
        });
    }
    let text = toml::to_string(&Rules {
        policy: rules.iter().collect(),
    })
    .map_err(|e| format!("tenant {:?}: policies: {e}", t.name))?;
    if rules.is_empty() {
        return Ok(());
    }
    // The rules first: array tables, then the frame's own tables.
    match crate::config::parse(Path::new("policy"), &format!("{text}\n{FRAME}")) {
        Ok(_) => Ok(()),
        Err(e) => {
            // `policy[i].field`: name the rule by index and name.
            let name = e
                .field
                .strip_prefix("policy[")
                .and_then(|f| f.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| t.policies.get(i).map(|r| format!(" ({:?})", r.name)))
                .unwrap_or_default();
            Err(format!(
                "tenant {:?}: {}{name}: {}",
                t.name, e.field, e.message
            ))
        }
    }
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
            route_targets: vec!["65000:1".into()],
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
            (rule("x", "fast"), "policy[1].action", "private-only"),
            (
                PolicyRule {
                    dst: Some("10.0.0.1/8".into()),
                    ..rule("x", "any")
                },
                "policy[1].dst",
                "beyond",
            ),
            (
                PolicyRule {
                    dst_ports: Some("80".into()),
                    ..rule("x", "any")
                },
                "policy[1].dst_ports",
                "protocol",
            ),
            (
                PolicyRule {
                    vrf: Some("v".into()),
                    ..rule("x", "any")
                },
                "no vrf",
                "every device VRF",
            ),
        ];
        for (r, field, words) in bad {
            let e = check(&tenant(vec![voice.clone(), r])).unwrap_err();
            assert!(e.contains(field) && e.contains(words), "{e}");
            assert!(e.starts_with("tenant \"acme\""), "{e}");
        }
    }
}
