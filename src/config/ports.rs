//! `[[port]]`: physical ports (`device`) and 802.1Q sub-interfaces
//! (`parent` + `vlan`). The resolved list holds the physical ports first,
//! in file order (so a vdev's DPDK port id and its EAL argument follow that
//! order, and index `i < physical_count` is DPDK-opened port `i`), then the
//! sub-interfaces in file order. Errors name `port[i]` by file position.
use super::error::ConfigError;
use super::model::PortConfig;
use super::validate::parse_mac;
use ipnet::IpNet;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

/// A sub-interface's binding to its physical port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedVlan {
    /// Index of the parent (a physical port) in `Resolved::ports`.
    pub parent: u16,
    /// VLAN ID, 1..=4094.
    pub id: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPort {
    pub name: String,
    /// Full device string (`net_tap0,iface=x` or a PCI address); a
    /// sub-interface shows its parent's.
    pub device: String,
    /// DPDK's device name (`net_tap0`), used to find the port id.
    pub dpdk_name: String,
    pub is_vdev: bool,
    pub vrf: u16,
    pub vrf_name: String,
    pub addresses: Vec<IpNet>,
    /// Rx queues; 0 for a sub-interface (polled through its parent).
    pub queues: u16,
    pub mtu: Option<u16>,
    pub mac: Option<[u8; 6]>,
    /// Set on an 802.1Q sub-interface.
    pub vlan: Option<ResolvedVlan>,
}

/// Largest 802.1Q VLAN ID a sub-interface may use (4095 is reserved, 0
/// means priority-tagged: IEEE 802.1Q-2018 Table 9-2).
pub const MAX_VLAN_ID: i64 = 4094;
/// IP MTU of a port without `mtu`.
pub const DEFAULT_MTU: u16 = 1500;

pub(super) struct PortsCx<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub vrfs: &'a [(String, u16)],
}

impl PortsCx<'_> {
    fn err(
        &self,
        span: std::ops::Range<usize>,
        field: String,
        msg: impl Into<String>,
    ) -> ConfigError {
        ConfigError::at(self.path, self.text, span.start, field, msg)
    }

    fn vrf(&self, p: &PortConfig, i: usize) -> Result<(u16, String), ConfigError> {
        match &p.vrf {
            None => Ok((0, "default".into())),
            Some(sp) => self
                .vrfs
                .iter()
                .find(|(n, _)| n == sp.get_ref())
                .map(|(n, id)| (*id, n.clone()))
                .ok_or_else(|| {
                    self.err(
                        sp.span(),
                        format!("port[{i}].vrf"),
                        format!("unknown VRF {:?}", sp.get_ref()),
                    )
                }),
        }
    }
}

/// Resolves every `[[port]]` (see the module comment for the order).
pub(super) fn resolve(
    cx: &PortsCx<'_>,
    raw: &[PortConfig],
) -> Result<Vec<ResolvedPort>, ConfigError> {
    check_names(cx, raw)?;
    let mut ports = Vec::new();
    let mut devices = HashSet::new();
    for (i, p) in raw.iter().enumerate() {
        if let Some(device) = physical_device(cx, p, i)? {
            ports.push(physical(cx, p, i, device, &mut devices)?);
        }
    }
    let mut vlans: HashMap<(u16, u16), &str> = HashMap::new();
    let mut subs = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        if p.device.is_none() {
            let sub = sub_interface(cx, p, i, raw, &ports)?;
            let b = sub.vlan.expect("a sub-interface has a VLAN");
            if let Some(other) = vlans.insert((b.parent, b.id), &p.name.get_ref()[..]) {
                let vlan = p.vlan.as_ref().expect("checked");
                return Err(cx.err(
                    vlan.span(),
                    format!("port[{i}].vlan"),
                    format!(
                        "VLAN {} of port {:?} is already port {other:?}",
                        b.id,
                        ports[usize::from(b.parent)].name
                    ),
                ));
            }
            subs.push(sub);
        }
    }
    ports.extend(subs);
    Ok(ports)
}

