//! Source NAT44 for internet breakout (issue: "sent straight to the
//! internet with source NAT44 on the internet port"). I/O-free: the
//! dataplane hands it an IPv4 packet and the time, it rewrites the packet
//! in place or names why to drop it.
//!
//! Behaviour (RFC 4787 / RFC 5382 / RFC 5508 terms):
//! - Mapping per (protocol, inside address, inside port, remote address,
//!   remote port) — "address and port-dependent mapping" — each with its
//!   own outside port, so return traffic is found by (public address,
//!   protocol, outside port) alone and checked against the remote
//!   ("address and port-dependent filtering"). Endpoint-independent
//!   mapping (RFC 4787 REQ-1, for peer-to-peer apps) is not offered.
//! - Pooling is paired (RFC 4787 REQ-2): an inside host always gets the
//!   same public address (a hash of its address picks it).
//! - Outside ports come from the configured range of each public address,
//!   split into equal contiguous blocks, one per worker ([`Nat44Config::
//!   shards`]): each worker owns its mappings, no locks, and
//!   [`Nat44Config::shard_of_port`] tells the dataplane which worker owns
//!   a return packet. Free ports are handed out oldest-freed first, in a
//!   seeded random initial order (RFC 6056 spirit).
//! - Timeouts ([`NatTimeouts`], defaults from the RFCs): TCP established
//!   2 h 4 min and transitory 4 min (RFC 5382 REQ-5), UDP 5 min (RFC 4787
//!   REQ-5), ICMP query 60 s (RFC 5508 REQ-1). A TCP mapping is
//!   established once both directions were seen, transitory before and
//!   after a FIN or RST.
//! - Expired mappings are freed when next looked up, when an allocation
//!   fails, and by [`Nat44::expire`], which the worker calls with a small
//!   budget between bursts.
//! - Not translated (named drops): fragments (`nat_fragment`, no virtual
//!   reassembly), ICMP errors about translated flows and every ICMP type
//!   but echo (`nat_unsupported_protocol`), other protocols.
//!
//! Memory is allocated once in [`Nat44::new`]: the mapping slab, the inside
//! index ([`index`]), a direct outside table of `addresses × 3 × ports`
//! slot numbers and one free-port queue per (address, protocol).

mod index;
pub mod rewrite;

use crate::drop_reason::{DropCounters, PolicyDrop};
use crate::hash::{fold_mul, hash_words};
use core::fmt;
use index::Index;
use rewrite::{NatProto, Side, View, ECHO_REPLY, ECHO_REQUEST};
use std::collections::VecDeque;
use std::net::Ipv4Addr;

const SEC: u64 = 1_000_000_000;
const NONE: u32 = u32::MAX;

/// Idle timeouts in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatTimeouts {
    pub tcp_established_ns: u64,
    pub tcp_transitory_ns: u64,
    pub udp_ns: u64,
    pub icmp_ns: u64,
}

