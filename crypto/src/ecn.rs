//! ECN at tunnel egress, RFC 6040 §4.2 (normal mode). The ingress copies
//! the inner ECN field to the outer header ([`crate::outer`]); on
//! decapsulation the outer field is combined into the inner header:
//!
//! ```text
//!                 outer: Not-ECT   ECT(0)   ECT(1)   CE
//! inner Not-ECT          Not-ECT   Not-ECT  Not-ECT  drop (ecn_ce_not_ect)
//! inner ECT(0)           ECT(0)    ECT(0)   ECT(1)   CE
//! inner ECT(1)           ECT(1)    ECT(1)   ECT(1)   CE
//! inner CE               CE        CE       CE       CE
//! ```
//!
//! IPv4 (RFC 791): ECN is the low 2 bits of byte 1 (TOS); the header
//! checksum is updated incrementally (RFC 1624 eqn. 3). IPv6 (RFC 8200):
//! ECN is bits 2-3 of byte 1 (traffic class low nibble is byte 1's high
//! nibble); IPv6 has no header checksum. Other inner protocols (GRE, MPLS,
//! Ethernet) carry no ECN field this layer can see and are left alone.

use crate::esp::NextHeader;
use crate::DropReason;

pub const NOT_ECT: u8 = 0;
pub const ECT1: u8 = 1;
pub const ECT0: u8 = 2;
pub const CE: u8 = 3;

/// The RFC 6040 egress table: the inner ECN field to forward, or `None`
/// to drop.
#[inline]
pub const fn combine(inner: u8, outer: u8) -> Option<u8> {
    match (inner & 3, outer & 3) {
        (NOT_ECT, CE) => None,
        (_, CE) => Some(CE),
        (ECT0, ECT1) => Some(ECT1),
        (i, _) => Some(i),
    }
}

/// Applies the outer ECN field `outer_ecn` to the inner packet `inner` of
/// type `nh`, in place. Errors: `ecn_ce_not_ect` (must drop), `bad_inner`
/// (an IP packet too short to hold its header).
/// Every decapsulated packet: the common not-ECT / ECT(0) outer field is
/// an inlined test, the rest a call.
#[inline(always)]
pub fn decap(outer_ecn: u8, nh: NextHeader, inner: &mut [u8]) -> Result<(), DropReason> {
    let outer = outer_ecn & 3;
    if outer == NOT_ECT || outer == ECT0 {
        // Never changes the inner field (first two columns).
        return Ok(());
    }
    decap_marked(outer, nh, inner)
}

