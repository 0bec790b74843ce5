use super::*;
use etherparse::{Icmpv4Slice, Ipv4Header, PacketBuilder, TcpHeader, UdpHeader};
use proptest::prelude::*;

const INSIDE: [u8; 4] = [10, 0, 0, 5];
const REMOTE: [u8; 4] = [198, 51, 100, 7];
const PUBLIC: [u8; 4] = [203, 0, 113, 1];

fn config() -> Nat44Config {
    Nat44Config {
        public_addrs: vec![PUBLIC.into()],
        port_lo: 1024,
        port_hi: 65535,
        max_mappings: 1024,
        timeouts: NatTimeouts::default(),
        shard: 0,
        shards: 1,
        seed: 1,
    }
}

/// A small port range: building the shuffled free-port queues of the full
/// range for every proptest case is slow in debug builds.
fn small_config() -> Nat44Config {
    Nat44Config {
        port_lo: 1024,
        port_hi: 2047,
        ..config()
    }
}

fn udp(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv4(src, dst, 64)
        .udp(sp, dp)
        .write(&mut v, payload)
        .unwrap();
    v
}

fn tcp(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, flags: &str) -> Vec<u8> {
    let mut b = PacketBuilder::ipv4(src, dst, 64).tcp(sp, dp, 1000, 8192);
    for f in flags.chars() {
        b = match f {
            'S' => b.syn(),
            'A' => b.ack(1),
            'F' => b.fin(),
            'R' => b.rst(),
            _ => b,
        };
    }
    let mut v = Vec::new();
    b.write(&mut v, b"data").unwrap();
    v
}

fn echo(src: [u8; 4], dst: [u8; 4], id: u16, reply: bool) -> Vec<u8> {
    let b = PacketBuilder::ipv4(src, dst, 64);
    let b = if reply {
        b.icmpv4_echo_reply(id, 7)
    } else {
        b.icmpv4_echo_request(id, 7)
    };
    let mut v = Vec::new();
    b.write(&mut v, b"ping payload").unwrap();
    v
}

fn same_checksum(a: u16, b: u16) -> bool {
    // 0x0000 and 0xffff are the two one's-complement zeros.
    a == b || (a | b == 0xffff && (a == 0 || b == 0))
}

/// Checks every checksum with etherparse's own computation; returns the
/// (src, sport, dst, dport) seen.
fn verify(ip: &[u8]) -> ([u8; 4], u16, [u8; 4], u16) {
    let (h, _) = Ipv4Header::from_slice(ip).unwrap();
    assert_eq!(
        h.header_checksum,
        h.calc_header_checksum(),
        "IPv4 header checksum"
    );
    let payload = &ip[h.header_len()..usize::from(h.total_len)];
    match h.protocol.0 {
        6 => {
            let (t, data) = TcpHeader::from_slice(payload).unwrap();
            let want = t.calc_checksum_ipv4(&h, data).unwrap();
            assert!(
                same_checksum(t.checksum, want),
                "TCP {:#x} vs {want:#x}",
                t.checksum
            );
            (h.source, t.source_port, h.destination, t.destination_port)
        }
        17 => {
            let (u, rest) = UdpHeader::from_slice(payload).unwrap();
            let data = &rest[..usize::from(u.length) - 8];
            if u.checksum != 0 {
                let want = u.calc_checksum_ipv4(&h, data).unwrap();
                assert!(
                    same_checksum(u.checksum, want),
                    "UDP {:#x} vs {want:#x}",
                    u.checksum
                );
                assert_ne!(u.checksum, 0);
            }
            (h.source, u.source_port, h.destination, u.destination_port)
        }
        1 => {
            let s = Icmpv4Slice::from_slice(payload).unwrap();
            let want = s.header().icmp_type.calc_checksum(s.payload());
            assert!(same_checksum(s.checksum(), want), "ICMP");
            let id = u16::from_be_bytes([payload[4], payload[5]]);
            (h.source, id, h.destination, id)
        }
        p => panic!("protocol {p}"),
    }
}

