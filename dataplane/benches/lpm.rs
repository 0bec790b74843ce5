//! Lpm4/Lpm6 against DPDK rte_lpm/rte_lpm6 on the same tables in the same
//! run (prints a report; no criterion). Run:
//!
//! ```text
//! cargo bench -p sdwan-dataplane --bench lpm --features dpdk-baseline
//! ```
//!
//! Without `dpdk-baseline` only our side runs. Sizes: `LPM_V4_ROUTES`
//! (default 1,000,000), `LPM_V6_ROUTES` (default 150,000), `LPM_LOOKUPS`
//! (addresses per round, default 4 Mi). Tables are random but seeded.
//! Each figure is the median of 5 rounds; cycles = ns × TSC frequency.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sdwan_dataplane::fib::{fib_channel, NextHop, RouteChange};
use sdwan_dataplane::lpm::{Lpm4, Lpm6};

const ROUNDS: usize = 5;
const BURST: usize = 32;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// TSC frequency: from the EAL when it runs, else /proc/cpuinfo.
fn cpu_hz_from_cpuinfo() -> f64 {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("cpu MHz"))
                .and_then(|l| l.split(':').nth(1))
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .map_or(0.0, |mhz| mhz * 1e6)
}

/// Median ns per operation of `f`, which performs `ops` operations per call.
fn measure(ops: usize, mut f: impl FnMut() -> u64) -> f64 {
    let mut runs: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_nanos() as f64 / ops as f64
        })
        .collect();
    runs.sort_by(|a, b| a.total_cmp(b));
    runs[ROUNDS / 2]
}

struct Report {
    hz: f64,
}

impl Report {
    fn line(&self, what: &str, ns: f64) {
        let cycles = ns * self.hz / 1e9;
        println!("  {what:<44} {ns:>9.2} ns {cycles:>9.1} cycles {:>8.1} M/s", 1e3 / ns);
    }

    fn ratio(&self, what: &str, ours: f64, theirs: f64) {
        println!("  => {what}: ours/DPDK time ratio {:.2} (DPDK/ours speed {:.2}x)", ours / theirs, theirs / ours);
    }
}

/// 1 M IPv4 prefixes: 80 % /24, 17 % /16–/23, 3 % /25–/32, in 1.0.0.0–
/// 223.255.255.255; values < 2^16.
fn v4_routes(n: usize, rng: &mut SmallRng) -> Vec<(u32, u8, u32)> {
    (0..n)
        .map(|_| {
            let roll = rng.gen_range(0..100);
            let len = match roll {
                0..=79 => 24,
                80..=96 => rng.gen_range(16..=23),
                _ => rng.gen_range(25..=32),
            };
            let addr = rng.gen_range(0x0100_0000u32..0xe000_0000);
            let mask = u32::MAX << (32 - len);
            (addr & mask, len, rng.gen_range(0..1 << 16))
        })
        .collect()
}

/// IPv6 routes clustered like a BGP table: 8,000 allocations (/29–/32)
/// under 2000::/4; 30 % /32–/36, 20 % /37–/47, 45 % /48, 5 % /49–/64,
/// plus a few /128. Sub-prefixes share their allocation's first 32 bits
/// and use 8 values of bits 32–39.
fn v6_routes(n: usize, rng: &mut SmallRng) -> Vec<(u128, u8, u32)> {
    let allocs: Vec<u128> = (0..8_000)
        .map(|_| (0x2000u128 + rng.gen_range(0..0x0c00)) << 112 | u128::from(rng.gen::<u16>()) << 96)
        .collect();
    (0..n)
        .map(|i| {
            let base = allocs[rng.gen_range(0..allocs.len())];
            let roll = rng.gen_range(0..100);
            let len: u8 = if i % 1000 == 0 {
                128
            } else {
                match roll {
                    0..=29 => rng.gen_range(29..=36),
                    30..=49 => rng.gen_range(37..=47),
                    50..=94 => 48,
                    _ => rng.gen_range(49..=64),
                }
            };
            let sub = u128::from(rng.gen_range(0u8..8)) << 88 | (rng.gen::<u128>() & ((1u128 << 88) - 1));
            let mask = u128::MAX << (128 - u32::from(len));
            ((base | sub) & mask, len, rng.gen_range(0..1 << 16))
        })
        .collect()
}

