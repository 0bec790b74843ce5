//! What an operator writes: a rule is a [`Match`] on the flow key and an
//! [`Action`]; a [`RuleSet`] is an ordered list of rules (first match wins,
//! so order is priority) plus the action for flows no rule matches.
//!
//! [`Match::matches`] is the plain definition of a match, field by field.
//! The linear classifier and the property tests use it as the reference the
//! compiled classifier must agree with.

use crate::flow_key::{Family, FlowKey, VrfId};
use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Which underlay paths a flow may take (draft §3.3 policies 1–3, §6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathPolicy {
    /// Only the private (MPLS / leased line) path, native. Never the
    /// internet: when the private path is down the flow is dropped.
    PrivateOnly,
    /// Private or internet path, always encrypted (ESP): the private
    /// path first, the internet when the private one is down.
    EncryptedAny,
    /// Any overlay path: private natively first, else the internet
    /// encrypted.
    Any,
    /// Straight to the internet, unencrypted, source-NATed on the internet
    /// port.
    InternetBreakout,
}

impl PathPolicy {
    pub const fn as_str(self) -> &'static str {
        match self {
            PathPolicy::PrivateOnly => "private-only",
            PathPolicy::EncryptedAny => "encrypted-any",
            PathPolicy::Any => "any",
            PathPolicy::InternetBreakout => "internet-breakout",
        }
    }
}

/// Index of a traffic class name in [`RuleSet::class_names`] (counters are
/// kept per class id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId(pub u16);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action {
    pub policy: PathPolicy,
    pub class: Option<ClassId>,
}

impl Action {
    pub const fn new(policy: PathPolicy) -> Self {
        Self {
            policy,
            class: None,
        }
    }
    pub const fn with_class(policy: PathPolicy, class: ClassId) -> Self {
        Self {
            policy,
            class: Some(class),
        }
    }
}

/// Why a rule or rule set was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    PrefixTooLong {
        len: u8,
        max: u8,
    },
    /// Bits beyond the prefix length are set (strict, like the FIB).
    HostBitsSet {
        len: u8,
    },
    /// Port range with `lo > hi`.
    EmptyPortRange {
        lo: u16,
        hi: u16,
    },
    DscpOutOfRange {
        rule: usize,
        dscp: u8,
    },
    FlowLabelOutOfRange {
        rule: usize,
        label: u32,
    },
    /// Source and destination prefixes of different families.
    MixedFamilies {
        rule: usize,
    },
    /// A flow label with an IPv4 prefix can never match.
    FlowLabelOnIpv4 {
        rule: usize,
    },
    /// A class id with no entry in `class_names`.
    UnknownClass {
        rule: usize,
        class: u16,
    },
    TooManyRules {
        count: usize,
        max: usize,
    },
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::PrefixTooLong { len, max } => {
                write!(f, "prefix length /{len} exceeds /{max}")
            }
            RuleError::HostBitsSet { len } => write!(f, "prefix has bits set beyond /{len}"),
            RuleError::EmptyPortRange { lo, hi } => write!(f, "port range {lo}-{hi} is empty"),
            RuleError::DscpOutOfRange { rule, dscp } => write!(f, "rule {rule}: DSCP {dscp} > 63"),
            RuleError::FlowLabelOutOfRange { rule, label } => {
                write!(f, "rule {rule}: flow label {label:#x} exceeds 20 bits")
            }
            RuleError::MixedFamilies { rule } => {
                write!(
                    f,
                    "rule {rule}: source and destination prefixes of different families"
                )
            }
            RuleError::FlowLabelOnIpv4 { rule } => {
                write!(f, "rule {rule}: IPv6 flow label with an IPv4 prefix")
            }
            RuleError::UnknownClass { rule, class } => {
                write!(f, "rule {rule}: unknown class id {class}")
            }
            RuleError::TooManyRules { count, max } => write!(f, "{count} rules, at most {max}"),
        }
    }
}

impl std::error::Error for RuleError {}

/// An IPv4 or IPv6 prefix; addresses as in [`FlowKey`] (IPv4 in the low 32
/// bits of the `u128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    family: Family,
    addr: u128,
    len: u8,
}

impl Prefix {
    pub fn v4(addr: Ipv4Addr, len: u8) -> Result<Self, RuleError> {
        Self::new(Family::V4, u128::from(u32::from(addr)), len)
    }

    pub fn v6(addr: Ipv6Addr, len: u8) -> Result<Self, RuleError> {
        Self::new(Family::V6, u128::from(addr), len)
    }

    fn new(family: Family, addr: u128, len: u8) -> Result<Self, RuleError> {
        let max = width(family);
        if len > max {
            return Err(RuleError::PrefixTooLong { len, max });
        }
        let p = Self { family, addr, len };
        if addr & !p.mask() != 0 {
            return Err(RuleError::HostBitsSet { len });
        }
        Ok(p)
    }