#[test]
fn udp_out_and_back() {
    let mut nat = Nat44::new(&config()).unwrap();
    let mut p = udp(INSIDE, 4000, REMOTE, 53, b"query");
    nat.outbound(&mut p, 0).unwrap();
    let (src, ext, dst, dp) = verify(&p);
    assert_eq!((src, dst, dp), (PUBLIC, REMOTE, 53));
    assert!(ext >= 1024);
    // Same flow, same port; another remote, another port.
    let mut again = udp(INSIDE, 4000, REMOTE, 53, b"q2");
    nat.outbound(&mut again, 1).unwrap();
    assert_eq!(verify(&again).1, ext);
    let mut other = udp(INSIDE, 4000, [192, 0, 2, 1], 53, b"q3");
    nat.outbound(&mut other, 1).unwrap();
    assert_ne!(verify(&other).1, ext);
    let info = nat
        .lookup_outside(NatProto::Udp, PUBLIC.into(), ext)
        .unwrap();
    assert_eq!(info.inside, (INSIDE.into(), 4000));
    assert_eq!(info.remote, (REMOTE.into(), 53));
    // The answer comes back to the inside host.
    let mut reply = udp(REMOTE, 53, PUBLIC, ext, b"answer");
    nat.inbound(&mut reply, 2).unwrap();
    assert_eq!(verify(&reply), (REMOTE, 53, INSIDE, 4000));
    assert_eq!(reply, udp(REMOTE, 53, INSIDE, 4000, b"answer"));
    assert_eq!(nat.stats().translated_in, 1);
    assert_eq!(nat.stats().created, 2);
}

#[test]
fn return_traffic_is_filtered() {
    let mut nat = Nat44::new(&config()).unwrap();
    let mut p = udp(INSIDE, 4000, REMOTE, 53, b"x");
    nat.outbound(&mut p, 0).unwrap();
    let ext = verify(&p).1;
    let cases = [
        (
            udp([192, 0, 2, 66], 53, PUBLIC, ext, b""),
            PolicyDrop::NatFiltered,
        ),
        (udp(REMOTE, 54, PUBLIC, ext, b""), PolicyDrop::NatFiltered),
        (
            udp(REMOTE, 53, PUBLIC, ext ^ 1, b""),
            PolicyDrop::NatNoMapping,
        ),
        (
            udp(REMOTE, 53, [203, 0, 113, 2], ext, b""),
            PolicyDrop::NatNoMapping,
        ),
        (tcp(REMOTE, 53, PUBLIC, ext, "A"), PolicyDrop::NatNoMapping),
        (udp(REMOTE, 53, PUBLIC, 80, b""), PolicyDrop::NatNoMapping),
    ];
    for (mut pkt, want) in cases {
        let before = pkt.clone();
        assert_eq!(nat.inbound(&mut pkt, 1), Err(want));
        assert_eq!(pkt, before, "a dropped packet is left untouched");
    }
    assert_eq!(nat.drops().get(PolicyDrop::NatFiltered), 2);
    assert_eq!(nat.drops().get(PolicyDrop::NatNoMapping), 4);
}

#[test]
fn udp_zero_checksum_stays_zero() {
    let mut nat = Nat44::new(&config()).unwrap();
    let mut p = udp(INSIDE, 4000, REMOTE, 53, b"x");
    p[26] = 0;
    p[27] = 0;
    nat.outbound(&mut p, 0).unwrap();
    assert_eq!(&p[26..28], &[0, 0]);
    verify(&p);
}

#[test]
fn tcp_timeouts_follow_the_connection_state() {
    const S: u64 = 1_000_000_000;
    let mut nat = Nat44::new(&config()).unwrap();
    // SYN only: transitory (4 min).
    let mut syn = tcp(INSIDE, 5000, REMOTE, 443, "S");
    nat.outbound(&mut syn, 0).unwrap();
    let ext = verify(&syn).1;
    let mut late = tcp(REMOTE, 443, PUBLIC, ext, "SA");
    assert_eq!(
        nat.inbound(&mut late, 241 * S),
        Err(PolicyDrop::NatNoMapping)
    );
    // Handshake both ways: established, survives an hour of silence.
    let mut syn = tcp(INSIDE, 5001, REMOTE, 443, "S");
    nat.outbound(&mut syn, 0).unwrap();
    let ext = verify(&syn).1;
    let mut synack = tcp(REMOTE, 443, PUBLIC, ext, "SA");
    nat.inbound(&mut synack, S).unwrap();
    assert_eq!(verify(&synack), (REMOTE, 443, INSIDE, 5001));
    assert!(
        nat.lookup_outside(NatProto::Tcp, PUBLIC.into(), ext)
            .unwrap()
            .established
    );
    let mut data = tcp(REMOTE, 443, PUBLIC, ext, "A");
    nat.inbound(&mut data, 3600 * S).unwrap();
    // FIN: back to transitory.
    let mut fin = tcp(INSIDE, 5001, REMOTE, 443, "FA");
    nat.outbound(&mut fin, 3601 * S).unwrap();
    assert_eq!(verify(&fin).1, ext);
    let mut after = tcp(REMOTE, 443, PUBLIC, ext, "A");
    assert_eq!(
        nat.inbound(&mut after, 3842 * S),
        Err(PolicyDrop::NatNoMapping)
    );
    assert_eq!(nat.stats().expired, 2);
}

