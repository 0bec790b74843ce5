//! The hybrid-WAN per-packet steps inside `pipeline::process`, 64-byte
//! IPv4/UDP client frames, beside the plain forward of the same frame in
//! the same run:
//!
//! - `plain_forward`: a LAN VRF without policies, route out of a port;
//! - `breakout_nat44`: the VRF has 1,000 rules (the breakout rule last, so
//!   classification is the compiled classifier's work on a flow-cache
//!   miss only) and the flow breaks out: flow-cache hit, NAT44 outbound
//!   rewrite on an established mapping, underlay route, L2 rewrite;
//! - `breakout_new_flows`: every packet a new flow (new source port):
//!   classification over 1,000 rules, a new NAT mapping, then the same.
//!
//! Mpps = 1e3 / (ns per packet).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sdwan_dataplane::fib::{fib_channel, NextHop, RouteChange};
use sdwan_dataplane::neighbor::{ControlEvent, LearnKind, NeighborConfig, NeighborManager};
use sdwan_dataplane::overlay::{Breakout, OverlayTable};
use sdwan_dataplane::pipeline::{
    process, Context, IcmpRateLimit, LocalAddrs, PortConfig, Verdict, WorkerState,
};
use sdwan_packet::ethernet::{ethertype, EthernetRepr};
use sdwan_packet::ipv4::{protocol, Ipv4Repr};
use sdwan_packet::{Frame, MacAddr};
use sdwan_policy::classifier::{
    Action, Match, PathPolicy, PolicySnapshot, PortRange, Prefix, Rule, RuleSet,
};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

const HEADROOM: usize = 128;
const LAN: u16 = 0;
const WAN: u16 = 1;

fn frame(dst: Ipv4Addr, sport: u16) -> Vec<u8> {
    let mut b = vec![0u8; HEADROOM + 64 + 64];
    let f = &mut b[HEADROOM..HEADROOM + 64];
    EthernetRepr {
        dst: MacAddr([2, 0, 0, 0, 0, 1]),
        src: MacAddr([2, 0, 0, 0, 0, 0x99]),
        vlan_id: None,
        ethertype: ethertype::IPV4,
    }
    .emit(&mut f[..14])
    .unwrap();
    Ipv4Repr {
        src: Ipv4Addr::new(10, 1, 0, 2),
        dst,
        protocol: protocol::UDP,
        ttl: 64,
        dscp_ecn: 0,
        ident: 1,
        dont_frag: true,
        payload_len: 64 - 14 - 20,
    }
    .emit(&mut f[14..34])
    .unwrap();
    let u = &mut f[34..42];
    u[..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&443u16.to_be_bytes());
    u[4..6].copy_from_slice(&30u16.to_be_bytes());
    b
}

/// 999 enterprise-like rules that the test flows never match, then the
/// breakout rule.
fn rules() -> RuleSet {
    let mut rng = SmallRng::seed_from_u64(7);
    let mut set = RuleSet::new(Action::new(PathPolicy::EncryptedAny));
    for _ in 0..999 {
        let len = [16u8, 20, 24, 28, 32][rng.gen_range(0..5)];
        let addr = 0x0a00_0000 | rng.gen_range(0..1u32 << 24);
        let mask = u32::MAX << (32 - len);
        let lo = rng.gen_range(1..60000u16);
        set.rules.push(Rule {
            matches: Match {
                dst: Some(Prefix::v4(Ipv4Addr::from(addr & mask), len).unwrap()),
                protocol: Some(if rng.gen_bool(0.5) { 6 } else { 17 }),
                dst_ports: Some(PortRange::new(lo, lo + rng.gen_range(0..100)).unwrap()),
                vrf: Some(1),
                ..Match::default()
            },
            action: Action::new(PathPolicy::PrivateOnly),
        });
    }
    set.rules.push(Rule {
        matches: Match {
            dst: Some(Prefix::v4(Ipv4Addr::new(198, 51, 100, 0), 24).unwrap()),
            vrf: Some(1),
            ..Match::default()
        },
        action: Action::new(PathPolicy::InternetBreakout),
    });
    set
}

