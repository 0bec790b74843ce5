//! Neighbor Discovery (RFC 4861) Neighbor Solicitation and Advertisement
//! with the Source/Target Link-Layer Address options (§4.6.1). Router and
//! redirect messages are not decoded (a router port ignores RS here and
//! sends no RA).
//!
//! ```text
//! Neighbor Solicitation (§4.3), type 135:
//! |     Type      |     Code      |          Checksum             |
//! |                           Reserved                            |
//! |                 Target Address (16 octets)                    |
//! |   Options ...
//!
//! Neighbor Advertisement (§4.4), type 136:
//! |     Type      |     Code      |          Checksum             |
//! |R|S|O|                     Reserved                            |
//! |                 Target Address (16 octets)                    |
//! |   Options ...
//!
//! Option (§4.6): | Type | Length (8-octet units, 0 invalid) | value ...
//! Link-layer address option (§4.6.1), type 1 source / 2 target, length 1:
//! |     Type      |    Length=1   |    Link-Layer Address (6)  ...  |
//! ```

use crate::error::{Error, Layer, Result};
use crate::ethernet::MacAddr;
use crate::icmpv6::{msg_type, Icmpv6Packet, HEADER_LEN};
use crate::ipv6::addr_at;
use std::net::Ipv6Addr;

/// Fixed part of NS/NA: ICMPv6 header + target address.
pub const NS_NA_LEN: usize = HEADER_LEN + 16;
const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;
const LLADDR_OPT_LEN: usize = 8;
const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdpRepr {
    NeighborSolicit {
        target: Ipv6Addr,
        source_lladdr: Option<MacAddr>,
    },
    NeighborAdvert {
        router: bool,
        solicited: bool,
        override_: bool,
        target: Ipv6Addr,
        target_lladdr: Option<MacAddr>,
    },
}

/// Walks NDP options, checking every length is non-zero and in bounds
/// (RFC 4861 §4.6), and returns the value of the first link-layer address
/// option of `wanted` type. Ethernet addresses are 6 bytes; other
/// link-layer sizes are rejected.
fn find_lladdr(mut opts: &[u8], wanted: u8) -> Result<Option<MacAddr>> {
    let mut found = None;
    while !opts.is_empty() {
        if opts.len() < 2 {
            return Err(Error::truncated(Layer::NdpOption, 2, opts.len()));
        }
        let len = usize::from(opts[1]) * 8;
        if len == 0 {
            return Err(Error::BadHeaderLength {
                layer: Layer::NdpOption,
                value: 0,
            });
        }
        if len > opts.len() {
            return Err(Error::truncated(Layer::NdpOption, len, opts.len()));
        }
        if opts[0] == wanted && found.is_none() {
            if len != LLADDR_OPT_LEN {
                return Err(Error::Unsupported {
                    layer: Layer::NdpOption,
                    field: "link-layer address length",
                });
            }
            let mut m = [0u8; 6];
            m.copy_from_slice(&opts[2..8]);
            found = Some(MacAddr(m));
        }
        opts = &opts[len..];
    }
    Ok(found)
}

impl NdpRepr {
    /// Decodes an NS or NA (checksum already verified by the caller or by
    /// [`crate::icmpv6::Icmpv6Repr::parse`]). Checks code 0, the 24-byte
    /// minimum, target not multicast and option lengths.
    pub fn parse<T: AsRef<[u8]>>(p: &Icmpv6Packet<T>) -> Result<Self> {
        let b = p.buffer();
        if p.code() != 0 {
            return Err(Error::BadField {
                layer: Layer::Ndp,
                field: "code",
            });
        }
        if b.len() < NS_NA_LEN {
            return Err(Error::truncated(Layer::Ndp, NS_NA_LEN, b.len()));
        }
        let target = addr_at(b, HEADER_LEN);
        if target.is_multicast() {
            return Err(Error::BadField {
                layer: Layer::Ndp,
                field: "multicast target",
            });
        }
        let opts = &b[NS_NA_LEN..];
        match p.msg_type() {
            msg_type::NEIGHBOR_SOLICIT => Ok(Self::NeighborSolicit {
                target,
                source_lladdr: find_lladdr(opts, OPT_SOURCE_LLADDR)?,
            }),
            msg_type::NEIGHBOR_ADVERT => {
                let f = b[4];
                Ok(Self::NeighborAdvert {
                    router: f & FLAG_ROUTER != 0,
                    solicited: f & FLAG_SOLICITED != 0,
                    override_: f & FLAG_OVERRIDE != 0,
                    target,
                    target_lladdr: find_lladdr(opts, OPT_TARGET_LLADDR)?,
                })
            }
            _ => Err(Error::Unsupported {
                layer: Layer::Ndp,
                field: "message type",
            }),
        }
    }

    pub fn target(&self) -> Ipv6Addr {
        match *self {
            Self::NeighborSolicit { target, .. } | Self::NeighborAdvert { target, .. } => target,
        }
    }

    pub fn buffer_len(&self) -> usize {
        let has_opt = match self {
            Self::NeighborSolicit { source_lladdr, .. } => source_lladdr.is_some(),
            Self::NeighborAdvert { target_lladdr, .. } => target_lladdr.is_some(),
        };
        NS_NA_LEN + if has_opt { LLADDR_OPT_LEN } else { 0 }
    }

