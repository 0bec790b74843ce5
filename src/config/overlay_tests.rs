//! Overlay config: the examples are valid, and each inconsistency of the
//! overlay contract §1 is refused at the right line and field.
use super::*;
use std::path::Path;

/// One WAN port, two client VRFs; `{}` placeholders are replaced by tests.
const OVERLAY: &str = r#"[node]
id = "10.255.0.1"
asn = 65000

[bgp]
[[bgp.peer]]
address = "127.0.0.1"
port = 1179

[[wan]]
port = "wan0"
id = 1
color = 100
gateway = "192.0.2.254"

[[vrf]]
name = "blue"
id = 1
rd = "65000:101"
import = ["65000:1"]
export = ["65000:1"]
label = 1001

[[vrf]]
name = "red"
id = 2
rd = "65000:102"
import = ["65000:2"]
export = ["65000:2"]
label = 1002
encap = "gre"

[[port]]
name = "wan0"
device = "net_tap0,iface=w0"
addresses = ["192.0.2.1/24"]

[[port]]
name = "lan0"
device = "net_tap1,iface=l0"
vrf = "blue"
addresses = ["10.1.0.1/24"]

[[port]]
name = "lan1"
device = "net_tap2,iface=l1"
vrf = "red"
addresses = ["10.1.0.1/24"]
"#;

fn parse_overlay(text: &str) -> Result<Resolved, ConfigError> {
    parse(Path::new("o.toml"), text)
}

/// OVERLAY with `from` replaced by `to` (which must occur).
fn with(from: &str, to: &str) -> Result<Resolved, ConfigError> {
    assert!(OVERLAY.contains(from), "{from:?} not in the base config");
    parse_overlay(&OVERLAY.replacen(from, to, 1))
}

fn refused(from: &str, to: &str) -> ConfigError {
    with(from, to).expect_err("must be refused")
}

#[test]
fn overlay_config_resolves() {
    let c = parse_overlay(OVERLAY).unwrap();
    let o = c.overlay.expect("overlay");
    assert_eq!(o.node_id.to_string(), "10.255.0.1");
    assert_eq!(o.peers[0].port, 1179);
    assert_eq!(o.peers[0].remote_as, 65000);
    assert_eq!(o.hold_time, 90);
    assert_eq!(o.wans[0].port, 0);
    assert_eq!(o.wans[0].public_address.to_string(), "192.0.2.1");
    assert_eq!(o.vrfs.len(), 2);
    assert_eq!(o.vrfs[0].rd.to_string(), "65000:101");
    assert_eq!(o.vrfs[1].encap, VrfEncap::Gre);
    assert_eq!(o.vrfs[0].encap, VrfEncap::Mpls);
    assert_eq!(o.all_export_rts().len(), 2);
}

#[test]
fn plain_configs_have_no_overlay() {
    let text = include_str!("../../examples/edge.toml");
    let c = parse(Path::new("examples/edge.toml"), text).unwrap();
    assert!(c.overlay.is_none());
}

#[test]
fn overlay_examples_are_valid() {
    for (name, text) in [
        (
            "overlay-edge1.toml",
            include_str!("../../examples/overlay-edge1.toml"),
        ),
        (
            "overlay-edge2.toml",
            include_str!("../../examples/overlay-edge2.toml"),
        ),
    ] {
        let c = parse(Path::new(name), text).unwrap_or_else(|e| panic!("{e}"));
        let o = c.overlay.expect("overlay");
        assert_eq!(o.vrfs.len(), 2, "{name}");
        assert_eq!(o.wans.len(), 1, "{name}");
        assert_eq!(o.peers[0].port, 1179, "{name}");
    }
}

#[test]
fn overlay_keys_without_node_are_refused() {
    let e = refused("[node]\nid = \"10.255.0.1\"\nasn = 65000\n", "");
    assert_eq!(e.field, "bgp", "{e}");
    assert!(e.message.contains("[node]"), "{e}");
    // Only a VRF's rd: still needs [node].
    let text = "[[vrf]]\nname = \"b\"\nid = 1\nrd = \"65000:1\"\n[[port]]\nname = \"a\"\ndevice = \"net_null0\"\nvrf = \"b\"\n";
    let e = parse_overlay(text).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (4, "vrf[0].rd"), "{e}");
}

