//! WAN -> LAN: ESP-in-UDP from the remote edge into the right VRF.

use super::*;
use sdwan_crypto::NextHeader;
use sdwan_packet::ipv4::Ipv4Packet;
use sdwan_packet::ipv6::Ipv6Packet;

/// A client packet from the remote site to 10.1.0.2 (exists in both VRFs).
fn remote_client(ttl: u8) -> Vec<u8> {
    let (s, d) = (v4("10.2.0.5"), v4("10.1.0.2"));
    ipv4(s, d, 17, ttl, &udp(s.into(), d.into(), 7, 32))
}

fn from_peer(label: u32) -> (OutboundSa<DefaultEngine>, Vec<u8>) {
    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    let f = wan_frame(
        &mut sa,
        NextHeader::Mpls,
        &mpls(label, 60, &remote_client(60)),
    );
    (sa, f)
}

#[test]
fn label_chooses_the_vrf_of_overlapping_prefixes() {
    let mut edge = Edge::new();
    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    for (label, port, host) in [(1001, BLUE, BLUE_HOST_MAC), (2002, RED, RED_HOST_MAC)] {
        let input = wan_frame(
            &mut sa,
            NextHeader::Mpls,
            &mpls(label, 60, &remote_client(60)),
        );
        let (v, out) = edge.run(&input, WAN);
        assert_eq!(v, Verdict::Forward { port }, "label {label}");
        let e = super::super::eth_of(&out);
        let mac = edge.ports[usize::from(port)].mac;
        assert_eq!(
            (e.dst(), e.src(), e.ethertype()),
            (host, mac, ethertype::IPV4)
        );
        let ip = Ipv4Packet::new_checked(&out[14..]).unwrap();
        assert_eq!((ip.ttl(), ip.dst()), (59, v4("10.1.0.2")));
        assert!(ip.verify_checksum());
        assert_eq!(
            &out[14..],
            &{
                let mut c = remote_client(59);
                Ipv4Packet::new_unchecked(&mut c[..]).fill_checksum();
                c
            }[..]
        );
    }
    assert_eq!(edge.count(Event::OverlayDecapsulated), 2);
    let sa = edge.worker.overlay.inbound().get(IN_V4).unwrap();
    assert_eq!(sa.counters().packets, 2);
}

#[test]
fn ipv6_client_over_ipv6_underlay_and_gre_and_vxlan_decap() {
    let mut edge = Edge::new();
    let (s, d) = (v6("2001:db8:b::5"), v6("2001:db8:a::2"));
    let client = ipv6(s, d, 17, 30, &udp(s.into(), d.into(), 7, 16));
    let mut sa6 = peer_sa(IN_V6, PEER_V6, WAN_V6);
    let input = wan_frame(&mut sa6, NextHeader::Mpls, &mpls(1001, 30, &client));
    let (v, out) = edge.run(&input, WAN);
    assert_eq!(v, Verdict::Forward { port: BLUE });
    let ip = Ipv6Packet::new_checked(&out[14..]).unwrap();
    assert_eq!((ip.hop_limit(), ip.dst()), (29, d));

    // GRE key 1001 -> blue.
    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    let mut gre = vec![0x20, 0, 0x08, 0, 0, 0, 0x03, 0xe9];
    gre.extend_from_slice(&remote_client(60));
    let (v, _) = edge.run(&wan_frame(&mut sa, NextHeader::Gre, &gre), WAN);
    assert_eq!(v, Verdict::Forward { port: BLUE });

    // VXLAN VNI 1001 over IPv4 -> blue, built by our own encap path.
    let mut buf = vec![0u8; 256];
    let c = remote_client(60);
    buf[128..128 + c.len()].copy_from_slice(&c);
    let mut f = Frame::new(&mut buf, 128, c.len()).unwrap();
    let vxo = crate::overlay::inner::VxlanOuter {
        src: PEER_V4.parse().unwrap(),
        dst: WAN_V4.parse().unwrap(),
        src_mac: GW_MAC,
        entropy: 7,
    };
    let family = crate::overlay::inner::Family::V4;
    let nh = crate::overlay::inner::push(&mut f, InnerEncap::Vxlan { vni: 1001 }, family, 60, &vxo)
        .unwrap();
    let (v, _) = edge.run(&wan_frame(&mut sa, nh, f.data()), WAN);
    assert_eq!(v, Verdict::Forward { port: BLUE });
}

