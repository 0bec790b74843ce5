//! End to end over the real parts: router A forwards to an unresolved next
//! hop → Resolve event → NeighborManager → "send ARP/NS" action → built with
//! build_arp_request / build_neighbor_solicitation → answered by router B's
//! pipeline → the reply fed back into A → learned → new snapshot →
//! forwarded.

use super::*;
use crate::neighbor::{EventQueue, NeighborAction, SharedNeighbors};
use sdwan_packet::arp::{ArpOperation, ArpPacket, ArpRepr};
use sdwan_packet::ipv4::protocol;
use sdwan_packet::ipv6::next_header;

const MAC_B: MacAddr = MacAddr([2, 0, 0, 0, 0xb, 0xb]);

/// Router B: one port on A's port-1 link, owning `ip`.
fn router_b() -> Router {
    let mut b = Router::new();
    b.ports = vec![PortConfig::new(0, MAC_B, 0)
        .with_ipv4(v4("10.0.1.77"), 24)
        .with_ipv6(v6("2001:db8:1::77"), 64)];
    b
}

fn send_to_b(b: &mut Router, frame: &[u8]) -> Vec<u8> {
    let (v, out) = b.run(frame, 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    out
}

#[test]
fn arp_and_ns_resolution_round_trip() {
    for (dst, resolved_ip) in [
        ("10.0.1.77", "10.0.1.77"),
        ("2001:db8:1::77", "2001:db8:1::77"),
    ] {
        let mut a = Router::new();
        let mut b = router_b();
        let shared: SharedNeighbors =
            Arc::new(arc_swap::ArcSwap::from_pointee(a.neighbors.clone()));
        let mut mgr = NeighborManager::new(NeighborConfig::default());
        let queue = Arc::new(EventQueue::new(64));
        let t0 = Instant::now();
        let mut acts = Vec::new();
        // Seed the manager with A's existing entries.
        for ((port, ip), e) in a.neighbors.iter() {
            mgr.handle_event(ControlEvent::Resolve { port, ip }, t0, &mut acts);
            let kind = LearnKind::Reply { override_: true };
            mgr.handle_event(
                ControlEvent::NeighborLearned {
                    port,
                    ip,
                    mac: e.mac.unwrap(),
                    kind,
                },
                t0,
                &mut acts,
            );
        }
        acts.clear();

        let packet = if dst.contains(':') {
            v6_frame("2001:db8::2", dst, next_header::UDP, 64, &[1; 8])
        } else {
            v4_frame("10.0.0.2", dst, protocol::UDP, 64, &[1; 8])
        };
        assert_eq!(a.run(&packet, 0).0, Verdict::Drop(DropReason::NoNeighbor));
        for e in a.events.drain(..) {
            queue.push(e);
        }
        mgr.tick(std::slice::from_ref(&queue), t0, &shared, &mut acts);
        a.neighbors = (**shared.load()).clone();
        // While INCOMPLETE the worker stays quiet.
        assert_eq!(a.run(&packet, 0).0, Verdict::Drop(DropReason::NoNeighbor));
        assert!(a.events.is_empty());

        // The control thread builds the solicitation out of port 1.
        assert_eq!(acts.len(), 1);
        let mut buf = vec![0u8; 256];
        let mut f = Frame::new(&mut buf, HEADROOM, 0).unwrap();
        match acts[0] {
            NeighborAction::SendArpRequest {
                port: 1,
                target,
                unicast: None,
            } => {
                build_arp_request(&mut f, &a.ports[1], target, None).unwrap();
                let req =
                    ArpRepr::parse(&ArpPacket::new_checked(&f.data()[14..]).unwrap()).unwrap();
                assert_eq!(
                    (req.operation, req.sender_ip, req.sender_mac),
                    (ArpOperation::Request, v4("10.0.1.1"), MAC1)
                );
                assert!(eth_of(f.data()).dst().is_broadcast());
            }
            NeighborAction::SendNeighborSolicit {
                port: 1,
                target,
                unicast: None,
            } => {
                build_neighbor_solicitation(&mut f, &a.ports[1], target, None).unwrap();
                let ip = ipv6_of(f.data());
                assert_eq!(
                    (ip.src(), ip.dst(), ip.hop_limit()),
                    (v6("2001:db8:1::1"), v6("ff02::1:ff00:77"), 255)
                );
                assert_eq!(
                    eth_of(f.data()).dst(),
                    MacAddr([0x33, 0x33, 0xff, 0, 0, 0x77])
                );
            }
            ref other => panic!("unexpected action {other:?}"),
        }
        // B answers (and learns A), A takes the answer on port 1.
        let answer = send_to_b(&mut b, f.data());
        assert_eq!(b.events.len(), 1);
        assert_eq!(a.run(&answer, 1).0, Verdict::Consumed);
        for e in a.events.drain(..) {
            queue.push(e);
        }
        mgr.tick(std::slice::from_ref(&queue), t0, &shared, &mut acts);
        a.neighbors = (**shared.load()).clone();
        let entry = a
            .neighbors
            .lookup(1, resolved_ip.parse().unwrap())
            .copied()
            .unwrap();
        assert_eq!(entry.mac, Some(MAC_B));
        let (v, out) = a.run(&packet, 0);
        assert_eq!(v, Verdict::Forward { port: 1 }, "{dst}");
        assert_eq!(eth_of(&out).dst(), MAC_B);
    }
}

#[test]
fn builders_report_missing_source_and_room() {
    let port = PortConfig {
        ipv6: Vec::new(),
        ..PortConfig::new(0, MAC0, 0)
    };
    let mut buf = vec![0u8; 100];
    let mut f = Frame::new(&mut buf, 0, 0).unwrap();
    assert_eq!(
        build_arp_request(&mut f, &port, v4("10.0.0.9"), None),
        Err(SolicitError::NoSourceAddress)
    );
    assert_eq!(
        build_neighbor_solicitation(&mut f, &port, v6("fe80::9"), None),
        Err(SolicitError::NoSourceAddress)
    );
    let port = PortConfig::new(0, MAC0, 0).with_ipv4(v4("10.0.0.1"), 24);
    let mut small = vec![0u8; 41];
    let mut f = Frame::new(&mut small, 0, 0).unwrap();
    assert_eq!(
        build_arp_request(&mut f, &port, v4("10.0.0.9"), None),
        Err(SolicitError::NoRoom)
    );
    let mut buf = vec![0u8; 100];
    let mut f = Frame::new(&mut buf, 0, 0).unwrap();
    build_neighbor_solicitation(&mut f, &port, v6("fe80::9"), Some(PEER0)).unwrap();
    assert_eq!(f.len(), 86);
    let ip = ipv6_of(f.data());
    assert_eq!(
        (ip.src(), ip.dst()),
        (port.link_local().unwrap(), v6("fe80::9"))
    );
    assert_eq!(eth_of(f.data()).dst(), PEER0);
}