#[test]
fn missing_bgp_peer_and_wan_are_refused() {
    let e = refused("[[bgp.peer]]\naddress = \"127.0.0.1\"\nport = 1179\n", "");
    assert_eq!(e.field, "bgp.peer", "{e}");
    let e = refused(
        "[[wan]]\nport = \"wan0\"\nid = 1\ncolor = 100\ngateway = \"192.0.2.254\"\n",
        "",
    );
    assert_eq!(e.field, "wan", "{e}");
}

#[test]
fn duplicate_rd_is_refused_at_its_line() {
    let e = refused("rd = \"65000:102\"", "rd = \"65000:101\"");
    assert_eq!(e.field, "vrf[1].rd", "{e}");
    assert!(e.message.contains("used by two VRFs"), "{e}");
    assert_eq!((e.line, e.column), (27, 6), "{e}");
}

#[test]
fn bad_rd_and_rt_are_refused() {
    let e = refused("rd = \"65000:102\"", "rd = \"blah\"");
    assert_eq!(e.field, "vrf[1].rd", "{e}");
    let e = refused("import = [\"65000:2\"]", "import = [\"65000:2\", \"x:y\"]");
    assert_eq!(e.field, "vrf[1].import[1]", "{e}");
    let e = refused(
        "export = [\"65000:2\"]",
        "export = [\"65000:2\", \"65000:2\"]",
    );
    assert!(e.message.contains("twice"), "{e}");
}

#[test]
fn duplicate_and_out_of_range_labels_are_refused() {
    let e = refused("label = 1002", "label = 1001");
    assert_eq!(e.field, "vrf[1].label", "{e}");
    assert!(e.message.contains("already used by VRF \"blue\""), "{e}");
    assert_eq!(e.line, 30, "{e}");
    let e = refused("label = 1002", "label = 3");
    assert!(e.message.contains("reserved"), "{e}");
    let e = refused("label = 1002", "label = 1048576");
    assert_eq!(e.field, "vrf[1].label", "{e}");
    let e = refused("label = 1002\n", "");
    assert!(e.message.contains("needs `label`"), "{e}");
}

#[test]
fn duplicate_wan_id_and_reused_color_are_refused() {
    let second = "[[wan]]\nport = \"wan1\"\nid = 1\ncolor = 200\n\n[[port]]\nname = \"wan1\"\ndevice = \"net_tap3,iface=w1\"\naddresses = [\"198.51.100.1/24\"]\n";
    let e = parse_overlay(&format!("{OVERLAY}\n{second}")).unwrap_err();
    assert_eq!(e.field, "wan[1].id", "{e}");
    assert!(e.message.contains("WAN id 1 used twice"), "{e}");
    let second = second.replace("id = 1\ncolor = 200", "id = 2\ncolor = 100");
    let e = parse_overlay(&format!("{OVERLAY}\n{second}")).unwrap_err();
    assert_eq!(e.field, "wan[1].color", "{e}");
    assert!(
        e.message.contains("already used by WAN port \"wan0\""),
        "{e}"
    );
    let ok = second.replace("color = 100", "color = 200");
    let c = parse_overlay(&format!("{OVERLAY}\n{ok}")).unwrap();
    assert_eq!(c.overlay.unwrap().wans.len(), 2);
}

#[test]
fn unknown_wan_port_is_refused() {
    let e = refused("port = \"wan0\"", "port = \"wan9\"");
    assert_eq!(e.field, "wan[0].port", "{e}");
    assert!(e.message.contains("unknown port \"wan9\""), "{e}");
    assert_eq!(e.line, 11, "{e}");
    assert_eq!(e.column, 8, "{e}");
}

#[test]
fn wan_port_in_a_client_vrf_is_refused() {
    let e = refused("port = \"wan0\"", "port = \"lan0\"");
    assert_eq!(e.field, "wan[0].port", "{e}");
    assert!(e.message.contains("client VRF \"blue\""), "{e}");
}

#[test]
fn lan_port_in_the_default_vrf_is_refused() {
    let e = refused("vrf = \"red\"\n", "");
    assert_eq!(e.field, "port[2].vrf", "{e}");
    assert!(e.message.contains("underlay"), "{e}");
}

#[test]
fn vrf_color_must_be_a_wan_color() {
    let e = refused("label = 1001\n", "label = 1001\ncolor = 7\n");
    assert_eq!(e.field, "vrf[0].color", "{e}");
    let c = with("label = 1001\n", "label = 1001\ncolor = 100\n").unwrap();
    assert_eq!(c.overlay.unwrap().vrfs[0].color, Some(100));
}

