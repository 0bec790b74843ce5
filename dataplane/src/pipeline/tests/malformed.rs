use super::*;
use proptest::prelude::*;
use sdwan_packet::ipv4::protocol;
use sdwan_packet::ipv6::next_header;

fn expect(r: &mut Router, frame: &[u8], reason: DropReason) {
    let before = r.drops(reason);
    let (v, _) = r.run(frame, 0);
    assert_eq!(v, Verdict::Drop(reason));
    assert_eq!(r.drops(reason), before + 1, "{reason} not counted");
}

fn good_v4() -> Vec<u8> {
    v4_frame("10.0.0.2", "172.16.3.4", protocol::UDP, 64, &[0; 8])
}

fn refill_checksum(f: &mut [u8]) {
    Ipv4Packet::new_unchecked(&mut f[14..]).fill_checksum();
}

#[test]
fn ethernet_level() {
    let mut r = Router::new();
    expect(&mut r, &good_v4()[..10], DropReason::Truncated);
    let mut f = good_v4();
    f[12..14].copy_from_slice(&0x88ccu16.to_be_bytes()); // LLDP
    expect(&mut r, &f, DropReason::BadEthertype);
    f[12..14].copy_from_slice(&0x0040u16.to_be_bytes()); // 802.3 length
    expect(&mut r, &f, DropReason::BadEthertype);
    let mut f = good_v4();
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0x77]);
    expect(&mut r, &f, DropReason::NotForUs);
    let mut f = good_v4();
    f[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0, 0, 5]); // IPv4 multicast MAC
    expect(&mut r, &f, DropReason::NotForUs);
    let mut f = good_v4();
    f[6] = 0x01; // group source MAC
    expect(&mut r, &f, DropReason::BadSourceMac);
    let mut tagged = vec![0u8; 18];
    EthernetRepr {
        dst: MAC0,
        src: PEER0,
        vlan_id: Some(10),
        ethertype: ethertype::IPV4,
    }
    .emit(&mut tagged)
    .unwrap();
    tagged.extend_from_slice(&good_v4()[14..]);
    expect(&mut r, &tagged, DropReason::VlanNotConfigured);
}

#[test]
fn ipv4_header() {
    let mut r = Router::new();
    expect(&mut r, &good_v4()[..14 + 19], DropReason::Truncated);
    let mut f = good_v4();
    f[14] = 0x44; // IHL 4
    refill_checksum(&mut f);
    expect(&mut r, &f, DropReason::BadIpv4Header);
    let mut f = good_v4();
    f[14] = 0x55; // version 5
    expect(&mut r, &f, DropReason::BadIpv4Header);
    let mut f = good_v4();
    f[14] = 0x4f; // IHL 15 = 60 bytes > frame
    expect(&mut r, &f, DropReason::Truncated);
    let mut f = good_v4();
    f[16..18].copy_from_slice(&100u16.to_be_bytes()); // total length > frame
    refill_checksum(&mut f);
    expect(&mut r, &f, DropReason::Truncated);
    let mut f = good_v4();
    f[16..18].copy_from_slice(&12u16.to_be_bytes()); // total length < header
    refill_checksum(&mut f);
    expect(&mut r, &f, DropReason::BadIpv4Length);
    let mut f = good_v4();
    f[24] ^= 0x10; // checksum off
    expect(&mut r, &f, DropReason::BadIpv4Checksum);
}

#[test]
fn ipv6_header() {
    let mut r = Router::new();
    let good = v6_frame(
        "2001:db8::2",
        "2001:db8:100::5",
        next_header::UDP,
        64,
        &[0; 8],
    );
    expect(&mut r, &good[..14 + 39], DropReason::Truncated);
    expect(&mut r, &good[..good.len() - 1], DropReason::Truncated); // payload length > frame
    let mut f = good.clone();
    f[14] = 0x45;
    expect(&mut r, &f, DropReason::BadIpv6Header);
    // Extension header running past the payload, to us.
    let mut bad_ext = v6_frame(
        "2001:db8::2",
        "2001:db8::1",
        next_header::DEST_OPTS,
        64,
        &[next_header::UDP, 4, 0, 0, 0, 0, 0, 0],
    );
    expect(&mut r, &bad_ext, DropReason::Truncated);
    bad_ext[14 + 40] = next_header::HOP_BY_HOP; // hop-by-hop not first
    bad_ext[14 + 41] = 0;
    expect(&mut r, &bad_ext, DropReason::BadIpv6ExtensionHeader);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random bytes and random corruptions of valid frames never panic, and
    /// every frame gets exactly one counted outcome.
    #[test]
    fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200),
                    flips in proptest::collection::vec((0usize..200, any::<u8>()), 0..6),
                    base in 0u8..4, port in 0u16..3) {
        let mut r = Router::new();
        let mut f = match base {
            0 => bytes,
            1 => good_v4(),
            2 => v6_frame("2001:db8::2", "2001:db8::1", next_header::ICMPV6, 255, &bytes),
            _ => v4_frame("10.0.0.2", "10.0.0.1", protocol::ICMP, 64, &bytes),
        };
        for (at, x) in flips {
            if let Some(b) = f.get_mut(at) { *b ^= x; }
        }
        let (v, _) = r.run(&f, port);
        let c = &r.worker.counters;
        let drops: u64 = DropReason::ALL.iter().map(|d| c.drops(*d)).sum();
        let outcomes = drops
            + [Event::Forwarded, Event::Replied, Event::LocalDelivered, Event::Consumed]
                .iter().map(|e| c.events(*e)).sum::<u64>();
        // An ICMP error counts its drop reason and a reply.
        let expected = if r.count(Event::IcmpErrorsSent) == 1 { 2 } else { 1 };
        prop_assert_eq!(outcomes, expected, "{:?}", v);
    }
}
