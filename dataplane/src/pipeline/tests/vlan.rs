//! 802.1Q sub-interfaces: a trunk on port 0 carrying VLAN 10 and VLAN 30
//! in VRF 1 (blue) and VLAN 20 in VRF 2 (red), next to the untagged,
//! still routed parent (VRF 0).

use super::*;
use sdwan_packet::arp::{ArpOperation, ArpPacket, ArpRepr};
use sdwan_packet::icmpv4::{msg_type, time_exceeded_code, unreach_code, Icmpv4Packet, Icmpv4Repr};
use sdwan_packet::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use sdwan_packet::ipv4::protocol;
use sdwan_packet::ipv6::{next_header, solicited_node};
use sdwan_packet::ndp::NdpRepr;

const V10: u16 = 2;
const V30: u16 = 3;
const V20: u16 = 4;
const H10: MacAddr = MacAddr([2, 0, 0, 0, 0x10, 2]);
const H30: MacAddr = MacAddr([2, 0, 0, 0, 0x30, 2]);
const H20: MacAddr = MacAddr([2, 0, 0, 0, 0x20, 2]);

fn learn(mgr: &mut NeighborManager, port: u16, ip: &str, mac: MacAddr) {
    let (now, mut acts) = (Instant::now(), Vec::new());
    let ip: IpAddr = ip.parse().unwrap();
    mgr.handle_event(ControlEvent::Resolve { port, ip }, now, &mut acts);
    let kind = LearnKind::Reply { override_: true };
    let learned = ControlEvent::NeighborLearned {
        port,
        ip,
        mac,
        kind,
    };
    mgr.handle_event(learned, now, &mut acts);
}

/// Ports 0, 1 as in [`Router`]; 2 = VLAN 10 and 3 = VLAN 30 of port 0 in
/// VRF 1, 4 = VLAN 20 of port 0 in VRF 2. The hosts behind each VLAN are
/// resolved; 10.20.0.2 (red) has the same MAC on VLAN 20 only.
fn trunk() -> Router {
    let ports = vec![
        PortConfig::new(0, MAC0, 0)
            .with_ipv4(v4("10.0.0.1"), 24)
            .with_ipv6(v6("2001:db8::1"), 64),
        PortConfig::new(1, MAC1, 0).with_ipv4(v4("10.0.1.1"), 24),
        PortConfig::new(V10, MAC0, 1)
            .with_ipv4(v4("10.10.0.1"), 24)
            .with_ipv6(v6("2001:db8:10::1"), 64)
            .on_vlan(0, 10),
        PortConfig::new(V30, MAC0, 1)
            .with_ipv4(v4("10.30.0.1"), 24)
            .with_ipv6(v6("2001:db8:30::1"), 64)
            .on_vlan(0, 30),
        PortConfig::new(V20, MAC0, 2)
            .with_ipv4(v4("10.20.0.1"), 24)
            .on_vlan(0, 20),
    ];
    let (mut w, r) = fib_channel();
    let add = |vrf, p: &str, len, port| RouteChange::Add {
        vrf,
        prefix: p.parse().unwrap(),
        len,
        next_hop: NextHop::Connected { port },
    };
    let report = w.apply([
        add(0, "10.0.0.0", 24, 0),
        add(0, "10.0.1.0", 24, 1),
        add(1, "10.10.0.0", 24, V10),
        add(1, "10.30.0.0", 24, V30),
        add(1, "2001:db8:10::", 64, V10),
        add(1, "2001:db8:30::", 64, V30),
        add(2, "10.20.0.0", 24, V20),
    ]);
    assert!(report.rejected.is_empty(), "{report:?}");
    let mut mgr = NeighborManager::new(NeighborConfig::default());
    learn(&mut mgr, V10, "10.10.0.2", H10);
    learn(&mut mgr, V30, "10.30.0.2", H30);
    learn(&mut mgr, V30, "2001:db8:30::2", H30);
    learn(&mut mgr, V20, "10.20.0.2", H20);
    Router {
        fib: r.load_full(),
        neighbors: mgr.take_snapshot().unwrap(),
        worker: WorkerState::new(ports.len(), IcmpRateLimit::default()),
        ports,
        events: Vec::new(),
        overlay: crate::overlay::OverlayTable::default(),
    }
}

