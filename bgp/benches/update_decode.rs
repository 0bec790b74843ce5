//! UPDATE decode rate: a full 4096-byte VPNv4 UPDATE (as bgp_blast.py
//! sends: ORIGIN, AS_PATH, LOCAL_PREF, MP_REACH, RT + Color) and one with a
//! Tunnel Encapsulation attribute. Throughput is reported per route.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sdwan_bgp::wire::attr::MpReach;
use sdwan_bgp::wire::tunnel::{Encapsulation, SubTlv, Tunnel};
use sdwan_bgp::wire::*;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

fn vpn_update(n: u32, tunnel: bool) -> Vec<u8> {
    let mut u = Update::default();
    u.attrs.origin = Some(Origin::Igp);
    u.attrs.as_path = Some(AsPath::default());
    u.attrs.local_pref = Some(100);
    u.attrs.ext_communities = vec![
        ExtCommunity::route_target("65000:1").unwrap(),
        ExtCommunity::color(100),
    ];
    if tunnel {
        u.attrs.tunnel_encap = Some(TunnelEncap {
            tunnels: vec![Tunnel {
                tunnel_type: 25,
                sub_tlvs: vec![
                    SubTlv::Encapsulation {
                        encap: Encapsulation::Raw {
                            value: vec![0, 0, 0, 7],
                        },
                    },
                    SubTlv::Color {
                        flags: 0,
                        color: 100,
                    },
                    SubTlv::UdpDestPort { port: 4500 },
                    SubTlv::IpsecSaId { ids: vec![1, 2] },
                    SubTlv::PublicKey {
                        key: sdwan_bgp::wire::sdwan_subtlv::PublicKey { x25519: [7; 32] },
                    },
                ],
            }],
        });
    }
    let nlri = (0..n)
        .map(|i| PathNlri {
            path_id: None,
            nlri: Nlri::Vpn {
                label: (100 << 4) | 1,
                rd: Rd::new_as2(65000, i % 1000),
                prefix: Prefix::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 8))), 24)
                    .unwrap(),
            },
        })
        .collect();
    u.attrs.mp_reach = Some(MpReach {
        family: Family::Vpnv4,
        next_hop: NextHop {
            addr: "192.0.2.1".parse().unwrap(),
            link_local: None,
        },
        nlri,
    });
    Message::Update(u).encode(EncodeCtx {
        four_octet_as: true,
    })
}

fn bench(c: &mut Criterion) {
    let ctx = DecodeCtx {
        four_octet_as: true,
        ..Default::default()
    };
    let mut g = c.benchmark_group("update_decode");
    for (name, n, tunnel) in [
        ("vpnv4_full_4096B", 260u32, false),
        ("vpnv4_tunnel_encap", 200, true),
    ] {
        let msg = vpn_update(n, tunnel);
        assert!(msg.len() <= 4096, "{}", msg.len());
        g.throughput(Throughput::Elements(u64::from(n)));
        g.bench_function(name, |b| {
            b.iter(|| decode_message(black_box(&msg), &ctx).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
