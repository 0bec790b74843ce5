//! The overlay snapshot the workers load, built whole from the resolver's
//! state: one tunnel per (local WAN, remote port) pair with an outbound SA
//! and an outer source of the right family, one path per path id (an
//! empty one for a freed id), the decap map of our VRFs (a hub VRF marked
//! transit: spoke-to-spoke traffic goes back into the overlay), the
//! inbound SAs.
use super::{inner_encap, PairKey, Resolver};
use crate::config::WanKind;
use sdwan_dataplane::overlay::{
    Breakout, DecapEntry, InboundSaSpec, InnerEncap, OverlayPath, OverlayTable, Tunnel,
};
use std::collections::BTreeMap;

impl Resolver {
    /// The whole snapshot from the current state.
    pub(super) fn build_table(&mut self) -> OverlayTable {
        let pairs: Vec<PairKey> = self.keys.outbound().keys().copied().collect();
        let mut tunnels = Vec::new();
        let mut tunnel_ids: BTreeMap<PairKey, u32> = BTreeMap::new();
        for pair in pairs {
            if self.wans_down.contains(&pair.0) {
                continue;
            }
            let Some(r) = self.remote(&pair.1).cloned() else {
                continue;
            };
            let Some(w) = self.wan(pair.0).cloned() else {
                continue;
            };
            let Some(src) = w.source_for(r.endpoint) else {
                continue;
            };
            let Some(sa) = self.keys.shared_sa(&pair, src, r.endpoint, r.udp_port) else {
                continue;
            };
            tunnel_ids.insert(pair, tunnels.len() as u32);
            tunnels.push(Tunnel {
                local_port: w.port,
                private: w.kind == WanKind::Private,
                remote: r.endpoint,
                sa,
            });
        }
        let paths = self
            .slots
            .iter()
            .map(|slot| match slot {
                None => OverlayPath::new(InnerEncap::Mpls { label: 0 }, Vec::new(), &tunnels),
                Some((key, _)) => OverlayPath::new(
                    key.inner,
                    self.tunnels_for(key.node, &key.colors)
                        .iter()
                        .filter_map(|p| tunnel_ids.get(p).copied())
                        .collect(),
                    &tunnels,
                ),
            })
            .collect();
        let decap = self
            .cfg
            .vrfs
            .iter()
            .map(|v| DecapEntry {
                key: inner_encap(v.encap, v.label),
                vrf: v.id,
                transit: v.topology.is_transit(),
            })
            .collect();
        let inbound = self
            .keys
            .inbound()
            .iter()
            .filter_map(|(spi, e)| {
                let w = self.wan(e.local_wan)?;
                Some(InboundSaSpec {
                    spi: *spi,
                    params: e.sa.params,
                    keys: e.sa.keys.clone(),
                    local_port: w.port,
                    peer: self.remote(&e.peer).map(|r| r.endpoint),
                })
            })
            .collect();
        OverlayTable {
            generation: 0,
            tunnels,
            paths,
            decap,
            inbound,
            mss_clamp: self.cfg.mss_clamp,
            policy: self.policy.clone(),
            policy_vrfs: self.cfg.policy.vrfs.clone(),
            breakout: self
                .cfg
                .policy
                .breakout
                .iter()
                .map(|b| Breakout {
                    vrf: b.vrf,
                    port: b.port,
                    public: b.public,
                    ports: b.ports,
                })
                .collect(),
        }
    }
}
