//! Checks of the overlay sections (`[node]`, `[bgp]`, `[[wan]]` and the
//! VPN fields of `[[vrf]]`, see the overlay contract §1) and their
//! resolved form. A config without any of them has no overlay and is
//! unchanged; with one of them, all must be consistent: one node id,
//! distinct RDs / labels / WAN ids / WAN colors, WAN ports in VRF
//! `default`, client ports in client VRFs.
use super::error::ConfigError;
use super::model::EdgeConfig;
use super::topology::{prefix_rts, vrf_rts, Topology};
use super::validate::ResolvedPort;
use sdwan_bgp::config::RouteTarget;
use sdwan_bgp::wire::{ExtCommunity, Prefix, Rd};
use sdwan_dataplane::pipeline::WanGuard;
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// MPLS labels 0..=15 are reserved (RFC 3032 §2.1).
const MIN_LABEL: u32 = 16;
const MAX_LABEL: u32 = (1 << 20) - 1;

/// The VPN encapsulation inside ESP of one VRF.
/// Default `node.tcp_mss_clamp`: 1500 − IPv6 outer (40) − UDP (8) − ESP
/// with IV and ICV (32) − padding and trailer (≤ 5) − MPLS (4) − IPv6 and
/// TCP headers of the client (60), rounded down.
const DEFAULT_MSS_CLAMP: u16 = 1340;
/// RFC 879 / RFC 8200 lower bounds: no sane clamp goes below 536.
const MIN_MSS: u16 = 536;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VrfEncap {
    Mpls,
    Gre,
    Vxlan,
}

impl VrfEncap {
    pub fn as_str(self) -> &'static str {
        match self {
            VrfEncap::Mpls => "mpls",
            VrfEncap::Gre => "gre",
            VrfEncap::Vxlan => "vxlan",
        }
    }
}

/// `internet`: always ESP, and the port is guarded (only ESP-in-UDP,
/// echo, NDP and allowed management traffic to us, per-source rate
/// limit; see `wan_guard`); `private`: a private underlay (MPLS VPN,
/// leased line), not guarded, whose tunnels may also carry flows
/// natively, unencrypted, when their `[[policy]]` allows it (draft §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WanKind {
    Internet,
    Private,
}

