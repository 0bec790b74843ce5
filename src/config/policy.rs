//! `[[policy]]`: per-VRF flow rules (draft §3.3 hybrid WAN policies 1–3,
//! §4.2.2 flow-based segmentation, §4.3): which underlay a client flow may
//! take. Rules are checked in file order, first match wins; a flow of a
//! VRF that no rule matches is `encrypted-any`.
//!
//! ```toml
//! [[policy]]
//! vrf = "blue"
//! name = "voice"             # traffic class, shown in counters / API
//! action = "private-only"    # | "encrypted-any" | "any" | "internet-breakout"
//! protocol = "udp"           # tcp | udp | icmp | icmpv6 | 0..=255
//! dst = "10.2.0.0/16"        # src / dst prefixes, same IP version
//! dst_ports = "5060-5061"    # src_ports / dst_ports: "N" or "LO-HI"
//! dscp = 46
//! flow_label = 12345         # IPv6 only
//! ```
//! `internet-breakout` needs an internet `[[wan]]` with `breakout = true`
//! (IPv4 address, gateway): the VRF's breakout flows leave there with
//! NAT44 to that port's public IPv4 address.

use super::error::ConfigError;
use super::model::PolicyRuleConfig;
use super::overlay::{OverlayVrf, ResolvedWan, WanKind};
use ipnet::IpNet;
use sdwan_policy::classifier::{
    Action, ClassId, Match, PathPolicy, PortRange, Prefix, Rule, RuleSet,
};
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// Outside ports breakout NAT44 uses, split evenly between breakout VRFs
/// (RFC 6335 dynamic range minus the top, away from 500 / 4500).
pub const NAT_PORTS: (u16, u16) = (32768, 60999);

/// The resolved policy of the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// All rules, each matching its VRF; default `encrypted-any`.
    pub rules: RuleSet,
    /// For the API: (VRF name, rule as written) in rule order.
    pub views: Vec<RuleView>,
    /// Sorted ids of the VRFs with rules.
    pub vrfs: Vec<u16>,
    /// VRFs with breakout flows, with their port and NAT port block.
    pub breakout: Vec<BreakoutConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleView {
    pub vrf: String,
    pub name: String,
    pub action: &'static str,
    pub matches: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakoutConfig {
    pub vrf: u16,
    /// Our port index of the breakout WAN port.
    pub port: u16,
    pub public: Ipv4Addr,
    pub ports: (u16, u16),
}

impl PolicyConfig {
    pub fn is_empty(&self) -> bool {
        self.rules.rules.is_empty()
    }
}

fn action(s: &str) -> Option<PathPolicy> {
    Some(match s {
        "private-only" => PathPolicy::PrivateOnly,
        "encrypted-any" => PathPolicy::EncryptedAny,
        "any" => PathPolicy::Any,
        "internet-breakout" => PathPolicy::InternetBreakout,
        _ => return None,
    })
}

fn protocol(s: &str) -> Option<u8> {
    Some(match s {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmpv6" => 58,
        n => n.parse().ok()?,
    })
}

fn port_range(s: &str) -> Option<PortRange> {
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
        None => {
            let p = s.trim().parse().ok()?;
            (p, p)
        }
    };
    PortRange::new(lo, hi).ok()
}

fn prefix(n: &IpNet) -> Result<Prefix, String> {
    let r = match n {
        IpNet::V4(n) => Prefix::v4(n.addr(), n.prefix_len()),
        IpNet::V6(n) => Prefix::v6(n.addr(), n.prefix_len()),
    };
    r.map_err(|e| e.to_string())
}

