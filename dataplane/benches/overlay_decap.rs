//! ns/packet of `pipeline::process` taking a tunnel packet out of the
//! overlay, as `scripts/bench-overlay.sh` measures decap end to end: an
//! ESP-in-UDP 4500 frame (AES-128-GCM, MPLS label 1001) from a static
//! peer's address to our internet WAN port (guarded, default limits),
//! whose inner packet is a 64 B or 1400 B Ethernet frame's IPv4/UDP packet
//! to a LAN client: outer checks, guard, SA by SPI, decrypt, label → VRF,
//! TTL-1, lookup, Ethernet toward the client. The SA has anti-replay off
//! (`replay_window = 0`, no ESN, as the bench's static peer), so the same
//! packet can be fed again and again.
//!
//! Instruction counting (callgrind): `OVERLAY_LOOP=decap|copy` with
//! `OVERLAY_SIZE=64|1400` and `OVERLAY_ITERS=N` runs N iterations of one
//! loop and exits, so (Ir at N) - (Ir at 0), divided by N, is
//! instructions per packet (`copy` is the frame reset alone).

mod common;

use common::{base_routes, env_loop, reset, Setup, HEADROOM, LAN, WAN};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sdwan_crypto::{Cipher, KeyMaterial, NextHeader, OutboundSa, OuterConfig, SaParams};
use sdwan_dataplane::neighbor::ControlEvent;
use sdwan_dataplane::overlay::{DecapEntry, InboundSaSpec, InnerEncap, OverlayTable};
use sdwan_dataplane::pipeline::{
    process, IcmpRateLimit, PortConfig, Verdict, WanGuard, WorkerState,
};
use sdwan_packet::ethernet::{ethertype, EthernetRepr};
use sdwan_packet::ipv4::{protocol, Ipv4Repr};
use sdwan_packet::{Frame, MacAddr};
use std::net::{IpAddr, Ipv4Addr};

const SPI: u32 = 0x2001;
const LABEL: u32 = 1001;
const LAN_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const WAN_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const WAN_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 9);

fn params() -> SaParams {
    let mut p = SaParams::new(SPI);
    p.esn = false;
    p.replay_window = 0;
    p
}

fn keys() -> KeyMaterial {
    KeyMaterial::from_rfc4106(Cipher::AesGcm128, &[0x42; 20]).unwrap()
}

/// The WAN frame carrying a `size`-byte client frame's IPv4/UDP packet
/// (from 10.2.0.9 to the LAN client), in a buffer with mbuf-like headroom;
/// returns (buffer, frame length).
fn wan_frame(size: usize) -> (Vec<u8>, usize) {
    let ip_len = size - 14;
    let mut inner = vec![0u8; 4 + ip_len];
    inner[..4].copy_from_slice(&((LABEL << 12) | 0x100 | 64).to_be_bytes());
    Ipv4Repr {
        src: Ipv4Addr::new(10, 2, 0, 9),
        dst: CLIENT,
        protocol: protocol::UDP,
        ttl: 64,
        dscp_ecn: 0,
        ident: 1,
        dont_frag: false,
        payload_len: ip_len - 20,
    }
    .emit(&mut inner[4..24])
    .unwrap();
    inner[24..26].copy_from_slice(&1234u16.to_be_bytes());
    inner[26..28].copy_from_slice(&5678u16.to_be_bytes());
    inner[28..30].copy_from_slice(&((ip_len - 20) as u16).to_be_bytes());

    let outer = OuterConfig::natt(IpAddr::V4(PEER), IpAddr::V4(WAN_ADDR));
    let mut sa =
        OutboundSa::<sdwan_crypto::aead::DefaultEngine>::new(params(), &keys(), outer).unwrap();
    let mut buf = vec![0u8; 2 * HEADROOM + inner.len() + 64];
    let at = 2 * HEADROOM;
    buf[at..at + inner.len()].copy_from_slice(&inner);
    let mut f = Frame::new(&mut buf, at, inner.len()).unwrap();
    sa.encap(&mut f, NextHeader::Mpls).unwrap();
    let ip = f.data().to_vec();
    let mut out = vec![0u8; HEADROOM + 14 + ip.len() + 64];
    EthernetRepr {
        dst: WAN_MAC,
        src: MacAddr([2, 0, 0, 0, 1, 0xfe]),
        vlan_id: None,
        ethertype: ethertype::IPV4,
    }
    .emit(&mut out[HEADROOM..HEADROOM + 14])
    .unwrap();
    out[HEADROOM + 14..HEADROOM + 14 + ip.len()].copy_from_slice(&ip);
    (out, 14 + ip.len())
}

fn setup() -> Setup {
    let ports = vec![
        PortConfig::new(LAN, LAN_MAC, 1).with_ipv4(Ipv4Addr::new(10, 1, 0, 1), 24),
        PortConfig::new(WAN, WAN_MAC, 0)
            .with_ipv4(WAN_ADDR, 24)
            .with_guard(WanGuard::default()),
    ];
    let gw = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254));
    let routes = base_routes(gw);
    let overlay = OverlayTable {
        decap: vec![DecapEntry {
            key: InnerEncap::Mpls { label: LABEL },
            vrf: 1,
            transit: false,
        }],
        inbound: vec![InboundSaSpec {
            spi: SPI,
            params: params(),
            keys: keys(),
            local_port: WAN,
            peer: Some(IpAddr::V4(PEER)),
        }],
        ..OverlayTable::default()
    };
    let client = (LAN, IpAddr::V4(CLIENT), MacAddr([2, 0, 0, 0, 0, 0x99]));
    Setup::new(ports, routes, client, overlay)
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let ctx = s.context();
    let mut worker = WorkerState::new(s.ports.len(), IcmpRateLimit::default());
    let mut events = |_e: ControlEvent| {};
    let sizes = [64usize, 1400];
    let originals: Vec<(Vec<u8>, usize)> = sizes.iter().map(|&n| wan_frame(n)).collect();
    let mut buf = vec![0u8; HEADROOM + 1600];

    // One packet, with a fresh frame: the reset every iteration pays.
    let mut one = |buf: &mut [u8], src: &[u8], len: usize, worker: &mut WorkerState| {
        process(&mut reset(buf, src, len), WAN, &ctx, worker, &mut events)
    };

    // Sanity: decrypted out of the LAN port, as the client's frame size.
    for (i, &n) in sizes.iter().enumerate() {
        let (src, len) = &originals[i];
        assert_eq!(
            one(&mut buf, src, *len, &mut worker),
            Verdict::Forward { port: LAN },
            "{n} B"
        );
    }
    // Again: anti-replay is off.
    let (src, len) = &originals[0];
    assert_eq!(
        one(&mut buf, src, *len, &mut worker),
        Verdict::Forward { port: LAN }
    );

    env_loop(&mut buf, wan_frame, |b, src, len| {
        one(b, src, len, &mut worker)
    });

    let mut g = c.benchmark_group("overlay_decap");
    g.throughput(Throughput::Elements(1));
    for (i, &n) in sizes.iter().enumerate() {
        let (src, len) = &originals[i];
        g.bench_function(format!("process_decap_{n}B"), |b| {
            b.iter(|| black_box(one(&mut buf, src, *len, &mut worker)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