fn v4_bench(report: &Report, rng: &mut SmallRng) {
    let n = env_usize("LPM_V4_ROUTES", 1_000_000);
    let lookups = env_usize("LPM_LOOKUPS", 4 << 20);
    let routes = v4_routes(n, rng);
    println!("IPv4: {n} prefixes generated, {lookups} lookups per round");

    let t = Instant::now();
    let mut lpm = Lpm4::new();
    for &(p, l, v) in &routes {
        lpm.insert(Ipv4Addr::from(p), l, v).expect("generated route is valid");
    }
    let ours_insert = t.elapsed().as_nanos() as f64 / n as f64;
    println!("  {} distinct routes, our table {:.1} MiB", lpm.len(), lpm.memory_bytes() as f64 / (1 << 20) as f64);

    let random: Vec<u32> = (0..lookups).map(|_| rng.gen()).collect();
    let hits = random.iter().filter(|&&a| lpm.lookup_u32(a).is_some()).count();
    println!("  uniform random addresses: {:.1} % match a route", 100.0 * hits as f64 / lookups as f64);

    let single = measure(lookups, || random.iter().map(|&a| u64::from(lpm.lookup_u32(a).unwrap_or(0))).sum());
    let bulk = measure(lookups, || {
        let mut out = [None; BURST];
        let mut sum = 0u64;
        for c in random.chunks(BURST) {
            lpm.lookup_bulk(c, &mut out);
            sum += out.iter().map(|v| u64::from(v.unwrap_or(0))).sum::<u64>();
        }
        sum
    });
    report.line("ours: Lpm4 insert (build, per route)", ours_insert);
    report.line("ours: Lpm4::lookup_u32 random", single);
    report.line("ours: Lpm4::lookup_bulk x32 random", bulk);

    publish_cost_v4(report, &lpm, &routes, rng);

    #[cfg(feature = "dpdk-baseline")]
    dpdk::v4(report, &routes, &random, &lpm, single, bulk, ours_insert);
}

/// Per route change on a full table: the change plus a snapshot that a
/// reader keeps until the next change (so every change copies).
fn publish_cost_v4(report: &Report, lpm: &Lpm4, routes: &[(u32, u8, u32)], rng: &mut SmallRng) {
    const CHANGES: usize = 2_000;
    let picks: Vec<(u32, u8, u32)> = (0..CHANGES).map(|_| routes[rng.gen_range(0..routes.len())]).collect();
    let mut work = lpm.clone();
    let mut snapshot = lpm.clone();
    let t = Instant::now();
    for &(p, l, v) in &picks {
        work.insert(Ipv4Addr::from(p), l, v ^ 1).expect("valid");
        snapshot = black_box(work.clone());
    }
    let lpm_change = t.elapsed().as_nanos() as f64 / CHANGES as f64;
    drop(snapshot);
    report.line("ours: Lpm4 replace 1 route + clone snapshot", lpm_change);

    // Through the real FibWriter (ArcSwap publish, next-hop interning,
    // reclaim of the replaced snapshot on the writer thread).
    let (mut w, reader) = fib_channel();
    let nh = |v: u32| NextHop::Gateway { port: (v % 8) as u16, via: IpAddr::V4(Ipv4Addr::from(0xc000_0200 | (v % 200))) };
    let t = Instant::now();
    for chunk in routes.chunks(100_000) {
        w.apply(chunk.iter().map(|&(p, l, v)| RouteChange::Add {
            vrf: 0,
            prefix: IpAddr::V4(Ipv4Addr::from(p)),
            len: l,
            next_hop: nh(v),
        }));
    }
    let fib_build = t.elapsed().as_nanos() as f64 / routes.len() as f64;
    report.line("ours: FibWriter add (batches of 100k, per route)", fib_build);
    for batch in [1usize, 100] {
        let rounds = CHANGES / batch;
        let t = Instant::now();
        for r in 0..rounds {
            let _held = reader.load_full();
            w.apply(picks[r * batch..(r + 1) * batch].iter().map(|&(p, l, v)| RouteChange::Add {
                vrf: 0,
                prefix: IpAddr::V4(Ipv4Addr::from(p)),
                len: l,
                next_hop: nh(v + 1),
            }));
        }
        let ns = t.elapsed().as_nanos() as f64 / (rounds * batch) as f64;
        report.line(&format!("ours: FibWriter 1 change, batch {batch}, publish"), ns);
    }
}

