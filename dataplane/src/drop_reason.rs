//! Every reason the pipeline (or the DPDK glue around it) drops a frame,
//! with the snake_case name operators grep for in `show errors`-style output
//! and metrics. One counter per reason per worker (see `counters`).

/// Why a frame was dropped. Names (`as_str`) are stable API: they appear
/// in metrics and CLI output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// A header (Ethernet, ARP, IPv4, IPv6, ICMP, NDP) is cut short, or a
    /// length field points past the end of the frame.
    Truncated,
    /// EtherType is an 802.3 length, QinQ, or a protocol we do not route.
    BadEthertype,
    /// 802.1Q-tagged frame on an untagged routed port.
    VlanNotConfigured,
    /// Destination MAC is neither ours nor a group address we listen to.
    NotForUs,
    /// The frame arrived on a port id the context does not know.
    UnknownPort,
    /// Source MAC is a group address (IEEE 802.3 forbids it).
    BadSourceMac,
    /// ARP with another hardware/protocol type or an unknown operation.
    BadArp,
    /// ARP request for an address that is not ours (we do no proxy ARP).
    ArpNotForUs,
    /// IPv4 version is not 4 or IHL < 5.
    BadIpv4Header,
    /// IPv4 Total Length smaller than the header.
    BadIpv4Length,
    BadIpv4Checksum,
    /// Source is 0/8, 127/8, multicast, limited broadcast, or ours.
    MartianSource,
    /// Destination multicast/broadcast/loopback/unspecified: not routed.
    MartianDestination,
    /// IPv6 version field is not 6.
    BadIpv6Header,
    /// IPv6 extension-header chain malformed or too long.
    BadIpv6ExtensionHeader,
    /// Link-local (fe80::/10) source or destination would leave its link.
    LinkLocalScope,
    BadIcmpChecksum,
    /// ICMP type/code/length malformed for a message addressed to us.
    BadIcmp,
    /// NS/NA that fails RFC 4861 §7.1 validation (hop limit, code, target,
    /// options, unspecified-source rules).
    BadNdp,
    /// NS for a target that is not ours.
    NdpNotForUs,
    /// For us, but nothing in the pipeline handles it (no control punt).
    LocalUnhandled,
    NoRoute,
    /// Route points to a blackhole next hop.
    Blackhole,
    /// IPv4 TTL would reach 0 (time exceeded sent, if allowed).
    TtlExpired,
    /// IPv6 hop limit would reach 0 (time exceeded sent, if allowed).
    HopLimitExpired,
    /// Larger than the egress MTU (frag needed / packet too big sent when
    /// allowed; we never fragment).
    MtuExceeded,
    /// Next hop's MAC unknown: resolution requested from the control thread.
    NoNeighbor,
    /// The frame had no head- or tailroom left for a rewrite.
    NoRoom,
    /// A chained (multi-segment) mbuf: the pipeline works on one
    /// contiguous frame (counted by the DPDK glue).
    MultiSegment,
    /// The tx ring was full (counted by the DPDK glue).
    TxFull,
}

impl DropReason {
    pub const COUNT: usize = DropReason::TxFull as usize + 1;

    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::Truncated,
        DropReason::BadEthertype,
        DropReason::VlanNotConfigured,
        DropReason::NotForUs,
        DropReason::UnknownPort,
        DropReason::BadSourceMac,
        DropReason::BadArp,
        DropReason::ArpNotForUs,
        DropReason::BadIpv4Header,
        DropReason::BadIpv4Length,
        DropReason::BadIpv4Checksum,
        DropReason::MartianSource,
        DropReason::MartianDestination,
        DropReason::BadIpv6Header,
        DropReason::BadIpv6ExtensionHeader,
        DropReason::LinkLocalScope,
        DropReason::BadIcmpChecksum,
        DropReason::BadIcmp,
        DropReason::BadNdp,
        DropReason::NdpNotForUs,
        DropReason::LocalUnhandled,
        DropReason::NoRoute,
        DropReason::Blackhole,
        DropReason::TtlExpired,
        DropReason::HopLimitExpired,
        DropReason::MtuExceeded,
        DropReason::NoNeighbor,
        DropReason::NoRoom,
        DropReason::MultiSegment,
        DropReason::TxFull,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::BadEthertype => "bad_ethertype",
            DropReason::VlanNotConfigured => "vlan_not_configured",
            DropReason::NotForUs => "not_for_us",
            DropReason::UnknownPort => "unknown_port",
            DropReason::BadSourceMac => "bad_source_mac",
            DropReason::BadArp => "bad_arp",
            DropReason::ArpNotForUs => "arp_not_for_us",
            DropReason::BadIpv4Header => "bad_ipv4_header",
            DropReason::BadIpv4Length => "bad_ipv4_length",
            DropReason::BadIpv4Checksum => "bad_ipv4_checksum",
            DropReason::MartianSource => "martian_source",
            DropReason::MartianDestination => "martian_destination",
            DropReason::BadIpv6Header => "bad_ipv6_header",
            DropReason::BadIpv6ExtensionHeader => "bad_ipv6_extension_header",
            DropReason::LinkLocalScope => "link_local_scope",
            DropReason::BadIcmpChecksum => "bad_icmp_checksum",
            DropReason::BadIcmp => "bad_icmp",
            DropReason::BadNdp => "bad_ndp",
            DropReason::NdpNotForUs => "ndp_not_for_us",
            DropReason::LocalUnhandled => "local_unhandled",
            DropReason::NoRoute => "no_route",
            DropReason::Blackhole => "blackhole",
            DropReason::TtlExpired => "ttl_expired",
            DropReason::HopLimitExpired => "hop_limit_expired",
            DropReason::MtuExceeded => "mtu_exceeded",
            DropReason::NoNeighbor => "no_neighbor",
            DropReason::NoRoom => "no_room",
            DropReason::MultiSegment => "multi_segment",
            DropReason::TxFull => "tx_full",
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_complete_ordered_and_names_unique() {
        let mut names = std::collections::HashSet::new();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            assert!(names.insert(r.as_str()), "duplicate {r}");
            assert!(r
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()));
        }
    }
}