fn check_names(cx: &PortsCx<'_>, raw: &[PortConfig]) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (i, p) in raw.iter().enumerate() {
        let name = p.name.get_ref();
        if name.is_empty()
            || name.len() > 32
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(cx.err(
                p.name.span(),
                format!("port[{i}].name"),
                "must be 1-32 characters of [A-Za-z0-9_.-]",
            ));
        }
        if !seen.insert(name) {
            return Err(cx.err(
                p.name.span(),
                format!("port[{i}].name"),
                format!("port {name:?} defined twice"),
            ));
        }
    }
    Ok(())
}

/// `Some(device)` for a physical port, `None` for a sub-interface; refuses
/// both or neither of `device` and `parent`, and `vlan` without `parent`.
fn physical_device<'a>(
    cx: &PortsCx<'_>,
    p: &'a PortConfig,
    i: usize,
) -> Result<Option<&'a toml::Spanned<String>>, ConfigError> {
    match (&p.device, &p.parent, &p.vlan) {
        (Some(d), Some(_), _) => Err(cx.err(
            d.span(),
            format!("port[{i}].device"),
            "a port has either `device` (a physical port) or `parent` and `vlan` (an 802.1Q \
             sub-interface), not both",
        )),
        (Some(_), None, Some(v)) => Err(cx.err(
            v.span(),
            format!("port[{i}].vlan"),
            "`vlan` makes a sub-interface: it needs `parent` (the physical port) instead of `device`",
        )),
        (Some(d), None, None) => Ok(Some(d)),
        (None, None, _) => Err(cx.err(
            p.name.span(),
            format!("port[{i}].device"),
            "missing: a port needs `device` (a physical port) or `parent` and `vlan` (an 802.1Q \
             sub-interface)",
        )),
        (None, Some(_), _) => Ok(None),
    }
}

fn check_mtu(cx: &PortsCx<'_>, p: &PortConfig, i: usize) -> Result<(), ConfigError> {
    match p.mtu {
        Some(mtu) if !(576..=9000).contains(&mtu) => Err(cx.err(
            p.name.span(),
            format!("port[{i}].mtu"),
            "must be 576..=9000",
        )),
        _ => Ok(()),
    }
}

fn physical(
    cx: &PortsCx<'_>,
    p: &PortConfig,
    i: usize,
    device: &toml::Spanned<String>,
    devices: &mut HashSet<String>,
) -> Result<ResolvedPort, ConfigError> {
    let dev = device.get_ref().trim().to_string();
    let dpdk_name = dev.split(',').next().unwrap_or("").to_string();
    if dpdk_name.is_empty() {
        return Err(cx.err(
            device.span(),
            format!("port[{i}].device"),
            "must name a DPDK device",
        ));
    }
    if !devices.insert(dpdk_name.clone()) {
        return Err(cx.err(
            device.span(),
            format!("port[{i}].device"),
            format!("device {dpdk_name:?} used by two ports"),
        ));
    }
    let queues = match &p.queues {
        None => 1,
        Some(q) if (1..=16).contains(q.get_ref()) => *q.get_ref(),
        Some(q) => return Err(cx.err(q.span(), format!("port[{i}].queues"), "must be 1..=16")),
    };
    check_mtu(cx, p, i)?;
    let (vrf, vrf_name) = cx.vrf(p, i)?;
    let mac = match &p.mac {
        None => None,
        Some(m) => match parse_mac(m.get_ref()) {
            Some(mac) if mac[0] & 1 == 0 && mac != [0; 6] => Some(mac),
            _ => {
                return Err(cx.err(
                    m.span(),
                    format!("port[{i}].mac"),
                    format!(
                        "{:?} is not a unicast MAC address (aa:bb:cc:dd:ee:ff)",
                        m.get_ref()
                    ),
                ))
            }
        },
    };
    Ok(ResolvedPort {
        name: p.name.get_ref().clone(),
        is_vdev: dpdk_name.starts_with("net_"),
        device: dev,
        dpdk_name,
        vrf,
        vrf_name,
        addresses: p.addresses.clone(),
        queues,
        mtu: p.mtu,
        mac,
        vlan: None,
    })
}

