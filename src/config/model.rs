//! The configuration as written in TOML. See `examples/edge.toml`.
use ipnet::IpNet;
use serde::Deserialize;
use std::net::IpAddr;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeConfig {
    #[serde(default)]
    pub eal: EalConfig,
    #[serde(default)]
    pub dataplane: DataplaneConfig,
    #[serde(default, rename = "vrf")]
    pub vrfs: Vec<VrfConfig>,
    #[serde(rename = "port")]
    pub ports: Vec<PortConfig>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    #[serde(default, rename = "neighbor")]
    pub neighbors: Vec<NeighborConfig>,
    #[serde(default)]
    pub management: ManagementConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// SD-WAN identity (overlay): node id = loopback = BGP router id.
    /// (Not `Spanned`: a table defined implicitly, e.g. by `[[bgp.peer]]`
    /// without `[bgp]`, has no span; errors point at its keys instead.)
    #[serde(default)]
    pub node: Option<NodeConfig>,
    /// The edge's BGP speaker toward the route reflectors (overlay).
    #[serde(default)]
    pub bgp: Option<BgpConfig>,
    /// WAN ports: underlay ports the overlay tunnels start from.
    #[serde(default, rename = "wan")]
    pub wans: Vec<WanConfig>,
    /// Manually keyed peers (third-party IPsec gateways): static SAs and
    /// static client routes, no BGP, no key agreement.
    #[serde(default, rename = "static_peer")]
    pub static_peers: Vec<StaticPeerConfig>,
    /// Per-VRF flow rules: which underlay a flow may take (hybrid WAN).
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicyRuleConfig>,
}

/// `[[policy]]`: one flow rule of a client VRF (see `config::policy`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRuleConfig {
    pub vrf: Spanned<String>,
    /// Traffic class name.
    pub name: Spanned<String>,
    /// `private-only`, `encrypted-any`, `any` or `internet-breakout`.
    pub action: Spanned<String>,
    #[serde(default)]
    pub protocol: Option<Spanned<String>>,
    #[serde(default)]
    pub src: Option<Spanned<IpNet>>,
    #[serde(default)]
    pub dst: Option<Spanned<IpNet>>,
    #[serde(default)]
    pub src_ports: Option<Spanned<String>>,
    #[serde(default)]
    pub dst_ports: Option<Spanned<String>>,
    #[serde(default)]
    pub dscp: Option<Spanned<u8>>,
    #[serde(default)]
    pub flow_label: Option<Spanned<u32>>,
}

/// `[[static_peer]]`: one tunnel with statically configured SAs (RFC 4301
/// §4.5 manual keying) toward a gateway that speaks ESP-in-UDP with the
/// VRF's inner encapsulation (MPLS label, GRE key or VXLAN VNI).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticPeerConfig {
    pub name: Spanned<String>,
    /// The local `[[wan]]` id the tunnel leaves from.
    pub wan: Spanned<u32>,
    /// The peer's WAN address: outer destination, and the only source
    /// its ESP is accepted from.
    pub endpoint: Spanned<IpAddr>,
    /// NAT-T destination port (default 4500).
    #[serde(default)]
    pub udp_port: Option<Spanned<u16>>,
    /// `aes-gcm-128` (default) or `aes-gcm-256`.
    #[serde(default)]
    pub cipher: Option<Spanned<String>>,
    /// Extended sequence numbers (default true).
    #[serde(default)]
    pub esn: Option<bool>,
    /// Anti-replay window, 64..=4096 (default 1024); 0 turns anti-replay
    /// off (RFC 4303 §3.4.3), which needs `esn = false`.
    #[serde(default)]
    pub replay_window: Option<Spanned<u32>>,
    pub spi_out: Spanned<u32>,
    /// Hex: the AES key followed by the 4-byte salt (RFC 4106 §8.1).
    pub key_out: Spanned<String>,
    pub spi_in: Spanned<u32>,
    pub key_in: Spanned<String>,
    /// Client prefixes behind the peer.
    #[serde(default, rename = "route")]
    pub routes: Vec<StaticPeerRouteConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticPeerRouteConfig {
    pub vrf: Spanned<String>,
    pub prefix: Spanned<IpNet>,
    /// The peer's label / GRE key / VNI for this VRF (its decap key).
    pub label: Spanned<u32>,
}

