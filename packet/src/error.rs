//! The one error type every parser in this crate returns. Each variant says
//! what was wrong and names the protocol field, so a caller can map it to a
//! named, counted drop reason without string matching.

use core::fmt;

/// The protocol (or option) whose bytes were rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Ethernet,
    Vlan,
    Arp,
    Ipv4,
    Ipv6,
    Ipv6Extension,
    Icmpv4,
    Icmpv6,
    Ndp,
    NdpOption,
    Udp,
    Tcp,
    TcpOption,
}

/// Why a parser rejected its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes than the header (or the length a field claims) needs.
    Truncated {
        layer: Layer,
        need: usize,
        have: usize,
    },
    /// A version field that is not the one this view parses.
    BadVersion { layer: Layer, version: u8 },
    /// A header-length field out of range (IPv4 IHL < 5, TCP data offset < 5,
    /// NDP option length 0, ...).
    BadHeaderLength { layer: Layer, value: usize },
    /// A total/payload length field that disagrees with the header or buffer.
    BadLength { layer: Layer, value: usize },
    /// The checksum does not verify.
    BadChecksum { layer: Layer },
    /// A field value the protocol forbids here (`field` names it).
    BadField { layer: Layer, field: &'static str },
    /// Well-formed but outside what this crate handles (e.g. ARP for a
    /// hardware type other than Ethernet).
    Unsupported { layer: Layer, field: &'static str },
}

impl Error {
    pub(crate) fn truncated(layer: Layer, need: usize, have: usize) -> Self {
        Error::Truncated { layer, need, have }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { layer, need, have } => {
                write!(f, "{layer:?}: truncated, need {need} bytes, have {have}")
            }
            Error::BadVersion { layer, version } => write!(f, "{layer:?}: bad version {version}"),
            Error::BadHeaderLength { layer, value } => {
                write!(f, "{layer:?}: bad header length {value}")
            }
            Error::BadLength { layer, value } => write!(f, "{layer:?}: bad length field {value}"),
            Error::BadChecksum { layer } => write!(f, "{layer:?}: checksum does not verify"),
            Error::BadField { layer, field } => write!(f, "{layer:?}: bad {field}"),
            Error::Unsupported { layer, field } => write!(f, "{layer:?}: unsupported {field}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = core::result::Result<T, Error>;

/// Reads a big-endian u16 at `at`; callers have checked the length.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
