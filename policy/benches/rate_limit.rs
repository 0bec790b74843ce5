//! Rate limiter ns/packet: `check_v4` over 4,096 packets from 10,000
//! random sources into a 65,536-bucket table (mostly admitted), and a
//! single flooding source (mostly dropped). Throughput lines give
//! packets/s.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sdwan_policy::rate_limit::{RateLimitConfig, RateLimiter};

const PKTS: usize = 4096;

fn bench(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(4);
    let pool: Vec<u32> = (0..10_000).map(|_| rng.gen()).collect();
    let srcs: Vec<u32> = (0..PKTS)
        .map(|_| pool[rng.gen_range(0..pool.len())])
        .collect();
    let mut rl = RateLimiter::new(&RateLimitConfig {
        buckets: 65_536,
        rate_pps: 10_000,
        burst: 100,
        v6_prefix_len: 64,
        seed: 1,
    })
    .expect("valid config");
    let mut g = c.benchmark_group("rate_limit");
    g.throughput(Throughput::Elements(PKTS as u64));
    let mut now = 0u64;
    g.bench_function("many_sources", |b| {
        b.iter(|| {
            now += 1_000_000;
            let mut ok = 0u32;
            for s in &srcs {
                ok += u32::from(rl.check_v4(*s, now).is_ok());
            }
            black_box(ok)
        })
    });
    g.bench_function("one_flooder", |b| {
        b.iter(|| {
            now += 1_000;
            let mut ok = 0u32;
            for _ in 0..PKTS {
                ok += u32::from(rl.check_v4(0xc633_6442, now).is_ok());
            }
            black_box(ok)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