impl WanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WanKind::Internet => "internet",
            WanKind::Private => "private",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpPeer {
    pub address: IpAddr,
    pub port: u16,
    pub remote_as: u32,
    pub md5_key: Option<String>,
    pub local_address: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedWan {
    /// Our port index.
    pub port: u16,
    pub port_name: String,
    /// Port-Local-ID.
    pub id: u32,
    pub color: u32,
    pub kind: WanKind,
    /// What we advertise as the tunnel egress endpoint.
    pub public_address: IpAddr,
    /// The port's own addresses (outer source by family).
    pub addresses: Vec<IpAddr>,
    pub gateway: Option<IpAddr>,
    /// Internet ports: what the port admits and the per-source rate
    /// limit (`None` on private ports).
    pub guard: Option<WanGuard>,
}

impl ResolvedWan {
    /// Our outer source address toward a peer address of this family.
    pub fn source_for(&self, remote: IpAddr) -> Option<IpAddr> {
        if self.public_address.is_ipv4() == remote.is_ipv4()
            && self.addresses.contains(&self.public_address)
        {
            return Some(self.public_address);
        }
        self.addresses
            .iter()
            .copied()
            .find(|a| a.is_ipv4() == remote.is_ipv4())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayVrf {
    pub name: String,
    pub id: u16,
    pub rd: Rd,
    /// Mesh or hub-and-spoke (hub: a transit VRF), see `topology.rs`.
    pub topology: Topology,
    pub import: Vec<RouteTarget>,
    pub export: Vec<RouteTarget>,
    /// Prefixes announced with their own Route Targets instead of
    /// `export` (`[[route]] route_targets`, `[[vrf.export_prefix]]`).
    pub prefix_rts: BTreeMap<Prefix, Vec<RouteTarget>>,
    /// Hub only: summary routes originated with `export` (`hub_summary`).
    pub summaries: Vec<Prefix>,
    pub label: u32,
    pub color: Option<u32>,
    pub encap: VrfEncap,
}

impl OverlayVrf {
    /// The Route Targets our route for `prefix` carries.
    pub fn export_rts(&self, prefix: &Prefix) -> &[RouteTarget] {
        self.prefix_rts.get(prefix).unwrap_or(&self.export)
    }
}

/// Everything the overlay control plane runs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayConfig {
    pub node_id: Ipv4Addr,
    pub asn: u32,
    /// TCP MSS clamp on LAN → tunnel SYNs (`None`: off).
    pub mss_clamp: Option<u16>,
    pub hold_time: u16,
    pub peers: Vec<BgpPeer>,
    pub wans: Vec<ResolvedWan>,
    pub vrfs: Vec<OverlayVrf>,
    /// Manually keyed tunnels (`[[static_peer]]`).
    pub static_peers: Vec<super::static_peer::StaticPeer>,
    /// Flow rules and breakout (`[[policy]]`).
    pub policy: super::policy::PolicyConfig,
}

impl OverlayConfig {
    /// Every export Route Target of the edge (the VRFs' and the
    /// per-prefix ones), sorted, without duplicates: the WAN routes carry
    /// them so every edge that may receive a client route of ours also
    /// receives the tunnels to reach it.
    pub fn all_export_rts(&self) -> Vec<RouteTarget> {
        let mut v: Vec<RouteTarget> = self
            .vrfs
            .iter()
            .flat_map(|v| v.export.iter().chain(v.prefix_rts.values().flatten()))
            .copied()
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn wan_by_id(&self, id: u32) -> Option<&ResolvedWan> {
        self.wans.iter().find(|w| w.id == id)
    }
}

pub(super) struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Cx<'_> {
    pub(super) fn err(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        m: impl Into<String>,
    ) -> ConfigError {
        ConfigError::at(self.path, self.text, span.start, field, m)
    }
}

/// The first span of an overlay-only key, to point at when `[node]` is
/// missing.
fn first_overlay_key(raw: &EdgeConfig) -> Option<(Range<usize>, String)> {
    if let Some(b) = &raw.bgp {
        let span = b
            .peers
            .first()
            .map(|p| p.address.span())
            .or_else(|| b.hold_time.as_ref().map(Spanned::span))
            .unwrap_or(0..0);
        return Some((span, "bgp".into()));
    }
    if let Some(w) = raw.wans.first() {
        return Some((w.port.span(), "wan[0].port".into()));
    }
    if let Some(p) = raw.static_peers.first() {
        return Some((p.name.span(), "static_peer[0]".into()));
    }
    for (i, v) in raw.vrfs.iter().enumerate() {
        let keys: [(Option<Range<usize>>, &str); 13] = [
            (v.rd.as_ref().map(Spanned::span), "rd"),
            (v.import.first().map(Spanned::span), "import"),
            (v.export.first().map(Spanned::span), "export"),
            (v.label.as_ref().map(Spanned::span), "label"),
            (v.color.as_ref().map(Spanned::span), "color"),
            (v.encap.as_ref().map(Spanned::span), "encap"),
            (v.topology.as_ref().map(Spanned::span), "topology"),
            (v.route_target.as_ref().map(Spanned::span), "route_target"),
            (v.role.as_ref().map(Spanned::span), "role"),
            (v.hub_rt.as_ref().map(Spanned::span), "hub_rt"),
            (v.spoke_rt.as_ref().map(Spanned::span), "spoke_rt"),
            (v.hub_summary.as_ref().map(Spanned::span), "hub_summary"),
            (
                v.export_prefixes.first().map(|e| e.prefix.span()),
                "export_prefix",
            ),
        ];
        if let Some((Some(span), k)) = keys.into_iter().find(|(s, _)| s.is_some()) {
            return Some((span, format!("vrf[{i}].{k}")));
        }
    }
    for (j, r) in raw.routes.iter().enumerate() {
        if let Some(l) = &r.route_targets {
            return Some((l.span(), format!("route[{j}].route_targets")));
        }
    }
    None
}

/// Validates the overlay sections against the already resolved ports.
/// `Ok(None)`: no overlay configured.
pub fn validate(
    raw: &EdgeConfig,
    ports: &[ResolvedPort],
    path: &Path,
    text: &str,
) -> Result<Option<OverlayConfig>, ConfigError> {
    let cx = Cx { path, text };
    let Some(node) = &raw.node else {
        return match first_overlay_key(raw) {
            Some((span, field)) => Err(cx.err(
                span,
                field,
                "overlay settings need a [node] section (id, asn)",
            )),
            None => Ok(None),
        };
    };
    let node_span = node.id.span();
    let node_id = *node.id.get_ref();
    if node_id.is_unspecified() || node_id.is_multicast() || node_id.is_broadcast() {
        return Err(cx.err(
            node.id.span(),
            "node.id",
            format!("{node_id} is not a usable node id (unicast IPv4 loopback)"),
        ));
    }
    let asn = *node.asn.get_ref();
    if asn == 0 {
        return Err(cx.err(node.asn.span(), "node.asn", "AS 0 is reserved"));
    }
    let mss_clamp = match &node.tcp_mss_clamp {
        None => Some(DEFAULT_MSS_CLAMP),
        Some(m) if *m.get_ref() == 0 => None,
        Some(m) if *m.get_ref() < MIN_MSS => {
            return Err(cx.err(
                m.span(),
                "node.tcp_mss_clamp",
                format!(
                    "{} is below the minimum TCP MSS {MIN_MSS} (0 turns clamping off)",
                    m.get_ref()
                ),
            ))
        }
        Some(m) => Some(*m.get_ref()),
    };

    let Some(bgp) = &raw.bgp else {
        return Err(cx.err(
            node_span,
            "bgp",
            "the overlay needs a [bgp] section with at least one [[bgp.peer]]",
        ));
    };
    let bgp_span = bgp
        .hold_time
        .as_ref()
        .map_or_else(|| node_span.clone(), Spanned::span);
    let hold_time = match &bgp.hold_time {
        None => 90,
        Some(h) if *h.get_ref() == 0 || *h.get_ref() >= 3 => *h.get_ref(),
        Some(h) => {
            return Err(cx.err(
                h.span(),
                "bgp.hold_time",
                "must be 0 or at least 3 (RFC 4271 §4.2)",
            ))
        }
    };
    if bgp.peers.is_empty() {
        return Err(cx.err(
            bgp_span,
            "bgp.peer",
            "at least one [[bgp.peer]] is required",
        ));
    }
    let mut peers = Vec::new();
    for (i, p) in bgp.peers.iter().enumerate() {
        let address = *p.address.get_ref();
        if peers.iter().any(|q: &BgpPeer| q.address == address) {
            return Err(cx.err(
                p.address.span(),
                format!("bgp.peer[{i}].address"),
                format!("peer {address} configured twice"),
            ));
        }
        if *p.port.get_ref() == 0 {
            return Err(cx.err(
                p.port.span(),
                format!("bgp.peer[{i}].port"),
                "must be 1..=65535",
            ));
        }
        if let Some(k) = &p.md5_key {
            // Linux TCP_MD5SIG_MAXKEYLEN.
            if k.get_ref().is_empty() || k.get_ref().len() > 80 {
                return Err(cx.err(
                    k.span(),
                    format!("bgp.peer[{i}].md5_key"),
                    "must be 1..=80 bytes",
                ));
            }
        }
        peers.push(BgpPeer {
            address,
            port: *p.port.get_ref(),
            remote_as: p.remote_as.unwrap_or(asn),
            md5_key: p.md5_key.as_ref().map(|k| k.get_ref().clone()),
            local_address: p.local_address,
        });
    }

    let wans = validate_wans(&cx, raw, ports, node_span.clone())?;
    let vrfs = validate_vrfs(&cx, raw, ports, &wans)?;
    super::topology::check_underlay_routes(&cx, raw)?;
    let static_peers = super::static_peer::validate(path, text, &raw.static_peers, &wans, &vrfs)?;
    let mut breakout_wan = None;
    for (i, w) in raw.wans.iter().enumerate() {
        if let Some(b) = w.breakout.as_ref().filter(|b| *b.get_ref()) {
            if breakout_wan.is_some() {
                return Err(cx.err(
                    b.span(),
                    format!("wan[{i}].breakout"),
                    "only one [[wan]] can be the breakout port",
                ));
            }
            breakout_wan = Some((*w.id.get_ref(), b.span()));
        }
    }
    let policy = super::policy::validate(path, text, &raw.policies, &vrfs, &wans, breakout_wan)?;

    // Every port is either a WAN port (VRF default) or a client port of an
    // overlay VRF; a physical port without addresses that only carries
    // 802.1Q sub-interfaces (a trunk) is neither.
    for (i, p) in ports.iter().enumerate() {
        let is_wan = wans.iter().any(|w| w.port as usize == i);
        let is_trunk = p.addresses.is_empty()
            && ports
                .iter()
                .any(|s| s.vlan.is_some_and(|v| usize::from(v.parent) == i));
        if p.vrf == 0 && !is_wan && !is_trunk {
            let at = raw
                .ports
                .iter()
                .position(|r| r.name.get_ref() == &p.name)
                .unwrap_or(0);
            return Err(cx.err(
                raw.ports[at].name.span(),
                format!("port[{at}].vrf"),
                format!(
                    "port {:?} is in VRF \"default\", the underlay: with an overlay, a LAN port belongs to a client [[vrf]] (or make it a [[wan]])",
                    p.name
                ),
            ));
        }
    }

    Ok(Some(OverlayConfig {
        node_id,
        asn,
        mss_clamp,
        hold_time,
        peers,
        wans,
        vrfs,
        static_peers,
        policy,
    }))
}

fn validate_wans(
    cx: &Cx<'_>,
    raw: &EdgeConfig,
    ports: &[ResolvedPort],
    node_span: Range<usize>,
) -> Result<Vec<ResolvedWan>, ConfigError> {
    if raw.wans.is_empty() {
        return Err(cx.err(
            node_span,
            "wan",
            "the overlay needs at least one [[wan]] port",
        ));
    }
    let mut wans: Vec<ResolvedWan> = Vec::new();
    for (i, w) in raw.wans.iter().enumerate() {
        let f = |k: &str| format!("wan[{i}].{k}");
        let name = w.port.get_ref();
        let Some(idx) = ports.iter().position(|p| &p.name == name) else {
            return Err(cx.err(w.port.span(), f("port"), format!("unknown port {name:?}")));
        };
        let port = &ports[idx];
        if port.vrf != 0 {
            return Err(cx.err(
                w.port.span(),
                f("port"),
                format!(
                    "port {name:?} is in client VRF {:?}; a WAN port must be in VRF \"default\" (the underlay)",
                    port.vrf_name
                ),
            ));
        }
        if wans.iter().any(|x| x.port as usize == idx) {
            return Err(cx.err(
                w.port.span(),
                f("port"),
                format!("port {name:?} is already a WAN port"),
            ));
        }
        let id = *w.id.get_ref();
        if wans.iter().any(|x| x.id == id) {
            return Err(cx.err(w.id.span(), f("id"), format!("WAN id {id} used twice")));
        }
        let color = *w.color.get_ref();
        if let Some(x) = wans.iter().find(|x| x.color == color) {
            return Err(cx.err(
                w.color.span(),
                f("color"),
                format!("color {color} already used by WAN port {:?}", x.port_name),
            ));
        }
        let kind = match w.kind.as_ref().map(|k| k.get_ref().as_str()) {
            None | Some("internet") => WanKind::Internet,
            Some("private") => WanKind::Private,
            Some(other) => {
                let span = w.kind.as_ref().map_or(w.port.span(), Spanned::span);
                return Err(cx.err(
                    span,
                    f("kind"),
                    format!("{other:?} is neither \"internet\" nor \"private\""),
                ));
            }
        };
        let addresses: Vec<IpAddr> = port.addresses.iter().map(|a| a.addr()).collect();
        let public_address = match &w.public_address {
            Some(a) => {
                let ip = *a.get_ref();
                if ip.is_unspecified() || ip.is_multicast() {
                    return Err(cx.err(
                        a.span(),
                        f("public_address"),
                        format!("{ip} is not a unicast address"),
                    ));
                }
                if !addresses.iter().any(|x| x.is_ipv4() == ip.is_ipv4()) {
                    return Err(cx.err(
                        a.span(),
                        f("public_address"),
                        format!("port {name:?} has no address of the same IP version as {ip}"),
                    ));
                }
                ip
            }
            None => *addresses.first().ok_or_else(|| {
                cx.err(
                    w.port.span(),
                    f("public_address"),
                    format!(
                        "port {name:?} has no address: give it `addresses` or set public_address"
                    ),
                )
            })?,
        };
        let gateway = match &w.gateway {
            None => None,
            Some(g) => {
                let ip = *g.get_ref();
                if !port
                    .addresses
                    .iter()
                    .any(|a| a.trunc().contains(&ip) && a.addr() != ip)
                {
                    return Err(cx.err(
                        g.span(),
                        f("gateway"),
                        format!("gateway {ip} is not in a connected subnet of port {name:?}"),
                    ));
                }
                Some(ip)
            }
        };
        let guard = super::wan_guard::validate(cx.path, cx.text, w, i, kind)?;
        wans.push(ResolvedWan {
            port: idx as u16,
            port_name: name.clone(),
            id,
            color,
            kind,
            public_address,
            addresses,
            gateway,
            guard,
        });
    }
    Ok(wans)
}

/// One Route Target (`ASN:n`, `IP:n`, optionally prefixed `rt:`).
pub(super) fn parse_rt(
    cx: &Cx<'_>,
    s: &Spanned<String>,
    field: &str,
) -> Result<RouteTarget, ConfigError> {
    let text = s.get_ref();
    ExtCommunity::route_target(text.strip_prefix("rt:").unwrap_or(text))
        .map(RouteTarget)
        .map_err(|e| {
            cx.err(
                s.span(),
                field,
                format!("{text:?} is not a Route Target (ASN:n or IP:n): {e}"),
            )
        })
}

pub(super) fn parse_rts(
    cx: &Cx<'_>,
    list: &[Spanned<String>],
    field: &str,
) -> Result<Vec<RouteTarget>, ConfigError> {
    let mut out = Vec::new();
    for (j, s) in list.iter().enumerate() {
        let text = s.get_ref();
        let rt = parse_rt(cx, s, &format!("{field}[{j}]"))?;
        if out.contains(&rt) {
            return Err(cx.err(
                s.span(),
                format!("{field}[{j}]"),
                format!("Route Target {text:?} listed twice"),
            ));
        }
        out.push(rt);
    }
    Ok(out)
}

fn validate_vrfs(
    cx: &Cx<'_>,
    raw: &EdgeConfig,
    ports: &[ResolvedPort],
    wans: &[ResolvedWan],
) -> Result<Vec<OverlayVrf>, ConfigError> {
    let mut out: Vec<OverlayVrf> = Vec::new();
    let mut rds = HashSet::new();
    for (i, v) in raw.vrfs.iter().enumerate() {
        let f = |k: &str| format!("vrf[{i}].{k}");
        let name = v.name.get_ref().clone();
        let Some(rd_text) = &v.rd else {
            return Err(cx.err(
                v.name.span(),
                f("rd"),
                format!("VRF {name:?} needs `rd` (the overlay is configured)"),
            ));
        };
        let rd: Rd = rd_text.get_ref().parse().map_err(|e| {
            cx.err(
                rd_text.span(),
                f("rd"),
                format!("{:?} is not a Route Distinguisher: {e}", rd_text.get_ref()),
            )
        })?;
        if !rds.insert(rd) {
            return Err(cx.err(
                rd_text.span(),
                f("rd"),
                format!("RD {} used by two VRFs", rd_text.get_ref()),
            ));
        }
        let Some(label) = &v.label else {
            return Err(cx.err(
                v.name.span(),
                f("label"),
                format!("VRF {name:?} needs `label` (the overlay is configured)"),
            ));
        };
        let lv = *label.get_ref();
        if !(MIN_LABEL..=MAX_LABEL).contains(&lv) {
            return Err(cx.err(
                label.span(),
                f("label"),
                format!("must be {MIN_LABEL}..={MAX_LABEL} (20 bits, 0-15 reserved)"),
            ));
        }
        if let Some(x) = out.iter().find(|x| x.label == lv) {
            return Err(cx.err(
                label.span(),
                f("label"),
                format!("label {lv} already used by VRF {:?}", x.name),
            ));
        }
        let color = match &v.color {
            None => None,
            Some(c) => {
                let cv = *c.get_ref();
                if !wans.iter().any(|w| w.color == cv) {
                    return Err(cx.err(
                        c.span(),
                        f("color"),
                        format!("no [[wan]] port has color {cv}"),
                    ));
                }
                Some(cv)
            }
        };
        let encap = match v.encap.as_ref().map(|e| e.get_ref().as_str()) {
            None | Some("mpls") => VrfEncap::Mpls,
            Some("gre") => VrfEncap::Gre,
            Some("vxlan") => VrfEncap::Vxlan,
            Some(other) => {
                let span = v.encap.as_ref().map_or(v.name.span(), Spanned::span);
                return Err(cx.err(
                    span,
                    f("encap"),
                    format!("{other:?} is not one of \"mpls\", \"gre\", \"vxlan\""),
                ));
            }
        };
        let rts = vrf_rts(cx, i, v)?;
        let prefix_rts = prefix_rts(cx, raw, i, ports)?;
        out.push(OverlayVrf {
            name,
            id: *v.id.get_ref(),
            rd,
            topology: rts.topology,
            import: rts.import,
            export: rts.export,
            prefix_rts,
            summaries: rts.summaries,
            label: lv,
            color,
            encap,
        });
    }
    Ok(out)
}
