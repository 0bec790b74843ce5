//! Route reflector peers from the registry (draft §3.1.5, constrained
//! propagation): each registered or enrolled device (not revoked) becomes
//! a passive, route-reflector-client peer in its own peer group whose
//! authorized Route Targets are the import RTs of its VRFs, so it receives
//! only its tenants' routes.
//!
//! The peer address is the device's BGP source address: the `bgp_source`
//! it gave at enrollment (or the operator at registration), else its node
//! id / loopback. On one host (tests) edges use 127.0.0.x sources.
//!
//! The speaker starts with the file's peers only; [`RrPeers::sync`] runs
//! at start, after every registry change made through this controller,
//! and every 2 s (changes made through a second controller sharing the
//! registry, redundant route reflectors), and adds, changes or removes
//! device peers at run time: a new device can peer at once, a changed
//! tenant / VRF set changes its peer group's Route Targets without a
//! session reset, a revoked device's session is torn down (Cease / Peer
//! De-configured, RFC 4486) and its routes withdrawn from the others.
use super::registry::model::{Device, DeviceState, Tenant};
use super::render::effective_rts;
use sdwan_bgp::config::{PeerConfig, PeerGroupConfig, RouteTarget};
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::{ExtCommunity, Family};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Peer group name of a device.
pub fn group_name(serial: &str) -> String {
    format!("device-{serial}")
}

/// A device's route reflector peer and its own peer group.
#[derive(Clone, Debug)]
pub struct DevicePeer {
    pub peer: PeerConfig,
    pub group: PeerGroupConfig,
}

impl DevicePeer {
    /// Same BGP session parameters (a change needs a new session).
    fn same_session(&self, o: &DevicePeer) -> bool {
        let (a, b) = (&self.peer, &o.peer);
        a.address == b.address
            && a.remote_as == b.remote_as
            && a.md5_key == b.md5_key
            && a.families == b.families
    }
}

