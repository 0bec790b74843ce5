//! Decode errors and the RFC 7606 action each one demands.
//!
//! Every error carries a named [`Reason`] (counted by the session), the byte
//! offset inside the message where it was found, the attribute type code when
//! it concerns a path attribute, and the [`Action`] the receiver must take.
//! Session-reset errors also carry the NOTIFICATION (code, subcode, data) to
//! send (RFC 4271 §6).

use serde::Serialize;
use std::fmt;

/// What the receiver must do with an erroneous message (RFC 7606 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Drop this attribute, keep the rest of the UPDATE (RFC 7606 §2).
    AttributeDiscard,
    /// Handle every NLRI of the UPDATE as withdrawn (RFC 7606 §2).
    TreatAsWithdraw,
    /// Send a NOTIFICATION and close the session (RFC 4271 §6).
    SessionReset,
}

/// Named cause of a decode error; the name is the counter label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Truncated,
    BadMarker,
    BadMessageLength,
    BadMessageType,
    UnsupportedVersion,
    BadPeerAs,
    BadBgpIdentifier,
    UnacceptableHoldTime,
    MalformedOptionalParameter,
    UnsupportedOptionalParameter,
    MalformedCapability,
    MalformedAttributeList,
    AttributeLengthOverrun,
    AttributeFlags,
    AttributeLength,
    DuplicateAttribute,
    DuplicateMpAttribute,
    UnrecognizedWellKnown,
    MissingWellKnown,
    InvalidOrigin,
    MalformedAsPath,
    InvalidNextHop,
    MalformedAggregator,
    MalformedCommunities,
    MalformedExtCommunities,
    MalformedLargeCommunities,
    MalformedOriginatorId,
    MalformedClusterList,
    MalformedMpReach,
    MalformedMpUnreach,
    UnsupportedFamily,
    MalformedNlri,
    MalformedTunnelEncap,
    MalformedAs4Path,
    MalformedAs4Aggregator,
    LocalPrefFromEbgp,
    MalformedNotification,
    MalformedRouteRefresh,
}

impl Reason {
    /// Stable snake_case name used as the Prometheus label.
    pub fn name(self) -> &'static str {
        use Reason::*;
        match self {
            Truncated => "truncated",
            BadMarker => "bad_marker",
            BadMessageLength => "bad_message_length",
            BadMessageType => "bad_message_type",
            UnsupportedVersion => "unsupported_version",
            BadPeerAs => "bad_peer_as",
            BadBgpIdentifier => "bad_bgp_identifier",
            UnacceptableHoldTime => "unacceptable_hold_time",
            MalformedOptionalParameter => "malformed_optional_parameter",
            UnsupportedOptionalParameter => "unsupported_optional_parameter",
            MalformedCapability => "malformed_capability",
            MalformedAttributeList => "malformed_attribute_list",
            AttributeLengthOverrun => "attribute_length_overrun",
            AttributeFlags => "attribute_flags",
            AttributeLength => "attribute_length",
            DuplicateAttribute => "duplicate_attribute",
            DuplicateMpAttribute => "duplicate_mp_attribute",
            UnrecognizedWellKnown => "unrecognized_well_known",
            MissingWellKnown => "missing_well_known",
            InvalidOrigin => "invalid_origin",
            MalformedAsPath => "malformed_as_path",
            InvalidNextHop => "invalid_next_hop",
            MalformedAggregator => "malformed_aggregator",
            MalformedCommunities => "malformed_communities",
            MalformedExtCommunities => "malformed_ext_communities",
            MalformedLargeCommunities => "malformed_large_communities",
            MalformedOriginatorId => "malformed_originator_id",
            MalformedClusterList => "malformed_cluster_list",
            MalformedMpReach => "malformed_mp_reach",
            MalformedMpUnreach => "malformed_mp_unreach",
            UnsupportedFamily => "unsupported_family",
            MalformedNlri => "malformed_nlri",
            MalformedTunnelEncap => "malformed_tunnel_encap",
            MalformedAs4Path => "malformed_as4_path",
            MalformedAs4Aggregator => "malformed_as4_aggregator",
            LocalPrefFromEbgp => "local_pref_from_ebgp",
            MalformedNotification => "malformed_notification",
            MalformedRouteRefresh => "malformed_route_refresh",
        }
    }
}

/// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 §5).
pub mod code {
    pub const HEADER: u8 = 1;
    pub const OPEN: u8 = 2;
    pub const UPDATE: u8 = 3;
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    pub const FSM: u8 = 5;
    pub const CEASE: u8 = 6;
    pub const ROUTE_REFRESH: u8 = 7;
}

/// A decode error: what, where, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecodeError {
    pub reason: Reason,
    /// Byte offset inside the whole message (marker included).
    pub offset: usize,
    /// Path attribute type code, when the error concerns one.
    pub attr_type: Option<u8>,
    pub action: Action,
    /// NOTIFICATION code and subcode for a session reset.
    pub notify: (u8, u8),
    /// NOTIFICATION data (RFC 4271 §6: often the offending field).
    #[serde(skip)]
    pub data: Vec<u8>,
}

impl DecodeError {
    pub fn reset(reason: Reason, offset: usize, code: u8, subcode: u8) -> Self {
        DecodeError {
            reason,
            offset,
            attr_type: None,
            action: Action::SessionReset,
            notify: (code, subcode),
            data: Vec::new(),
        }
    }

    pub fn with_data(mut self, data: &[u8]) -> Self {
        self.data = data.to_vec();
        self
    }

    pub fn with_attr(mut self, attr_type: u8) -> Self {
        self.attr_type = Some(attr_type);
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.reason.name(), self.offset)?;
        if let Some(t) = self.attr_type {
            write!(f, " (attribute {t})")?;
        }
        write!(f, ": {:?}", self.action)
    }
}

impl std::error::Error for DecodeError {}

/// A structural error inside an attribute value or NLRI, before the caller
/// attaches the RFC 7606 action. `at` is relative to the value start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub at: usize,
}

pub type VResult<T> = Result<T, Malformed>;