/// A republish that keeps an SA (same SPI, keys) but moves its binding
/// applies the new peer address and WAN port to the kept SA.
#[test]
fn a_republished_binding_moves_the_kept_sa() {
    let mut edge = Edge::new();
    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    let send = |edge: &mut Edge, sa: &mut OutboundSa<DefaultEngine>| {
        let f = wan_frame(sa, NextHeader::Mpls, &mpls(1001, 60, &remote_client(60)));
        edge.run(&f, WAN).0
    };
    assert_eq!(send(&mut edge, &mut sa), Verdict::Forward { port: BLUE });
    // The peer moved to 203.0.113.99: its old address is refused now.
    let mut t = table();
    t.inbound[0].peer = Some("203.0.113.99".parse().unwrap());
    edge.publish(t.clone());
    assert_eq!(
        send(&mut edge, &mut sa),
        Verdict::Drop(DropReason::EspBadOuterSource)
    );
    let mut moved = peer_sa(IN_V4, "203.0.113.99", WAN_V4);
    moved.set_next_seq(10);
    assert_eq!(send(&mut edge, &mut moved), Verdict::Forward { port: BLUE });
    // Bound to WAN2 now: the same packet on WAN is the wrong port.
    t.inbound[0].local_port = WAN2;
    edge.publish(t);
    assert_eq!(
        send(&mut edge, &mut moved),
        Verdict::Drop(DropReason::EspWrongPeer)
    );
}

#[test]
fn replay_is_dropped_and_survives_a_republish_of_the_same_sa() {
    let mut edge = Edge::new();
    let (_, input) = from_peer(1001);
    assert_eq!(edge.run(&input, WAN).0, Verdict::Forward { port: BLUE });
    assert_eq!(
        edge.run(&input, WAN).0,
        Verdict::Drop(DropReason::EspReplay)
    );
    // A new generation with the same inbound SA keeps the window.
    edge.publish(table());
    assert_eq!(
        edge.run(&input, WAN).0,
        Verdict::Drop(DropReason::EspReplay)
    );
    assert_eq!(edge.drops(DropReason::EspReplay), 2);
    // A new key under the same SPI is a new SA: fresh window.
    let mut t = table();
    t.inbound[0].keys = keys(0x7777);
    edge.publish(t);
    assert_eq!(
        edge.run(&input, WAN).0,
        Verdict::Drop(DropReason::EspIcvFail)
    );
}

#[test]
fn bad_spi_wrong_label_wrong_peer_and_tampering_are_named() {
    let mut edge = Edge::new();
    let mut unknown = peer_sa(0x3333, PEER_V4, WAN_V4);
    let f = wan_frame(
        &mut unknown,
        NextHeader::Mpls,
        &mpls(1001, 60, &remote_client(60)),
    );
    assert_eq!(edge.run(&f, WAN).0, Verdict::Drop(DropReason::EspBadSpi));

    let (_, f) = from_peer(7777);
    assert_eq!(
        edge.run(&f, WAN).0,
        Verdict::Drop(DropReason::UnknownVpnLabel)
    );

    // Same keys but from another address: refused before decryption.
    let mut elsewhere = peer_sa(IN_V4, "203.0.113.99", WAN_V4);
    elsewhere.set_next_seq(50);
    let f = wan_frame(
        &mut elsewhere,
        NextHeader::Mpls,
        &mpls(1001, 60, &remote_client(60)),
    );
    assert_eq!(
        edge.run(&f, WAN).0,
        Verdict::Drop(DropReason::EspBadOuterSource)
    );

    // Authentic, from the right peer, but to the other WAN port.
    let mut other_port = peer_sa(IN_V4, PEER_V4, WAN2_V4);
    other_port.set_next_seq(70);
    let mut f = wan_frame(
        &mut other_port,
        NextHeader::Mpls,
        &mpls(1001, 60, &remote_client(60)),
    );
    f[..6].copy_from_slice(&WAN2_MAC.0);
    assert_eq!(
        edge.run(&f, WAN2).0,
        Verdict::Drop(DropReason::EspWrongPeer)
    );

    let mut sa = peer_sa(IN_V4, PEER_V4, WAN_V4);
    sa.set_next_seq(100);
    let mut f = wan_frame(
        &mut sa,
        NextHeader::Mpls,
        &mpls(1001, 60, &remote_client(60)),
    );
    let last = f.len() - 1;
    f[last] ^= 1;
    assert_eq!(edge.run(&f, WAN).0, Verdict::Drop(DropReason::EspIcvFail));

    // Only one MPLS entry is carried: S=0 is refused.
    let mut deep = mpls(1001, 60, &remote_client(60));
    deep[2] &= !1;
    let f = wan_frame(&mut sa, NextHeader::Mpls, &deep);
    assert_eq!(
        edge.run(&f, WAN).0,
        Verdict::Drop(DropReason::BadInnerEncap)
    );

    // A decapsulated packet may not go back into the overlay.
    let (s, d) = (v4("10.2.0.5"), v4("10.3.0.1"));
    let hairpin = ipv4(s, d, 17, 60, &udp(s.into(), d.into(), 7, 4));
    let f = wan_frame(&mut sa, NextHeader::Mpls, &mpls(1001, 60, &hairpin));
    assert_eq!(edge.run(&f, WAN).0, Verdict::Drop(DropReason::OverlayLoop));
}

