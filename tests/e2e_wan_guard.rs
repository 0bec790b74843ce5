//! The guard of an internet WAN port end to end (issue #7, draft §6.2.2
//! "Internet-facing ports"): the overlay test's topology (controller, two
//! edges, clients per VRF, the internet bridge; tests/e2e_overlay/) with
//! prefix `gd` and a guarded `[[wan]]` (1000 pps, burst 100 per source;
//! UDP 7777 from the attacker's address allowed as "management"), plus an
//! attacker host `gd-atk` (203.0.113.66, 2001:db8:ffff::66) on the bridge.
//!
//! Checks: the attacker's echo to edge1's WAN address is answered (IPv4
//! and IPv6) and its allowed UDP 7777 reaches the edge's local delivery;
//! then it floods edge1's WAN address for 6 s (tests/py/wan_flood.py: TCP
//! SYN to 179, UDP to random ports over IPv4 and IPv6, ESP-in-UDP with a
//! bogus SPI, transit through the edge) while blue site 1 pings blue site
//! 2 through the overlay: at most 1 % of the pings may be lost; edge1
//! counts `wan_rate_limited`, `wan_filtered`, `wan_transit` and
//! `esp_bad_spi` (in `/api/drops`, `/api/wans` and `/metrics`); and no
//! BGP session or overlay route changed.
#![forbid(unsafe_code)]

mod common;

#[path = "e2e_overlay/configs.rs"]
#[allow(dead_code)]
mod configs;
#[path = "e2e_overlay/harness.rs"]
#[allow(dead_code)]
mod harness;

use common::overlay::*;
use common::*;
use harness::*;
use serde_json::Value;

const GUARD: &str = r#"rate_limit_pps = 1000
rate_limit_burst = 100
allow = [{ protocol = "udp", port = 7777, from = ["203.0.113.66/32"] }]
"#;

const FLOOD_SECS: &str = "6";
const FLOOD_PPS: &str = "4000";

