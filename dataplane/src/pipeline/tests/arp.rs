use super::*;
use sdwan_packet::arp::{ArpOperation, ArpPacket, ArpRepr, PACKET_LEN};

const PEER_IP: &str = "10.0.0.2";

fn arp(op: ArpOperation, sender_ip: &str, target_ip: &str, dst: MacAddr) -> Vec<u8> {
    let mut p = [0u8; PACKET_LEN];
    ArpRepr {
        operation: op,
        sender_mac: PEER0,
        sender_ip: v4(sender_ip),
        target_mac: MacAddr::ZERO,
        target_ip: v4(target_ip),
    }
    .emit(&mut p)
    .unwrap();
    let mut f = eth(dst, PEER0, ethertype::ARP, &p);
    f.resize(60, 0); // minimum Ethernet frame, padded
    f
}

fn learned(kind: LearnKind) -> ControlEvent {
    ControlEvent::NeighborLearned {
        port: 0,
        ip: PEER_IP.parse().unwrap(),
        mac: PEER0,
        kind,
    }
}

#[test]
fn request_for_us_is_answered_and_sender_learned() {
    let mut r = Router::new();
    let (v, out) = r.run(
        &arp(
            ArpOperation::Request,
            PEER_IP,
            "10.0.0.1",
            MacAddr::BROADCAST,
        ),
        0,
    );
    assert_eq!(v, Verdict::Reply { port: 0 });
    assert_eq!(out.len(), 14 + PACKET_LEN);
    assert_eq!(
        (
            eth_of(&out).dst(),
            eth_of(&out).src(),
            eth_of(&out).ethertype()
        ),
        (PEER0, MAC0, ethertype::ARP)
    );
    let reply = ArpRepr::parse(&ArpPacket::new_checked(&out[14..]).unwrap()).unwrap();
    assert_eq!(
        reply,
        ArpRepr {
            operation: ArpOperation::Reply,
            sender_mac: MAC0,
            sender_ip: v4("10.0.0.1"),
            target_mac: PEER0,
            target_ip: v4(PEER_IP),
        }
    );
    assert_eq!(r.events, vec![learned(LearnKind::Request)]);
    assert_eq!(r.count(Event::ArpRepliesSent), 1);
}

#[test]
fn request_for_other_address_is_dropped_but_merges() {
    let mut r = Router::new();
    let (v, _) = r.run(
        &arp(
            ArpOperation::Request,
            PEER_IP,
            "10.0.0.3",
            MacAddr::BROADCAST,
        ),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::ArpNotForUs));
    assert_eq!(
        r.events,
        vec![learned(LearnKind::Unsolicited { override_: true })]
    );
    // The other port's address is not answered on this port.
    let (v, _) = r.run(
        &arp(
            ArpOperation::Request,
            PEER_IP,
            "10.0.1.1",
            MacAddr::BROADCAST,
        ),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::ArpNotForUs));
}

#[test]
fn reply_and_gratuitous_are_consumed_and_learned() {
    let mut r = Router::new();
    let (v, _) = r.run(&arp(ArpOperation::Reply, PEER_IP, "10.0.0.1", MAC0), 0);
    assert_eq!(v, Verdict::Consumed);
    let (v, _) = r.run(
        &arp(ArpOperation::Request, PEER_IP, PEER_IP, MacAddr::BROADCAST),
        0,
    );
    assert_eq!(v, Verdict::Consumed);
    assert_eq!(
        r.events,
        vec![
            learned(LearnKind::Reply { override_: true }),
            learned(LearnKind::Unsolicited { override_: true })
        ]
    );
    assert_eq!(r.count(Event::Consumed), 2);
}

#[test]
fn off_link_sender_is_not_learned() {
    let mut r = Router::new();
    let (v, _) = r.run(
        &arp(
            ArpOperation::Request,
            "192.168.9.9",
            "10.0.0.1",
            MacAddr::BROADCAST,
        ),
        0,
    );
    assert_eq!(v, Verdict::Reply { port: 0 });
    assert!(r.events.is_empty());
}

#[test]
fn malformed_arp() {
    let mut r = Router::new();
    let good = arp(
        ArpOperation::Request,
        PEER_IP,
        "10.0.0.1",
        MacAddr::BROADCAST,
    );
    assert_eq!(
        r.run(&good[..14 + 27], 0).0,
        Verdict::Drop(DropReason::Truncated)
    );
    let mut bad = good.clone();
    bad[15] = 6; // hardware type IEEE 802
    assert_eq!(r.run(&bad, 0).0, Verdict::Drop(DropReason::BadArp));
    let mut bad = good.clone();
    bad[21] = 9; // operation 9
    assert_eq!(r.run(&bad, 0).0, Verdict::Drop(DropReason::BadArp));
    assert_eq!(r.drops(DropReason::BadArp), 2);
    assert_eq!(r.drops(DropReason::Truncated), 1);
}
