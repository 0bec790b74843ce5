//! ns/packet of `pipeline::process` forwarding a 64-byte IPv4 frame
//! (Ethernet + IPv4 + UDP, FIB with 1,000 /24 routes, resolved neighbor)
//! and a 64-byte IPv6 frame (1,000 /64 routes),
//! beside a baseline in the same run: copying the frame back to its
//! original bytes (the floor every iteration pays) plus the FIB lookup
//! alone.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sdwan_dataplane::fib::{fib_channel, NextHop, RouteChange};
use sdwan_dataplane::neighbor::{ControlEvent, LearnKind, NeighborConfig, NeighborManager};
use sdwan_dataplane::pipeline::{
    process, Context, IcmpRateLimit, LocalAddrs, PortConfig, Verdict, WorkerState,
};
use sdwan_packet::ethernet::{ethertype, EthernetRepr};
use sdwan_packet::ipv4::{protocol, Ipv4Repr};
use sdwan_packet::ipv6::{next_header, Ipv6Repr};
use sdwan_packet::{Frame, MacAddr};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

const HEADROOM: usize = 128;

fn frame_bytes(ports: &[PortConfig]) -> Vec<u8> {
    let mut b = vec![0u8; HEADROOM + 64 + 64];
    let f = &mut b[HEADROOM..HEADROOM + 64];
    EthernetRepr {
        dst: ports[0].mac,
        src: MacAddr([2, 0, 0, 0, 0, 0x99]),
        vlan_id: None,
        ethertype: ethertype::IPV4,
    }
    .emit(&mut f[..14])
    .unwrap();
    Ipv4Repr {
        src: Ipv4Addr::new(10, 0, 0, 2),
        dst: Ipv4Addr::new(172, 16, 7, 9),
        protocol: protocol::UDP,
        ttl: 64,
        dscp_ecn: 0,
        ident: 1,
        dont_frag: true,
        payload_len: 64 - 14 - 20,
    }
    .emit(&mut f[14..34])
    .unwrap();
    b
}

fn frame_bytes_v6(ports: &[PortConfig]) -> Vec<u8> {
    let mut b = vec![0u8; HEADROOM + 64 + 64];
    let f = &mut b[HEADROOM..HEADROOM + 64];
    EthernetRepr {
        dst: ports[0].mac,
        src: MacAddr([2, 0, 0, 0, 0, 0x99]),
        vlan_id: None,
        ethertype: ethertype::IPV6,
    }
    .emit(&mut f[..14])
    .unwrap();
    Ipv6Repr {
        src: "2001:db8::2".parse().unwrap(),
        dst: "2001:db8:100::9".parse().unwrap(),
        next_header: next_header::UDP,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
        payload_len: 64 - 14 - 40,
    }
    .emit(&mut f[14..54])
    .unwrap();
    b
}

