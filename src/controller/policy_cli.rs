//! `sdwan controller policy add|list|del|move`: a tenant's flow rules
//! over the provisioning API (`/api/v1/tenants/{t}/policies`). A rule's
//! position is its match order in every device VRF of the tenant.
use super::ops_cli::Api;
use clap::Subcommand;
use serde_json::{json, Value};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Add a rule to a tenant (pushed to its devices, applied live).
    Add {
        #[arg(long)]
        tenant: String,
        /// Traffic class name, unique in the tenant.
        #[arg(long)]
        name: String,
        /// private-only | encrypted-any | any | internet-breakout
        #[arg(long)]
        action: String,
        /// tcp | udp | icmp | icmpv6 | 0..=255
        #[arg(long)]
        protocol: Option<String>,
        /// Source prefix.
        #[arg(long)]
        src: Option<String>,
        /// Destination prefix.
        #[arg(long)]
        dst: Option<String>,
        /// "N" or "LO-HI" (needs --protocol tcp|udp).
        #[arg(long)]
        src_ports: Option<String>,
        #[arg(long)]
        dst_ports: Option<String>,
        #[arg(long)]
        dscp: Option<u8>,
        /// IPv6 flow label.
        #[arg(long)]
        flow_label: Option<u32>,
        /// Match position, from 1 (default: last).
        #[arg(long)]
        position: Option<usize>,
    },
    /// Rules in match order, of one tenant or all.
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove a rule.
    Del {
        #[arg(long)]
        tenant: String,
        name: String,
    },
    /// Move a rule to another match position.
    Move {
        #[arg(long)]
        tenant: String,
        name: String,
        #[arg(long)]
        position: usize,
    },
}

/// One line of the rules table: what the rule matches.
fn matches(r: &Value) -> String {
    let keys = [
        "protocol",
        "src",
        "dst",
        "src_ports",
        "dst_ports",
        "dscp",
        "flow_label",
    ];
    let parts: Vec<String> = keys
        .iter()
        .filter(|k| !r[**k].is_null())
        .map(|k| match &r[*k] {
            Value::String(s) => format!("{k}={s}"),
            v => format!("{k}={v}"),
        })
        .collect();
    if parts.is_empty() {
        "(everything)".into()
    } else {
        parts.join(" ")
    }
}

pub fn print_rules(rules: &Value) {
    println!(
        "{:<12} {:>4} {:<16} {:<18} MATCH",
        "TENANT", "POS", "NAME", "ACTION"
    );
    for r in rules.as_array().into_iter().flatten() {
        println!(
            "{:<12} {:>4} {:<16} {:<18} {}",
            r["tenant"].as_str().unwrap_or("?"),
            r["position"],
            r["name"].as_str().unwrap_or("?"),
            r["action"].as_str().unwrap_or("?"),
            matches(r)
        );
    }
}

fn path(tenant: &str) -> String {
    format!("/api/v1/tenants/{tenant}/policies")
}

pub fn run(api: &Api, cmd: &PolicyCommand) -> anyhow::Result<()> {
    let reply = match cmd {
        PolicyCommand::Add {
            tenant,
            name,
            action,
            protocol,
            src,
            dst,
            src_ports,
            dst_ports,
            dscp,
            flow_label,
            position,
        } => {
            let mut rule = json!({"name": name, "action": action});
            let optional = [
                ("protocol", protocol.as_ref().map(|v| json!(v))),
                ("src", src.as_ref().map(|v| json!(v))),
                ("dst", dst.as_ref().map(|v| json!(v))),
                ("src_ports", src_ports.as_ref().map(|v| json!(v))),
                ("dst_ports", dst_ports.as_ref().map(|v| json!(v))),
                ("dscp", dscp.map(|v| json!(v))),
                ("flow_label", flow_label.map(|v| json!(v))),
                ("position", position.map(|v| json!(v))),
            ];
            for (k, v) in optional {
                if let Some(v) = v {
                    rule[k] = v;
                }
            }
            api.call("POST", &path(tenant), Some(&rule))?
        }
        PolicyCommand::List { tenant, json } => {
            let rules = match tenant {
                Some(t) => api.call("GET", &path(t), None)?,
                None => api.call("GET", "/api/v1/policies", None)?,
            };
            if *json {
                println!("{}", serde_json::to_string_pretty(&rules)?);
            } else {
                print_rules(&rules);
            }
            return Ok(());
        }
        PolicyCommand::Del { tenant, name } => {
            api.call("DELETE", &format!("{}/{name}", path(tenant)), None)?
        }
        PolicyCommand::Move {
            tenant,
            name,
            position,
        } => api.call(
            "POST",
            &format!("{}/{name}/move", path(tenant)),
            Some(&json!({ "position": position })),
        )?,
    };
    print_rules(&reply["policies"]);
    let pushed: Vec<&str> = reply["pushed_to"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    eprintln!("pushed to {} device(s): {}", pushed.len(), pushed.join(" "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_match_column_lists_the_set_keys() {
        let r = json!({"name": "voice", "action": "private-only", "protocol": "udp",
                       "dst_ports": "5060-5061", "dscp": 46});
        assert_eq!(matches(&r), "protocol=udp dst_ports=5060-5061 dscp=46");
        assert_eq!(matches(&json!({"name": "all"})), "(everything)");
    }
}
