//! Per-VRF topologies and per-prefix Route Targets: the shorthand and the
//! hub-and-spoke keys resolve to the right import / export RTs, the
//! examples are valid, and every conflict is refused naming its keys.
use super::*;
use sdwan_bgp::wire::Prefix;
use std::path::Path;

const HUB: &str = include_str!("../../examples/topology-hub.toml");
const SPOKE: &str = include_str!("../../examples/topology-spoke.toml");

fn overlay_of(text: &str) -> OverlayConfig {
    parse(Path::new("t.toml"), text)
        .unwrap_or_else(|e| panic!("{e}"))
        .overlay
        .expect("overlay")
}

fn refused(base: &str, from: &str, to: &str) -> ConfigError {
    assert!(base.contains(from), "{from:?} not in the base config");
    parse(Path::new("t.toml"), &base.replacen(from, to, 1)).expect_err("must be refused")
}

fn rts(v: &[sdwan_bgp::config::RouteTarget]) -> Vec<String> {
    v.iter().map(|r| r.0.to_string()).collect()
}

fn px(s: &str) -> Prefix {
    let n: ipnet::IpNet = s.parse().unwrap();
    Prefix::new(n.addr(), n.prefix_len()).unwrap()
}

#[test]
fn hub_example_resolves_mesh_hub_and_prefix_rts() {
    let o = overlay_of(HUB);
    let corp = &o.vrfs[0];
    assert_eq!(corp.topology, Topology::Mesh);
    assert!(!corp.topology.is_transit());
    assert_eq!(rts(&corp.import), ["rt:65000:1"]);
    assert_eq!(rts(&corp.export), ["rt:65000:1"]);
    // The payment gateway's subnet goes out with 65000:900 only.
    assert_eq!(rts(corp.export_rts(&px("10.10.9.0/24"))), ["rt:65000:900"]);
    assert_eq!(rts(corp.export_rts(&px("10.10.1.0/24"))), ["rt:65000:1"]);
    let pos = &o.vrfs[1];
    assert_eq!(pos.topology, Topology::HubAndSpoke(Role::Hub));
    assert!(pos.topology.is_transit());
    assert_eq!(rts(&pos.import), ["rt:65000:22"]);
    assert_eq!(rts(&pos.export), ["rt:65000:21"]);
    assert_eq!(pos.summaries, vec![px("0.0.0.0/0"), px("::/0")]);
    // The WAN routes carry the per-prefix RT too, so an edge that may
    // receive the payment route also receives the hub's tunnels.
    assert_eq!(
        rts(&o.all_export_rts()),
        ["rt:65000:1", "rt:65000:21", "rt:65000:900"]
    );
}

#[test]
fn spoke_example_resolves_expert_form_spoke_and_route_rts() {
    let o = overlay_of(SPOKE);
    let corp = &o.vrfs[0];
    assert_eq!(corp.topology, Topology::Mesh);
    assert_eq!(rts(&corp.import), ["rt:65000:1", "rt:65000:900"]);
    assert_eq!(rts(&corp.export), ["rt:65000:1"]);
    assert_eq!(rts(corp.export_rts(&px("10.11.7.0/24"))), ["rt:65000:901"]);
    let pos = &o.vrfs[1];
    assert_eq!(pos.topology, Topology::HubAndSpoke(Role::Spoke));
    assert!(!pos.topology.is_transit());
    assert_eq!(rts(&pos.import), ["rt:65000:21"]);
    assert_eq!(rts(&pos.export), ["rt:65000:22"]);
    assert!(pos.summaries.is_empty());
}

#[test]
fn hub_summary_can_be_narrowed_or_emptied() {
    let o = overlay_of(&HUB.replacen(
        "hub_summary = [\"0.0.0.0/0\", \"::/0\"]",
        "hub_summary = [\"10.0.0.0/8\"]",
        1,
    ));
    assert_eq!(o.vrfs[1].summaries, vec![px("10.0.0.0/8")]);
    let o = overlay_of(&HUB.replacen(
        "hub_summary = [\"0.0.0.0/0\", \"::/0\"]",
        "hub_summary = []",
        1,
    ));
    assert!(o.vrfs[1].summaries.is_empty());
    // Left out: both default routes.
    let o = overlay_of(&HUB.replacen("hub_summary = [\"0.0.0.0/0\", \"::/0\"]\n", "", 1));
    assert_eq!(o.vrfs[1].summaries.len(), 2);
}