fn bench(c: &mut Criterion) {
    let ports = vec![
        PortConfig::new(LAN, MacAddr([2, 0, 0, 0, 0, 1]), 1)
            .with_ipv4(Ipv4Addr::new(10, 1, 0, 1), 24),
        PortConfig::new(WAN, MacAddr([2, 0, 0, 0, 0, 2]), 0)
            .with_ipv4(Ipv4Addr::new(203, 0, 113, 1), 24),
        PortConfig::new(2, MacAddr([2, 0, 0, 0, 0, 3]), 2)
            .with_ipv4(Ipv4Addr::new(10, 9, 0, 1), 24),
    ];
    let gw = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 254));
    let (mut writer, reader) = fib_channel();
    writer.apply([
        RouteChange::Add {
            vrf: 0,
            prefix: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            len: 0,
            next_hop: NextHop::Gateway { port: WAN, via: gw },
        },
        // The plain-forward VRF 2: the same destination out of the WAN.
        RouteChange::Add {
            vrf: 2,
            prefix: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            len: 0,
            next_hop: NextHop::Gateway { port: WAN, via: gw },
        },
    ]);
    let fib = reader.load_full();
    let mut mgr = NeighborManager::new(NeighborConfig::default());
    let (now, mut acts) = (Instant::now(), Vec::new());
    mgr.handle_event(ControlEvent::Resolve { port: WAN, ip: gw }, now, &mut acts);
    mgr.handle_event(
        ControlEvent::NeighborLearned {
            port: WAN,
            ip: gw,
            mac: MacAddr([2, 0, 0, 0, 1, 0xfe]),
            kind: LearnKind::Reply { override_: true },
        },
        now,
        &mut acts,
    );
    let neighbors = mgr.take_snapshot().unwrap();
    let local = LocalAddrs::new(&ports);
    let overlay = OverlayTable {
        generation: 1,
        policy: Some(Arc::new(PolicySnapshot::compile(&rules(), 1).unwrap())),
        policy_vrfs: vec![1],
        breakout: vec![Breakout {
            vrf: 1,
            port: WAN,
            public: Ipv4Addr::new(203, 0, 113, 1),
            ports: (1024, 65535),
        }],
        ..OverlayTable::default()
    };
    let ctx = Context {
        ports: &ports,
        fib: &fib,
        neighbors: &neighbors,
        local: &local,
        overlay: &overlay,
    };
    let mut worker = WorkerState::new(ports.len(), IcmpRateLimit::default());
    worker.overlay.sync(&overlay, &mut worker.counters);
    worker.set_now(1);
    let mut events = |_e: ControlEvent| {};
    let server = Ipv4Addr::new(198, 51, 100, 10);
    let nat_frame = frame(server, 5000);
    let mut plain_frame = frame(server, 5000);
    plain_frame[HEADROOM..HEADROOM + 6].copy_from_slice(&[2, 0, 0, 0, 0, 3]);
    let mut buf = nat_frame.clone();
    let mut run = |buf: &mut Vec<u8>, src: &[u8], port: u16, w: &mut WorkerState| {
        buf[HEADROOM..HEADROOM + 64].copy_from_slice(&src[HEADROOM..HEADROOM + 64]);
        let mut f = Frame::new(buf, HEADROOM, 64).unwrap();
        process(&mut f, port, &ctx, w, &mut events)
    };
    assert_eq!(
        run(&mut buf, &nat_frame, LAN, &mut worker),
        Verdict::Forward { port: WAN }
    );
    assert_eq!(&buf[HEADROOM + 26..HEADROOM + 30], &[203, 0, 113, 1]);
    assert_eq!(
        run(&mut buf, &plain_frame, 2, &mut worker),
        Verdict::Forward { port: WAN }
    );

    let mut g = c.benchmark_group("hybrid_ipv4_64B");
    g.throughput(Throughput::Elements(1));
    g.bench_function("plain_forward", |b| {
        b.iter(|| black_box(run(&mut buf, &plain_frame, 2, &mut worker)))
    });
    g.bench_function("breakout_nat44", |b| {
        b.iter(|| black_box(run(&mut buf, &nat_frame, LAN, &mut worker)))
    });
    let mut sport = 10_000u16;
    let mut fresh = nat_frame.clone();
    let mut clock = 2u64;
    g.bench_function("breakout_new_flows", |b| {
        b.iter(|| {
            sport = if sport == u16::MAX { 10_000 } else { sport + 1 };
            fresh[HEADROOM + 34..HEADROOM + 36].copy_from_slice(&sport.to_be_bytes());
            // Mappings of earlier rounds expire so ports free up again.
            clock += 10_000_000_000;
            worker.set_now(clock);
            worker.overlay.expire_nat(clock);
            black_box(run(&mut buf, &fresh, LAN, &mut worker))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
