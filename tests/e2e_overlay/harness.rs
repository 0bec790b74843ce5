//! The overlay end-to-end harness: the reflector, two edges, four client
//! namespaces and the internet bridge, with the checks the test composes
//! (pings, identities, transfers, rekey, reload) and the diagnostics a
//! failing check prints. Everything is removed on drop.
use super::configs::*;
use crate::common::overlay::*;
use crate::common::*;
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) enum Reflector {
    Controller { proc: Proc, api: String },
    GoBgp { proc: Proc, api_port: u16 },
}

impl Reflector {
    pub(crate) fn summary(&self) -> String {
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

    pub(crate) fn log(&self) -> String {
        match self {
            Reflector::Controller { proc, .. } | Reflector::GoBgp { proc, .. } => proc.output(),
        }
    }
}

/// Everything the test started; fields drop in this order: edges first
/// (SIGTERM, their TAPs vanish), then servers, the reflector, and the
/// namespaces last.
pub(crate) struct Overlay {
    pub(crate) prefix: &'static str,
    pub(crate) rr: Rr,
    pub(crate) edges: Vec<Edge>,
    pub(crate) servers: Vec<Proc>,
    pub(crate) reflector: Reflector,
    /// [blue1, red1, blue2, red2]
    pub(crate) clients: Vec<Netns>,
    pub(crate) internet: Internet,
    pub(crate) dir: tempfile::TempDir,
    /// Extra `[[wan]]` keys of every edge's config.
    pub(crate) wan_extra: String,
}

pub(crate) const ECHO_PORT: u16 = 7007;

impl Overlay {
    pub(crate) fn new(prefix: &'static str, gobgp: bool) -> Overlay {
        Self::with_wan_config(prefix, gobgp, "")
    }

    /// As [`Overlay::new`], with `wan_extra` added to every edge's `[[wan]]`.
    pub(crate) fn with_wan_config(prefix: &'static str, gobgp: bool, wan_extra: &str) -> Overlay {
        let (rr_port, controller_api, _) = test_ports(prefix, gobgp);
        let dir = tempfile::tempdir().expect("tempdir");
        let internet = Internet::new(&format!("{prefix}-inet"));
        let clients: Vec<Netns> = ["b1", "r1", "b2", "r2"]
            .iter()
            .map(|c| Netns::new(&format!("{prefix}-{c}")))
            .collect();
        let rr = Rr { port: rr_port };
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
            let api = format!("127.0.0.1:{controller_api}");
            let proc = start_controller(&controller_config(&rr, &api), &api, dir.path());
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
            wan_extra: wan_extra.to_string(),
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
    pub(crate) fn start_edge(&self, site: u8) -> Edge {
        let t = taps(self.prefix, site);
        let refs: Vec<&str> = t.iter().map(String::as_str).collect();
        let edge = Edge::start(
            &edge_config(self.prefix, site, &self.rr, &self.wan_extra),
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

    pub(crate) fn client(&self, vrf: &str, site: u8) -> &Netns {
        let i = (site as usize - 1) * 2 + usize::from(vrf == "red");
        &self.clients[i]
    }

    /// Everything useful when a check fails.
    pub(crate) fn diagnostics(&self) -> String {
        let mut s = format!(
            "== route reflector summary\n{}\n== route reflector log (tail)\n{}\n",
            self.reflector.summary(),
            tail(&self.reflector.log(), 30)
        );
        for (i, e) in self.edges.iter().enumerate() {
            s.push_str(&edge_report(&format!("edge{}", i + 1), e));
        }
        s
    }

    /// Prefixes of `vrf` on edge `site` whose next hop is the overlay.
    pub(crate) fn overlay_routes(&self, site: u8, vrf: &str) -> Vec<String> {
        overlay_routes(&self.edges[site as usize - 1], vrf)
    }

    /// Waits until both edges resolved every remote client prefix of both
    /// VRFs to the overlay.
    pub(crate) fn wait_converged(&self, secs: u64) {
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

    pub(crate) fn reload_adds_a_prefix_live(&self) {
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
    pub(crate) fn spis(&self, site: u8) -> (Vec<u64>, Vec<u64>) {
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
    pub(crate) fn rekey_without_loss(&self, site: u8) {
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
    pub(crate) fn ping(&self, from: &Netns, dst: &str) {
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

    pub(crate) fn unreachable(&self, from: &Netns, dst: &str) {
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
    pub(crate) fn identity(&self, from: &Netns, dst: &str) -> String {
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

    pub(crate) fn transfer(&self, from: &Netns, dst: &str, bytes: usize) {
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
    pub(crate) fn check_vrf(&self, vrf: &str, v6: bool) {
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

    pub(crate) fn show(&self, site: u8, args: &[&str]) -> String {
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
pub(crate) fn classify_capture(pcap: &Path) -> serde_json::Value {
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

pub(crate) fn skip_unless_root() -> bool {
    if is_root() {
        return false;
    }
    eprintln!("skipping: the overlay end-to-end test creates network namespaces and TAP devices; run it as root");
    true
}
