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

#[derive(Debug, Clone, Copy, Subcommand)]
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
}

impl ShowWhat {
    pub fn path(self) -> &'static str {
        match self {
            ShowWhat::Interfaces => "/api/interfaces",
            ShowWhat::Routes => "/api/routes",
            ShowWhat::Neighbors => "/api/neighbors",
            ShowWhat::Drops => "/api/drops",
            ShowWhat::Workers => "/api/workers",
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