    /// Writes type, code, zero checksum, flags, target and option into
    /// `buf[..buffer_len()]`; the caller fills the checksum (it needs the IP
    /// addresses): see [`crate::icmpv6::Icmpv6Repr::emit`].
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<()> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::truncated(Layer::Ndp, len, buf.len()));
        }
        let buf = &mut buf[..len];
        buf[..NS_NA_LEN].fill(0);
        let (t, flags, target, opt) = match *self {
            Self::NeighborSolicit {
                target,
                source_lladdr,
            } => (
                msg_type::NEIGHBOR_SOLICIT,
                0,
                target,
                source_lladdr.map(|m| (OPT_SOURCE_LLADDR, m)),
            ),
            Self::NeighborAdvert {
                router,
                solicited,
                override_,
                target,
                target_lladdr,
            } => {
                let f = (if router { FLAG_ROUTER } else { 0 })
                    | (if solicited { FLAG_SOLICITED } else { 0 })
                    | (if override_ { FLAG_OVERRIDE } else { 0 });
                (
                    msg_type::NEIGHBOR_ADVERT,
                    f,
                    target,
                    target_lladdr.map(|m| (OPT_TARGET_LLADDR, m)),
                )
            }
        };
        buf[0] = t;
        buf[4] = flags;
        buf[HEADER_LEN..NS_NA_LEN].copy_from_slice(&target.octets());
        if let Some((kind, mac)) = opt {
            buf[NS_NA_LEN] = kind;
            buf[NS_NA_LEN + 1] = 1;
            buf[NS_NA_LEN + 2..NS_NA_LEN + 8].copy_from_slice(&mac.0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::icmpv6::Icmpv6Repr;
    use proptest::prelude::*;

    fn addrs() -> (Ipv6Addr, Ipv6Addr) {
        (
            "fe80::1".parse().unwrap(),
            "ff02::1:ff00:2".parse().unwrap(),
        )
    }

    #[test]
    fn rejects_zero_length_option_and_multicast_target() {
        let (s, d) = addrs();
        let r = Icmpv6Repr::Ndp(NdpRepr::NeighborSolicit {
            target: "2001:db8::2".parse().unwrap(),
            source_lladdr: Some(MacAddr([2, 0, 0, 0, 0, 1])),
        });
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(&s, &d, &mut b).unwrap();
        let mut z = b.clone();
        z[NS_NA_LEN + 1] = 0;
        Icmpv6Packet::new_unchecked(&mut z[..]).fill_checksum(&s, &d);
        let p = Icmpv6Packet::new_checked(&z[..]).unwrap();
        assert!(matches!(
            Icmpv6Repr::parse(&s, &d, &p),
            Err(Error::BadHeaderLength {
                layer: Layer::NdpOption,
                ..
            })
        ));
        let mut m = b.clone();
        m[HEADER_LEN] = 0xff;
        let p = Icmpv6Packet::new_checked(&m[..]).unwrap();
        assert!(NdpRepr::parse(&p).is_err());
        let p = Icmpv6Packet::new_checked(&b[..20]).unwrap();
        assert!(matches!(NdpRepr::parse(&p), Err(Error::Truncated { .. })));
    }

    #[test]
    fn skips_unknown_options() {
        let (s, d) = addrs();
        let mut b = vec![0u8; NS_NA_LEN + 16];
        NdpRepr::NeighborSolicit {
            target: "2001:db8::2".parse().unwrap(),
            source_lladdr: None,
        }
        .emit_body(&mut b)
        .unwrap();
        b[NS_NA_LEN] = 14; // nonce option, 8 bytes
        b[NS_NA_LEN + 1] = 1;
        b[NS_NA_LEN + 8] = OPT_SOURCE_LLADDR;
        b[NS_NA_LEN + 9] = 1;
        b[NS_NA_LEN + 10..NS_NA_LEN + 16].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
        Icmpv6Packet::new_unchecked(&mut b[..]).fill_checksum(&s, &d);
        let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
        let Icmpv6Repr::Ndp(NdpRepr::NeighborSolicit { source_lladdr, .. }) =
            Icmpv6Repr::parse(&s, &d, &p).unwrap()
        else {
            panic!("not an NS")
        };
        assert_eq!(source_lladdr, Some(MacAddr([2, 0, 0, 0, 0, 9])));
    }

    proptest! {
        #[test]
        fn roundtrip(ns in any::<bool>(), t in any::<[u8; 16]>(), mac in proptest::option::of(any::<[u8; 6]>()),
                     r in any::<bool>(), so in any::<bool>(), o in any::<bool>()) {
            prop_assume!(t[0] != 0xff);
            let (s, d) = addrs();
            let target = Ipv6Addr::from(t);
            let n = if ns {
                NdpRepr::NeighborSolicit { target, source_lladdr: mac.map(MacAddr) }
            } else {
                NdpRepr::NeighborAdvert { router: r, solicited: so, override_: o, target, target_lladdr: mac.map(MacAddr) }
            };
            let repr = Icmpv6Repr::Ndp(n);
            let mut b = vec![0u8; repr.buffer_len()];
            repr.emit(&s, &d, &mut b).unwrap();
            let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
            prop_assert_eq!(Icmpv6Repr::parse(&s, &d, &p).unwrap(), repr);
        }
    }
}
