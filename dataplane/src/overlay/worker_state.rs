//! A worker's own overlay state: its `InboundSet` (keys, anti-replay
//! windows, per-SA counters), which ports are WAN ports, its per-tunnel
//! counters, and its published counter block. Synced from the overlay
//! snapshot when the snapshot's generation changes ([`OverlayWorker::sync`],
//! called by the pipeline when it sees a new generation): SAs whose SPI,
//! parameters and keys stay are kept as they are, with their replay
//! window, so a republish never reopens a replay hole.

use super::counters::{InboundKey, OverlayCounterBlock, TunnelCounters, TunnelKey};
use super::OverlayTable;
use crate::counters::{Event, WorkerCounters};
use arc_swap::ArcSwap;
use sdwan_crypto::aead::DefaultEngine;
use sdwan_crypto::esp::SpiHasher;
use sdwan_crypto::{InboundSa, InboundSet, KeyMaterial, SaParams};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::net::IpAddr;
use std::sync::Arc;

/// What a worker remembers about an installed inbound SA besides the SA.
/// The SA itself carries the binding the packet path checks: its tag is
/// the local port, its expected peer the peer's address.
#[derive(Clone)]
pub(crate) struct Installed {
    pub local_port: u16,
    params: SaParams,
    keys: KeyMaterial,
}

impl Installed {
    fn same_sa(&self, params: &SaParams, keys: &KeyMaterial) -> bool {
        self.params == *params
            && self.keys.cipher() == keys.cipher()
            && self.keys.key() == keys.key()
            && self.keys.salt() == keys.salt()
    }
}

/// Flows a worker's policy cache holds.
const FLOW_CAPACITY: usize = 1 << 16;
/// A flow unseen this long is classified again.
const FLOW_IDLE_NS: u64 = 30_000_000_000;
/// NAT44 mappings per worker and breakout VRF.
const NAT_MAPPINGS: usize = 1 << 16;

pub struct OverlayWorker {
    generation: u64,
    pub(crate) inbound: InboundSet<DefaultEngine>,
    pub(crate) installed: HashMap<u32, Installed, BuildHasherDefault<SpiHasher>>,
    /// Ports that carry tunnels (indexed by port id): UDP 4500/500 to us
    /// is overlay traffic only there.
    wan_ports: Vec<bool>,
    /// Indexed by `TunnelId` of the synced snapshot.
    pub(crate) tunnels: Vec<TunnelCounters>,
    /// Each tunnel's underlay next hop (indexed like `tunnels`).
    pub(crate) underlay: super::UnderlayCache,
    inbound_keys: Vec<InboundKey>,
    /// The tunnel keys of `block` (same order as `tunnels`).
    block_keys: Vec<TunnelKey>,
    block: Arc<OverlayCounterBlock>,
    block_published: bool,
    /// Counters changed since the last publish.
    pub(crate) dirty: bool,
    /// Flow cache of the policy VRFs (allocated when a snapshot first
    /// carries a policy).
    pub(crate) flows: Option<sdwan_policy::flow_table::FlowTable>,
    /// Breakout NAT44 per VRF (same order as the snapshot's `breakout`).
    pub(crate) nat: Vec<(super::Breakout, sdwan_policy::nat44::Nat44)>,
    /// This worker's NAT port block: (index, count of workers).
    nat_shard: (u16, u16),
}

impl std::fmt::Debug for OverlayWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverlayWorker")
            .field("generation", &self.generation)
            .field("inbound_sas", &self.inbound.len())
            .field("tunnels", &self.tunnels.len())
            .finish_non_exhaustive()
    }
}

impl Default for OverlayWorker {
    fn default() -> Self {
        Self::new()
    }
}

impl OverlayWorker {
    /// Empty: in sync with an empty generation-0 table.
    pub fn new() -> Self {
        Self {
            generation: 0,
            inbound: InboundSet::new(sdwan_crypto::outer::NATT_PORT),
            installed: HashMap::default(),
            wan_ports: Vec::new(),
            tunnels: Vec::new(),
            underlay: super::UnderlayCache::default(),
            inbound_keys: Vec::new(),
            block_keys: Vec::new(),
            block: Arc::new(OverlayCounterBlock::default()),
            block_published: true,
            dirty: false,
            flows: None,
            nat: Vec::new(),
            nat_shard: (0, 1),
        }
    }

