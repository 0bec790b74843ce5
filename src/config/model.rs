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
fn default_max_sleep() -> u32 {
    1000
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// Our name for the port (`lan0`), used in routes, metrics and `show`.
    pub name: Spanned<String>,
    /// DPDK device: a vdev (`net_tap0,iface=sdlan0`) or a PCI address.
    pub device: Spanned<String>,
    /// VRF the port belongs to; `default` (id 0) when absent.
    #[serde(default)]
    pub vrf: Option<Spanned<String>>,
    /// Our addresses with their subnet length (`10.1.0.1/24`).
    #[serde(default)]
    pub addresses: Vec<IpNet>,
    /// Receive queues, each polled by its own worker.
    #[serde(default = "default_queues")]
    pub queues: Spanned<u16>,
    #[serde(default)]
    pub mtu: Option<u16>,
    /// MAC address to set on the port (`02:00:00:00:00:01`); default: the
    /// device's own.
    #[serde(default)]
    pub mac: Option<Spanned<String>>,
}

fn default_queues() -> Spanned<u16> {
    Spanned::new(0..0, 1)
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
