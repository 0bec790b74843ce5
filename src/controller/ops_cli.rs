//! `sdwan controller ...`: run the controller, print its CA, or manage a
//! running one over the provisioning API (token from `--token` /
//! SDWAN_TOKEN, CA from `--ca` / SDWAN_CA).
use super::client::Client;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct ControllerArgs {
    /// Controller config file (to run it, or for `ca-cert`).
    #[arg(long, short, global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub api: ApiConn,
    #[command(subcommand)]
    pub command: Option<ControllerCommand>,
}

#[derive(Debug, Args)]
pub struct ApiConn {
    /// Provisioning API of the running controller.
    #[arg(
        long,
        global = true,
        env = "SDWAN_CONTROLLER",
        default_value = "https://127.0.0.1:8443"
    )]
    pub controller: String,
    /// API token.
    #[arg(long, global = true, env = "SDWAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The controller's CA certificate (`sdwan controller ca-cert`).
    #[arg(long, global = true, env = "SDWAN_CA")]
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ControllerCommand {
    /// Print the controller CA certificate (PEM, stdout) and its SHA-256
    /// fingerprint (stderr).
    CaCert,
    /// Register, list, update or revoke devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Tenants and their Route Targets.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// A tenant's flow policies, in match order.
    #[command(subcommand)]
    Policy(super::policy_cli::PolicyCommand),
    /// Create an API token (printed once).
    Token {
        #[arg(long)]
        name: String,
        /// admin | read
        #[arg(long, default_value = "read")]
        scope: String,
    },
    /// Devices or route reflector sessions.
    Show {
        #[command(subcommand)]
        what: ShowController,
        /// Print the API's JSON.
        #[arg(long, global = true)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ShowController {
    Devices,
    Sessions,
}

#[derive(Debug, Args)]
pub struct DeviceFields {
    #[arg(long)]
    pub site: Option<String>,
    /// Tenant (SD-WAN VPN) the device serves; repeat for several.
    #[arg(long = "tenant")]
    pub tenants: Vec<String>,
    /// WAN port role PORT:ID:COLOR[:KIND[:breakout]], e.g. `wan0:1:100:internet` (`breakout`: internet breakout leaves there).
    #[arg(long = "wan")]
    pub wans: Vec<String>,
    /// BGP source address of the device, if known before enrollment.
    #[arg(long)]
    pub bgp_source: Option<String>,
    /// Color community of the device's client routes.
    #[arg(long)]
    pub vrf_color: Option<u32>,
    /// The device is the hub of this (hub-and-spoke) tenant's VPN; repeat
    /// for several. On update, replaces the list.
    #[arg(long = "hub-of")]
    pub hub_of: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Register a device by serial number.
    Add {
        #[arg(long)]
        serial: String,
        #[command(flatten)]
        fields: DeviceFields,
        /// Node id / loopback (default: next free in the node pool).
        #[arg(long)]
        node_id: Option<String>,
        #[arg(long)]
        asn: Option<u32>,
    },
    /// Change a device (bumps its config version: pushed to the edge).
    Update {
        serial: String,
        #[command(flatten)]
        fields: DeviceFields,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        serial: String,
    },
    /// Refuse the device from now on.
    Revoke {
        serial: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create or replace a tenant (its flow policies are kept unless
    /// `--policy` is given).
    Add {
        name: String,
        /// Route Target, e.g. 65000:1; repeat for several.
        #[arg(long = "rt", required = true)]
        route_targets: Vec<String>,
        /// Replaces the tenant's flow rules, in match order; repeat for
        /// several: `name=voice,action=private-only,protocol=udp,dst_ports=5060-5061`
        /// (keys as in the edge's [[policy]]: name, action, protocol, src,
        /// dst, src_ports, dst_ports, dscp, flow_label). One rule at a
        /// time: `sdwan controller policy add|del|move`.
        #[arg(long = "policy")]
        policies: Vec<String>,
        /// Hub-and-spoke VPN: the RT hubs export (spokes import); give
        /// `--spoke-rt` too, both also as `--rt`. Hubs: `device ... --hub-of`.
        #[arg(long, requires = "spoke_rt")]
        hub_rt: Option<String>,
        /// Hub-and-spoke VPN: the RT spokes export (hubs import).
        #[arg(long, requires = "hub_rt")]
        spoke_rt: Option<String>,
        /// Hub-and-spoke VPN: a summary prefix the hubs originate to the
        /// spokes; repeat for several (default 0.0.0.0/0 and ::/0).
        #[arg(long, requires = "hub_rt")]
        hub_summary: Vec<String>,
    },
    List,
}

/// `key=value,...` of one `--policy` (numbers for dscp and flow_label).
pub fn parse_policy(s: &str) -> anyhow::Result<Value> {
    let mut m = serde_json::Map::new();
    for kv in s.split(',').filter(|kv| !kv.trim().is_empty()) {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--policy {s:?}: {kv:?} is not key=value");
        };
        let (k, v) = (k.trim(), v.trim());
        let value = match k {
            "dscp" | "flow_label" => json!(v
                .parse::<u32>()
                .with_context(|| format!("--policy {s:?}: {k} must be a number"))?),
            _ => json!(v),
        };
        if m.insert(k.to_string(), value).is_some() {
            bail!("--policy {s:?}: {k} given twice");
        }
    }
    Ok(Value::Object(m))
}

/// `PORT:ID:COLOR[:KIND[:breakout]]`.
pub fn parse_wan(s: &str) -> anyhow::Result<Value> {
    let p: Vec<&str> = s.split(':').collect();
    if !(3..=5).contains(&p.len()) {
        bail!("--wan {s:?}: expected PORT:ID:COLOR[:KIND[:breakout]]");
    }
    let breakout = match p.get(4) {
        None => false,
        Some(&"breakout") => true,
        Some(other) => bail!("--wan {s:?}: {other:?} (the fifth field can only be breakout)"),
    };
    let id: u32 = p[1]
        .parse()
        .with_context(|| format!("--wan {s:?}: bad id"))?;
    let color: u32 = p[2]
        .parse()
        .with_context(|| format!("--wan {s:?}: bad color"))?;
    Ok(
        json!({"port": p[0], "id": id, "color": color, "kind": p.get(3).copied().unwrap_or("internet"), "breakout": breakout}),
    )
}

fn fields_json(f: &DeviceFields, into: &mut serde_json::Map<String, Value>) -> anyhow::Result<()> {
    if let Some(s) = &f.site {
        into.insert("site".into(), json!(s));
    }
    if !f.tenants.is_empty() {
        into.insert("tenants".into(), json!(f.tenants));
    }
    if !f.wans.is_empty() {
        let w = f
            .wans
            .iter()
            .map(|w| parse_wan(w))
            .collect::<anyhow::Result<Vec<_>>>()?;
        into.insert("wan".into(), Value::Array(w));
    }
    if let Some(b) = &f.bgp_source {
        into.insert("bgp_source".into(), json!(b));
    }
    if let Some(c) = f.vrf_color {
        into.insert("vrf_color".into(), json!(c));
    }
    if !f.hub_of.is_empty() {
        into.insert("hub_of".into(), json!(f.hub_of));
    }
    Ok(())
}

pub(super) struct Api {
    client: Client,
    token: Option<String>,
}

impl Api {
    pub(super) fn new(c: &ApiConn) -> anyhow::Result<Api> {
        let ca_path =
            c.ca.as_ref()
                .context("--ca (or SDWAN_CA): the controller's CA certificate is required")?;
        let ca = std::fs::read_to_string(ca_path)
            .with_context(|| format!("reading {}", ca_path.display()))?;
        Ok(Api {
            client: Client::new(&c.controller, &ca, None)?,
            token: c.token.clone(),
        })
    }

    pub(super) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        self.client
            .request(
                method,
                path,
                self.token.as_deref(),
                body,
                Duration::from_secs(15),
            )?
            .json()
    }
}

fn print_devices(v: &Value) {
    println!(
        "{:<16} {:<10} {:<10} {:<14} {:<16} {:<7} {:<16} WAN",
        "SERIAL", "SITE", "STATE", "NODE", "BGP-PEER", "CONFIG", "TENANTS"
    );
    for d in v.as_array().into_iter().flatten() {
        let tenants: Vec<&str> = d["vrfs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["tenant"].as_str())
            .collect();
        let wans: Vec<String> = d["wans"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                format!(
                    "{}:{}:{}",
                    w["port"].as_str().unwrap_or("?"),
                    w["id"],
                    w["color"]
                )
            })
            .collect();
        println!(
            "{:<16} {:<10} {:<10} {:<14} {:<16} {:<7} {:<16} {}",
            d["serial"].as_str().unwrap_or("?"),
            d["site"].as_str().unwrap_or("?"),
            d["state"].as_str().unwrap_or("?"),
            d["node_id"].as_str().unwrap_or("?"),
            d["peer_address"].as_str().unwrap_or("?"),
            d["config_version"],
            tenants.join(","),
            wans.join(",")
        );
    }
}

fn print_sessions(v: &Value) {
    println!(
        "{:<16} {:<16} {:<12} {:<20} {:>8} {:>8}",
        "NEIGHBOR", "SERIAL", "STATE", "PEER-GROUP", "RCVD", "SENT"
    );
    for s in v.as_array().into_iter().flatten() {
        println!(
            "{:<16} {:<16} {:<12} {:<20} {:>8} {:>8}",
            s["neighbor"].as_str().unwrap_or("?"),
            s["serial"].as_str().unwrap_or("-"),
            s["state"].as_str().unwrap_or("?"),
            s["peer_group"].as_str().unwrap_or("-"),
            s["prefixes_received"],
            s["prefixes_advertised"]
        );
    }
}

pub fn run_command(args: &ControllerArgs) -> anyhow::Result<()> {
    let Some(cmd) = &args.command else {
        let config = args
            .config
            .as_ref()
            .context("sdwan controller: give --config FILE to run, or a subcommand")?;
        return super::run(config);
    };
    match cmd {
        ControllerCommand::CaCert => {
            let config = args
                .config
                .as_ref()
                .context("sdwan controller ca-cert: --config FILE is required")?;
            super::print_ca(config)
        }
        ControllerCommand::Device(d) => {
            let api = Api::new(&args.api)?;
            match d {
                DeviceCommand::Add {
                    serial,
                    fields,
                    node_id,
                    asn,
                } => {
                    let mut m = serde_json::Map::new();
                    m.insert("serial".into(), json!(serial));
                    fields_json(fields, &mut m)?;
                    if !m.contains_key("site") {
                        bail!("--site is required");
                    }
                    if let Some(n) = node_id {
                        m.insert("node_id".into(), json!(n));
                    }
                    if let Some(a) = asn {
                        m.insert("asn".into(), json!(a));
                    }
                    let v = api.call("POST", "/api/v1/devices", Some(&Value::Object(m)))?;
                    print_devices(&Value::Array(vec![v]));
                }
                DeviceCommand::Update { serial, fields } => {
                    let mut m = serde_json::Map::new();
                    fields_json(fields, &mut m)?;
                    let v = api.call(
                        "POST",
                        &format!("/api/v1/devices/{serial}"),
                        Some(&Value::Object(m)),
                    )?;
                    print_devices(&Value::Array(vec![v]));
                }
                DeviceCommand::List { json } => {
                    let v = api.call("GET", "/api/v1/devices", None)?;
                    if *json {
                        println!("{}", serde_json::to_string_pretty(&v)?);
                    } else {
                        print_devices(&v);
                    }
                }
                DeviceCommand::Show { serial } => {
                    let v = api.call("GET", &format!("/api/v1/devices/{serial}"), None)?;
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                DeviceCommand::Revoke { serial } => {
                    let v = api.call("POST", &format!("/api/v1/devices/{serial}/revoke"), None)?;
                    print_devices(&Value::Array(vec![v]));
                }
            }
            Ok(())
        }
        ControllerCommand::Tenant(t) => {
            let api = Api::new(&args.api)?;
            let v = match t {
                TenantCommand::Add {
                    name,
                    route_targets,
                    policies,
                    hub_rt,
                    spoke_rt,
                    hub_summary,
                } => {
                    let topology = hub_rt.clone().zip(spoke_rt.clone()).map(
                        |(h, s)| json!({"hub_rt": h, "spoke_rt": s, "hub_summary": hub_summary}),
                    );
                    let mut body = json!({"name": name, "route_targets": route_targets,
                                          "hub_and_spoke": topology});
                    if !policies.is_empty() {
                        body["policies"] = policies
                            .iter()
                            .map(|p| parse_policy(p))
                            .collect::<anyhow::Result<Vec<_>>>()?
                            .into();
                    }
                    api.call("POST", "/api/v1/tenants", Some(&body))?
                }
                TenantCommand::List => api.call("GET", "/api/v1/tenants", None)?,
            };
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
        ControllerCommand::Policy(p) => super::policy_cli::run(&Api::new(&args.api)?, p),
        ControllerCommand::Token { name, scope } => {
            let api = Api::new(&args.api)?;
            let v = api.call(
                "POST",
                "/api/v1/tokens",
                Some(&json!({"name": name, "scope": scope})),
            )?;
            println!("{}", v["token"].as_str().unwrap_or_default());
            Ok(())
        }
        ControllerCommand::Show { what, json } => {
            let api = Api::new(&args.api)?;
            let (path, print): (&str, fn(&Value)) = match what {
                ShowController::Devices => ("/api/v1/devices", print_devices),
                ShowController::Sessions => ("/api/v1/sessions", print_sessions),
            };
            let v = api.call("GET", path, None)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print(&v);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod policy_arg_tests {
    use super::*;

    #[test]
    fn policy_and_wan_arguments() {
        let p = parse_policy(
            "name=voice, action=private-only,protocol=udp,dst_ports=5060-5061,dscp=46",
        )
        .unwrap();
        assert_eq!(
            p,
            json!({"name": "voice", "action": "private-only", "protocol": "udp",
                   "dst_ports": "5060-5061", "dscp": 46})
        );
        assert!(parse_policy("name=x,dscp=high").is_err());
        assert!(parse_policy("name=x,name=y").is_err());
        assert!(parse_policy("name").is_err());
        assert_eq!(
            parse_wan("wan0:1:100:internet:breakout").unwrap()["breakout"],
            true
        );
        assert_eq!(parse_wan("wan0:1:100").unwrap()["breakout"], false);
        assert!(parse_wan("wan0:1:100:internet:fast").is_err());
    }
}