    pub fn family(&self) -> Family {
        self.family
    }
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Mask of the prefix bits within the family's address width.
    fn mask(&self) -> u128 {
        let w = u32::from(width(self.family));
        let host = w - u32::from(self.len);
        let all = if w == 128 {
            u128::MAX
        } else {
            (1u128 << w) - 1
        };
        if host == 128 {
            0
        } else {
            (all >> host) << host
        }
    }

    /// First and last address covered.
    pub fn range(&self) -> (u128, u128) {
        let w = u32::from(width(self.family));
        let all = if w == 128 {
            u128::MAX
        } else {
            (1u128 << w) - 1
        };
        (self.addr, self.addr | (all & !self.mask()))
    }

    pub fn contains(&self, family: Family, addr: u128) -> bool {
        family == self.family && addr & self.mask() == self.addr
    }
}

fn width(f: Family) -> u8 {
    match f {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

/// Inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    lo: u16,
    hi: u16,
}

impl PortRange {
    pub fn new(lo: u16, hi: u16) -> Result<Self, RuleError> {
        if lo > hi {
            return Err(RuleError::EmptyPortRange { lo, hi });
        }
        Ok(Self { lo, hi })
    }
    pub const fn single(port: u16) -> Self {
        Self { lo: port, hi: port }
    }
    pub fn lo(&self) -> u16 {
        self.lo
    }
    pub fn hi(&self) -> u16 {
        self.hi
    }
    pub fn contains(&self, p: u16) -> bool {
        (self.lo..=self.hi).contains(&p)
    }
}

/// The fields a rule tests; `None` matches anything. A rule with an IPv4
/// (IPv6) prefix matches only IPv4 (IPv6) packets; a rule with a flow label
/// matches only IPv6 packets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Match {
    pub src: Option<Prefix>,
    pub dst: Option<Prefix>,
    pub protocol: Option<u8>,
    pub src_ports: Option<PortRange>,
    pub dst_ports: Option<PortRange>,
    pub dscp: Option<u8>,
    pub flow_label: Option<u32>,
    pub vrf: Option<VrfId>,
}

impl Match {
    /// The reference definition of a match.
    pub fn matches(&self, k: &FlowKey) -> bool {
        self.src.is_none_or(|p| p.contains(k.family, k.src))
            && self.dst.is_none_or(|p| p.contains(k.family, k.dst))
            && self.protocol.is_none_or(|p| p == k.protocol)
            && self.src_ports.is_none_or(|r| r.contains(k.src_port))
            && self.dst_ports.is_none_or(|r| r.contains(k.dst_port))
            && self.dscp.is_none_or(|d| d == k.dscp)
            && self.flow_label.is_none_or(|l| k.flow_label == Some(l))
            && self.vrf.is_none_or(|v| v == k.vrf)
    }

    fn validate(&self, rule: usize) -> Result<(), RuleError> {
        if let (Some(s), Some(d)) = (self.src, self.dst) {
            if s.family != d.family {
                return Err(RuleError::MixedFamilies { rule });
            }
        }
        if let Some(dscp) = self.dscp.filter(|d| *d > 63) {
            return Err(RuleError::DscpOutOfRange { rule, dscp });
        }
        if let Some(label) = self.flow_label {
            if label > 0xf_ffff {
                return Err(RuleError::FlowLabelOutOfRange { rule, label });
            }
            let v4 = [self.src, self.dst]
                .iter()
                .flatten()
                .any(|p| p.family == Family::V4);
            if v4 {
                return Err(RuleError::FlowLabelOnIpv4 { rule });
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    pub matches: Match,
    pub action: Action,
}

/// An ordered rule list: rule 0 has the highest priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Action for flows no rule matches.
    pub default: Action,
    /// Names of the traffic classes, indexed by [`ClassId`].
    pub class_names: Vec<String>,
}

/// Most rules a rule set may hold (the compiled classifier's summary
/// bitmap has one bit per 64 rules in a `u64`).
pub const MAX_RULES: usize = 4096;

impl RuleSet {
    pub fn new(default: Action) -> Self {
        Self {
            rules: Vec::new(),
            default,
            class_names: Vec::new(),
        }
    }

    /// Checks every rule; the error names the first bad rule by index.
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.rules.len() > MAX_RULES {
            return Err(RuleError::TooManyRules {
                count: self.rules.len(),
                max: MAX_RULES,
            });
        }
        let classes = self.class_names.len();
        let actions = self
            .rules
            .iter()
            .map(|r| r.action)
            .enumerate()
            .chain(std::iter::once((self.rules.len(), self.default)));
        for (i, a) in actions {
            if let Some(ClassId(c)) = a.class.filter(|c| usize::from(c.0) >= classes) {
                return Err(RuleError::UnknownClass { rule: i, class: c });
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            r.matches.validate(i)?;
        }
        Ok(())
    }

    /// Index of the first rule matching `k` (the reference classifier).
    pub fn first_match(&self, k: &FlowKey) -> Option<usize> {
        self.rules.iter().position(|r| r.matches.matches(k))
    }
}
