//! Zero-touch provisioning of a running DPDK edge (root: TAP ports): a
//! device registered on the controller boots with nothing but the
//! bootstrap URL, the CA and its serial, comes up with the pushed config,
//! peers with the controller's route reflector, and then applies a config
//! change made on the controller (a new Route Target on its tenant) live:
//! same process, same BGP session, the new RT in its routes and in the
//! edge's `GET /api/reload`; then flow policies (whole, and one rule at a
//! time with `sdwan controller policy add|move`) shown by the edge's
//! `GET /api/policies` in the controller's order; then a hub-and-spoke
//! tenant whose hub this device becomes: its VRF turns transit in
//! `GET /api/vrfs`. Prints the push-to-applied latencies.
#![forbid(unsafe_code)]

mod common;

use common::overlay::is_root;
use common::ztp::{ctl_at, Controller};
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HTTPS: &str = "127.0.0.1:19661";
const MGMT: &str = "127.0.0.1:19662";
const EDGE_API: &str = "127.0.0.1:19663";
const BGP_PORT: u16 = 19664;
const ADMIN: &str = "ztp-live-admin-token";
const SOURCE: &str = "127.0.0.41";

fn url() -> String {
    format!("https://{HTTPS}")
}

/// A child process stopped with SIGTERM (by PID) when dropped.
struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn spawn(args: &[&str], log: PathBuf) -> Running {
        let child = Command::new(sdwan_bin())
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Running { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = run("kill", &["-TERM", &self.child.id().to_string()]);
        let _ = self.child.wait();
    }
}

fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