#[test]
fn mixing_the_shorthand_with_import_export_is_refused_naming_the_keys() {
    let e = refused(
        HUB,
        "route_target = \"65000:1\"",
        "route_target = \"65000:1\"\nimport = [\"65000:1\"]",
    );
    assert_eq!(e.field, "vrf[0].import", "{e}");
    assert!(
        e.message.contains("`route_target`") && e.message.contains("`import`"),
        "{e}"
    );
    let e = refused(
        HUB,
        "role = \"hub\"",
        "role = \"hub\"\nexport = [\"65000:21\"]",
    );
    assert_eq!(e.field, "vrf[1].export", "{e}");
    assert!(
        e.message.contains("`hub_rt`") && e.message.contains("`export`"),
        "{e}"
    );
    let e = refused(
        HUB,
        "role = \"hub\"",
        "role = \"hub\"\nroute_target = \"65000:3\"",
    );
    assert_eq!(e.field, "vrf[1].route_target", "{e}");
    // Hub-and-spoke keys on a mesh.
    let e = refused(
        HUB,
        "route_target = \"65000:1\"",
        "route_target = \"65000:1\"\nrole = \"hub\"",
    );
    assert_eq!(e.field, "vrf[0].role", "{e}");
    assert!(e.message.contains("hub-and-spoke"), "{e}");
}

#[test]
fn hub_and_spoke_mistakes_are_refused_at_their_key() {
    let e = refused(HUB, "role = \"hub\"\n", "");
    assert_eq!(e.field, "vrf[1].role", "{e}");
    let e = refused(HUB, "role = \"hub\"", "role = \"center\"");
    assert_eq!(e.field, "vrf[1].role", "{e}");
    let e = refused(HUB, "spoke_rt = \"65000:22\"\n", "");
    assert_eq!(e.field, "vrf[1].spoke_rt", "{e}");
    let e = refused(HUB, "spoke_rt = \"65000:22\"", "spoke_rt = \"65000:21\"");
    assert_eq!(e.field, "vrf[1].spoke_rt", "{e}");
    let e = refused(HUB, "hub_rt = \"65000:21\"", "hub_rt = \"sixty\"");
    assert_eq!(e.field, "vrf[1].hub_rt", "{e}");
    let e = refused(HUB, "topology = \"hub-and-spoke\"", "topology = \"star\"");
    assert_eq!(e.field, "vrf[1].topology", "{e}");
    let e = refused(
        SPOKE,
        "role = \"spoke\"",
        "role = \"spoke\"\nhub_summary = []",
    );
    assert_eq!(e.field, "vrf[1].hub_summary", "{e}");
    let e = refused(
        HUB,
        "hub_summary = [\"0.0.0.0/0\", \"::/0\"]",
        "hub_summary = [\"10.1.0.0/8\"]",
    );
    assert_eq!(e.field, "vrf[1].hub_summary[0]", "{e}");
    assert!(e.message.contains("10.0.0.0/8"), "{e}");
}

#[test]
fn per_prefix_route_targets_are_checked() {
    // Not a connected subnet of the VRF.
    let e = refused(
        HUB,
        "prefix = \"10.10.9.0/24\"",
        "prefix = \"10.10.8.0/24\"",
    );
    assert_eq!(e.field, "vrf[0].export_prefix[0].prefix", "{e}");
    // Empty list: ambiguous, refused.
    let e = refused(HUB, "route_targets = [\"65000:900\"]", "route_targets = []");
    assert_eq!(e.field, "vrf[0].export_prefix[0].route_targets", "{e}");
    let e = refused(
        SPOKE,
        "route_targets = [\"65000:901\"]",
        "route_targets = [\"65000:x\"]",
    );
    assert_eq!(e.field, "route[0].route_targets[0]", "{e}");
    // A route of the underlay is not announced: no Route Targets.
    let e = refused(
        SPOKE,
        "[management]",
        "[[route]]\nprefix = \"192.0.2.0/24\"\nvia = \"198.51.100.254\"\nroute_targets = [\"65000:1\"]\n\n[management]",
    );
    assert_eq!(e.field, "route[1].route_targets", "{e}");
    // Without an overlay there is nothing to announce.
    let plain = "[[vrf]]\nname = \"b\"\nid = 1\n[[port]]\nname = \"a\"\ndevice = \"net_null0\"\nvrf = \"b\"\naddresses = [\"10.0.0.1/24\"]\n[[route]]\nvrf = \"b\"\nprefix = \"10.9.0.0/24\"\nvia = \"10.0.0.2\"\nroute_targets = [\"65000:1\"]\n";
    let e = parse(Path::new("t.toml"), plain).unwrap_err();
    assert_eq!(e.field, "route[0].route_targets", "{e}");
    assert!(e.message.contains("[node]"), "{e}");
}
