//! `[[static_peer]]` from config to snapshot: the SAs carry the configured
//! keys (a packet we encapsulate decrypts with the gateway's inbound SA
//! built from the same hex), the routes resolve to the tunnel with the
//! VRF's inner encapsulation and the peer's label, and bad entries are
//! refused naming the field.
use super::keys::Keys;
use super::resolver::{Resolver, STATIC_PEER_PORT};
use crate::config;
use sdwan_crypto::aead::DefaultEngine;
use sdwan_crypto::esp::SaCounters;
use sdwan_crypto::{Cipher, InboundSa, InboundSet, KeyMaterial, NextHeader, Received, SaParams};
use sdwan_dataplane::fib::{NextHop, RouteChange};
use sdwan_dataplane::overlay::InnerEncap;
use sdwan_packet::Frame;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

const EDGE1: &str = include_str!("../../../examples/overlay-edge1.toml");
const KEY_OUT: &str = "00112233445566778899aabbccddeeff01020304";
const KEY_IN: &str = "ffeeddccbbaa99887766554433221100a0b0c0d0";

fn static_peer(extra: &str) -> String {
    format!(
        r#"{EDGE1}
[[static_peer]]
name = "gw-paris"
wan = 1
endpoint = "198.51.100.7"
spi_out = 0x1001
key_out = "{KEY_OUT}"
spi_in = 0x2001
key_in = "{KEY_IN}"
{extra}
[[static_peer.route]]
vrf = "blue"
prefix = "10.9.0.0/16"
label = 1999
"#
    )
}

fn parse(text: &str) -> Result<config::Resolved, String> {
    config::parse(Path::new("edge.toml"), text).map_err(|e| e.to_string())
}

#[test]
fn static_peer_routes_resolve_to_a_tunnel_with_the_configured_keys() {
    let cfg = parse(&static_peer("")).unwrap();
    let o = cfg.overlay.clone().unwrap();
    let blue = o.vrfs.iter().find(|v| v.name == "blue").unwrap().id;
    let wan = o.wan_by_id(1).unwrap().port;
    let mut r = Resolver::new(
        o,
        BTreeSet::new(),
        Keys::new(cfg.overlay.as_ref().unwrap()).unwrap(),
    );
    let u = r.initial(0);

    let path = match u.fib.as_slice() {
        [RouteChange::Add {
            vrf,
            prefix,
            len: 16,
            next_hop: NextHop::Overlay { path },
        }] if *vrf == blue && *prefix == "10.9.0.0".parse::<IpAddr>().unwrap() => *path,
        other => panic!("one overlay route expected: {other:?}"),
    };
    let t = u.overlay.expect("snapshot");
    let p = &t.paths[path as usize];
    assert_eq!(p.inner, InnerEncap::Mpls { label: 1999 });
    assert_eq!(p.tunnels.len(), 1);
    let tunnel = &t.tunnels[p.tunnels[0] as usize];
    assert_eq!(tunnel.remote, "198.51.100.7".parse::<IpAddr>().unwrap());
    assert_eq!(tunnel.local_port, wan);
    let inbound: Vec<_> = t.inbound.iter().map(|s| (s.spi, s.peer)).collect();
    assert_eq!(inbound, vec![(0x2001, Some(tunnel.remote))]);
    // The peer appears as a tunnel to port 0 of node = its endpoint.
    assert_eq!(r.remote_ports()[&tunnel.remote][0].port, STATIC_PEER_PORT);

    // What we send decrypts with the gateway's inbound SA from key_out.
    let gw_keys = KeyMaterial::from_rfc4106(
        Cipher::AesGcm128,
        &(0..KEY_OUT.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&KEY_OUT[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let mut gw = InboundSet::<DefaultEngine>::new(4500);
    gw.insert(InboundSa::new(SaParams::new(0x1001), &gw_keys).unwrap());
    let inner = [0x45u8; 60];
    let mut buf = vec![0u8; 512];
    buf[200..260].copy_from_slice(&inner);
    let mut f = Frame::new(&mut buf, 200, 60).unwrap();
    let mut c = SaCounters::default();
    tunnel.sa.encap(&mut f, NextHeader::Ipv4, &mut c).unwrap();
    match gw.decap(&mut f) {
        Ok(Received::Inner { spi, .. }) => assert_eq!(spi, 0x1001),
        other => panic!("the gateway could not decrypt: {other:?}"),
    }
    assert_eq!(f.data(), &inner[..]);
}

#[test]
fn a_local_prefix_takes_over_a_static_route_and_gives_it_back() {
    let cfg = parse(&static_peer("")).unwrap();
    let o = cfg.overlay.clone().unwrap();
    let blue = o.vrfs.iter().find(|v| v.name == "blue").unwrap().id;
    let mut r = Resolver::new(
        o,
        BTreeSet::new(),
        Keys::new(cfg.overlay.as_ref().unwrap()).unwrap(),
    );
    assert_eq!(r.initial(0).fib.len(), 1);
    let px = sdwan_bgp::wire::Prefix::new("10.9.0.0".parse().unwrap(), 16).unwrap();
    // The operator adds 10.9.0.0/16 locally: the FIB already holds their
    // route, so nothing is removed; the overlay forgets its own.
    let u = r.set_local_prefixes([(blue, px)].into());
    assert!(u.fib.is_empty(), "{:?}", u.fib);
    assert!(r.installed().is_empty());
    // Removed again: the static route comes back.
    let u = r.set_local_prefixes(BTreeSet::new());
    assert_eq!(u.fib.len(), 1);
    assert!(matches!(
        u.fib[0],
        RouteChange::Add {
            next_hop: NextHop::Overlay { .. },
            ..
        }
    ));
}

#[test]
fn bad_static_peers_are_refused_naming_the_field() {
    let cases: [(&str, &str, &str); 8] = [
        (r#"key_out = "0011""#, "static_peer[0].key_out", "needs 20"),
        (r#"key_in = "zz""#, "static_peer[0].key_in", "not a hex"),
        ("spi_out = 7", "static_peer[0].spi_out", "reserved"),
        ("wan = 9", "static_peer[0].wan", "no [[wan]] with id 9"),
        (
            r#"endpoint = "2001:db8::7""#,
            "static_peer[0].endpoint",
            "same IP version",
        ),
        (r#"cipher = "des""#, "static_peer[0].cipher", "neither"),
        (
            "replay_window = 0",
            "static_peer[0].replay_window",
            "needs esn = false",
        ),
        (
            "replay_window = 32",
            "static_peer[0].replay_window",
            "neither 0 (off) nor inside 64..=4096",
        ),
    ];
    for (line, field, what) in cases {
        // Replace the key the case overrides.
        let key = line.split(" = ").next().unwrap();
        let text: String = static_peer("")
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{key} = ")) {
                    line.to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let text = if text.contains(line) {
            text
        } else {
            // Keys with defaults are not in the base text: add them.
            static_peer(line)
        };
        let e = parse(&text).expect_err(line);
        assert!(e.contains(field) && e.contains(what), "{line}: {e}");
    }
    let e = parse(&static_peer(
        "[[static_peer.route]]\nvrf = \"nope\"\nprefix = \"10.8.0.0/16\"\nlabel = 20\n",
    ))
    .unwrap_err();
    assert!(e.contains("static_peer[0].route[0].vrf"), "{e}");
}

#[test]
fn anti_replay_can_be_turned_off_without_esn() {
    let cfg = parse(&static_peer("esn = false\nreplay_window = 0")).unwrap();
    let p = &cfg.overlay.as_ref().unwrap().static_peers[0];
    assert_eq!((p.esn, p.replay_window), (false, 0));
}
