//! The guard of internet-facing WAN ports (draft §6.2.2 and §8: "traffic
//! received through Internet-facing WAN ports must undergo anti-DDoS
//! mechanisms"; issue #7). A port whose [`PortConfig::guard`] is set
//! (the edge sets it on every `[[wan]]` of kind `internet`) never accepts
//! routes, BGP or transit traffic. For every IP packet received on it
//! (not for client packets decrypted out of the overlay):
//!
//! 1. per-source rate limit first: one GCRA bucket table per port and
//!    worker (`sdwan_policy::rate_limit`, IPv6 sources grouped by /64);
//!    over the limit → `wan_rate_limited`. An ESP packet that then
//!    decrypts (ICV verified, no replay) from its SA's peer gives its
//!    token back ([`refund`]): peers' tunnel traffic is not limited,
//!    unverified traffic sent with their addresses is;
//! 2. not addressed to us → `wan_transit` (multicast / broadcast we do
//!    not listen to → `wan_filtered`);
//! 3. addressed to us, admitted only: ESP-in-UDP / NAT-T keepalives to
//!    UDP 4500 (`overlay_in` checks SPI and peer binding), ICMP / ICMPv6
//!    echo requests to a unicast address of ours (answered), NDP
//!    (RS/RA/NS/NA/redirect), and the configured management traffic
//!    ([`AllowRule`]: protocol, destination port, source prefix → the
//!    glue as `Verdict::Local`); everything else → `wan_filtered`.
//!
//! ARP is not IP and is not limited here: it is answered only for our own
//! addresses and costs one lookup. Each step is counted per port
//! ([`crate::counters::GuardCounters`]) besides the drop reasons.

use super::port::{in_prefix_v4, in_prefix_v6};
use super::{PortConfig, WorkerState};
use crate::drop_reason::DropReason;
use sdwan_packet::icmpv4::msg_type as icmp4;
use sdwan_packet::icmpv6::msg_type as icmp6;
use sdwan_packet::ipv4::protocol;
use sdwan_packet::ipv6::next_header;
use sdwan_policy::rate_limit::{Charged, RateLimitConfig, RateLimiter};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Default per-source limit (packets per second, per worker) of what is
/// not verified tunnel traffic (a peer's genuine ESP gives its token back).
pub const DEFAULT_RATE_LIMIT_PPS: u32 = 100_000;
/// Default burst a source may send back to back (100 ms at the default
/// rate).
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 10_000;
/// Buckets per port and worker (8 bytes each); sources whose seeded
/// hashes collide share one.
const BUCKETS: usize = 4096;
/// IPv6 sources are limited per /64 (one subscriber holds a whole /64).
const V6_SOURCE_PREFIX: u8 = 64;

/// What an internet WAN port admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WanGuard {
    /// Per source and worker; 0: no rate limit.
    pub rate_limit_pps: u32,
    pub rate_limit_burst: u32,
    /// Management traffic to us that goes to the glue (`Verdict::Local`).
    pub allow: Vec<AllowRule>,
}

impl Default for WanGuard {
    fn default() -> Self {
        Self {
            rate_limit_pps: DEFAULT_RATE_LIMIT_PPS,
            rate_limit_burst: DEFAULT_RATE_LIMIT_BURST,
            allow: Vec::new(),
        }
    }
}

/// Transport of an [`AllowRule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardProtocol {
    Tcp,
    Udp,
}

impl GuardProtocol {
    fn number(self) -> u8 {
        match self {
            GuardProtocol::Tcp => protocol::TCP,
            GuardProtocol::Udp => protocol::UDP,
        }
    }
}

/// A source prefix (`addr` with host bits clear, `len` ≤ 32 / 128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourcePrefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl SourcePrefix {
    #[inline]
    fn contains_v4(&self, a: Ipv4Addr) -> bool {
        matches!(self.addr, IpAddr::V4(n) if in_prefix_v4(a, n, self.len))
    }

    #[inline]
    fn contains_v6(&self, a: &Ipv6Addr) -> bool {
        matches!(self.addr, IpAddr::V6(n) if in_prefix_v6(a, &n, self.len))
    }
}

/// Management traffic admitted on an internet WAN port: `protocol` to
/// destination `port` from a source inside `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowRule {
    pub protocol: GuardProtocol,
    pub port: u16,
    pub from: SourcePrefix,
}

/// A worker's limiter of one port: built on the first packet the port
/// receives (once; never again per packet). The limiter stays inline
/// (no box): every packet on a guarded port reads it, and a slot per port
/// is a few hundred bytes per worker.
#[derive(Debug, Default)]
#[allow(clippy::large_enum_variant)]
enum Slot {
    #[default]
    Unset,
    Off,
    On(RateLimiter),
}

/// One worker's rate limiters, indexed by port id.
#[derive(Debug, Default)]
pub struct GuardWorker {
    slots: Vec<Slot>,
    /// The port and bucket the packet in process took its token from:
    /// [`refund`] gives it back without hashing the source again.
    charged: Option<(u16, Charged)>,
}