/// The BGP sessions of an edge as (neighbor, state, prefixes received),
/// and their uptimes.
fn bgp_state(o: &Overlay, site: usize) -> (Vec<(String, String, u64)>, Vec<u64>) {
    let s = o.edges[site]
        .api_get("/api/bgp/summary")
        .unwrap_or_default();
    let rows = s.as_array().cloned().unwrap_or_default();
    let state = rows
        .iter()
        .map(|r| {
            (
                r["neighbor"].to_string(),
                r["state"].to_string(),
                r["prefixes_received"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let uptimes = rows
        .iter()
        .map(|r| r["uptime_secs"].as_u64().unwrap_or(0))
        .collect();
    (state, uptimes)
}

/// Every route of an edge as (vrf, prefix, next hop).
fn routes(o: &Overlay, site: usize) -> Vec<(String, String, String)> {
    let r = o.edges[site].api_get("/api/routes").unwrap_or_default();
    r.as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["vrf"].to_string(),
                        r["prefix"].to_string(),
                        r["next_hop"].to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn wan_row(o: &Overlay) -> Value {
    let w = o.edges[0].api_get("/api/wans").unwrap_or_default();
    w.as_array()
        .and_then(|a| a.first().cloned())
        .unwrap_or(Value::Null)
}

#[test]
fn internet_wan_port_filters_and_limits_a_flood_while_the_overlay_carries_on() {
    let _g = serial();
    if skip_unless_root() {
        return;
    }
    let o = Overlay::with_wan_config("gd", false, GUARD);
    let attacker = Netns::new("gd-atk");
    o.internet.attach_host(
        &attacker,
        "gdatkb",
        "gdatk",
        "203.0.113.66/24",
        "2001:db8:ffff::66/64",
    );
    // Transit attempt: the edge as the attacker's gateway to elsewhere.
    attacker.must(&[
        "ip",
        "route",
        "add",
        "198.51.100.0/24",
        "via",
        "203.0.113.1",
    ]);
    o.wait_converged(90);
    o.ping(o.client("blue", 1), "10.2.0.2");

    // Echo to the WAN address is answered, IPv4 and IPv6.
    for (v, dst) in [("-4", "203.0.113.1"), ("-6", "2001:db8:ffff::1")] {
        let ok = wait_for(10, || {
            attacker
                .exec(&["ping", v, "-c", "1", "-W", "1", dst])
                .status
                .success()
                .then_some(())
        });
        assert!(
            ok.is_some(),
            "attacker's echo to {dst} not answered\n{}",
            o.diagnostics()
        );
    }

    // Allowed management traffic goes to local delivery (this edge has no
    // exception path yet, so the glue counts it as local_unhandled).
    let before = o.edges[0].show_json("drops");
    attacker.must(&[
        "/usr/bin/python3",
        "-c",
        "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(20):\n  s.sendto(b'mgmt',('203.0.113.1',7777)); time.sleep(0.01)",
    ]);
    let delivered = wait_for(5, || {
        let d = o.edges[0].show_json("drops");
        (drop_count(&d, "local_unhandled") >= drop_count(&before, "local_unhandled") + 20)
            .then_some(())
    });
    assert!(
        delivered.is_some(),
        "allowed UDP 7777 not delivered locally: {}",
        o.edges[0].show_json("drops")
    );
    assert_eq!(
        drop_count(&o.edges[0].show_json("drops"), "wan_filtered"),
        drop_count(&before, "wan_filtered"),
        "allowed traffic was filtered"
    );

    let bgp_before = [bgp_state(&o, 0), bgp_state(&o, 1)];
    let routes_before = [routes(&o, 0), routes(&o, 1)];
    let wan_before = wan_row(&o);

    // The flood and, meanwhile, a 300-packet ping stream through the overlay.
    let ns = o.client("blue", 1).name.clone();
    let pinger = std::thread::spawn(move || {
        run(
            "ip",
            &[
                "netns", "exec", &ns, "ping", "-4", "-c", "300", "-i", "0.02", "-W", "2",
                "10.2.0.2",
            ],
        )
    });
    let flood = attacker.exec(&[
        "/usr/bin/python3",
        &py("wan_flood.py"),
        "203.0.113.1",
        "2001:db8:ffff::1",
        "198.51.100.77",
        FLOOD_SECS,
        FLOOD_PPS,
    ]);
    let ping = pinger.join().expect("ping thread");
    assert!(
        flood.status.success(),
        "wan_flood.py: {}",
        String::from_utf8_lossy(&flood.stderr)
    );
    let sent: Value = serde_json::from_slice(&flood.stdout).expect("wan_flood.py prints JSON");
    let total: u64 = sent
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    eprintln!("flood sent {total}: {sent}");
    assert!(
        total > 5_000,
        "the flood was too weak to test anything: {sent}"
    );

    let text = String::from_utf8_lossy(&ping.stdout);
    let received: u64 = text
        .split(',')
        .find_map(|p| p.trim().strip_suffix(" received")?.parse().ok())
        .unwrap_or(0);
    eprintln!("overlay ping during the flood: {received}/300 answered");
    assert!(
        received >= 297,
        "more than 1 % of the overlay pings lost during the flood:\n{text}\n{}",
        o.diagnostics()
    );

    // What edge1 counted.
    let drops = o.edges[0].show_json("drops");
    eprintln!("edge1 drops after the flood: {drops}");
    let count = |r: &str| drop_count(&drops, r);
    assert!(count("wan_rate_limited") > 0, "{drops}");
    assert!(count("wan_filtered") > 0, "{drops}");
    assert!(count("wan_transit") > 0, "{drops}");
    assert!(count("esp_bad_spi") > 0, "{drops}");
    let wan = wan_row(&o);
    eprintln!("edge1 /api/wans: {wan}");
    let grew = |k: &str| wan[k].as_u64().unwrap_or(0) > wan_before[k].as_u64().unwrap_or(0);
    for k in [
        "guard_passed",
        "guard_rate_limited",
        "guard_filtered",
        "guard_transit",
    ] {
        assert!(grew(k), "{k} did not grow: {wan_before} -> {wan}");
    }
    assert_eq!(
        wan["guard_rate_limited"].as_u64(),
        Some(count("wan_rate_limited"))
    );
    // The limiter let through at most ~1000 pps of the attacker's IPv4
    // (plus its IPv6 /64 and edge2's tunnel): far less than it sent.
    let passed = wan["guard_passed"].as_u64().unwrap_or(0)
        - wan_before["guard_passed"].as_u64().unwrap_or(0);
    assert!(passed < total, "passed {passed} of {total}");
    let (_, metrics) = http(&o.edges[0].api, "GET", "/metrics", "").expect("/metrics");
    let limited_metric = metrics
        .lines()
        .find(|l| {
            l.starts_with("sdwan_wan_guard_packets_total{") && l.contains("result=\"rate_limited\"")
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
    assert!(
        limited_metric.is_some_and(|n| n > 0.0),
        "sdwan_wan_guard_packets_total rate_limited missing:\n{metrics}"
    );

    // No BGP session flapped, nothing was learned or lost.
    for site in 0..2 {
        let (state, uptimes) = bgp_state(&o, site);
        assert_eq!(state, bgp_before[site].0, "edge{} BGP changed", site + 1);
        assert!(
            uptimes
                .iter()
                .zip(&bgp_before[site].1)
                .all(|(after, before)| after >= before),
            "edge{} BGP session restarted: {:?} -> {uptimes:?}",
            site + 1,
            bgp_before[site].1
        );
        assert_eq!(
            routes(&o, site),
            routes_before[site],
            "edge{} routes changed",
            site + 1
        );
    }
    o.ping(o.client("blue", 1), "10.2.0.2");
}