    /// Worker `index` of `count`: its block of each breakout NAT's outside
    /// ports (set once by the glue before the first packet).
    pub fn set_nat_shard(&mut self, index: u16, count: u16) {
        self.nat_shard = (index, count.max(1));
    }

    /// Records a keepalive from `src` on `port` at `now`: the tunnel with
    /// those ends is alive.
    pub(crate) fn keepalive_from(
        &mut self,
        table: &OverlayTable,
        port: u16,
        src: IpAddr,
        now: u64,
    ) {
        for (i, t) in table.tunnels.iter().enumerate() {
            if t.local_port == port && t.remote == src {
                if let Some(c) = self.tunnels.get_mut(i) {
                    c.last_rx_ns = now;
                    self.dirty = true;
                }
            }
        }
    }

    /// Expires idle NAT mappings, a few per call (between bursts).
    pub fn expire_nat(&mut self, now: u64) {
        for (_, nat) in &mut self.nat {
            nat.expire(now, 64);
        }
    }

    /// This worker's NAT44 of `vrf`'s breakout, if any.
    #[inline]
    pub(crate) fn nat_of(&mut self, vrf: u16) -> Option<&mut sdwan_policy::nat44::Nat44> {
        self.nat
            .iter_mut()
            .find(|(b, _)| b.vrf == vrf)
            .map(|(_, n)| n)
    }

