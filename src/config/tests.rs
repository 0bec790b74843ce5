//! Config parsing and validation: the example is valid, and each kind of
//! mistake is refused with the right file position and field.
use super::validate::parse_mac;
use super::*;
use std::path::Path;

const BASE: &str = r#"
[[port]]
name = "lan0"
device = "net_tap0,iface=t0"
addresses = ["10.0.0.1/24", "fd00::1/64"]

[[port]]
name = "lan1"
device = "net_tap1,iface=t1"
addresses = ["10.0.1.1/24"]
"#;

fn parse_str(extra: &str) -> Result<Resolved, ConfigError> {
    parse(Path::new("edge.toml"), &format!("{BASE}{extra}"))
}

#[test]
fn example_config_is_valid() {
    let text = include_str!("../../examples/edge.toml");
    let c = parse(Path::new("examples/edge.toml"), text).expect("example must be valid");
    assert_eq!(c.ports.len(), 2);
    assert_eq!(c.worker_count(), 2);
    assert_eq!(c.routes.len(), 2);
    assert!(c
        .eal_args
        .contains(&"--vdev=net_tap0,iface=sdw-lan0".to_string()));
    assert_eq!(
        c.routes[0].next_hop,
        RouteNextHop::Gateway {
            port: 1,
            via: "10.10.2.2".parse().unwrap()
        }
    );
    assert_eq!(c.routes[1].next_hop, RouteNextHop::Blackhole);
}

#[test]
fn unknown_key_is_refused_with_line_and_field() {
    let e = parse_str("\n[[route]]\nprefix = \"1.0.0.0/8\"\nvai = \"10.0.0.2\"\n").unwrap_err();
    assert_eq!(e.line, 14, "{e}");
    assert_eq!(e.field, "route.vai", "{e}");
    assert!(e.message.contains("unknown field `vai`"), "{e}");
    assert!(
        e.to_string().starts_with("edge.toml:14:1: route.vai:"),
        "{e}"
    );
}

#[test]
fn bad_prefix_is_refused_at_its_line() {
    let e = parse_str("\n[[route]]\nprefix = \"10.0.0.0/33\"\nblackhole = true\n").unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (13, "route.prefix"), "{e}");
}

#[test]
fn duplicate_port_name_is_refused() {
    let e = parse_str("\n[[port]]\nname = \"lan0\"\ndevice = \"net_tap2\"\n").unwrap_err();
    assert_eq!(e.field, "port[2].name");
    assert!(e.message.contains("defined twice"), "{e}");
    assert_eq!(e.line, 13, "{e}");
}

#[test]
fn gateway_outside_connected_subnets_is_refused() {
    let e = parse_str("\n[[route]]\nprefix = \"1.0.0.0/8\"\nvia = \"192.168.9.9\"\n").unwrap_err();
    assert_eq!(e.field, "route[0].via");
    assert!(e.message.contains("not in a connected subnet"), "{e}");
}

#[test]
fn gateway_resolves_to_the_port_of_its_subnet() {
    let c = parse_str("\n[[route]]\nprefix = \"1.0.0.0/8\"\nvia = \"10.0.1.7\"\n").unwrap();
    assert_eq!(
        c.routes[0].next_hop,
        RouteNextHop::Gateway {
            port: 1,
            via: "10.0.1.7".parse().unwrap()
        }
    );
}

#[test]
fn unknown_vrf_and_port_references_are_refused() {
    let e = parse_str("\n[[route]]\nvrf = \"red\"\nprefix = \"1.0.0.0/8\"\nblackhole = true\n")
        .unwrap_err();
    assert_eq!(e.field, "route[0].vrf");
    let e = parse_str(
        "\n[[neighbor]]\nport = \"wan9\"\nip = \"10.0.0.9\"\nmac = \"02:00:00:00:00:09\"\n",
    )
    .unwrap_err();
    assert_eq!(e.field, "neighbor[0].port");
}

#[test]
fn bad_mac_bounds_and_listen_are_refused() {
    let e = parse_str(
        "\n[[neighbor]]\nport = \"lan0\"\nip = \"10.0.0.9\"\nmac = \"01:00:00:00:00:09\"\n",
    )
    .unwrap_err();
    assert!(e.message.contains("unicast"), "{e}");
    let e = parse_str("\n[dataplane]\nmax_sleep_us = 5000\n").unwrap_err();
    assert_eq!(e.field, "dataplane.max_sleep_us");
    let e = parse_str("\n[management]\nlisten = \"localhost\"\n").unwrap_err();
    assert_eq!(e.field, "management.listen");
    let e = parse_str("\n[eal]\nargs = [\"--vdev=net_null0\"]\n").unwrap_err();
    assert_eq!(e.field, "eal.args");
}

#[test]
fn duplicate_address_in_a_vrf_is_refused() {
    let e = parse(
        Path::new("x.toml"),
        "[[port]]\nname = \"a\"\ndevice = \"net_null0\"\naddresses = [\"10.0.0.1/24\"]\n[[port]]\nname = \"b\"\ndevice = \"net_null1\"\naddresses = [\"10.0.0.1/24\"]\n",
    )
    .unwrap_err();
    assert!(e.message.contains("already on port"), "{e}");
}

#[test]
fn mac_parser_is_strict() {
    assert_eq!(parse_mac("02:00:0a:0B:ff:01"), Some([2, 0, 10, 11, 255, 1]));
    assert_eq!(parse_mac("02:00:0a:0B:ff"), None);
    assert_eq!(parse_mac("02:00:0a:0B:ff:01:02"), None);
    assert_eq!(parse_mac("2:00:0a:0B:ff:01"), None);
    assert_eq!(parse_mac("zz:00:0a:0B:ff:01"), None);
}

#[test]
fn workers_default_to_one_per_queue_and_can_be_fewer() {
    let c = parse_str("").unwrap();
    assert_eq!((c.worker_count(), c.port_queue_count(0)), (2, 2));
    let c = parse_str("\n[dataplane]\nworkers = 1\n").unwrap();
    assert_eq!((c.worker_count(), c.port_queue_count(1)), (1, 1));
    let e = parse_str("\n[dataplane]\nworkers = 0\n").unwrap_err();
    assert_eq!(e.field, "dataplane.workers");
}