/// A UDP datagram from the peer to our WAN address on `dport`.
fn udp_to_wan(dport: u16, payload: &[u8]) -> Vec<u8> {
    let (s, d) = (v4(PEER_V4), v4(WAN_V4));
    let mut u = vec![0u8; 8 + payload.len()];
    u[8..].copy_from_slice(payload);
    sdwan_packet::udp::UdpRepr {
        src_port: 4500,
        dst_port: dport,
        payload_len: payload.len(),
    }
    .emit(&mut u, &s.into(), &d.into())
    .unwrap();
    eth(WAN_MAC, GW_MAC, ethertype::IPV4, &ipv4(s, d, 17, 64, &u))
}

#[test]
fn keepalive_consumed_ike_dropped_other_udp_local() {
    let mut edge = Edge::new();
    assert_eq!(
        edge.run(&udp_to_wan(4500, &[0xff]), WAN).0,
        Verdict::Consumed
    );
    assert_eq!(edge.count(Event::OverlayKeepalives), 1);
    let ike = udp_to_wan(4500, &[0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(
        edge.run(&ike, WAN).0,
        Verdict::Drop(DropReason::IkeNotSupported)
    );
    let ike500 = udp_to_wan(500, &[1, 2, 3, 4]);
    assert_eq!(
        edge.run(&ike500, WAN).0,
        Verdict::Drop(DropReason::IkeNotSupported)
    );
    assert_eq!(edge.drops(DropReason::IkeNotSupported), 2);
    assert_eq!(edge.run(&udp_to_wan(53, &[1]), WAN).0, Verdict::Local);
    // Without overlay state no port is a WAN port: 4500 is just local UDP.
    edge.publish(OverlayTable::default());
    assert_eq!(edge.run(&udp_to_wan(4500, &[0xff]), WAN).0, Verdict::Local);
}

#[test]
fn inbound_sa_counters_are_published() {
    let mut edge = Edge::new();
    let (mut sa, f) = from_peer(1001);
    edge.run(&f, WAN);
    edge.run(&f, WAN);
    let g = wan_frame(
        &mut sa,
        NextHeader::Mpls,
        &mpls(1001, 60, &remote_client(60)),
    );
    edge.run(&g, WAN);
    let slots = crate::overlay::OverlayCounterSlots::new(1);
    edge.worker.overlay.publish(slots.slot(0).unwrap());
    let t = slots.totals();
    let s = &t.inbound[&crate::overlay::InboundKey {
        local_port: WAN,
        spi: IN_V4,
    }];
    assert_eq!(s.packets, 2);
    assert_eq!(s.drops.get("esp_replay"), Some(&1));
    assert_eq!(s.drop_total(), 1);
}