pub(super) fn validate(
    path: &Path,
    text: &str,
    raw: &[PolicyRuleConfig],
    vrfs: &[OverlayVrf],
    wans: &[ResolvedWan],
    breakout_wan: Option<(u32, Range<usize>)>,
) -> Result<PolicyConfig, ConfigError> {
    let err = |span: Range<usize>, field: String, m: String| {
        ConfigError::at(path, text, span.start, field, m)
    };
    let mut rules = RuleSet::new(Action::new(PathPolicy::EncryptedAny));
    let mut views = Vec::new();
    let mut ids = Vec::new();
    let mut breakout_vrfs: Vec<(u16, Range<usize>)> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let f = |k: &str| format!("policy[{i}].{k}");
        let vrf_name = r.vrf.get_ref();
        let Some(vrf) = vrfs.iter().find(|v| &v.name == vrf_name) else {
            return Err(err(
                r.vrf.span(),
                f("vrf"),
                format!("no overlay [[vrf]] named {vrf_name:?}"),
            ));
        };
        let name = r.name.get_ref().trim();
        if name.is_empty() {
            return Err(err(r.name.span(), f("name"), "empty name".into()));
        }
        let Some(policy) = action(r.action.get_ref()) else {
            return Err(err(
                r.action.span(),
                f("action"),
                format!(
                    "{:?}: expected private-only, encrypted-any, any or internet-breakout",
                    r.action.get_ref()
                ),
            ));
        };
        let mut m = Match {
            vrf: Some(u32::from(vrf.id)),
            ..Match::default()
        };
        if let Some(p) = &r.protocol {
            m.protocol = Some(protocol(p.get_ref()).ok_or_else(|| {
                err(
                    p.span(),
                    f("protocol"),
                    format!(
                        "{:?}: expected tcp, udp, icmp, icmpv6 or 0..=255",
                        p.get_ref()
                    ),
                )
            })?);
        }
        let pfx = |n: &Option<Spanned<IpNet>>, k: &str| -> Result<Option<Prefix>, ConfigError> {
            n.as_ref()
                .map(|n| prefix(n.get_ref()).map_err(|e| err(n.span(), f(k), e)))
                .transpose()
        };
        m.src = pfx(&r.src, "src")?;
        m.dst = pfx(&r.dst, "dst")?;
        let ports = |s: &Option<Spanned<String>>,
                     k: &str|
         -> Result<Option<PortRange>, ConfigError> {
            s.as_ref()
                .map(|s| {
                    port_range(s.get_ref()).ok_or_else(|| {
                        err(
                            s.span(),
                            f(k),
                            format!("{:?}: expected a port or LO-HI with LO <= HI", s.get_ref()),
                        )
                    })
                })
                .transpose()
        };
        m.src_ports = ports(&r.src_ports, "src_ports")?;
        m.dst_ports = ports(&r.dst_ports, "dst_ports")?;
        if (m.src_ports.is_some() || m.dst_ports.is_some())
            && !matches!(m.protocol, Some(6) | Some(17))
        {
            let span = r
                .src_ports
                .as_ref()
                .or(r.dst_ports.as_ref())
                .map(|s| s.span());
            return Err(err(
                span.unwrap_or(r.name.span()),
                f("dst_ports"),
                "ports need protocol = \"tcp\" or \"udp\"".into(),
            ));
        }
        // The classifier refuses these too, but without naming the key.
        if let Some(d) = r.dscp.as_ref().filter(|d| *d.get_ref() > 63) {
            return Err(err(
                d.span(),
                f("dscp"),
                format!("{} > 63 (DSCP is 6 bits)", d.get_ref()),
            ));
        }
        if let Some(l) = r.flow_label.as_ref().filter(|l| *l.get_ref() > 0xf_ffff) {
            return Err(err(
                l.span(),
                f("flow_label"),
                format!("{} > 1048575 (the IPv6 flow label is 20 bits)", l.get_ref()),
            ));
        }
        m.dscp = r.dscp.as_ref().map(|d| *d.get_ref());
        m.flow_label = r.flow_label.as_ref().map(|l| *l.get_ref());
        let class = u16::try_from(rules.class_names.len()).unwrap_or(u16::MAX);
        rules.class_names.push(name.to_string());
        rules.rules.push(Rule {
            matches: m.clone(),
            action: Action::with_class(policy, ClassId(class)),
        });
        if let Err(e) = rules.validate() {
            return Err(err(r.name.span(), format!("policy[{i}]"), e.to_string()));
        }
        if policy == PathPolicy::InternetBreakout {
            if m.src
                .is_some_and(|p| p.family() == sdwan_policy::Family::V6)
                || m.dst
                    .is_some_and(|p| p.family() == sdwan_policy::Family::V6)
            {
                return Err(err(
                    r.action.span(),
                    f("action"),
                    "internet-breakout is IPv4 only (NAT44; there is no NAT66)".into(),
                ));
            }
            if !breakout_vrfs.iter().any(|(v, _)| *v == vrf.id) {
                breakout_vrfs.push((vrf.id, r.action.span()));
            }
        }
        views.push(RuleView {
            vrf: vrf_name.clone(),
            name: name.to_string(),
            action: policy.as_str(),
            matches: describe(r),
        });
        ids.push(vrf.id);
    }
    ids.sort_unstable();
    ids.dedup();
    let breakout = breakout_ports(breakout_vrfs, wans, breakout_wan, &err)?;
    Ok(PolicyConfig {
        rules,
        views,
        vrfs: ids,
        breakout,
    })
}

