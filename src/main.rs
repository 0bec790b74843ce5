//! `sdwan`: the SD-WAN edge and controller binary. Config, CLI, management
//! API, metrics and the wiring of the dataplane, BGP and crypto crates.
#![forbid(unsafe_code)]

mod bgp_cmd;
mod cli;
mod config;
mod controller;
mod edge;
// Zero-touch enrollment of an edge; lives with the edge code.
#[path = "edge/bootstrap.rs"]
mod edge_bootstrap;
mod metrics;
mod mgmt;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn init_logging(filter: Option<&str>) {
    let filter = filter
        .map(tracing_subscriber::EnvFilter::new)
        .or_else(|| tracing_subscriber::EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log.as_deref());
    let result = match cli.command {
        Command::Edge(args) => match &args.config {
            Some(config) => edge::run(config),
            None => edge_bootstrap::run(&args),
        },
        Command::CheckConfig { file } => match config::load(&file) {
            Ok(c) => {
                println!(
                    "{}: ok ({} ports, {} VRFs, {} routes, {} workers)",
                    file.display(),
                    c.ports.len(),
                    c.vrfs.len(),
                    c.routes.len(),
                    c.worker_count()
                );
                Ok(())
            }
            Err(e) => Err(anyhow::Error::new(e)),
        },
        Command::Show(args) => mgmt::show::run(&args),
        Command::Route(args) => mgmt::route_cmd::run(&args),
        Command::Controller(args) => controller::run_command(&args),
        Command::Bgp(cmd) => bgp_cmd::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sdwan: {e:#}");
            ExitCode::FAILURE
        }
    }
}
