//! `sdwan show ...`: fetch JSON from the management API and print it as a
//! table (or raw with `--json`).
use super::client;
use crate::cli::{BgpShow, ShowArgs, ShowWhat};
use serde_json::Value;

/// Columns of each table: (JSON key, header).
fn columns(what: &ShowWhat) -> &'static [(&'static str, &'static str)] {
    match what {
        ShowWhat::Interfaces => &[
            ("name", "PORT"),
            ("device", "DEVICE"),
            ("vrf", "VRF"),
            ("link", "LINK"),
            ("mac", "MAC"),
            ("addresses", "ADDRESSES"),
            ("rx_packets", "RX-PKTS"),
            ("tx_packets", "TX-PKTS"),
            ("rx_bytes", "RX-BYTES"),
            ("tx_bytes", "TX-BYTES"),
        ],
        ShowWhat::Routes { .. } => &[
            ("vrf", "VRF"),
            ("prefix", "PREFIX"),
            ("next_hop", "NEXT-HOP"),
            ("rd", "RD"),
            ("label", "LABEL"),
            ("inner", "INNER"),
        ],
        ShowWhat::Tunnels => &[
            ("local_port", "LOCAL"),
            ("remote_node", "REMOTE-NODE"),
            ("remote_port", "PORT"),
            ("remote_endpoint", "ENDPOINT"),
            ("color", "COLOR"),
            ("state", "STATE"),
            ("spi_out", "SPI-OUT"),
            ("spi_in", "SPI-IN"),
            ("packets", "PKTS-OUT"),
            ("bytes", "BYTES-OUT"),
            ("native_packets", "NATIVE-OUT"),
            ("drops", "DROPS"),
        ],
        ShowWhat::Wans => &[
            ("id", "WAN"),
            ("port", "PORT"),
            ("color", "COLOR"),
            ("kind", "KIND"),
            ("public_address", "PUBLIC-ADDRESS"),
            ("state", "STATE"),
            ("tunnels_up", "TUNNELS-UP"),
            ("rate_limit_pps", "LIMIT-PPS"),
            ("guard_rate_limited", "RATE-LIMITED"),
            ("guard_filtered", "FILTERED"),
            ("guard_transit", "TRANSIT"),
        ],
        ShowWhat::Vrfs => &[
            ("name", "VRF"),
            ("id", "ID"),
            ("topology", "TOPOLOGY"),
            ("transit", "TRANSIT"),
            ("rd", "RD"),
            ("label", "LABEL"),
            ("import", "IMPORT"),
            ("export", "EXPORT"),
            ("summaries", "SUMMARIES"),
            ("prefix_route_targets", "PREFIX-RTS"),
        ],
        ShowWhat::Sa => &[
            ("direction", "DIR"),
            ("spi", "SPI"),
            ("local_port", "LOCAL"),
            ("remote_node", "REMOTE-NODE"),
            ("remote_endpoint", "ENDPOINT"),
            ("cipher", "CIPHER"),
            ("esn", "ESN"),
            ("replay_window", "WINDOW"),
            ("packets", "PKTS"),
            ("bytes", "BYTES"),
            ("drops", "DROPS"),
        ],
        ShowWhat::Policies => &[
            ("vrf", "VRF"),
            ("name", "CLASS"),
            ("action", "ACTION"),
            ("matches", "MATCH"),
        ],
        ShowWhat::Neighbors => &[
            ("port", "PORT"),
            ("ip", "ADDRESS"),
            ("mac", "MAC"),
            ("state", "STATE"),
            ("age_s", "AGE(s)"),
        ],
        ShowWhat::Drops => &[("reason", "REASON"), ("packets", "PACKETS")],
        ShowWhat::Workers => &[
            ("id", "WORKER"),
            ("core", "CORE"),
            ("queues", "PORT/QUEUE"),
            ("rx_packets", "RX-PKTS"),
            ("busy_ratio", "BUSY"),
        ],
        ShowWhat::Bgp {
            what: BgpShow::Summary | BgpShow::Neighbors,
        } => &[
            ("neighbor", "NEIGHBOR"),
            ("remote_as", "AS"),
            ("peer_group", "GROUP"),
            ("state", "STATE"),
            ("uptime_secs", "UP(s)"),
            ("prefixes_received", "PFX-RCVD"),
            ("prefixes_accepted", "PFX-ACC"),
            ("prefixes_advertised", "PFX-ADV"),
            ("families", "FAMILIES"),
        ],
        ShowWhat::Bgp {
            what: BgpShow::Routes { .. },
        } => &[
            ("family", "FAMILY"),
            ("route", "ROUTE"),
            ("next_hop", "NEXT-HOP"),
            ("label", "LABEL"),
            ("ext_communities", "EXT-COMMUNITIES"),
            ("peer", "FROM"),
        ],
    }
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| cell(Some(x)))
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Number(n)) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                format!("{f:.3}")
            } else {
                n.to_string()
            }
        }
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", cell(Some(v))))
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
    }
}

