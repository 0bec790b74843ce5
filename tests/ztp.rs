//! Zero-touch provisioning on loopback (no DPDK, no root): a controller
//! with `[provisioning]`; devices registered over its HTTPS API by the
//! CLI; edges enrolled from nothing but the bootstrap URL and the CA;
//! unregistered, replayed, stale and revoked enrollments refused and
//! counted; operator requests without a valid token refused, counted and
//! harmless; config changes pushed to a polling edge; the registry and
//! CA survive a controller restart, and the route reflector then peers
//! with the enrolled devices; a device registered and enrolled while the
//! controller runs peers at once (no restart), and revoking it tears its
//! session down and withdraws its routes. Prints enrollment time, push
//! latency and how long a new device's session took to come up. A second
//! test runs two controllers (same cluster id, shared registry) as
//! redundant route reflectors and stops one while watching the routes.
#![forbid(unsafe_code)]

mod common;

use common::ztp::*;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn zero_touch_enrollment_refusals_push_and_restart() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut c = Controller::start(dir);

    // The CA, as the operator hands it to installers.
    let out = Command::new(sdwan_bin())
        .args(["controller", "ca-cert", "--config"])
        .arg(Controller::config_path(dir))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join("ca.pem"), &out.stdout).unwrap();
    let fp = String::from_utf8_lossy(&out.stderr).into_owned();
    let openssl_fp = must(
        "openssl",
        &[
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-in",
            dir.join("ca.pem").to_str().unwrap(),
        ],
    );
    let openssl_fp = openssl_fp.trim().rsplit('=').next().unwrap().to_string();
    assert!(fp.contains(&openssl_fp), "ours: {fp} openssl: {openssl_fp}");

    // Registry: two tenants, three devices.
    ctl_ok(dir, &["tenant", "add", "blue", "--rt", "65000:1"]);
    ctl_ok(dir, &["tenant", "add", "red", "--rt", "65000:2"]);
    for (serial, site, tenant, src) in [
        ("SN-A", "paris", "blue", "127.0.0.21"),
        ("SN-B", "lyon", "red", "127.0.0.22"),
        ("SN-C", "nice", "blue", "127.0.0.23"),
    ] {
        let table = ctl_ok(
            dir,
            &[
                "device",
                "add",
                "--serial",
                serial,
                "--site",
                site,
                "--tenant",
                tenant,
                "--wan",
                "wan0:1:100:internet",
                "--bgp-source",
                src,
            ],
        );
        assert!(
            table.contains(serial) && table.contains("registered"),
            "{table}"
        );
    }

    // Operator requests without a valid token: refused, counted, harmless.
    let out = ctl(dir, None, &["device", "revoke", "SN-A"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{out:?}"
    );
    let out = ctl(dir, Some("not-a-token"), &["device", "revoke", "SN-A"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{out:?}"
    );
    let read_token = ctl_ok(dir, &["token", "--name", "noc", "--scope", "read"]);
    let read_token = read_token.trim();
    let listed = ctl(dir, Some(read_token), &["device", "list", "--json"]);
    assert!(listed.status.success(), "read token may list: {listed:?}");
    let out = ctl(dir, Some(read_token), &["device", "revoke", "SN-A"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("403") && err.contains("read"), "{err}");
    let devices: serde_json::Value =
        serde_json::from_str(&ctl_ok(dir, &["device", "list", "--json"])).unwrap();
    assert!(
        devices
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "registered"),
        "refused requests changed nothing: {devices}"
    );
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
        1
    );

    // Edge A enrolls from the bootstrap URL and the CA only.
    let hw_a = hardware(dir, "a", "blue");
    let t = Instant::now();
    let (out, state_a) = enroll_only(dir, "SN-A", &hw_a, "127.0.0.21");
    let enroll_wall = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let enroll_ms = line["enroll_ms"].as_f64().unwrap();
    let edge_a: toml::Table =
        toml::from_str(&std::fs::read_to_string(state_a.join("edge.toml")).unwrap()).unwrap();
    assert_eq!(
        edge_a["node"]["id"].as_str(),
        Some("10.255.0.1"),
        "{edge_a}"
    );
    let peer = &edge_a["bgp"]["peer"][0];
    assert_eq!(peer["address"].as_str(), Some("127.0.0.1"));
    assert_eq!(peer["port"].as_integer(), Some(BGP_PORT as i64));
    assert_eq!(peer["local_address"].as_str(), Some("127.0.0.21"));
    assert_eq!(
        peer["md5_key"].as_str().map(str::len),
        Some(32),
        "per-device MD5 key"
    );
    let vrf = &edge_a["vrf"][0];
    assert_eq!(vrf["name"].as_str(), Some("blue"));
    assert_eq!(vrf["rd"].as_str(), Some("10.255.0.1:1"));
    assert_eq!(vrf["import"][0].as_str(), Some("65000:1"));
    assert_eq!(vrf["label"].as_integer(), Some(1001));
    assert_eq!(edge_a["wan"][0]["color"].as_integer(), Some(100));
    assert!(
        edge_a.contains_key("eal") && edge_a.contains_key("port"),
        "hardware kept"
    );
    assert!(state_a.join("cert.pem").exists() && state_a.join("key.pem").exists());

    // Edge B enrolls and follows config pushes.
    let hw_b = hardware(dir, "bb", "red");
    let state_b = dir.join("edge-SN-B");
    let mut follower = Command::new(sdwan_bin())
        .args(edge_args(dir, "SN-B", &hw_b, &state_b))
        .args(["--bgp-source", "127.0.0.22", "--follow-only"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("follower.log")).unwrap())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(serde_json::from_str(&l).unwrap()).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| {
        rx.recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!(
                    "{what}: no line from the follower:\n{}",
                    std::fs::read_to_string(dir.join("follower.log")).unwrap_or_default()
                )
            })
    };
    let first = next("enrollment");
    assert_eq!(first["serial"], "SN-B");
    let v0 = first["version"].as_u64().unwrap();

    // An unregistered serial is refused with a clear reason and counted.
    let hw_x = hardware(dir, "xyz", "blue");
    let (out, state_x) = enroll_only(dir, "SN-X", &hw_x, "127.0.0.29");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"SN-X\" is not registered"), "{err}");
    assert!(
        !err.contains("SN-A") && !err.contains("blue"),
        "leaks nothing: {err}"
    );
    assert!(!state_x.join("edge.toml").exists());
    assert_eq!(
        c.metric("sdwan_controller_enrollments_total{result=\"unknown_serial\"}"),
        1
    );

    // A replayed request (same nonce) and a stale one are refused.
    let now = unix_ms() / 1000;
    let body = openssl_enroll_body(dir, "SN-C", &"ab".repeat(16), now);
    let (code, reply) = curl_enroll(dir, &body);
    assert_eq!(code, 200, "{reply}");
    assert!(reply["certificate"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    let (code, reply) = curl_enroll(dir, &body);
    assert_eq!(
        (code, reply["reason"].as_str()),
        (403, Some("replay")),
        "{reply}"
    );
    let stale = openssl_enroll_body(dir, "SN-C", &"cd".repeat(16), now - 3600);
    let (code, reply) = curl_enroll(dir, &stale);
    assert_eq!(
        (code, reply["reason"].as_str()),
        (403, Some("stale")),
        "{reply}"
    );
    assert_eq!(
        c.metric("sdwan_controller_enrollments_total{result=\"replay\"}"),
        1
    );
    assert_eq!(
        c.metric("sdwan_controller_enrollments_total{result=\"stale\"}"),
        1
    );
    assert_eq!(
        c.metric("sdwan_controller_enrollments_total{result=\"ok\"}"),
        3
    );

    // A config change reaches the polling edge: a second VRF, then a new
    // Route Target on its tenant.
    let t0 = unix_ms();
    ctl_ok(
        dir,
        &[
            "device", "update", "SN-B", "--tenant", "red", "--tenant", "blue",
        ],
    );
    let pushed = next("device update");
    let push_ms = pushed["unix_ms"].as_u64().unwrap().saturating_sub(t0);
    assert!(pushed["version"].as_u64().unwrap() > v0);
    let edge_b = std::fs::read_to_string(state_b.join("edge.toml")).unwrap();
    let edge_b: toml::Table = toml::from_str(&edge_b).unwrap();
    let vrfs: Vec<&str> = edge_b["vrf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vrfs, ["red", "blue"], "{edge_b}");
    let t1 = unix_ms();
    ctl_ok(
        dir,
        &["tenant", "add", "red", "--rt", "65000:2", "--rt", "65000:3"],
    );
    let pushed2 = next("tenant RT change");
    let push2_ms = pushed2["unix_ms"].as_u64().unwrap().saturating_sub(t1);
    let edge_b = std::fs::read_to_string(state_b.join("edge.toml")).unwrap();
    assert!(edge_b.contains("65000:3"), "{edge_b}");

    // Revocation: the polling edge is cut off, re-enrollment refused.
    ctl_ok(dir, &["device", "revoke", "SN-B"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let st = loop {
        if let Some(st) = follower.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "revoked edge still polling");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!st.success());
    let log = std::fs::read_to_string(dir.join("follower.log")).unwrap();
    assert!(log.contains("revoked"), "{log}");
    let (out, _) = enroll_only(dir, "SN-B", &hw_b, "127.0.0.22");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"SN-B\" is revoked"),
        "{out:?}"
    );
    assert_eq!(
        c.metric("sdwan_controller_enrollments_total{result=\"revoked\"}"),
        1
    );
    assert_eq!(c.metric("sdwan_controller_devices{state=\"enrolled\"}"), 2);
    assert_eq!(c.metric("sdwan_controller_devices{state=\"revoked\"}"), 1);

    // A red device, registered only: the route reflector peers with it
    // after the restart too.
    ctl_ok(
        dir,
        &[
            "device",
            "add",
            "--serial",
            "SN-D",
            "--site",
            "lille",
            "--tenant",
            "red",
            "--wan",
            "wan0:1:100:internet",
            "--bgp-source",
            "127.0.0.24",
        ],
    );

    // Restart: the registry and the CA are kept; the route reflector now
    // has a passive peer per non-revoked device, with its tenants' RTs.
    let table = ctl_ok(dir, &["show", "devices"]);
    c.stop();
    let c = Controller::start(dir);
    let again = ctl_ok(dir, &["show", "devices"]);
    assert_eq!(table, again, "registry survives the restart");
    let out = Command::new(sdwan_bin())
        .args(["controller", "ca-cert", "--config"])
        .arg(Controller::config_path(dir))
        .output()
        .unwrap();
    assert_eq!(
        out.stdout,
        std::fs::read(dir.join("ca.pem")).unwrap(),
        "same CA"
    );
    let sessions: serde_json::Value =
        serde_json::from_str(&ctl_ok(dir, &["show", "sessions", "--json"])).unwrap();
    let rows = sessions.as_array().unwrap();
    let row = |addr: &str| rows.iter().find(|r| r["neighbor"] == addr);
    assert_eq!(row("127.0.0.21").unwrap()["serial"], "SN-A", "{sessions}");
    assert_eq!(row("127.0.0.21").unwrap()["peer_group"], "device-SN-A");
    assert_eq!(row("127.0.0.23").unwrap()["serial"], "SN-C");
    assert!(
        row("127.0.0.22").is_none(),
        "revoked device has no peer: {sessions}"
    );

    // BGP speakers configured only from what each device received (node
    // id, route reflector, per-device MD5 key, source address, VRF RD /
    // label / export RTs) peer with the route reflector; it reflects each
    // client route only to devices of the same tenant.
    let rendered = |serial: &str| rendered_config(dir, serial);
    let t_bgp = Instant::now();
    let speakers: Vec<Speaker> = [
        ("SN-A", "10.1.0.0/24"),
        ("SN-C", "10.3.0.0/24"),
        ("SN-D", "10.4.0.0/24"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (serial, prefix))| {
        Speaker::start(dir, serial, &rendered(serial), prefix, 19141 + i as u16)
    })
    .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let routes = |s: &Speaker| s.routes();
    loop {
        let a = routes(&speakers[0]);
        let cc = routes(&speakers[1]);
        if a.iter().any(|r| r.contains("10.3.0.0/24"))
            && cc.iter().any(|r| r.contains("10.1.0.0/24"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "blue routes not exchanged: A {a:?} C {cc:?}\n{}\n{}",
            speakers
                .iter()
                .map(|s| s.log())
                .collect::<Vec<_>>()
                .join("\n"),
            c.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let bgp_ms = t_bgp.elapsed().as_millis();
    // Give a wrongly reflected route time to arrive before checking.
    std::thread::sleep(Duration::from_secs(2));
    let (a, d) = (routes(&speakers[0]), routes(&speakers[2]));
    assert!(
        !a.iter().any(|r| r.contains("10.4.0.0/24")),
        "red route leaked to blue: {a:?}"
    );
    assert!(d.is_empty(), "blue routes leaked to red: {d:?}");
    let sessions: serde_json::Value =
        serde_json::from_str(&ctl_ok(dir, &["show", "sessions", "--json"])).unwrap();
    for addr in ["127.0.0.21", "127.0.0.23", "127.0.0.24"] {
        let r = sessions
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["neighbor"] == addr)
            .unwrap();
        assert_eq!(r["state"], "Established", "{sessions}");
    }

    // Run-time peers: a device registered and enrolled while the
    // controller runs gets its BGP session without a restart.
    let t_e = Instant::now();
    ctl_ok(
        dir,
        &[
            "device",
            "add",
            "--serial",
            "SN-E",
            "--site",
            "rennes",
            "--tenant",
            "blue",
            "--wan",
            "wan0:1:100:internet",
            "--bgp-source",
            "127.0.0.25",
        ],
    );
    let hw_e = hardware(dir, "eeeee", "blue");
    let (out, _) = enroll_only(dir, "SN-E", &hw_e, "127.0.0.25");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = Speaker::start(dir, "SN-E", &rendered("SN-E"), "10.5.0.0/24", 19144);
    let rr_state = |addr: &str| rr_peer_state(MGMT, addr);
    let up = wait_until("SN-E Established on the running controller", 30, || {
        rr_state("127.0.0.25").as_deref() == Some("Established")
    });
    assert!(up, "{}\n{}", e.log(), c.log());
    let peer_up_ms = t_e.elapsed().as_millis();
    let up = wait_until("routes between SN-A and SN-E", 20, || {
        routes(&speakers[0])
            .iter()
            .any(|r| r.contains("10.5.0.0/24"))
            && routes(&e).iter().any(|r| r.contains("10.1.0.0/24"))
    });
    assert!(up, "A {:?} E {:?}", routes(&speakers[0]), routes(&e));
    assert_eq!(
        c.metric("sdwan_bgp_peer_established{peer=\"127.0.0.25\"}"),
        1
    );

    // Revoking it tears the session down (Cease / Peer De-configured at
    // the device), withdraws its route from SN-A, and keeps it out.
    ctl_ok(dir, &["device", "revoke", "SN-E"]);
    let gone = wait_until("SN-E's session torn down", 20, || {
        rr_state("127.0.0.25").is_none()
            && !routes(&speakers[0])
                .iter()
                .any(|r| r.contains("10.5.0.0/24"))
    });
    assert!(gone, "{:?}\n{}", rr_state("127.0.0.25"), c.log());
    let (_, body) = http(&e.api, "GET", "/api/bgp/neighbors", "").unwrap();
    let n: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        n[0]["detail"]["counters"]["last_notification_received"],
        serde_json::json!([6, 3]),
        "{n}"
    );
    assert_eq!(
        c.metric("sdwan_bgp_peer_established{peer=\"127.0.0.25\"}"),
        0
    );
    assert_eq!(c.metric("sdwan_controller_devices{state=\"revoked\"}"), 2);
    // The device keeps dialing; the controller keeps refusing it.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(rr_state("127.0.0.25"), None);
    assert!(routes(&e).is_empty(), "{:?}", routes(&e));
    let sessions: serde_json::Value =
        serde_json::from_str(&ctl_ok(dir, &["show", "sessions", "--json"])).unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 3, "{sessions}");
    drop(e);
    drop(speakers);
    drop(c);

    println!(
        "ztp: enrollment {enroll_ms:.1} ms in the edge (keygen + TLS + CSR signing + render), \
         {:.1} ms for the whole `sdwan edge --enroll-only` process; config push {push_ms} ms \
         (device update CLI start -> edge wrote the new config), {push2_ms} ms (tenant RT change); \
         VPN routes exchanged through the registry-built route reflector {bgp_ms} ms after the \
         speakers started; a device added + enrolled while the controller runs was \
         Established {peer_up_ms} ms after `device add` (no restart)",
        enroll_wall.as_secs_f64() * 1e3
    );
}

/// Two controllers side by side (redundant route reflectors, one cluster
/// id) sharing one registry and CA: devices registered and enrolled on the
/// first peer with both (the second picks them up from the shared
/// registry); stopping the first loses no route, not even for a moment;
/// a revocation made on the second tears the device's session down.
#[test]
fn two_controllers_share_the_registry_and_stopping_one_loses_no_route() {
    const HTTPS_B: &str = "127.0.0.1:18532";
    const MGMT_B: &str = "127.0.0.1:19132";
    const RRS: [&str; 2] = ["127.0.0.71", "127.0.0.72"];
    const DEVICES: [(&str, &str, &str); 2] = [
        ("SN-A", "127.0.0.81", "10.1.0.0/24"),
        ("SN-C", "127.0.0.83", "10.3.0.0/24"),
    ];
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = |n: usize, https: &str, mgmt: &str| {
        format!(
            r#"
[bgp]
router_id = "192.0.2.{id}"
asn = 65000
cluster_id = "192.0.2.100"
listen_address = "{rr}"
listen_port = {BGP_PORT}
hold_time = 9
connect_retry_secs = 1

[management]
listen = "{mgmt}"

[provisioning]
listen = "{https}"
state_dir = "{state}"
admin_token = "{ADMIN}"
node_pool = "10.255.0.0/24"
route_reflectors = [
    {{ address = "{rr0}", port = {BGP_PORT} }},
    {{ address = "{rr1}", port = {BGP_PORT} }},
]
"#,
            id = 101 + n,
            rr = RRS[n],
            rr0 = RRS[0],
            rr1 = RRS[1],
            state = dir.join("state").display()
        )
    };
    let a = Controller::launch(dir, "controller", &cfg(0, HTTPS, MGMT), HTTPS, MGMT);
    let b = Controller::launch(
        dir,
        "controller-b",
        &cfg(1, HTTPS_B, MGMT_B),
        HTTPS_B,
        MGMT_B,
    );
    let out = Command::new(sdwan_bin())
        .args(["controller", "ca-cert", "--config"])
        .arg(Controller::config_path(dir))
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(dir.join("ca.pem"), &out.stdout).unwrap();

    // Registered and enrolled through controller A only.
    ctl_ok(dir, &["tenant", "add", "blue", "--rt", "65000:1"]);
    for (serial, src, _) in DEVICES {
        ctl_ok(
            dir,
            &[
                "device",
                "add",
                "--serial",
                serial,
                "--site",
                "s",
                "--tenant",
                "blue",
                "--wan",
                "wan0:1:100:internet",
                "--bgp-source",
                src,
            ],
        );
        let hw = hardware(dir, &serial.to_lowercase(), "blue");
        let (out, _) = enroll_only(dir, serial, &hw, src);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let speakers: Vec<Speaker> = DEVICES
        .iter()
        .enumerate()
        .map(|(i, (serial, _, prefix))| {
            let r = rendered_config(dir, serial);
            assert_eq!(r["bgp"]["peer"].as_array().unwrap().len(), 2, "{r}");
            Speaker::start(dir, serial, &r, prefix, 19141 + i as u16)
        })
        .collect();
    let all_up = |mgmt: &str| {
        DEVICES
            .iter()
            .all(|(_, src, _)| rr_peer_state(mgmt, src).as_deref() == Some("Established"))
    };
    let up = wait_until("both devices on both controllers", 30, || {
        all_up(MGMT) && all_up(MGMT_B)
    });
    assert!(
        up,
        "A {:?} B {:?}\n{}\n{}\n{}",
        DEVICES.map(|d| rr_peer_state(MGMT, d.1)),
        DEVICES.map(|d| rr_peer_state(MGMT_B, d.1)),
        a.log(),
        b.log(),
        speakers[0].log()
    );
    let exchanged = || {
        speakers[0]
            .routes()
            .iter()
            .any(|r| r.contains("10.3.0.0/24"))
            && speakers[1]
                .routes()
                .iter()
                .any(|r| r.contains("10.1.0.0/24"))
    };
    assert!(wait_until("routes exchanged", 20, exchanged));

    // Controller A stops while both devices' routes are watched.
    let stopper = std::thread::spawn(move || {
        let mut a = a;
        a.stop();
    });
    let (mut samples, mut misses) = (0, 0);
    let watch_until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < watch_until {
        samples += 1;
        if !exchanged() {
            misses += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stopper.join().unwrap();
    assert_eq!(misses, 0, "routes missing in {misses} of {samples} samples");
    assert!(all_up(MGMT_B), "controller B kept both sessions");
    for s in &speakers {
        let (_, body) = http(&s.api, "GET", "/api/bgp/summary", "").unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let st = |rr: &str| {
            v["peers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["neighbor"] == rr)
                .map(|p| p["state"].clone())
        };
        assert_ne!(st(RRS[0]), Some("Established".into()), "{v}");
        assert_eq!(st(RRS[1]), Some("Established".into()), "{v}");
    }

    // Revoked through controller B: its session goes, its route too.
    let out = ctl_at(
        &format!("https://{HTTPS_B}"),
        dir,
        Some(ADMIN),
        &["device", "revoke", "SN-C"],
    );
    assert!(out.status.success(), "{out:?}");
    let gone = wait_until("SN-C torn down on B", 20, || {
        rr_peer_state(MGMT_B, "127.0.0.83").is_none()
            && !speakers[0]
                .routes()
                .iter()
                .any(|r| r.contains("10.3.0.0/24"))
    });
    assert!(gone, "{}", b.log());
    println!("ztp HA: no route missing in {samples} samples while one of two controllers stopped");
    drop(speakers);
    drop(b);
}
