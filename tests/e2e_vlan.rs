//! End to end through real DPDK: one TAP trunk port whose kernel side
//! carries 802.1Q VLANs to client namespaces. VLAN 10 and VLAN 30 are in
//! VRF blue, VLAN 20 in VRF red; the trunk itself stays an untagged routed
//! port. IPv4 and IPv6 to the edge's sub-interface addresses, routing
//! between VLAN 10 and VLAN 30, red isolated from blue, and frames of an
//! unconfigured VLAN (99) dropped as `vlan_not_configured`.
//!
//! The test VM's kernel has no 802.1Q support (`CONFIG_VLAN_8021Q` is not
//! set: `ip link add ... type vlan` fails), so the kernel VLAN devices
//! are played by `tests/py/vlan_trunk.py` in the trunk namespace: one veth
//! pair per VLAN toward its client namespace, frames tagged / untagged
//! between the veth and the TAP in userspace. The clients see exactly what
//! a kernel VLAN device would give them.
#![forbid(unsafe_code)]

mod common;

use common::overlay::Proc;
use common::*;
use std::time::{Duration, Instant};

const TAP: &str = "vl0";
const API: &str = "127.0.0.1:19171";

struct Trunk {
    edge: Edge,
    /// The userspace 802.1Q trunk (see the module comment).
    tagger: Proc,
    /// The TAP's kernel side (untagged, 192.168.77.2/24).
    trunk: Netns,
    /// Clients: VLAN 10 (blue) .2, VLAN 30 (blue) .2, VLAN 20 (red) .2,
    /// VLAN 99 (not configured on the edge).
    c10: Netns,
    c30: Netns,
    c20: Netns,
    c99: Netns,
}

fn config() -> String {
    format!(
        r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--log-level=notice"]

[[vrf]]
name = "blue"
id = 1

[[vrf]]
name = "red"
id = 2

[[port]]
name = "trunk0"
device = "net_tap0,iface={TAP}"
addresses = ["192.168.77.1/24"]

[[port]]
name = "trunk0.10"
parent = "trunk0"
vlan = 10
vrf = "blue"
addresses = ["10.77.10.1/24", "fd77:10::1/64"]

[[port]]
name = "trunk0.30"
parent = "trunk0"
vlan = 30
vrf = "blue"
addresses = ["10.77.30.1/24", "fd77:30::1/64"]

[[port]]
name = "trunk0.20"
parent = "trunk0"
vlan = 20
vrf = "red"
addresses = ["10.77.20.1/24", "fd77:20::1/64"]

[management]
listen = "{API}"
"#
    )
}

/// VLAN `vid`'s link: a veth pair, `vl<vid>t` in the trunk namespace
/// (tagged onto the TAP by the trunk script), `vl<vid>c` in `ns` with
/// 10.77.<vid>.2/24 and fd77:<vid>::2/64, routed via the edge's .1 / ::1.
fn vlan_client(trunk: &Netns, ns: &Netns, vid: u16) {
    let (t, c) = (format!("vl{vid}t"), format!("vl{vid}c"));
    must(
        "ip",
        &["link", "add", &t, "type", "veth", "peer", "name", &c],
    );
    must("ip", &["link", "set", &t, "netns", &trunk.name]);
    trunk.must(&["ip", "link", "set", &t, "up"]);
    ns.take_link(
        &c,
        &format!("10.77.{vid}.2/24"),
        &format!("10.77.{vid}.1"),
        &format!("fd77:{vid}::2/64"),
        &format!("fd77:{vid}::1"),
    );
}

fn trunk() -> Trunk {
    require_root();
    let trunk = Netns::new("vl-trunk");
    let c10 = Netns::new("vl-c10");
    let c30 = Netns::new("vl-c30");
    let c20 = Netns::new("vl-c20");
    let c99 = Netns::new("vl-c99");
    let edge = Edge::start(&config(), API, &[TAP]);
    must("ip", &["link", "set", TAP, "netns", &trunk.name]);
    trunk.must(&["ip", "link", "set", TAP, "up"]);
    trunk.must(&["ip", "addr", "add", "192.168.77.2/24", "dev", TAP]);
    let mut bindings = Vec::new();
    for (ns, vid) in [(&c10, 10), (&c30, 30), (&c20, 20), (&c99, 99)] {
        vlan_client(&trunk, ns, vid);
        bindings.push(format!("{vid}:vl{vid}t"));
    }
    let script = py("vlan_trunk.py");
    let mut argv = vec!["/usr/bin/python3", &script, TAP];
    argv.extend(bindings.iter().map(String::as_str));
    let log = edge.dir.path().join("vlan_trunk.log");
    let mut tagger = Proc::spawn("vlan_trunk.py", Some(&trunk.name), &argv, &log);
    tagger.wait_for_output("ready", 10);
    Trunk {
        edge,
        tagger,
        trunk,
        c10,
        c30,
        c20,
        c99,
    }
}