pub fn render_table(what: &ShowWhat, rows: &Value) -> String {
    let cols = columns(what);
    let rows: Vec<Vec<String>> = rows
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| cols.iter().map(|(k, _)| cell(r.get(*k))).collect())
                .collect()
        })
        .unwrap_or_default();
    let mut widths: Vec<usize> = cols.iter().map(|(_, h)| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    out.push_str(&line(cols.iter().map(|(_, h)| *h).collect()));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

pub fn run(args: &ShowArgs) -> anyhow::Result<()> {
    let v = client::get_json(&args.api.api, &args.what.path())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if let ShowWhat::Bgp {
        what: BgpShow::Summary,
    } = &args.what
    {
        println!(
            "BGP router id {}, AS {}, {} routes in Loc-RIB",
            v["router_id"].as_str().unwrap_or("?"),
            v["asn"],
            v["loc_rib_routes"]
        );
        print!("{}", render_table(&args.what, &v["peers"]));
    } else if let ShowWhat::Policies = &args.what {
        print!("{}", render_table(&args.what, &v["rules"]));
        println!(
            "(no rule matches: {})",
            v["default"].as_str().unwrap_or("?")
        );
        for b in v["breakout"].as_array().into_iter().flatten() {
            println!(
                "breakout: VRF {} via {} as {} (NAT ports {})",
                cell(b.get("vrf")),
                cell(b.get("port")),
                cell(b.get("public_address")),
                cell(b.get("nat_ports"))
            );
        }
    } else {
        print!("{}", render_table(&args.what, &v));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_marks_missing_cells() {
        let rows = serde_json::json!([
            {"reason": "no_route", "packets": 3},
            {"reason": "ttl_expired"}
        ]);
        let t = render_table(&ShowWhat::Drops, &rows);
        assert_eq!(t, "REASON       PACKETS\nno_route     3\nttl_expired  -\n");
    }

    #[test]
    fn vrf_table_flattens_lists_and_prefix_route_targets() {
        let rows = serde_json::json!([{
            "name": "corp", "id": 1, "topology": "mesh", "transit": false,
            "rd": "65000:11", "label": 1101,
            "import": ["rt:65000:1", "rt:65000:900"], "export": ["rt:65000:1"],
            "summaries": [],
            "prefix_route_targets": {"10.99.0.0/24": ["rt:65000:900"]}
        }]);
        let t = render_table(&ShowWhat::Vrfs, &rows);
        let line = t.lines().nth(1).unwrap();
        assert!(line.contains("rt:65000:1,rt:65000:900"), "{t}");
        assert!(line.ends_with("10.99.0.0/24=rt:65000:900"), "{t}");
        assert!(line.starts_with("corp  1   mesh      false"), "{t}");
    }
}
