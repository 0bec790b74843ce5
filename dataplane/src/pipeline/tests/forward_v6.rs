use super::*;
use sdwan_packet::icmpv6::{msg_type, Icmpv6Packet, Icmpv6Repr};
use sdwan_packet::ipv6::next_header;

fn echo(src: &str, dst: &str) -> Vec<u8> {
    let r = Icmpv6Repr::EchoRequest {
        ident: 9,
        seq: 1,
        data: b"ping6",
    };
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&v6(src), &v6(dst), &mut b).unwrap();
    b
}

#[test]
fn forwards_via_gateway_decrementing_hop_limit() {
    let mut r = Router::new();
    let input = v6_frame(
        "2001:db8::2",
        "2001:db8:100::5",
        next_header::UDP,
        64,
        &[0; 16],
    );
    let (v, out) = r.run(&input, 0);
    assert_eq!(v, Verdict::Forward { port: 1 });
    assert_eq!((eth_of(&out).dst(), eth_of(&out).src()), (GW_MAC, MAC1));
    assert_eq!(ipv6_of(&out).hop_limit(), 63);
    assert_eq!(out[14..21], input[14..21]);
    assert_eq!(out[22..], input[22..]);
}

#[test]
fn hop_limit_expiry_sends_time_exceeded() {
    let mut r = Router::new();
    let input = v6_frame(
        "2001:db8::2",
        "2001:db8:100::5",
        next_header::UDP,
        1,
        &[7; 16],
    );
    let (v, out) = r.run(&input, 0);
    assert_eq!(v, Verdict::Reply { port: 0 });
    assert_eq!((eth_of(&out).dst(), eth_of(&out).src()), (PEER0, MAC0));
    let ip = ipv6_of(&out);
    assert_eq!(
        (ip.src(), ip.dst(), ip.next_header()),
        (v6("2001:db8::1"), v6("2001:db8::2"), next_header::ICMPV6)
    );
    let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
    assert!(icmp.verify_checksum(&ip.src(), &ip.dst()));
    assert_eq!(
        Icmpv6Repr::parse(&ip.src(), &ip.dst(), &icmp).unwrap(),
        Icmpv6Repr::TimeExceeded {
            code: 0,
            data: &input[14..]
        }
    );
    assert_eq!(r.drops(DropReason::HopLimitExpired), 1);
}

#[test]
fn too_big_gets_packet_too_big_and_no_route_unreachable() {
    let mut r = Router::new();
    r.ports[1].mtu = 1280;
    let (v, out) = r.run(
        &v6_frame(
            "2001:db8::2",
            "2001:db8:100::5",
            next_header::UDP,
            64,
            &[0; 1300],
        ),
        0,
    );
    assert_eq!(v, Verdict::Reply { port: 0 });
    let ip = ipv6_of(&out);
    assert_eq!(ip.total_len(), 1280);
    let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(
        (icmp.msg_type(), icmp.rest_of_header()),
        (msg_type::PACKET_TOO_BIG, 1280)
    );
    assert_eq!(r.drops(DropReason::MtuExceeded), 1);
    let (v, out) = r.run(
        &v6_frame("2001:db8::2", "2001:db9::5", next_header::UDP, 64, &[0; 8]),
        0,
    );
    assert_eq!(v, Verdict::Reply { port: 0 });
    let ip = ipv6_of(&out);
    assert_eq!(
        Icmpv6Packet::new_checked(ip.payload()).unwrap().msg_type(),
        msg_type::DST_UNREACHABLE
    );
    assert_eq!(r.drops(DropReason::NoRoute), 1);
}

#[test]
fn echo_replies_for_global_and_link_local() {
    let mut r = Router::new();
    let ll = r.ports[0].link_local().unwrap().to_string();
    for (src, dst) in [("2001:db8::2", "2001:db8::1"), ("fe80::2", ll.as_str())] {
        let (v, out) = r.run(
            &v6_frame(src, dst, next_header::ICMPV6, 64, &echo(src, dst)),
            0,
        );
        assert_eq!(v, Verdict::Reply { port: 0 }, "{dst}");
        let ip = ipv6_of(&out);
        assert_eq!((ip.src(), ip.dst(), ip.hop_limit()), (v6(dst), v6(src), 64));
        let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(
            Icmpv6Repr::parse(&ip.src(), &ip.dst(), &icmp).unwrap(),
            Icmpv6Repr::EchoReply {
                ident: 9,
                seq: 1,
                data: b"ping6"
            }
        );
    }
    assert_eq!(r.count(Event::EchoRepliesSent), 2);
}

#[test]
fn scope_and_multicast_rules() {
    let mut r = Router::new();
    let (v, _) = r.run(
        &v6_frame("fe80::2", "2001:db8:100::5", next_header::UDP, 64, &[0; 8]),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::LinkLocalScope));
    let (v, _) = r.run(
        &v6_frame("2001:db8::2", "fe80::77", next_header::UDP, 64, &[0; 8]),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::LinkLocalScope));
    let mut m = v6_frame(
        "2001:db8::2",
        "ff02::1:ff00:99",
        next_header::UDP,
        64,
        &[0; 8],
    );
    m[..6].copy_from_slice(&[0x33, 0x33, 0xff, 0, 0, 0x99]);
    assert_eq!(r.run(&m, 0).0, Verdict::Drop(DropReason::NotForUs));
    assert_eq!(
        r.run(
            &v6_frame("ff02::1", "2001:db8:100::5", next_header::UDP, 64, &[0; 8]),
            0
        )
        .0,
        Verdict::Drop(DropReason::MartianSource)
    );
    assert_eq!(
        r.run(
            &v6_frame(
                "2001:db8:1::1",
                "2001:db8:100::5",
                next_header::UDP,
                64,
                &[0; 8]
            ),
            0
        )
        .0,
        Verdict::Drop(DropReason::MartianSource)
    );
}

#[test]
fn local_udp_is_delivered_and_bad_icmpv6_checksum_dropped() {
    let mut r = Router::new();
    assert_eq!(
        r.run(
            &v6_frame("2001:db8::2", "2001:db8::1", next_header::UDP, 64, &[0; 8]),
            0
        )
        .0,
        Verdict::Local
    );
    let mut e = echo("2001:db8::2", "2001:db8::1");
    e[9] ^= 0x40;
    let (v, _) = r.run(
        &v6_frame("2001:db8::2", "2001:db8::1", next_header::ICMPV6, 64, &e),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::BadIcmpChecksum));
}
