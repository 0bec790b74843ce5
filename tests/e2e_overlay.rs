//! The overlay end to end (issue #6, draft §4.1.1 homogeneous scenario):
//! two edges, each with DPDK TAP ports, learn each other's client routes
//! and WAN ports through a route reflector and carry client traffic
//! between two sites encrypted (ESP-in-UDP 4500) across an "internet".
//!
//! Topology (names for the `sdwan controller` variant; the GoBGP variant
//! uses the prefix `sdwg`):
//!
//! ```text
//!  root namespace: route reflector on 127.0.0.1 (TCP-MD5), edges dial it
//!                  from 127.0.0.11 / 127.0.0.12
//!
//!   sdwo-b1 10.1.0.2 ─ blue0 ┐                       ┌ blue0 ─ sdwo-b2 10.2.0.2
//!   sdwo-r1 10.1.0.2 ─ red0 ─┤ edge1  wan0 ─ br0 ─ wan0 edge2 ├─ red0 ─ sdwo-r2 10.2.0.2
//!                            ┘ 203.0.113.1  (sdwo-inet)  203.0.113.2 └        + 10.22.0.2
//! ```
//!
//! Blue and red use the same client addresses (fd00:N::2 for IPv6 too);
//! every check asks the answering host for its name, so a reply from the
//! wrong VRF cannot pass. Red site 2 also has 10.22.0.0/24 (a static route
//! of edge2's red VRF) that blue must never reach and that the withdrawal
//! check removes.
//!
//! Checks (controller variant): IPv4 and IPv6 ping and host identity in
//! both VRFs; blue cannot reach red's own prefix; a 2 MB TCP transfer per
//! VRF with a SHA-256 check; a capture on the bridge holds only ESP-in-UDP
//! 4500 between the WAN addresses (plus ARP/ND) and never the cleartext
//! marker the clients send; `sdwan route del` of the static route on edge2
//! withdraws it from edge1 and stops its traffic; SIGKILL of edge2 and a
//! restart restore traffic; a rekey in the middle of a ping stream loses
//! nothing; a config reload adds a prefix live and a bad one is refused;
//! taking edge2's WAN port down (`POST /api/wan`) removes every route to
//! it on edge1, and bringing it up restores them.
//! The GoBGP variant (`gobgpd` as the route reflector, no SAFI 74: the
//! fallback Tunnel Encapsulation route) runs its tunnels over an IPv6
//! underlay and checks IPv4 and IPv6 pings and one identity per VRF.
#![forbid(unsafe_code)]

mod common;

#[path = "e2e_overlay/configs.rs"]
mod configs;
#[path = "e2e_overlay/harness.rs"]
mod harness;