    /// The NAT44 whose outside ports hold `port` on breakout port `wan`.
    #[inline]
    pub(crate) fn nat_by_outside_port(
        &mut self,
        wan: u16,
        port: u16,
    ) -> Option<(u16, &mut sdwan_policy::nat44::Nat44)> {
        self.nat
            .iter_mut()
            .find(|(b, _)| b.port == wan && (b.ports.0..=b.ports.1).contains(&port))
            .map(|(b, n)| (b.vrf, n))
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The worker's inbound SAs (replay state, per-SA counters).
    pub fn inbound(&self) -> &InboundSet<DefaultEngine> {
        &self.inbound
    }

    /// This worker's running counters of tunnel `id` of the synced snapshot.
    pub fn tunnel_counters(&self, id: usize) -> Option<&TunnelCounters> {
        self.tunnels.get(id)
    }

    #[inline]
    pub(crate) fn is_wan(&self, port: u16) -> bool {
        self.wan_ports
            .get(usize::from(port))
            .copied()
            .unwrap_or(false)
    }

    /// Brings this worker in line with `table` if its generation differs
    /// (once per snapshot change; allocates then, never per packet).
    #[inline]
    pub fn sync(&mut self, table: &OverlayTable, counters: &mut WorkerCounters) {
        if table.generation != self.generation {
            self.rebuild(table, counters);
        }
    }

    #[cold]
    fn rebuild(&mut self, table: &OverlayTable, counters: &mut WorkerCounters) {
        // Inbound: keep what stays, replace what changed, drop the rest.
        let wanted: HashMap<u32, &super::InboundSaSpec, BuildHasherDefault<SpiHasher>> =
            table.inbound.iter().map(|s| (s.spi, s)).collect();
        let gone: Vec<u32> = self
            .installed
            .iter()
            .filter(|(spi, i)| {
                wanted
                    .get(spi)
                    .is_none_or(|s| !i.same_sa(&s.params, &s.keys))
            })
            .map(|(spi, _)| *spi)
            .collect();
        for spi in gone {
            self.installed.remove(&spi);
            self.inbound.remove(spi);
        }
        for spec in &table.inbound {
            if let Some(i) = self.installed.get_mut(&spec.spi) {
                i.local_port = spec.local_port;
            } else {
                match InboundSa::new(spec.params, &spec.keys) {
                    Ok(sa) => {
                        self.inbound.insert(sa);
                        self.installed.insert(
                            spec.spi,
                            Installed {
                                local_port: spec.local_port,
                                params: spec.params,
                                keys: spec.keys.clone(),
                            },
                        );
                    }
                    Err(_) => {
                        counters.event(Event::InboundSaRejected);
                        continue;
                    }
                }
            }
            // New or kept, the SA is bound to the spec's port and peer.
            if let Some(sa) = self.inbound.get_mut(spec.spi) {
                sa.set_tag(u32::from(spec.local_port));
                sa.set_expected_peer(spec.peer);
            }
        }
        // WAN ports: where tunnels leave and where inbound SAs arrive.
        let ports = table
            .tunnels
            .iter()
            .map(|t| t.local_port)
            .chain(table.inbound.iter().map(|s| s.local_port));
        self.wan_ports.clear();
        for p in ports {
            let p = usize::from(p);
            if self.wan_ports.len() <= p {
                self.wan_ports.resize(p + 1, false);
            }
            self.wan_ports[p] = true;
        }
        // Tunnel counters follow the tunnel list; a tunnel that stays (same
        // port, remote and SPI) keeps its running totals.
        let old: HashMap<TunnelKey, TunnelCounters> = self
            .block_tunnel_keys()
            .into_iter()
            .zip(self.tunnels.iter().copied())
            .collect();
        let keys: Vec<TunnelKey> = table
            .tunnels
            .iter()
            .map(|t| TunnelKey {
                local_port: t.local_port,
                remote: t.remote,
                spi: t.sa.spi(),
            })
            .collect();
        self.tunnels = keys
            .iter()
            .map(|k| old.get(k).copied().unwrap_or_default())
            .collect();
        self.underlay.reset(self.tunnels.len());
        let mut inbound_keys: Vec<InboundKey> = self
            .installed
            .iter()
            .map(|(spi, i)| InboundKey {
                local_port: i.local_port,
                spi: *spi,
            })
            .collect();
        inbound_keys.sort_unstable();
        self.inbound_keys = inbound_keys;
        self.block = Arc::new(OverlayCounterBlock::new(&keys, &self.inbound_keys));
        self.block_keys = keys;
        self.block_published = false;
        self.dirty = true;
        self.sync_policy(table, counters);
        self.generation = table.generation;
    }

    /// Flow cache and NAT44 instances for the snapshot's policy and
    /// breakouts; a NAT whose breakout did not change keeps its mappings.
    fn sync_policy(&mut self, table: &OverlayTable, counters: &mut WorkerCounters) {
        use sdwan_policy::flow_table::{FlowTable, FlowTableConfig};
        use sdwan_policy::nat44::{Nat44, Nat44Config, NatTimeouts};
        if table.policy.is_some() && self.flows.is_none() {
            self.flows = Some(FlowTable::new(FlowTableConfig {
                capacity: FLOW_CAPACITY,
                idle_timeout_ns: FLOW_IDLE_NS,
                seed: 0x5eed_f10e ^ u64::from(self.nat_shard.0),
            }));
        }
        let mut old = std::mem::take(&mut self.nat);
        for b in &table.breakout {
            if let Some(i) = old.iter().position(|(ob, _)| ob == b) {
                self.nat.push(old.swap_remove(i));
                continue;
            }
            let cfg = Nat44Config {
                public_addrs: vec![b.public],
                port_lo: b.ports.0,
                port_hi: b.ports.1,
                max_mappings: NAT_MAPPINGS,
                timeouts: NatTimeouts::default(),
                shard: self.nat_shard.0,
                shards: self.nat_shard.1,
                seed: 0x4e47_0044 ^ u64::from(b.vrf),
            };
            match Nat44::new(&cfg) {
                Ok(n) => self.nat.push((b.clone(), n)),
                Err(_) => counters.event(Event::BreakoutRejected),
            }
        }
    }

    fn block_tunnel_keys(&mut self) -> Vec<TunnelKey> {
        std::mem::take(&mut self.block_keys)
    }

    /// Publishes this worker's tunnel and SA counters into its slot (call
    /// once per burst; a no-op when nothing changed).
    pub fn publish(&mut self, slot: &ArcSwap<OverlayCounterBlock>) {
        if !self.block_published {
            slot.store(Arc::clone(&self.block));
            self.block_published = true;
        }
        if !self.dirty {
            return;
        }
        for (i, c) in self.tunnels.iter().enumerate() {
            self.block.store_tunnel(i, c);
        }
        for (i, k) in self.inbound_keys.iter().enumerate() {
            if let Some(sa) = self.inbound.get(k.spi) {
                self.block.store_inbound(i, sa.counters());
            }
        }
        self.dirty = false;
    }
}