fn v6_bench(report: &Report, rng: &mut SmallRng) {
    let n = env_usize("LPM_V6_ROUTES", 150_000);
    let lookups = env_usize("LPM_LOOKUPS", 4 << 20);
    let routes = v6_routes(n, rng);
    println!("IPv6: {n} prefixes generated, {lookups} lookups per round");

    let t = Instant::now();
    let mut lpm = Lpm6::new();
    for &(p, l, v) in &routes {
        lpm.insert(Ipv6Addr::from(p), l, v).expect("generated route is valid");
    }
    let ours_insert = t.elapsed().as_nanos() as f64 / n as f64;
    println!("  {} distinct routes", lpm.len());

    // Traffic to known destinations: a random route, random host bits.
    let addrs: Vec<u128> = (0..lookups)
        .map(|_| {
            let (p, l, _) = routes[rng.gen_range(0..routes.len())];
            let host = if l == 128 { 0 } else { rng.gen::<u128>() & (u128::MAX >> l) };
            p | host
        })
        .collect();
    let single = measure(lookups, || addrs.iter().map(|&a| u64::from(lpm.lookup_u128(a).unwrap_or(0))).sum());
    let bulk = measure(lookups, || {
        let mut out = [None; BURST];
        let mut sum = 0u64;
        for c in addrs.chunks(BURST) {
            lpm.lookup_bulk(c, &mut out);
            sum += out.iter().map(|v| u64::from(v.unwrap_or(0))).sum::<u64>();
        }
        sum
    });
    report.line("ours: Lpm6 insert (build, per route)", ours_insert);
    report.line("ours: Lpm6::lookup_u128 (inside routes)", single);
    report.line("ours: Lpm6::lookup_bulk x32 (inside routes)", bulk);

    const CHANGES: usize = 2_000;
    let mut work = lpm.clone();
    let mut snapshot = lpm.clone();
    let t = Instant::now();
    for _ in 0..CHANGES {
        let (p, l, v) = routes[rng.gen_range(0..routes.len())];
        work.insert(Ipv6Addr::from(p), l, v ^ 1).expect("valid");
        snapshot = black_box(work.clone());
    }
    drop(snapshot);
    report.line("ours: Lpm6 replace 1 route + clone snapshot", t.elapsed().as_nanos() as f64 / CHANGES as f64);

    #[cfg(feature = "dpdk-baseline")]
    dpdk::v6(report, &routes, &addrs, &lpm, single, bulk, ours_insert);
}

#[cfg(feature = "dpdk-baseline")]
mod dpdk {
    use super::*;
    use sdwan_ffi::rte_lpm::{RteLpm4, RteLpm6};

    pub fn v4(report: &Report, routes: &[(u32, u8, u32)], random: &[u32], ours: &Lpm4, single: f64, bulk: f64, ours_insert: f64) {
        let mut rte = RteLpm4::new("bench_lpm4", (routes.len() + 1024) as u32, 1 << 17).expect("rte_lpm_create");
        let t = Instant::now();
        for &(p, l, v) in routes {
            rte.add(p, l, v).expect("rte_lpm_add");
        }
        let rte_insert = t.elapsed().as_nanos() as f64 / routes.len() as f64;
        let mismatches = random.iter().filter(|&&a| rte.lookup(a) != ours.lookup_u32(a)).count();
        println!("  cross-check on {} addresses: {mismatches} differ from rte_lpm", random.len());
        let rte_single = measure(random.len(), || random.iter().map(|&a| u64::from(rte.lookup(a).unwrap_or(0))).sum());
        let rte_bulk = measure(random.len(), || {
            let mut out = [0u32; BURST];
            let mut sum = 0u64;
            for c in random.chunks(BURST) {
                rte.lookup_bulk(c, &mut out);
                sum += out.iter().map(|&v| u64::from(v)).sum::<u64>();
            }
            sum
        });
        report.line("DPDK: rte_lpm_add (build, per route)", rte_insert);
        report.line("DPDK: rte_lpm_lookup random (shim call)", rte_single);
        report.line("DPDK: rte_lpm_lookup_bulk x32 random", rte_bulk);
        report.ratio("IPv4 single lookup", single, rte_single);
        report.ratio("IPv4 bulk lookup", bulk, rte_bulk);
        report.ratio("IPv4 insert", ours_insert, rte_insert);
    }

