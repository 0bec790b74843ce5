//! `sdwan controller` end to end on loopback: two controller processes peer
//! over iBGP with TCP-MD5; a VPNv4 route configured on one reaches the
//! other's Loc-RIB with its RD, label, Route Target and Color, and the
//! management API, `sdwan show bgp` and `/metrics` report it. Also
//! `sdwan bgp decode` on good and malformed messages.
#![forbid(unsafe_code)]

mod common;

use common::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Controller {
    child: std::process::Child,
    api: String,
    _dir: tempfile::TempDir,
}

impl Controller {
    fn start(config: &str, api: &str) -> Controller {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("controller.toml");
        std::fs::write(&path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new(sdwan_bin())
            .args(["controller", "--config"])
            .arg(&path)
            .stderr(log)
            .spawn()
            .unwrap();
        Controller {
            child,
            api: api.into(),
            _dir: dir,
        }
    }

    fn get(&self, path: &str) -> Option<serde_json::Value> {
        let (code, body) = http(&self.api, "GET", path, "").ok()?;
        (code == 200)
            .then(|| serde_json::from_str(&body).ok())
            .flatten()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = run("kill", &["-TERM", &self.child.id().to_string()]);
        let st = self.child.wait().unwrap();
        if !std::thread::panicking() {
            assert!(st.success(), "controller exit status {st}");
        }
    }
}

fn config(
    me: &str,
    port: u16,
    peer: &str,
    peer_port: u16,
    passive: bool,
    api: &str,
    routes: &str,
) -> String {
    format!(
        r#"
[bgp]
router_id = "{me}"
asn = 65000
listen_address = "{me}"
listen_port = {port}
hold_time = 9
connect_retry_secs = 1

[[bgp.peer_groups]]
name = "tenant-a"
route_targets = ["65000:1"]

[[bgp.peers]]
address = "{peer}"
port = {peer_port}
remote_as = 65000
md5_key = "s3cret"
peer_group = "tenant-a"
passive = {passive}
local_address = "{me}"
{routes}

[management]
listen = "{api}"
"#
    )
}

#[test]
fn two_controllers_exchange_a_vpnv4_route_and_report_it() {
    let _g = serial();
    let route = r#"
[[bgp.routes]]
prefix = "10.1.0.0/24"
rd = "65000:1"
label = 100
next_hop = "127.0.0.1"
route_targets = ["65000:1"]
color = 7
"#;
    let a = Controller::start(
        &config(
            "127.0.0.1",
            17901,
            "127.0.0.2",
            17902,
            false,
            "127.0.0.1:19101",
            route,
        ),
        "127.0.0.1:19101",
    );
    let b = Controller::start(
        &config(
            "127.0.0.2",
            17902,
            "127.0.0.1",
            17901,
            true,
            "127.0.0.1:19102",
            "",
        ),
        "127.0.0.1:19102",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let routes = loop {
        if let Some(r) = b.get("/api/bgp/routes?family=vpnv4") {
            if r.as_array().is_some_and(|a| !a.is_empty()) {
                break r;
            }
        }
        assert!(
            Instant::now() < deadline,
            "route never arrived; A: {:?} B: {:?}",
            a.get("/api/bgp/summary"),
            b.get("/api/bgp/summary")
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let r = &routes[0];
    assert_eq!(r["rd"], "65000:1", "{r}");
    assert_eq!(r["label"], 100, "{r}");
    assert_eq!(r["next_hop"], "127.0.0.1", "{r}");
    let ext = r["ext_communities"].to_string();
    assert!(
        ext.contains("65000:1") && ext.contains('7'),
        "RT and Color carried: {ext}"
    );
    assert!(r["route"].as_str().unwrap().contains("10.1.0.0/24"), "{r}");

    let filtered = b.get("/api/bgp/routes?rd=65000:2").unwrap();
    assert_eq!(filtered.as_array().unwrap().len(), 0, "rd filter");

    let summary = must(sdwan_bin(), &["show", "--api", &b.api, "bgp", "summary"]);
    assert!(
        summary.contains("127.0.0.1") && summary.contains("Established"),
        "{summary}"
    );
    let table = must(
        sdwan_bin(),
        &[
            "show", "--api", &b.api, "bgp", "routes", "--family", "vpnv4",
        ],
    );
    assert!(table.contains("10.1.0.0/24"), "{table}");
    let metrics = http(&b.api, "GET", "/metrics", "").unwrap().1;
    assert!(
        metrics.contains("sdwan_bgp_peer_established{peer=\"127.0.0.1\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sdwan_bgp_prefixes_received{peer=\"127.0.0.1\"} 1"),
        "{metrics}"
    );
}

#[test]
fn bad_controller_config_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "[bgp]\nrouter_id = \"1.2.3.4\"\nasn = 65000\nlisten_prt = 179\n",
    )
    .unwrap();
    let out = run(
        sdwan_bin(),
        &["controller", "--config", path.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("c.toml:4:1") && err.contains("listen_prt"),
        "{err}"
    );
}

#[test]
fn bgp_decode_prints_messages_and_rfc7606_verdicts() {
    // KEEPALIVE; an UPDATE whose ORIGIN has a bad value (treat-as-withdraw);
    // a message with a broken marker (session reset).
    let keepalive = format!("{}0013 04", "ff".repeat(16));
    let bad_origin = format!(
        "{}0025 02 0000 000e 40010107 400200 400304 0a000001",
        "ff".repeat(16)
    );
    let bad_marker = format!("{}0013 04", "fe".repeat(16));
    let mut child = Command::new(sdwan_bin())
        .args(["bgp", "decode"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(
        child.stdin.as_mut().unwrap(),
        "{keepalive}\n{bad_origin}\n{bad_marker}"
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["ok"], true, "{}", lines[0]);
    assert!(
        lines[1].to_string().contains("treat-as-withdraw"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2]["ok"], false, "{}", lines[2]);
    assert_eq!(lines[2]["verdict"], "session-reset", "{}", lines[2]);
}
