//! Interop with BIRD 2 on loopback: iBGP, VPNv4 + VPNv6 (`vpn4 mpls` /
//! `vpn6 mpls` channels), BIRD dials us (we are passive). BIRD's static
//! VPN routes carry a Route Target and a Color (and the implicit-null label
//! BIRD announces for its own routes); they must appear in our Loc-RIB intact, and ours in BIRD's tables with RD, label, RT and
//! Color.

mod common;

use common::*;
use sdwan_bgp::fsm::State;
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::Family;

const OURS: &str = "127.0.0.61";
const THEIRS: &str = "127.0.0.62";

#[test]
fn bird_vpnv4_vpnv6_both_directions() {
    if require("bird").is_none() || require("birdc").is_none() {
        return;
    }
    let our_port = free_port(OURS);
    let their_port = free_port(THEIRS);
    let vpn = vec![Family::Vpnv4, Family::Vpnv6];
    let us = Speaker::start(our_config(
        "10.0.0.61",
        OURS,
        our_port,
        vec![peer(THEIRS, their_port, true, OURS, vpn)],
    ))
    .unwrap();
    originate_test_routes(&us, Some(201));

    let conf = format!(
        r#"router id 10.0.0.62;
protocol device {{ }}
vpn4 table vpntab4;
vpn6 table vpntab6;
protocol static nh4 {{ ipv4; route 192.0.2.0/24 via "lo"; }}
protocol static nh6 {{ ipv6; route 2001:db8::/32 via "lo"; }}
protocol static s4 {{
  vpn4 {{ table vpntab4; }};
  route 65000:30 10.30.0.0/24 via "lo" mpls 400 {{ bgp_ext_community.add((rt, 65000, 1)); bgp_ext_community.add((generic, 0x030b0000, 300)); }};
}}
protocol static s6 {{
  vpn6 {{ table vpntab6; }};
  route 65000:30 2001:db8:30::/48 via "lo" mpls 401 {{ bgp_ext_community.add((rt, 65000, 1)); bgp_ext_community.add((generic, 0x030b0000, 301)); }};
}}
protocol bgp ours {{
  local {THEIRS} port {their_port} as 65000;
  neighbor {OURS} port {our_port} as 65000;
  strict bind on;
  connect retry time 1;
  error wait time 1, 5;
  vpn4 mpls {{ table vpntab4; import all; export all; next hop keep; }};
  vpn6 mpls {{ table vpntab6; import all; export all; next hop keep; next hop address 2001:db8::62; }};
}}
"#
    );
    let bird = start_bird(&conf);
    let birdc = |args: &[&str]| bird.cli(args);

    let up = wait_until("BIRD session", 30, || {
        us.peers()[0].state == State::Established
    });
    assert!(
        up,
        "{:?}\n{}\n{}",
        us.peers(),
        birdc(&["show", "protocols", "all", "ours"]),
        bird.daemon.output()
    );

    // Theirs -> ours.
    let got = wait_until("BIRD routes in our Loc-RIB", 20, || {
        us.snapshot().len() >= 4
    });
    let snap = us.snapshot();
    assert!(got, "{snap:?}\n{}", bird.daemon.output());
    let find = |k: &str| {
        snap.iter()
            .find(|(key, _)| key.to_string() == k)
            .map(|(_, p)| p.clone())
    };
    let v4 = find("65000:30:10.30.0.0/24").expect("vpnv4 route from BIRD");
    // BIRD 2.0.12 cannot allocate labels: for its own routes it sets
    // next hop self and announces implicit null (3, RFC 3032), whatever
    // label the static route had. The label we decode is the one it sent.
    assert_eq!(v4.label.map(|l| l >> 4), Some(3));
    assert_eq!(v4.label.map(|l| l & 1), Some(1), "bottom of stack");
    let ext: Vec<String> = v4
        .attrs
        .ext_communities
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        ext.contains(&"rt:65000:1".into()) && ext.contains(&"color:300".into()),
        "{ext:?}"
    );
    let v6 = find("65000:30:2001:db8:30::/48").expect("vpnv6 route from BIRD");
    assert_eq!(v6.label.map(|l| l >> 4), Some(3));
    assert!(v6.attrs.colors().any(|c| c == 301));
    assert!(v6.next_hop.is_ipv6());

    // Ours -> theirs.
    let mut t4 = String::new();
    let mut t6 = String::new();
    wait_until("our routes in BIRD", 20, || {
        t4 = birdc(&[
            "show", "route", "table", "vpntab4", "protocol", "ours", "all",
        ]);
        t6 = birdc(&[
            "show", "route", "table", "vpntab6", "protocol", "ours", "all",
        ]);
        t4.contains("65000:20 10.20.0.0/24") && t6.contains("65000:20 2001:db8:20::/48")
    });
    for (t, label, color) in [
        (&t4, "mpls 300", "(generic, 0x30b0000, 0xc8)"),
        (&t6, "mpls 301", "(generic, 0x30b0000, 0xc9)"),
    ] {
        assert!(t.contains("65000:20 "), "{t}");
        assert!(t.contains(label), "label {label} missing:\n{t}");
        assert!(t.contains("(rt, 65000, 1)"), "RT missing:\n{t}");
        assert!(t.contains(color), "color {color} missing:\n{t}");
    }
    let c = &us.peers()[0].counters;
    assert!(c.errors.is_empty(), "{c:?}");
    us.shutdown();
    drop(bird);
}
