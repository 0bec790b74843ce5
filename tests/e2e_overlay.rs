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

use common::overlay::*;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// Client prefixes every edge must learn from the other site, per VRF.
fn remote_prefixes(site: u8, vrf: &str) -> Vec<String> {
    let other = 3 - site;
    let mut v = vec![format!("10.{other}.0.0/24"), format!("fd00:{other}::/64")];
    if site == 1 && vrf == "red" {
        v.push("10.22.0.0/24".into());
    }
    v
}

/// Where the route reflector listens and how edge `site` reaches it.
struct Rr {
    port: u16,
}

fn edge_api(prefix: &str, site: u8) -> String {
    let base = if prefix == "sdwo" { 19210 } else { 19220 };
    format!("127.0.0.1:{}", base + site as u16)
}

fn taps(prefix: &str, site: u8) -> [String; 3] {
    ["w", "b", "r"].map(|k| format!("{prefix}{site}{k}"))
}

/// The edge's TOML, in the shape of examples/overlay-edge*.toml.
/// The GoBGP variant runs its tunnels over an IPv6 underlay (the WAN
/// ports' public addresses are their IPv6 ones), the controller variant
/// over IPv4.
fn edge_config(prefix: &str, site: u8, rr: &Rr) -> String {
    let [wan, blue, red] = taps(prefix, site);
    let public = if prefix == "sdwg" {
        format!("public_address = \"2001:db8:ffff::{site}\"")
    } else {
        String::new()
    };
    let api = edge_api(prefix, site);
    let rr_port = rr.port;
    let red_static = if site == 2 {
        "\n[[route]]\nvrf = \"red\"\nprefix = \"10.22.0.0/24\"\nvia = \"10.2.0.2\"\n"
    } else {
        ""
    };
    format!(
        r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix={prefix}{site}", "--log-level=notice"]

[dataplane]
workers = 1

[node]
id = "10.255.0.{site}"
asn = 65000

[bgp]
hold_time = 30

[[bgp.peer]]
address = "127.0.0.1"
port = {rr_port}
remote_as = 65000
md5_key = "edge{site}-secret"
local_address = "127.0.0.1{site}"

[[vrf]]
name = "blue"
id = 1
rd = "65000:{site}1"
import = ["65000:1"]
export = ["65000:1"]
label = 1{site}01
color = 100

[[vrf]]
name = "red"
id = 2
rd = "65000:{site}2"
import = ["65000:2"]
export = ["65000:2"]
label = 1{site}02
color = 100

[[port]]
name = "wan0"
device = "net_tap0,iface={wan}"
mac = "02:5d:0{site}:00:00:01"
addresses = ["203.0.113.{site}/24", "2001:db8:ffff::{site}/64"]

[[wan]]
port = "wan0"
id = 1
color = 100
kind = "internet"
{public}

[[port]]
name = "blue0"
device = "net_tap1,iface={blue}"
vrf = "blue"
mac = "02:5d:0{site}:00:00:02"
addresses = ["10.{site}.0.1/24", "fd00:{site}::1/64"]

[[port]]
name = "red0"
device = "net_tap2,iface={red}"
vrf = "red"
mac = "02:5d:0{site}:00:00:03"
addresses = ["10.{site}.0.1/24", "fd00:{site}::1/64"]
{red_static}
[management]
listen = "{api}"
"#
    )
}

/// `sdwan controller`: one peer group for the tenant's two VPNs (both
/// edges host both), passive MD5 peers = the edges' BGP source addresses.
fn controller_config(rr: &Rr, api: &str) -> String {
    let port = rr.port;
    let mut s = format!(
        r#"
[bgp]
router_id = "192.0.2.100"
asn = 65000
listen_address = "127.0.0.1"
listen_port = {port}
hold_time = 30

[[bgp.peer_groups]]
name = "acme"
route_targets = ["65000:1", "65000:2"]
"#
    );
    for site in 1..=2 {
        s.push_str(&format!(
            r#"
[[bgp.peers]]
address = "127.0.0.1{site}"
remote_as = 65000
md5_key = "edge{site}-secret"
peer_group = "acme"
passive = true
families = ["vpnv4", "vpnv6", "sdwan-v4", "ipv4-unicast"]
"#
        ));
    }
    s.push_str(&format!("\n[management]\nlisten = \"{api}\"\n"));
    s
}