/// `untagged` with an 802.1Q tag for `vid` inserted after the MACs.
fn tagged(vid: u16, untagged: &[u8]) -> Vec<u8> {
    let mut b = untagged[..12].to_vec();
    b.extend_from_slice(&[0x81, 0x00]);
    b.extend_from_slice(&vid.to_be_bytes());
    b.extend_from_slice(&untagged[12..]);
    b
}

/// The VID of a tagged output frame and the frame without its tag.
fn untag(out: &[u8]) -> (u16, Vec<u8>) {
    assert_eq!(out[12..14], [0x81, 0x00], "frame must be 802.1Q tagged");
    let tci = u16::from_be_bytes([out[14], out[15]]);
    assert_eq!(tci & 0xf000, 0, "PCP 0, DEI 0");
    let mut b = out[..12].to_vec();
    b.extend_from_slice(&out[16..]);
    (tci, b)
}

fn host_v4(src_mac: MacAddr, src: &str, dst: &str, proto: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    eth(
        MAC0,
        src_mac,
        ethertype::IPV4,
        &ipv4(v4(src), v4(dst), proto, ttl, payload),
    )
}

fn echo_request() -> Vec<u8> {
    let r = Icmpv4Repr::EchoRequest {
        ident: 0x77,
        seq: 1,
        data: b"vlan",
    };
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut b).unwrap();
    b
}

fn arp_request(sender_mac: MacAddr, sender: &str, target: &str) -> Vec<u8> {
    let repr = ArpRepr {
        operation: ArpOperation::Request,
        sender_mac,
        sender_ip: v4(sender),
        target_mac: MacAddr::ZERO,
        target_ip: v4(target),
    };
    let mut b = vec![0u8; 28];
    repr.emit(&mut b).unwrap();
    eth(MacAddr::BROADCAST, sender_mac, ethertype::ARP, &b)
}