fn ping(ns: &Netns, dst: &str) -> bool {
    let v6 = if dst.contains(':') { "-6" } else { "-4" };
    ns.exec(&["ping", v6, "-c", "2", "-i", "0.3", "-W", "1", dst])
        .status
        .success()
}

fn ping_ok_to(ns: &Netns, dst: &str) {
    let v6 = if dst.contains(':') { "-6" } else { "-4" };
    ping_ok(ns, &["ping", v6, "-c", "3", "-i", "0.2", "-W", "2", dst]);
}

/// Row `name` of `/api/interfaces`.
fn interface(ifs: &serde_json::Value, name: &str) -> serde_json::Value {
    ifs.as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no port {name} in {ifs}"))
}

#[test]
fn vlans_route_within_a_vrf_and_are_isolated_across_vrfs() {
    let _g = serial();
    let mut t = trunk();
    // The edge's own addresses on each sub-interface, and on the trunk.
    for (ns, vid) in [(&t.c10, 10), (&t.c30, 30), (&t.c20, 20)] {
        ping_ok_to(ns, &format!("10.77.{vid}.1"));
        ping_ok_to(ns, &format!("fd77:{vid}::1"));
    }
    ping_ok_to(&t.trunk, "192.168.77.1");
    // Blue: VLAN 10 <-> VLAN 30 routed (the edge resolves the far side
    // with tagged ARP / NS from its control thread).
    ping_ok_to(&t.c10, "10.77.30.2");
    ping_ok_to(&t.c10, "fd77:30::2");
    ping_ok_to(&t.c30, "10.77.10.2");
    ping_ok_to(&t.c30, "fd77:10::2");

    // Red reaches neither blue's clients nor blue's addresses.
    let no_route0 = drop_count(&t.edge.show_json("drops"), "no_route");
    for dst in ["10.77.10.2", "10.77.30.2", "fd77:10::2", "10.77.10.1"] {
        assert!(!ping(&t.c20, dst), "red must not reach {dst}");
    }
    let no_route = drop_count(&t.edge.show_json("drops"), "no_route") - no_route0;
    assert!(no_route >= 8, "red's pings dropped as no_route: {no_route}");
    // Blue does not reach red.
    assert!(!ping(&t.c10, "10.77.20.2"));

    // Per sub-interface counters in `show interfaces`.
    let ifs = t.edge.show_json("interfaces");
    for (name, vid) in [("trunk0.10", 10), ("trunk0.30", 30), ("trunk0.20", 20)] {
        let row = interface(&ifs, name);
        assert_eq!(row["vlan"], vid, "{row}");
        assert_eq!(row["parent"], "trunk0", "{row}");
        assert_eq!(row["vrf"], if vid == 20 { "red" } else { "blue" }, "{row}");
        assert_eq!(row["mac"], interface(&ifs, "trunk0")["mac"], "{row}");
        assert!(row["rx_packets"].as_u64().unwrap() >= 6, "{row}");
        assert!(row["tx_packets"].as_u64().unwrap() >= 6, "{row}");
    }
    let rx_parent = port_counter(&ifs, "trunk0", "rx_packets");
    let rx_subs: u64 = ["trunk0.10", "trunk0.30", "trunk0.20"]
        .iter()
        .map(|n| port_counter(&ifs, n, "rx_packets"))
        .sum();
    assert!(rx_parent >= rx_subs, "the parent counts every frame: {ifs}");
    let table = must(sdwan_bin(), &["show", "--api", API, "interfaces"]);
    assert!(table.contains("trunk0 vlan 30"), "{table}");
    let metrics = http(API, "GET", "/metrics", "").unwrap().1;
    assert!(
        metrics.contains("sdwan_port_rx_packets_total{port=\"trunk0.10\"}"),
        "{metrics}"
    );
    assert!(t.tagger.alive(), "{}", t.tagger.output());
}

#[test]
fn a_frame_of_an_unconfigured_vlan_is_dropped_and_counted() {
    let _g = serial();
    let mut t = trunk();
    ping_ok_to(&t.c10, "10.77.10.1");
    let before = drop_count(&t.edge.show_json("drops"), "vlan_not_configured");
    // VLAN 99's ARP requests reach the edge tagged 99.
    assert!(!ping(&t.c99, "10.77.99.1"));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = drop_count(&t.edge.show_json("drops"), "vlan_not_configured");
        if now > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no vlan_not_configured drop counted ({before} -> {now})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Nothing of VLAN 99 was routed or answered, and VLAN 10 still works.
    let ifs = t.edge.show_json("interfaces");
    assert!(ifs.as_array().unwrap().iter().all(|p| p["vlan"] != 99));
    ping_ok_to(&t.c10, "fd77:10::1");
    assert!(t.tagger.alive(), "{}", t.tagger.output());
}