/// [`decap`] for an ECT(1) or CE outer field.
#[inline(never)]
fn decap_marked(outer: u8, nh: NextHeader, inner: &mut [u8]) -> Result<(), DropReason> {
    match nh {
        NextHeader::Ipv4 => {
            if inner.len() < crate::outer::IPV4_HEADER_LEN {
                return Err(DropReason::BadInner);
            }
            let old = inner[1];
            let ecn = combine(old & 3, outer).ok_or(DropReason::EcnCeNotEct)?;
            let new = (old & !3) | ecn;
            if new != old {
                inner[1] = new;
                // RFC 1624: HC' = ~(~HC + ~m + m'), m = word 0 (ver/ihl, TOS).
                let m = u16::from_be_bytes([inner[0], old]);
                let m2 = u16::from_be_bytes([inner[0], new]);
                let hc = u16::from_be_bytes([inner[10], inner[11]]);
                let mut sum = u32::from(!hc) + u32::from(!m) + u32::from(m2);
                while sum > 0xffff {
                    sum = (sum & 0xffff) + (sum >> 16);
                }
                inner[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
            }
            Ok(())
        }
        NextHeader::Ipv6 => {
            if inner.len() < crate::outer::IPV6_HEADER_LEN {
                return Err(DropReason::BadInner);
            }
            let old = (inner[1] >> 4) & 3;
            let ecn = combine(old, outer).ok_or(DropReason::EcnCeNotEct)?;
            inner[1] = (inner[1] & !0x30) | (ecn << 4);
            Ok(())
        }
        NextHeader::Gre | NextHeader::Mpls | NextHeader::Ethernet => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outer::ipv4_checksum;
    use proptest::prelude::*;

    #[test]
    fn table_of_rfc6040_section_4_2() {
        let rows = [
            (NOT_ECT, [Some(NOT_ECT), Some(NOT_ECT), Some(NOT_ECT), None]),
            (ECT0, [Some(ECT0), Some(ECT0), Some(ECT1), Some(CE)]),
            (ECT1, [Some(ECT1), Some(ECT1), Some(ECT1), Some(CE)]),
            (CE, [Some(CE), Some(CE), Some(CE), Some(CE)]),
        ];
        for (inner, row) in rows {
            for (outer, want) in [NOT_ECT, ECT0, ECT1, CE].into_iter().zip(row) {
                assert_eq!(combine(inner, outer), want, "inner {inner} outer {outer}");
            }
        }
    }

    fn v4(tos: u8) -> [u8; 20] {
        let mut h = [0u8; 20];
        h[0] = 0x45;
        h[1] = tos;
        h[2..4].copy_from_slice(&20u16.to_be_bytes());
        h[8] = 64;
        h[9] = 17;
        h[12..16].copy_from_slice(&[10, 0, 0, 1]);
        h[16..20].copy_from_slice(&[10, 0, 0, 2]);
        let c = ipv4_checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h
    }

    #[test]
    fn ipv4_ce_marks_and_keeps_checksum_valid() {
        let mut h = v4((46 << 2) | ECT0);
        decap(CE, NextHeader::Ipv4, &mut h).unwrap();
        assert_eq!(h[1], (46 << 2) | CE);
        assert_eq!(ipv4_checksum(&h), 0);
        let mut h = v4(46 << 2);
        assert_eq!(
            decap(CE, NextHeader::Ipv4, &mut h),
            Err(DropReason::EcnCeNotEct)
        );
        assert_eq!(
            decap(CE, NextHeader::Ipv4, &mut [0x45; 10]),
            Err(DropReason::BadInner)
        );
        // Non-IP inner is left alone even under CE.
        let mut gre = [0u8; 4];
        decap(CE, NextHeader::Gre, &mut gre).unwrap();
        assert_eq!(gre, [0; 4]);
    }

    #[test]
    fn ipv6_ce_marks_traffic_class() {
        let mut h = [0u8; 40];
        // Traffic class 0xba = DSCP 46, ECT(0).
        h[0] = 0x6b;
        h[1] = 0xa0 | 0x05;
        decap(CE, NextHeader::Ipv6, &mut h).unwrap();
        assert_eq!((h[0], h[1]), (0x6b, 0xb5));
        h[1] = 0x85; // ECN not-ECT
        assert_eq!(
            decap(CE, NextHeader::Ipv6, &mut h),
            Err(DropReason::EcnCeNotEct)
        );
    }

    proptest! {
        #[test]
        fn ipv4_checksum_stays_valid(tos: u8, outer in 0u8..4, id: u16, ttl: u8) {
            let mut h = v4(tos);
            h[4..6].copy_from_slice(&id.to_be_bytes());
            h[8] = ttl;
            h[10] = 0;
            h[11] = 0;
            let c = ipv4_checksum(&h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            match decap(outer, NextHeader::Ipv4, &mut h) {
                Ok(()) => {
                    prop_assert_eq!(ipv4_checksum(&h), 0);
                    prop_assert_eq!(h[1] >> 2, tos >> 2);
                    prop_assert_eq!(Some(h[1] & 3), combine(tos & 3, outer));
                }
                Err(e) => prop_assert_eq!((e, tos & 3, outer), (DropReason::EcnCeNotEct, 0, 3)),
            }
        }
    }
}
