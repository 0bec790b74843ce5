//! What the edge originates in BGP (draft-ietf-bess-bgp-sdwan-usage §6,
//! the dual UPDATE):
//!
//! - per client VRF, its connected subnets and static routes as VPNv4 /
//!   VPNv6 routes: the VRF's RD and label, its export Route Targets (or the
//!   prefix's own, flow-based segmentation §5.4), its Color community (if
//!   configured), next hop = our node id;
//! - per hub VRF of a hub-and-spoke topology, its summary prefixes
//!   (`hub_summary`) the same way, so the spokes send each other's traffic
//!   to the hub (§3.1.3); never a route the hub learned;
//! - per WAN port, a SAFI 74 route (NLRI: type 1, Port-Local-ID, color,
//!   node id) with the port's SD-WAN-Hybrid tunnel TLV, sent only to peers
//!   that negotiated SAFI 74;
//! - the fallback: node-id/32 in IPv4 unicast with one tunnel TLV per WAN
//!   port, not sent to peers that negotiated SAFI 74
//!   (`unless_peer_has = SdwanV4`).
//!
//! Both WAN forms carry every export RT of the edge, so a route reflector
//! that constrains propagation by RT still reflects them to our peers.
//! The builders are pure; [`Originator`] sends them to the speaker and
//! withdraws what is no longer wanted.
use super::keys::Keys;
use super::tunnel_attr::wan_tunnel;
use crate::config::OverlayConfig;
#[cfg(test)]
use crate::config::Resolved;
use sdwan_bgp::config::{LocalRoute, SdwanLocalRoute, SpeakerConfig};
use sdwan_bgp::rib::RouteKey;
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::{Family, Prefix, SdwanNlri, TunnelEncap};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

/// SD-WAN edge discovery route type 1 (the WAN port's properties).
const SDWAN_ROUTE_TYPE_PORT: u16 = 1;

/// The speaker of an edge: our node id and AS, one active iBGP session
/// per route reflector with the four families of the dual UPDATE, no
/// Graceful Restart. Built
/// through serde so the speaker's own defaults apply to every field we do
/// not set.
pub fn speaker_config(o: &OverlayConfig) -> Result<SpeakerConfig, String> {
    let peers: Vec<serde_json::Value> = o
        .peers
        .iter()
        .map(|p| {
            serde_json::json!({
                "address": p.address,
                "port": p.port,
                "remote_as": p.remote_as,
                "md5_key": p.md5_key,
                "families": [Family::Vpnv4, Family::Vpnv6, Family::Ipv4Unicast, Family::SdwanV4],
                "rr_client": false,
                "local_address": p.local_address,
            })
        })
        .collect();
    let v = serde_json::json!({
        "router_id": o.node_id,
        "asn": o.asn,
        "hold_time": o.hold_time,
        // No Graceful Restart capability: the edge's forwarding state (SAs,
        // FIB) dies with the process, so a reflector must drop our routes
        // as soon as the session goes down, not keep them stale and
        // blackhole the other sites' traffic (RFC 4724 §4.2).
        "restart_time": null,
        "peers": peers,
    });
    let cfg: SpeakerConfig =
        serde_json::from_value(v).map_err(|e| format!("BGP speaker config: {e}"))?;
    cfg.validate()?;
    Ok(cfg)
}

#[cfg(test)]
fn prefix_of(net: ipnet::IpNet) -> Option<Prefix> {
    let net = net.trunc();
    Prefix::new(net.addr(), net.prefix_len())
}

/// (VRF id, prefix) of every client VRF's connected subnets and static
/// routes: what we advertise, and what remote routes never replace.
#[cfg(test)]
pub fn client_prefixes(cfg: &Resolved) -> BTreeSet<(u16, Prefix)> {
    let mut out = BTreeSet::new();
    for p in cfg.ports.iter().filter(|p| p.vrf != 0) {
        for a in &p.addresses {
            if let Some(px) = prefix_of(*a) {
                out.insert((p.vrf, px));
            }
        }
    }
    for r in cfg.routes.iter().filter(|r| r.vrf != 0) {
        if let Some(px) = prefix_of(r.prefix) {
            out.insert((r.vrf, px));
        }
    }
    out
}

/// The VPN routes of our client prefixes.
#[cfg(test)]
pub fn client_routes(cfg: &Resolved, o: &OverlayConfig) -> Vec<LocalRoute> {
    vpn_routes(o, client_prefixes(cfg))
}

/// The VPN routes of (VRF id, prefix) pairs: the VRF's RD, label, export
/// RTs (the prefix's own when configured) and Color; next hop = our node
/// id. Prefixes of VRFs the overlay does not know are skipped.
pub fn vpn_routes(
    o: &OverlayConfig,
    prefixes: impl IntoIterator<Item = (u16, Prefix)>,
) -> Vec<LocalRoute> {
    let node = IpAddr::V4(o.node_id);
    prefixes
        .into_iter()
        .filter_map(|(vrf, prefix)| {
            let v = o.vrfs.iter().find(|v| v.id == vrf)?;
            Some(LocalRoute {
                prefix,
                rd: Some(v.rd),
                label: Some(v.label),
                next_hop: node,
                route_targets: v.export_rts(&prefix).to_vec(),
                color: v.color,
                local_pref: None,
                med: None,
                tunnel_encap: None,
                unless_peer_has: None,
            })
        })
        .collect()
}

