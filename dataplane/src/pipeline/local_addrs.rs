//! Our addresses per VRF, flattened once from the port list so the
//! per-packet "is the source or destination ours" question is a scan of a
//! few packed words instead of a walk over every port's address vectors.
//! Build it whenever the port list changes ([`LocalAddrs::new`]) and hand
//! it to the pipeline in the [`super::Context`].

use super::PortConfig;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Every address of every port, keyed by the port's VRF.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalAddrs {
    /// One bit per address (bit `hash(key) >> 58`): a key whose bit is
    /// clear is not in the set, which answers the common "neither is
    /// ours" case without scanning.
    filter_v4: u64,
    filter_v6: u64,
    /// `vrf << 32 | address`, sorted, no duplicates.
    v4: Vec<u64>,
    /// `(address, vrf)`, sorted, no duplicates.
    v6: Vec<(u128, u16)>,
}

fn bit(h: u64) -> u64 {
    1 << (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

fn bit_v6(a: u128) -> u64 {
    bit((a as u64) ^ ((a >> 64) as u64))
}

fn key_v4(vrf: u16, a: Ipv4Addr) -> u64 {
    (u64::from(vrf) << 32) | u64::from(u32::from(a))
}

impl LocalAddrs {
    pub fn new(ports: &[PortConfig]) -> Self {
        let mut v4: Vec<u64> = ports
            .iter()
            .flat_map(|p| p.ipv4.iter().map(move |(a, _)| key_v4(p.vrf, *a)))
            .collect();
        let mut v6: Vec<(u128, u16)> = ports
            .iter()
            .flat_map(|p| p.ipv6.iter().map(move |(a, _)| (u128::from(*a), p.vrf)))
            .collect();
        v4.sort_unstable();
        v4.dedup();
        v6.sort_unstable();
        v6.dedup();
        let filter_v4 = v4.iter().fold(0, |f, k| f | bit(*k));
        let filter_v6 = v6.iter().fold(0, |f, (a, _)| f | bit_v6(*a));
        Self {
            filter_v4,
            filter_v6,
            v4,
            v6,
        }
    }

    /// (source is ours, destination is ours) in `vrf`, in one pass.
    #[inline(always)]
    pub fn ours_v4(&self, vrf: u16, src: Ipv4Addr, dst: Ipv4Addr) -> (bool, bool) {
        let (ks, kd) = (key_v4(vrf, src), key_v4(vrf, dst));
        if self.filter_v4 & (bit(ks) | bit(kd)) == 0 {
            return (false, false);
        }
        let (mut s, mut d) = (false, false);
        for &k in &self.v4 {
            s |= k == ks;
            d |= k == kd;
        }
        (s, d)
    }

    /// (source is ours, destination is ours) in `vrf`, in one pass.
    #[inline]
    pub fn ours_v6(&self, vrf: u16, src: &Ipv6Addr, dst: &Ipv6Addr) -> (bool, bool) {
        let (s6, d6) = (u128::from(*src), u128::from(*dst));
        if self.filter_v6 & (bit_v6(s6) | bit_v6(d6)) == 0 {
            return (false, false);
        }
        let (mut s, mut d) = (false, false);
        for &(a, v) in &self.v6 {
            if v == vrf {
                s |= a == s6;
                d |= a == d6;
            }
        }
        (s, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sdwan_packet::MacAddr;

    #[test]
    fn per_vrf_membership() {
        let ports = [
            PortConfig::new(0, MacAddr([2, 0, 0, 0, 0, 1]), 0)
                .with_ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
                .with_ipv6("2001:db8::1".parse().unwrap(), 64),
            PortConfig::new(1, MacAddr([2, 0, 0, 0, 0, 2]), 7)
                .with_ipv4(Ipv4Addr::new(10, 0, 1, 1), 24)
                .with_ipv4(Ipv4Addr::new(10, 0, 1, 1), 24),
        ];
        let l = LocalAddrs::new(&ports);
        let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 1, 1));
        let other = Ipv4Addr::new(10, 0, 0, 2);
        assert_eq!(l.ours_v4(0, a, other), (true, false));
        assert_eq!(l.ours_v4(0, other, a), (false, true));
        assert_eq!(l.ours_v4(0, b, b), (false, false));
        assert_eq!(l.ours_v4(7, b, a), (true, false));
        let g: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let ll1 = ports[1].link_local().unwrap();
        assert_eq!(l.ours_v6(0, &g, &g), (true, true));
        assert_eq!(l.ours_v6(7, &g, &ll1), (false, true));
        assert_eq!(l.ours_v6(0, &ll1, &Ipv6Addr::LOCALHOST), (false, false));
    }
}
