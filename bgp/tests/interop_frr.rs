//! Interop with FRR bgpd (8.x, run standalone without zebra) on loopback:
//! iBGP with VPNv4 only, FRR dials us, hold time 3 s. The session must stay
//! up across several hold times while we hold VPNv6 routes too (never sent:
//! FRR drops the session on a family it did not negotiate), and FRR must
//! hold our VPNv4 route with its RD, label, RT and Color.

mod common;

use common::*;
use sdwan_bgp::fsm::State;
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::Family;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const OURS: &str = "127.0.0.71";
const THEIRS: &str = "127.0.0.72";

#[test]
fn frr_vpnv4_session_stays_up() {
    let Some(bgpd) = require("bgpd") else { return };
    if require("vtysh").is_none() {
        return;
    }
    let our_port = free_port(OURS);
    let their_port = free_port(THEIRS);
    // We offer VPNv4 and VPNv6; FRR only VPNv4.
    let us = Speaker::start(our_config(
        "10.0.0.71",
        OURS,
        our_port,
        vec![peer(
            THEIRS,
            their_port,
            true,
            OURS,
            vec![Family::Vpnv4, Family::Vpnv6],
        )],
    ))
    .unwrap();
    originate_test_routes(&us, None);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    // bgpd drops privileges to the frr user (root is not in frrvty).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(
        dir.path().join("bgpd.conf"),
        format!(
            "frr defaults traditional
hostname frrtest
log file {d}/bgpd.log debugging
router bgp 65000
 bgp router-id 10.0.0.72
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor {OURS} remote-as 65000
 neighbor {OURS} port {our_port}
 neighbor {OURS} update-source {THEIRS}
 neighbor {OURS} timers 1 3
 neighbor {OURS} timers connect 1
 address-family ipv4 vpn
  neighbor {OURS} activate
 exit-address-family
"
        ),
    )
    .unwrap();
    let frr = Daemon::spawn(
        "bgpd",
        dir,
        Command::new(&bgpd).args([
            "-f",
            &format!("{d}/bgpd.conf"),
            "-i",
            &format!("{d}/bgpd.pid"),
            "--vty_socket",
            &d,
            "-Z",
            "-n",
            "-p",
            &their_port.to_string(),
            "-l",
            THEIRS,
            "-u",
            "frr",
            "-g",
            "frr",
            "-P",
            "0",
        ]),
    );
    let vtysh = |cmd: &str| run("vtysh", &["--vty_socket", &d, "-d", "bgpd", "-c", cmd]);

    let up = wait_until("FRR session", 30, || {
        us.peers()[0].state == State::Established
    });
    assert!(up, "{:?}\n{}", us.peers(), frr.output());
    assert_eq!(us.peers()[0].negotiated_families, vec![Family::Vpnv4]);

    // Several hold times pass; the session must not flap.
    std::thread::sleep(Duration::from_secs(7));
    let s = &us.peers()[0];
    assert_eq!(s.state, State::Established, "{s:?}\n{}", frr.output());
    assert_eq!(s.counters.established_count, 1, "session flapped: {s:?}");
    assert_eq!(s.hold_time, Some(3));
    assert!(s.counters.errors.is_empty(), "{s:?}");

    let mut j = Value::Null;
    wait_until("our route in FRR", 15, || {
        j = serde_json::from_str(&vtysh("show bgp ipv4 vpn 10.20.0.0/24 json"))
            .unwrap_or(Value::Null);
        j.get("65000:20").is_some()
    });
    // FRR keys the route by its RD.
    let path = &j["65000:20"]["paths"][0];
    let text = j.to_string();
    assert!(text.contains("65000:20"), "RD missing: {text}");
    assert_eq!(path["remoteLabel"], 300, "{text}");
    let ext = path["extendedCommunity"]["string"].as_str().unwrap_or("");
    assert!(ext.contains("RT:65000:1"), "{text}");
    // FRR 8.4 has no name for the Color community (type 0x03): "UNK:3, ..".
    assert!(ext.contains("UNK:3"), "Color missing: {text}");
    assert_eq!(path["valid"], true, "{text}");
    // Nothing of VPNv6 reached FRR.
    let v6 = vtysh("show bgp ipv6 vpn json");
    assert!(!v6.contains("2001:db8:20::"), "{v6}");
    us.shutdown();
    drop(frr);
}
