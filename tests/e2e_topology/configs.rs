//! The configs of the topology end-to-end test: three edges (1 = hub,
//! 2 = spoke1, a store, 3 = spoke2, an office), each with VRF "corp" (a
//! mesh) and VRF "pos" (hub-and-spoke), and `sdwan controller` whose peer
//! groups authorize the payment gateway's Route Target for the store only.

/// Namespace / interface prefix of this test.
pub(crate) const PREFIX: &str = "tp";
/// The controller's BGP and management ports.
pub(crate) const RR_PORT: u16 = 19300;
pub(crate) const RR_API: &str = "127.0.0.1:19301";
/// The payment gateway's prefix (hub, corp) and its Route Target.
pub(crate) const PAYMENT: &str = "10.99.0.0/24";
pub(crate) const PAYMENT_HOST: &str = "10.99.0.2";
pub(crate) const PAYMENT_RT: &str = "65000:900";

pub(crate) fn edge_api(site: u8) -> String {
    format!("127.0.0.1:{}", 19310 + u16::from(site))
}

/// [wan, corp, pos] TAP names of edge `site`.
pub(crate) fn taps(site: u8) -> [String; 3] {
    ["w", "c", "p"].map(|k| format!("{PREFIX}{site}{k}"))
}

/// The BGP source address of edge `site`.
fn bgp_source(site: u8) -> String {
    format!("127.0.0.3{site}")
}

/// `[[vrf]]` corp of edge `site`: the hub uses the mesh shorthand, both
/// spokes the expert form importing the payment gateway's RT too (spoke2
/// imports it but is not authorized: the reflector must keep it away).
fn corp(site: u8) -> String {
    let rts = if site == 1 {
        "route_target = \"65000:1\"".to_string()
    } else {
        format!("import = [\"65000:1\", \"{PAYMENT_RT}\"]\nexport = [\"65000:1\"]")
    };
    format!("[[vrf]]\nname = \"corp\"\nid = 1\nrd = \"65000:{site}1\"\n{rts}\nlabel = 1{site}01\n")
}

fn pos(site: u8) -> String {
    let role = if site == 1 { "hub" } else { "spoke" };
    format!(
        "[[vrf]]\nname = \"pos\"\nid = 2\nrd = \"65000:{site}2\"\ntopology = \"hub-and-spoke\"\nrole = \"{role}\"\nhub_rt = \"65000:21\"\nspoke_rt = \"65000:22\"\nlabel = 1{site}02\n"
    )
}

pub(crate) fn edge_config(site: u8) -> String {
    let [wan, corp_tap, pos_tap] = taps(site);
    let api = edge_api(site);
    let src = bgp_source(site);
    let (corp, pos) = (corp(site), pos(site));
    // The payment gateway, behind the hub's corp client.
    let payment = if site == 1 {
        format!("\n[[route]]\nvrf = \"corp\"\nprefix = \"{PAYMENT}\"\nvia = \"10.1.0.2\"\nroute_targets = [\"{PAYMENT_RT}\"]\n")
    } else {
        String::new()
    };
    format!(
        r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix={PREFIX}{site}", "--log-level=notice"]

[dataplane]
workers = 1

[node]
id = "10.255.0.{site}"
asn = 65000

[bgp]
hold_time = 30

[[bgp.peer]]
address = "127.0.0.1"
port = {RR_PORT}
md5_key = "edge{site}-secret"
local_address = "{src}"

[[wan]]
port = "wan0"
id = 1
color = 100

{corp}
{pos}
[[port]]
name = "wan0"
device = "net_tap0,iface={wan}"
mac = "02:7b:0{site}:00:00:01"
addresses = ["203.0.113.{site}/24"]

[[port]]
name = "corp0"
device = "net_tap1,iface={corp_tap}"
vrf = "corp"
mac = "02:7b:0{site}:00:00:02"
addresses = ["10.{site}.0.1/24", "fd00:{site}::1/64"]

[[port]]
name = "pos0"
device = "net_tap2,iface={pos_tap}"
vrf = "pos"
mac = "02:7b:0{site}:00:00:03"
addresses = ["10.{site}.0.1/24", "fd00:{site}::1/64"]
{payment}
[management]
listen = "{api}"
"#
    )
}

/// Peer groups: the hub receives the mesh and the spokes' pos routes; the
/// store the mesh, the hub's pos routes and the payment gateway; the
/// office the same without the payment gateway.
pub(crate) fn controller_config() -> String {
    let mut s = format!(
        r#"
[bgp]
router_id = "192.0.2.100"
asn = 65000
listen_address = "127.0.0.1"
listen_port = {RR_PORT}
hold_time = 30

[[bgp.peer_groups]]
name = "hub"
route_targets = ["65000:1", "65000:22"]

[[bgp.peer_groups]]
name = "stores"
route_targets = ["65000:1", "65000:21", "{PAYMENT_RT}"]

[[bgp.peer_groups]]
name = "offices"
route_targets = ["65000:1", "65000:21"]
"#
    );
    for (site, group) in [(1u8, "hub"), (2, "stores"), (3, "offices")] {
        let src = bgp_source(site);
        s.push_str(&format!(
            r#"
[[bgp.peers]]
address = "{src}"
remote_as = 65000
md5_key = "edge{site}-secret"
peer_group = "{group}"
passive = true
families = ["vpnv4", "vpnv6", "sdwan-v4", "ipv4-unicast"]
"#
        ));
    }
    s.push_str(&format!("\n[management]\nlisten = \"{RR_API}\"\n"));
    s
}
