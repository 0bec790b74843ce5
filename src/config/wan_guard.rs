//! The guard keys of a `[[wan]]` (draft §6.2.2 "Internet-facing ports",
//! issue #7): `rate_limit_pps`, `rate_limit_burst` and `allow`, resolved
//! into the dataplane's [`WanGuard`] for ports of kind `internet`. A
//! private WAN port is not guarded, so the keys are refused there rather
//! than silently ignored.
//!
//! ```toml
//! [[wan]]
//! port = "wan0"
//! ...
//! rate_limit_pps = 100000   # per source, per worker; 0: off
//! rate_limit_burst = 10000
//! allow = [
//!   { protocol = "tcp", port = 22, from = ["198.51.100.0/24", "2001:db8:9::/48"] },
//! ]
//! ```
use super::error::ConfigError;
use super::model::WanConfig;
use super::overlay::WanKind;
use sdwan_dataplane::pipeline::{
    AllowRule, GuardProtocol, SourcePrefix, WanGuard, DEFAULT_RATE_LIMIT_BURST,
    DEFAULT_RATE_LIMIT_PPS,
};
use std::path::Path;
use toml::Spanned;

/// The GCRA limiter's ceiling (one token per nanosecond).
const MAX_RATE_PPS: u32 = 1_000_000_000;
/// UDP ports the overlay owns on a WAN address (RFC 3948 NAT-T, RFC 7296
/// IKE): an allow rule for them could never match.
const NATT_PORT: u16 = 4500;
const IKE_PORT: u16 = 500;
const BGP_PORT: u16 = 179;

/// `None` for a private port (after refusing guard keys on it).
pub(super) fn validate(
    path: &Path,
    text: &str,
    w: &WanConfig,
    i: usize,
    kind: WanKind,
) -> Result<Option<WanGuard>, ConfigError> {
    let err = |span: std::ops::Range<usize>, key: &str, m: String| {
        ConfigError::at(path, text, span.start, format!("wan[{i}].{key}"), m)
    };
    if kind == WanKind::Private {
        let set = [
            (
                w.rate_limit_pps.as_ref().map(Spanned::span),
                "rate_limit_pps",
            ),
            (
                w.rate_limit_burst.as_ref().map(Spanned::span),
                "rate_limit_burst",
            ),
            (w.allow.first().map(|a| a.protocol.span()), "allow"),
        ];
        if let Some((Some(span), key)) = set.into_iter().find(|(s, _)| s.is_some()) {
            return Err(err(
                span,
                key,
                format!("only applies to kind = \"internet\" (a private WAN port is not guarded); remove `{key}`"),
            ));
        }
        return Ok(None);
    }
    let rate_limit_pps = match &w.rate_limit_pps {
        None => DEFAULT_RATE_LIMIT_PPS,
        Some(r) if *r.get_ref() > MAX_RATE_PPS => {
            return Err(err(
                r.span(),
                "rate_limit_pps",
                format!(
                    "{} is above {MAX_RATE_PPS} (0 turns the limit off)",
                    r.get_ref()
                ),
            ))
        }
        Some(r) => *r.get_ref(),
    };
    let rate_limit_burst = match &w.rate_limit_burst {
        None => DEFAULT_RATE_LIMIT_BURST,
        Some(b) if *b.get_ref() == 0 => {
            return Err(err(
                b.span(),
                "rate_limit_burst",
                "must be at least 1 packet".into(),
            ))
        }
        Some(b) if rate_limit_pps == 0 => {
            return Err(err(
                b.span(),
                "rate_limit_burst",
                "has no effect with rate_limit_pps = 0 (limit off); remove it".into(),
            ))
        }
        Some(b) => *b.get_ref(),
    };
    let mut allow = Vec::new();
    for (j, a) in w.allow.iter().enumerate() {
        let key = |k: &str| format!("allow[{j}].{k}");
        let protocol = match a.protocol.get_ref().as_str() {
            "tcp" => GuardProtocol::Tcp,
            "udp" => GuardProtocol::Udp,
            other => {
                return Err(err(
                    a.protocol.span(),
                    &key("protocol"),
                    format!("{other:?} is neither \"tcp\" nor \"udp\""),
                ))
            }
        };
        let port = *a.port.get_ref();
        let refused = match (protocol, port) {
            (_, 0) => Some("port 0 is not a destination port".to_string()),
            (GuardProtocol::Tcp, BGP_PORT) => Some(
                "BGP (TCP 179) is never accepted on an internet WAN port (draft §6.2.2); the edge's own BGP sessions run over the host network stack, not a WAN port".into(),
            ),
            (GuardProtocol::Udp, NATT_PORT | IKE_PORT) => Some(format!(
                "UDP {port} belongs to the overlay (ESP-in-UDP from known peers is always admitted, IKE is not supported)"
            )),
            _ => None,
        };
        if let Some(m) = refused {
            return Err(err(a.port.span(), &key("port"), m));
        }
        if a.from.get_ref().is_empty() {
            return Err(err(
                a.from.span(),
                &key("from"),
                "needs at least one source prefix (\"0.0.0.0/0\" / \"::/0\" admit any source)"
                    .into(),
            ));
        }
        for (k, net) in a.from.get_ref().iter().enumerate() {
            let n = *net.get_ref();
            if n.trunc() != n {
                return Err(err(
                    net.span(),
                    &format!("allow[{j}].from[{k}]"),
                    format!("{n} has host bits set; did you mean {}?", n.trunc()),
                ));
            }
            allow.push(AllowRule {
                protocol,
                port,
                from: SourcePrefix {
                    addr: n.addr(),
                    len: n.prefix_len(),
                },
            });
        }
    }
    Ok(Some(WanGuard {
        rate_limit_pps,
        rate_limit_burst,
        allow,
    }))
}
