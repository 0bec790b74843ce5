//! Interop with GoBGP (gobgpd 3.x) on loopback: iBGP, VPNv4 + VPNv6, we
//! dial (GoBGP is passive). Routes injected with the gobgp CLI (RT and
//! Color) must appear in our Loc-RIB with the right RD, label, RT and Color,
//! and ours in GoBGP's RIB likewise.

mod common;

use common::*;
use sdwan_bgp::fsm::State;
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::Family;
use serde_json::Value;
use std::process::Command;

const OURS: &str = "127.0.0.51";
const THEIRS: &str = "127.0.0.52";

/// (labels, rd "admin:assigned", extcomms, nexthop) of `key` in GoBGP's RIB.
fn gobgp_route(rib: &Value, key: &str) -> Option<(Vec<u64>, String, Vec<Value>, String)> {
    let path = rib.get(key)?.get(0)?;
    let nlri = &path["nlri"];
    let labels = nlri["labels"]
        .as_array()?
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    let rd = format!("{}:{}", nlri["rd"]["admin"], nlri["rd"]["assigned"]);
    let attrs = path["attrs"].as_array()?;
    let ext = attrs
        .iter()
        .find(|a| a["type"] == 16)
        .and_then(|a| a["value"].as_array().cloned())
        .unwrap_or_default();
    let nh = attrs
        .iter()
        .find(|a| a["type"] == 14)
        .and_then(|a| a["nexthop"].as_str())
        .unwrap_or("")
        .to_string();
    Some((labels, rd, ext, nh))
}

#[test]
fn gobgp_vpnv4_vpnv6_both_directions() {
    if require("gobgpd").is_none() || require("gobgp").is_none() {
        return;
    }
    let their_port = free_port(THEIRS);
    let our_port = free_port(OURS);
    let gobgpd = start_gobgpd(
        "10.0.0.52",
        THEIRS,
        their_port,
        &[gobgp_neighbor(
            OURS,
            THEIRS,
            &["l3vpn-ipv4-unicast", "l3vpn-ipv6-unicast"],
            None,
        )],
    );
    let api = gobgpd.api.clone();
    let vpn = vec![Family::Vpnv4, Family::Vpnv6];
    let us = Speaker::start(our_config(
        "10.0.0.51",
        OURS,
        our_port,
        vec![peer(THEIRS, their_port, false, OURS, vpn)],
    ))
    .unwrap();

    let up = wait_until("GoBGP session", 30, || {
        us.peers()[0].state == State::Established
    });
    assert!(
        up,
        "session not established: {:?}\n{}",
        us.peers(),
        gobgpd.daemon.output()
    );

    // Theirs -> ours.
    let g = |args: &[&str]| {
        let mut a = vec!["-u", "127.0.0.1", "-p", &api, "global", "rib"];
        a.extend_from_slice(args);
        let o = Command::new("gobgp").args(&a).output().unwrap();
        assert!(
            o.status.success(),
            "gobgp {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    g(&[
        "-a",
        "vpnv4",
        "add",
        "10.10.0.0/24",
        "label",
        "200",
        "rd",
        "65000:10",
        "rt",
        "65000:1",
        "color",
        "100",
        "nexthop",
        "192.0.2.10",
    ]);
    g(&[
        "-a",
        "vpnv6",
        "add",
        "2001:db8:10::/48",
        "label",
        "201",
        "rd",
        "65000:10",
        "rt",
        "65000:1",
        "color",
        "101",
        "nexthop",
        "2001:db8::10",
    ]);
    let got = wait_until("GoBGP routes in our Loc-RIB", 20, || {
        us.snapshot().len() >= 2
    });
    assert!(got, "{:?}", us.snapshot());
    let snap = us.snapshot();
    let find = |k: &str| {
        snap.iter()
            .find(|(key, _)| key.to_string() == k)
            .map(|(_, p)| p.clone())
    };
    let v4 = find("65000:10:10.10.0.0/24").expect("vpnv4 route from GoBGP");
    assert_eq!(v4.label.map(|l| l >> 4), Some(200));
    assert_eq!(v4.next_hop.to_string(), "192.0.2.10");
    let ext: Vec<String> = v4
        .attrs
        .ext_communities
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        ext.contains(&"rt:65000:1".into()) && ext.contains(&"color:100".into()),
        "{ext:?}"
    );
    let v6 = find("65000:10:2001:db8:10::/48").expect("vpnv6 route from GoBGP");
    assert_eq!(v6.label.map(|l| l >> 4), Some(201));
    assert_eq!(v6.next_hop.to_string(), "2001:db8::10");
    assert!(v6.attrs.colors().any(|c| c == 101));

    // Ours -> theirs.
    originate_test_routes(&us, Some(201));
    let mut r4 = None;
    let mut r6 = None;
    wait_until("our routes in GoBGP", 20, || {
        r4 = gobgp_route(&gobgpd.rib("vpnv4"), "65000:20:10.20.0.0/24");
        r6 = gobgp_route(&gobgpd.rib("vpnv6"), "65000:20:2001:db8:20::/48");
        r4.is_some() && r6.is_some()
    });
    let (labels, rd, ext, nh) =
        r4.unwrap_or_else(|| panic!("vpnv4 missing in GoBGP: {}", gobgpd.rib("vpnv4")));
    assert_eq!(
        (labels, rd.as_str(), nh.as_str()),
        (vec![300], "65000:20", "192.0.2.20")
    );
    assert!(
        ext.iter()
            .any(|e| e["subtype"] == 2 && e["value"] == "65000:1"),
        "{ext:?}"
    );
    assert!(
        ext.iter().any(|e| e["subtype"] == 11 && e["color"] == 200),
        "{ext:?}"
    );
    let (labels, rd, ext, nh) = r6.unwrap();
    assert_eq!(
        (labels, rd.as_str(), nh.as_str()),
        (vec![301], "65000:20", "2001:db8::20")
    );
    assert!(
        ext.iter().any(|e| e["subtype"] == 11 && e["color"] == 201),
        "{ext:?}"
    );

    let c = &us.peers()[0].counters;
    assert!(c.errors.is_empty(), "{c:?}");
    let mut gobgpd = gobgpd;
    assert!(gobgpd.daemon.alive());
    us.shutdown();
}
