//! ARP on a router port (RFC 826): answer requests for our addresses on
//! this port, learn bindings of on-link senders (RFC 826 "merge" rule;
//! the control thread decides create vs update, see `neighbor`).

use super::{PortConfig, Verdict, WorkerState};
use crate::counters::Event;
use crate::drop_reason::DropReason;
use crate::neighbor::{ControlEvent, LearnKind};
use sdwan_packet::arp::{ArpOperation, ArpPacket, ArpRepr, PACKET_LEN};
use sdwan_packet::ethernet::EthernetFrame;
use sdwan_packet::{Error, Frame};
use std::net::IpAddr;

pub(super) fn input(
    frame: &mut Frame<'_>,
    l2: usize,
    port: &PortConfig,
    worker: &mut WorkerState,
    events: &mut impl FnMut(ControlEvent),
) -> Verdict {
    let payload = &frame.data()[l2..];
    let arp = match ArpPacket::new_checked(payload).and_then(|p| ArpRepr::parse(&p)) {
        Ok(a) => a,
        Err(Error::Truncated { .. }) => return Verdict::Drop(DropReason::Truncated),
        Err(_) => return Verdict::Drop(DropReason::BadArp),
    };
    let eth_dst = EthernetFrame::new_unchecked(frame.data()).dst();
    let for_us = port.owns_v4(arp.target_ip);
    let learnable = arp.sender_mac.is_unicast()
        && !arp.sender_mac.0.iter().all(|b| *b == 0)
        && port.on_link_v4(arp.sender_ip)
        && !port.owns_v4(arp.sender_ip);
    if learnable {
        let kind = match arp.operation {
            _ if arp.is_gratuitous() => LearnKind::Unsolicited { override_: true },
            ArpOperation::Request if for_us => LearnKind::Request,
            ArpOperation::Reply if eth_dst == port.mac && for_us => {
                LearnKind::Reply { override_: true }
            }
            _ => LearnKind::Unsolicited { override_: true },
        };
        events(ControlEvent::NeighborLearned {
            port: port.id,
            ip: IpAddr::V4(arp.sender_ip),
            mac: arp.sender_mac,
            kind,
        });
        worker.counters.event(Event::NeighborsLearned);
    }
    match arp.operation {
        ArpOperation::Request if for_us && !arp.is_gratuitous() => {
            let reply = ArpRepr {
                operation: ArpOperation::Reply,
                sender_mac: port.mac,
                sender_ip: arp.target_ip,
                target_mac: arp.sender_mac,
                target_ip: arp.sender_ip,
            };
            let end = l2 + PACKET_LEN;
            if frame.set_len(end).is_err() || reply.emit(&mut frame.data_mut()[l2..end]).is_err() {
                return Verdict::Drop(DropReason::NoRoom);
            }
            let mut eth = EthernetFrame::new_unchecked(frame.data_mut());
            eth.set_dst(arp.sender_mac);
            eth.set_src(port.mac);
            worker.counters.event(Event::ArpRepliesSent);
            Verdict::Reply { port: port.id }
        }
        ArpOperation::Request if !arp.is_gratuitous() => Verdict::Drop(DropReason::ArpNotForUs),
        _ => Verdict::Consumed,
    }
}
