//! Harness for end-to-end tests: network namespaces, a running `sdwan
//! edge` process with DPDK TAP ports, and helpers to run commands inside
//! namespaces. Everything is removed on drop, even when a test fails.
#![allow(dead_code)]

pub mod overlay;
pub mod ztp;

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// End-to-end tests share two cores: run them one at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn require_root() {
    let out = Command::new("id").arg("-u").output().expect("id");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "end-to-end tests create namespaces and TAP devices: run them as root"
    );
}

pub fn run(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    out
}

pub fn must(cmd: &str, args: &[&str]) -> String {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: &str) -> Netns {
        let _ = run("ip", &["netns", "del", name]);
        must("ip", &["netns", "add", name]);
        must("ip", &["-n", name, "link", "set", "lo", "up"]);
        Netns {
            name: name.to_string(),
        }
    }

    pub fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["netns", "exec", &self.name];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    pub fn must(&self, args: &[&str]) -> String {
        let mut full = vec!["netns", "exec", &self.name];
        full.extend_from_slice(args);
        must("ip", &full)
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn in netns")
    }

    /// Moves `ifname` in and gives it addresses and default routes.
    pub fn take_link(&self, ifname: &str, v4: &str, gw4: &str, v6: &str, gw6: &str) {
        must("ip", &["link", "set", ifname, "netns", &self.name]);
        must("ip", &["-n", &self.name, "link", "set", ifname, "up"]);
        must("ip", &["-n", &self.name, "addr", "add", v4, "dev", ifname]);
        must(
            "ip",
            &["-n", &self.name, "addr", "add", v6, "dev", ifname, "nodad"],
        );
        must(
            "ip",
            &["-n", &self.name, "route", "add", "default", "via", gw4],
        );
        must(
            "ip",
            &[
                "-n", &self.name, "-6", "route", "add", "default", "via", gw6,
            ],
        );
    }
}

/// Runs `args` (a ping) in `ns` and fails the test with its output unless
/// it succeeds.
pub fn ping_ok(ns: &Netns, args: &[&str]) {
    let out = ns.exec(args);
    assert!(
        out.status.success(),
        "ping {args:?} in {} failed: {}{}",
        ns.name,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

pub fn sdwan_bin() -> &'static str {
    env!("CARGO_BIN_EXE_sdwan")
}

/// A running `sdwan edge`; SIGTERM and wait on drop.
pub struct Edge {
    pub child: Option<Child>,
    pub api: String,
    pub dir: tempfile::TempDir,
    pub taps: Vec<String>,
}

impl Edge {
    /// Starts the edge with `config` and waits until `taps` exist and the
    /// API answers.
    pub fn start(config: &str, api: &str, taps: &[&str]) -> Edge {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("edge.toml");
        std::fs::write(&cfg, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("edge.log")).expect("log file");
        let child = Command::new(sdwan_bin())
            .args(["edge", "--config"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sdwan edge");
        let mut edge = Edge {
            child: Some(child),
            api: api.to_string(),
            dir,
            taps: taps.iter().map(|s| s.to_string()).collect(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let links_up = taps
                .iter()
                .all(|t| run("ip", &["link", "show", t]).status.success());
            if links_up && edge.api_get("/api/health").is_some() {
                break;
            }
            if let Some(status) = edge.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("edge exited early ({status}):\n{}", edge.log());
            }
            assert!(
                Instant::now() < deadline,
                "edge did not come up:\n{}",
                edge.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        edge
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("edge.log")).unwrap_or_default()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("edge.log")
    }

    /// GET over the management API with the `sdwan show`-side client.
    pub fn api_get(&self, path: &str) -> Option<serde_json::Value> {
        http(&self.api, "GET", path, "")
            .ok()
            .and_then(|(code, body)| {
                (code == 200)
                    .then(|| serde_json::from_str(&body).ok())
                    .flatten()
            })
    }

    pub fn show_json(&self, what: &str) -> serde_json::Value {
        let out = must(sdwan_bin(), &["show", "--api", &self.api, what, "--json"]);
        serde_json::from_str(&out).expect("show --json prints JSON")
    }

    /// Stops the edge with SIGTERM and returns its exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("edge running");
        must("kill", &["-TERM", &child.id().to_string()]);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        if self.child.is_some() {
            let st = self.stop();
            if !st.success() && !std::thread::panicking() {
                panic!("edge exited with {st}:\n{}", self.log());
            }
        }
    }
}

/// One HTTP/1.0 request; returns (status, body).
pub fn http(addr: &str, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, body.to_string()))
}

pub fn py(script: &str) -> String {
    format!("{}/tests/py/{script}", env!("CARGO_MANIFEST_DIR"))
}

/// Counter of `/api/drops` for `reason` (0 when absent).
pub fn drop_count(drops: &serde_json::Value, reason: &str) -> u64 {
    drops
        .as_array()
        .and_then(|a| a.iter().find(|d| d["reason"] == reason))
        .and_then(|d| d["packets"].as_u64())
        .unwrap_or(0)
}

/// Field `key` of port `name` in `/api/interfaces`.
pub fn port_counter(ifs: &serde_json::Value, name: &str, key: &str) -> u64 {
    ifs.as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name))
        .and_then(|p| p[key].as_u64())
        .unwrap_or_else(|| panic!("no {key} for port {name} in {ifs}"))
}
