//! Command-line interface (clap).
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "sdwan", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("SDWAN_GIT_REV"), ")"),
          about = "SD-WAN edge and controller: a DPDK forwarder steered by BGP")]
pub struct Cli {
    /// Log filter (tracing EnvFilter syntax, e.g. `info,sdwan=debug`);
    /// overrides RUST_LOG.
    #[arg(long, global = true)]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the edge forwarder: from a config file, or zero-touch from a
    /// controller (`--bootstrap URL --ca FILE --serial S --hardware FILE`).
    Edge(EdgeArgs),
    /// Validate an edge configuration file without running anything.
    CheckConfig { file: PathBuf },
    /// Inspect a running edge over its management API.
    Show(ShowArgs),
    /// Change routes of a running edge over its management API.
    Route(RouteArgs),
    /// Run the controller (BGP route reflector, zero-touch provisioning),
    /// or manage a running one (`device`, `tenant`, `show`, `ca-cert`).
    Controller(crate::controller::ControllerArgs),
    /// BGP tools.
    #[command(subcommand)]
    Bgp(BgpCommand),
}

#[derive(Debug, Args)]
pub struct EdgeArgs {
    /// Edge config file.
    #[arg(
        long,
        short,
        required_unless_present = "bootstrap",
        conflicts_with = "bootstrap"
    )]
    pub config: Option<PathBuf>,
    /// Enroll with the controller at this URL (`https://HOST:PORT`), then
    /// run with the config it returns merged with `--hardware`.
    #[arg(long, requires_all = ["ca", "serial", "hardware"])]
    pub bootstrap: Option<String>,
    /// The controller's CA certificate (PEM).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// This box's serial number, as registered on the controller.
    #[arg(long)]
    pub serial: Option<String>,
    /// Box-local sections: [eal], [dataplane], [[port]], [management].
    #[arg(long)]
    pub hardware: Option<PathBuf>,
    /// Where the key, certificates and generated configs are kept.
    #[arg(long, default_value = "/var/lib/sdwan")]
    pub state_dir: PathBuf,
    /// Source address of our BGP sessions (default: the node id).
    #[arg(long)]
    pub bgp_source: Option<std::net::IpAddr>,
    /// Enroll, write the config, exit (no dataplane).
    #[arg(long)]
    pub enroll_only: bool,
    /// Enroll, then follow config pushes: write each version and print a
    /// JSON line, without starting the dataplane.
    #[arg(long, conflicts_with = "enroll_only")]
    pub follow_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum BgpCommand {
    /// Decode BGP messages: hex on stdin (one message per line) or a pcap
    /// file; prints one JSON object per message, or its RFC 7606 verdict
    /// with the offending attribute and offset.
    Decode {
        /// Read TCP streams from this pcap / pcapng file instead of stdin.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// TCP port(s) carrying BGP in the capture.
        #[arg(long, default_value = "179")]
        port: Vec<u16>,
        /// Decode AS numbers as 2 bytes (peers without RFC 6793).
        #[arg(long)]
        two_octet_as: bool,
    },
}

#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Management API address: `127.0.0.1:9900` or `unix:/path`.
    #[arg(
        long,
        global = true,
        default_value = "127.0.0.1:9900",
        env = "SDWAN_API"
    )]
    pub api: String,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Print the raw JSON the API returns.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub what: ShowWhat,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ShowWhat {
    /// Ports: state, addresses, packet counters.
    Interfaces,
    /// The FIB currently used by the workers (overlay routes show the
    /// remote node, RD, label and tunnel count).
    Routes {
        /// Only this VRF (by name).
        #[arg(long)]
        vrf: Option<String>,
    },
    /// Overlay tunnels: (local WAN port, remote WAN port), state, SPIs,
    /// packets / bytes / drops sent.
    Tunnels,
    /// IPsec SAs in both directions with their counters.
    Sa,
    /// Local WAN ports: color, kind, public address, state, tunnels up.
    Wans,
    /// Flow policies (`[[policy]]`): rules in match order, breakout.
    Policies,
    /// Client VRFs of the overlay: topology (mesh / hub / spoke), transit,
    /// Route Targets, hub summaries, per-prefix Route Targets.
    Vrfs,
    /// ARP / NDP neighbor table.
    Neighbors,
    /// Drops by reason.
    Drops,
    /// Worker threads: core, queues, busy ratio.
    Workers,
    /// BGP (controller, or an edge's own speaker): summary, neighbors, routes.
    Bgp {
        #[command(subcommand)]
        what: BgpShow,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum BgpShow {
    /// One line per peer: state, prefixes received / accepted / advertised.
    Summary,
    /// Peers in detail: negotiated families, counters, errors by reason.
    Neighbors,
    /// Loc-RIB best paths.
    Routes {
        /// vpnv4, vpnv6, ipv4-unicast, ipv6-unicast, rt-constraint, sdwan-v4, sdwan-v6
        #[arg(long)]
        family: Option<String>,
        /// Route distinguisher, e.g. 65000:1 or 192.0.2.1:7
        #[arg(long)]
        rd: Option<String>,
        /// On an edge: only the VPN routes that VRF imports (by its
        /// import Route Targets).
        #[arg(long)]
        vrf: Option<String>,
    },
}

impl ShowWhat {
    pub fn path(&self) -> String {
        match self {
            ShowWhat::Interfaces => "/api/interfaces".into(),
            ShowWhat::Routes { vrf: None } => "/api/routes".into(),
            ShowWhat::Routes { vrf: Some(v) } => format!("/api/routes?vrf={v}"),
            ShowWhat::Tunnels => "/api/tunnels".into(),
            ShowWhat::Sa => "/api/sa".into(),
            ShowWhat::Wans => "/api/wans".into(),
            ShowWhat::Policies => "/api/policies".into(),
            ShowWhat::Vrfs => "/api/vrfs".into(),
            ShowWhat::Neighbors => "/api/neighbors".into(),
            ShowWhat::Drops => "/api/drops".into(),
            ShowWhat::Workers => "/api/workers".into(),
            ShowWhat::Bgp {
                what: BgpShow::Summary,
            } => "/api/bgp/summary".into(),
            ShowWhat::Bgp {
                what: BgpShow::Neighbors,
            } => "/api/bgp/neighbors".into(),
            ShowWhat::Bgp {
                what: BgpShow::Routes { family, rd, vrf },
            } => {
                let mut q = Vec::new();
                if let Some(v) = vrf {
                    q.push(format!("vrf={v}"));
                }
                if let Some(f) = family {
                    q.push(format!("family={f}"));
                }
                if let Some(r) = rd {
                    q.push(format!("rd={r}"));
                }
                if q.is_empty() {
                    "/api/bgp/routes".into()
                } else {
                    format!("/api/bgp/routes?{}", q.join("&"))
                }
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub op: RouteOp,
}

#[derive(Debug, Subcommand)]
pub enum RouteOp {
    /// Add or replace a static route.
    Add {
        prefix: String,
        #[arg(long)]
        via: Option<String>,
        #[arg(long)]
        port: Option<String>,
        #[arg(long)]
        blackhole: bool,
        #[arg(long, default_value = "default")]
        vrf: String,
    },
    /// Remove a route.
    Del {
        prefix: String,
        #[arg(long, default_value = "default")]
        vrf: String,
    },
}