#[test]
fn bad_kind_encap_gateway_and_public_address_are_refused() {
    let e = refused("color = 100\n", "color = 100\nkind = \"satellite\"\n");
    assert_eq!(e.field, "wan[0].kind", "{e}");
    let e = refused("encap = \"gre\"", "encap = \"ipip\"");
    assert_eq!(e.field, "vrf[1].encap", "{e}");
    let e = refused("gateway = \"192.0.2.254\"", "gateway = \"203.0.113.1\"");
    assert_eq!(e.field, "wan[0].gateway", "{e}");
    let e = refused(
        "color = 100\n",
        "color = 100\npublic_address = \"2001:db8::1\"\n",
    );
    assert_eq!(e.field, "wan[0].public_address", "{e}");
    let c = with(
        "color = 100\n",
        "color = 100\npublic_address = \"203.0.113.7\"\n",
    )
    .unwrap();
    let w = &c.overlay.unwrap().wans[0];
    assert_eq!(w.public_address.to_string(), "203.0.113.7");
    // Behind NAT: the outer source is the port's own address.
    assert_eq!(
        w.source_for("198.51.100.9".parse().unwrap())
            .unwrap()
            .to_string(),
        "192.0.2.1"
    );
}

#[test]
fn node_id_and_bgp_peer_checks() {
    let e = refused("id = \"10.255.0.1\"", "id = \"0.0.0.0\"");
    assert_eq!((e.field.as_str(), e.line), ("node.id", 2), "{e}");
    let e = refused("asn = 65000", "asn = 0");
    assert_eq!(e.field, "node.asn", "{e}");
    let dup = "[[bgp.peer]]\naddress = \"127.0.0.1\"\nport = 1179\n";
    let e = refused(dup, &format!("{dup}{dup}"));
    assert_eq!(e.field, "bgp.peer[1].address", "{e}");
    let e = refused("[bgp]\n", "[bgp]\nhold_time = 2\n");
    assert_eq!(e.field, "bgp.hold_time", "{e}");
    let c = with(
        "port = 1179\n",
        "port = 1179\nremote_as = 65001\nmd5_key = \"s\"\n",
    )
    .unwrap();
    let p = &c.overlay.unwrap().peers[0];
    assert_eq!((p.remote_as, p.md5_key.as_deref()), (65001, Some("s")));
}

