//! A routed port as the pipeline sees it: MAC, VRF, IP MTU and our
//! addresses on it, with the address questions the pipeline asks (is this
//! ours, is it on this link, which source do I answer from).

use super::vlan::VlanBinding;
use super::wan_guard::WanGuard;
use sdwan_packet::ipv6::{is_link_local, link_local_from_mac, solicited_node};
use sdwan_packet::MacAddr;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Our port index; `Context::ports[i].id` must be `i`.
    pub id: u16,
    pub mac: MacAddr,
    pub vrf: u16,
    /// IP MTU (largest L3 packet sent out of this port).
    pub mtu: u16,
    /// Our IPv4 addresses with their prefix length.
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    /// Our IPv6 addresses with their prefix length, incl. the link-local.
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// Set on an 802.1Q sub-interface: its parent and VLAN (the MAC is the
    /// parent's). `None`: a physical port, untagged.
    pub vlan: Option<VlanBinding>,
    /// Set on an internet-facing WAN port: what it admits and the
    /// per-source rate limit (see `wan_guard`). `None`: no filtering.
    pub guard: Option<WanGuard>,
}

pub(super) fn in_prefix_v4(a: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0);
    u32::from(a) & mask == u32::from(net) & mask
}

pub(super) fn in_prefix_v6(a: &Ipv6Addr, net: &Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0);
    u128::from(*a) & mask == u128::from(*net) & mask
}

impl PortConfig {
    /// A port with MTU 1500 and the EUI-64 link-local address (RFC 4291
    /// §2.5.1) derived from `mac` as its only IPv6 address.
    pub fn new(id: u16, mac: MacAddr, vrf: u16) -> Self {
        Self {
            id,
            mac,
            vrf,
            mtu: 1500,
            ipv4: Vec::new(),
            ipv6: vec![(link_local_from_mac(mac.0), 64)],
            vlan: None,
            guard: None,
        }
    }

    /// Makes this port the sub-interface for VLAN `vid` of port `parent`.
    pub fn on_vlan(mut self, parent: u16, vid: u16) -> Self {
        self.vlan = Some(VlanBinding { parent, vid });
        self
    }

    /// This port guarded as an internet WAN port.
    pub fn with_guard(mut self, guard: WanGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    pub fn with_ipv4(mut self, a: Ipv4Addr, len: u8) -> Self {
        self.ipv4.push((a, len));
        self
    }

    pub fn with_ipv6(mut self, a: Ipv6Addr, len: u8) -> Self {
        self.ipv6.push((a, len));
        self
    }

    pub fn owns_v4(&self, a: Ipv4Addr) -> bool {
        self.ipv4.iter().any(|(x, _)| *x == a)
    }

    pub fn owns_v6(&self, a: &Ipv6Addr) -> bool {
        self.ipv6.iter().any(|(x, _)| x == a)
    }

    /// `a` is inside one of this port's IPv4 subnets.
    pub fn on_link_v4(&self, a: Ipv4Addr) -> bool {
        self.ipv4.iter().any(|(n, l)| in_prefix_v4(a, *n, *l))
    }

    /// `a` is link-local or inside one of this port's IPv6 prefixes.
    pub fn on_link_v6(&self, a: &Ipv6Addr) -> bool {
        is_link_local(a) || self.ipv6.iter().any(|(n, l)| in_prefix_v6(a, n, *l))
    }

    /// Our source address toward `dst`: one in the same subnet, else the
    /// first configured.
    pub fn source_v4(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        self.ipv4
            .iter()
            .find(|(n, l)| in_prefix_v4(dst, *n, *l))
            .or(self.ipv4.first())
            .map(|(a, _)| *a)
    }

    /// Our source address toward `dst`: link-local for a link-local
    /// destination, else one in the same prefix, else a global one, else
    /// the link-local (RFC 6724 rule 2 in spirit: match scope).
    pub fn source_v6(&self, dst: &Ipv6Addr) -> Option<Ipv6Addr> {
        let ll = self
            .ipv6
            .iter()
            .find(|(a, _)| is_link_local(a))
            .map(|(a, _)| *a);
        if is_link_local(dst) || (dst.is_multicast() && (dst.segments()[0] & 0x000f) <= 2) {
            return ll.or(self.ipv6.first().map(|(a, _)| *a));
        }
        self.ipv6
            .iter()
            .find(|(n, l)| !is_link_local(n) && in_prefix_v6(dst, n, *l))
            .or(self.ipv6.iter().find(|(a, _)| !is_link_local(a)))
            .map(|(a, _)| *a)
            .or(ll)
    }

    /// The link-local address, if any is configured.
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.ipv6
            .iter()
            .find(|(a, _)| is_link_local(a))
            .map(|(a, _)| *a)
    }

    /// A multicast group this port listens to: all-nodes, all-routers, or
    /// the solicited-node group of one of our addresses.
    pub fn joined_v6(&self, group: &Ipv6Addr) -> bool {
        const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
        const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
        *group == ALL_NODES
            || *group == ALL_ROUTERS
            || self.ipv6.iter().any(|(a, _)| solicited_node(a) == *group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_questions() {
        let p = PortConfig::new(0, MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]), 0)
            .with_ipv4("10.0.0.1".parse().unwrap(), 24)
            .with_ipv4("192.0.2.1".parse().unwrap(), 32)
            .with_ipv6("2001:db8::1".parse().unwrap(), 64);
        assert!(p.on_link_v4("10.0.0.200".parse().unwrap()));
        assert!(!p.on_link_v4("10.0.1.1".parse().unwrap()));
        assert_eq!(
            p.source_v4("10.0.0.9".parse().unwrap()),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(
            p.source_v4("8.8.8.8".parse().unwrap()),
            Some("10.0.0.1".parse().unwrap())
        );
        let ll: Ipv6Addr = "fe80::5054:ff:fe12:3456".parse().unwrap();
        assert_eq!(p.link_local(), Some(ll));
        assert_eq!(p.source_v6(&"fe80::9".parse().unwrap()), Some(ll));
        assert_eq!(p.source_v6(&"ff02::1".parse().unwrap()), Some(ll));
        assert_eq!(
            p.source_v6(&"2001:db8::9".parse().unwrap()),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            p.source_v6(&"2001:db9::9".parse().unwrap()),
            Some("2001:db8::1".parse().unwrap())
        );
        assert!(p.joined_v6(&"ff02::1:ff00:1".parse().unwrap()));
        assert!(p.joined_v6(&"ff02::1:ff12:3456".parse().unwrap()));
        assert!(!p.joined_v6(&"ff02::1:ff00:2".parse().unwrap()));
        assert!(in_prefix_v4(
            "1.2.3.4".parse().unwrap(),
            "9.9.9.9".parse().unwrap(),
            0
        ));
    }
}