/// (VRF id, prefix) of every hub VRF's summary routes.
pub fn summary_prefixes(o: &OverlayConfig) -> BTreeSet<(u16, Prefix)> {
    o.vrfs
        .iter()
        .flat_map(|v| v.summaries.iter().map(move |p| (v.id, *p)))
        .collect()
}

/// The SAFI 74 route of every WAN port and the fallback node-id route,
/// with the current key parameters.
pub fn wan_routes(
    o: &OverlayConfig,
    keys: &Keys,
    down: &BTreeSet<u32>,
) -> (Vec<SdwanLocalRoute>, Option<LocalRoute>) {
    let node = IpAddr::V4(o.node_id);
    let rts = o.all_export_rts();
    let sa = keys.simplified_sa();
    let mut sdwan = Vec::new();
    let mut fallback = Vec::new();
    for w in o.wans.iter().filter(|w| !down.contains(&w.id)) {
        let Some(params) = keys.local_params(w.id) else {
            continue;
        };
        sdwan.push(SdwanLocalRoute {
            nlri: SdwanNlri {
                route_type: SDWAN_ROUTE_TYPE_PORT,
                port_local_id: w.id,
                color: w.color,
                node_id: node,
            },
            next_hop: node,
            route_targets: rts.clone(),
            tunnel_encap: TunnelEncap {
                tunnels: vec![wan_tunnel(w, &params, &sa, false)],
            },
        });
        fallback.push(wan_tunnel(w, &params, &sa, true));
    }
    let fallback = (!fallback.is_empty()).then(|| LocalRoute {
        prefix: Prefix::new(node, 32).expect("/32 is a valid IPv4 prefix length"),
        rd: None,
        label: None,
        next_hop: node,
        route_targets: rts,
        color: None,
        local_pref: None,
        med: None,
        tunnel_encap: Some(TunnelEncap { tunnels: fallback }),
        unless_peer_has: Some(Family::SdwanV4),
    });
    (sdwan, fallback)
}

/// Sends our routes to the speaker and withdraws the ones we stop wanting.
pub struct Originator {
    speaker: Arc<Speaker>,
    /// Currently originated keys.
    sent: BTreeMap<RouteKey, ()>,
    pub errors: u64,
}

impl Originator {
    pub fn new(speaker: Arc<Speaker>) -> Originator {
        Originator {
            speaker,
            sent: BTreeMap::new(),
            errors: 0,
        }
    }

    fn note(&mut self, what: &str, r: Result<(), String>) {
        if let Err(e) = r {
            self.errors += 1;
            tracing::warn!("originating {what}: {e}");
        }
    }

    /// Originates (or replaces) every client route.
    pub fn client_routes(&mut self, routes: Vec<LocalRoute>) {
        for r in routes {
            let key = match r.rd {
                Some(rd) => RouteKey::Vpn {
                    rd,
                    prefix: r.prefix,
                },
                None => RouteKey::Unicast { prefix: r.prefix },
            };
            let res = self.speaker.originate(r);
            self.note(&key.to_string(), res);
            self.sent.insert(key, ());
        }
    }

    /// Originates (or replaces) the routes of the WAN ports that are up,
    /// e.g. after a rekey, and withdraws those of the ports that are down
    /// (the fallback node route goes when no port is left).
    pub fn wan_routes(&mut self, o: &OverlayConfig, keys: &Keys, down: &BTreeSet<u32>) {
        let (sdwan, fallback) = wan_routes(o, keys, down);
        let mut wanted = BTreeSet::new();
        for r in sdwan {
            let key = RouteKey::Sdwan { sdwan: r.nlri };
            let res = self.speaker.originate_sdwan(r);
            self.note(&key.to_string(), res);
            self.sent.insert(key, ());
            wanted.insert(key);
        }
        if let Some(f) = fallback {
            let key = RouteKey::Unicast { prefix: f.prefix };
            let res = self.speaker.originate(f);
            self.note(&key.to_string(), res);
            self.sent.insert(key, ());
            wanted.insert(key);
        }
        let node = Prefix::new(IpAddr::V4(o.node_id), 32);
        let stale: Vec<RouteKey> = self
            .sent
            .keys()
            .filter(|k| match k {
                RouteKey::Sdwan { .. } => true,
                RouteKey::Unicast { prefix } => Some(*prefix) == node,
                _ => false,
            })
            .filter(|k| !wanted.contains(*k))
            .copied()
            .collect();
        for k in stale {
            self.withdraw(k);
        }
    }

    /// Withdraws one route we originated.
    pub fn withdraw(&mut self, key: RouteKey) {
        if self.sent.remove(&key).is_some() {
            let res = self.speaker.withdraw(key);
            self.note(&key.to_string(), res);
        }
    }

    /// Withdraws everything we originated (shutdown).
    pub fn withdraw_all(&mut self) {
        for key in std::mem::take(&mut self.sent).into_keys() {
            let res = self.speaker.withdraw(key);
            self.note(&key.to_string(), res);
        }
    }
}
