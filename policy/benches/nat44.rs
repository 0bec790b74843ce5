//! NAT44 translate rate (packets/s; Mpps = elem/s / 1e6) on 64-byte
//! IPv4/UDP packets of 1,024 established flows: outbound (source rewrite),
//! inbound (return traffic), and mapping creation + expiry. Each packet is
//! first restored from its template (a 50-byte copy); `copy_only` measures
//! that floor in the same run.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sdwan_policy::nat44::{Nat44, Nat44Config, NatTimeouts};

const FLOWS: usize = 1024;
const PKT: usize = 50; // IPv4 + UDP + 22 bytes: a 64-byte Ethernet frame

fn udp(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16) -> [u8; PKT] {
    let mut v = [0u8; PKT];
    v[0] = 0x45;
    v[2..4].copy_from_slice(&(PKT as u16).to_be_bytes());
    v[8] = 64;
    v[9] = 17;
    v[12..16].copy_from_slice(&src);
    v[16..20].copy_from_slice(&dst);
    let c = !fold(sum(&v[..20]));
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v[20..22].copy_from_slice(&sp.to_be_bytes());
    v[22..24].copy_from_slice(&dp.to_be_bytes());
    v[24..26].copy_from_slice(&((PKT - 20) as u16).to_be_bytes());
    // UDP checksum over the pseudo header and the datagram.
    let mut s = sum(&src) + sum(&dst) + 17 + (PKT as u32 - 20);
    s += sum(&v[20..]);
    let c = !fold(s);
    v[26..28].copy_from_slice(&c.to_be_bytes());
    v
}

fn sum(b: &[u8]) -> u32 {
    b.chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum()
}

fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

fn config() -> Nat44Config {
    Nat44Config {
        public_addrs: vec![[203, 0, 113, 1].into(), [203, 0, 113, 2].into()],
        port_lo: 1024,
        port_hi: 65535,
        max_mappings: 65536,
        timeouts: NatTimeouts::default(),
        shard: 0,
        shards: 1,
        seed: 3,
    }
}

fn bench(c: &mut Criterion) {
    let outbound: Vec<[u8; PKT]> = (0..FLOWS)
        .map(|i| {
            udp(
                [10, 0, (i / 256) as u8, i as u8],
                40_000 + i as u16,
                [198, 51, 100, 7],
                443,
            )
        })
        .collect();
    let mut nat = Nat44::new(&config()).expect("valid config");
    // Establish the mappings and build the return packets.
    let inbound: Vec<[u8; PKT]> = outbound
        .iter()
        .map(|p| {
            let mut q = *p;
            nat.outbound(&mut q, 0).expect("mapping");
            let mut r = [0u8; 4];
            r.copy_from_slice(&q[12..16]);
            let ext = u16::from_be_bytes([q[20], q[21]]);
            udp([198, 51, 100, 7], 443, r, ext)
        })
        .collect();
    let mut buf = [0u8; PKT];
    let mut g = c.benchmark_group("nat44");
    g.throughput(Throughput::Elements(FLOWS as u64));
    g.bench_function("copy_only", |b| {
        b.iter(|| {
            let mut acc = 0u8;
            for p in &outbound {
                buf.copy_from_slice(black_box(p));
                acc ^= black_box(&buf)[27];
            }
            black_box(acc)
        })
    });
    g.bench_function("outbound_established", |b| {
        b.iter(|| {
            let mut ok = 0u32;
            for p in &outbound {
                buf.copy_from_slice(p);
                ok += u32::from(nat.outbound(&mut buf, 1).is_ok());
            }
            black_box(ok)
        })
    });
    g.bench_function("inbound_established", |b| {
        b.iter(|| {
            let mut ok = 0u32;
            for p in &inbound {
                buf.copy_from_slice(p);
                ok += u32::from(nat.inbound(&mut buf, 1).is_ok());
            }
            black_box(ok)
        })
    });
    // New mappings: every round uses fresh source ports; old mappings are
    // expired by the sweep between rounds (a far-future clock).
    let mut round = 0u64;
    g.bench_function("create_mapping", |b| {
        b.iter(|| {
            round += 1;
            let now = round * 1_000_000_000_000;
            nat.expire(now, usize::MAX);
            let mut ok = 0u32;
            for p in &outbound {
                buf.copy_from_slice(p);
                buf[20..22].copy_from_slice(&((round as u16) ^ 0x5a5a).to_be_bytes());
                ok += u32::from(nat.outbound(&mut buf, now).is_ok());
            }
            black_box(ok)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