#[test]
fn icmp_echo_identifier_is_translated() {
    let mut nat = Nat44::new(&config()).unwrap();
    let mut req = echo(INSIDE, REMOTE, 0x1234, false);
    nat.outbound(&mut req, 0).unwrap();
    let (src, ext_id, dst, _) = verify(&req);
    assert_eq!((src, dst), (PUBLIC, REMOTE));
    let mut rep = echo(REMOTE, PUBLIC, ext_id, true);
    nat.inbound(&mut rep, 1).unwrap();
    assert_eq!(rep, echo(REMOTE, INSIDE, 0x1234, true));
    // A reply from elsewhere, an echo request inbound, an ICMP error.
    let mut spoof = echo([192, 0, 2, 1], PUBLIC, ext_id, true);
    assert_eq!(nat.inbound(&mut spoof, 2), Err(PolicyDrop::NatFiltered));
    let mut req_in = echo(REMOTE, PUBLIC, ext_id, false);
    assert_eq!(
        nat.inbound(&mut req_in, 2),
        Err(PolicyDrop::NatUnsupportedProtocol)
    );
    let mut unreach = echo(REMOTE, PUBLIC, ext_id, true);
    unreach[20] = 3;
    assert_eq!(
        nat.inbound(&mut unreach, 2),
        Err(PolicyDrop::NatUnsupportedProtocol)
    );
}

#[test]
fn ports_exhausted_then_reclaimed_after_timeout() {
    let mut cfg = config();
    cfg.port_lo = 2000;
    cfg.port_hi = 2003;
    let mut nat = Nat44::new(&cfg).unwrap();
    let mut ports = Vec::new();
    for sp in 0..4 {
        let mut p = udp(INSIDE, 100 + sp, REMOTE, 53, b"");
        nat.outbound(&mut p, 0).unwrap();
        ports.push(verify(&p).1);
    }
    ports.sort_unstable();
    assert_eq!(ports, vec![2000, 2001, 2002, 2003]);
    let mut p = udp(INSIDE, 200, REMOTE, 53, b"");
    assert_eq!(nat.outbound(&mut p, 1), Err(PolicyDrop::NatPortsExhausted));
    assert_eq!(nat.drops().get(PolicyDrop::NatPortsExhausted), 1);
    // TCP has its own ports.
    let mut t = tcp(INSIDE, 200, REMOTE, 80, "S");
    nat.outbound(&mut t, 1).unwrap();
    // After the UDP timeout the ports come back.
    nat.outbound(&mut p, 301_000_000_001).unwrap();
    // The four UDP mappings and the half-open TCP one (4 min).
    assert_eq!(nat.stats().expired, 5);
}

#[test]
fn table_full_and_sweeping() {
    let mut cfg = config();
    cfg.max_mappings = 2;
    let mut nat = Nat44::new(&cfg).unwrap();
    for sp in 0..2 {
        nat.outbound(&mut udp(INSIDE, sp, REMOTE, 53, b""), 0)
            .unwrap();
    }
    let mut p = udp(INSIDE, 9, REMOTE, 53, b"");
    assert_eq!(nat.outbound(&mut p, 1), Err(PolicyDrop::NatTableFull));
    assert_eq!(nat.mappings(), 2);
    assert_eq!(nat.expire(299_000_000_000, 10), 0);
    assert_eq!(nat.expire(301_000_000_000, 10), 2);
    assert_eq!(nat.mappings(), 0);
    nat.outbound(&mut p, 301_000_000_000).unwrap();
}

#[test]
fn malformed_fragments_and_other_protocols_are_named() {
    let mut nat = Nat44::new(&config()).unwrap();
    let mut frag = udp(INSIDE, 1, REMOTE, 2, b"12345678");
    frag[6] = 0x20; // MF
    assert_eq!(nat.outbound(&mut frag, 0), Err(PolicyDrop::NatFragment));
    let mut gre = udp(INSIDE, 1, REMOTE, 2, b"");
    gre[9] = 47;
    assert_eq!(
        nat.outbound(&mut gre, 0),
        Err(PolicyDrop::NatUnsupportedProtocol)
    );
    let mut short = udp(INSIDE, 1, REMOTE, 2, b"");
    assert_eq!(
        nat.outbound(&mut short[..24], 0),
        Err(PolicyDrop::NatMalformed)
    );
    let mut badlen = udp(INSIDE, 1, REMOTE, 2, b"");
    badlen[24..26].copy_from_slice(&4u16.to_be_bytes());
    assert_eq!(nat.outbound(&mut badlen, 0), Err(PolicyDrop::NatMalformed));
    assert_eq!(
        nat.outbound(&mut [0x60; 40], 0),
        Err(PolicyDrop::NatMalformed)
    );
}

