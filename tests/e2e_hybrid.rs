//! Hybrid WAN end to end (issue #7, draft §3.3 scenario 2, §4.1.2, §6.2):
//! two edges, each with an internet WAN port and a private (MPLS VPN) WAN
//! port, one client VRF with flow policies, a route reflector
//! (`sdwan controller`) and a server "on the internet".
//!
//! ```text
//!  hy-b1 10.1.0.2 ─ blue0 ┐ edge1  inet0 203.0.113.1 ─┐ hy-inet br0 ┌─ inet0 203.0.113.2  edge2 ┌ blue0 ─ hy-b2 10.2.0.2
//!                         │        mpls0 172.16.0.1 ──┼ hy-mpls br0 ┼── mpls0 172.16.0.2        │
//!                                                     └ hy-srv 203.0.113.254 (gateway), 198.51.100.10 (server)
//! ```
//!
//! Policies of VRF blue (same on both edges, first match wins):
//! `web` 198.51.100.0/24 → internet-breakout; `ops-ping` ICMP →
//! private-only; `apps` TCP and `stream` UDP → encrypted-any.
//!
//! Checks: ping (private-only) crosses the private bridge natively as
//! MPLS-in-IP (IP protocol 137) and never the internet; a TCP transfer
//! (encrypted-any) crosses the private bridge as ESP-in-UDP 4500, with no
//! cleartext anywhere; a breakout connection reaches the internet server
//! with edge1's public address as its source (NAT44); then, with a UDP
//! stream running, edge1's private link goes down: the stream moves to
//! the internet path (ESP there) with a gap under 1 s, while pings are
//! dropped and counted `private_path_down` instead of leaking; the link
//! comes back and pings work again.
#![forbid(unsafe_code)]

mod common;

use common::overlay::*;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

const RR_PORT: u16 = 17945;
const TCP_PORT: u16 = 7007;
const UDP_PORT: u16 = 9009;
const SERVER: &str = "198.51.100.10";
const SERVER_PORT: u16 = 8080;

fn edge_api(site: u8) -> String {
    format!("127.0.0.1:{}", 19510 + u16::from(site))
}

/// [internet WAN, private WAN, LAN] TAP names of edge `site`.
fn taps(site: u8) -> [String; 3] {
    ["w", "p", "b"].map(|k| format!("hy{site}{k}"))
}

fn edge_config(site: u8, reflectors: usize) -> String {
    let [inet, mpls, blue] = taps(site);
    let api = edge_api(site);
    let second = if reflectors > 1 {
        format!("\n[[bgp.peer]]\naddress = \"127.0.0.2\"\nport = {RR_PORT}\nmd5_key = \"hy{site}-secret\"\nlocal_address = \"127.0.0.3{site}\"\n")
    } else {
        String::new()
    };
    format!(
        r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix=hy{site}", "--log-level=notice"]

[dataplane]
workers = 1

[node]
id = "10.255.1.{site}"
asn = 65000

[[bgp.peer]]
address = "127.0.0.1"
port = {RR_PORT}
md5_key = "hy{site}-secret"
local_address = "127.0.0.3{site}"
{second}
[[vrf]]
name = "blue"
id = 1
rd = "65000:{site}1"
import = ["65000:1"]
export = ["65000:1"]
label = 1{site}01

[[port]]
name = "inet0"
device = "net_tap0,iface={inet}"
mac = "02:7a:0{site}:00:00:01"
addresses = ["203.0.113.{site}/24"]

[[wan]]
port = "inet0"
id = 1
color = 100
kind = "internet"
gateway = "203.0.113.254"
breakout = true

[[port]]
name = "mpls0"
device = "net_tap1,iface={mpls}"
mac = "02:7a:0{site}:00:00:02"
addresses = ["172.16.0.{site}/24"]

[[wan]]
port = "mpls0"
id = 2
color = 200
kind = "private"

[[port]]
name = "blue0"
device = "net_tap2,iface={blue}"
vrf = "blue"
mac = "02:7a:0{site}:00:00:03"
addresses = ["10.{site}.0.1/24", "fd00:{site}::1/64"]

[[policy]]
vrf = "blue"
name = "web"
action = "internet-breakout"
dst = "198.51.100.0/24"

[[policy]]
vrf = "blue"
name = "ops-ping"
action = "private-only"
protocol = "icmp"

[[policy]]
vrf = "blue"
name = "apps"
action = "encrypted-any"
protocol = "tcp"

[[policy]]
vrf = "blue"
name = "stream"
action = "encrypted-any"
protocol = "udp"

[management]
listen = "{api}"
"#
    )
}

