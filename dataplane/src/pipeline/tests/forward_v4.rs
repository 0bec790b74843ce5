use super::*;
use sdwan_packet::icmpv4::{msg_type, Icmpv4Packet};
use sdwan_packet::ipv4::protocol;
use sdwan_packet::udp::UdpRepr;

fn udp_payload() -> Vec<u8> {
    let mut u = vec![0u8; 8 + 10];
    u[8..].copy_from_slice(b"0123456789");
    UdpRepr {
        src_port: 1000,
        dst_port: 2000,
        payload_len: 10,
    }
    .emit(
        &mut u,
        &"10.0.0.2".parse().unwrap(),
        &"172.16.3.4".parse().unwrap(),
    )
    .unwrap();
    u
}

#[test]
fn forwards_via_gateway_with_incremental_checksum() {
    let mut r = Router::new();
    let input = v4_frame("10.0.0.2", "172.16.3.4", protocol::UDP, 64, &udp_payload());
    let (v, out) = r.run(&input, 0);
    assert_eq!(v, Verdict::Forward { port: 1 });
    let e = eth_of(&out);
    assert_eq!(
        (e.dst(), e.src(), e.ethertype()),
        (GW_MAC, MAC1, ethertype::IPV4)
    );
    let ip = ipv4_of(&out);
    assert_eq!(ip.ttl(), 63);
    assert!(ip.verify_checksum());
    let mut recomputed = out[14..34].to_vec();
    Ipv4Packet::new_unchecked(&mut recomputed[..]).fill_checksum();
    assert_eq!(
        ip.checksum(),
        Ipv4Packet::new_unchecked(&recomputed[..]).checksum()
    );
    // Everything but TTL and checksum is untouched.
    assert_eq!(out[14..22], input[14..22]);
    assert_eq!(out[23], input[23]);
    assert_eq!(out[26..], input[26..]);
    assert_eq!(r.count(Event::Forwarded), 1);
    assert_eq!(r.worker.counters.port(0).rx_packets, 1);
    assert_eq!(r.worker.counters.port(0).rx_bytes, input.len() as u64);
    assert!(r.events.is_empty());
}

#[test]
fn strips_link_padding_when_forwarding() {
    let mut r = Router::new();
    let mut input = v4_frame("10.0.0.2", "172.16.3.4", protocol::UDP, 64, &[0u8; 4]);
    input.resize(60, 0);
    let (v, out) = r.run(&input, 0);
    assert_eq!(v, Verdict::Forward { port: 1 });
    assert_eq!(out.len(), 14 + 24);
}

#[test]
fn connected_unknown_neighbor_requests_resolution() {
    let mut r = Router::new();
    let (v, _) = r.run(
        &v4_frame("10.0.0.2", "10.0.1.77", protocol::UDP, 64, &[0; 8]),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::NoNeighbor));
    assert_eq!(
        r.events,
        vec![ControlEvent::Resolve {
            port: 1,
            ip: "10.0.1.77".parse().unwrap()
        }]
    );
    assert_eq!(r.drops(DropReason::NoNeighbor), 1);
    assert_eq!(r.count(Event::ResolveRequests), 1);
}

#[test]
fn incomplete_entry_is_quiet_and_stale_entry_forwards_with_probe() {
    let mut r = Router::new();
    let mut mgr = NeighborManager::new(NeighborConfig {
        reachable_time: std::time::Duration::ZERO,
        ..Default::default()
    });
    let t = Instant::now();
    let mut acts = Vec::new();
    let (a, b): (IpAddr, IpAddr) = ("10.0.1.77".parse().unwrap(), "10.0.1.78".parse().unwrap());
    mgr.handle_event(ControlEvent::Resolve { port: 1, ip: a }, t, &mut acts);
    mgr.handle_event(ControlEvent::Resolve { port: 1, ip: b }, t, &mut acts);
    let kind = LearnKind::Reply { override_: true };
    mgr.handle_event(
        ControlEvent::NeighborLearned {
            port: 1,
            ip: b,
            mac: GW_MAC,
            kind,
        },
        t,
        &mut acts,
    );
    mgr.poll(t, &mut acts); // reachable_time 0: b goes STALE
    r.neighbors = mgr.take_snapshot().unwrap();
    let (v, _) = r.run(
        &v4_frame("10.0.0.2", "10.0.1.77", protocol::UDP, 64, &[0; 8]),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::NoNeighbor));
    assert!(r.events.is_empty());
    let (v, out) = r.run(
        &v4_frame("10.0.0.2", "10.0.1.78", protocol::UDP, 64, &[0; 8]),
        0,
    );
    assert_eq!(v, Verdict::Forward { port: 1 });
    assert_eq!(eth_of(&out).dst(), GW_MAC);
    assert_eq!(r.events, vec![ControlEvent::Probe { port: 1, ip: b }]);
}