/// GoBGP as the route reflector: VPNv4/VPNv6 and IPv4 unicast (no SAFI 74,
/// so the edges fall back to the loopback route with the Tunnel
/// Encapsulation attribute).
fn gobgp_config(rr: &Rr) -> String {
    let port = rr.port;
    let mut s = format!(
        r#"[global.config]
  as = 65000
  router-id = "192.0.2.101"
  port = {port}
  local-address-list = ["127.0.0.1"]
"#
    );
    for site in 1..=2 {
        s.push_str(&format!(
            r#"[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1{site}"
    peer-as = 65000
    auth-password = "edge{site}-secret"
  [neighbors.transport.config]
    passive-mode = true
    local-address = "127.0.0.1"
  [neighbors.route-reflector.config]
    route-reflector-client = true
    route-reflector-cluster-id = "192.0.2.101"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv6-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"#
        ));
    }
    s
}

enum Reflector {
    Controller { proc: Proc, api: String },
    GoBgp { proc: Proc, api_port: u16 },
}

impl Reflector {
    fn summary(&self) -> String {
        let out = match self {
            Reflector::Controller { api, .. } => {
                run(sdwan_bin(), &["show", "--api", api, "bgp", "summary"])
            }
            Reflector::GoBgp { api_port, .. } => run(
                "gobgp",
                &["-u", "127.0.0.1", "-p", &api_port.to_string(), "neighbor"],
            ),
        };
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    fn log(&self) -> String {
        match self {
            Reflector::Controller { proc, .. } | Reflector::GoBgp { proc, .. } => proc.output(),
        }
    }
}

/// Everything the test started; fields drop in this order: edges first
/// (SIGTERM, their TAPs vanish), then servers, the reflector, and the
/// namespaces last.
struct Overlay {
    prefix: &'static str,
    rr: Rr,
    edges: Vec<Edge>,
    servers: Vec<Proc>,
    reflector: Reflector,
    /// [blue1, red1, blue2, red2]
    clients: Vec<Netns>,
    internet: Internet,
    dir: tempfile::TempDir,
}

const ECHO_PORT: u16 = 7007;

impl Overlay {
    fn new(prefix: &'static str, gobgp: bool) -> Overlay {
        let dir = tempfile::tempdir().expect("tempdir");
        let internet = Internet::new(&format!("{prefix}-inet"));
        let clients: Vec<Netns> = ["b1", "r1", "b2", "r2"]
            .iter()
            .map(|c| Netns::new(&format!("{prefix}-{c}")))
            .collect();
        let rr = Rr {
            port: if gobgp { 17942 } else { 17941 },
        };
        let reflector = if gobgp {
            let conf = dir.path().join("gobgpd.toml");
            std::fs::write(&conf, gobgp_config(&rr)).unwrap();
            let api_port = 19229;
            let mut proc = Proc::spawn(
                "gobgpd",
                None,
                &[
                    "gobgpd",
                    "-f",
                    conf.to_str().unwrap(),
                    "--api-hosts",
                    &format!("127.0.0.1:{api_port}"),
                    "--pprof-disable",
                    "-l",
                    "info",
                ],
                &dir.path().join("gobgpd.log"),
            );
            std::thread::sleep(Duration::from_millis(500));
            assert!(proc.alive(), "gobgpd exited:\n{}", proc.output());
            Reflector::GoBgp { proc, api_port }
        } else {
            let conf = dir.path().join("controller.toml");
            let api = "127.0.0.1:19210".to_string();
            std::fs::write(&conf, controller_config(&rr, &api)).unwrap();
            let mut proc = Proc::spawn(
                "sdwan controller",
                None,
                &[
                    sdwan_bin(),
                    "controller",
                    "--config",
                    conf.to_str().unwrap(),
                ],
                &dir.path().join("controller.log"),
            );
            let up = wait_for(20, || http(&api, "GET", "/api/bgp/summary", "").ok());
            assert!(
                up.is_some() && proc.alive(),
                "controller did not come up:\n{}",
                proc.output()
            );
            Reflector::Controller { proc, api }
        };
        let mut o = Overlay {
            prefix,
            rr,
            edges: Vec::new(),
            servers: Vec::new(),
            reflector,
            clients,
            internet,
            dir,
        };
        for site in 1..=2 {
            let e = o.start_edge(site);
            o.edges.push(e);
        }
        for c in 0..o.clients.len() {
            let name = o.clients[c].name.clone();
            let mut p = Proc::spawn(
                &format!("server in {name}"),
                Some(&name),
                &[
                    "/usr/bin/python3",
                    &py("overlay_peer.py"),
                    "serve",
                    &name,
                    &ECHO_PORT.to_string(),
                ],
                &o.dir.path().join(format!("server-{name}.log")),
            );
            p.wait_for_output("ready", 10);
            o.servers.push(p);
        }
        o
    }