/// Reflector `i` (0, 1) of one cluster: same cluster id, its own
/// address (127.0.0.1, 127.0.0.2) and management API.
fn controller_api(i: usize) -> String {
    format!("127.0.0.1:{}", 19515 + i)
}

fn controller_config(i: usize) -> String {
    let api = controller_api(i);
    let listen = 1 + i;
    let mut s = format!(
        r#"
[bgp]
router_id = "192.0.2.11{i}"
cluster_id = "192.0.2.110"
asn = 65000
listen_address = "127.0.0.{listen}"
listen_port = {RR_PORT}

[[bgp.peer_groups]]
name = "hybrid"
route_targets = ["65000:1"]

[management]
listen = "{api}"
"#
    );
    for site in 1..=2 {
        s.push_str(&format!(
            "\n[[bgp.peers]]\naddress = \"127.0.0.3{site}\"\nremote_as = 65000\nmd5_key = \"hy{site}-secret\"\npeer_group = \"hybrid\"\npassive = true\nfamilies = [\"vpnv4\", \"vpnv6\", \"sdwan-v4\", \"ipv4-unicast\"]\n"
        ));
    }
    s
}

/// Fields drop in order: edges, servers, controllers, namespaces.
struct Hybrid {
    edges: Vec<Edge>,
    servers: Vec<Proc>,
    controllers: Vec<Proc>,
    clients: Vec<Netns>,
    _server_ns: Netns,
    internet: Internet,
    private: Internet,
    dir: tempfile::TempDir,
}

