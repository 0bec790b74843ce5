//! End to end through real DPDK: two namespaces joined by the edge's two
//! TAP vdev ports. IPv4 and IPv6 forwarding with exact counters, ICMP from
//! the edge, malformed frames dropped under their reasons, route churn
//! without loss, and a clean SIGTERM shutdown.
#![forbid(unsafe_code)]

mod common;

use common::*;
use std::time::{Duration, Instant};

struct Site {
    edge: Edge,
    a: Netns,
    b: Netns,
}

/// Edge with lan0 = 10.{n}.1.1/24, fd{n}:1::1/64 toward namespace A and
/// lan1 = 10.{n}.2.1/24, fd{n}:2::1/64 toward namespace B.
fn site(n: u8, extra_config: &str) -> Site {
    require_root();
    let tap_a = format!("sdwt{n}a");
    let tap_b = format!("sdwt{n}b");
    let api = format!("127.0.0.1:{}", 19000 + n as u16);
    let config = format!(
        r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--log-level=notice"]

[[port]]
name = "lan0"
device = "net_tap0,iface={tap_a}"
addresses = ["10.{n}.1.1/24", "fd{n}:1::1/64"]

[[port]]
name = "lan1"
device = "net_tap1,iface={tap_b}"
addresses = ["10.{n}.2.1/24", "fd{n}:2::1/64"]

[management]
listen = "{api}"
{extra_config}
"#
    );
    let a = Netns::new(&format!("sdwt{n}-a"));
    let b = Netns::new(&format!("sdwt{n}-b"));
    let edge = Edge::start(&config, &api, &[&tap_a, &tap_b]);
    a.take_link(
        &tap_a,
        &format!("10.{n}.1.2/24"),
        &format!("10.{n}.1.1"),
        &format!("fd{n}:1::2/64"),
        &format!("fd{n}:1::1"),
    );
    b.take_link(
        &tap_b,
        &format!("10.{n}.2.2/24"),
        &format!("10.{n}.2.1"),
        &format!("fd{n}:2::2/64"),
        &format!("fd{n}:2::1"),
    );
    Site { edge, a, b }
}

