//! ns/packet of `pipeline::process` carrying a LAN client packet into the
//! overlay, as `scripts/bench-overlay.sh` measures it end to end: a 64 B
//! and a 1400 B Ethernet frame (UDP) from a LAN port in VRF 1 toward a
//! remote prefix whose next hop is an overlay path with one tunnel: TTL-1,
//! MPLS label, ESP AES-128-GCM with ESN (`SharedOutboundSa`, the edge's
//! engine), UDP 4500, outer IPv4, Ethernet toward the WAN gateway.
//!
//! Instruction counting (callgrind): `OVERLAY_LOOP=encap|copy` with
//! `OVERLAY_SIZE=64|1400` and `OVERLAY_ITERS=N` runs N iterations of one
//! loop and exits, so (Ir at N) - (Ir at 0), divided by N, is
//! instructions per packet (`copy` is the frame reset alone).

mod common;

use common::{base_routes, env_loop, reset, route, Setup, HEADROOM, LAN, WAN};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sdwan_crypto::{Cipher, KeyMaterial, OuterConfig, SaParams, SharedOutboundSa};
use sdwan_dataplane::fib::NextHop;
use sdwan_dataplane::neighbor::ControlEvent;
use sdwan_dataplane::overlay::{InnerEncap, OverlayPath, OverlayTable, Tunnel};
use sdwan_dataplane::pipeline::{process, IcmpRateLimit, PortConfig, Verdict, WorkerState};
use sdwan_packet::ethernet::{ethertype, EthernetRepr};
use sdwan_packet::ipv4::{protocol, Ipv4Repr};
use sdwan_packet::MacAddr;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

const TAILROOM: usize = 128;

/// An Ethernet / IPv4 / UDP frame of `size` bytes from a LAN client to
/// 10.2.0.9 (the remote edge's prefix), in a buffer with mbuf-like room.
fn frame_bytes(size: usize) -> Vec<u8> {
    let mut b = vec![0u8; HEADROOM + size + TAILROOM];
    let f = &mut b[HEADROOM..HEADROOM + size];
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
        dst: Ipv4Addr::new(10, 2, 0, 9),
        protocol: protocol::UDP,
        ttl: 64,
        dscp_ecn: 0,
        ident: 1,
        dont_frag: false,
        payload_len: size - 14 - 20,
    }
    .emit(&mut f[14..34])
    .unwrap();
    // UDP ports (checksum 0: not checked on the way through).
    f[34..36].copy_from_slice(&1234u16.to_be_bytes());
    f[36..38].copy_from_slice(&5678u16.to_be_bytes());
    f[38..40].copy_from_slice(&((size - 34) as u16).to_be_bytes());
    b
}

fn setup() -> Setup {
    let ports = vec![
        PortConfig::new(LAN, MacAddr([2, 0, 0, 0, 0, 1]), 1)
            .with_ipv4(Ipv4Addr::new(10, 1, 0, 1), 24),
        PortConfig::new(WAN, MacAddr([2, 0, 0, 0, 0, 2]), 0)
            .with_ipv4(Ipv4Addr::new(192, 0, 2, 1), 24),
    ];
    let gw = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254));
    let mut routes = base_routes(gw);
    routes.push(route(1, "10.2.0.0", 16, NextHop::Overlay { path: 0 }));
    let keys = KeyMaterial::from_rfc4106(Cipher::AesGcm128, &[0x42; 20]).unwrap();
    let remote: IpAddr = "203.0.113.2".parse().unwrap();
    let outer = OuterConfig::natt("192.0.2.1".parse().unwrap(), remote);
    let sa = SharedOutboundSa::new(SaParams::new(0x1001), &keys, outer).unwrap();
    let tunnels = vec![Tunnel {
        local_port: WAN,
        private: false,
        remote,
        sa: Arc::new(sa),
    }];
    let path = OverlayPath::new(InnerEncap::Mpls { label: 1001 }, vec![0], &tunnels);
    let overlay = OverlayTable {
        tunnels,
        paths: vec![path],
        ..OverlayTable::default()
    };
    Setup::new(
        ports,
        routes,
        (WAN, gw, MacAddr([2, 0, 0, 0, 1, 0xfe])),
        overlay,
    )
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let ctx = s.context();
    let mut worker = WorkerState::new(s.ports.len(), IcmpRateLimit::default());
    let mut events = |_e: ControlEvent| {};
    let sizes = [64usize, 1400];
    let originals: Vec<Vec<u8>> = sizes.iter().map(|&n| frame_bytes(n)).collect();
    let mut buf = vec![0u8; HEADROOM + 1400 + TAILROOM];

    // One packet, with a fresh frame: the reset every iteration pays.
    let mut one = |buf: &mut [u8], src: &[u8], size: usize, worker: &mut WorkerState| {
        process(&mut reset(buf, src, size), LAN, &ctx, worker, &mut events)
    };

    // Sanity: encrypted out of the WAN port.
    for (i, &n) in sizes.iter().enumerate() {
        assert_eq!(
            one(&mut buf, &originals[i], n, &mut worker),
            Verdict::Forward { port: WAN }
        );
    }
    assert_eq!(worker.overlay.tunnel_counters(0).unwrap().sa.packets, 2);

    env_loop(
        &mut buf,
        |n| (frame_bytes(n), n),
        |b, src, len| one(b, src, len, &mut worker),
    );

    let mut g = c.benchmark_group("overlay_encap");
    g.throughput(Throughput::Elements(1));
    for (i, &n) in sizes.iter().enumerate() {
        g.bench_function(format!("process_encap_{n}B"), |b| {
            b.iter(|| black_box(one(&mut buf, &originals[i], n, &mut worker)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