impl Hybrid {
    /// The two sites, with `reflectors` (1 or 2) route reflectors of
    /// one cluster that every edge peers with.
    fn new(reflectors: usize) -> Hybrid {
        let dir = tempfile::tempdir().expect("tempdir");
        let internet = Internet::new("hy-inet");
        let private = Internet::new("hy-mpls");
        let server_ns = Netns::new("hy-srv");
        let clients: Vec<Netns> = ["hy-b1", "hy-b2"].iter().map(|n| Netns::new(n)).collect();
        // The internet server: on the bridge as the edges' gateway, with
        // the server address behind it.
        must(
            "ip",
            &[
                "link", "add", "hysrv0", "type", "veth", "peer", "name", "hysrv1",
            ],
        );
        must("ip", &["link", "set", "hysrv1", "netns", "hy-inet"]);
        must(
            "ip",
            &[
                "-n", "hy-inet", "link", "set", "hysrv1", "master", "br0", "up",
            ],
        );
        must("ip", &["link", "set", "hysrv0", "netns", "hy-srv"]);
        server_ns.must(&["ip", "addr", "add", "203.0.113.254/24", "dev", "hysrv0"]);
        server_ns.must(&["ip", "link", "set", "hysrv0", "up"]);
        server_ns.must(&["ip", "addr", "add", &format!("{SERVER}/32"), "dev", "lo"]);

        let mut controllers = Vec::new();
        for i in 0..reflectors {
            let conf = dir.path().join(format!("controller{i}.toml"));
            std::fs::write(&conf, controller_config(i)).unwrap();
            let mut c = Proc::spawn(
                &format!("sdwan controller {i}"),
                None,
                &[
                    sdwan_bin(),
                    "controller",
                    "--config",
                    conf.to_str().unwrap(),
                ],
                &dir.path().join(format!("controller{i}.log")),
            );
            let api = controller_api(i);
            let up = wait_for(20, || http(&api, "GET", "/api/bgp/summary", "").ok());
            assert!(
                up.is_some() && c.alive(),
                "controller {i} did not come up:\n{}",
                c.output()
            );
            controllers.push(c);
        }
        let mut h = Hybrid {
            edges: Vec::new(),
            servers: Vec::new(),
            controllers,
            clients,
            _server_ns: server_ns,
            internet,
            private,
            dir,
        };
        for site in 1..=2u8 {
            let t = taps(site);
            let refs: Vec<&str> = t.iter().map(String::as_str).collect();
            let e = Edge::start(&edge_config(site, reflectors), &edge_api(site), &refs);
            h.internet.plug(&t[0]);
            h.private.plug(&t[1]);
            attach_client(&h.clients[site as usize - 1], &t[2], site);
            h.edges.push(e);
        }
        let servers = [
            ("hy-b2", "udp-echo", UDP_PORT),
            ("hy-srv", "peer-serve", SERVER_PORT),
        ];
        for (ns, what, port) in servers {
            let mut p = Proc::spawn(
                &format!("{what} in {ns}"),
                Some(ns),
                &[
                    "/usr/bin/python3",
                    &py("hybrid_peer.py"),
                    what,
                    &port.to_string(),
                ],
                &h.dir.path().join(format!("{what}-{ns}.log")),
            );
            p.wait_for_output("ready", 10);
            h.servers.push(p);
        }
        let mut p = Proc::spawn(
            "tcp server in hy-b2",
            Some("hy-b2"),
            &[
                "/usr/bin/python3",
                &py("overlay_peer.py"),
                "serve",
                "hy-b2",
                &TCP_PORT.to_string(),
            ],
            &h.dir.path().join("tcp-hy-b2.log"),
        );
        p.wait_for_output("ready", 10);
        h.servers.push(p);
        h
    }

    fn diagnostics(&self) -> String {
        let mut s = String::new();
        for (i, c) in self.controllers.iter().enumerate() {
            s.push_str(&format!(
                "== controller {i} log (tail)\n{}\n",
                tail(&c.output(), 20)
            ));
        }
        for (i, e) in self.edges.iter().enumerate() {
            for what in [
                "routes",
                "tunnels",
                "drops",
                "policies",
                "neighbors",
                "bgp/summary",
            ] {
                s.push_str(&format!(
                    "== edge{} /api/{what}\n{}\n",
                    i + 1,
                    e.api_get(&format!("/api/{what}")).unwrap_or_default()
                ));
            }
            s.push_str(&format!(
                "== edge{} log (tail)\n{}\n",
                i + 1,
                tail(&e.log(), 30)
            ));
        }
        s
    }