    /// Starts edge `site`, plugs its WAN TAP into the internet bridge and
    /// hands its LAN TAPs to the site's client namespaces.
    fn start_edge(&self, site: u8) -> Edge {
        let t = taps(self.prefix, site);
        let refs: Vec<&str> = t.iter().map(String::as_str).collect();
        let edge = Edge::start(
            &edge_config(self.prefix, site, &self.rr),
            &edge_api(self.prefix, site),
            &refs,
        );
        self.internet.plug(&t[0]);
        let base = (site as usize - 1) * 2;
        attach_client(&self.clients[base], &t[1], site);
        attach_client(&self.clients[base + 1], &t[2], site);
        if site == 2 {
            // Red site 2's extra prefix, behind the client (edge2's static
            // route 10.22.0.0/24 via 10.2.0.2).
            self.clients[3].must(&["ip", "addr", "replace", "10.22.0.2/32", "dev", "lo"]);
        }
        edge
    }

    fn client(&self, vrf: &str, site: u8) -> &Netns {
        let i = (site as usize - 1) * 2 + usize::from(vrf == "red");
        &self.clients[i]
    }

    /// Everything useful when a check fails.
    fn diagnostics(&self) -> String {
        let mut s = format!(
            "== route reflector summary\n{}\n== route reflector log (tail)\n{}\n",
            self.reflector.summary(),
            tail(&self.reflector.log(), 30)
        );
        for (i, e) in self.edges.iter().enumerate() {
            let n = i + 1;
            for what in [
                "routes",
                "tunnels",
                "sa",
                "drops",
                "neighbors",
                "interfaces",
            ] {
                s.push_str(&format!(
                    "== edge{n} /api/{what}\n{}\n",
                    e.api_get(&format!("/api/{what}")).unwrap_or_default()
                ));
            }
            s.push_str(&format!("== edge{n} log (tail)\n{}\n", tail(&e.log(), 30)));
        }
        s
    }

