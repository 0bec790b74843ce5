//! Interop with ExaBGP 4 on loopback: ExaBGP (passive) sends a VPNv4 route
//! carrying a Tunnel Encapsulation attribute (23) with every RFC 9012
//! sub-TLV, every SD-WAN one (64, 65, 67–70) and unknown ones (1- and
//! 2-byte lengths); we dial it, and must decode every TLV exactly.

mod common;

use common::*;
use sdwan_bgp::fsm::State;
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::tunnel::{Encapsulation, SubTlv, Tunnel, TunnelEncap};
use sdwan_bgp::wire::Family;
use std::process::Command;

const OURS: &str = "127.0.0.81";
const THEIRS: &str = "127.0.0.82";

fn tunnels() -> TunnelEncap {
    let mut t = tunnels_rfc9012();
    // 65, 67, 68, 69, 70 with typed values, before the unknown ones.
    let at = t.tunnels[0].sub_tlvs.len() - 2;
    t.tunnels[0].sub_tlvs.splice(at..at, sdwan_sub_tlvs());
    t
}

fn tunnels_rfc9012() -> TunnelEncap {
    TunnelEncap {
        tunnels: vec![
            Tunnel {
                tunnel_type: 25, // SD-WAN-Hybrid
                sub_tlvs: vec![
                    SubTlv::Encapsulation {
                        encap: Encapsulation::Raw {
                            value: vec![0, 0, 0, 7],
                        },
                    },
                    SubTlv::ProtocolType { ethertype: 0x0800 },
                    SubTlv::Color {
                        flags: 0,
                        color: 77,
                    },
                    SubTlv::EgressEndpoint {
                        address: Some("198.51.100.7".parse().unwrap()),
                    },
                    SubTlv::DsField { dscp: 46 },
                    SubTlv::UdpDestPort { port: 4500 },
                    SubTlv::EmbeddedLabelHandling { value: 1 },
                    SubTlv::MplsLabelStack {
                        entries: vec![0x0006_4101],
                    },
                    SubTlv::PrefixSid {
                        value: vec![1, 0, 7, 0, 0, 0, 0, 0, 0, 100],
                    },
                    SubTlv::IpsecSaId {
                        ids: vec![1001, 1002],
                    },
                    // 65, 67, 68, 69, 70 with typed values.
                    SubTlv::Unknown {
                        code: 99,
                        value: vec![9, 9],
                    },
                    SubTlv::Unknown {
                        code: 200,
                        value: vec![0x55; 300],
                    },
                ],
            },
            Tunnel {
                tunnel_type: 8, // VXLAN
                sub_tlvs: vec![
                    SubTlv::Encapsulation {
                        encap: Encapsulation::VnId {
                            vn_id: Some(10),
                            mac: None,
                        },
                    },
                    SubTlv::UdpDestPort { port: 4789 },
                ],
            },
        ],
    }
}

#[test]
fn exabgp_attribute_23_every_tlv_decoded() {
    if require("exabgp").is_none() {
        return;
    }
    let their_port = free_port(THEIRS);
    let mut attr = Vec::new();
    tunnels().encode(&mut attr);
    let hex: String = attr.iter().map(|b| format!("{b:02X}")).collect();

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    std::fs::write(
        dir.path().join("exabgp.conf"),
        format!(
            "neighbor {OURS} {{
    router-id 10.0.0.82;
    local-address {THEIRS};
    local-as 65000;
    peer-as 65000;
    passive;
    family {{ ipv4 mpls-vpn; }}
    static {{
        route 10.40.0.0/24 rd 65000:40 label 500 next-hop 192.0.2.40 extended-community [ target:65000:1 ] attribute [ 0x17 0xc0 0x{hex} ];
    }}
}}
"
        ),
    )
    .unwrap();
    let exa = Daemon::spawn(
        "exabgp",
        dir,
        Command::new("exabgp")
            .arg(format!("{d}/exabgp.conf"))
            .env("exabgp_tcp_bind", THEIRS)
            .env("exabgp_tcp_port", their_port.to_string())
            .env("exabgp_daemon_user", "root")
            .env("exabgp_daemon_drop", "false")
            .env("exabgp_log_destination", format!("{d}/exabgp.log"))
            .env("exabgp_api_cli", "false"),
    );
    let us = Speaker::start(our_config(
        "10.0.0.81",
        OURS,
        free_port(OURS),
        vec![peer(THEIRS, their_port, false, OURS, vec![Family::Vpnv4])],
    ))
    .unwrap();
    let got = wait_until("ExaBGP route", 30, || !us.snapshot().is_empty());
    assert!(got, "{:?}\n{}", us.peers(), exa.output());
    let snap = us.snapshot();
    let (key, path) = &snap[0];
    assert_eq!(key.to_string(), "65000:40:10.40.0.0/24");
    assert_eq!(path.label.map(|l| l >> 4), Some(500));
    assert_eq!(
        path.attrs.tunnel_encap.as_ref(),
        Some(&tunnels()),
        "every TLV decoded exactly"
    );
    assert!(path
        .attrs
        .route_targets()
        .any(|r| r.to_string() == "rt:65000:1"));
    let c = &us.peers()[0].counters;
    assert!(c.errors.is_empty(), "{c:?}");
    assert_eq!(us.peers()[0].state, State::Established);
    us.shutdown();
    drop(exa);
}