    /// Edge `site`'s tunnels of `kind` ("private" / "internet") that are up.
    fn tunnels_up(&self, site: u8, kind: &str) -> usize {
        let t = self.edges[site as usize - 1]
            .api_get("/api/tunnels")
            .unwrap_or_default();
        t.as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r["kind"] == kind && r["state"] == "up")
                    .count()
            })
            .unwrap_or(0)
    }

    fn tunnel_counter(&self, site: u8, kind: &str, key: &str) -> u64 {
        let t = self.edges[site as usize - 1]
            .api_get("/api/tunnels")
            .unwrap_or_default();
        t.as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r["kind"] == kind)
                    .filter_map(|r| r[key].as_u64())
                    .sum()
            })
            .unwrap_or(0)
    }

    fn drops(&self, site: u8, reason: &str) -> u64 {
        drop_count(
            &self.edges[site as usize - 1]
                .api_get("/api/drops")
                .unwrap_or_default(),
            reason,
        )
    }

    /// Both kinds of tunnel up on both edges, the remote VRF prefix
    /// resolved.
    fn wait_converged(&self) {
        let converged = wait_for(90, || {
            let ok = [1u8, 2].iter().all(|&s| {
                self.tunnels_up(s, "private") >= 1 && self.tunnels_up(s, "internet") >= 1
            }) && self.edges[0]
                .api_get("/api/routes")
                .is_some_and(|r| r.to_string().contains("10.2.0.0/24"));
            ok.then_some(())
        });
        assert!(
            converged.is_some(),
            "no convergence\n{}",
            self.diagnostics()
        );
    }

    /// A UDP stream (encrypted-any) of `secs` seconds at 50 packets/s from
    /// site 1 to site 2's echo server, run in a thread; `join` gives the
    /// report (sent, received, longest gap between echoes).
    fn udp_stream(secs: u32) -> std::thread::JoinHandle<serde_json::Value> {
        std::thread::spawn(move || {
            let out = run(
                "ip",
                &[
                    "netns",
                    "exec",
                    "hy-b1",
                    "/usr/bin/python3",
                    &py("hybrid_peer.py"),
                    "udp-stream",
                    "10.2.0.2",
                    &UDP_PORT.to_string(),
                    &secs.to_string(),
                    "20",
                ],
            );
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!("udp-stream: {e}: {}", String::from_utf8_lossy(&out.stderr))
            })
        })
    }

    /// Established BGP sessions of edge `site`.
    fn sessions_up(&self, site: u8) -> usize {
        let v = self.edges[site as usize - 1]
            .api_get("/api/bgp/summary")
            .unwrap_or_default();
        v["peers"]
            .as_array()
            .map(|a| a.iter().filter(|p| p["state"] == "Established").count())
            .unwrap_or(0)
    }

    fn ping(&self, count: &str) -> bool {
        self.clients[0]
            .exec(&[
                "ping", "-4", "-c", count, "-i", "0.2", "-W", "1", "10.2.0.2",
            ])
            .status
            .success()
    }
}

