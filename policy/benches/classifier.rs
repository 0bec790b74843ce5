//! Classifier lookup ns/packet with 1, 100 and 1,000 rules: the compiled
//! bitmap classifier against the linear scan, beside the plain IPv4 route
//! lookup (`sdwan_dataplane::lpm::Lpm4`, 1,000 routes) of the same keys in
//! the same run. Also the whole per-packet policy step on a flow-cache hit
//! (FlowKey parse + flow table), and the cost of compiling 1,000 rules.
//!
//! Each iteration handles `KEYS` packets; criterion's throughput line
//! (elem/s) gives packets per second, ns/packet = 1e9 / elem/s.
//!
//! Rules are random but seeded and shaped like an enterprise policy:
//! source/destination prefixes /8../32 inside 10/8 and 172.16/12, TCP/UDP,
//! destination port ranges, some DSCP and VRF conditions. Keys are drawn
//! from the same space, so some match early rules, some late, some none
//! (the linear scan's worst case).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sdwan_dataplane::lpm::Lpm4;
use sdwan_policy::classifier::{
    Action, CompiledClassifier, LinearClassifier, Match, PathPolicy, PolicySnapshot, PortRange,
    Prefix, Rule, RuleSet,
};
use sdwan_policy::flow_table::{FlowTable, FlowTableConfig};
use sdwan_policy::path::{PathState, Usable};
use sdwan_policy::FlowKey;
use std::net::Ipv4Addr;

const KEYS: usize = 4096;

fn random_prefix(rng: &mut SmallRng) -> Prefix {
    let base: u32 = if rng.gen_bool(0.5) {
        0x0a00_0000
    } else {
        0xac10_0000
    };
    let len = [8u8, 12, 16, 20, 24, 24, 28, 32][rng.gen_range(0..8)];
    let addr = base | rng.gen_range(0..1u32 << 20);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Prefix::v4(Ipv4Addr::from(addr & mask), len).expect("masked prefix")
}

fn rules(n: usize, seed: u64) -> RuleSet {
    let mut rng = SmallRng::seed_from_u64(seed);
    let policies = [
        PathPolicy::PrivateOnly,
        PathPolicy::EncryptedAny,
        PathPolicy::Any,
        PathPolicy::InternetBreakout,
    ];
    let mut set = RuleSet::new(Action::new(PathPolicy::EncryptedAny));
    for _ in 0..n {
        let lo = rng.gen_range(0..60_000u16);
        let m = Match {
            src: rng.gen_bool(0.5).then(|| random_prefix(&mut rng)),
            dst: rng.gen_bool(0.8).then(|| random_prefix(&mut rng)),
            protocol: rng
                .gen_bool(0.7)
                .then(|| if rng.gen_bool(0.6) { 6 } else { 17 }),
            src_ports: None,
            dst_ports: rng
                .gen_bool(0.6)
                .then(|| PortRange::new(lo, lo + rng.gen_range(0..2000)).expect("lo <= hi")),
            dscp: rng.gen_bool(0.1).then(|| rng.gen_range(0..64)),
            flow_label: None,
            vrf: rng.gen_bool(0.2).then(|| rng.gen_range(0..4)),
        };
        set.rules.push(Rule {
            matches: m,
            action: Action::new(policies[rng.gen_range(0..4)]),
        });
    }
    set
}

fn keys(seed: u64) -> Vec<FlowKey> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let addr = |rng: &mut SmallRng| {
        let base: u32 = if rng.gen_bool(0.5) {
            0x0a00_0000
        } else {
            0xac10_0000
        };
        Ipv4Addr::from(base | rng.gen_range(0..1u32 << 20))
    };
    (0..KEYS)
        .map(|_| {
            let s = addr(&mut rng);
            let d = addr(&mut rng);
            let proto = if rng.gen_bool(0.6) { 6 } else { 17 };
            FlowKey::v4(
                rng.gen_range(0..4),
                s,
                d,
                proto,
                rng.gen(),
                rng.gen_range(0..62_000),
                rng.gen_range(0..64),
            )
        })
        .collect()
}

fn lpm_of(set: &RuleSet) -> Lpm4 {
    let mut lpm = Lpm4::new();
    for (i, r) in set.rules.iter().enumerate() {
        if let Some(p) = r.matches.dst {
            let (lo, _) = p.range();
            // Rule prefixes are IPv4 here: the low 32 bits are the address.
            let _ = lpm.insert(Ipv4Addr::from(lo as u32), p.prefix_len(), i as u32);
        }
    }
    lpm
}

