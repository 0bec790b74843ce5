//! Route reflector peers from the registry (draft §3.1.5, constrained
//! propagation): each registered or enrolled device (not revoked) becomes
//! a passive, route-reflector-client peer in its own peer group whose
//! authorized Route Targets are the import RTs of its VRFs, so it receives
//! only its tenants' routes.
//!
//! The peer address is the device's BGP source address: the `bgp_source`
//! it gave at enrollment (or the operator at registration), else its node
//! id / loopback. On one host (tests) edges use 127.0.0.x sources.
use super::registry::model::{Device, DeviceState, Tenant};
use super::render::effective_rts;
use sdwan_bgp::config::{PeerConfig, PeerGroupConfig, RouteTarget, SpeakerConfig};
use sdwan_bgp::wire::{ExtCommunity, Family};
use std::collections::BTreeSet;

/// Peer group name of a device.
pub fn group_name(serial: &str) -> String {
    format!("device-{serial}")
}

/// `base` (the `[bgp]` of the controller file) plus one peer and one peer
/// group per device that may peer. A device whose address is already a
/// configured peer is skipped with a warning (the file wins).
pub fn with_registry_peers(
    mut base: SpeakerConfig,
    devices: &[Device],
    tenants: &[Tenant],
) -> SpeakerConfig {
    for d in devices {
        if d.state == DeviceState::Revoked {
            continue;
        }
        let address = d.peer_address();
        if base.peers.iter().any(|p| p.address == address) {
            tracing::warn!(serial = %d.serial, %address,
                "device's BGP address is already a configured peer; not adding it");
            continue;
        }
        let mut rts = BTreeSet::new();
        for v in &d.vrfs {
            let (import, _) = effective_rts(v, tenants);
            for rt in import {
                match ExtCommunity::route_target(&rt) {
                    Ok(c) => {
                        rts.insert(RouteTarget(c));
                    }
                    Err(e) => tracing::warn!(serial = %d.serial, %rt, "bad Route Target: {e}"),
                }
            }
        }
        let group = group_name(&d.serial);
        base.peer_groups.push(PeerGroupConfig {
            name: group.clone(),
            route_targets: rts.into_iter().collect(),
        });
        base.peers.push(PeerConfig {
            address,
            port: 179,
            remote_as: d.asn,
            md5_key: Some(d.md5_key.clone()),
            peer_group: Some(group),
            families: vec![
                Family::Vpnv4,
                Family::Vpnv6,
                Family::Ipv4Unicast,
                Family::SdwanV4,
            ],
            passive: true,
            rr_client: true,
            local_address: None,
        });
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::registry::model::*;

    fn dev(serial: &str, tenant: &str, state: DeviceState) -> Device {
        Device {
            serial: serial.into(),
            site: "s".into(),
            state,
            node_id: "10.255.0.1".parse().unwrap(),
            asn: 65000,
            bgp_source: Some(format!("127.0.0.{}", serial.len()).parse().unwrap()),
            vrfs: vec![DeviceVrf {
                tenant: tenant.into(),
                name: tenant.into(),
                id: 1,
                rd: "10.255.0.1:1".into(),
                label: 1001,
                color: None,
                import: vec![],
                export: vec![],
                encap: "mpls".into(),
            }],
            wans: vec![],
            config_version: 1,
            md5_key: "m".into(),
            cert_fingerprint: None,
        }
    }

    #[test]
    fn each_device_gets_its_tenants_rts_and_revoked_ones_none() {
        let base: SpeakerConfig =
            toml::from_str("router_id = \"192.0.2.1\"\nasn = 65000\n").unwrap();
        let tenants = vec![
            Tenant {
                name: "blue".into(),
                route_targets: vec!["65000:1".into()],
            },
            Tenant {
                name: "red".into(),
                route_targets: vec!["65000:2".into()],
            },
        ];
        let devices = vec![
            dev("A", "blue", DeviceState::Enrolled),
            dev("BB", "red", DeviceState::Registered),
            dev("CCC", "red", DeviceState::Revoked),
        ];
        let cfg = with_registry_peers(base, &devices, &tenants);
        cfg.validate().unwrap();
        assert_eq!(cfg.peers.len(), 2);
        assert_eq!(cfg.peers[0].address.to_string(), "127.0.0.1");
        assert_eq!(cfg.peers[0].md5_key.as_deref(), Some("m"));
        assert!(cfg.peers.iter().all(|p| p.passive && p.rr_client));
        let rts = |g: &str| {
            cfg.peer_groups
                .iter()
                .find(|x| x.name == g)
                .unwrap()
                .route_targets
                .iter()
                .map(|r| r.0.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(rts("device-A").len(), 1);
        assert!(rts("device-A")[0].contains("65000:1"));
        assert!(rts("device-BB")[0].contains("65000:2"));
    }
}