/// Packets of `pcap` matching the tcpdump filter `filter`.
fn count(pcap: &Path, filter: &str) -> usize {
    let out = run("tcpdump", &["-r", pcap.to_str().unwrap(), "-n", filter]);
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn contains_marker(pcap: &Path) -> bool {
    let bytes = std::fs::read(pcap).unwrap_or_default();
    bytes.windows(22).any(|w| w == b"SDWAN-CLEARTEXT-MARKER")
}

fn skip_unless_root() -> bool {
    if is_root() {
        return false;
    }
    eprintln!("skipping: the hybrid end-to-end test creates network namespaces and TAP devices; run it as root");
    true
}

#[test]
fn hybrid_wan_private_native_encrypted_breakout_and_failover() {
    let _g = serial();
    if skip_unless_root() {
        return;
    }
    let h = Hybrid::new(1);
    h.wait_converged();
    eprintln!(
        "== edge1 show policies\n{}",
        String::from_utf8_lossy(
            &run(sdwan_bin(), &["show", "--api", &edge_api(1), "policies"]).stdout
        )
    );

    let inet_pcap = h.dir.path().join("inet.pcap");
    let mpls_pcap = h.dir.path().join("mpls.pcap");
    let mut inet_cap = h
        .internet
        .capture(&inet_pcap, &h.dir.path().join("inet.log"));
    let mut mpls_cap = h
        .private
        .capture(&mpls_pcap, &h.dir.path().join("mpls.log"));

    // private-only: ICMP crosses the private WAN natively.
    assert!(h.ping("5"), "private-only ping failed\n{}", h.diagnostics());
    // encrypted-any: TCP with a checksum, ESP on the (preferred) private path.
    let out = h.clients[0].exec(&[
        "/usr/bin/python3",
        &py("overlay_peer.py"),
        "send",
        "10.2.0.2",
        &TCP_PORT.to_string(),
        &(1u32 << 20).to_string(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("ok "),
        "transfer: {text}\n{}",
        h.diagnostics()
    );
    // internet-breakout: NAT44 to edge1's public address.
    let seen = h.clients[0].exec(&[
        "/usr/bin/python3",
        &py("hybrid_peer.py"),
        "ask-peer",
        SERVER,
        &SERVER_PORT.to_string(),
    ]);
    let seen = String::from_utf8_lossy(&seen.stdout).trim().to_string();
    assert_eq!(seen, "203.0.113.1", "breakout source\n{}", h.diagnostics());
    std::thread::sleep(Duration::from_millis(1000));
    inet_cap.stop_with("-INT");
    mpls_cap.stop_with("-INT");

    let native = count(&mpls_pcap, "ip proto 137");
    let mpls_esp = count(&mpls_pcap, "udp port 4500 and greater 200");
    let inet_esp = count(&inet_pcap, "udp port 4500 and greater 200");
    let inet_native = count(&inet_pcap, "ip proto 137");
    let breakout = count(&inet_pcap, &format!("host {SERVER} and host 203.0.113.1"));
    eprintln!(
        "captures: private native {native}, private ESP {mpls_esp}, internet ESP {inet_esp}, internet native {inet_native}, breakout {breakout}"
    );
    // 5 echoes and 5 replies (the first may precede the capture).
    assert!(native >= 8, "pings as native packets: {native}");
    assert!(
        mpls_esp >= 500,
        "1 MiB of TCP as ESP on the private WAN: {mpls_esp}"
    );
    assert_eq!(
        inet_native, 0,
        "native packets must never cross the internet"
    );
    assert!(
        inet_esp < 20,
        "encrypted-any prefers the private path: {inet_esp}"
    );
    assert!(
        breakout >= 2,
        "breakout flow on the internet: {breakout}\n{}",
        String::from_utf8_lossy(&run("tcpdump", &["-r", inet_pcap.to_str().unwrap(), "-n"]).stdout)
    );
    assert!(!contains_marker(&inet_pcap) && !contains_marker(&mpls_pcap));
    assert!(h.tunnel_counter(1, "private", "native_packets") >= 5);

    // Failover: a UDP stream (encrypted-any) while edge1's private link
    // goes down 2 s in.
    let before_inet = h.tunnel_counter(1, "internet", "packets");
    let stream = Hybrid::udp_stream(6);
    std::thread::sleep(Duration::from_secs(2));
    let down_at = Instant::now();
    must("ip", &["-n", "hy-mpls", "link", "set", "hy1p", "down"]);
    let silent = wait_for(5, || (h.tunnels_up(1, "private") == 0).then_some(()));
    eprintln!(
        "edge1 took its private tunnel off the paths after {:?}",
        down_at.elapsed()
    );
    assert!(
        silent.is_some(),
        "private tunnel still up\n{}",
        h.diagnostics()
    );
    let report = stream.join().expect("stream thread");
    eprintln!("UDP stream across the failover: {report}");
    let gap = report["max_gap_ms"].as_f64().unwrap_or(f64::MAX);
    assert!(
        gap < 1000.0,
        "encrypted-any flow took {gap} ms to move\n{}",
        h.diagnostics()
    );
    let (sent, received) = (
        report["sent"].as_u64().unwrap(),
        report["received"].as_u64().unwrap(),
    );
    assert!(received * 100 >= sent * 80, "{report}");
    assert!(
        h.tunnel_counter(1, "internet", "packets") > before_inet + 50,
        "the stream must have moved to the internet tunnel\n{}",
        h.diagnostics()
    );
    // private-only while the private path is down: dropped, counted.
    let dropped_before = h.drops(1, "private_path_down");
    assert!(
        !h.ping("3"),
        "private-only traffic leaked onto the internet"
    );
    assert!(
        h.drops(1, "private_path_down") >= dropped_before + 3,
        "{}",
        h.diagnostics()
    );

    // A policy change applies live (reload): ICMP becomes encrypted-any
    // on both edges, and the pings cross the internet encrypted.
    for e in &h.edges {
        let path = e.dir.path().join("edge.toml");
        let text = std::fs::read_to_string(&path).expect("edge config");
        let relaxed = text.replace(
            "action = \"private-only\"\nprotocol = \"icmp\"",
            "action = \"encrypted-any\"\nprotocol = \"icmp\"",
        );
        assert_ne!(text, relaxed);
        std::fs::write(&path, relaxed).unwrap();
        let (code, _) = http(&e.api, "POST", "/api/reload", "").expect("reload");
        assert_eq!(code, 202);
        let r = wait_for(10, || {
            e.api_get("/api/reload")
                .filter(|r| r["result"] != "unchanged" && r["count"].as_u64() > Some(0))
        });
        let r = r.unwrap_or_default();
        assert_eq!(r["result"], "applied", "{r}");
    }
    let ok = wait_for(10, || h.ping("2").then_some(()));
    assert!(
        ok.is_some(),
        "encrypted-any ping after the reload\n{}",
        h.diagnostics()
    );

    // Link back: the tunnel rejoins at its next keepalive.
    must("ip", &["-n", "hy-mpls", "link", "set", "hy1p", "up"]);
    let back = wait_for(10, || {
        ([1u8, 2].iter().all(|&s| h.tunnels_up(s, "private") >= 1)).then_some(())
    });
    assert!(
        back.is_some(),
        "private tunnel did not come back\n{}",
        h.diagnostics()
    );
    let ok = wait_for(10, || h.ping("2").then_some(()));
    assert!(ok.is_some(), "ping after recovery\n{}", h.diagnostics());
}

/// Issue #8: two route reflectors of one cluster; every edge peers with
/// both. Killing one (SIGKILL, no graceful close) in the middle of a UDP
/// stream between the sites loses no route and no packet.
#[test]
fn losing_one_route_reflector_loses_no_route_and_no_traffic() {
    let _g = serial();
    if skip_unless_root() {
        return;
    }
    let mut h = Hybrid::new(2);
    h.wait_converged();
    let both = wait_for(30, || {
        (h.sessions_up(1) == 2 && h.sessions_up(2) == 2).then_some(())
    });
    assert!(
        both.is_some(),
        "edges not peering with both reflectors\n{}",
        h.diagnostics()
    );
    // Warm the path (neighbors resolved) before measuring.
    assert!(h.ping("2"));
    let routes_before = h.edges[0].api_get("/api/routes").unwrap_or_default();
    let stream = Hybrid::udp_stream(5);
    std::thread::sleep(Duration::from_secs(2));
    let killed = h.controllers[0].stop_with("-KILL");
    eprintln!("route reflector 0 killed: {killed:?}");
    let report = stream.join().expect("stream thread");
    eprintln!("UDP stream across the reflector loss: {report}");
    let (sent, received) = (
        report["sent"].as_u64().unwrap(),
        report["received"].as_u64().unwrap(),
    );
    assert_eq!(
        sent,
        received,
        "traffic lost with one reflector gone: {report}\n{}",
        h.diagnostics()
    );
    assert!(
        report["max_gap_ms"].as_f64().unwrap_or(f64::MAX) < 200.0,
        "{report}"
    );
    // The sessions to the dead reflector are down; every route stayed.
    let one = wait_for(10, || {
        (h.sessions_up(1) == 1 && h.sessions_up(2) == 1).then_some(())
    });
    assert!(one.is_some(), "{}", h.diagnostics());
    let overlay = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter(|r| {
                r["next_hop"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("overlay"))
            })
            .filter_map(|r| r["prefix"].as_str().map(String::from))
            .collect()
    };
    let after = h.edges[0].api_get("/api/routes").unwrap_or_default();
    assert_eq!(
        overlay(&routes_before),
        overlay(&after),
        "{}",
        h.diagnostics()
    );
    assert!(!overlay(&after).is_empty());
    assert!(h.ping("3"), "{}", h.diagnostics());
}