fn bench(c: &mut Criterion) {
    let ks = keys(2);
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(KEYS as u64));
    // The route lookup baseline: 1,000 rules' destination prefixes.
    let big = rules(1000, 1);
    let lpm = lpm_of(&big);
    g.bench_function("lpm4_lookup", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for k in &ks {
                acc = acc.wrapping_add(lpm.lookup_u32(k.dst as u32).unwrap_or(0));
            }
            black_box(acc)
        })
    });
    for n in [1usize, 100, 1000] {
        let set = rules(n, 1);
        let compiled = CompiledClassifier::compile(&set);
        let linear = LinearClassifier::new(&set);
        let hits = ks.iter().filter(|k| compiled.classify(k).is_some()).count();
        eprintln!(
            "{n} rules: {} fields active, {} KiB, {hits}/{KEYS} keys match a rule",
            compiled.active_fields(),
            compiled.memory_bytes() / 1024
        );
        g.bench_with_input(BenchmarkId::new("compiled", n), &compiled, |b, c| {
            b.iter(|| {
                let mut acc = 0usize;
                for k in &ks {
                    acc = acc.wrapping_add(c.classify(k).unwrap_or(0));
                }
                black_box(acc)
            })
        });
        g.bench_with_input(BenchmarkId::new("linear", n), &linear, |b, l| {
            b.iter(|| {
                let mut acc = 0usize;
                for k in &ks {
                    acc = acc.wrapping_add(l.classify(k).unwrap_or(0));
                }
                black_box(acc)
            })
        });
    }
    g.finish();

    // Whole per-packet policy step on a flow-cache hit, 1,000 rules.
    let snap = PolicySnapshot::compile(&big, 1).expect("valid rules");
    let state = PathState::new(Usable::ALL);
    let mut table = FlowTable::new(FlowTableConfig {
        capacity: 16 * KEYS,
        idle_timeout_ns: u64::MAX,
        seed: 9,
    });
    let packets: Vec<Vec<u8>> = ks.iter().map(udp_packet).collect();
    for p in &packets {
        let k = FlowKey::parse(p, 0).expect("well-formed");
        table.steer(&k, 0, &snap, state.load());
    }
    let mut g = c.benchmark_group("policy_step");
    g.throughput(Throughput::Elements(KEYS as u64));
    g.bench_function("parse_and_flow_hit_1000_rules", |b| {
        b.iter(|| {
            let view = state.load();
            let mut n = 0u32;
            for p in &packets {
                if let Ok(k) = FlowKey::parse(p, 0) {
                    if matches!(
                        table.steer(&k, 1, &snap, view),
                        sdwan_policy::flow_table::Steer::Forward { .. }
                    ) {
                        n += 1;
                    }
                }
            }
            black_box(n)
        })
    });
    g.bench_function("parse_only", |b| {
        b.iter(|| {
            let mut n = 0u16;
            for p in &packets {
                if let Ok(k) = FlowKey::parse(p, 0) {
                    n = n.wrapping_add(k.dst_port);
                }
            }
            black_box(n)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    g.bench_function("compile_1000_rules", |b| {
        b.iter(|| black_box(CompiledClassifier::compile(&big)))
    });
    g.finish();
}

/// IPv4/UDP packet (20 + 8 + 18 bytes) carrying `k`'s addresses and ports.
fn udp_packet(k: &FlowKey) -> Vec<u8> {
    let mut v = vec![0u8; 46];
    v[0] = 0x45;
    v[1] = k.dscp << 2;
    v[2..4].copy_from_slice(&46u16.to_be_bytes());
    v[8] = 64;
    v[9] = 17;
    v[12..16].copy_from_slice(&(k.src as u32).to_be_bytes());
    v[16..20].copy_from_slice(&(k.dst as u32).to_be_bytes());
    v[20..22].copy_from_slice(&k.src_port.to_be_bytes());
    v[22..24].copy_from_slice(&k.dst_port.to_be_bytes());
    v[24..26].copy_from_slice(&26u16.to_be_bytes());
    v
}

criterion_group!(benches, bench);
criterion_main!(benches);