#[test]
fn implicit_tables_from_dotted_headers_parse() {
    // `[[bgp.peer]]` without `[bgp]` defines the table implicitly (what
    // the zero-touch merge writes); it has no span of its own.
    let text =
        include_str!("../../examples/overlay-edge1.toml").replace("[bgp]\nhold_time = 30\n", "");
    assert!(!text.contains("[bgp]\n"));
    let cfg = parse(Path::new("edge.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.overlay.unwrap().hold_time, 90);
}

#[test]
fn a_trunk_without_addresses_carries_client_vlans() {
    let trunk = "\n[[port]]\nname = \"trunk\"\ndevice = \"net_tap3,iface=t3\"\n";
    let vlan = "\n[[port]]\nname = \"trunk.10\"\nparent = \"trunk\"\nvlan = 10\nvrf = \"blue\"\naddresses = [\"10.3.0.1/24\"]\n";
    let c = parse_overlay(&format!("{OVERLAY}{trunk}{vlan}")).unwrap();
    assert_eq!(c.ports[4].vlan.map(|v| v.parent), Some(3));
    // Without a sub-interface it is a LAN port in the underlay VRF.
    let e = parse_overlay(&format!("{OVERLAY}{trunk}")).unwrap_err();
    assert_eq!(e.field, "port[3].vrf", "{e}");
    // With an address of its own, too.
    let routed = trunk.to_string() + "addresses = [\"10.9.0.1/24\"]\n";
    let e = parse_overlay(&format!("{OVERLAY}{routed}{vlan}")).unwrap_err();
    assert_eq!(e.field, "port[3].vrf", "{e}");
}

#[test]
fn internet_wans_are_guarded_with_defaults_and_allow_rules() {
    use sdwan_dataplane::pipeline::{
        GuardProtocol, DEFAULT_RATE_LIMIT_BURST, DEFAULT_RATE_LIMIT_PPS,
    };
    let g = parse_overlay(OVERLAY).unwrap().overlay.unwrap().wans[0]
        .guard
        .clone()
        .expect("internet is the default kind: guarded");
    assert_eq!(
        (g.rate_limit_pps, g.rate_limit_burst, g.allow.len()),
        (DEFAULT_RATE_LIMIT_PPS, DEFAULT_RATE_LIMIT_BURST, 0)
    );
    let c = with(
        "gateway = \"192.0.2.254\"\n",
        "gateway = \"192.0.2.254\"\nrate_limit_pps = 500\nrate_limit_burst = 50\nallow = [\n  { protocol = \"tcp\", port = 22, from = [\"198.51.100.0/24\", \"2001:db8:9::/48\"] },\n  { protocol = \"udp\", port = 161, from = [\"0.0.0.0/0\"] },\n]\n",
    )
    .unwrap();
    let g = c.overlay.unwrap().wans[0].guard.clone().unwrap();
    assert_eq!((g.rate_limit_pps, g.rate_limit_burst), (500, 50));
    assert_eq!(g.allow.len(), 3, "one rule per source prefix");
    assert_eq!(g.allow[1].from.addr.to_string(), "2001:db8:9::");
    assert_eq!(
        (g.allow[2].protocol, g.allow[2].port),
        (GuardProtocol::Udp, 161)
    );
    let off = with(
        "gateway = \"192.0.2.254\"\n",
        "gateway = \"192.0.2.254\"\nrate_limit_pps = 0\n",
    )
    .unwrap();
    assert_eq!(
        off.overlay.unwrap().wans[0]
            .guard
            .as_ref()
            .unwrap()
            .rate_limit_pps,
        0
    );
    let private = with("color = 100\n", "color = 100\nkind = \"private\"\n").unwrap();
    assert!(private.overlay.unwrap().wans[0].guard.is_none());
}

#[test]
fn bad_guard_keys_are_refused_at_their_field() {
    let gw = "gateway = \"192.0.2.254\"\n";
    let allow = |rule: &str| format!("{gw}allow = [{rule}]\n");
    let cases = [
        (
            allow("{ protocol = \"tcp\", port = 179, from = [\"0.0.0.0/0\"] }"),
            "wan[0].allow[0].port",
            "BGP",
        ),
        (
            allow("{ protocol = \"udp\", port = 4500, from = [\"0.0.0.0/0\"] }"),
            "wan[0].allow[0].port",
            "overlay",
        ),
        (
            allow("{ protocol = \"udp\", port = 0, from = [\"0.0.0.0/0\"] }"),
            "wan[0].allow[0].port",
            "port 0",
        ),
        (
            allow("{ protocol = \"icmp\", port = 1, from = [\"0.0.0.0/0\"] }"),
            "wan[0].allow[0].protocol",
            "neither",
        ),
        (
            allow("{ protocol = \"tcp\", port = 22, from = [] }"),
            "wan[0].allow[0].from",
            "at least one",
        ),
        (
            allow("{ protocol = \"tcp\", port = 22, from = [\"10.0.0.1/8\"] }"),
            "wan[0].allow[0].from[0]",
            "10.0.0.0/8",
        ),
        (
            format!("{gw}rate_limit_burst = 0\n"),
            "wan[0].rate_limit_burst",
            "at least 1",
        ),
        (
            format!("{gw}rate_limit_pps = 0\nrate_limit_burst = 5\n"),
            "wan[0].rate_limit_burst",
            "no effect",
        ),
        (
            format!("{gw}rate_limit_pps = 2000000000\n"),
            "wan[0].rate_limit_pps",
            "above",
        ),
        (
            format!("{gw}kind = \"private\"\nrate_limit_pps = 10\n"),
            "wan[0].rate_limit_pps",
            "internet",
        ),
        (
            format!(
                "{gw}kind = \"private\"\n{}",
                allow("{ protocol = \"tcp\", port = 22, from = [\"0.0.0.0/0\"] }")
                    .trim_start_matches(gw)
            ),
            "wan[0].allow",
            "internet",
        ),
    ];
    for (to, field, words) in cases {
        let e = refused(gw, &to);
        assert_eq!(e.field, field, "{to}: {e}");
        assert!(e.message.contains(words), "{to}: {e}");
        assert!(e.line > 0, "{to}: {e}");
    }
}
