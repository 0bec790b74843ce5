//! Operator routes: devices, tenants, sites, tokens, sessions.
use super::{body, registry_reply, Provision};
use crate::controller::https::{Reply, Request};
use crate::controller::registry::model::{
    default_encap, Device, DeviceState, DeviceVrf, Scope, Site, WanPort,
};
use crate::controller::tls::sha256_hex;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddDevice {
    pub serial: String,
    pub site: String,
    #[serde(default)]
    pub tenants: Vec<String>,
    #[serde(default)]
    pub wan: Vec<WanPort>,
    /// Default: the next free address of the node pool.
    #[serde(default)]
    pub node_id: Option<Ipv4Addr>,
    #[serde(default)]
    pub asn: Option<u32>,
    /// BGP source address, if known before enrollment.
    #[serde(default)]
    pub bgp_source: Option<IpAddr>,
    /// Color community of the device's client routes (all VRFs).
    #[serde(default)]
    pub vrf_color: Option<u32>,
    /// Tenants (hub-and-spoke) whose hub this device is.
    #[serde(default)]
    pub hub_of: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub tenants: Option<Vec<String>>,
    #[serde(default)]
    pub wan: Option<Vec<WanPort>>,
    #[serde(default)]
    pub bgp_source: Option<IpAddr>,
    #[serde(default)]
    pub vrf_color: Option<u32>,
    /// Replaces the tenants whose hub this device is.
    #[serde(default)]
    pub hub_of: Option<Vec<String>>,
}

/// Marks the device's VRFs of `hub_of` tenants as hubs (the rest spokes);
/// every listed tenant must be one of the device's.
fn set_hubs(vrfs: &mut [DeviceVrf], hub_of: &[String]) -> Result<(), String> {
    if let Some(t) = hub_of
        .iter()
        .find(|t| !vrfs.iter().any(|v| &v.tenant == *t))
    {
        return Err(format!("hub_of: the device has no VRF of tenant {t:?}"));
    }
    for v in vrfs {
        v.hub = hub_of.contains(&v.tenant);
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    scope: Scope,
}

/// Serials, site and tenant names: 1..=64 of `A-Za-z0-9._-`.
pub fn check_name(what: &str, s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {s:?}: use 1 to 64 characters from A-Z a-z 0-9 . _ -"
        ))
    }
}

fn check_wans(wans: &[WanPort]) -> Result<(), String> {
    let (mut ids, mut colors, mut ports) = (HashSet::new(), HashSet::new(), HashSet::new());
    for w in wans {
        check_name("WAN port", &w.port)?;
        if !ports.insert(&w.port) {
            return Err(format!("WAN port {:?} listed twice", w.port));
        }
        if !ids.insert(w.id) {
            return Err(format!("WAN port id {} used twice", w.id));
        }
        if !colors.insert(w.color) {
            return Err(format!("WAN color {} used by two ports", w.color));
        }
        if w.kind != "internet" && w.kind != "private" {
            return Err(format!(
                "WAN port {:?}: kind {:?} (internet | private)",
                w.port, w.kind
            ));
        }
        if w.breakout && w.kind != "internet" {
            return Err(format!(
                "WAN port {:?}: breakout needs kind internet",
                w.port
            ));
        }
    }
    if wans.iter().filter(|w| w.breakout).count() > 1 {
        return Err("only one WAN port can be the breakout port".into());
    }
    Ok(())
}

/// The device's VRFs for `tenants`: VRFs of tenants it keeps are kept
/// (same id, RD, label); new ones get the lowest free id, label 1000+id
/// and RD `node_id:id`.
pub fn build_vrfs(
    node_id: Ipv4Addr,
    existing: &[DeviceVrf],
    tenants: &[String],
    color: Option<u32>,
) -> Vec<DeviceVrf> {
    let mut out: Vec<DeviceVrf> = existing
        .iter()
        .filter(|v| tenants.contains(&v.tenant))
        .cloned()
        .collect();
    for t in tenants {
        if out.iter().any(|v| &v.tenant == t) {
            continue;
        }
        let id = (1u16..)
            .find(|i| out.iter().all(|v| v.id != *i))
            .unwrap_or(1);
        out.push(DeviceVrf {
            tenant: t.clone(),
            name: t.clone(),
            id,
            rd: format!("{node_id}:{id}"),
            label: 1000 + u32::from(id),
            color: None,
            import: Vec::new(),
            export: Vec::new(),
            encap: default_encap(),
            hub: false,
        });
    }
    if color.is_some() {
        for v in &mut out {
            v.color = color;
        }
    }
    out.sort_by_key(|v| v.id);
    out
}

fn device_json(d: &Device) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
    v["peer_address"] = json!(d.peer_address().to_string());
    v
}