#[test]
fn tagged_arp_request_is_answered_tagged_and_learned_on_the_sub_interface() {
    let mut r = trunk();
    let req = tagged(10, &arp_request(H10, "10.10.0.7", "10.10.0.1"));
    let (v, out) = r.run(&req, 0);
    assert_eq!(v, Verdict::Reply { port: 0 }, "leaves on the parent");
    let (vid, plain) = untag(&out);
    assert_eq!(vid, 10);
    assert_eq!((eth_of(&plain).dst(), eth_of(&plain).src()), (H10, MAC0));
    let reply = ArpRepr::parse(&ArpPacket::new_checked(&plain[14..]).unwrap()).unwrap();
    assert_eq!(reply.operation, ArpOperation::Reply);
    assert_eq!((reply.sender_ip, reply.sender_mac), (v4("10.10.0.1"), MAC0));
    assert_eq!(reply.target_ip, v4("10.10.0.7"));
    // The binding belongs to the logical port, not the parent.
    assert_eq!(
        r.events,
        vec![ControlEvent::NeighborLearned {
            port: V10,
            ip: "10.10.0.7".parse().unwrap(),
            mac: H10,
            kind: LearnKind::Request,
        }]
    );
    // The same request on VLAN 30 asks for an address that is not ours
    // there; VLAN 30's own address is answered there.
    let (v, _) = r.run(&tagged(30, &arp_request(H30, "10.30.0.7", "10.10.0.1")), 0);
    assert_eq!(v, Verdict::Drop(DropReason::ArpNotForUs));
    let (v, out) = r.run(&tagged(30, &arp_request(H30, "10.30.0.7", "10.30.0.1")), 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    assert_eq!(untag(&out).0, 30);
    // rx counted on the parent (the wire) and on each sub-interface; tx of
    // the replies on the sub-interfaces.
    let c = &r.worker.counters;
    assert_eq!(c.port(0).rx_packets, 3);
    assert_eq!((c.port(V10).rx_packets, c.port(V30).rx_packets), (1, 2));
    assert_eq!((c.port(V10).tx_packets, c.port(V30).tx_packets), (1, 1));
    assert_eq!(c.port(V10).tx_bytes, out.len() as u64);
}

#[test]
fn ping_to_a_sub_interface_address_is_answered_tagged_and_the_parent_still_routes() {
    let mut r = trunk();
    let ping = host_v4(
        H10,
        "10.10.0.2",
        "10.10.0.1",
        protocol::ICMP,
        64,
        &echo_request(),
    );
    let (v, out) = r.run(&tagged(10, &ping), 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    let (vid, plain) = untag(&out);
    assert_eq!(vid, 10);
    assert_eq!(eth_of(&plain).dst(), H10);
    let ip = ipv4_of(&plain);
    assert_eq!((ip.src(), ip.dst()), (v4("10.10.0.1"), v4("10.10.0.2")));
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(icmp.msg_type(), msg_type::ECHO_REPLY);
    assert!(icmp.verify_checksum());
    // The parent answers untagged for its own address.
    let ping0 = host_v4(
        PEER0,
        "10.0.0.2",
        "10.0.0.1",
        protocol::ICMP,
        64,
        &echo_request(),
    );
    let (v, out) = r.run(&ping0, 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    assert_eq!(eth_of(&out).vlan_id(), None);
    assert_eq!(ipv4_of(&out).src(), v4("10.0.0.1"));
    // Blue's address is not the parent's (VRF 0): not answered untagged.
    let ping_blue = host_v4(
        PEER0,
        "10.0.0.2",
        "10.10.0.1",
        protocol::ICMP,
        64,
        &echo_request(),
    );
    let (v, out) = r.run(&ping_blue, 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    let icmp = Icmpv4Packet::new_checked(ipv4_of(&out).payload())
        .unwrap()
        .msg_type();
    assert_eq!(icmp, msg_type::DST_UNREACHABLE);
    assert_eq!(r.count(Event::EchoRepliesSent), 2);
}

#[test]
fn forwards_between_two_vlans_of_one_vrf_with_the_egress_vid() {
    let mut r = trunk();
    let input = host_v4(H10, "10.10.0.2", "10.30.0.2", protocol::UDP, 64, &[7; 8]);
    let (v, out) = r.run(&tagged(10, &input), 0);
    assert_eq!(v, Verdict::Forward { port: 0 });
    let (vid, plain) = untag(&out);
    assert_eq!(vid, 30);
    assert_eq!((eth_of(&plain).dst(), eth_of(&plain).src()), (H30, MAC0));
    let ip = ipv4_of(&plain);
    assert_eq!(ip.ttl(), 63);
    assert!(ip.verify_checksum());
    assert_eq!(plain[14 + 20..], input[14 + 20..], "payload intact");
    assert_eq!(out.len(), input.len() + 4);
    // And back, IPv6 too.
    let v6_in = eth(
        MAC0,
        H30,
        ethertype::IPV6,
        &ipv6(v6("2001:db8:30::2"), v6("2001:db8:10::2"), 17, 64, &[1; 8]),
    );
    let (v, _) = r.run(&tagged(30, &v6_in), 0);
    // 2001:db8:10::2 is not resolved yet: the request names VLAN 10.
    assert_eq!(v, Verdict::Drop(DropReason::NoNeighbor));
    assert_eq!(
        r.events.last(),
        Some(&ControlEvent::Resolve {
            port: V10,
            ip: "2001:db8:10::2".parse().unwrap()
        })
    );
    let c = &r.worker.counters;
    assert_eq!((c.port(V10).rx_packets, c.port(V30).tx_packets), (1, 1));
    assert_eq!(c.port(V30).rx_packets, 1);
}

#[test]
fn vlans_in_different_vrfs_are_isolated() {
    let mut r = trunk();
    // Red (VLAN 20) has no route to blue's subnets: net unreachable,
    // tagged back on VLAN 20.
    let input = host_v4(H20, "10.20.0.2", "10.10.0.2", protocol::UDP, 64, &[0; 8]);
    let (v, out) = r.run(&tagged(20, &input), 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    let (vid, plain) = untag(&out);
    assert_eq!(vid, 20);
    let ip = ipv4_of(&plain);
    assert_eq!((ip.src(), ip.dst()), (v4("10.20.0.1"), v4("10.20.0.2")));
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(
        (icmp.msg_type(), icmp.code()),
        (msg_type::DST_UNREACHABLE, unreach_code::NET)
    );
    // Blue's gateway address is not ours from red either.
    let ping = host_v4(
        H20,
        "10.20.0.2",
        "10.10.0.1",
        protocol::ICMP,
        64,
        &echo_request(),
    );
    let (_, out) = r.run(&tagged(20, &ping), 0);
    let icmp = Icmpv4Packet::new_checked(ipv4_of(&untag(&out).1).payload())
        .unwrap()
        .msg_type();
    assert_eq!(icmp, msg_type::DST_UNREACHABLE);
    // And blue cannot reach red.
    let input = host_v4(H10, "10.10.0.2", "10.20.0.2", protocol::UDP, 64, &[0; 8]);
    let (v, out) = r.run(&tagged(10, &input), 0);
    assert_eq!((v, untag(&out).0), (Verdict::Reply { port: 0 }, 10));
    assert_eq!(r.drops(DropReason::NoRoute), 3);
    assert_eq!(r.count(Event::EchoRepliesSent), 0);
    assert_eq!(r.count(Event::Forwarded), 0);
}

#[test]
fn unknown_vid_is_dropped_and_counted_and_vid_0_is_the_parent() {
    let mut r = trunk();
    let input = host_v4(H10, "10.10.0.2", "10.30.0.2", protocol::UDP, 64, &[0; 8]);
    let (v, _) = r.run(&tagged(99, &input), 0);
    assert_eq!(v, Verdict::Drop(DropReason::VlanNotConfigured));
    // VLAN 10 exists on port 0 only, not on port 1.
    let mut on1 = tagged(10, &input);
    on1[..6].copy_from_slice(&MAC1.0);
    let (v, _) = r.run(&on1, 1);
    assert_eq!(v, Verdict::Drop(DropReason::VlanNotConfigured));
    assert_eq!(r.drops(DropReason::VlanNotConfigured), 2);
    // Stacked tags (QinQ) are not a sub-interface.
    let (v, _) = r.run(&tagged(10, &tagged(10, &input)), 0);
    assert_eq!(v, Verdict::Drop(DropReason::BadEthertype));
    // Priority-tagged (VID 0): the parent's own traffic.
    let ping0 = host_v4(
        PEER0,
        "10.0.0.2",
        "10.0.0.1",
        protocol::ICMP,
        64,
        &echo_request(),
    );
    let (v, out) = r.run(&tagged(0, &ping0), 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    assert_eq!(eth_of(&out).vlan_id(), None);
    // A truncated tag.
    let (v, _) = r.run(&tagged(10, &input)[..16], 0);
    assert_eq!(v, Verdict::Drop(DropReason::Truncated));
    // Frames never arrive on a sub-interface id directly.
    let (v, _) = r.run(&input, V10);
    assert_eq!(v, Verdict::Drop(DropReason::UnknownPort));
}

#[test]
fn ndp_on_a_sub_interface_answers_tagged_and_learns_per_logical_port() {
    let mut r = trunk();
    let target = v6("2001:db8:10::1");
    let group = solicited_node(&target);
    let repr = Icmpv6Repr::Ndp(NdpRepr::NeighborSolicit {
        target,
        source_lladdr: Some(H10),
    });
    let src = v6("2001:db8:10::2");
    let mut icmp = vec![0u8; repr.buffer_len()];
    repr.emit(&src, &group, &mut icmp).unwrap();
    let ns = eth(
        MacAddr::from_ipv6_multicast(&group),
        H10,
        ethertype::IPV6,
        &ipv6(src, group, next_header::ICMPV6, 255, &icmp),
    );
    let (v, out) = r.run(&tagged(10, &ns), 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    let (vid, plain) = untag(&out);
    assert_eq!(vid, 10);
    assert_eq!(eth_of(&plain).dst(), H10);
    let ip = ipv6_of(&plain);
    assert_eq!((ip.src(), ip.dst(), ip.hop_limit()), (target, src, 255));
    let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
    let Icmpv6Repr::Ndp(NdpRepr::NeighborAdvert {
        target: t,
        target_lladdr,
        solicited,
        ..
    }) = Icmpv6Repr::parse(&ip.src(), &ip.dst(), &icmp).unwrap()
    else {
        panic!("not an NA");
    };
    assert_eq!((t, target_lladdr, solicited), (target, Some(MAC0), true));
    assert_eq!(
        r.events,
        vec![ControlEvent::NeighborLearned {
            port: V10,
            ip: IpAddr::V6(src),
            mac: H10,
            kind: LearnKind::Request,
        }]
    );
    // The same NS on VLAN 30 targets an address VLAN 30 does not have.
    let (v, _) = r.run(&tagged(30, &ns), 0);
    assert_eq!(v, Verdict::Drop(DropReason::NdpNotForUs));
    // IPv6 echo to VLAN 30's address, answered on VLAN 30.
    let echo = Icmpv6Repr::EchoRequest {
        ident: 1,
        seq: 1,
        data: b"v6",
    };
    let (s, d) = (v6("2001:db8:30::2"), v6("2001:db8:30::1"));
    let mut b = vec![0u8; echo.buffer_len()];
    echo.emit(&s, &d, &mut b).unwrap();
    let ping = eth(
        MAC0,
        H30,
        ethertype::IPV6,
        &ipv6(s, d, next_header::ICMPV6, 64, &b),
    );
    let (v, out) = r.run(&tagged(30, &ping), 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    let (vid, plain) = untag(&out);
    assert_eq!((vid, ipv6_of(&plain).src()), (30, d));
}

#[test]
fn icmp_errors_leave_tagged_on_the_vlan_they_answer() {
    let mut r = trunk();
    let input = host_v4(H10, "10.10.0.2", "10.30.0.2", protocol::UDP, 1, &[0; 8]);
    let (v, out) = r.run(&tagged(10, &input), 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    let (vid, plain) = untag(&out);
    assert_eq!(vid, 10);
    assert_eq!((eth_of(&plain).dst(), eth_of(&plain).src()), (H10, MAC0));
    let ip = ipv4_of(&plain);
    assert_eq!((ip.src(), ip.dst()), (v4("10.10.0.1"), v4("10.10.0.2")));
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(
        (icmp.msg_type(), icmp.code()),
        (msg_type::TIME_EXCEEDED, time_exceeded_code::TTL)
    );
    assert!(icmp.verify_checksum());
    assert_eq!(r.drops(DropReason::TtlExpired), 1);
}

#[test]
fn a_tag_needs_headroom_else_no_room() {
    let mut r = trunk();
    // Arrives untagged on port 1, leaves tagged toward VLAN 30: with no
    // headroom the tag cannot be pushed.
    let mut input = host_v4(PEER0, "10.0.1.2", "10.30.0.2", protocol::UDP, 64, &[0; 8]);
    input[..6].copy_from_slice(&MAC1.0);
    r.ports[1].vrf = 1;
    let (v, _) = r.run_with_room(&input, 1, 0, 64);
    assert_eq!(v, Verdict::Drop(DropReason::NoRoom));
    let (v, out) = r.run(&input, 1);
    assert_eq!((v, untag(&out).0), (Verdict::Forward { port: 0 }, 30));
}

#[test]
fn control_thread_solicitations_for_a_sub_interface_leave_tagged_on_the_parent() {
    let r = trunk();
    let mut buf = vec![0u8; 256];
    let mut f = Frame::new(&mut buf, 128, 0).unwrap();
    build_arp_request(&mut f, &r.ports[usize::from(V20)], v4("10.20.0.9"), None).unwrap();
    assert_eq!(to_wire(&mut f, &r.ports, V20), Some(0));
    let (vid, plain) = untag(f.data());
    assert_eq!(vid, 20);
    let arp = ArpRepr::parse(&ArpPacket::new_checked(&plain[14..]).unwrap()).unwrap();
    assert_eq!(
        (arp.sender_ip, arp.target_ip),
        (v4("10.20.0.1"), v4("10.20.0.9"))
    );
    let mut buf = vec![0u8; 256];
    let mut f = Frame::new(&mut buf, 128, 0).unwrap();
    let target = v6("2001:db8:30::9");
    build_neighbor_solicitation(&mut f, &r.ports[usize::from(V30)], target, None).unwrap();
    assert_eq!(to_wire(&mut f, &r.ports, V30), Some(0));
    let (vid, plain) = untag(f.data());
    assert_eq!(vid, 30);
    assert_eq!(ipv6_of(&plain).src(), v6("2001:db8:30::1"));
    // A physical port's frame is left alone; an unknown port has no wire.
    let mut buf = vec![0u8; 256];
    let mut f = Frame::new(&mut buf, 128, 0).unwrap();
    build_arp_request(&mut f, &r.ports[1], v4("10.0.1.9"), None).unwrap();
    assert_eq!(to_wire(&mut f, &r.ports, 1), Some(1));
    assert_eq!(eth_of(f.data()).vlan_id(), None);
    assert_eq!(to_wire(&mut f, &r.ports, 9), None);
}