    pub fn v6(report: &Report, routes: &[(u128, u8, u32)], addrs: &[u128], ours: &Lpm6, single: f64, bulk: f64, ours_insert: f64) {
        let mut rte = RteLpm6::new("bench_lpm6", (routes.len() + 1024) as u32, 1 << 18).expect("rte_lpm6_create");
        let t = Instant::now();
        for &(p, l, v) in routes {
            rte.add(p.to_be_bytes(), l, v).expect("rte_lpm6_add");
        }
        let rte_insert = t.elapsed().as_nanos() as f64 / routes.len() as f64;
        let bytes: Vec<[u8; 16]> = addrs.iter().map(|a| a.to_be_bytes()).collect();
        let mismatches = addrs.iter().zip(&bytes).filter(|(&a, b)| rte.lookup(b) != ours.lookup_u128(a)).count();
        println!("  cross-check on {} addresses: {mismatches} differ from rte_lpm6", addrs.len());
        let rte_single = measure(addrs.len(), || bytes.iter().map(|b| u64::from(rte.lookup(b).unwrap_or(0))).sum());
        let mut scratch = bytes.clone();
        let rte_bulk = measure(addrs.len(), || {
            let mut out = [0i32; BURST];
            let mut sum = 0u64;
            for c in scratch.chunks_mut(BURST) {
                rte.lookup_bulk(c, &mut out);
                sum += out.iter().map(|&v| v as u64).sum::<u64>();
            }
            sum
        });
        report.line("DPDK: rte_lpm6_add (build, per route)", rte_insert);
        report.line("DPDK: rte_lpm6_lookup (inside routes)", rte_single);
        report.line("DPDK: rte_lpm6_lookup_bulk_func x32", rte_bulk);
        report.ratio("IPv6 single lookup", single, rte_single);
        report.ratio("IPv6 bulk lookup", bulk, rte_bulk);
        report.ratio("IPv6 insert", ours_insert, rte_insert);
    }

    /// EAL args: hugepages (`--in-memory`) when the machine has some, else
    /// `--no-huge` (which implies legacy memory, incompatible with
    /// `--in-memory` in DPDK 22.11).
    pub fn eal() -> sdwan_ffi::Eal {
        let huge = std::fs::read_to_string("/proc/sys/vm/nr_hugepages")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let no_huge = ["bench", "--no-huge", "-m", "2048", "--no-pci", "--log-level=3"];
        if huge > 0 {
            let args = ["bench", "-m", "2048", "--no-pci", "--in-memory", "--log-level=3"];
            match sdwan_ffi::Eal::init(&args) {
                Ok(eal) => {
                    println!("EAL: {huge} hugepages, {}", args[1..].join(" "));
                    return eal;
                }
                Err(e) => eprintln!("EAL with hugepages failed ({e}); retrying with --no-huge"),
            }
        }
        println!("EAL: {}", no_huge[1..].join(" "));
        sdwan_ffi::Eal::init(&no_huge).expect("rte_eal_init --no-huge")
    }
}

fn main() {
    #[cfg(feature = "dpdk-baseline")]
    let _eal = dpdk::eal();
    #[cfg(feature = "dpdk-baseline")]
    let hz = sdwan_ffi::tsc_hz() as f64;
    #[cfg(not(feature = "dpdk-baseline"))]
    let hz = cpu_hz_from_cpuinfo();
    println!("TSC {:.0} MHz (cpuinfo {:.0} MHz); medians of {ROUNDS} rounds", hz / 1e6, cpu_hz_from_cpuinfo() / 1e6);
    let report = Report { hz };
    let mut rng = SmallRng::seed_from_u64(0x5d_3a_11);
    v4_bench(&report, &mut rng);
    v6_bench(&report, &mut rng);
}
