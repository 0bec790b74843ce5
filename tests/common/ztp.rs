//! Helpers of the zero-touch provisioning tests (`tests/ztp.rs`,
//! `tests/ztp_live.rs`): a provisioning controller process, the operator
//! CLI against it, a BGP speaker standing in for an edge, enrollment
//! helpers (our CLI, and curl/openssl as an independent client).
use super::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const HTTPS: &str = "127.0.0.1:18531";
pub const MGMT: &str = "127.0.0.1:19131";
pub const BGP_PORT: u16 = 17931;
pub const ADMIN: &str = "ztp-test-admin-token";

pub fn url() -> String {
    format!("https://{HTTPS}")
}

/// Polls `f` every 100 ms for up to `secs`; false on timeout.
pub fn wait_until(_what: &str, secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub struct Controller {
    pub child: Option<Child>,
    pub dir: PathBuf,
    /// Config and log file stem.
    pub name: &'static str,
    pub mgmt: &'static str,
}

impl Controller {
    pub fn config_path(dir: &Path) -> PathBuf {
        dir.join("controller.toml")
    }

    pub fn start(dir: &Path) -> Controller {
        let cfg = format!(
            r#"
[bgp]
router_id = "192.0.2.100"
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
node_pool = "10.255.0.0/24"
"#,
            state = dir.join("state").display()
        );
        Self::launch(dir, "controller", &cfg, HTTPS, MGMT)
    }

    /// Runs `sdwan controller` with `cfg` written to `dir/NAME.toml`, and
    /// waits for its HTTPS and management listeners.
    pub fn launch(
        dir: &Path,
        name: &'static str,
        cfg: &str,
        https: &str,
        mgmt: &'static str,
    ) -> Controller {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, cfg).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{name}.log")))
            .unwrap();
        let child = Command::new(sdwan_bin())
            .args(["controller", "--config"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut c = Controller {
            child: Some(child),
            dir: dir.to_path_buf(),
            name,
            mgmt,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(https).is_err()
            || http(mgmt, "GET", "/api/health", "").is_err()
        {
            if let Some(st) = c.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("controller exited ({st}):\n{}", c.log());
            }
            assert!(Instant::now() < deadline, "controller not up:\n{}", c.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        c
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("{}.log", self.name))).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            must("kill", &["-TERM", &child.id().to_string()]);
            let st = child.wait().unwrap();
            assert!(
                st.success() || std::thread::panicking(),
                "controller exit {st}:\n{}",
                self.log()
            );
        }
    }

    pub fn metric(&self, line_start: &str) -> u64 {
        let text = http(self.mgmt, "GET", "/metrics", "").unwrap().1;
        text.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = run("kill", &["-TERM", &c.id().to_string()]);
            let _ = c.wait();
        }
    }
}

/// A BGP speaker (`sdwan controller` without provisioning) standing in
/// for a device's BGP side: everything in its config comes from what the
/// controller rendered for the device.
pub struct Speaker {
    pub child: Child,
    pub api: String,
    pub log: PathBuf,
}