impl GuardWorker {
    #[cold]
    #[inline(never)]
    fn install(&mut self, port: &PortConfig, guard: &WanGuard) -> &mut Slot {
        let i = usize::from(port.id);
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, Slot::default);
        }
        let seed = std::hash::BuildHasher::hash_one(
            &std::collections::hash_map::RandomState::new(),
            port.id,
        );
        let cfg = RateLimitConfig {
            buckets: BUCKETS,
            rate_pps: u64::from(guard.rate_limit_pps),
            burst: guard.rate_limit_burst,
            v6_prefix_len: V6_SOURCE_PREFIX,
            seed,
        };
        // The config layer refuses what RateLimiter refuses; a guard built
        // by hand with bad numbers runs without a limiter.
        self.slots[i] = match RateLimiter::new(&cfg) {
            Ok(l) if guard.rate_limit_pps != 0 => Slot::On(l),
            _ => Slot::Off,
        };
        &mut self.slots[i]
    }
}

/// Step 1: the per-source rate limit of the port `guard` belongs to.
/// Every packet on a guarded port: inlined, so the address family is
/// known at compile time and no `IpAddr` goes through memory.
#[inline(always)]
pub(super) fn limit(
    port: &PortConfig,
    guard: &WanGuard,
    src: IpAddr,
    worker: &mut WorkerState,
) -> Result<(), DropReason> {
    let gw = &mut worker.wan_guard;
    let slot = match gw.slots.get_mut(usize::from(port.id)) {
        Some(s) if !matches!(s, Slot::Unset) => s,
        _ => gw.install(port, guard),
    };
    let Slot::On(limiter) = slot else {
        return Ok(());
    };
    let now = worker.now_ns;
    let charged = match src {
        IpAddr::V4(a) => limiter.check_v4(u32::from(a), now).ok(),
        IpAddr::V6(_) => limiter.check(src, now).ok(),
    };
    gw.charged = charged.map(|c| (port.id, c));
    let passed = charged.is_some();
    if let Some(c) = worker.counters.guard_mut(port.id) {
        if passed {
            c.passed += 1;
        } else {
            c.rate_limited += 1;
        }
    }
    if passed {
        Ok(())
    } else {
        Err(DropReason::WanRateLimited)
    }
}

/// After step 3: the packet in process on `port` was genuine tunnel
/// traffic (its ICV verified, it was no replay and it came from its SA's
/// peer), so it gives back the token step 1 took: a peer's tunnel traffic
/// is not limited, while anything unverified sent with its address still
/// is. Nothing is given back for a packet step 1 did not charge.
#[inline(always)]
pub(super) fn refund(port: &PortConfig, worker: &mut WorkerState) {
    let gw = &mut worker.wan_guard;
    if let (Some((p, c)), Some(Slot::On(limiter))) =
        (gw.charged.take(), gw.slots.get_mut(usize::from(port.id)))
    {
        if p == port.id {
            limiter.refund_charged(c);
        }
    }
}

/// Step 2: not for us. Counted per port; returns the drop reason.
#[cold]
pub(super) fn not_for_us(port: &PortConfig, group: bool, worker: &mut WorkerState) -> DropReason {
    if group {
        return filtered(port, worker);
    }
    if let Some(c) = worker.counters.guard_mut(port.id) {
        c.transit += 1;
    }
    DropReason::WanTransit
}

/// Step 3 refused: counted per port; returns the drop reason.
#[cold]
pub(super) fn filtered(port: &PortConfig, worker: &mut WorkerState) -> DropReason {
    if let Some(c) = worker.counters.guard_mut(port.id) {
        c.filtered += 1;
    }
    DropReason::WanFiltered
}

/// The destination port of the TCP/UDP header at `l4`, if it is there.
#[inline]
fn dst_port(l4: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]))
}

/// Step 3 for an IPv4 packet to one of our addresses that is not overlay
/// traffic: `proto` of the unfragmented or fragmented (`fragment`)
/// packet from `src`, transport header at `l4`.
#[inline]
pub(super) fn admits_v4(
    guard: &WanGuard,
    src: Ipv4Addr,
    proto: u8,
    fragment: bool,
    l4: &[u8],
) -> bool {
    if fragment {
        return false;
    }
    match proto {
        protocol::ICMP => l4.first() == Some(&icmp4::ECHO_REQUEST),
        protocol::TCP | protocol::UDP => dst_port(l4).is_some_and(|p| {
            guard
                .allow
                .iter()
                .any(|r| r.protocol.number() == proto && r.port == p && r.from.contains_v4(src))
        }),
        _ => false,
    }
}

/// Step 3 for IPv6 (unicast to us or a group we joined): NDP, echo to a
/// unicast address, allowed management traffic.
#[inline]
pub(super) fn admits_v6(
    guard: &WanGuard,
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
    proto: u8,
    fragment: bool,
    l4: &[u8],
) -> bool {
    if fragment {
        return false;
    }
    match proto {
        next_header::ICMPV6 => match l4.first() {
            Some(&icmp6::ECHO_REQUEST) => !dst.is_multicast(),
            // RS, RA, NS, NA, redirect (RFC 4861 §4): the link's own.
            Some(t) => (icmp6::ROUTER_SOLICIT..=icmp6::REDIRECT).contains(t),
            None => false,
        },
        next_header::TCP | next_header::UDP if !dst.is_multicast() => {
            dst_port(l4).is_some_and(|p| {
                guard
                    .allow
                    .iter()
                    .any(|r| r.protocol.number() == proto && r.port == p && r.from.contains_v6(src))
            })
        }
        _ => false,
    }
}
