//! Every reason a building block of this crate tells the dataplane to drop a
//! packet, with the snake_case name operators grep for, and a per-worker
//! counter array (one plain `u64` per reason: each worker owns its own, the
//! management side sums them).

use core::fmt;

/// Why a packet was dropped by policy, NAT or rate limiting. Names
/// (`as_str`) are stable API: they appear in metrics and CLI output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PolicyDrop {
    /// A `PrivateOnly` flow while no private path is usable: dropped
    /// instead of leaking onto the internet.
    PrivatePathDown,
    /// An `InternetBreakout` flow while no internet port is usable.
    InternetPathDown,
    /// An `EncryptedAny` / `Any` flow while neither path is usable.
    NoUsablePath,
    /// The IP packet could not be parsed into a flow key.
    BadFlowKey,
    /// NAT44: no free port left on the public address for this host.
    NatPortsExhausted,
    /// NAT44: the mapping table is full.
    NatTableFull,
    /// NAT44: return traffic with no mapping for its destination port.
    NatNoMapping,
    /// NAT44: return traffic from another remote than the mapping's.
    NatFiltered,
    /// NAT44: a protocol NAT does not translate (only TCP, UDP, ICMP echo).
    NatUnsupportedProtocol,
    /// NAT44: an IPv4 fragment (no virtual reassembly here).
    NatFragment,
    /// NAT44: the packet is not a well-formed IPv4 TCP/UDP/ICMP packet.
    NatMalformed,
    /// Per-source rate limit on an internet-facing port exceeded.
    RateLimited,
}

impl PolicyDrop {
    pub const COUNT: usize = PolicyDrop::RateLimited as usize + 1;

    pub const ALL: [PolicyDrop; PolicyDrop::COUNT] = [
        PolicyDrop::PrivatePathDown,
        PolicyDrop::InternetPathDown,
        PolicyDrop::NoUsablePath,
        PolicyDrop::BadFlowKey,
        PolicyDrop::NatPortsExhausted,
        PolicyDrop::NatTableFull,
        PolicyDrop::NatNoMapping,
        PolicyDrop::NatFiltered,
        PolicyDrop::NatUnsupportedProtocol,
        PolicyDrop::NatFragment,
        PolicyDrop::NatMalformed,
        PolicyDrop::RateLimited,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            PolicyDrop::PrivatePathDown => "private_path_down",
            PolicyDrop::InternetPathDown => "internet_path_down",
            PolicyDrop::NoUsablePath => "no_usable_path",
            PolicyDrop::BadFlowKey => "bad_flow_key",
            PolicyDrop::NatPortsExhausted => "nat_ports_exhausted",
            PolicyDrop::NatTableFull => "nat_table_full",
            PolicyDrop::NatNoMapping => "nat_no_mapping",
            PolicyDrop::NatFiltered => "nat_filtered",
            PolicyDrop::NatUnsupportedProtocol => "nat_unsupported_protocol",
            PolicyDrop::NatFragment => "nat_fragment",
            PolicyDrop::NatMalformed => "nat_malformed",
            PolicyDrop::RateLimited => "rate_limited",
        }
    }
}

impl fmt::Display for PolicyDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One worker's drop counters, indexed by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropCounters {
    counts: [u64; PolicyDrop::COUNT],
}

impl DropCounters {
    #[inline]
    pub fn count(&mut self, reason: PolicyDrop) {
        let c = &mut self.counts[reason as usize];
        *c = c.wrapping_add(1);
    }

    pub fn get(&self, reason: PolicyDrop) -> u64 {
        self.counts[reason as usize]
    }

    /// Adds another worker's counters (for the management side's totals).
    pub fn add(&mut self, other: &DropCounters) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a = a.wrapping_add(*b);
        }
    }

    /// `(name, count)` for every reason, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        PolicyDrop::ALL
            .iter()
            .map(move |r| (r.as_str(), self.counts[*r as usize]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_reason_once_in_order() {
        for (i, r) in PolicyDrop::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let mut names: Vec<_> = PolicyDrop::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PolicyDrop::COUNT);
    }

    #[test]
    fn counters_count_and_sum() {
        let mut a = DropCounters::default();
        a.count(PolicyDrop::PrivatePathDown);
        a.count(PolicyDrop::PrivatePathDown);
        let mut b = DropCounters::default();
        b.count(PolicyDrop::RateLimited);
        a.add(&b);
        assert_eq!(a.get(PolicyDrop::PrivatePathDown), 2);
        assert_eq!(a.get(PolicyDrop::RateLimited), 1);
        let named: Vec<_> = a.iter().filter(|(_, n)| *n > 0).collect();
        assert_eq!(named, vec![("private_path_down", 2), ("rate_limited", 1)]);
    }
}