impl Default for NatTimeouts {
    fn default() -> Self {
        Self {
            tcp_established_ns: 7440 * SEC,
            tcp_transitory_ns: 240 * SEC,
            udp_ns: 300 * SEC,
            icmp_ns: 60 * SEC,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nat44Config {
    /// Public addresses of the internet port.
    pub public_addrs: Vec<Ipv4Addr>,
    /// Outside port range of every public address (inclusive).
    pub port_lo: u16,
    pub port_hi: u16,
    /// Mappings this worker can hold.
    pub max_mappings: usize,
    pub timeouts: NatTimeouts,
    /// This worker's block of the port range, of `shards` blocks.
    pub shard: u16,
    pub shards: u16,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatConfigError {
    NoPublicAddress,
    TooManyPublicAddresses {
        count: usize,
    },
    EmptyPortRange {
        lo: u16,
        hi: u16,
    },
    BadShard {
        shard: u16,
        shards: u16,
    },
    /// Fewer ports than shards: some worker would have none.
    TooFewPorts {
        ports: usize,
        shards: u16,
    },
    NoMappings,
    TooManyMappings {
        max: usize,
    },
}

impl fmt::Display for NatConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NatConfigError::NoPublicAddress => write!(f, "no public address configured"),
            NatConfigError::TooManyPublicAddresses { count } => {
                write!(f, "{count} public addresses, at most 65535")
            }
            NatConfigError::EmptyPortRange { lo, hi } => write!(f, "port range {lo}-{hi} is empty"),
            NatConfigError::BadShard { shard, shards } => {
                write!(f, "shard {shard} of {shards} does not exist")
            }
            NatConfigError::TooFewPorts { ports, shards } => {
                write!(f, "{ports} ports cannot be split into {shards} shards")
            }
            NatConfigError::NoMappings => write!(f, "max_mappings is 0"),
            NatConfigError::TooManyMappings { max } => write!(f, "max_mappings above {max}"),
        }
    }
}

impl std::error::Error for NatConfigError {}

impl Nat44Config {
    fn validate(&self) -> Result<(), NatConfigError> {
        if self.public_addrs.is_empty() {
            return Err(NatConfigError::NoPublicAddress);
        }
        if self.public_addrs.len() > usize::from(u16::MAX) {
            return Err(NatConfigError::TooManyPublicAddresses {
                count: self.public_addrs.len(),
            });
        }
        if self.port_lo > self.port_hi {
            return Err(NatConfigError::EmptyPortRange {
                lo: self.port_lo,
                hi: self.port_hi,
            });
        }
        if self.shards == 0 || self.shard >= self.shards {
            return Err(NatConfigError::BadShard {
                shard: self.shard,
                shards: self.shards,
            });
        }
        let ports = self.range_len();
        if ports < usize::from(self.shards) {
            return Err(NatConfigError::TooFewPorts {
                ports,
                shards: self.shards,
            });
        }
        if self.max_mappings == 0 {
            return Err(NatConfigError::NoMappings);
        }
        let max = (u32::MAX / 2) as usize;
        if self.max_mappings > max {
            return Err(NatConfigError::TooManyMappings { max });
        }
        Ok(())
    }

    fn range_len(&self) -> usize {
        usize::from(self.port_hi) - usize::from(self.port_lo) + 1
    }

    fn block(&self) -> usize {
        self.range_len() / usize::from(self.shards.max(1))
    }

    /// First and last outside port of this worker's block (the last block
    /// also takes the remainder).
    pub fn shard_ports(&self) -> (u16, u16) {
        let b = self.block();
        let lo = usize::from(self.port_lo) + usize::from(self.shard) * b;
        let hi = if self.shard + 1 == self.shards {
            usize::from(self.port_hi)
        } else {
            lo + b - 1
        };
        // Both lie within port_lo..=port_hi.
        (lo as u16, hi as u16)
    }

