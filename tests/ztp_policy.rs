//! Tenant flow policies and hub-and-spoke VPNs on the provisioning API
//! (loopback, no DPDK, no root): rules added, moved and removed one at a
//! time reach a polling edge in match order (and its merged config passes
//! the edge's `check-config`); requests without a valid token or with the
//! read scope are refused and counted; bad rules are refused with 400
//! naming the field, an unknown tenant or rule with 404, a duplicate name
//! with 409, and a refused request changes nothing (rules and config
//! versions); a hub-and-spoke tenant renders `role = "hub"` (with its
//! summaries) on the hub and `spoke` elsewhere; everything survives a
//! controller restart. Prints the policy push latency.
#![forbid(unsafe_code)]

mod common;

use common::ztp::{ctl_at, hardware, unix_ms, Controller};
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const HTTPS: &str = "127.0.0.1:19610";
const MGMT: &str = "127.0.0.1:19611";
const BGP_PORT: u16 = 19612;
const ADMIN: &str = "ztp-policy-admin-token";

fn url() -> String {
    format!("https://{HTTPS}")
}

fn start(dir: &Path) -> Controller {
    let cfg = format!(
        r#"
[bgp]
router_id = "192.0.2.160"
asn = 65000
listen_address = "127.0.0.1"
listen_port = {BGP_PORT}

[management]
listen = "{MGMT}"

[provisioning]
listen = "{HTTPS}"
state_dir = "{state}"
admin_token = "{ADMIN}"
node_pool = "10.255.6.0/24"
"#,
        state = dir.join("state").display()
    );
    Controller::launch(dir, "controller", &cfg, HTTPS, MGMT)
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

/// A raw API call (curl, our CA): status and JSON body.
fn api(
    dir: &Path,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut args = vec![
        "-s".to_string(),
        "--cacert".into(),
        dir.join("ca.pem").display().to_string(),
        "-X".into(),
        method.into(),
        "-w".into(),
        "\n%{http_code}".into(),
    ];
    if let Some(t) = token {
        args.extend(["-H".into(), format!("Authorization: Bearer {t}")]);
    }
    if let Some(b) = body {
        args.extend([
            "-H".into(),
            "Content-Type: application/json".into(),
            "-d".into(),
            b.to_string(),
        ]);
    }
    args.push(format!("{}{path}", url()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = must("curl", &args);
    let (body, code) = out.trim_end().rsplit_once('\n').unwrap();
    (
        code.parse().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn rules(dir: &Path, tenant: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(&ctl_ok(
        dir,
        &["policy", "list", "--tenant", tenant, "--json"],
    ))
    .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            assert_eq!(r["position"], i + 1, "{v}");
            r["name"].as_str().unwrap().to_string()
        })
        .collect()
}

fn versions(dir: &Path) -> Vec<(String, u64)> {
    let v: Value = serde_json::from_str(&ctl_ok(dir, &["device", "list", "--json"])).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["serial"].as_str().unwrap().to_string(),
                d["config_version"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The `[[vrf]]` and `[[policy]]` tables of a device's rendered config.
fn rendered(dir: &Path, serial: &str) -> toml::Table {
    let (code, v) = api(
        dir,
        "GET",
        &format!("/api/v1/devices/{serial}/config"),
        Some(ADMIN),
        None,
    );
    assert_eq!(code, 200, "{v}");
    toml::from_str(v["config"].as_str().unwrap()).unwrap()
}

/// `sdwan edge --follow-only`, killed (by PID) when dropped.
struct Follower {
    child: Child,
    lines: std::sync::mpsc::Receiver<Value>,
    log: PathBuf,
    config: PathBuf,
}

impl Follower {
    fn start(dir: &Path, serial: &str, hw: &Path) -> Follower {
        let state = dir.join(format!("edge-{serial}"));
        let log = dir.join(format!("follower-{serial}.log"));
        let mut child = Command::new(sdwan_bin())
            .args(["edge", "--bootstrap", &url(), "--ca"])
            .arg(dir.join("ca.pem"))
            .args(["--serial", serial, "--hardware"])
            .arg(hw)
            .arg("--state-dir")
            .arg(&state)
            .args(["--bgp-source", "127.0.0.61", "--follow-only"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx
                    .send(serde_json::from_str(&l).unwrap_or(Value::Null))
                    .is_err()
                {
                    break;
                }
            }
        });
        Follower {
            child,
            lines,
            log,
            config: state.join("edge.toml"),
        }
    }

    fn next(&self, what: &str) -> Value {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!(
                    "{what}: no new config at the edge:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                )
            })
    }

    /// Names of the `[[policy]]` rules in the edge's config, in order.
    fn policies(&self) -> Vec<(String, String)> {
        let t: toml::Table =
            toml::from_str(&std::fs::read_to_string(&self.config).unwrap()).unwrap();
        t.get("policy")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["vrf"].as_str().unwrap().to_string(),
                    p["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = run("kill", &["-TERM", &self.child.id().to_string()]);
        let _ = self.child.wait();
    }
}

#[test]
fn tenant_policies_and_hub_roles_through_the_api() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut c = start(dir);
    let out = Command::new(sdwan_bin())
        .args(["controller", "ca-cert", "--config"])
        .arg(Controller::config_path(dir))
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(dir.join("ca.pem"), &out.stdout).unwrap();

    ctl_ok(
        dir,
        &[
            "tenant", "add", "blue", "--rt", "65000:1", "--rt", "65000:2",
        ],
    );
    ctl_ok(dir, &["tenant", "add", "red", "--rt", "65000:9"]);
    for (serial, tenant) in [("SN-P", "blue"), ("SN-Q", "blue"), ("SN-R", "red")] {
        ctl_ok(
            dir,
            &[
                "device",
                "add",
                "--serial",
                serial,
                "--site",
                "lab",
                "--tenant",
                tenant,
                "--wan",
                "wan0:1:100:internet",
            ],
        );
    }
    let hw = hardware(dir, "ctp", "blue");
    // Internet breakout needs a single worker (the box's choice).
    let mut text = std::fs::read_to_string(&hw).unwrap();
    text.push_str("\n[dataplane]\nworkers = 1\n");
    std::fs::write(&hw, text).unwrap();
    let edge = Follower::start(dir, "SN-P", &hw);
    let v0 = edge.next("enrollment")["version"].as_u64().unwrap();

    // Rules one at a time; the edge gets them in match order.
    let t0 = unix_ms();
    let table = ctl_ok(
        dir,
        &[
            "policy",
            "add",
            "--tenant",
            "blue",
            "--name",
            "voice",
            "--action",
            "private-only",
            "--protocol",
            "udp",
            "--dst-ports",
            "5060-5061",
            "--dscp",
            "46",
        ],
    );
    let pushed = edge.next("policy add");
    let policy_push_ms = pushed["unix_ms"].as_u64().unwrap().saturating_sub(t0);
    assert!(pushed["version"].as_u64().unwrap() > v0);
    assert!(
        table.contains("voice") && table.contains("dst_ports=5060-5061"),
        "{table}"
    );
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
    edge.next("second rule");
    assert_eq!(rules(dir, "blue"), ["web", "voice"]);
    let blue = |n: &str| ("blue".to_string(), n.to_string());
    assert_eq!(edge.policies(), [blue("web"), blue("voice")]);
    // What the edge wrote is a config the edge accepts.
    let check = run(
        sdwan_bin(),
        &["check-config", edge.config.to_str().unwrap()],
    );
    assert!(check.status.success(), "{check:?}");
    assert!(rules(dir, "red").is_empty());

    // Refusals: credentials (401 / 403, counted), bad rules (400 naming
    // the field), unknown names (404), duplicates (409). None changes
    // anything.
    let before = versions(dir);
    let path = "/api/v1/tenants/blue/policies";
    let ok_rule = json!({"name": "ssh", "action": "any", "protocol": "tcp", "dst_ports": "22"});
    let (code, _) = api(dir, "POST", path, None, Some(ok_rule.clone()));
    assert_eq!(code, 401);
    let (code, _) = api(
        dir,
        "DELETE",
        &format!("{path}/web"),
        Some("not-a-token"),
        None,
    );
    assert_eq!(code, 401);
    let read = ctl_ok(dir, &["token", "--name", "noc", "--scope", "read"]);
    let read = read.trim();
    let (code, v) = api(dir, "GET", path, Some(read), None);
    assert_eq!((code, v[0]["name"].as_str()), (200, Some("web")), "{v}");
    let (code, v) = api(dir, "DELETE", &format!("{path}/web"), Some(read), None);
    assert_eq!(
        (code, v["reason"].as_str()),
        (403, Some("wrong_scope")),
        "{v}"
    );
    let (code, _) = api(
        dir,
        "POST",
        &format!("{path}/web/move"),
        Some(read),
        Some(json!({"position": 2})),
    );
    assert_eq!(code, 403);
    assert_eq!(
        c.metric("sdwan_controller_api_refusals_total{reason=\"missing_token\"}"),
        1
    );
    assert_eq!(
        c.metric("sdwan_controller_api_refusals_total{reason=\"bad_token\"}"),
        1
    );
    assert_eq!(
        c.metric("sdwan_controller_api_refusals_total{reason=\"wrong_scope\"}"),
        2
    );

    let bad = [
        (
            json!({"name": "x", "action": "fast"}),
            "action",
            "private-only",
        ),
        (
            json!({"name": "x", "action": "any", "dst_ports": "80"}),
            "dst_ports",
            "protocol",
        ),
        (
            json!({"name": "x", "action": "any", "dst": "10.0.0.1/8"}),
            "dst",
            "beyond",
        ),
        (
            json!({"name": "x", "action": "any", "dscp": 64}),
            "dscp",
            "63",
        ),
    ];
    for (body, field, words) in bad {
        let (code, v) = api(dir, "POST", path, Some(ADMIN), Some(body));
        assert_eq!((code, v["field"].as_str()), (400, Some(field)), "{v}");
        let e = v["error"].as_str().unwrap();
        assert!(
            e.contains("policy \"x\"") && e.contains(field) && e.contains(words),
            "{e}"
        );
    }
    let (code, v) = api(
        dir,
        "POST",
        path,
        Some(ADMIN),
        Some(json!({"name": "x", "action": "any", "port": 1})),
    );
    assert!(
        code == 400
            && v["error"]
                .as_str()
                .unwrap()
                .contains("unknown field `port`"),
        "{v}"
    );
    let (code, v) = api(
        dir,
        "POST",
        path,
        Some(ADMIN),
        Some(json!({"name": "a/b", "action": "any"})),
    );
    assert_eq!((code, v["field"].as_str()), (400, Some("name")), "{v}");
    let (code, v) = api(
        dir,
        "POST",
        path,
        Some(ADMIN),
        Some(json!({"action": "any"})),
    );
    assert!(
        code == 400 && v["error"].as_str().unwrap().contains("`name`"),
        "{v}"
    );
    let (code, v) = api(
        dir,
        "POST",
        path,
        Some(ADMIN),
        Some(json!({"name": "x", "action": "any", "position": 9})),
    );
    assert!(
        code == 400 && v["error"].as_str().unwrap().starts_with("position: 9"),
        "{v}"
    );
    let (code, v) = api(
        dir,
        "POST",
        path,
        Some(ADMIN),
        Some(json!({"name": "web", "action": "any"})),
    );
    assert_eq!(code, 409, "{v}");
    let (code, v) = api(
        dir,
        "POST",
        path,
        Some(ADMIN),
        Some(json!({"name": "out", "action": "internet-breakout"})),
    );
    let e = v["error"].as_str().unwrap_or_default();
    assert!(
        code == 400 && e.contains("breakout WAN port") && e.contains("SN-P"),
        "{v}"
    );
    let (code, _) = api(
        dir,
        "POST",
        "/api/v1/tenants/green/policies",
        Some(ADMIN),
        Some(ok_rule.clone()),
    );
    assert_eq!(code, 404);
    let (code, _) = api(dir, "DELETE", &format!("{path}/nope"), Some(ADMIN), None);
    assert_eq!(code, 404);
    let (code, v) = api(
        dir,
        "POST",
        &format!("{path}/web/move"),
        Some(ADMIN),
        Some(json!({"position": 3})),
    );
    assert!(
        code == 400 && v["error"].as_str().unwrap().starts_with("position: 3"),
        "{v}"
    );
    let out = ctl_at(
        &url(),
        dir,
        Some(ADMIN),
        &[
            "policy", "add", "--tenant", "blue", "--name", "x", "--action", "fast",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("400") && err.contains("action"),
        "{err}"
    );
    assert_eq!(
        versions(dir),
        before,
        "refused requests bump no config version"
    );
    assert_eq!(rules(dir, "blue"), ["web", "voice"]);

    // Reorder, delete; re-adding the tenant (RTs only) keeps its rules.
    ctl_ok(
        dir,
        &[
            "policy",
            "move",
            "--tenant",
            "blue",
            "voice",
            "--position",
            "1",
        ],
    );
    edge.next("move");
    assert_eq!(edge.policies(), [blue("voice"), blue("web")]);
    ctl_ok(dir, &["policy", "del", "--tenant", "blue", "web"]);
    edge.next("del");
    assert_eq!(edge.policies(), [blue("voice")]);
    ctl_ok(
        dir,
        &[
            "tenant", "add", "blue", "--rt", "65000:1", "--rt", "65000:2",
        ],
    );
    assert_eq!(rules(dir, "blue"), ["voice"]);
    // Breakout once the device has a breakout port.
    ctl_ok(
        dir,
        &[
            "device",
            "update",
            "SN-P",
            "--wan",
            "wan0:1:100:internet:breakout",
        ],
    );
    ctl_ok(
        dir,
        &[
            "device",
            "update",
            "SN-Q",
            "--wan",
            "wan0:1:100:internet:breakout",
        ],
    );
    ctl_ok(
        dir,
        &[
            "policy",
            "add",
            "--tenant",
            "blue",
            "--name",
            "saas",
            "--action",
            "internet-breakout",
            "--dst",
            "198.51.100.0/24",
        ],
    );
    let r = rendered(dir, "SN-Q");
    assert_eq!(r["policy"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["wan"][0]["breakout"].as_bool(), Some(true), "{r}");
    let all: Value = serde_json::from_str(&ctl_ok(dir, &["policy", "list", "--json"])).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");

    // Hub-and-spoke: SN-P is the hub (transit at the edge), SN-Q a spoke.
    let (code, v) = api(
        dir,
        "POST",
        "/api/v1/tenants",
        Some(ADMIN),
        Some(
            json!({"name": "blue", "route_targets": ["65000:1", "65000:2"],
                    "hub_and_spoke": {"hub_rt": "65000:1", "spoke_rt": "65000:2",
                                      "hub_summary": ["10.0.0.0/8", "10.1.2.3/8"]}}),
        ),
    );
    assert_eq!(
        (code, v["field"].as_str()),
        (400, Some("hub_and_spoke.hub_summary[1]")),
        "{v}"
    );
    ctl_ok(
        dir,
        &[
            "tenant",
            "add",
            "blue",
            "--rt",
            "65000:1",
            "--rt",
            "65000:2",
            "--hub-rt",
            "65000:1",
            "--spoke-rt",
            "65000:2",
            "--hub-summary",
            "10.0.0.0/8",
        ],
    );
    ctl_ok(dir, &["device", "update", "SN-P", "--hub-of", "blue"]);
    let hub = rendered(dir, "SN-P");
    let spoke = rendered(dir, "SN-Q");
    assert_eq!(
        hub["vrf"][0]["topology"].as_str(),
        Some("hub-and-spoke"),
        "{hub}"
    );
    assert_eq!(hub["vrf"][0]["role"].as_str(), Some("hub"), "{hub}");
    assert_eq!(
        hub["vrf"][0]["hub_summary"][0].as_str(),
        Some("10.0.0.0/8"),
        "{hub}"
    );
    assert_eq!(spoke["vrf"][0]["role"].as_str(), Some("spoke"), "{spoke}");
    assert!(spoke["vrf"][0].get("hub_summary").is_none(), "{spoke}");
    assert!(
        hub["vrf"][0].get("import").is_none(),
        "the edge derives them: {hub}"
    );
    assert_eq!(
        rules(dir, "blue"),
        ["voice", "saas"],
        "the topology keeps the rules"
    );
    let wait_for = |what: &str| loop {
        let l = edge.next(what);
        let t: toml::Table =
            toml::from_str(&std::fs::read_to_string(&edge.config).unwrap()).unwrap();
        if t["vrf"][0].get("role").and_then(|r| r.as_str()) == Some("hub") {
            break l;
        }
    };
    wait_for("hub role");
    let check = run(
        sdwan_bin(),
        &["check-config", edge.config.to_str().unwrap()],
    );
    assert!(check.status.success(), "the hub's config: {check:?}");

    // Restart: rules, order and topology are kept.
    let (hub_before, spoke_before) = (hub, spoke);
    drop(edge);
    c.stop();
    let c = start(dir);
    assert_eq!(rules(dir, "blue"), ["voice", "saas"]);
    assert_eq!(rendered(dir, "SN-P"), hub_before);
    assert_eq!(rendered(dir, "SN-Q"), spoke_before);
    drop(c);
    println!("ztp policy: a policy added on the controller was written by the polling edge {policy_push_ms} ms after the CLI started");
}
