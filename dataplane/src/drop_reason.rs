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
    /// IKE on UDP 500, or behind the non-ESP marker on 4500: keys come
    /// from BGP (draft §4.3), there is no IKE daemon.
    IkeNotSupported,
    /// ESP-in-UDP shorter than the headers it claims.
    EspTruncated,
    /// Outer IPv4/IPv6 or UDP header of an ESP packet malformed.
    EspBadOuterHeader,
    /// Outer IP fragment of an ESP packet (no reassembly).
    EspFragment,
    /// Neither ESP nor UDP to the NAT-T port.
    EspNotEsp,
    /// No inbound SA for this SPI on this worker.
    EspBadSpi,
    /// Sequence number already seen or left of the anti-replay window.
    EspReplay,
    /// AES-GCM tag did not verify.
    EspIcvFail,
    /// Encrypted part not a multiple of 4 bytes.
    EspBadLength,
    /// ESP padding malformed.
    EspBadPadding,
    /// ESP next header not one we carry.
    EspBadNextHeader,
    /// ESP next header 59 (TFC dummy packet), discarded.
    EspDummy,
    /// Outbound sequence space used up: the SA must be rekeyed.
    EspSeqExhausted,
    /// SA hard lifetime reached.
    EspLifetimeExpired,
    /// No head- or tailroom for ESP encapsulation.
    EspNoRoom,
    /// Encapsulated packet would exceed 65535 bytes.
    EspTooBig,
    /// Inner packet too short for its header (ESP encapsulation).
    EspBadInner,
    /// Outer source address is not the peer the SA expects (checked
    /// before decryption).
    EspBadOuterSource,
    /// Outer CE mark on a not-ECT inner packet (RFC 6040 §4.2).
    EspEcnCeNotEct,
    /// The AEAD engine refused a burst job.
    EspEngineError,
    /// A crypto drop reason this dataplane build does not name yet.
    EspOther,
    /// Authentic ESP on another WAN port than the one its SA is bound to.
    EspWrongPeer,
    /// Decrypted payload is not the MPLS / GRE / VXLAN layout we carry
    /// (label stack deeper than one, GRE without key, VXLAN without I flag...).
    BadInnerEncap,
    /// Decrypted label / GRE key / VNI maps to no VRF.
    UnknownVpnLabel,
    /// FIB points at an overlay path the snapshot lacks, or it has no
    /// usable tunnel.
    OverlayNoTunnel,
    /// A decapsulated packet would be sent into the overlay again from a
    /// VRF that is not a transit one (only a hub-and-spoke hub forwards
    /// overlay to overlay).
    OverlayLoop,
    /// The tunnel's remote endpoint has no route out of its local WAN
    /// port in the underlay VRF.
    UnderlayNoRoute,
    /// A `private-only` flow while no private tunnel to its destination is
    /// usable: dropped instead of leaking onto the internet (draft §3.3).
    PrivatePathDown,
    /// An `encrypted-any` / `any` flow with no tunnel its policy allows.
    NoUsablePath,
    /// An `internet-breakout` flow while no internet WAN port can break out.
    InternetPathDown,
    /// A client packet of a VRF with policies whose flow key cannot be read.
    BadFlowKey,
    /// An IPv6 flow classified `internet-breakout`: there is no NAT66.
    BreakoutNotIpv4,
    /// Breakout NAT44: no free outside port for this inside host.
    NatPortsExhausted,
    /// Breakout NAT44: the mapping table is full.
    NatTableFull,
    /// Breakout NAT44: return traffic to an outside port with no mapping.
    NatNoMapping,
    /// Breakout NAT44: return traffic from another remote than the mapping's.
    NatFiltered,
    /// Breakout NAT44: not TCP, UDP or ICMP echo.
    NatUnsupportedProtocol,
    /// Breakout NAT44: an IPv4 fragment (no virtual reassembly).
    NatFragment,
    /// Breakout NAT44: not a well-formed TCP/UDP/ICMP packet.
    NatMalformed,
    /// Native (unencrypted) overlay traffic on a private WAN port from an
    /// address that is no private tunnel's remote end.
    NativeUnknownPeer,
    /// Internet WAN port: the source exceeded its per-source rate limit.
    WanRateLimited,
    /// Internet WAN port: addressed to us but not ESP-in-UDP 4500, echo,
    /// NDP or allowed management traffic (BGP, other ports, protocols).
    WanFiltered,
    /// Internet WAN port: not addressed to us (no transit from the
    /// internet).
    WanTransit,
}

