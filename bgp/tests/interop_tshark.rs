//! tshark decodes our captured messages without errors: two in-process
//! speakers exchange OPEN, KEEPALIVE, UPDATE (VPNv4, VPNv6, Tunnel
//! Encapsulation attribute, End-of-RIB) and NOTIFICATION on loopback while
//! tshark captures; the capture is then dissected as BGP and must contain
//! every message type and no malformed packet or error-level expert info.

mod common;

use common::*;
use sdwan_bgp::config::{PeerConfig, SpeakerConfig};
use sdwan_bgp::fsm::State;
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::tunnel::{Encapsulation, SubTlv, Tunnel, TunnelEncap};
use sdwan_bgp::wire::Family;
use std::process::Command;
use std::time::Duration;

const RR: &str = "127.0.0.91";
const EDGE: &str = "127.0.0.92";

fn cfg(id: &str, listen: Option<&str>, port: u16, peer: PeerConfig) -> SpeakerConfig {
    let mut c = our_config(id, listen.unwrap_or(RR), port, vec![peer]);
    if listen.is_none() {
        c.listen_address = None;
    }
    c
}

#[test]
fn tshark_dissects_our_messages_cleanly() {
    if require("tshark").is_none() {
        return;
    }
    let port = free_port(RR);
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("bgp.pcapng");
    let pcap_s = pcap.display().to_string();
    let cap = Daemon::spawn(
        "tshark",
        tempfile::tempdir().unwrap(),
        Command::new("tshark").args([
            "-i",
            "lo",
            "-f",
            &format!("tcp port {port}"),
            "-w",
            &pcap_s,
            "-q",
        ]),
    );
    // dumpcap writes the file header once it captures.
    assert!(
        wait_until("capture start", 20, || std::fs::metadata(&pcap)
            .is_ok_and(|m| m.len() > 0)),
        "{}",
        cap.output()
    );
    std::thread::sleep(Duration::from_millis(500));

    let fams = vec![Family::Vpnv4, Family::Vpnv6];
    let rr = Speaker::start(cfg(
        "10.0.0.91",
        Some(RR),
        port,
        peer(EDGE, 179, true, RR, fams.clone()),
    ))
    .unwrap();
    let edge =
        Speaker::start(cfg("10.0.0.92", None, 0, peer(RR, port, false, EDGE, fams))).unwrap();
    assert!(wait_until("session", 20, || rr.peers()[0].state == State::Established));
    let mut r = vpn_route(
        "10.50.0.0/24",
        "65000:50",
        600,
        "192.0.2.50",
        &["65000:1"],
        Some(9),
    );
    // tshark 4.0 flags the Color sub-TLV as malformed (its bug): left out.
    r.tunnel_encap = Some(TunnelEncap {
        tunnels: vec![Tunnel {
            tunnel_type: 8,
            sub_tlvs: vec![
                SubTlv::Encapsulation {
                    encap: Encapsulation::VnId {
                        vn_id: Some(5010),
                        mac: None,
                    },
                },
                SubTlv::UdpDestPort { port: 4789 },
                SubTlv::EgressEndpoint {
                    address: Some("198.51.100.9".parse().unwrap()),
                },
            ],
        }],
    });
    edge.originate(r).unwrap();
    edge.originate(vpn_route(
        "2001:db8:50::/48",
        "65000:50",
        601,
        "2001:db8::50",
        &["65000:1"],
        None,
    ))
    .unwrap();
    assert!(wait_until("routes at the RR", 20, || rr.snapshot().len() == 2));
    edge.shutdown(); // Cease NOTIFICATION
    assert!(wait_until("session down", 10, || rr.peers()[0].state
        != State::Established));
    std::thread::sleep(Duration::from_millis(700));
    drop(cap); // SIGTERM: dumpcap flushes and closes the file

    let decode = |filter: &str, fields: &[&str]| {
        let mut a = vec![
            "-r".to_string(),
            pcap_s.clone(),
            "-d".into(),
            format!("tcp.port=={port},bgp"),
            "-Y".into(),
            filter.into(),
            "-T".into(),
            "fields".into(),
        ];
        for f in fields {
            a.push("-e".into());
            a.push((*f).into());
        }
        let o = Command::new("tshark").args(&a).output().unwrap();
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let types = decode("bgp", &["bgp.type"]);
    for t in ["1", "2", "3", "4"] {
        assert!(
            types.split(|c: char| !c.is_ascii_digit()).any(|x| x == t),
            "BGP type {t} not seen: {types}"
        );
    }
    let bad = decode(
        "_ws.malformed || _ws.expert.severity == error",
        &["frame.number", "_ws.expert.message"],
    );
    assert!(bad.trim().is_empty(), "tshark reports errors:\n{bad}");
    let vpn = decode(
        "bgp.type == 2",
        &[
            "bgp.mp_reach_nlri_ipv4_prefix",
            "bgp.update.path_attribute.type_code",
        ],
    );
    assert!(
        vpn.contains("10.50.0.0"),
        "VPNv4 prefix not dissected: {vpn}"
    );
    assert!(vpn.contains("23"), "attribute 23 not seen: {vpn}");
    // Our own decode tool reads the same capture (pcapng, loopback).
    let opts = sdwan_bgp::decode_tool::DecodeOptions {
        ports: vec![port],
        ..Default::default()
    };
    let msgs = sdwan_bgp::decode_tool::decode_pcap(&std::fs::read(&pcap).unwrap(), &opts).unwrap();
    let kinds: Vec<&str> = msgs
        .iter()
        .filter_map(|m| m["message"]["type"].as_str())
        .collect();
    for k in ["open", "keepalive", "update", "notification"] {
        assert!(kinds.contains(&k), "{k} missing in {kinds:?}");
    }
    assert!(
        msgs.iter().all(|m| m["ok"] == true && m["verdict"] == "ok"),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.to_string().contains("10.50.0.0/24")));
    rr.shutdown();
}
