//! The configs of the overlay end-to-end test: edges (TAP ports, two
//! VRFs, BGP to the reflector), `sdwan controller`, and `gobgpd`.
/// Client prefixes every edge must learn from the other site, per VRF.
pub(crate) fn remote_prefixes(site: u8, vrf: &str) -> Vec<String> {
    let other = 3 - site;
    let mut v = vec![format!("10.{other}.0.0/24"), format!("fd00:{other}::/64")];
    if site == 1 && vrf == "red" {
        v.push("10.22.0.0/24".into());
    }
    v
}

/// Where the route reflector listens and how edge `site` reaches it.
pub(crate) struct Rr {
    pub(crate) port: u16,
}

/// TCP ports of a test prefix: (route reflector, controller API, edge API
/// base); each test has its own so they never collide.
pub(crate) fn test_ports(prefix: &str, gobgp: bool) -> (u16, u16, u16) {
    match (prefix, gobgp) {
        ("gd", _) => (19401, 19410, 19410),
        ("sdwo", _) => (17941, 19210, 19210),
        (_, true) => (17942, 19210, 19220),
        _ => (17941, 19210, 19220),
    }
}

pub(crate) fn edge_api(prefix: &str, site: u8) -> String {
    let base = test_ports(prefix, false).2;
    format!("127.0.0.1:{}", base + site as u16)
}

pub(crate) fn taps(prefix: &str, site: u8) -> [String; 3] {
    ["w", "b", "r"].map(|k| format!("{prefix}{site}{k}"))
}

/// The edge's TOML, in the shape of examples/overlay-edge*.toml.
/// The GoBGP variant runs its tunnels over an IPv6 underlay (the WAN
/// ports' public addresses are their IPv6 ones), the controller variant
/// over IPv4. `wan_extra`: more keys of the `[[wan]]` (e.g. its guard).
pub(crate) fn edge_config(prefix: &str, site: u8, rr: &Rr, wan_extra: &str) -> String {
    let [wan, blue, red] = taps(prefix, site);
    let public = if prefix == "sdwg" {
        format!("public_address = \"2001:db8:ffff::{site}\"")
    } else {
        String::new()
    };
    let api = edge_api(prefix, site);
    let rr_port = rr.port;
    let red_static = if site == 2 {
        "\n[[route]]\nvrf = \"red\"\nprefix = \"10.22.0.0/24\"\nvia = \"10.2.0.2\"\n"
    } else {
        ""
    };
    format!(
        r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix={prefix}{site}", "--log-level=notice"]

[dataplane]
workers = 1

[node]
id = "10.255.0.{site}"
asn = 65000

[bgp]
hold_time = 30

[[bgp.peer]]
address = "127.0.0.1"
port = {rr_port}
remote_as = 65000
md5_key = "edge{site}-secret"
local_address = "127.0.0.1{site}"

[[vrf]]
name = "blue"
id = 1
rd = "65000:{site}1"
import = ["65000:1"]
export = ["65000:1"]
label = 1{site}01
color = 100

[[vrf]]
name = "red"
id = 2
rd = "65000:{site}2"
import = ["65000:2"]
export = ["65000:2"]
label = 1{site}02
color = 100

[[port]]
name = "wan0"
device = "net_tap0,iface={wan}"
mac = "02:5d:0{site}:00:00:01"
addresses = ["203.0.113.{site}/24", "2001:db8:ffff::{site}/64"]

[[wan]]
port = "wan0"
id = 1
color = 100
kind = "internet"
{public}
{wan_extra}

[[port]]
name = "blue0"
device = "net_tap1,iface={blue}"
vrf = "blue"
mac = "02:5d:0{site}:00:00:02"
addresses = ["10.{site}.0.1/24", "fd00:{site}::1/64"]

[[port]]
name = "red0"
device = "net_tap2,iface={red}"
vrf = "red"
mac = "02:5d:0{site}:00:00:03"
addresses = ["10.{site}.0.1/24", "fd00:{site}::1/64"]
{red_static}
[management]
listen = "{api}"
"#
    )
}

/// `sdwan controller`: one peer group for the tenant's two VPNs (both
/// edges host both), passive MD5 peers = the edges' BGP source addresses.
pub(crate) fn controller_config(rr: &Rr, api: &str) -> String {
    let port = rr.port;
    let mut s = format!(
        r#"
[bgp]
router_id = "192.0.2.100"
asn = 65000
listen_address = "127.0.0.1"
listen_port = {port}
hold_time = 30

[[bgp.peer_groups]]
name = "acme"
route_targets = ["65000:1", "65000:2"]
"#
    );
    for site in 1..=2 {
        s.push_str(&format!(
            r#"
[[bgp.peers]]
address = "127.0.0.1{site}"
remote_as = 65000
md5_key = "edge{site}-secret"
peer_group = "acme"
passive = true
families = ["vpnv4", "vpnv6", "sdwan-v4", "ipv4-unicast"]
"#
        ));
    }
    s.push_str(&format!("\n[management]\nlisten = \"{api}\"\n"));
    s
}

/// GoBGP as the route reflector: VPNv4/VPNv6 and IPv4 unicast (no SAFI 74,
/// so the edges fall back to the loopback route with the Tunnel
/// Encapsulation attribute).
pub(crate) fn gobgp_config(rr: &Rr) -> String {
    let port = rr.port;
    let mut s = format!(
        r#"[global.config]
  as = 65000
  router-id = "192.0.2.101"
  port = {port}
  local-address-list = ["127.0.0.1"]
"#
    );
    for site in 1..=2 {
        s.push_str(&format!(
            r#"[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1{site}"
    peer-as = 65000
    auth-password = "edge{site}-secret"
  [neighbors.transport.config]
    passive-mode = true
    local-address = "127.0.0.1"
  [neighbors.route-reflector.config]
    route-reflector-client = true
    route-reflector-cluster-id = "192.0.2.101"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv6-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"#
        ));
    }
    s
}