    /// The shard owning outside port `port`, `None` outside the range.
    pub fn shard_of_port(&self, port: u16) -> Option<u16> {
        if port < self.port_lo || port > self.port_hi || self.shards == 0 {
            return None;
        }
        let i = (usize::from(port - self.port_lo) / self.block().max(1))
            .min(usize::from(self.shards) - 1);
        // i < shards, a u16.
        Some(i as u16)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TcpState {
    Transitory,
    Established,
    Closing,
}

#[derive(Debug, Clone, Copy)]
struct Mapping {
    inside_addr: u32,
    remote_addr: u32,
    inside_port: u16,
    remote_port: u16,
    outside_port: u16,
    addr_idx: u16,
    proto: NatProto,
    tcp: TcpState,
    seen_inbound: bool,
    used: bool,
    hash: u32,
    last_seen: u64,
}

const UNUSED: Mapping = Mapping {
    inside_addr: 0,
    remote_addr: 0,
    inside_port: 0,
    remote_port: 0,
    outside_port: 0,
    addr_idx: 0,
    proto: NatProto::Udp,
    tcp: TcpState::Transitory,
    seen_inbound: false,
    used: false,
    hash: 0,
    last_seen: 0,
};

/// Per-worker NAT events (drops are in [`Nat44::drops`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NatStats {
    pub created: u64,
    pub expired: u64,
    pub translated_out: u64,
    pub translated_in: u64,
}

/// A mapping as `show nat` would print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingInfo {
    pub proto: NatProto,
    pub inside: (Ipv4Addr, u16),
    pub outside: (Ipv4Addr, u16),
    pub remote: (Ipv4Addr, u16),
    pub established: bool,
}

#[derive(Debug)]
pub struct Nat44 {
    public: Vec<u32>,
    port_lo: u16,
    ports: usize,
    timeouts: NatTimeouts,
    seed: u64,
    slab: Box<[Mapping]>,
    free_slots: Vec<u32>,
    inside: Index,
    /// `[(addr * 3 + proto) * ports + (port - port_lo)]` → slot or NONE.
    outside: Box<[u32]>,
    /// One queue of free outside ports per (address, protocol).
    free_ports: Vec<VecDeque<u16>>,
    sweep_at: usize,
    stats: NatStats,
    drops: DropCounters,
}

impl Nat44 {
    pub fn new(cfg: &Nat44Config) -> Result<Self, NatConfigError> {
        cfg.validate()?;
        let (lo, hi) = cfg.shard_ports();
        let ports = usize::from(hi) - usize::from(lo) + 1;
        let naddr = cfg.public_addrs.len();
        let mut rng = cfg.seed ^ 0x9e37_79b9_7f4a_7c15;
        let mut free_ports = Vec::with_capacity(naddr * NatProto::COUNT);
        for _ in 0..naddr * NatProto::COUNT {
            let mut order: Vec<u16> = (lo..=hi).collect();
            // Fisher–Yates with a seeded multiply-fold generator.
            for i in (1..order.len()).rev() {
                rng = fold_mul(rng, 0xa076_1d64_78bd_642f) ^ (i as u64);
                order.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            free_ports.push(VecDeque::from(order));
        }
        let n = cfg.max_mappings;
        Ok(Self {
            public: cfg.public_addrs.iter().map(|a| u32::from(*a)).collect(),
            port_lo: lo,
            ports,
            timeouts: cfg.timeouts,
            seed: cfg.seed,
            slab: vec![UNUSED; n].into_boxed_slice(),
            // Pop order: slot 0 first.
            free_slots: (0..n as u32).rev().collect(),
            inside: Index::new(n),
            outside: vec![NONE; naddr * NatProto::COUNT * ports].into_boxed_slice(),
            free_ports,
            sweep_at: 0,
            stats: NatStats::default(),
            drops: DropCounters::default(),
        })
    }

    pub fn stats(&self) -> NatStats {
        self.stats
    }

    pub fn drops(&self) -> &DropCounters {
        &self.drops
    }

    /// Mappings in the table (including expired ones not yet freed).
    pub fn mappings(&self) -> usize {
        self.slab.len() - self.free_slots.len()
    }

    /// Translates an outbound (inside → internet) IPv4 packet in place:
    /// source address and port (or echo identifier) become the mapping's
    /// public ones. Creates the mapping if needed.
    pub fn outbound(&mut self, ip: &mut [u8], now: u64) -> Result<(), PolicyDrop> {
        let r = self.outbound_inner(ip, now);
        if let Err(d) = r {
            self.drops.count(d);
        }
        r
    }

    /// Translates a return (internet → inside) IPv4 packet in place:
    /// destination address and port become the inside host's.
    pub fn inbound(&mut self, ip: &mut [u8], now: u64) -> Result<(), PolicyDrop> {
        let r = self.inbound_inner(ip, now);
        if let Err(d) = r {
            self.drops.count(d);
        }
        r
    }

    fn outbound_inner(&mut self, ip: &mut [u8], now: u64) -> Result<(), PolicyDrop> {
        let v = rewrite::parse(ip, ECHO_REQUEST)?;
        let remote_port = if v.proto == NatProto::Icmp {
            0
        } else {
            v.dst_port
        };
        let hash = self.inside_hash(v.proto, v.src, v.src_port, v.dst, remote_port);
        let found = self.inside.find(hash, |s| {
            let m = &self.slab[s as usize];
            m.proto == v.proto
                && m.inside_addr == v.src
                && m.inside_port == v.src_port
                && m.remote_addr == v.dst
                && m.remote_port == remote_port
        });
        let slot = match found {
            Some(s) if !self.expired(&self.slab[s as usize], now) => s,
            Some(s) => {
                self.free(s);
                self.create(&v, remote_port, hash, now)?
            }
            None => self.create(&v, remote_port, hash, now)?,
        };
        let m = &mut self.slab[slot as usize];
        m.last_seen = now;
        if v.proto == NatProto::Tcp {
            if v.fin_or_rst() {
                m.tcp = TcpState::Closing;
            } else if m.tcp == TcpState::Transitory && m.seen_inbound {
                m.tcp = TcpState::Established;
            }
        }
        let (addr, port) = (self.public[usize::from(m.addr_idx)], m.outside_port);
        rewrite::rewrite(ip, &v, Side::Source, addr, port);
        self.stats.translated_out += 1;
        Ok(())
    }

    fn inbound_inner(&mut self, ip: &mut [u8], now: u64) -> Result<(), PolicyDrop> {
        let v = rewrite::parse(ip, ECHO_REPLY)?;
        let addr_idx = self
            .public
            .iter()
            .position(|a| *a == v.dst)
            .ok_or(PolicyDrop::NatNoMapping)?;
        let at = self
            .outside_at(addr_idx, v.proto, v.dst_port)
            .ok_or(PolicyDrop::NatNoMapping)?;
        let slot = self.outside[at];
        if slot == NONE {
            return Err(PolicyDrop::NatNoMapping);
        }
        if self.expired(&self.slab[slot as usize], now) {
            self.free(slot);
            return Err(PolicyDrop::NatNoMapping);
        }
        let m = &mut self.slab[slot as usize];
        let port_ok = v.proto == NatProto::Icmp || m.remote_port == v.src_port;
        if m.remote_addr != v.src || !port_ok {
            return Err(PolicyDrop::NatFiltered);
        }
        m.last_seen = now;
        m.seen_inbound = true;
        if v.proto == NatProto::Tcp {
            if v.fin_or_rst() {
                m.tcp = TcpState::Closing;
            } else if m.tcp == TcpState::Transitory {
                m.tcp = TcpState::Established;
            }
        }
        let (addr, port) = (m.inside_addr, m.inside_port);
        rewrite::rewrite(ip, &v, Side::Destination, addr, port);
        self.stats.translated_in += 1;
        Ok(())
    }

    /// Frees expired mappings among the next `budget` slots (round robin);
    /// returns how many were freed.
    pub fn expire(&mut self, now: u64, budget: usize) -> usize {
        let mut freed = 0;
        for _ in 0..budget.min(self.slab.len()) {
            let s = self.sweep_at;
            self.sweep_at = (s + 1) % self.slab.len();
            let m = &self.slab[s];
            if m.used && self.expired(m, now) {
                // s < slab.len() <= u32::MAX / 2.
                self.free(s as u32);
                freed += 1;
            }
        }
        freed
    }

    /// The mapping that owns a public address and port, if any.
    pub fn lookup_outside(
        &self,
        proto: NatProto,
        addr: Ipv4Addr,
        port: u16,
    ) -> Option<MappingInfo> {
        let idx = self.public.iter().position(|a| *a == u32::from(addr))?;
        let slot = *self.outside.get(self.outside_at(idx, proto, port)?)?;
        if slot == NONE {
            return None;
        }
        let m = &self.slab[slot as usize];
        Some(MappingInfo {
            proto: m.proto,
            inside: (m.inside_addr.into(), m.inside_port),
            outside: (self.public[usize::from(m.addr_idx)].into(), m.outside_port),
            remote: (m.remote_addr.into(), m.remote_port),
            established: m.tcp == TcpState::Established,
        })
    }

    fn inside_hash(&self, proto: NatProto, addr: u32, port: u16, remote: u32, rport: u16) -> u32 {
        let a = (proto as u64) | u64::from(port) << 8 | u64::from(rport) << 24;
        let b = u64::from(addr) | u64::from(remote) << 32;
        // The index keeps 32 bits of the hash.
        hash_words(self.seed, &[a, b]) as u32
    }

    fn outside_at(&self, addr_idx: usize, proto: NatProto, port: u16) -> Option<usize> {
        let off = usize::from(port.checked_sub(self.port_lo)?);
        if off >= self.ports {
            return None;
        }
        Some((addr_idx * NatProto::COUNT + proto as usize) * self.ports + off)
    }

    fn timeout(&self, m: &Mapping) -> u64 {
        match (m.proto, m.tcp) {
            (NatProto::Tcp, TcpState::Established) => self.timeouts.tcp_established_ns,
            (NatProto::Tcp, _) => self.timeouts.tcp_transitory_ns,
            (NatProto::Udp, _) => self.timeouts.udp_ns,
            (NatProto::Icmp, _) => self.timeouts.icmp_ns,
        }
    }

    fn expired(&self, m: &Mapping, now: u64) -> bool {
        now.saturating_sub(m.last_seen) > self.timeout(m)
    }

    fn create(
        &mut self,
        v: &View,
        remote_port: u16,
        hash: u32,
        now: u64,
    ) -> Result<u32, PolicyDrop> {
        // Paired pooling: the inside address picks the public address.
        let addr_idx =
            (hash_words(self.seed, &[u64::from(v.src)]) % self.public.len() as u64) as usize;
        let q = addr_idx * NatProto::COUNT + v.proto as usize;
        if self.free_slots.is_empty() || self.free_ports[q].is_empty() {
            // Reclaim what has timed out before refusing.
            self.expire(now, self.slab.len());
        }
        if self.free_slots.is_empty() {
            return Err(PolicyDrop::NatTableFull);
        }
        let port = self.free_ports[q]
            .pop_front()
            .ok_or(PolicyDrop::NatPortsExhausted)?;
        let slot = self.free_slots.pop().ok_or(PolicyDrop::NatTableFull)?;
        self.slab[slot as usize] = Mapping {
            inside_addr: v.src,
            remote_addr: v.dst,
            inside_port: v.src_port,
            remote_port,
            outside_port: port,
            // addr_idx < public.len() <= u16::MAX (validated).
            addr_idx: addr_idx as u16,
            proto: v.proto,
            tcp: TcpState::Transitory,
            seen_inbound: false,
            used: true,
            hash,
            last_seen: now,
        };
        self.inside.insert(hash, slot);
        if let Some(at) = self.outside_at(addr_idx, v.proto, port) {
            self.outside[at] = slot;
        }
        self.stats.created += 1;
        Ok(slot)
    }

    fn free(&mut self, slot: u32) {
        let m = self.slab[slot as usize];
        if !m.used {
            return;
        }
        self.inside.remove(m.hash, slot);
        let idx = usize::from(m.addr_idx);
        if let Some(at) = self.outside_at(idx, m.proto, m.outside_port) {
            self.outside[at] = NONE;
        }
        self.free_ports[idx * NatProto::COUNT + m.proto as usize].push_back(m.outside_port);
        self.slab[slot as usize].used = false;
        self.free_slots.push(slot);
        self.stats.expired += 1;
    }
}

#[cfg(test)]
mod tests;