impl Provision {
    pub(super) fn operator(&self, req: &Request, scope: Scope) -> Reply {
        let route = req.route();
        let parts: Vec<&str> = route
            .trim_start_matches("/api/v1/")
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        let result = match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["devices"]) => self
                .registry
                .devices()
                .map(|ds| Reply::json(200, &Value::Array(ds.iter().map(device_json).collect())))
                .map_err(registry_reply),
            ("POST", ["devices"]) => body(req).and_then(|a| self.add_device(a)),
            ("GET", ["devices", serial]) => self.get_device(serial).and_then(|d| {
                let mut v = device_json(&d);
                v["enrollments"] = json!(self
                    .registry
                    .enrollment_count(serial)
                    .map_err(registry_reply)?);
                Ok(Reply::json(200, &v))
            }),
            ("POST", ["devices", serial]) => body(req).and_then(|u| self.update_device(serial, u)),
            ("POST", ["devices", serial, "revoke"]) => self.revoke(serial),
            ("GET", ["devices", serial, "config"]) if scope == Scope::Admin => {
                self.get_device(serial).and_then(|d| {
                    self.rendered(&d)
                        .map(|r| {
                            Reply::json(
                                200,
                                &json!({"version": d.config_version, "config": r.to_toml()}),
                            )
                        })
                        .map_err(registry_reply)
                })
            }
            ("GET", ["devices", _, "config"]) => Ok(self.refuse(super::Refusal {
                status: 403,
                reason: "wrong_scope",
                message: "a device's config holds its BGP key: admin token required".into(),
            })),
            ("GET", ["tenants"]) => self
                .registry
                .tenants()
                .map(|t| Reply::json(200, &json!(t)))
                .map_err(registry_reply),
            ("POST", ["tenants"]) => body(req).and_then(|t| self.put_tenant(t)),
            (method, ["tenants", tenant, "policies", rest @ ..]) => {
                self.policy_route(method, req, tenant, rest)
            }
            ("GET", ["policies"]) => self.all_policies(),
            ("GET", ["sites"]) => self
                .registry
                .sites()
                .map(|s| Reply::json(200, &json!(s)))
                .map_err(registry_reply),
            ("POST", ["sites"]) => body::<Site>(req).and_then(|s| {
                check_name("site", &s.name).map_err(|m| Reply::error(400, m))?;
                self.registry.put_site(&s).map_err(registry_reply)?;
                Ok(Reply::json(201, &json!(s)))
            }),
            ("POST", ["tokens"]) => body::<NewToken>(req).and_then(|t| {
                let token = super::random_hex(24);
                self.registry
                    .add_token(
                        &sha256_hex(token.as_bytes()),
                        &t.name,
                        t.scope,
                        super::now_unix(),
                    )
                    .map_err(registry_reply)?;
                Ok(Reply::json(
                    201,
                    &json!({"name": t.name, "scope": t.scope, "token": token}),
                ))
            }),
            ("GET", ["sessions"]) => self.sessions(),
            _ => Err(Reply::error(
                404,
                format!("no such endpoint {} {route}", req.method),
            )),
        };
        result.unwrap_or_else(|e| e)
    }

    fn get_device(&self, serial: &str) -> Result<Device, Reply> {
        self.registry
            .device(serial)
            .map_err(registry_reply)?
            .ok_or_else(|| Reply::error(404, format!("no device {serial:?}")))
    }

    fn check_tenants(&self, tenants: &[String]) -> Result<(), Reply> {
        let known = self.registry.tenants().map_err(registry_reply)?;
        for t in tenants {
            if !known.iter().any(|k| &k.name == t) {
                return Err(Reply::error(
                    400,
                    format!("no tenant {t:?} (create it first: POST /api/v1/tenants)"),
                ));
            }
        }
        Ok(())
    }

    fn allocate_node_id(&self) -> Result<Ipv4Addr, Reply> {
        let used: HashSet<Ipv4Addr> = self
            .registry
            .devices()
            .map_err(registry_reply)?
            .into_iter()
            .map(|d| d.node_id)
            .collect();
        self.cfg
            .node_pool
            .hosts()
            .find(|a| !used.contains(a))
            .ok_or_else(|| {
                Reply::error(
                    409,
                    format!("node pool {} is exhausted", self.cfg.node_pool),
                )
            })
    }

    fn add_device(&self, a: AddDevice) -> Result<Reply, Reply> {
        let bad = |m: String| Reply::error(400, m);
        check_name("serial", &a.serial).map_err(bad)?;
        check_name("site", &a.site).map_err(bad)?;
        check_wans(&a.wan).map_err(bad)?;
        self.check_tenants(&a.tenants)?;
        let node_id = match a.node_id {
            Some(n) => n,
            None => self.allocate_node_id()?,
        };
        let d = Device {
            serial: a.serial,
            site: a.site,
            state: DeviceState::Registered,
            node_id,
            asn: a.asn.unwrap_or(self.edge_asn),
            bgp_source: a.bgp_source,
            vrfs: {
                let mut v = build_vrfs(node_id, &[], &a.tenants, a.vrf_color);
                set_hubs(&mut v, &a.hub_of).map_err(bad)?;
                v
            },
            wans: a.wan,
            config_version: 1,
            md5_key: super::random_hex(16),
            cert_fingerprint: None,
        };
        self.check_breakout(&d)?;
        self.registry.add_device(&d).map_err(registry_reply)?;
        tracing::info!(serial = %d.serial, node = %d.node_id, "device registered");
        self.notify();
        Ok(Reply::json(201, &device_json(&d)))
    }

    fn update_device(&self, serial: &str, u: UpdateDevice) -> Result<Reply, Reply> {
        let bad = |m: String| Reply::error(400, m);
        let mut d = self.get_device(serial)?;
        if d.state == DeviceState::Revoked {
            return Err(Reply::error(409, format!("device {serial:?} is revoked")));
        }
        if let Some(site) = u.site {
            check_name("site", &site).map_err(bad)?;
            d.site = site;
        }
        if let Some(wan) = u.wan {
            check_wans(&wan).map_err(bad)?;
            d.wans = wan;
        }
        let tenants = match u.tenants {
            Some(t) => {
                self.check_tenants(&t)?;
                t
            }
            None => d.vrfs.iter().map(|v| v.tenant.clone()).collect(),
        };
        d.vrfs = build_vrfs(d.node_id, &d.vrfs, &tenants, u.vrf_color);
        if let Some(h) = &u.hub_of {
            set_hubs(&mut d.vrfs, h).map_err(bad)?;
        }
        if u.bgp_source.is_some() {
            d.bgp_source = u.bgp_source;
        }
        self.check_breakout(&d)?;
        d.config_version += 1;
        self.registry.save_device(&d).map_err(registry_reply)?;
        self.notify();
        Ok(Reply::json(200, &device_json(&d)))
    }

    /// A device whose tenants break out needs a breakout WAN port.
    fn check_breakout(&self, d: &Device) -> Result<(), Reply> {
        let tenants = self.registry.tenants().map_err(registry_reply)?;
        super::tenant_check::breakout_ok(d, &tenants).map_err(|m| Reply::error(400, m))
    }

    fn revoke(&self, serial: &str) -> Result<Reply, Reply> {
        let mut d = self.get_device(serial)?;
        d.state = DeviceState::Revoked;
        d.config_version += 1;
        self.registry.save_device(&d).map_err(registry_reply)?;
        tracing::warn!(
            serial,
            "device revoked: enrollment and config polling refused, its BGP \
            session torn down"
        );
        self.notify();
        Ok(Reply::json(200, &device_json(&d)))
    }

    /// Route reflector sessions, each with the device it belongs to.
    fn sessions(&self) -> Result<Reply, Reply> {
        let devices = self.registry.devices().map_err(registry_reply)?;
        let peers = self
            .speaker
            .get()
            .and_then(|w| w.upgrade())
            .map(|s| s.peers())
            .unwrap_or_default();
        let rows: Vec<Value> = peers
            .iter()
            .map(|p| {
                let dev = devices.iter().find(|d| d.peer_address() == p.address);
                json!({
                    "neighbor": p.address.to_string(),
                    "serial": dev.map(|d| d.serial.clone()),
                    "device_state": dev.map(|d| d.state.as_str()),
                    "peer_group": p.peer_group,
                    "state": serde_json::to_value(p.state).unwrap_or(Value::Null),
                    "uptime_secs": p.uptime_secs,
                    "prefixes_received": p.counters.prefixes_received,
                    "prefixes_advertised": p.counters.prefixes_advertised,
                })
            })
            .collect();
        Ok(Reply::json(200, &Value::Array(rows)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrfs_keep_their_ids_and_new_tenants_get_free_ones() {
        let node: Ipv4Addr = "10.255.0.7".parse().unwrap();
        let v = build_vrfs(node, &[], &["blue".into(), "red".into()], None);
        assert_eq!(
            (v[0].id, v[0].label, v[0].rd.as_str()),
            (1, 1001, "10.255.0.7:1")
        );
        assert_eq!((v[1].id, v[1].tenant.as_str()), (2, "red"));
        let w = build_vrfs(node, &v, &["red".into(), "green".into()], Some(5));
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].id, w[0].tenant.as_str()), (1, "green"));
        assert_eq!((w[1].id, w[1].tenant.as_str()), (2, "red"));
        assert!(w.iter().all(|x| x.color == Some(5)));
    }

    #[test]
    fn names_and_wan_roles_are_checked() {
        assert!(check_name("serial", "SN-001.a_b").is_ok());
        assert!(check_name("serial", "a b").unwrap_err().contains("\"a b\""));
        assert!(check_name("serial", "").is_err());
        let w = |port: &str, id, color, kind: &str| WanPort {
            port: port.into(),
            id,
            color,
            kind: kind.into(),
            breakout: false,
        };
        assert!(check_wans(&[w("wan0", 1, 100, "internet"), w("wan1", 2, 200, "private")]).is_ok());
        assert!(
            check_wans(&[w("wan0", 1, 100, "internet"), w("wan1", 1, 200, "private")])
                .unwrap_err()
                .contains("id 1")
        );
        assert!(
            check_wans(&[w("wan0", 1, 100, "internet"), w("wan1", 2, 100, "private")])
                .unwrap_err()
                .contains("color 100")
        );
        assert!(check_wans(&[w("wan0", 1, 100, "lte")])
            .unwrap_err()
            .contains("lte"));
    }
}