#[test]
fn ttl_expiry_sends_time_exceeded_quoting_the_packet() {
    let mut r = Router::new();
    let input = v4_frame("10.0.0.2", "172.16.3.4", protocol::UDP, 1, &udp_payload());
    let (v, out) = r.run(&input, 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    let e = eth_of(&out);
    assert_eq!((e.dst(), e.src()), (PEER0, MAC0));
    let ip = ipv4_of(&out);
    assert!(ip.verify_checksum());
    assert_eq!(
        (ip.src(), ip.dst(), ip.protocol(), ip.ttl()),
        (v4("10.0.0.1"), v4("10.0.0.2"), protocol::ICMP, 64)
    );
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert!(icmp.verify_checksum());
    assert_eq!((icmp.msg_type(), icmp.code()), (msg_type::TIME_EXCEEDED, 0));
    assert_eq!(icmp.data(), &input[14..]); // whole original (< 548 B), TTL 1
    assert_eq!(r.drops(DropReason::TtlExpired), 1);
    assert_eq!(r.count(Event::IcmpErrorsSent), 1);
    assert_eq!(r.count(Event::Replied), 1);
}

#[test]
fn time_exceeded_without_headroom_moves_quote_into_tailroom() {
    let mut r = Router::new();
    let input = v4_frame("10.0.0.2", "172.16.3.4", protocol::UDP, 1, &udp_payload());
    let (v, out) = r.run_with_room(&input, 0, 0, 64);
    assert_eq!(v, Verdict::Reply { port: 0 });
    let icmp = icmp4_of(&out);
    assert!(icmp.verify_checksum());
    assert_eq!(icmp.data(), &input[14..]);
    // Neither head- nor tailroom: suppressed, counted, dropped.
    let (v, _) = r.run_with_room(&input, 0, 0, 0);
    assert_eq!(v, Verdict::Drop(DropReason::TtlExpired));
    assert_eq!(r.count(Event::IcmpSuppressed), 1);
}

#[test]
fn long_packets_are_quoted_up_to_576_bytes() {
    let mut r = Router::new();
    let input = v4_frame("10.0.0.2", "172.16.3.4", protocol::UDP, 1, &[0x5a; 1000]);
    let (_, out) = r.run(&input, 0);
    let ip = ipv4_of(&out);
    assert_eq!(ip.total_len(), 576);
    assert_eq!(&ip.payload()[8..], &input[14..14 + 548]);
}

#[test]
fn icmp_errors_are_rate_limited() {
    let mut r = Router::with_icmp(IcmpRateLimit {
        per_second: 1,
        burst: 2,
    });
    r.worker.set_now(1_000_000_000);
    let input = v4_frame("10.0.0.2", "172.16.3.4", protocol::UDP, 1, &[0; 8]);
    assert_eq!(r.run(&input, 0).0, Verdict::Reply { port: 0 });
    assert_eq!(r.run(&input, 0).0, Verdict::Reply { port: 0 });
    assert_eq!(r.run(&input, 0).0, Verdict::Drop(DropReason::TtlExpired));
    assert_eq!(r.count(Event::IcmpRateLimited), 1);
    assert_eq!(r.drops(DropReason::TtlExpired), 3);
    r.worker.set_now(2_000_000_000);
    assert_eq!(r.run(&input, 0).0, Verdict::Reply { port: 0 });
}

#[test]
fn no_icmp_error_about_icmp_errors() {
    let mut r = Router::new();
    let mut te = [0u8; 36];
    te[0] = msg_type::TIME_EXCEEDED;
    Icmpv4Packet::new_unchecked(&mut te[..]).fill_checksum();
    let (v, _) = r.run(
        &v4_frame("10.0.0.2", "172.16.3.4", protocol::ICMP, 1, &te),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::TtlExpired));
    assert_eq!(r.count(Event::IcmpSuppressed), 1);
}

#[test]
fn no_route_sends_net_unreachable() {
    let mut r = Router::new();
    let (v, out) = r.run(
        &v4_frame("10.0.0.2", "8.8.8.8", protocol::UDP, 64, &[0; 8]),
        0,
    );
    assert_eq!(v, Verdict::Reply { port: 0 });
    let icmp = icmp4_of(&out);
    assert_eq!(
        (icmp.msg_type(), icmp.code()),
        (msg_type::DST_UNREACHABLE, 0)
    );
    assert_eq!(r.drops(DropReason::NoRoute), 1);
}

#[test]
fn blackhole_drops_silently() {
    let mut r = Router::new();
    let (v, _) = r.run(
        &v4_frame("10.0.0.2", "192.0.2.9", protocol::UDP, 64, &[0; 8]),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::Blackhole));
    assert_eq!(r.count(Event::IcmpErrorsSent), 0);
}

#[test]
fn mtu_exceeded_df_gets_frag_needed_else_dropped() {
    let mut r = Router::new();
    r.ports[1].mtu = 100;
    let input = v4_frame("10.0.0.2", "172.16.3.4", protocol::UDP, 64, &[0; 200]);
    let (v, out) = r.run(&input, 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    let icmp = icmp4_of(&out);
    assert_eq!(
        (icmp.msg_type(), icmp.code(), icmp.next_hop_mtu()),
        (msg_type::DST_UNREACHABLE, 4, 100)
    );
    let mut no_df = input.clone();
    no_df[20] = 0; // clear DF
    Ipv4Packet::new_unchecked(&mut no_df[14..]).fill_checksum();
    assert_eq!(r.run(&no_df, 0).0, Verdict::Drop(DropReason::MtuExceeded));
    assert_eq!(r.drops(DropReason::MtuExceeded), 2);
}

fn icmp4_of(out: &[u8]) -> Icmpv4Packet<&[u8]> {
    let hl = ipv4_of(out).header_len();
    Icmpv4Packet::new_checked(&out[14 + hl..]).unwrap()
}