fn ctl_ok(dir: &Path, args: &[&str]) -> String {
    let out = ctl_at(&url(), dir, Some(ADMIN), args);
    assert!(
        out.status.success(),
        "sdwan controller {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn get(addr: &str, path: &str) -> serde_json::Value {
    http(addr, "GET", path, "")
        .ok()
        .and_then(|(_, b)| serde_json::from_str(&b).ok())
        .unwrap_or_default()
}

/// The export RTs of the edge's VRF `blue`, from `GET /api/overlay`.
fn blue_exports() -> Vec<String> {
    let o = get(EDGE_API, "/api/overlay");
    o["vrfs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["name"] == "blue")
        .flat_map(|v| v["export"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(String::from))
        .collect()
}

#[test]
fn an_enrolled_dpdk_edge_applies_a_pushed_change_live() {
    let _g = serial();
    if !is_root() {
        eprintln!("skipped: needs root (DPDK TAP ports)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = format!(
        r#"
[bgp]
router_id = "192.0.2.110"
asn = 65000
listen_address = "127.0.0.1"
listen_port = {BGP_PORT}
hold_time = 9
connect_retry_secs = 1

[management]
listen = "{MGMT}"

[provisioning]
listen = "{HTTPS}"
state_dir = "{state}"
admin_token = "{ADMIN}"
node_pool = "10.255.7.0/24"
"#,
        state = dir.join("state").display()
    );
    let controller = Controller::launch(dir, "controller", &cfg, HTTPS, MGMT);
    let ctl_cfg = Controller::config_path(dir);
    let ca = Command::new(sdwan_bin())
        .args(["controller", "ca-cert", "--config"])
        .arg(&ctl_cfg)
        .output()
        .unwrap();
    assert!(ca.status.success());
    std::fs::write(dir.join("ca.pem"), &ca.stdout).unwrap();

    ctl_ok(dir, &["tenant", "add", "blue", "--rt", "65000:1"]);
    ctl_ok(
        dir,
        &[
            "device",
            "add",
            "--serial",
            "SN-LIVE",
            "--site",
            "lab",
            "--tenant",
            "blue",
            "--wan",
            "wan0:1:100:internet",
            "--bgp-source",
            SOURCE,
        ],
    );

    // What the box knows by itself: its ports and where its API listens.
    let hw = dir.join("hw.toml");
    std::fs::write(
        &hw,
        format!(
            r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix=ctzlive"]

[dataplane]
workers = 1

[[port]]
name = "wan0"
device = "net_tap0,iface=ctzw0"
addresses = ["203.0.113.71/24"]

[[port]]
name = "lan0"
device = "net_tap1,iface=ctzl0"
vrf = "blue"
addresses = ["10.71.0.1/24"]

[management]
listen = "{EDGE_API}"
"#
        ),
    )
    .unwrap();
    let state = dir.join("edge-state");
    let mut edge = Running::spawn(
        &[
            "edge",
            "--bootstrap",
            &url(),
            "--ca",
            dir.join("ca.pem").to_str().unwrap(),
            "--serial",
            "SN-LIVE",
            "--hardware",
            hw.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--bgp-source",
            SOURCE,
        ],
        dir.join("edge.log"),
    );
    let up = wait_until(60, || {
        get(MGMT, "/api/bgp/summary")["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["neighbor"] == SOURCE && p["state"] == "Established")
    });
    assert!(
        up && edge.alive(),
        "the enrolled edge did not peer:\n{}\n{}\n{}",
        edge.log(),
        std::fs::read_to_string(state.join("edge.toml")).unwrap_or_default(),
        controller.log()
    );
    let pid = edge.child.id();
    // The edge's API can answer a moment after its BGP session is up.
    let first = wait_until(10, || blue_exports() == ["rt:65000:1"]);
    assert!(first, "VRF blue exports {:?}", blue_exports());
    // Its client route reached the reflector with the tenant's RT.
    let has_rt = |rt: &str| {
        get(MGMT, "/api/bgp/routes?family=vpnv4")
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| {
                r["route"]
                    .as_str()
                    .is_some_and(|x| x.ends_with("10.71.0.0/24"))
                    && r["ext_communities"]
                        .as_array()
                        .is_some_and(|e| e.iter().any(|c| c == &format!("rt:{rt}")))
            })
    };
    assert!(wait_until(20, || has_rt("65000:1")), "{}", edge.log());

    // The operator gives the tenant a second Route Target.
    let t0 = Instant::now();
    ctl_ok(
        dir,
        &[
            "tenant", "add", "blue", "--rt", "65000:1", "--rt", "65000:7",
        ],
    );
    let applied = wait_until(60, || {
        blue_exports().contains(&"rt:65000:7".to_string())
            && get(EDGE_API, "/api/reload")["result"] == "applied"
    });
    let latency = t0.elapsed();
    assert!(
        applied,
        "the pushed change was not applied live: {}\n{}",
        get(EDGE_API, "/api/reload"),
        edge.log()
    );
    assert!(wait_until(20, || has_rt("65000:7")), "{}", edge.log());
    // Same process, session never reset.
    assert!(edge.alive());
    assert_eq!(edge.child.id(), pid);
    let bgp = get(EDGE_API, "/api/bgp/summary");
    assert_eq!(bgp["peers"][0]["state"], "Established", "{bgp}");
    eprintln!(
        "ztp live: push applied in {latency:?}; reload: {}",
        get(EDGE_API, "/api/reload")
    );

    // A flow policy the edge would refuse is refused by the controller,
    // naming the rule; nothing is pushed.
    let bad = ctl_at(
        &url(),
        dir,
        Some(ADMIN),
        &[
            "tenant",
            "add",
            "blue",
            "--rt",
            "65000:1",
            "--rt",
            "65000:7",
            "--policy",
            "name=voice,action=private-only,dst_ports=5060",
        ],
    );
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.contains("\"voice\""), "{err}");
    assert!(err.contains("protocol"), "{err}");
    // A good one reaches the edge and is applied live.
    let t1 = Instant::now();
    ctl_ok(
        dir,
        &[
            "tenant",
            "add",
            "blue",
            "--rt",
            "65000:1",
            "--rt",
            "65000:7",
            "--policy",
            "name=voice,action=private-only,protocol=udp,dst_ports=5060-5061,dscp=46",
        ],
    );
    let applied = wait_until(60, || {
        get(EDGE_API, "/api/policies")["rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["name"] == "voice" && x["vrf"] == "blue"))
    });
    let policy_latency = t1.elapsed();
    assert!(
        applied,
        "the pushed policy was not applied: {}\n{}",
        get(EDGE_API, "/api/reload"),
        edge.log()
    );
    assert_eq!(edge.child.id(), pid);
    eprintln!(
        "ztp live: policy push applied in {policy_latency:?}; policies: {}",
        get(EDGE_API, "/api/policies")
    );

    // One rule at a time: added first in match order, then moved last;
    // the edge runs them in the controller's order.
    let edge_rules = || -> Vec<String> {
        get(EDGE_API, "/api/policies")["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["vrf"] == "blue")
            .filter_map(|r| r["name"].as_str().map(String::from))
            .collect()
    };
    let t2 = Instant::now();
    ctl_ok(
        dir,
        &[
            "policy",
            "add",
            "--tenant",
            "blue",
            "--name",
            "web",
            "--action",
            "encrypted-any",
            "--protocol",
            "tcp",
            "--dst-ports",
            "443",
            "--position",
            "1",
        ],
    );
    let applied = wait_until(60, || edge_rules() == ["web", "voice"]);
    let add_latency = t2.elapsed();
    assert!(applied, "{:?}\n{}", edge_rules(), edge.log());
    let t3 = Instant::now();
    ctl_ok(
        dir,
        &[
            "policy",
            "move",
            "--tenant",
            "blue",
            "web",
            "--position",
            "2",
        ],
    );
    let applied = wait_until(60, || edge_rules() == ["voice", "web"]);
    let move_latency = t3.elapsed();
    assert!(applied, "{:?}\n{}", edge_rules(), edge.log());
    assert_eq!(edge.child.id(), pid);

    // Hub-and-spoke: the tenant's VRF becomes a spoke, then this device
    // its hub: transit at the edge, live.
    let blue_vrf = || -> serde_json::Value {
        get(EDGE_API, "/api/vrfs")
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == "blue")
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(blue_vrf()["transit"], false, "{}", blue_vrf());
    ctl_ok(
        dir,
        &[
            "tenant",
            "add",
            "blue",
            "--rt",
            "65000:1",
            "--rt",
            "65000:7",
            "--hub-rt",
            "65000:1",
            "--spoke-rt",
            "65000:7",
        ],
    );
    let spoke = wait_until(60, || blue_vrf()["topology"] == "spoke");
    assert!(spoke, "{}\n{}", blue_vrf(), edge.log());
    let t4 = Instant::now();
    ctl_ok(dir, &["device", "update", "SN-LIVE", "--hub-of", "blue"]);
    let hub = wait_until(60, || blue_vrf()["transit"] == true);
    let hub_latency = t4.elapsed();
    assert!(hub, "{}\n{}", blue_vrf(), edge.log());
    let v = blue_vrf();
    assert_eq!(v["topology"], "hub", "{v}");
    assert_eq!(v["import"], serde_json::json!(["rt:65000:7"]), "{v}");
    assert_eq!(v["export"], serde_json::json!(["rt:65000:1"]), "{v}");
    // The rules stayed through the topology changes; same process and
    // BGP session.
    assert_eq!(edge_rules(), ["voice", "web"]);
    assert_eq!(edge.child.id(), pid);
    let bgp = get(EDGE_API, "/api/bgp/summary");
    assert_eq!(bgp["peers"][0]["state"], "Established", "{bgp}");
    eprintln!(
        "ztp live: policy add applied in {add_latency:?}, policy move in {move_latency:?}, \
         hub role (transit) in {hub_latency:?}"
    );
    drop(edge);
    drop(controller);
}