impl DropReason {
    pub const COUNT: usize = DropReason::WanTransit as usize + 1;

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
        DropReason::IkeNotSupported,
        DropReason::EspTruncated,
        DropReason::EspBadOuterHeader,
        DropReason::EspFragment,
        DropReason::EspNotEsp,
        DropReason::EspBadSpi,
        DropReason::EspReplay,
        DropReason::EspIcvFail,
        DropReason::EspBadLength,
        DropReason::EspBadPadding,
        DropReason::EspBadNextHeader,
        DropReason::EspDummy,
        DropReason::EspSeqExhausted,
        DropReason::EspLifetimeExpired,
        DropReason::EspNoRoom,
        DropReason::EspTooBig,
        DropReason::EspBadInner,
        DropReason::EspBadOuterSource,
        DropReason::EspEcnCeNotEct,
        DropReason::EspEngineError,
        DropReason::EspOther,
        DropReason::EspWrongPeer,
        DropReason::BadInnerEncap,
        DropReason::UnknownVpnLabel,
        DropReason::OverlayNoTunnel,
        DropReason::OverlayLoop,
        DropReason::UnderlayNoRoute,
        DropReason::PrivatePathDown,
        DropReason::NoUsablePath,
        DropReason::InternetPathDown,
        DropReason::BadFlowKey,
        DropReason::BreakoutNotIpv4,
        DropReason::NatPortsExhausted,
        DropReason::NatTableFull,
        DropReason::NatNoMapping,
        DropReason::NatFiltered,
        DropReason::NatUnsupportedProtocol,
        DropReason::NatFragment,
        DropReason::NatMalformed,
        DropReason::NativeUnknownPeer,
        DropReason::WanRateLimited,
        DropReason::WanFiltered,
        DropReason::WanTransit,
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
            DropReason::IkeNotSupported => "ike_not_supported",
            DropReason::EspTruncated => "esp_truncated",
            DropReason::EspBadOuterHeader => "esp_bad_outer_header",
            DropReason::EspFragment => "esp_fragment",
            DropReason::EspNotEsp => "esp_not_esp",
            DropReason::EspBadSpi => "esp_bad_spi",
            DropReason::EspReplay => "esp_replay",
            DropReason::EspIcvFail => "esp_icv_fail",
            DropReason::EspBadLength => "esp_bad_length",
            DropReason::EspBadPadding => "esp_bad_padding",
            DropReason::EspBadNextHeader => "esp_bad_next_header",
            DropReason::EspDummy => "esp_dummy",
            DropReason::EspSeqExhausted => "esp_seq_exhausted",
            DropReason::EspLifetimeExpired => "esp_lifetime_expired",
            DropReason::EspNoRoom => "esp_no_room",
            DropReason::EspTooBig => "esp_too_big",
            DropReason::EspBadInner => "esp_bad_inner",
            DropReason::EspBadOuterSource => "esp_bad_outer_source",
            DropReason::EspEcnCeNotEct => "esp_ecn_ce_not_ect",
            DropReason::EspEngineError => "esp_engine_error",
            DropReason::EspOther => "esp_other",
            DropReason::EspWrongPeer => "esp_wrong_peer",
            DropReason::BadInnerEncap => "bad_inner_encap",
            DropReason::UnknownVpnLabel => "unknown_vpn_label",
            DropReason::OverlayNoTunnel => "overlay_no_tunnel",
            DropReason::OverlayLoop => "overlay_loop",
            DropReason::UnderlayNoRoute => "underlay_no_route",
            DropReason::PrivatePathDown => "private_path_down",
            DropReason::NoUsablePath => "no_usable_path",
            DropReason::InternetPathDown => "internet_path_down",
            DropReason::BadFlowKey => "bad_flow_key",
            DropReason::BreakoutNotIpv4 => "breakout_not_ipv4",
            DropReason::NatPortsExhausted => "nat_ports_exhausted",
            DropReason::NatTableFull => "nat_table_full",
            DropReason::NatNoMapping => "nat_no_mapping",
            DropReason::NatFiltered => "nat_filtered",
            DropReason::NatUnsupportedProtocol => "nat_unsupported_protocol",
            DropReason::NatFragment => "nat_fragment",
            DropReason::NatMalformed => "nat_malformed",
            DropReason::NativeUnknownPeer => "native_unknown_peer",
            DropReason::WanRateLimited => "wan_rate_limited",
            DropReason::WanFiltered => "wan_filtered",
            DropReason::WanTransit => "wan_transit",
        }
    }
}

