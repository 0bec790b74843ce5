//! `sdwan route add|del`: route changes through the management API.
use super::client;
use crate::cli::{RouteArgs, RouteOp};

pub fn run(args: &RouteArgs) -> anyhow::Result<()> {
    let body = match &args.op {
        RouteOp::Add {
            prefix,
            via,
            port,
            blackhole,
            vrf,
        } => {
            serde_json::json!([{ "op": "add", "vrf": vrf, "prefix": prefix, "via": via, "port": port, "blackhole": blackhole }])
        }
        RouteOp::Del { prefix, vrf } => {
            serde_json::json!([{ "op": "del", "vrf": vrf, "prefix": prefix }])
        }
    };
    let r = client::request(
        &args.api.api,
        "POST",
        "/api/routes",
        Some(&body.to_string()),
    )?;
    let v = client::parse_reply(r)?;
    println!("{}", v);
    Ok(())
}