fn bench(c: &mut Criterion) {
    let ports = vec![
        PortConfig::new(0, MacAddr([2, 0, 0, 0, 0, 1]), 0)
            .with_ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
            .with_ipv6("2001:db8::1".parse().unwrap(), 64),
        PortConfig::new(1, MacAddr([2, 0, 0, 0, 0, 2]), 0)
            .with_ipv4(Ipv4Addr::new(10, 0, 1, 1), 24)
            .with_ipv6("2001:db8:1::1".parse().unwrap(), 64),
    ];
    let (mut writer, reader) = fib_channel();
    let gw = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 254));
    let routes = (0..1000u32).map(|i| RouteChange::Add {
        vrf: 0,
        prefix: IpAddr::V4(Ipv4Addr::from((172u32 << 24) | (16 << 16) | (i << 8))),
        len: 24,
        next_hop: NextHop::Gateway { port: 1, via: gw },
    });
    let gw6 = IpAddr::V6("2001:db8:1::fe".parse::<Ipv6Addr>().unwrap());
    let routes6 = (0..1000u32).map(|i| RouteChange::Add {
        vrf: 0,
        prefix: IpAddr::V6(Ipv6Addr::from(
            (0x2001_0db8_0100u128 << 80) | (u128::from(i) << 64),
        )),
        len: 64,
        next_hop: NextHop::Gateway { port: 1, via: gw6 },
    });
    writer.apply(routes.chain(routes6));
    let fib = reader.load_full();
    let mut mgr = NeighborManager::new(NeighborConfig::default());
    let now = Instant::now();
    let mut acts = Vec::new();
    for ip in [gw, gw6] {
        mgr.handle_event(ControlEvent::Resolve { port: 1, ip }, now, &mut acts);
        mgr.handle_event(
            ControlEvent::NeighborLearned {
                port: 1,
                ip,
                mac: MacAddr([2, 0, 0, 0, 1, 0xfe]),
                kind: LearnKind::Reply { override_: true },
            },
            now,
            &mut acts,
        );
    }
    let neighbors = mgr.take_snapshot().unwrap();
    let local = LocalAddrs::new(&ports);
    let overlay = sdwan_dataplane::overlay::OverlayTable::default();
    let ctx = Context {
        ports: &ports,
        fib: &fib,
        neighbors: &neighbors,
        local: &local,
        overlay: &overlay,
    };
    let mut worker = WorkerState::new(ports.len(), IcmpRateLimit::default());
    let original = frame_bytes(&ports);
    let original6 = frame_bytes_v6(&ports);
    let mut buf = original.clone();
    let mut events = |_e: ControlEvent| {};

    // Sanity: the frame is forwarded.
    {
        let mut f = Frame::new(&mut buf, HEADROOM, 64).unwrap();
        assert_eq!(
            process(&mut f, 0, &ctx, &mut worker, &mut events),
            Verdict::Forward { port: 1 }
        );
        let mut b6 = original6.clone();
        let mut f = Frame::new(&mut b6, HEADROOM, 64).unwrap();
        assert_eq!(
            process(&mut f, 0, &ctx, &mut worker, &mut events),
            Verdict::Forward { port: 1 }
        );
    }

    // Instruction counting (callgrind): `PIPELINE_LOOP=v4|v6|copy` with
    // `PIPELINE_ITERS=N` runs N iterations of one loop below and exits, so
    // (Ir at N) - (Ir at 0), divided by N, is instructions per packet.
    if let Ok(mode) = std::env::var("PIPELINE_LOOP") {
        let n: u64 = std::env::var("PIPELINE_ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let src = if mode == "v6" { &original6 } else { &original };
        for _ in 0..n {
            buf[HEADROOM..HEADROOM + 64].copy_from_slice(&src[HEADROOM..HEADROOM + 64]);
            let mut f = Frame::new(&mut buf, HEADROOM, 64).unwrap();
            if mode == "copy" {
                black_box(&mut f);
            } else {
                black_box(process(&mut f, 0, &ctx, &mut worker, &mut events));
            }
        }
        std::process::exit(0);
    }

    let mut g = c.benchmark_group("pipeline_ipv4_64B");
    g.throughput(Throughput::Elements(1));
    g.bench_function("baseline_copy_plus_fib_lookup", |b| {
        b.iter(|| {
            buf[HEADROOM..HEADROOM + 64].copy_from_slice(&original[HEADROOM..HEADROOM + 64]);
            black_box(fib.lookup_v4(0, black_box(Ipv4Addr::new(172, 16, 7, 9))));
            black_box(&buf);
        })
    });
    g.bench_function("process_forward", |b| {
        b.iter(|| {
            buf[HEADROOM..HEADROOM + 64].copy_from_slice(&original[HEADROOM..HEADROOM + 64]);
            let mut f = Frame::new(&mut buf, HEADROOM, 64).unwrap();
            black_box(process(&mut f, 0, &ctx, &mut worker, &mut events))
        })
    });
    g.bench_function("process_forward_ipv6", |b| {
        b.iter(|| {
            buf[HEADROOM..HEADROOM + 64].copy_from_slice(&original6[HEADROOM..HEADROOM + 64]);
            let mut f = Frame::new(&mut buf, HEADROOM, 64).unwrap();
            black_box(process(&mut f, 0, &ctx, &mut worker, &mut events))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
