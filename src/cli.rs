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
    /// Run the edge forwarder.
    Edge {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate an edge configuration file without running anything.
    CheckConfig { file: PathBuf },
    /// Inspect a running edge over its management API.
    Show(ShowArgs),
    /// Change routes of a running edge over its management API.
    Route(RouteArgs),
    /// Run the controller: the BGP route reflector.
    Controller {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// BGP tools.
    #[command(subcommand)]
    Bgp(BgpCommand),
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
    /// The FIB currently used by the workers.
    Routes,
    /// ARP / NDP neighbor table.
    Neighbors,
    /// Drops by reason.
    Drops,
    /// Worker threads: core, queues, busy ratio.
    Workers,
    /// BGP (on the controller): summary, neighbors, routes.
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
    },
}

impl ShowWhat {
    pub fn path(&self) -> String {
        match self {
            ShowWhat::Interfaces => "/api/interfaces".into(),
            ShowWhat::Routes => "/api/routes".into(),
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
                what: BgpShow::Routes { family, rd },
            } => {
                let mut q = Vec::new();
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
