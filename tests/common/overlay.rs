//! Harness for the overlay end-to-end test (issue #6): an "internet"
//! namespace with a Linux bridge joining the edges' WAN TAPs, client
//! namespaces on the LAN TAPs, the route reflector (`sdwan controller` or
//! `gobgpd`) on loopback, background processes killed by PID on drop.

use super::*;
use std::path::Path;

pub fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// A background process (server, capture, route reflector) with its
/// output in a file; SIGTERM (then SIGKILL) by PID on drop.
pub struct Proc {
    pub name: String,
    pub child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `argv`, in namespace `ns` when given, stdout+stderr to `log`.
    pub fn spawn(name: &str, ns: Option<&str>, argv: &[&str], log: &Path) -> Proc {
        let out = std::fs::File::create(log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = match ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).args(argv);
                c
            }
            None => {
                let mut c = Command::new(argv[0]);
                c.args(&argv[1..]);
                c
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name} ({argv:?}): {e}"));
        Proc {
            name: name.to_string(),
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits until the output contains `what`; panics with the output after
    /// `secs` or when the process exits.
    pub fn wait_for_output(&mut self, what: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.output().contains(what) {
                return;
            }
            if let Some(st) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "{} exited ({st}) before {what:?}:\n{}",
                    self.name,
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not print {what:?} in {secs} s:\n{}",
                self.name,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Sends `signal` (e.g. "-INT", "-TERM") and waits up to 10 s, then
    /// SIGKILL. Returns the exit status.
    pub fn stop_with(&mut self, signal: &str) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = run("kill", &[signal, &child.id().to_string()]);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(st);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop_with("-TERM");
    }
}

/// The "internet": a namespace with bridge `br0` (no addresses, IPv6
/// disabled so the kernel itself puts nothing on the wire) joining the
/// edges' WAN TAPs.
pub struct Internet {
    pub ns: Netns,
}

impl Internet {
    pub fn new(name: &str) -> Internet {
        let ns = Netns::new(name);
        for key in ["all", "default"] {
            ns.must(&[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
            ]);
        }
        must(
            "ip",
            &[
                "-n",
                name,
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "stp_state",
                "0",
            ],
        );
        must("ip", &["-n", name, "link", "set", "br0", "up"]);
        Internet { ns }
    }

    /// Moves the WAN TAP `ifname` (created by DPDK in the root namespace)
    /// into the internet and enslaves it to the bridge.
    pub fn plug(&self, ifname: &str) {
        let n = &self.ns.name;
        must("ip", &["link", "set", ifname, "netns", n]);
        // DPDK's TAP PMD gives the kernel side the port's own MAC; a bridge
        // treats its ports' MACs as local and would never forward frames
        // addressed to the edge out of that port. The kernel side gets a
        // MAC of its own (the DPDK port keeps its configured one).
        let mac = kernel_side_mac(ifname);
        must("ip", &["-n", n, "link", "set", ifname, "address", &mac]);
        must("ip", &["-n", n, "link", "set", ifname, "master", "br0"]);
        must("ip", &["-n", n, "link", "set", ifname, "up"]);
    }

    /// A host on the internet: a veth pair, `bridge_end` enslaved to the
    /// bridge, `host_end` in namespace `host` with `v4` and `v6` (CIDR).
    /// The pair goes away with either namespace.
    pub fn attach_host(&self, host: &Netns, bridge_end: &str, host_end: &str, v4: &str, v6: &str) {
        let n = &self.ns.name;
        must(
            "ip",
            &[
                "-n", n, "link", "add", bridge_end, "type", "veth", "peer", "name", host_end,
                "netns", &host.name,
            ],
        );
        must("ip", &["-n", n, "link", "set", bridge_end, "master", "br0"]);
        must("ip", &["-n", n, "link", "set", bridge_end, "up"]);
        let h = &host.name;
        must("ip", &["-n", h, "link", "set", host_end, "up"]);
        must("ip", &["-n", h, "addr", "add", v4, "dev", host_end]);
        must(
            "ip",
            &["-n", h, "addr", "add", v6, "dev", host_end, "nodad"],
        );
    }