    /// Prefixes of `vrf` on edge `site` whose next hop is the overlay.
    fn overlay_routes(&self, site: u8, vrf: &str) -> Vec<String> {
        let routes = self.edges[site as usize - 1]
            .api_get("/api/routes")
            .unwrap_or_default();
        routes
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| {
                        r["vrf"] == vrf
                            && r["next_hop"]
                                .as_str()
                                .is_some_and(|n| n.starts_with("overlay"))
                    })
                    .filter_map(|r| r["prefix"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until both edges resolved every remote client prefix of both
    /// VRFs to the overlay.
    fn wait_converged(&self, secs: u64) {
        let start = Instant::now();
        let done = wait_for(secs, || {
            let ok = [1u8, 2].iter().all(|&site| {
                ["blue", "red"].iter().all(|vrf| {
                    let have = self.overlay_routes(site, vrf);
                    remote_prefixes(site, vrf).iter().all(|p| have.contains(p))
                })
            });
            ok.then_some(())
        });
        assert!(
            done.is_some(),
            "overlay routes not resolved in {secs} s\n{}",
            self.diagnostics()
        );
        eprintln!("overlay converged in {:?}", start.elapsed());
    }

    fn reload_adds_a_prefix_live(&self) {
        let e2 = &self.edges[1];
        let path = e2.dir.path().join("edge.toml");
        let text = std::fs::read_to_string(&path).expect("edge2 config");
        let bad = text.replace("02:5d:02:00:00:02", "02:5d:02:00:00:99");
        std::fs::write(&path, &bad).unwrap();
        let pid = e2.child.as_ref().expect("edge2 running").id().to_string();
        must("kill", &["-HUP", &pid]);
        let refused = wait_for(10, || {
            e2.api_get("/api/reload")
                .filter(|r| r["result"] == "refused")
        })
        .unwrap_or_else(|| panic!("bad reload not refused\n{}", self.diagnostics()));
        let err = refused["error"].as_str().unwrap_or_default();
        assert!(err.contains("[[port]]"), "{refused}");
        self.ping(self.client("blue", 1), "10.2.0.2");

        let good = format!(
            "{text}\n[[route]]\nvrf = \"red\"\nprefix = \"10.23.0.0/24\"\nvia = \"10.2.0.2\"\n"
        );
        std::fs::write(&path, good).unwrap();
        let (code, _) = http(&e2.api, "POST", "/api/reload", "").expect("reload");
        assert_eq!(code, 202);
        let learned = wait_for(30, || {
            self.overlay_routes(1, "red")
                .contains(&"10.23.0.0/24".to_string())
                .then_some(())
        });
        assert!(
            learned.is_some(),
            "10.23.0.0/24 not learned after edge2's reload: {}\n{}",
            e2.api_get("/api/reload").unwrap_or_default(),
            self.diagnostics()
        );
        assert!(!self
            .overlay_routes(1, "blue")
            .contains(&"10.23.0.0/24".to_string()));
        let r = e2.api_get("/api/reload").unwrap_or_default();
        assert_eq!(r["result"], "applied", "{r}");
        eprintln!("reload: {r}");
    }

    /// Outbound and inbound SPIs of edge `site`'s tunnels.
    fn spis(&self, site: u8) -> (Vec<u64>, Vec<u64>) {
        let t = self.edges[site as usize - 1]
            .api_get("/api/sa")
            .unwrap_or_default();
        let pick = |dir: &str| -> Vec<u64> {
            t.as_array()
                .map(|a| {
                    a.iter()
                        .filter(|r| r["direction"] == dir)
                        .filter_map(|r| r["spi"].as_u64())
                        .collect()
                })
                .unwrap_or_default()
        };
        (pick("out"), pick("in"))
    }

    /// `POST /api/rekey?wan=1` on edge `site` in the middle of a 200-packet
    /// ping stream between the blue clients: every echo is answered, and
    /// both edges end up on new SPIs (the old inbound SA retires).
    fn rekey_without_loss(&self, site: u8) {
        let (out_before, _) = self.spis(site);
        let (peer_out_before, _) = self.spis(3 - site);
        assert!(!out_before.is_empty(), "no outbound SA on edge{site}");
        let ns = self.client("blue", 1).name.clone();
        let pinger = std::thread::spawn(move || {
            run(
                "ip",
                &[
                    "netns", "exec", &ns, "ping", "-4", "-c", "200", "-i", "0.02", "-W", "2",
                    "10.2.0.2",
                ],
            )
        });
        std::thread::sleep(Duration::from_millis(800));
        let api = &self.edges[site as usize - 1].api;
        let (code, body) = http(api, "POST", "/api/rekey?wan=1", "").expect("rekey request");
        assert_eq!(code, 202, "rekey refused: {body}");
        let out = pinger.join().expect("ping thread");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(" 200 received"),
            "packets lost across the rekey:\n{text}\n{}",
            self.diagnostics()
        );
        let switched = wait_for(20, || {
            let (out_after, _) = self.spis(site);
            let (peer_out_after, _) = self.spis(3 - site);
            let moved = !out_after.is_empty()
                && out_after.iter().all(|s| !out_before.contains(s))
                && !peer_out_after.is_empty()
                && peer_out_after.iter().all(|s| !peer_out_before.contains(s));
            moved.then_some(())
        });
        assert!(
            switched.is_some(),
            "SPIs did not change after the rekey: edge{site} out {out_before:?} -> {:?}, edge{} out {peer_out_before:?} -> {:?}\n{}",
            self.spis(site).0,
            3 - site,
            self.spis(3 - site).0,
            self.diagnostics()
        );
        eprintln!(
            "rekey: edge{site} out {out_before:?} -> {:?}; 200/200 echoes answered",
            self.spis(site).0
        );
    }

    /// One ping until the first reply (neighbors and SAs settle), then five
    /// that must all be answered.
    fn ping(&self, from: &Netns, dst: &str) {
        let v6 = if dst.contains(':') { "-6" } else { "-4" };
        let first = wait_for(20, || {
            from.exec(&["ping", v6, "-c", "1", "-W", "1", dst])
                .status
                .success()
                .then_some(())
        });
        assert!(
            first.is_some(),
            "{} cannot ping {dst}\n{}",
            from.name,
            self.diagnostics()
        );
        let out = from.exec(&["ping", v6, "-c", "5", "-i", "0.2", "-W", "2", dst]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(" 5 received"),
            "{} -> {dst}: loss after the first reply:\n{text}",
            from.name
        );
    }

    fn unreachable(&self, from: &Netns, dst: &str) {
        let out = from.exec(&["ping", "-c", "3", "-i", "0.3", "-W", "1", dst]);
        assert!(
            !out.status.success(),
            "{} must not reach {dst}:\n{}",
            from.name,
            String::from_utf8_lossy(&out.stdout)
        );
    }

    /// Asks the server at `dst` for its name: proves which namespace (and
    /// so which VRF) answered.
    fn identity(&self, from: &Netns, dst: &str) -> String {
        let out = from.exec(&[
            "timeout",
            "60",
            "/usr/bin/python3",
            &py("overlay_peer.py"),
            "ask",
            dst,
            &ECHO_PORT.to_string(),
        ]);
        assert!(
            out.status.success(),
            "{} -> {dst}: identity request failed: {}{}\n{}",
            from.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.diagnostics()
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn transfer(&self, from: &Netns, dst: &str, bytes: usize) {
        let out = from.exec(&[
            "timeout",
            "120",
            "/usr/bin/python3",
            &py("overlay_peer.py"),
            "send",
            dst,
            &ECHO_PORT.to_string(),
            &bytes.to_string(),
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.starts_with("ok "),
            "{} -> {dst}: TCP transfer of {bytes} B failed: {text}{}\n{}",
            from.name,
            String::from_utf8_lossy(&out.stderr),
            self.diagnostics()
        );
        eprintln!("{} -> {dst}: {}", from.name, text.trim());
    }

    /// Same-VRF reachability and identity, IPv4 and IPv6, both directions.
    fn check_vrf(&self, vrf: &str, v6: bool) {
        let tag = if vrf == "blue" { "b" } else { "r" };
        for (from, to) in [(1u8, 2u8), (2, 1)] {
            let src = self.client(vrf, from);
            let mut dsts = vec![format!("10.{to}.0.2")];
            if v6 {
                dsts.push(format!("fd00:{to}::2"));
            }
            for dst in &dsts {
                self.ping(src, dst);
                let who = self.identity(src, dst);
                assert_eq!(
                    who,
                    format!("{}-{tag}{to}", self.prefix),
                    "{} -> {dst} answered by the wrong host (VRF leak?)",
                    src.name
                );
            }
        }
    }

    fn show(&self, site: u8, args: &[&str]) -> String {
        let api = &self.edges[site as usize - 1].api;
        let mut full = vec!["show", "--api", api];
        full.extend_from_slice(args);
        let out = run(sdwan_bin(), &full);
        assert!(
            out.status.success(),
            "sdwan show {args:?} on edge{site}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Classifies the bridge capture with tests/py/wan_capture.py.
fn classify_capture(pcap: &Path) -> serde_json::Value {
    let out = must(
        "/usr/bin/python3",
        &[
            &py("wan_capture.py"),
            pcap.to_str().unwrap(),
            "203.0.113.1",
            "203.0.113.2",
            "2001:db8:ffff::1",
            "2001:db8:ffff::2",
        ],
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("wan_capture.py: {e}: {out}"))
}

fn skip_unless_root() -> bool {
    if is_root() {
        return false;
    }
    eprintln!("skipping: the overlay end-to-end test creates network namespaces and TAP devices; run it as root");
    true
}

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