/// Sends `count` UDP datagrams from A to `dst` and returns how many
/// distinct ones B received.
fn udp_flow(s: &Site, dst: &str, port: u16, count: u32, pps: u32) -> u32 {
    let port_s = port.to_string();
    let count_s = count.to_string();
    let timeout = (count / pps + 5).to_string();
    let mut rx = s.b.spawn(&[
        "/usr/bin/python3",
        &py("udp_flow.py"),
        "recv",
        &port_s,
        &count_s,
        &timeout,
    ]);
    // wait for "ready"
    let mut stdout = std::io::BufReader::new(rx.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    s.a.must(&[
        "/usr/bin/python3",
        &py("udp_flow.py"),
        "send",
        dst,
        &port_s,
        &count_s,
        &pps.to_string(),
    ]);
    line.clear();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let _ = rx.wait();
    line.trim()
        .strip_prefix("received ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("receiver said {line:?}"))
}

#[test]
fn forwards_ipv4_and_ipv6_between_namespaces_with_matching_counters() {
    let _g = serial();
    let sock = "/tmp/sdwt71-metrics.sock";
    let s = site(71, &format!("[metrics]\nlisten = \"unix:{sock}\""));
    // Warm up: resolves neighbors on both sides.
    ping_ok(
        &s.a,
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.71.2.2"],
    );
    ping_ok(
        &s.a,
        &["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "fd71:2::2"],
    );

    for (dst, port) in [("10.71.2.2", 5001u16), ("fd71:2::2", 5002)] {
        let before_ifs = s.edge.show_json("interfaces");
        let rx0 = port_counter(&before_ifs, "lan0", "rx_packets");
        let tx0 = port_counter(&before_ifs, "lan1", "tx_packets");
        let got = udp_flow(&s, dst, port, 500, 1000);
        assert_eq!(got, 500, "every datagram to {dst} must arrive");
        let after = s.edge.show_json("interfaces");
        let rx = port_counter(&after, "lan0", "rx_packets") - rx0;
        let tx = port_counter(&after, "lan1", "tx_packets") - tx0;
        assert!(
            (500..=510).contains(&tx),
            "lan1 tx delta {tx} should be the 500 datagrams (+ at most a few ND/ARP)"
        );
        assert!(
            (500..=510).contains(&rx),
            "lan0 rx delta {rx} should be the 500 datagrams (+ at most a few ND/ARP)"
        );
    }
    let routes = s.edge.show_json("routes");
    let text = routes.to_string();
    assert!(
        text.contains("10.71.1.0/24") && text.contains("fd71:2::/64"),
        "connected routes shown: {text}"
    );
    let neigh = s.edge.show_json("neighbors").to_string();
    assert!(
        neigh.contains("10.71.2.2") && neigh.contains("fd71:2::2"),
        "neighbors learned: {neigh}"
    );
    // The second listener, on a unix socket, serves the same API.
    let over_unix = must(
        sdwan_bin(),
        &[
            "show",
            "--api",
            &format!("unix:{sock}"),
            "interfaces",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&over_unix).unwrap();
    assert!(port_counter(&v, "lan1", "tx_packets") >= 1000);
    // The table form has a header and one row per port.
    let table = must(sdwan_bin(), &["show", "--api", &s.edge.api, "interfaces"]);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(
        table.starts_with("PORT") && table.contains("lan0") && table.contains("10.71.1.1/24"),
        "{table}"
    );
}

#[test]
fn edge_answers_echo_and_sends_time_exceeded() {
    let _g = serial();
    let s = site(72, "");
    ping_ok(
        &s.a,
        &["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.72.1.1"],
    );
    ping_ok(
        &s.a,
        &["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "fd72:1::1"],
    );
    // TTL 1 toward B expires at the edge: the reply names the edge.
    let out =
        s.a.exec(&["ping", "-c", "1", "-t", "1", "-W", "2", "10.72.2.2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("10.72.1.1") && text.contains("Time to live exceeded"),
        "{text}"
    );
    let out =
        s.a.exec(&["ping", "-6", "-c", "1", "-t", "1", "-W", "2", "fd72:2::2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fd72:1::1") && text.contains("Time exceeded"),
        "{text}"
    );
    let drops = s.edge.show_json("drops");
    assert!(drop_count(&drops, "ttl_expired") >= 1, "{drops}");
    assert!(drop_count(&drops, "hop_limit_expired") >= 1, "{drops}");
    // An unrouted destination is dropped as no_route.
    let _ = s.a.exec(&["ping", "-c", "1", "-W", "1", "203.0.113.9"]);
    assert!(drop_count(&s.edge.show_json("drops"), "no_route") >= 1);
}

#[test]
fn malformed_frames_are_dropped_and_counted_by_reason() {
    let _g = serial();
    let s = site(73, "");
    ping_ok(
        &s.a,
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.73.2.2"],
    );
    let ifs = s.edge.show_json("interfaces");
    let mac = ifs[0]["mac"].as_str().unwrap().to_string();
    let before = s.edge.show_json("drops");
    let n = 7u64;
    s.a.must(&[
        "/usr/bin/python3",
        &py("malformed.py"),
        "sdwt73a",
        &mac,
        "10.73.1.2",
        "10.73.2.2",
        &n.to_string(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let reasons = [
        "truncated",
        "bad_ipv4_header",
        "bad_ipv4_checksum",
        "bad_ethertype",
    ];
    loop {
        let after = s.edge.show_json("drops");
        let deltas: Vec<u64> = reasons
            .iter()
            .map(|r| drop_count(&after, r) - drop_count(&before, r))
            .collect();
        if deltas.iter().all(|&d| d == n) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "drops by reason {reasons:?}: {deltas:?}, want {n} each; {after}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Forwarding still works afterwards.
    ping_ok(
        &s.a,
        &["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.73.2.2"],
    );
    let metrics = http(&s.edge.api, "GET", "/metrics", "").unwrap().1;
    assert!(
        metrics.contains("sdwan_drops_total{reason=\"bad_ipv4_checksum\"} 7"),
        "{metrics}"
    );
}

#[test]
fn route_churn_at_1000_per_second_loses_nothing_on_unchanged_prefixes() {
    let _g = serial();
    let s = site(74, "");
    ping_ok(
        &s.a,
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.74.2.2"],
    );
    let api = s.edge.api.clone();
    let churn = std::thread::spawn(move || {
        // Replace 3000 times routes of other prefixes (alternating next
        // hops), paced at 1000 per second: one API call, one change, one
        // new FIB snapshot each.
        let start = Instant::now();
        let mut done = 0u32;
        for i in 0..3000u32 {
            let due = start + Duration::from_micros(i as u64 * 1000);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let prefix = format!("172.{}.{}.0/24", 16 + (i % 8), i % 200);
            let via = if i % 2 == 0 { "10.74.2.2" } else { "10.74.1.2" };
            let body = format!(r#"[{{"op":"add","prefix":"{prefix}","via":"{via}"}}]"#);
            let (code, resp) = http(&api, "POST", "/api/routes", &body).expect("api");
            assert_eq!(code, 200, "{resp}");
            done += 1;
        }
        (done, start.elapsed())
    });
    let got = udp_flow(&s, "10.74.2.2", 5003, 4000, 1000);
    let (changes, took) = churn.join().unwrap();
    eprintln!(
        "route churn: {changes} replacements in {took:?} ({:.0}/s)",
        changes as f64 / took.as_secs_f64()
    );
    assert_eq!(changes, 3000);
    assert_eq!(
        got, 4000,
        "no datagram to the unchanged prefix may be lost during churn"
    );
    let routes = s.edge.show_json("routes").to_string();
    assert!(routes.contains("172.16.0.0/24"), "churned routes present");
}

#[test]
fn sigterm_closes_ports_and_exits_zero() {
    let _g = serial();
    let mut s = site(75, "");
    ping_ok(
        &s.a,
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.75.2.2"],
    );
    let st = s.edge.stop();
    assert!(st.success(), "exit status {st}:\n{}", s.edge.log());
    // The TAP devices vanish with the ports (even from the namespaces).
    let links = s.a.must(&["ip", "-o", "link"]);
    assert!(!links.contains("sdwt75a"), "{links}");
}

#[test]
fn bad_config_is_refused_before_anything_starts() {
    let _g = serial();
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[[port]]\nname = \"lan0\"\ndevice = \"net_tap0,iface=sdwt76a\"\naddresses = [\"10.0.0.1/24\"]\n\n[[route]]\nprefix = \"1.0.0.0/8\"\nvia = \"10.9.9.9\"\n",
    )
    .unwrap();
    let out = run(sdwan_bin(), &["edge", "--config", cfg.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:7:") && err.contains("route[0].via"),
        "{err}"
    );
    assert!(
        !run("ip", &["link", "show", "sdwt76a"]).status.success(),
        "no TAP may be created"
    );
}
