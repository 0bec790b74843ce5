use super::*;
use sdwan_packet::icmpv4::{msg_type, Icmpv4Packet, Icmpv4Repr};
use sdwan_packet::ipv4::protocol;

fn echo_request() -> Vec<u8> {
    let r = Icmpv4Repr::EchoRequest {
        ident: 0x1234,
        seq: 7,
        data: b"abcdefgh",
    };
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut b).unwrap();
    b
}

#[test]
fn echo_request_gets_reply() {
    let mut r = Router::new();
    let (v, out) = r.run(
        &v4_frame("10.0.0.2", "10.0.0.1", protocol::ICMP, 5, &echo_request()),
        0,
    );
    assert_eq!(v, Verdict::Reply { port: 0 });
    assert_eq!((eth_of(&out).dst(), eth_of(&out).src()), (PEER0, MAC0));
    let ip = ipv4_of(&out);
    assert!(ip.verify_checksum());
    assert_eq!(
        (ip.src(), ip.dst(), ip.ttl()),
        (v4("10.0.0.1"), v4("10.0.0.2"), 64)
    );
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(
        Icmpv4Repr::parse(&icmp).unwrap(),
        Icmpv4Repr::EchoReply {
            ident: 0x1234,
            seq: 7,
            data: b"abcdefgh"
        }
    );
    assert_eq!(r.count(Event::EchoRepliesSent), 1);
}

#[test]
fn echo_to_another_port_address_is_answered_from_it() {
    let mut r = Router::new();
    let (v, out) = r.run(
        &v4_frame("10.0.0.2", "10.0.1.1", protocol::ICMP, 5, &echo_request()),
        0,
    );
    assert_eq!(v, Verdict::Reply { port: 0 });
    assert_eq!(ipv4_of(&out).src(), v4("10.0.1.1"));
}

#[test]
fn echo_with_bad_icmp_checksum_is_dropped() {
    let mut r = Router::new();
    let mut e = echo_request();
    e[10] ^= 1;
    let (v, _) = r.run(&v4_frame("10.0.0.2", "10.0.0.1", protocol::ICMP, 5, &e), 0);
    assert_eq!(v, Verdict::Drop(DropReason::BadIcmpChecksum));
    assert_eq!(r.drops(DropReason::BadIcmpChecksum), 1);
}

#[test]
fn other_local_traffic_goes_to_the_glue_unchanged() {
    let mut r = Router::new();
    let input = v4_frame("10.0.0.2", "10.0.0.1", protocol::TCP, 64, &[0; 20]);
    let (v, out) = r.run(&input, 0);
    assert_eq!(v, Verdict::Local);
    assert_eq!(out, input);
    let mut reply = echo_request();
    reply[0] = msg_type::ECHO_REPLY;
    Icmpv4Packet::new_unchecked(&mut reply[..]).fill_checksum();
    assert_eq!(
        r.run(
            &v4_frame("10.0.0.2", "10.0.0.1", protocol::ICMP, 5, &reply),
            0
        )
        .0,
        Verdict::Local
    );
    assert_eq!(r.count(Event::LocalDelivered), 2);
}

#[test]
fn martians_are_dropped() {
    let mut r = Router::new();
    for src in [
        "127.0.0.1",
        "0.1.2.3",
        "224.0.0.5",
        "255.255.255.255",
        "10.0.1.1",
    ] {
        let (v, _) = r.run(&v4_frame(src, "172.16.3.4", protocol::UDP, 64, &[0; 8]), 0);
        assert_eq!(v, Verdict::Drop(DropReason::MartianSource), "{src}");
    }
    let (v, _) = r.run(
        &v4_frame("10.0.0.2", "127.0.0.1", protocol::UDP, 64, &[0; 8]),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::MartianDestination));
    let (v, _) = r.run(&v4_frame("10.0.0.2", "224.0.0.5", 89, 1, &[0; 8]), 0);
    assert_eq!(v, Verdict::Drop(DropReason::LocalUnhandled));
}