impl From<sdwan_crypto::DropReason> for DropReason {
    /// Every ESP drop keeps its crypto name with an `esp_` prefix, so
    /// `sdwan_drops_total{reason}` shows them beside the pipeline's own.
    // `EspOther` catches reasons the crypto crate adds before this map
    // learns them; while the match is complete it is unreachable.
    #[allow(unreachable_patterns)]
    fn from(r: sdwan_crypto::DropReason) -> Self {
        use sdwan_crypto::DropReason as C;
        match r {
            C::Truncated => DropReason::EspTruncated,
            C::BadOuterHeader => DropReason::EspBadOuterHeader,
            C::Fragment => DropReason::EspFragment,
            C::NotEsp => DropReason::EspNotEsp,
            C::BadSpi => DropReason::EspBadSpi,
            C::Replay => DropReason::EspReplay,
            C::IcvFail => DropReason::EspIcvFail,
            C::BadLength => DropReason::EspBadLength,
            C::BadPadding => DropReason::EspBadPadding,
            C::BadNextHeader => DropReason::EspBadNextHeader,
            C::Dummy => DropReason::EspDummy,
            C::SeqExhausted => DropReason::EspSeqExhausted,
            C::LifetimeExpired => DropReason::EspLifetimeExpired,
            C::NoRoom => DropReason::EspNoRoom,
            C::TooBig => DropReason::EspTooBig,
            C::BadInner => DropReason::EspBadInner,
            C::BadOuterSource => DropReason::EspBadOuterSource,
            C::EcnCeNotEct => DropReason::EspEcnCeNotEct,
            C::EngineError => DropReason::EspEngineError,
            _ => DropReason::EspOther,
        }
    }
}

/// Policy, path and NAT drops keep the policy crate's names.
impl From<sdwan_policy::PolicyDrop> for DropReason {
    fn from(d: sdwan_policy::PolicyDrop) -> Self {
        use sdwan_policy::PolicyDrop as P;
        match d {
            P::PrivatePathDown => DropReason::PrivatePathDown,
            P::InternetPathDown => DropReason::InternetPathDown,
            P::NoUsablePath => DropReason::NoUsablePath,
            P::BadFlowKey => DropReason::BadFlowKey,
            P::NatPortsExhausted => DropReason::NatPortsExhausted,
            P::NatTableFull => DropReason::NatTableFull,
            P::NatNoMapping => DropReason::NatNoMapping,
            P::NatFiltered => DropReason::NatFiltered,
            P::NatUnsupportedProtocol => DropReason::NatUnsupportedProtocol,
            P::NatFragment => DropReason::NatFragment,
            P::NatMalformed => DropReason::NatMalformed,
            P::RateLimited => DropReason::WanRateLimited,
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

    #[test]
    fn policy_reasons_keep_their_names() {
        for p in sdwan_policy::PolicyDrop::ALL {
            if p == sdwan_policy::PolicyDrop::RateLimited {
                assert_eq!(DropReason::from(p), DropReason::WanRateLimited);
            } else {
                assert_eq!(DropReason::from(p).as_str(), p.as_str());
            }
        }
    }

    #[test]
    fn every_crypto_reason_has_its_esp_name() {
        for c in sdwan_crypto::DropReason::ALL {
            let d = DropReason::from(*c);
            assert_eq!(d.as_str().strip_prefix("esp_"), Some(c.name()), "{c}");
        }
    }
}
