//! 802.1Q sub-interfaces in `[[port]]`: how they resolve (physical ports
//! first, parent's MAC and MTU) and every mistake refused with its field.
use super::*;
use std::path::Path;

/// A trunk `lan0` (untagged, still routed) and `lan1`, two VRFs; the
/// tests append `[[port]]` tables.
const TRUNK: &str = r#"
[[vrf]]
name = "blue"
id = 1

[[vrf]]
name = "red"
id = 2

[[port]]
name = "lan0"
device = "net_tap0,iface=t0"
addresses = ["10.0.0.1/24"]
mtu = 1500

[[port]]
name = "lan1"
device = "net_tap1,iface=t1"
addresses = ["10.0.1.1/24"]
mtu = 1400
"#;

fn sub(name: &str, extra: &str) -> String {
    format!("\n[[port]]\nname = \"{name}\"\n{extra}\n")
}

fn parse_trunk(extra: &str) -> Result<Resolved, ConfigError> {
    parse(Path::new("edge.toml"), &format!("{TRUNK}{extra}"))
}

#[test]
fn example_vlan_config_is_valid() {
    let text = include_str!("../../examples/vlan-edge.toml");
    let c = parse(Path::new("examples/vlan-edge.toml"), text).expect("example must be valid");
    assert_eq!(c.physical_count(), 1);
    assert_eq!(c.ports.len(), 4);
    assert!(c.ports[1..].iter().all(|p| p.vlan.is_some()));
}

#[test]
fn sub_interfaces_follow_the_physical_ports_and_inherit_from_the_parent() {
    // Declared before the port it rides on, and between physical ports.
    let text = format!(
        "{}{TRUNK}{}",
        sub("lan0.10", "parent = \"lan0\"\nvlan = 10\nvrf = \"blue\"\naddresses = [\"10.10.0.1/24\", \"fd10::1/64\"]"),
        sub("lan1.20", "parent = \"lan1\"\nvlan = 20\nvrf = \"red\"\nmtu = 1300")
    );
    let c = parse(Path::new("edge.toml"), &text).unwrap();
    let names: Vec<&str> = c.ports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["lan0", "lan1", "lan0.10", "lan1.20"]);
    assert_eq!(c.physical_count(), 2);
    let v10 = &c.ports[2];
    assert_eq!(v10.vlan, Some(ResolvedVlan { parent: 0, id: 10 }));
    assert_eq!((v10.vrf, v10.vrf_name.as_str()), (1, "blue"));
    assert_eq!(v10.mtu, Some(1500), "the parent's MTU");
    assert_eq!((v10.queues, v10.mac), (0, None));
    assert_eq!(c.ports[3].vlan, Some(ResolvedVlan { parent: 1, id: 20 }));
    assert_eq!(c.ports[3].mtu, Some(1300));
    assert_eq!((c.wire_port(2), c.wire_port(3), c.wire_port(1)), (0, 1, 1));
    // Only physical ports become EAL devices and workers.
    let vdevs = c
        .eal_args
        .iter()
        .filter(|a| a.starts_with("--vdev"))
        .count();
    assert_eq!((vdevs, c.worker_count()), (2, 2));
    // Same address as the parent in another VRF is fine.
    let ok = sub(
        "lan0.11",
        "parent = \"lan0\"\nvlan = 11\nvrf = \"blue\"\naddresses = [\"10.0.0.1/24\"]",
    );
    assert!(parse_trunk(&ok).is_ok());
}

#[test]
fn a_route_can_leave_through_a_sub_interface() {
    let text = format!(
        "{}\n[[route]]\nvrf = \"blue\"\nprefix = \"172.16.0.0/16\"\nvia = \"10.10.0.254\"\n",
        sub(
            "lan0.10",
            "parent = \"lan0\"\nvlan = 10\nvrf = \"blue\"\naddresses = [\"10.10.0.1/24\"]"
        )
    );
    let c = parse_trunk(&text).unwrap();
    assert_eq!(
        c.routes[0].next_hop,
        RouteNextHop::Gateway {
            port: 2,
            via: "10.10.0.254".parse().unwrap()
        }
    );
}

/// The error for `extra` appended to the trunk: (field, message).
fn refused(extra: &str) -> ConfigError {
    parse_trunk(extra).expect_err(extra)
}

#[test]
fn each_sub_interface_mistake_is_refused_naming_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "parent = \"lan9\"\nvlan = 10",
            "port[2].parent",
            "unknown port \"lan9\"",
        ),
        (
            "parent = \"lan0\"\nvlan = 0",
            "port[2].vlan",
            "must be 1..=4094",
        ),
        (
            "parent = \"lan0\"\nvlan = 4095",
            "port[2].vlan",
            "must be 1..=4094",
        ),
        (
            "parent = \"lan0\"\nvlan = -3",
            "port[2].vlan",
            "must be 1..=4094",
        ),
        ("parent = \"lan0\"", "port[2].vlan", "needs `vlan`"),
        ("vlan = 10", "port[2].device", "missing"),
        (
            "device = \"net_tap2\"\nvlan = 10",
            "port[2].vlan",
            "needs `parent`",
        ),
        (
            "device = \"net_tap2\"\nparent = \"lan0\"\nvlan = 10",
            "port[2].device",
            "not both",
        ),
        (
            "parent = \"lan0\"\nvlan = 10\nmac = \"02:00:00:00:00:01\"",
            "port[2].mac",
            "parent's MAC",
        ),
        (
            "parent = \"lan0\"\nvlan = 10\nqueues = 2",
            "port[2].queues",
            "through its parent",
        ),
        (
            "parent = \"lan1\"\nvlan = 10\nmtu = 1500",
            "port[2].mtu",
            "above the MTU of parent port \"lan1\" (1400)",
        ),
        (
            "parent = \"lan0\"\nvlan = 10\nvrf = \"green\"",
            "port[2].vrf",
            "unknown VRF",
        ),
    ];
    for (body, field, msg) in cases {
        let e = refused(&sub("x", body));
        assert_eq!(e.field, *field, "{body}: {e}");
        assert!(e.message.contains(msg), "{body}: {e}");
        assert!(e.line > 0, "{body}: {e} has a position");
    }
}

#[test]
fn duplicate_vlan_stacked_parent_and_duplicate_address_are_refused() {
    let a = sub("lan0.10", "parent = \"lan0\"\nvlan = 10\nvrf = \"blue\"");
    let e = refused(&format!(
        "{a}{}",
        sub("other", "parent = \"lan0\"\nvlan = 10\nvrf = \"red\"")
    ));
    assert_eq!(e.field, "port[3].vlan", "{e}");
    assert!(
        e.message
            .contains("VLAN 10 of port \"lan0\" is already port \"lan0.10\""),
        "{e}"
    );
    // VLAN 10 on another parent is another VLAN.
    assert!(parse_trunk(&format!(
        "{a}{}",
        sub("lan1.10", "parent = \"lan1\"\nvlan = 10")
    ))
    .is_ok());
    let e = refused(&format!(
        "{a}{}",
        sub("qinq", "parent = \"lan0.10\"\nvlan = 20")
    ));
    assert_eq!(e.field, "port[3].parent", "{e}");
    assert!(e.message.contains("is itself a sub-interface"), "{e}");
    // The parent's address again in the parent's VRF.
    let e = refused(&sub(
        "lan0.30",
        "parent = \"lan0\"\nvlan = 30\naddresses = [\"10.0.0.1/24\"]",
    ));
    assert!(e.message.contains("already on port \"lan0\""), "{e}");
    assert_eq!(e.field, "port \"lan0.30\".addresses", "{e}");
}