/// The breakout port and each breakout VRF's block of NAT ports.
fn breakout_ports(
    vrfs: Vec<(u16, Range<usize>)>,
    wans: &[ResolvedWan],
    breakout_wan: Option<(u32, Range<usize>)>,
    err: &impl Fn(Range<usize>, String, String) -> ConfigError,
) -> Result<Vec<BreakoutConfig>, ConfigError> {
    let Some((_, first_span)) = vrfs.first() else {
        return Ok(Vec::new());
    };
    let Some((wan_id, wan_span)) = breakout_wan else {
        return Err(err(
            first_span.clone(),
            "policy.action".into(),
            "internet-breakout needs an internet [[wan]] with breakout = true".into(),
        ));
    };
    let Some(wan) = wans.iter().find(|w| w.id == wan_id) else {
        return Err(err(wan_span, "wan.breakout".into(), "unknown WAN".into()));
    };
    if wan.kind != WanKind::Internet {
        return Err(err(
            wan_span,
            "wan.breakout".into(),
            format!("WAN {wan_id} is private: breakout leaves through an internet port"),
        ));
    }
    let public = match wan.source_for(IpAddr::V4(Ipv4Addr::UNSPECIFIED)) {
        Some(IpAddr::V4(a)) => a,
        _ => {
            return Err(err(
                wan_span,
                "wan.breakout".into(),
                format!("WAN {wan_id} has no IPv4 address to translate to"),
            ))
        }
    };
    let n = u16::try_from(vrfs.len()).unwrap_or(u16::MAX);
    let block = (NAT_PORTS.1 - NAT_PORTS.0 + 1) / n;
    Ok(vrfs
        .iter()
        .enumerate()
        .map(|(i, (vrf, _))| {
            let lo = NAT_PORTS.0 + block * i as u16;
            BreakoutConfig {
                vrf: *vrf,
                port: wan.port,
                public,
                ports: (lo, lo + block - 1),
            }
        })
        .collect())
}

/// The rule's match, as an operator would write it back.
fn describe(r: &PolicyRuleConfig) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &r.protocol {
        parts.push(format!("protocol {}", p.get_ref()));
    }
    if let Some(p) = &r.src {
        parts.push(format!("src {}", p.get_ref()));
    }
    if let Some(p) = &r.dst {
        parts.push(format!("dst {}", p.get_ref()));
    }
    if let Some(p) = &r.src_ports {
        parts.push(format!("src_ports {}", p.get_ref()));
    }
    if let Some(p) = &r.dst_ports {
        parts.push(format!("dst_ports {}", p.get_ref()));
    }
    if let Some(d) = &r.dscp {
        parts.push(format!("dscp {}", d.get_ref()));
    }
    if let Some(l) = &r.flow_label {
        parts.push(format!("flow_label {}", l.get_ref()));
    }
    if parts.is_empty() {
        "any".into()
    } else {
        parts.join(" ")
    }
}