impl Speaker {
    pub fn start(
        dir: &Path,
        serial: &str,
        r: &toml::Table,
        prefix: &str,
        api_port: u16,
    ) -> Speaker {
        let vrf = &r["vrf"][0];
        let node = r["node"]["id"].as_str().unwrap();
        let exports: Vec<String> = vrf["export"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| format!("\"{}\"", x.as_str().unwrap()))
            .collect();
        let api = format!("127.0.0.1:{api_port}");
        let cfg = format!(
            r#"
[bgp]
router_id = "{node}"
asn = {asn}
hold_time = 9
connect_retry_secs = 1

{peers}
[[bgp.routes]]
prefix = "{prefix}"
rd = "{rd}"
label = {label}
next_hop = "{node}"
route_targets = [{exports}]

[management]
listen = "{api}"
"#,
            asn = r["node"]["asn"].as_integer().unwrap(),
            peers = Self::peers(r),
            rd = vrf["rd"].as_str().unwrap(),
            label = vrf["label"].as_integer().unwrap(),
            exports = exports.join(", "),
        );
        let path = dir.join(format!("speaker-{serial}.toml"));
        std::fs::write(&path, cfg).unwrap();
        let log = dir.join(format!("speaker-{serial}.log"));
        let child = Command::new(sdwan_bin())
            .args(["controller", "--config"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Speaker { child, api, log }
    }

    /// One `[[bgp.peers]]` per route reflector the device was told to dial.
    pub fn peers(r: &toml::Table) -> String {
        r["bgp"]["peer"]
            .as_array()
            .unwrap()
            .iter()
            .map(|peer| {
                format!(
                    "[[bgp.peers]]\naddress = \"{rr}\"\nport = {rr_port}\nremote_as = {remote_as}\n\
                     md5_key = \"{md5}\"\nlocal_address = \"{src}\"\nrr_client = false\n\n",
                    rr = peer["address"].as_str().unwrap(),
                    rr_port = peer["port"].as_integer().unwrap(),
                    remote_as = peer["remote_as"].as_integer().unwrap(),
                    md5 = peer["md5_key"].as_str().unwrap(),
                    src = peer["local_address"].as_str().unwrap(),
                )
            })
            .collect()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// VPNv4 routes learned from the route reflectors.
    pub fn routes(&self) -> Vec<String> {
        let (_, body) =
            http(&self.api, "GET", "/api/bgp/routes?family=vpnv4", "").unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v.as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["source"] != "local")
            .map(|r| r["route"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        let _ = run("kill", &["-TERM", &self.child.id().to_string()]);
        let _ = self.child.wait();
    }
}

/// The state of `addr`'s session in a controller's `/api/bgp/summary`;
/// `None` when it is not a peer.
pub fn rr_peer_state(mgmt: &str, addr: &str) -> Option<String> {
    let (_, body) = http(mgmt, "GET", "/api/bgp/summary", "").ok()?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["peers"]
        .as_array()?
        .iter()
        .find(|p| p["neighbor"] == addr)
        .map(|p| p["state"].as_str().unwrap_or("").to_string())
}

/// `sdwan controller <args>` against the running controller.
pub fn ctl(dir: &Path, token: Option<&str>, args: &[&str]) -> Output {
    ctl_at(&url(), dir, token, args)
}

/// `sdwan controller <args>` against the controller at `base`.
pub fn ctl_at(base: &str, dir: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(sdwan_bin());
    cmd.arg("controller")
        .args(["--controller", base, "--ca"])
        .arg(dir.join("ca.pem"))
        .env_remove("SDWAN_TOKEN");
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    cmd.args(args).output().unwrap()
}

pub fn ctl_ok(dir: &Path, args: &[&str]) -> String {
    let out = ctl(dir, Some(ADMIN), args);
    assert!(
        out.status.success(),
        "sdwan controller {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn hardware(dir: &Path, name: &str, vrf: &str) -> PathBuf {
    let p = dir.join(format!("{name}-hw.toml"));
    std::fs::write(
        &p,
        format!(
            r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci"]

[[port]]
name = "wan0"
device = "net_tap0,iface={name}w0"
addresses = ["203.0.113.{n}/24"]

[[port]]
name = "lan0"
device = "net_tap1,iface={name}l0"
vrf = "{vrf}"
addresses = ["10.{n}.0.1/24"]

[management]
listen = "127.0.0.1:1990{n}"
"#,
            n = name.len() % 10
        ),
    )
    .unwrap();
    p
}

pub fn edge_args<'a>(dir: &'a Path, serial: &'a str, hw: &'a Path, state: &'a Path) -> Vec<String> {
    vec![
        "edge".into(),
        "--bootstrap".into(),
        url(),
        "--ca".into(),
        dir.join("ca.pem").display().to_string(),
        "--serial".into(),
        serial.into(),
        "--hardware".into(),
        hw.display().to_string(),
        "--state-dir".into(),
        state.display().to_string(),
    ]
}

pub fn enroll_only(dir: &Path, serial: &str, hw: &Path, bgp_source: &str) -> (Output, PathBuf) {
    let state = dir.join(format!("edge-{serial}"));
    let out = Command::new(sdwan_bin())
        .args(edge_args(dir, serial, hw, &state))
        .args(["--bgp-source", bgp_source, "--enroll-only"])
        .output()
        .unwrap();
    (out, state)
}

/// A JSON enrollment request with a CSR made by openssl.
pub fn openssl_enroll_body(dir: &Path, serial: &str, nonce: &str, timestamp: u64) -> String {
    let key = dir.join(format!("{serial}.key"));
    let csr = dir.join(format!("{serial}.csr"));
    must(
        "openssl",
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={serial}"),
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            csr.to_str().unwrap(),
        ],
    );
    serde_json::json!({
        "serial": serial,
        "csr": std::fs::read_to_string(&csr).unwrap(),
        "nonce": nonce,
        "timestamp": timestamp,
    })
    .to_string()
}

/// The config the controller renders for `serial` (admin API, curl).
pub fn rendered_config(dir: &Path, serial: &str) -> toml::Table {
    let out = must(
        "curl",
        &[
            "-s",
            "--cacert",
            dir.join("ca.pem").to_str().unwrap(),
            "-H",
            &format!("Authorization: Bearer {ADMIN}"),
            &format!("{}/api/v1/devices/{serial}/config", url()),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    toml::from_str(v["config"].as_str().unwrap()).unwrap()
}

/// POST /api/v1/enroll with curl (the CA-verified TLS path of a
/// third-party client): (HTTP status, body).
pub fn curl_enroll(dir: &Path, body: &str) -> (u16, serde_json::Value) {
    let out = must(
        "curl",
        &[
            "-s",
            "-w",
            "\n%{http_code}",
            "--cacert",
            dir.join("ca.pem").to_str().unwrap(),
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
            &format!("{}/api/v1/enroll", url()),
        ],
    );
    let (json, code) = out.rsplit_once('\n').unwrap();
    (
        code.trim().parse().unwrap(),
        serde_json::from_str(json).unwrap(),
    )
}
