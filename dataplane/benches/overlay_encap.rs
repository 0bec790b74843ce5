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

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sdwan_crypto::outer::{DfPolicy, DscpPolicy, NattPorts, NATT_PORT};
use sdwan_crypto::{Cipher, KeyMaterial, OuterConfig, SaParams, SharedOutboundSa};
use sdwan_dataplane::fib::{fib_channel, NextHop, RouteChange};
use sdwan_dataplane::neighbor::{ControlEvent, LearnKind, NeighborConfig, NeighborManager};
use sdwan_dataplane::overlay::{overlay_channel, InnerEncap, OverlayPath, OverlayTable, Tunnel};
use sdwan_dataplane::pipeline::{
    process, Context, IcmpRateLimit, LocalAddrs, PortConfig, Verdict, WorkerState,
};
use sdwan_packet::ethernet::{ethertype, EthernetRepr};
use sdwan_packet::ipv4::{protocol, Ipv4Repr};
use sdwan_packet::{Frame, MacAddr};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

const HEADROOM: usize = 128;
const TAILROOM: usize = 128;
const LAN: u16 = 0;
const WAN: u16 = 1;

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

struct Setup {
    ports: Vec<PortConfig>,
    fib: Arc<sdwan_dataplane::fib::Fib>,
    neighbors: sdwan_dataplane::neighbor::NeighborTable,
    local: LocalAddrs,
    overlay: Arc<OverlayTable>,
}

fn setup() -> Setup {
    let ports = vec![
        PortConfig::new(LAN, MacAddr([2, 0, 0, 0, 0, 1]), 1)
            .with_ipv4(Ipv4Addr::new(10, 1, 0, 1), 24),
        PortConfig::new(WAN, MacAddr([2, 0, 0, 0, 0, 2]), 0)
            .with_ipv4(Ipv4Addr::new(192, 0, 2, 1), 24),
    ];
    let gw = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254));
    let (mut writer, reader) = fib_channel();
    let add = |vrf, p: &str, len, next_hop| RouteChange::Add {
        vrf,
        prefix: p.parse().unwrap(),
        len,
        next_hop,
    };
    let report = writer.apply([
        add(0, "0.0.0.0", 0, NextHop::Gateway { port: WAN, via: gw }),
        add(0, "192.0.2.0", 24, NextHop::Connected { port: WAN }),
        add(1, "10.1.0.0", 24, NextHop::Connected { port: LAN }),
        add(1, "10.2.0.0", 16, NextHop::Overlay { path: 0 }),
    ]);
    assert!(report.rejected.is_empty());
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
    let keys = KeyMaterial::from_rfc4106(Cipher::AesGcm128, &[0x42; 20]).unwrap();
    let remote: IpAddr = "203.0.113.2".parse().unwrap();
    let outer = OuterConfig {
        src: "192.0.2.1".parse().unwrap(),
        dst: remote,
        natt: Some(NattPorts {
            src: NATT_PORT,
            dst: NATT_PORT,
        }),
        ttl: 64,
        dscp: DscpPolicy::Copy,
        df: DfPolicy::Copy,
    };
    let sa = SharedOutboundSa::new(SaParams::new(0x1001), &keys, outer).unwrap();
    let tunnels = vec![Tunnel {
        local_port: WAN,
        private: false,
        remote,
        sa: Arc::new(sa),
    }];
    let path = OverlayPath::new(InnerEncap::Mpls { label: 1001 }, vec![0], &tunnels);
    let (mut ow, _or) = overlay_channel();
    ow.publish(OverlayTable {
        tunnels,
        paths: vec![path],
        ..OverlayTable::default()
    });
    Setup {
        local: LocalAddrs::new(&ports),
        ports,
        fib: reader.load_full(),
        neighbors: mgr.take_snapshot().unwrap(),
        overlay: ow.current(),
    }
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let ctx = Context {
        ports: &s.ports,
        fib: &s.fib,
        neighbors: &s.neighbors,
        local: &s.local,
        overlay: &s.overlay,
    };
    let mut worker = WorkerState::new(s.ports.len(), IcmpRateLimit::default());
    let mut events = |_e: ControlEvent| {};
    let sizes = [64usize, 1400];
    let originals: Vec<Vec<u8>> = sizes.iter().map(|&n| frame_bytes(n)).collect();
    let mut buf = vec![0u8; HEADROOM + 1400 + TAILROOM];

    // One packet, with a fresh frame: the reset every iteration pays.
    let mut one = |buf: &mut Vec<u8>, src: &[u8], size: usize, worker: &mut WorkerState| {
        buf[HEADROOM..HEADROOM + size].copy_from_slice(&src[HEADROOM..HEADROOM + size]);
        let mut f = Frame::new(buf, HEADROOM, size).unwrap();
        process(&mut f, LAN, &ctx, worker, &mut events)
    };

    // Sanity: encrypted out of the WAN port.
    for (i, &n) in sizes.iter().enumerate() {
        assert_eq!(
            one(&mut buf, &originals[i], n, &mut worker),
            Verdict::Forward { port: WAN }
        );
    }
    assert_eq!(worker.overlay.tunnel_counters(0).unwrap().sa.packets, 2);

    if let Ok(mode) = std::env::var("OVERLAY_LOOP") {
        let env = |k: &str, d: u64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        let n = env("OVERLAY_ITERS", 0);
        let size = env("OVERLAY_SIZE", 64) as usize;
        let src = frame_bytes(size);
        for _ in 0..n {
            if mode == "copy" {
                buf[HEADROOM..HEADROOM + size].copy_from_slice(&src[HEADROOM..HEADROOM + size]);
                let mut f = Frame::new(&mut buf, HEADROOM, size).unwrap();
                black_box(&mut f);
            } else {
                black_box(one(&mut buf, &src, size, &mut worker));
            }
        }
        std::process::exit(0);
    }

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
