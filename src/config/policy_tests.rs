//! `[[policy]]`: rules resolve in file order into one rule set matching
//! their VRF, breakout needs an internet `[[wan]]` with `breakout = true`,
//! and every mistake is refused at its line and field.
use super::*;
use std::path::Path;

const BASE: &str = r#"[node]
id = "10.255.0.1"
asn = 65000

[[bgp.peer]]
address = "127.0.0.1"

[[wan]]
port = "inet0"
id = 1
color = 100
gateway = "192.0.2.254"
BREAKOUT

[[wan]]
port = "mpls0"
id = 2
color = 200
kind = "private"

[[vrf]]
name = "blue"
id = 1
rd = "65000:101"
import = ["65000:1"]
export = ["65000:1"]
label = 1001

[[port]]
name = "inet0"
device = "net_tap0,iface=w0"
addresses = ["192.0.2.1/24"]

[[port]]
name = "mpls0"
device = "net_tap1,iface=w1"
addresses = ["172.16.0.1/24"]

[[port]]
name = "lan0"
device = "net_tap2,iface=l0"
vrf = "blue"
addresses = ["10.1.0.1/24"]
"#;

fn with(breakout: &str, policies: &str) -> Result<Resolved, ConfigError> {
    let text = format!("{}\n{policies}", BASE.replace("BREAKOUT", breakout));
    // One worker unless a test says otherwise (breakout requires it).
    let text = if breakout.contains("breakout") && !policies.contains("workers") {
        format!("[dataplane]\nworkers = 1\n{text}")
    } else {
        text
    };
    parse(Path::new("p.toml"), &text)
}

const RULES: &str = r#"
[[policy]]
vrf = "blue"
name = "web"
action = "internet-breakout"
dst = "198.51.100.0/24"

[[policy]]
vrf = "blue"
name = "voice"
action = "private-only"
protocol = "udp"
dst_ports = "5060-5061"
dscp = 46
"#;

#[test]
fn rules_resolve_in_order_with_breakout() {
    let r = with("breakout = true", RULES).unwrap();
    let p = &r.overlay.as_ref().unwrap().policy;
    assert_eq!(p.vrfs, vec![1]);
    assert_eq!(p.rules.rules.len(), 2);
    assert_eq!(p.rules.class_names, vec!["web", "voice"]);
    assert_eq!(
        p.rules.rules[1].action.policy,
        sdwan_policy::classifier::PathPolicy::PrivateOnly
    );
    assert_eq!(p.rules.rules[1].matches.vrf, Some(1));
    assert_eq!(
        p.views[1].matches,
        "protocol udp dst_ports 5060-5061 dscp 46"
    );
    assert_eq!(p.breakout.len(), 1);
    let b = &p.breakout[0];
    assert_eq!((b.vrf, b.port), (1, 0));
    assert_eq!(b.public.to_string(), "192.0.2.1");
    assert_eq!(b.ports, policy::NAT_PORTS);
    // No rules: nothing to classify.
    let r = with("", "").unwrap();
    assert!(r.overlay.unwrap().policy.is_empty());
}

#[test]
fn mistakes_are_refused_at_their_field() {
    let cases = [
        ("", RULES, "policy.action", "breakout = true"),
        ("breakout = true", "[[policy]]\nvrf = \"green\"\nname = \"x\"\naction = \"any\"\n", "policy[0].vrf", "green"),
        ("", "[[policy]]\nvrf = \"blue\"\nname = \"x\"\naction = \"fast\"\n", "policy[0].action", "private-only"),
        ("", "[[policy]]\nvrf = \"blue\"\nname = \"x\"\naction = \"any\"\nprotocol = \"sctp\"\n", "policy[0].protocol", "sctp"),
        ("", "[[policy]]\nvrf = \"blue\"\nname = \"x\"\naction = \"any\"\nprotocol = \"tcp\"\ndst_ports = \"9-1\"\n", "policy[0].dst_ports", "LO <= HI"),
        ("", "[[policy]]\nvrf = \"blue\"\nname = \"x\"\naction = \"any\"\ndst_ports = \"80\"\n", "policy[0].dst_ports", "protocol"),
        ("", "[[policy]]\nvrf = \"blue\"\nname = \"x\"\naction = \"any\"\ndst = \"10.0.0.1/8\"\n", "policy[0].dst", "beyond"),
        ("", "[[policy]]\nvrf = \"blue\"\nname = \"x\"\naction = \"any\"\ndscp = 64\n", "policy[0].dscp", "> 63"),
        ("", "[[policy]]\nvrf = \"blue\"\nname = \"x\"\naction = \"any\"\nflow_label = 1048576\n", "policy[0].flow_label", "20 bits"),
        ("breakout = true", "[[policy]]\nvrf = \"blue\"\nname = \"x\"\naction = \"internet-breakout\"\ndst = \"2001:db8::/32\"\n", "policy[0].action", "IPv4 only"),
    ];
    for (breakout, text, field, msg) in cases {
        let e = with(breakout, text).unwrap_err();
        assert_eq!(e.field, field, "{e}");
        assert!(e.message.contains(msg), "{e}");
        assert!(e.line > 0, "{e}");
    }
}

#[test]
fn breakout_needs_one_worker() {
    // Three ports, one queue each: three workers by default.
    let text = format!("{}\n{RULES}", BASE.replace("BREAKOUT", "breakout = true"));
    let e = parse(Path::new("p.toml"), &text).unwrap_err();
    assert_eq!(e.field, "dataplane.workers", "{e}");
    assert!(e.message.contains("workers = 1"), "{e}");
}

#[test]
fn breakout_must_be_an_internet_port_with_ipv4() {
    let text = BASE
        .replace("BREAKOUT", "")
        .replace("kind = \"private\"", "kind = \"private\"\nbreakout = true");
    let e = parse(Path::new("p.toml"), &format!("{text}\n{RULES}")).unwrap_err();
    assert_eq!(e.field, "wan.breakout", "{e}");
    assert!(e.message.contains("private"), "{e}");
}

#[test]
fn the_hybrid_example_is_valid() {
    let text = include_str!("../../examples/hybrid-edge.toml");
    let r = parse(Path::new("examples/hybrid-edge.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    let o = r.overlay.unwrap();
    assert_eq!(o.policy.rules.rules.len(), 3);
    assert_eq!(o.policy.breakout.len(), 1);
    assert_eq!(o.wans[1].kind, WanKind::Private);
}
