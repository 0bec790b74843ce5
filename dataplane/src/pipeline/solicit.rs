//! Builders the control thread uses to act on
//! [`crate::neighbor::NeighborAction`]s: an ARP request (RFC 826) or a
//! Neighbor Solicitation (RFC 4861 §7.2.2) written into a fresh frame
//! (e.g. an mbuf just allocated by the glue) for transmission on `port`.

use super::PortConfig;
use sdwan_packet::arp::{ArpOperation, ArpRepr, PACKET_LEN};
use sdwan_packet::ethernet::{ethertype, EthernetRepr, HEADER_LEN as ETH_LEN};
use sdwan_packet::icmpv6::Icmpv6Repr;
use sdwan_packet::ipv6::{next_header, solicited_node, Ipv6Repr, HEADER_LEN as IPV6_LEN};
use sdwan_packet::ndp::NdpRepr;
use sdwan_packet::{Frame, MacAddr};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Why a solicitation could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolicitError {
    /// The port has no address of that family to send from.
    NoSourceAddress,
    /// The frame's buffer is too small.
    NoRoom,
}

impl std::fmt::Display for SolicitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SolicitError::NoSourceAddress => "port has no source address of that family",
            SolicitError::NoRoom => "frame buffer too small",
        })
    }
}

impl std::error::Error for SolicitError {}

/// Writes a 42-byte ARP request for `target` from `port` into `frame`
/// (replacing its contents). Broadcast, or unicast to `unicast` when
/// reconfirming a known binding. The sender address is the port's address
/// on `target`'s subnet, else its first.
pub fn build_arp_request(
    frame: &mut Frame<'_>,
    port: &PortConfig,
    target: Ipv4Addr,
    unicast: Option<MacAddr>,
) -> Result<(), SolicitError> {
    let sender_ip = port
        .source_v4(target)
        .ok_or(SolicitError::NoSourceAddress)?;
    frame
        .set_len(ETH_LEN + PACKET_LEN)
        .map_err(|_| SolicitError::NoRoom)?;
    let data = frame.data_mut();
    let eth = EthernetRepr {
        dst: unicast.unwrap_or(MacAddr::BROADCAST),
        src: port.mac,
        vlan_id: None,
        ethertype: ethertype::ARP,
    };
    let arp = ArpRepr {
        operation: ArpOperation::Request,
        sender_mac: port.mac,
        sender_ip,
        target_mac: MacAddr::ZERO,
        target_ip: target,
    };
    eth.emit(&mut data[..ETH_LEN])
        .map_err(|_| SolicitError::NoRoom)?;
    arp.emit(&mut data[ETH_LEN..])
        .map_err(|_| SolicitError::NoRoom)
}

/// Writes an 86-byte Neighbor Solicitation for `target` from `port` into
/// `frame`: to the solicited-node group (or unicast to `target` at
/// `unicast` when reconfirming), hop limit 255, with our Source
/// Link-Layer Address option.
pub fn build_neighbor_solicitation(
    frame: &mut Frame<'_>,
    port: &PortConfig,
    target: Ipv6Addr,
    unicast: Option<MacAddr>,
) -> Result<(), SolicitError> {
    let src = port
        .source_v6(&target)
        .ok_or(SolicitError::NoSourceAddress)?;
    let (dst, eth_dst) = match unicast {
        Some(mac) => (target, mac),
        None => {
            let group = solicited_node(&target);
            (group, MacAddr::from_ipv6_multicast(&group))
        }
    };
    let ns = Icmpv6Repr::Ndp(NdpRepr::NeighborSolicit {
        target,
        source_lladdr: Some(port.mac),
    });
    let icmp_len = ns.buffer_len();
    let len = ETH_LEN + IPV6_LEN + icmp_len;
    frame.set_len(len).map_err(|_| SolicitError::NoRoom)?;
    let data = frame.data_mut();
    let eth = EthernetRepr {
        dst: eth_dst,
        src: port.mac,
        vlan_id: None,
        ethertype: ethertype::IPV6,
    };
    let ip = Ipv6Repr {
        src,
        dst,
        next_header: next_header::ICMPV6,
        hop_limit: 255,
        traffic_class: 0,
        flow_label: 0,
        payload_len: icmp_len,
    };
    eth.emit(&mut data[..ETH_LEN])
        .map_err(|_| SolicitError::NoRoom)?;
    ip.emit(&mut data[ETH_LEN..ETH_LEN + IPV6_LEN])
        .map_err(|_| SolicitError::NoRoom)?;
    ns.emit(&src, &dst, &mut data[ETH_LEN + IPV6_LEN..])
        .map_err(|_| SolicitError::NoRoom)
}
