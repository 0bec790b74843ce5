//! Neighbor Discovery on a router port (RFC 4861): validate NS/NA (§7.1),
//! answer NS for our addresses with a solicited NA (§7.2.4; DAD probes get
//! an all-nodes NA), learn from NS source and NA target link-layer
//! options (§7.2.3, §7.2.5; the control thread applies the state rules).

use super::{PortConfig, Verdict, WorkerState};
use crate::counters::Event;
use crate::drop_reason::DropReason;
use crate::neighbor::{ControlEvent, LearnKind};
use sdwan_packet::ethernet::{ethertype, EthernetFrame, EthernetRepr};
use sdwan_packet::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use sdwan_packet::ipv6::{next_header, Ipv6Repr, HEADER_LEN};
use sdwan_packet::ndp::NdpRepr;
use sdwan_packet::{Frame, MacAddr};
use std::net::{IpAddr, Ipv6Addr};

const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const NA_LEN: usize = 32;

fn is_solicited_node_group(a: &Ipv6Addr) -> bool {
    let s = a.segments();
    s[..6] == [0xff02, 0, 0, 0, 0, 1] && s[6] & 0xff00 == 0xff00
}

pub(super) fn input(
    frame: &mut Frame<'_>,
    l2: usize,
    icmp_at: usize,
    port: &PortConfig,
    (src, dst, hop_limit): (Ipv6Addr, Ipv6Addr, u8),
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    if hop_limit != 255 {
        return Verdict::Drop(DropReason::BadNdp);
    }
    let eth_src = EthernetFrame::new_unchecked(frame.data()).src();
    let Ok(ndp) = NdpRepr::parse(&Icmpv6Packet::new_unchecked(&frame.data()[icmp_at..])) else {
        return Verdict::Drop(DropReason::BadNdp);
    };
    match ndp {
        NdpRepr::NeighborSolicit {
            target,
            source_lladdr,
        } => {
            let dad = src.is_unspecified();
            if dad && (!is_solicited_node_group(&dst) || source_lladdr.is_some()) {
                return Verdict::Drop(DropReason::BadNdp);
            }
            if !port.owns_v6(&target) {
                return Verdict::Drop(DropReason::NdpNotForUs);
            }
            if let Some(mac) = source_lladdr.filter(|m| m.is_unicast() && !dad) {
                events(ControlEvent::NeighborLearned {
                    port: port.id,
                    ip: IpAddr::V6(src),
                    mac,
                    kind: LearnKind::Request,
                });
                worker.counters.event(Event::NeighborsLearned);
            }
            let (ip_dst, eth_dst) = if dad {
                (ALL_NODES, MacAddr::from_ipv6_multicast(&ALL_NODES))
            } else {
                (src, source_lladdr.unwrap_or(eth_src))
            };
            let na = NdpRepr::NeighborAdvert {
                router: true,
                solicited: !dad,
                override_: true,
                target,
                target_lladdr: Some(port.mac),
            };
            if !write_na(frame, l2, port, eth_dst, target, ip_dst, na) {
                return Verdict::Drop(DropReason::NoRoom);
            }
            worker.counters.event(Event::NeighborAdvertsSent);
            Verdict::Reply { port: port.id }
        }
        NdpRepr::NeighborAdvert {
            solicited,
            override_,
            target,
            target_lladdr,
            ..
        } => {
            if dst.is_multicast() && solicited {
                return Verdict::Drop(DropReason::BadNdp);
            }
            let learnable = !port.owns_v6(&target) && port.on_link_v6(&target);
            if let Some(mac) = target_lladdr.filter(|m| m.is_unicast() && learnable) {
                let kind = if solicited {
                    LearnKind::Reply { override_ }
                } else {
                    LearnKind::Unsolicited { override_ }
                };
                events(ControlEvent::NeighborLearned {
                    port: port.id,
                    ip: IpAddr::V6(target),
                    mac,
                    kind,
                });
                worker.counters.event(Event::NeighborsLearned);
            }
            Verdict::Consumed
        }
    }
}

/// Rewrites the frame into an NA from `target` (our address) to `ip_dst`.
fn write_na(
    frame: &mut Frame<'_>,
    l2: usize,
    port: &PortConfig,
    eth_dst: MacAddr,
    target: Ipv6Addr,
    ip_dst: Ipv6Addr,
    na: NdpRepr,
) -> bool {
    let end = l2 + HEADER_LEN + NA_LEN;
    if frame.set_len(end).is_err() {
        return false;
    }
    let data = frame.data_mut();
    let eth = EthernetRepr {
        dst: eth_dst,
        src: port.mac,
        vlan_id: None,
        ethertype: ethertype::IPV6,
    };
    let ip = Ipv6Repr {
        src: target,
        dst: ip_dst,
        next_header: next_header::ICMPV6,
        hop_limit: 255,
        traffic_class: 0,
        flow_label: 0,
        payload_len: NA_LEN,
    };
    eth.emit(&mut data[..l2]).is_ok()
        && ip.emit(&mut data[l2..l2 + HEADER_LEN]).is_ok()
        && Icmpv6Repr::Ndp(na)
            .emit(&target, &ip_dst, &mut data[l2 + HEADER_LEN..end])
            .is_ok()
}