/// DPDK EAL arguments (argv[0] and the port devices are added by us).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EalConfig {
    #[serde(default = "default_eal_args")]
    pub args: Vec<String>,
}

impl Default for EalConfig {
    fn default() -> Self {
        EalConfig {
            args: default_eal_args(),
        }
    }
}

fn default_eal_args() -> Vec<String> {
    ["--no-huge", "-m", "1024", "--no-pci", "--no-shconf"]
        .map(String::from)
        .to_vec()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataplaneConfig {
    /// Worker threads. Default: one per configured (port, queue). Fewer
    /// workers poll several queues each (round-robin); PMDs with few
    /// queues (net_pcap, net_null) need `workers = 1`.
    #[serde(default)]
    pub workers: Option<Spanned<u16>>,
    /// CPU cores the workers are pinned to, round-robin; empty: no pinning.
    #[serde(default = "default_cores")]
    pub cores: Spanned<Vec<usize>>,
    /// Empty polls in a row before a worker starts sleeping.
    #[serde(default = "default_idle_polls")]
    pub idle_polls_before_sleep: u32,
    /// Upper bound of an idle worker's sleep, in microseconds (1..=1000).
    #[serde(default = "default_max_sleep_spanned")]
    pub max_sleep_us: Spanned<u32>,
    /// Mbufs in the packet pool.
    #[serde(default = "default_mbufs")]
    pub mbufs: u32,
    #[serde(default = "default_desc")]
    pub rx_desc: u16,
    #[serde(default = "default_desc")]
    pub tx_desc: u16,
}

impl Default for DataplaneConfig {
    fn default() -> Self {
        DataplaneConfig {
            workers: None,
            cores: default_cores(),
            idle_polls_before_sleep: default_idle_polls(),
            max_sleep_us: default_max_sleep_spanned(),
            mbufs: default_mbufs(),
            rx_desc: default_desc(),
            tx_desc: default_desc(),
        }
    }
}

fn default_cores() -> Spanned<Vec<usize>> {
    Spanned::new(0..0, Vec::new())
}
fn default_max_sleep_spanned() -> Spanned<u32> {
    Spanned::new(0..0, default_max_sleep())
}
fn default_idle_polls() -> u32 {
    256
}
/// 250 µs: a 512-descriptor rx ring holds that long of a 2 Mpps burst
/// arriving while the worker sleeps (1 ms overflowed it in the overlay
/// benchmark); still only ~4,000 wake-ups a second when idle.
fn default_max_sleep() -> u32 {
    250
}
fn default_mbufs() -> u32 {
    8191
}
fn default_desc() -> u16 {
    512
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrfConfig {
    pub name: Spanned<String>,
    pub id: Spanned<u16>,
    /// Route Distinguisher of the VRF's client routes (`65000:101`,
    /// `10.255.0.1:1`); required when the overlay is configured.
    #[serde(default)]
    pub rd: Option<Spanned<String>>,
    /// Route Targets whose VPN routes are imported into this VRF (the
    /// expert form; alternative to `route_target` / `topology`).
    #[serde(default)]
    pub import: Vec<Spanned<String>>,
    /// Route Targets attached to our client routes (expert form).
    #[serde(default)]
    pub export: Vec<Spanned<String>>,
    /// `mesh` (default: every edge of the VPN reaches every other) or
    /// `hub-and-spoke` (spokes reach each other through the hub); the
    /// Route Targets follow from it (draft §3.1.3).
    #[serde(default)]
    pub topology: Option<Spanned<String>>,
    /// Mesh shorthand: import = export = this Route Target.
    #[serde(default)]
    pub route_target: Option<Spanned<String>>,
    /// Hub-and-spoke: `hub` or `spoke`.
    #[serde(default)]
    pub role: Option<Spanned<String>>,
    /// Hub-and-spoke: exported by the hub, imported by the spokes.
    #[serde(default)]
    pub hub_rt: Option<Spanned<String>>,
    /// Hub-and-spoke: exported by the spokes, imported by the hub.
    #[serde(default)]
    pub spoke_rt: Option<Spanned<String>>,
    /// Hub only: summary prefixes the hub advertises to the spokes (with
    /// `hub_rt`, next hop = the hub) so spoke-to-spoke traffic goes
    /// through it. Default `["0.0.0.0/0", "::/0"]`.
    #[serde(default)]
    pub hub_summary: Option<Spanned<Vec<Spanned<IpNet>>>>,
    /// Connected subnets of the VRF announced with their own Route Targets
    /// instead of the VRF's export ones (flow-based segmentation, draft
    /// §5.4); static routes use `[[route]] route_targets`.
    #[serde(default, rename = "export_prefix")]
    pub export_prefixes: Vec<ExportPrefixConfig>,
    /// VPN label (20 bits): pushed inside ESP, and the decap key of this VRF.
    #[serde(default)]
    pub label: Option<Spanned<u32>>,
    /// Color extended community of our client routes; default: none (a
    /// route without Color may use every tunnel, RFC 9012 §6).
    #[serde(default)]
    pub color: Option<Spanned<u32>>,
    /// Inner encapsulation: `mpls` (default), `gre` (key = label) or
    /// `vxlan` (VNI = label).
    #[serde(default)]
    pub encap: Option<Spanned<String>>,
}

/// `[[vrf.export_prefix]]`: one connected subnet with its own export
/// Route Targets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportPrefixConfig {
    pub prefix: Spanned<IpNet>,
    pub route_targets: Spanned<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// SD-WAN node id (IPv4 loopback), also the BGP router id.
    pub id: Spanned<std::net::Ipv4Addr>,
    pub asn: Spanned<u32>,
    /// TCP MSS written into SYNs entering a tunnel from a LAN port
    /// (lowered only, never raised); 0 turns clamping off. Default 1340:
    /// fits IPv4 and IPv6 clients over an IPv4 or IPv6 underlay with a
    /// 1500-byte WAN MTU.
    #[serde(default)]
    pub tcp_mss_clamp: Option<Spanned<u16>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgpConfig {
    #[serde(default)]
    pub hold_time: Option<Spanned<u16>>,
    #[serde(default, rename = "peer")]
    pub peers: Vec<BgpPeerConfig>,
}

/// A route reflector / controller the edge dials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgpPeerConfig {
    pub address: Spanned<IpAddr>,
    #[serde(default = "default_bgp_port")]
    pub port: Spanned<u16>,
    /// Default: `node.asn` (iBGP).
    #[serde(default)]
    pub remote_as: Option<u32>,
    /// TCP-MD5 key (RFC 2385).
    #[serde(default)]
    pub md5_key: Option<Spanned<String>>,
    /// Source address of the connection.
    #[serde(default)]
    pub local_address: Option<IpAddr>,
}

fn default_bgp_port() -> Spanned<u16> {
    Spanned::new(0..0, 179)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WanConfig {
    /// Name of the `[[port]]` used as underlay (in VRF `default`).
    pub port: Spanned<String>,
    /// Port-Local-ID (SAFI 74 NLRI, key derivation).
    pub id: Spanned<u32>,
    /// SD-WAN color of this port's tunnels.
    pub color: Spanned<u32>,
    /// `internet` (default) or `private`.
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    /// Address the peers send to; default: the port's first address.
    #[serde(default)]
    pub public_address: Option<Spanned<IpAddr>>,
    /// Underlay default gateway on this port.
    #[serde(default)]
    pub gateway: Option<Spanned<IpAddr>>,
    /// Internet breakout leaves through this (internet) port, source-NATed
    /// to its IPv4 address (`internet-breakout` policies).
    #[serde(default)]
    pub breakout: Option<Spanned<bool>>,
    /// Internet ports: packets per second one source may send to the
    /// port, per worker (default 100000; 0 turns the limit off).
    #[serde(default)]
    pub rate_limit_pps: Option<Spanned<u32>>,
    /// Internet ports: packets one source may send back to back
    /// (default 10000).
    #[serde(default)]
    pub rate_limit_burst: Option<Spanned<u32>>,
    /// Internet ports: management traffic to the port's addresses that is
    /// accepted besides ESP-in-UDP, echo and NDP (everything else is
    /// dropped as `wan_filtered`).
    #[serde(default)]
    pub allow: Vec<WanAllowConfig>,
}

/// `[[wan]] allow = [{ protocol = "tcp", port = 22, from = ["198.51.100.0/24"] }]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WanAllowConfig {
    /// `tcp` or `udp`.
    pub protocol: Spanned<String>,
    /// Destination port on our address.
    pub port: Spanned<u16>,
    /// Source prefixes admitted (`0.0.0.0/0` / `::/0` for any).
    pub from: Spanned<Vec<Spanned<IpNet>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// Our name for the port (`lan0`), used in routes, metrics and `show`.
    pub name: Spanned<String>,
    /// DPDK device: a vdev (`net_tap0,iface=sdlan0`) or a PCI address.
    /// An 802.1Q sub-interface has `parent` and `vlan` instead.
    #[serde(default)]
    pub device: Option<Spanned<String>>,
    /// 802.1Q sub-interface: the physical `[[port]]` it rides on (it uses
    /// that port's MAC and queues).
    #[serde(default)]
    pub parent: Option<Spanned<String>>,
    /// 802.1Q sub-interface: its VLAN ID on `parent`, 1..=4094.
    #[serde(default)]
    pub vlan: Option<Spanned<i64>>,
    /// VRF the port belongs to; `default` (id 0) when absent.
    #[serde(default)]
    pub vrf: Option<Spanned<String>>,
    /// Our addresses with their subnet length (`10.1.0.1/24`).
    #[serde(default)]
    pub addresses: Vec<IpNet>,
    /// Receive queues, each polled by its own worker (default 1; physical
    /// ports only).
    #[serde(default)]
    pub queues: Option<Spanned<u16>>,
    /// IP MTU; default 1500 (a sub-interface: its parent's, and at most
    /// that).
    #[serde(default)]
    pub mtu: Option<u16>,
    /// MAC address to set on the port (`02:00:00:00:00:01`); default: the
    /// device's own. Not on a sub-interface (it uses its parent's).
    #[serde(default)]
    pub mac: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    #[serde(default)]
    pub vrf: Option<Spanned<String>>,
    pub prefix: Spanned<IpNet>,
    /// Gateway address; must lie in a connected subnet of the VRF.
    #[serde(default)]
    pub via: Option<IpAddr>,
    /// Egress port (required for a directly connected route without `via`).
    #[serde(default)]
    pub port: Option<Spanned<String>>,
    /// Discard matching traffic (counted as `blackhole`).
    #[serde(default)]
    pub blackhole: bool,
    /// Overlay: announce this client route with these Route Targets
    /// instead of its VRF's export ones (flow-based segmentation, draft
    /// §5.4: only the edges that import them, and that the route
    /// reflector authorizes, learn it).
    #[serde(default)]
    pub route_targets: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A static ARP / NDP entry (never expires).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeighborConfig {
    pub port: Spanned<String>,
    pub ip: IpAddr,
    pub mac: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagementConfig {
    /// `127.0.0.1:9900` or `unix:/run/sdwan.sock`.
    #[serde(default = "default_mgmt_spanned")]
    pub listen: Spanned<String>,
}

impl Default for ManagementConfig {
    fn default() -> Self {
        ManagementConfig {
            listen: default_mgmt_spanned(),
        }
    }
}

fn default_mgmt_spanned() -> Spanned<String> {
    Spanned::new(0..0, default_mgmt())
}

pub fn default_mgmt() -> String {
    "127.0.0.1:9900".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Separate listener for Prometheus `/metrics`; the management listener
    /// serves `/metrics` too.
    #[serde(default)]
    pub listen: Option<Spanned<String>>,
}