#[test]
fn shards_split_the_port_range_and_pooling_is_paired() {
    let mut cfg = config();
    cfg.public_addrs = vec![[203, 0, 113, 1].into(), [203, 0, 113, 2].into()];
    cfg.shards = 3;
    let blocks: Vec<_> = (0..3)
        .map(|s| {
            Nat44Config {
                shard: s,
                ..cfg.clone()
            }
            .shard_ports()
        })
        .collect();
    assert_eq!(blocks, vec![(1024, 22527), (22528, 44031), (44032, 65535)]);
    for (s, (lo, hi)) in blocks.iter().enumerate() {
        assert_eq!(cfg.shard_of_port(*lo), Some(s as u16));
        assert_eq!(cfg.shard_of_port(*hi), Some(s as u16));
    }
    assert_eq!(cfg.shard_of_port(1023), None);
    cfg.shard = 1;
    let mut nat = Nat44::new(&cfg).unwrap();
    let mut public = std::collections::HashSet::new();
    for sp in 0..50 {
        let mut p = udp(INSIDE, sp, REMOTE, 53, b"");
        nat.outbound(&mut p, 0).unwrap();
        let (src, ext, _, _) = verify(&p);
        public.insert(src);
        assert_eq!(cfg.shard_of_port(ext), Some(1));
    }
    assert_eq!(public.len(), 1, "one inside host, one public address");
}

#[test]
fn config_errors() {
    let bad = |f: &dyn Fn(&mut Nat44Config)| {
        let mut c = config();
        f(&mut c);
        Nat44::new(&c).err()
    };
    assert_eq!(
        bad(&|c| c.public_addrs.clear()),
        Some(NatConfigError::NoPublicAddress)
    );
    assert_eq!(
        bad(&|c| {
            c.port_lo = 9;
            c.port_hi = 8
        }),
        Some(NatConfigError::EmptyPortRange { lo: 9, hi: 8 })
    );
    assert_eq!(
        bad(&|c| c.shard = 1),
        Some(NatConfigError::BadShard {
            shard: 1,
            shards: 1
        })
    );
    assert_eq!(
        bad(&|c| {
            c.port_lo = 10;
            c.port_hi = 11;
            c.shards = 3;
        }),
        Some(NatConfigError::TooFewPorts {
            ports: 2,
            shards: 3
        })
    );
    assert_eq!(
        bad(&|c| c.max_mappings = 0),
        Some(NatConfigError::NoMappings)
    );
}

proptest! {
    #[test]
    fn translation_roundtrips_with_valid_checksums(
        inside in any::<[u8; 4]>(), remote in any::<[u8; 4]>(), sp in any::<u16>(), dp in any::<u16>(),
        is_tcp in any::<bool>(), payload in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut nat = Nat44::new(&small_config()).unwrap();
        let build = |s: [u8; 4], sp: u16, d: [u8; 4], dp: u16| {
            let mut v = Vec::new();
            let b = PacketBuilder::ipv4(s, d, 64);
            if is_tcp { b.tcp(sp, dp, 7, 100).write(&mut v, &payload).unwrap(); }
            else { b.udp(sp, dp).write(&mut v, &payload).unwrap(); }
            v
        };
        let mut out = build(inside, sp, remote, dp);
        nat.outbound(&mut out, 0).unwrap();
        let (src, ext, dst, port) = verify(&out);
        prop_assert_eq!((src, dst, port), (PUBLIC, remote, dp));
        let mut back = build(remote, dp, PUBLIC, ext);
        nat.inbound(&mut back, 1).unwrap();
        prop_assert_eq!(verify(&back), (remote, dp, inside, sp));
        let want = build(remote, dp, inside, sp);
        // Equal but for a possible one's-complement zero swap.
        let csum_at = 20 + if is_tcp { 16 } else { 6 };
        prop_assert_eq!(&back[..csum_at], &want[..csum_at]);
        prop_assert_eq!(&back[csum_at + 2..], &want[csum_at + 2..]);
    }

    #[test]
    fn never_panics_on_garbage(b in prop::collection::vec(any::<u8>(), 0..80), first in prop_oneof![Just(0x45u8), any::<u8>()]) {
        let mut nat = Nat44::new(&small_config()).unwrap();
        let mut b = b;
        if let Some(x) = b.first_mut() { *x = first; }
        let orig = b.clone();
        let mut c = b.clone();
        if nat.outbound(&mut b, 0).is_err() {
            prop_assert_eq!(&b, &orig, "refused packets are left untouched");
        }
        if nat.inbound(&mut c, 0).is_err() {
            prop_assert_eq!(&c, &orig);
        }
    }
}