fn sub_interface(
    cx: &PortsCx<'_>,
    p: &PortConfig,
    i: usize,
    raw: &[PortConfig],
    physical: &[ResolvedPort],
) -> Result<ResolvedPort, ConfigError> {
    let parent_name = p.parent.as_ref().expect("a sub-interface has a parent");
    let f = |k: &str| format!("port[{i}].{k}");
    let Some(vlan) = &p.vlan else {
        return Err(cx.err(
            parent_name.span(),
            f("vlan"),
            "missing: a sub-interface (`parent`) needs `vlan`, its 802.1Q VLAN ID (1..=4094)",
        ));
    };
    let vid = *vlan.get_ref();
    if !(1..=MAX_VLAN_ID).contains(&vid) {
        return Err(cx.err(
            vlan.span(),
            f("vlan"),
            format!("VLAN ID {vid} out of range: must be 1..=4094"),
        ));
    }
    let Some(parent_idx) = physical
        .iter()
        .position(|q| &q.name == parent_name.get_ref())
    else {
        // Either no such port, or one that is a sub-interface itself.
        let is_sub = raw
            .iter()
            .any(|r| r.name.get_ref() == parent_name.get_ref() && r.device.is_none());
        let msg = if is_sub {
            format!(
                "port {:?} is itself a sub-interface: sub-interfaces ride on physical ports \
                 only (stacked tags, QinQ, are not supported)",
                parent_name.get_ref()
            )
        } else {
            format!("unknown port {:?}", parent_name.get_ref())
        };
        return Err(cx.err(parent_name.span(), f("parent"), msg));
    };
    let parent = &physical[parent_idx];
    if let Some(m) = &p.mac {
        return Err(cx.err(
            m.span(),
            f("mac"),
            format!(
                "a sub-interface uses its parent's MAC (set `mac` on port {:?})",
                parent.name
            ),
        ));
    }
    if let Some(q) = &p.queues {
        return Err(cx.err(
            q.span(),
            f("queues"),
            format!(
                "a sub-interface is polled through its parent (set `queues` on port {:?})",
                parent.name
            ),
        ));
    }
    check_mtu(cx, p, i)?;
    let parent_mtu = parent.mtu.unwrap_or(DEFAULT_MTU);
    if let Some(mtu) = p.mtu {
        if mtu > parent_mtu {
            return Err(cx.err(
                p.name.span(),
                f("mtu"),
                format!(
                    "{mtu} is above the MTU of parent port {:?} ({parent_mtu})",
                    parent.name
                ),
            ));
        }
    }
    let (vrf, vrf_name) = cx.vrf(p, i)?;
    Ok(ResolvedPort {
        name: p.name.get_ref().clone(),
        device: parent.device.clone(),
        dpdk_name: parent.dpdk_name.clone(),
        is_vdev: parent.is_vdev,
        vrf,
        vrf_name,
        addresses: p.addresses.clone(),
        queues: 0,
        mtu: Some(p.mtu.unwrap_or(parent_mtu)),
        mac: None,
        vlan: Some(ResolvedVlan {
            parent: parent_idx as u16,
            id: vid as u16,
        }),
    })
}

/// Addresses are unique per VRF (over physical ports and sub-interfaces).
pub(super) fn check_unique_addresses(
    cx: &PortsCx<'_>,
    raw: &[PortConfig],
    ports: &[ResolvedPort],
) -> Result<(), ConfigError> {
    let mut seen: HashMap<(u16, IpAddr), &str> = HashMap::new();
    for p in ports {
        for a in &p.addresses {
            if let Some(other) = seen.insert((p.vrf, a.addr()), &p.name) {
                let span = raw
                    .iter()
                    .find(|r| r.name.get_ref() == &p.name)
                    .map_or(0..0, |r| r.name.span());
                return Err(cx.err(
                    span,
                    format!("port {:?}.addresses", p.name),
                    format!(
                        "address {} already on port {other:?} in VRF {:?}",
                        a.addr(),
                        p.vrf_name
                    ),
                ));
            }
        }
    }
    Ok(())
}
