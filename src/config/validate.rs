//! Semantic checks that serde cannot do: names unique and referenced ones
//! defined, gateways reachable, cores present, bounds. Produces the
//! [`Resolved`] form the edge runs from; nothing starts unless this passes.
use super::error::ConfigError;
use super::model::*;
use super::ports::PortsCx;
pub use super::ports::ResolvedPort;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Where a listener listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Listen {
    pub fn parse(s: &str) -> Result<Listen, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a socket path".into());
            }
            return Ok(Listen::Unix(PathBuf::from(path)));
        }
        s.parse::<SocketAddr>()
            .map(Listen::Tcp)
            .map_err(|_| format!("{s:?} is neither IP:PORT nor unix:/path"))
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Tcp(a) => write!(f, "{a}"),
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticNeighbor {
    pub port: u16,
    pub ip: IpAddr,
    pub mac: [u8; 6],
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteNextHop {
    Connected { port: u16 },
    Gateway { port: u16, via: IpAddr },
    Blackhole,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRoute {
    pub vrf: u16,
    pub prefix: IpNet,
    pub next_hop: RouteNextHop,
}

#[derive(Debug, Clone)]
pub struct Resolved {
    /// Full EAL argv: program name, configured args, then one `--vdev` or
    /// `-a` per port in port order (so vdev port ids follow port order).
    pub eal_args: Vec<String>,
    /// Physical ports first (index = the DPDK-opened port, see
    /// [`Resolved::physical_count`]), then 802.1Q sub-interfaces.
    pub ports: Vec<ResolvedPort>,
    pub vrfs: Vec<(String, u16)>,
    pub routes: Vec<ResolvedRoute>,
    pub neighbors: Vec<StaticNeighbor>,
    pub workers: usize,
    pub cores: Vec<usize>,
    pub idle_polls_before_sleep: u32,
    pub max_sleep_us: u32,
    pub mbufs: u32,
    pub rx_desc: u16,
    pub tx_desc: u16,
    pub management: Listen,
    pub metrics: Option<Listen>,
    /// The SD-WAN overlay (`[node]`, `[bgp]`, `[[wan]]`, VRF VPN fields);
    /// `None` for a plain router config.
    pub overlay: Option<super::overlay::OverlayConfig>,
}

impl Resolved {
    pub fn port_index(&self, name: &str) -> Option<u16> {
        self.ports
            .iter()
            .position(|p| p.name == name)
            .map(|i| i as u16)
    }
    pub fn vrf_name(&self, id: u16) -> &str {
        self.vrfs
            .iter()
            .find(|(_, v)| *v == id)
            .map_or("?", |(n, _)| n.as_str())
    }
    /// Physical ports: `ports[..physical_count()]`; the rest are
    /// sub-interfaces.
    pub fn physical_count(&self) -> usize {
        self.ports.iter().take_while(|p| p.vlan.is_none()).count()
    }
    /// The physical port that carries port `i` on the wire: `i` itself, or
    /// a sub-interface's parent.
    pub fn wire_port(&self, i: usize) -> usize {
        self.ports
            .get(i)
            .and_then(|p| p.vlan)
            .map_or(i, |v| usize::from(v.parent))
    }
    /// Number of worker threads (by default one per configured (port,
    /// rx queue)).
    pub fn worker_count(&self) -> usize {
        self.workers
    }

    /// Rx (= tx) queues to configure on port `i`: one tx queue per worker
    /// (each worker owns one on every port) and as many rx queues, since
    /// some PMDs (TAP) demand equal counts, or more if configured.
    pub fn port_queue_count(&self, i: usize) -> u16 {
        (self.ports[i].queues as usize).max(self.workers) as u16
    }
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: std::ops::Range<usize>,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) -> ConfigError {
        ConfigError::at(self.path, self.text, span.start, field, msg)
    }
}

pub fn validate(raw: EdgeConfig, path: &Path, text: &str) -> Result<Resolved, ConfigError> {
    let cx = Ctx { path, text };

    // VRFs: `default` = 0 always exists.
    let mut vrfs: Vec<(String, u16)> = vec![("default".into(), 0)];
    for (i, v) in raw.vrfs.iter().enumerate() {
        let name = v.name.get_ref();
        if name.is_empty() {
            return Err(cx.err(v.name.span(), format!("vrf[{i}].name"), "must not be empty"));
        }
        if vrfs.iter().any(|(n, _)| n == name) {
            return Err(cx.err(
                v.name.span(),
                format!("vrf[{i}].name"),
                format!("VRF {name:?} defined twice"),
            ));
        }
        if vrfs.iter().any(|(_, id)| id == v.id.get_ref()) {
            return Err(cx.err(
                v.id.span(),
                format!("vrf[{i}].id"),
                format!("VRF id {} already used", v.id.get_ref()),
            ));
        }
        vrfs.push((name.clone(), *v.id.get_ref()));
    }
    let vrf_id = |s: &Option<toml::Spanned<String>>,
                  field: String|
     -> Result<(u16, String), ConfigError> {
        match s {
            None => Ok((0, "default".into())),
            Some(sp) => vrfs
                .iter()
                .find(|(n, _)| n == sp.get_ref())
                .map(|(n, id)| (*id, n.clone()))
                .ok_or_else(|| cx.err(sp.span(), field, format!("unknown VRF {:?}", sp.get_ref()))),
        }
    };

    if raw.ports.is_empty() {
        return Err(ConfigError::at(
            path,
            text,
            0,
            "port",
            "at least one [[port]] is required",
        ));
    }
    let pcx = PortsCx {
        path,
        text,
        vrfs: &vrfs,
    };
    let ports = super::ports::resolve(&pcx, &raw.ports)?;
    super::ports::check_unique_addresses(&pcx, &raw.ports, &ports)?;

    let mut routes = Vec::new();
    for (i, r) in raw.routes.iter().enumerate() {
        let field = |f: &str| format!("route[{i}].{f}");
        let (vrf, vrf_name) = vrf_id(&r.vrf, field("vrf"))?;
        let prefix = r.prefix.get_ref().trunc();
        let port = match &r.port {
            None => None,
            Some(sp) => {
                let idx = ports
                    .iter()
                    .position(|p| &p.name == sp.get_ref())
                    .ok_or_else(|| {
                        cx.err(
                            sp.span(),
                            field("port"),
                            format!("unknown port {:?}", sp.get_ref()),
                        )
                    })?;
                if ports[idx].vrf != vrf {
                    return Err(cx.err(
                        sp.span(),
                        field("port"),
                        format!(
                            "port {:?} is in VRF {:?}, route in {vrf_name:?}",
                            sp.get_ref(),
                            ports[idx].vrf_name
                        ),
                    ));
                }
                Some(idx as u16)
            }
        };
        let next_hop = route_next_hop(&ports, vrf, prefix, r.via, port, r.blackhole)
            .map_err(|(f, m)| cx.err(r.prefix.span(), field(f), m))?;
        let route = ResolvedRoute {
            vrf,
            prefix,
            next_hop,
        };
        if routes
            .iter()
            .any(|x: &ResolvedRoute| x.vrf == vrf && x.prefix == prefix)
        {
            return Err(cx.err(
                r.prefix.span(),
                field("prefix"),
                format!("{prefix} in VRF {vrf_name:?} defined twice"),
            ));
        }
        routes.push(route);
    }

    let mut neighbors = Vec::new();
    for (i, n) in raw.neighbors.iter().enumerate() {
        let port = ports
            .iter()
            .position(|p| &p.name == n.port.get_ref())
            .ok_or_else(|| {
                cx.err(
                    n.port.span(),
                    format!("neighbor[{i}].port"),
                    format!("unknown port {:?}", n.port.get_ref()),
                )
            })?;
        let mac = parse_mac(n.mac.get_ref())
            .filter(|m| m[0] & 1 == 0)
            .ok_or_else(|| {
                cx.err(
                    n.mac.span(),
                    format!("neighbor[{i}].mac"),
                    format!("{:?} is not a unicast MAC address", n.mac.get_ref()),
                )
            })?;
        neighbors.push(StaticNeighbor {
            port: port as u16,
            ip: n.ip,
            mac,
        });
    }

    let dp = &raw.dataplane;
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    for &c in dp.cores.get_ref() {
        if c >= ncpu {
            return Err(cx.err(
                dp.cores.span(),
                "dataplane.cores",
                format!("core {c} does not exist (this machine has {ncpu})"),
            ));
        }
    }
    let configured_queues: usize = ports.iter().map(|p| p.queues as usize).sum();
    let workers = match &dp.workers {
        None => configured_queues,
        Some(w) if (1..=64).contains(w.get_ref()) => *w.get_ref() as usize,
        Some(w) => return Err(cx.err(w.span(), "dataplane.workers", "must be 1..=64")),
    };
    let max_sleep = *dp.max_sleep_us.get_ref();
    if !(1..=1000).contains(&max_sleep) {
        return Err(cx.err(
            dp.max_sleep_us.span(),
            "dataplane.max_sleep_us",
            "must be 1..=1000",
        ));
    }
    if dp.mbufs < 1024 {
        return Err(ConfigError::at(
            path,
            text,
            0,
            "dataplane.mbufs",
            "must be at least 1024",
        ));
    }

    let management = Listen::parse(raw.management.listen.get_ref())
        .map_err(|m| cx.err(raw.management.listen.span(), "management.listen", m))?;
    let metrics = match &raw.metrics.listen {
        None => None,
        Some(sp) => {
            Some(Listen::parse(sp.get_ref()).map_err(|m| cx.err(sp.span(), "metrics.listen", m))?)
        }
    };

    let overlay = super::overlay::validate(&raw, &ports, path, text)?;
    if workers > 1
        && overlay
            .as_ref()
            .is_some_and(|o| !o.policy.breakout.is_empty())
    {
        // Each worker owns its NAT mappings; return traffic is not yet
        // steered to the worker that made the mapping.
        let span = dp.workers.as_ref().map_or(0..0, |w| w.span());
        return Err(cx.err(
            span,
            "dataplane.workers",
            format!("internet-breakout needs workers = 1 (have {workers}): breakout return traffic is not steered to the worker owning its NAT mapping yet"),
        ));
    }

    let mut eal_args = vec!["sdwan".to_string()];
    for a in &raw.eal.args {
        if a.starts_with("--vdev") || a == "-a" || a.starts_with("--allow") {
            return Err(ConfigError::at(
                path,
                text,
                0,
                "eal.args",
                format!("{a:?}: devices are declared with [[port]] device = ..., not in eal.args"),
            ));
        }
        eal_args.push(a.clone());
    }
    for p in ports.iter().filter(|p| p.vlan.is_none()) {
        if p.is_vdev {
            eal_args.push(format!("--vdev={}", p.device));
        } else {
            eal_args.push("-a".into());
            eal_args.push(p.device.clone());
        }
    }

    Ok(Resolved {
        eal_args,
        ports,
        vrfs,
        routes,
        neighbors,
        workers,
        cores: dp.cores.get_ref().clone(),
        idle_polls_before_sleep: dp.idle_polls_before_sleep,
        max_sleep_us: max_sleep,
        mbufs: dp.mbufs,
        rx_desc: dp.rx_desc,
        tx_desc: dp.tx_desc,
        management,
        metrics,
        overlay,
    })
}

/// Checks a route's next-hop fields against the ports (shared by the config
/// file and the management API). Errors are (field, message).
pub fn route_next_hop(
    ports: &[ResolvedPort],
    vrf: u16,
    prefix: IpNet,
    via: Option<IpAddr>,
    port: Option<u16>,
    blackhole: bool,
) -> Result<RouteNextHop, (&'static str, String)> {
    let vrf_name = || {
        ports
            .iter()
            .find(|p| p.vrf == vrf)
            .map_or_else(|| format!("#{vrf}"), |p| p.vrf_name.clone())
    };
    match (blackhole, via, port) {
        (true, None, None) => Ok(RouteNextHop::Blackhole),
        (true, _, _) => Err((
            "blackhole",
            "a blackhole route takes neither via nor port".into(),
        )),
        (false, None, Some(port)) => Ok(RouteNextHop::Connected { port }),
        (false, None, None) => Err(("via", "needs `via`, `port` or `blackhole = true`".into())),
        (false, Some(via), port) => {
            if via.is_ipv4() != prefix.addr().is_ipv4() {
                return Err((
                    "via",
                    "gateway and prefix are of different IP versions".into(),
                ));
            }
            let found = ports
                .iter()
                .enumerate()
                .filter(|(_, p)| p.vrf == vrf)
                .find(|(_, p)| p.addresses.iter().any(|a| a.trunc().contains(&via)))
                .map(|(idx, _)| idx as u16);
            let link_local = matches!(via, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
            match (port, found) {
                (Some(p), _) if link_local => Ok(RouteNextHop::Gateway { port: p, via }),
                (Some(p), Some(f)) if p == f => Ok(RouteNextHop::Gateway { port: p, via }),
                (None, Some(f)) => Ok(RouteNextHop::Gateway { port: f, via }),
                _ => Err((
                    "via",
                    format!(
                        "gateway {via} is not in a connected subnet of VRF {:?}{}",
                        vrf_name(),
                        port.map_or(String::new(), |p| format!(
                            " on port {:?}",
                            ports[p as usize].name
                        ))
                    ),
                )),
            }
        }
    }
}