/// The peer of device `d`; `None` when it may not peer (revoked).
pub fn device_peer(d: &Device, tenants: &[Tenant]) -> Option<DevicePeer> {
    if d.state == DeviceState::Revoked {
        return None;
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
    Some(DevicePeer {
        group: PeerGroupConfig {
            name: group.clone(),
            route_targets: rts.into_iter().collect(),
        },
        peer: PeerConfig {
            address: d.peer_address(),
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
        },
    })
}

/// Device peers by serial, for every device that may peer.
pub fn registry_peers(devices: &[Device], tenants: &[Tenant]) -> BTreeMap<String, DevicePeer> {
    devices
        .iter()
        .filter_map(|d| device_peer(d, tenants).map(|p| (d.serial.clone(), p)))
        .collect()
}

/// The device peers installed in the running speaker.
#[derive(Default)]
pub struct RrPeers {
    installed: Mutex<BTreeMap<String, DevicePeer>>,
}

impl RrPeers {
    /// Make the speaker's device peers equal to `desired`. A device whose
    /// address is already a peer (the file's, or another device's) is
    /// skipped with a warning (the first one wins).
    pub fn sync(&self, speaker: &Speaker, desired: BTreeMap<String, DevicePeer>) {
        let mut inst = self.installed.lock().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<String> = inst
            .iter()
            .filter(|(s, old)| desired.get(*s).is_none_or(|new| !old.same_session(new)))
            .map(|(s, _)| s.clone())
            .collect();
        for serial in gone {
            let Some(old) = inst.remove(&serial) else {
                continue;
            };
            let address = old.peer.address;
            match speaker.remove_peer(address) {
                Ok(()) => tracing::info!(%serial, %address,
                    "route reflector peer removed (session torn down, routes withdrawn)"),
                Err(e) => tracing::warn!(%serial, %address, "removing route reflector peer: {e}"),
            }
            if let Err(e) = speaker.remove_peer_group(&old.group.name) {
                tracing::warn!(%serial, "removing peer group: {e}");
            }
        }
        for (serial, new) in desired {
            match inst.get(&serial) {
                Some(old) if old.group.route_targets == new.group.route_targets => continue,
                Some(_) => {
                    // Tenants / VRFs changed: new Route Targets, same session.
                    if let Err(e) = speaker.set_peer_group(new.group.clone()) {
                        tracing::warn!(%serial, "updating peer group: {e}");
                    }
                    inst.insert(serial, new);
                }
                None => {
                    if let Err(e) = speaker.set_peer_group(new.group.clone()) {
                        tracing::warn!(%serial, "adding peer group: {e}");
                        continue;
                    }
                    let address = new.peer.address;
                    match speaker.add_peer(new.peer.clone()) {
                        Ok(()) => {
                            tracing::info!(%serial, %address, "route reflector peer added");
                            inst.insert(serial, new);
                        }
                        Err(e) => {
                            tracing::warn!(%serial, %address, "device not added as a route \
                                reflector peer: {e}");
                            let _ = speaker.remove_peer_group(&new.group.name);
                        }
                    }
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.installed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
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
                hub: false,
            }],
            wans: vec![],
            config_version: 1,
            md5_key: "m".into(),
            cert_fingerprint: None,
        }
    }

    #[test]
    fn each_device_gets_its_tenants_rts_and_revoked_ones_none() {
        let tenants = vec![
            Tenant {
                name: "blue".into(),
                route_targets: vec!["65000:1".into()],
                policies: vec![],
                hub_and_spoke: None,
            },
            Tenant {
                name: "red".into(),
                route_targets: vec!["65000:2".into()],
                policies: vec![],
                hub_and_spoke: None,
            },
        ];
        let devices = vec![
            dev("A", "blue", DeviceState::Enrolled),
            dev("BB", "red", DeviceState::Registered),
            dev("CCC", "red", DeviceState::Revoked),
        ];
        let peers = registry_peers(&devices, &tenants);
        assert_eq!(peers.len(), 2);
        let a = &peers["A"];
        assert_eq!(a.peer.address.to_string(), "127.0.0.1");
        assert_eq!(a.peer.md5_key.as_deref(), Some("m"));
        assert!(peers.values().all(|p| p.peer.passive && p.peer.rr_client));
        let groups: Vec<PeerGroupConfig> = peers.values().map(|p| p.group.clone()).collect();
        for p in peers.values() {
            p.peer.validate(&groups).unwrap();
        }
        let rts = |s: &str| {
            peers[s]
                .group
                .route_targets
                .iter()
                .map(|r| r.0.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(a.group.name, "device-A");
        assert_eq!(rts("A").len(), 1);
        assert!(rts("A")[0].contains("65000:1"));
        assert!(rts("BB")[0].contains("65000:2"));
        let mut b2 = peers["BB"].clone();
        assert!(b2.same_session(&peers["BB"]));
        b2.peer.address = "127.0.0.9".parse().unwrap();
        assert!(!b2.same_session(&peers["BB"]));
    }

    /// Against a running speaker: added, RTs changed in place, revoked.
    #[test]
    fn sync_adds_updates_and_removes_speaker_peers() {
        let cfg: sdwan_bgp::config::SpeakerConfig =
            toml::from_str("router_id = \"192.0.2.1\"\nasn = 65000\n").unwrap();
        let speaker = Speaker::start(cfg).unwrap();
        let tenants = vec![
            Tenant {
                name: "blue".into(),
                route_targets: vec!["65000:1".into()],
                policies: vec![],
                hub_and_spoke: None,
            },
            Tenant {
                name: "red".into(),
                route_targets: vec!["65000:2".into()],
                policies: vec![],
                hub_and_spoke: None,
            },
        ];
        let mut devices = vec![
            dev("A", "blue", DeviceState::Registered),
            dev("BB", "red", DeviceState::Enrolled),
        ];
        let rr = RrPeers::default();
        rr.sync(&speaker, registry_peers(&devices, &tenants));
        let addrs = |s: &Speaker| {
            s.peers()
                .iter()
                .map(|p| (p.address.to_string(), p.peer_group.clone().unwrap()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            addrs(&speaker),
            [
                ("127.0.0.1".to_string(), "device-A".to_string()),
                ("127.0.0.2".to_string(), "device-BB".to_string())
            ]
        );
        // Same registry: nothing changes.
        rr.sync(&speaker, registry_peers(&devices, &tenants));
        assert_eq!(addrs(&speaker).len(), 2);
        // A moves to red (new RTs, same peer); BB is revoked.
        devices[0].vrfs[0].tenant = "red".into();
        devices[1].state = DeviceState::Revoked;
        rr.sync(&speaker, registry_peers(&devices, &tenants));
        assert_eq!(addrs(&speaker), [("127.0.0.1".into(), "device-A".into())]);
        assert_eq!(rr.len(), 1);
        // A device whose address is taken is skipped.
        let mut c = dev("C", "blue", DeviceState::Registered);
        c.bgp_source = devices[0].bgp_source;
        devices.push(c);
        rr.sync(&speaker, registry_peers(&devices, &tenants));
        assert_eq!(rr.len(), 1);
        speaker.shutdown();
    }
}