    /// Starts tcpdump on the bridge, writing `pcap`.
    pub fn capture(&self, pcap: &Path, log: &Path) -> Proc {
        let mut p = Proc::spawn(
            "tcpdump",
            Some(&self.ns.name),
            &[
                "tcpdump",
                "-i",
                "br0",
                "-n",
                "-U",
                "-s",
                "0",
                "-w",
                pcap.to_str().unwrap(),
            ],
            log,
        );
        p.wait_for_output("listening on br0", 10);
        p
    }
}

/// A client namespace on a LAN TAP: `10.{site}.0.2/24` and
/// `fd00:{site}::2/64`, default routes via the edge's `.1` / `::1`.
pub fn attach_client(ns: &Netns, tap: &str, site: u8) {
    ns.take_link(
        tap,
        &format!("10.{site}.0.2/24"),
        &format!("10.{site}.0.1"),
        &format!("fd00:{site}::2/64"),
        &format!("fd00:{site}::1"),
    );
}

/// Polls `f` every 250 ms until it returns `Some`, for at most `secs`.
pub fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A locally administered MAC derived from an interface name.
fn kernel_side_mac(ifname: &str) -> String {
    let h = ifname.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let b = h.to_be_bytes();
    format!(
        "0a:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3], b[4]
    )
}

/// Starts `sdwan controller` with `config` (written to `dir`) and waits
/// until its management API at `api` answers.
pub fn start_controller(config: &str, api: &str, dir: &Path) -> Proc {
    let conf = dir.join("controller.toml");
    std::fs::write(&conf, config).expect("write controller.toml");
    let mut proc = Proc::spawn(
        "sdwan controller",
        None,
        &[
            sdwan_bin(),
            "controller",
            "--config",
            conf.to_str().expect("utf-8 path"),
        ],
        &dir.join("controller.log"),
    );
    let up = wait_for(20, || http(api, "GET", "/api/bgp/summary", "").ok());
    assert!(
        up.is_some() && proc.alive(),
        "controller did not come up:\n{}",
        proc.output()
    );
    proc
}

/// Prefixes of `vrf` on `edge` whose next hop is the overlay.
pub fn overlay_routes(edge: &Edge, vrf: &str) -> Vec<String> {
    let routes = edge.api_get("/api/routes").unwrap_or_default();
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

/// An edge's state for a failing check: routes, tunnels, SAs, drops,
/// neighbors, interfaces and the tail of its log.
pub fn edge_report(name: &str, edge: &Edge) -> String {
    let mut s = String::new();
    for what in [
        "routes",
        "tunnels",
        "sa",
        "drops",
        "neighbors",
        "interfaces",
        "overlay",
        "bgp/summary",
        "bgp/routes",
    ] {
        s.push_str(&format!(
            "== {name} /api/{what}\n{}\n",
            edge.api_get(&format!("/api/{what}")).unwrap_or_default()
        ));
    }
    s.push_str(&format!(
        "== {name} log (tail)\n{}\n",
        tail(&edge.log(), 30)
    ));
    s
}

/// What `ping` printed: replies received and the TTL of each reply.
#[derive(Debug)]
pub struct PingResult {
    pub received: usize,
    pub ttls: Vec<u8>,
    pub text: String,
}

/// `count` pings (0.2 s apart) from `ns` to `dst`.
pub fn ping_ttl(ns: &Netns, dst: &str, count: usize) -> PingResult {
    let v6 = if dst.contains(':') { "-6" } else { "-4" };
    let n = count.to_string();
    let out = ns.exec(&["ping", v6, "-c", &n, "-i", "0.2", "-W", "2", dst]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let ttls: Vec<u8> = text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("ttl=").or_else(|| w.strip_prefix("hlim=")))
        .filter_map(|t| t.parse().ok())
        .collect();
    PingResult {
        received: ttls.len(),
        ttls,
        text,
    }
}