use common::overlay::*;
use common::*;
use configs::*;
use harness::*;
use std::time::Duration;
#[test]
fn two_sites_talk_through_the_encrypted_overlay_via_sdwan_controller() {
    let _g = serial();
    if skip_unless_root() {
        return;
    }
    let mut o = Overlay::new("sdwo", false);
    o.wait_converged(90);
    eprintln!(
        "== controller: sdwan show bgp summary\n{}",
        o.reflector.summary()
    );
    for what in [
        &["wans"][..],
        &["tunnels"],
        &["sa"],
        &["routes", "--vrf", "red"],
        &["bgp", "summary"],
    ] {
        eprintln!("== edge1: sdwan show {what:?}\n{}", o.show(1, what));
    }
    // The edge's own BGP view per VRF: blue imports only 65000:1 routes.
    let blue: serde_json::Value =
        serde_json::from_str(&o.show(1, &["bgp", "routes", "--vrf", "blue", "--json"]))
            .expect("show bgp routes --json");
    let routes: Vec<&str> = blue
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["route"].as_str())
        .collect();
    assert!(
        routes.iter().any(|r| r.contains("10.2.0.0/24"))
            && !routes.iter().any(|r| r.contains("10.22.0.0/24")),
        "edge1 `show bgp routes --vrf blue`: {routes:?}"
    );

    // Capture the WAN while the clients talk.
    let pcap = o.dir.path().join("wan.pcap");
    let mut capture = o.internet.capture(&pcap, &o.dir.path().join("tcpdump.log"));

    // Same VRF: IPv4 + IPv6 both ways, the answer comes from the right host.
    o.check_vrf("blue", true);
    o.check_vrf("red", true);
    // Red's own prefix: reachable from red, not from blue.
    o.ping(o.client("red", 1), "10.22.0.2");
    assert_eq!(o.identity(o.client("red", 1), "10.22.0.2"), "sdwo-r2");
    o.unreachable(o.client("blue", 1), "10.22.0.2");
    // Bulk TCP with a checksum, one VRF over IPv4, the other over IPv6.
    o.transfer(o.client("blue", 1), "10.2.0.2", 2 << 20);
    o.transfer(o.client("red", 2), "fd00:1::2", 2 << 20);

    std::thread::sleep(Duration::from_millis(500));
    capture.stop_with("-INT");
    let cap = classify_capture(&pcap);
    eprintln!("WAN capture: {cap}");
    assert!(
        cap["other"].as_array().is_some_and(|a| a.is_empty()),
        "the WAN must carry only ESP-in-UDP 4500 (+ ARP/ND): {cap}"
    );
    assert_eq!(
        cap["marker"], 0,
        "cleartext client payload on the WAN: {cap}"
    );
    assert!(
        cap["esp"].as_u64().unwrap_or(0) > 2 * 1400,
        "the 4 MB of transfers must have crossed as ESP: {cap}"
    );
    // One SA per direction at least.
    assert!(
        cap["spis"].as_array().is_some_and(|a| a.len() >= 2),
        "{cap}"
    );

    // Prometheus: the tunnel is up and counted the transfers.
    let (_, metrics) = http(&o.edges[0].api, "GET", "/metrics", "").expect("/metrics");
    let value = |name: &str| -> Option<f64> {
        metrics
            .lines()
            .find(|l| l.starts_with(name) && l.contains("remote_node=\"10.255.0.2\""))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    assert_eq!(value("sdwan_tunnel_up{"), Some(1.0), "{metrics}");
    assert!(
        metrics.contains("sdwan_bgp_peer_established{peer=\"127.0.0.1\"} 1"),
        "{metrics}"
    );
    assert!(
        value("sdwan_tunnel_tx_packets_total{").is_some_and(|n| n > 1400.0),
        "{metrics}"
    );

    // Rekey edge1's WAN port while a ping stream runs: new key pair, new
    // SAs in both directions, make-before-break, not one packet lost.
    o.rekey_without_loss(1);

    // Withdraw red's static prefix on edge2: edge1 loses the route and
    // red site 1 loses reachability.
    must(
        sdwan_bin(),
        &[
            "route",
            "--api",
            &o.edges[1].api,
            "del",
            "10.22.0.0/24",
            "--vrf",
            "red",
        ],
    );
    let gone = wait_for(30, || {
        (!o.overlay_routes(1, "red")
            .contains(&"10.22.0.0/24".to_string()))
        .then_some(())
    });
    assert!(
        gone.is_some(),
        "10.22.0.0/24 still resolved on edge1 after its withdrawal\n{}",
        o.diagnostics()
    );
    o.unreachable(o.client("red", 1), "10.22.0.2");
    // The rest of red is untouched.
    o.ping(o.client("red", 1), "10.2.0.2");

    // Live reload (SIGHUP): edge2's config gains a red prefix; edge1
    // learns it without any restart. A file that changes a port is
    // refused whole and changes nothing.
    o.reload_adds_a_prefix_live();

    // Maintenance: edge2's only WAN port taken out of the overlay; edge2
    // withdraws its WAN routes, edge1 loses every route to edge2, then
    // both come back with the same SAs when the port returns.
    let wan = |admin: &str| {
        let (code, body) = http(
            &o.edges[1].api,
            "POST",
            &format!("/api/wan?wan=1&admin={admin}"),
            "",
        )
        .expect("POST /api/wan");
        assert_eq!(code, 202, "{body}");
    };
    wan("down");
    let gone = wait_for(30, || o.overlay_routes(1, "blue").is_empty().then_some(()));
    assert!(
        gone.is_some(),
        "edge1 kept routes to edge2 after edge2's WAN went down\n{}",
        o.diagnostics()
    );
    o.unreachable(o.client("blue", 1), "10.2.0.2");
    let wans = o.edges[1].api_get("/api/wans").unwrap_or_default();
    assert_eq!(wans[0]["state"], "down", "{wans}");
    wan("up");
    let back = wait_for(60, || {
        (o.overlay_routes(1, "blue") == remote_prefixes(1, "blue")).then_some(())
    });
    assert!(
        back.is_some(),
        "edge1 did not get edge2's routes back\n{}",
        o.diagnostics()
    );
    o.ping(o.client("blue", 1), "10.2.0.2");

    // Kill edge2 (SIGKILL by PID, as a crash) and start it again: the
    // overlay comes back on its own.
    let mut child = o.edges[1].child.take().expect("edge2 running");
    must("kill", &["-KILL", &child.id().to_string()]);
    let _ = child.wait();
    let lost = wait_for(30, || o.overlay_routes(1, "blue").is_empty().then_some(()));
    assert!(
        lost.is_some(),
        "edge1 kept edge2's routes after edge2 died\n{}",
        o.diagnostics()
    );
    o.edges[1] = o.start_edge(2);
    o.wait_converged(90);
    o.check_vrf("blue", false);
    o.check_vrf("red", false);
    o.transfer(o.client("blue", 2), "fd00:1::2", 256 << 10);

    // Clean shutdown of both edges (the Drop of `Edge` checks exit 0).
    for e in &mut o.edges {
        let st = e.stop();
        assert!(st.success(), "edge exit status {st}:\n{}", e.log());
    }
}

#[test]
fn two_sites_talk_through_the_overlay_via_gobgp_route_reflector() {
    let _g = serial();
    if skip_unless_root() {
        return;
    }
    if !run("which", &["gobgpd"]).status.success() {
        panic!("gobgpd missing: run scripts/setup.sh (Debian package gobgpd)");
    }
    let o = Overlay::new("sdwg", true);
    o.wait_converged(90);
    eprintln!("== gobgp neighbor\n{}", o.reflector.summary());
    // The tunnels run over the IPv6 underlay.
    let tunnels = o.edges[0].api_get("/api/tunnels").unwrap_or_default();
    assert!(
        tunnels.as_array().is_some_and(|a| !a.is_empty()
            && a.iter()
                .all(|t| t["remote_endpoint"] == "2001:db8:ffff::2" && t["state"] == "up")),
        "{tunnels}"
    );
    for vrf in ["blue", "red"] {
        let tag = if vrf == "blue" { "b" } else { "r" };
        o.ping(o.client(vrf, 1), "10.2.0.2");
        assert_eq!(
            o.identity(o.client(vrf, 1), "10.2.0.2"),
            format!("sdwg-{tag}2")
        );
        o.ping(o.client(vrf, 2), "fd00:1::2");
    }
    o.unreachable(o.client("blue", 1), "10.22.0.2");
}
