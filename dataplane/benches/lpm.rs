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
use sdwan_dataplane::fib::{fib_channel, FibReader, NextHop, RouteChange};
use sdwan_dataplane::lpm::{Lpm4, Lpm6};

const ROUNDS: usize = 5;
const BURST: usize = 32;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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

/// A named measurement: one call performs `LPM_LOOKUPS` operations.
type Job<'a> = (&'static str, Box<dyn FnMut() -> u64 + 'a>);

/// Median ns per operation of each job. Rounds are interleaved (job 1, job
/// 2, ..., job 1, ...) so that load from other processes on this shared
/// machine hits every job alike and the ratios stay meaningful.
fn run_interleaved(ops: usize, jobs: &mut [Job<'_>]) -> Vec<f64> {
    let mut runs = vec![Vec::with_capacity(ROUNDS); jobs.len()];
    for _ in 0..ROUNDS {
        for (i, (_, f)) in jobs.iter_mut().enumerate() {
            let t = Instant::now();
            black_box(f());
            runs[i].push(t.elapsed().as_nanos() as f64 / ops as f64);
        }
    }
    runs.into_iter()
        .map(|mut r| {
            r.sort_by(|a, b| a.total_cmp(b));
            r[ROUNDS / 2]
        })
        .collect()
}

/// Time of one call of `f` per `ops`.
fn once(ops: usize, f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_nanos() as f64 / ops as f64
}

struct Report {
    hz: f64,
}

impl Report {
    fn line(&self, what: &str, ns: f64) {
        let cycles = ns * self.hz / 1e9;
        println!(
            "  {what:<44} {ns:>9.2} ns {cycles:>9.1} cycles {:>8.1} M/s",
            1e3 / ns
        );
    }

    fn ratio(&self, what: &str, ours: f64, theirs: f64) {
        println!(
            "  => {what}: ours/DPDK time ratio {:.2} (DPDK/ours speed {:.2}x)",
            ours / theirs,
            theirs / ours
        );
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
        .map(|_| {
            (0x2000u128 + rng.gen_range(0..0x0c00)) << 112 | u128::from(rng.gen::<u16>()) << 96
        })
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
            let sub =
                u128::from(rng.gen_range(0u8..8)) << 88 | (rng.gen::<u128>() & ((1u128 << 88) - 1));
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

    let mut lpm = Lpm4::new();
    let ours_insert = once(n, || {
        for &(p, l, v) in &routes {
            lpm.insert(Ipv4Addr::from(p), l, v)
                .expect("generated route is valid");
        }
    });
    println!(
        "  {} distinct routes, our table {:.1} MiB",
        lpm.len(),
        lpm.memory_bytes() as f64 / (1 << 20) as f64
    );
    report.line("ours: Lpm4::insert (build, per route)", ours_insert);

    let random: Vec<u32> = (0..lookups).map(|_| rng.gen()).collect();
    let hits = random
        .iter()
        .filter(|&&a| lpm.lookup_u32(a).is_some())
        .count();
    println!(
        "  uniform random addresses: {:.1} % match a route",
        100.0 * hits as f64 / lookups as f64
    );

    let (reader, publish) = publish_cost_v4(report, &lpm, &routes, rng);
    #[cfg(not(feature = "dpdk-baseline"))]
    let _ = publish; // only compared with rte_lpm_add

    #[cfg(feature = "dpdk-baseline")]
    let rte = dpdk::build_v4(report, &routes, &random, &lpm, ours_insert);

    let mut jobs: Vec<Job<'_>> = vec![
        (
            "ours: Lpm4::lookup_u32 random",
            Box::new(|| {
                random
                    .iter()
                    .map(|&a| u64::from(lpm.lookup_u32(a).unwrap_or(0)))
                    .sum()
            }),
        ),
        (
            "ours: Lpm4::lookup_bulk x32 random",
            Box::new(|| {
                let mut out = [None; BURST];
                let mut sum = 0u64;
                for c in random.chunks(BURST) {
                    lpm.lookup_bulk(c, &mut out);
                    sum += out.iter().map(|v| u64::from(v.unwrap_or(0))).sum::<u64>();
                }
                sum
            }),
        ),
        (
            "ours: FibReader::load + Fib::lookup_v4_bulk x32",
            Box::new(|| {
                let mut sum = 0u64;
                for c in random.chunks(BURST) {
                    let fib = reader.load();
                    let mut out = [None; BURST];
                    fib.lookup_v4_bulk(0, c, &mut out);
                    sum += out.iter().filter(|v| v.is_some()).count() as u64;
                }
                sum
            }),
        ),
    ];
    #[cfg(feature = "dpdk-baseline")]
    dpdk::jobs_v4(&rte.0, &random, &mut jobs);
    let ns = run_interleaved(lookups, &mut jobs);
    for ((name, _), &t) in jobs.iter().zip(&ns) {
        report.line(name, t);
    }
    if ns.len() == 5 {
        report.ratio("IPv4 single lookup", ns[0], ns[3]);
        report.ratio("IPv4 bulk lookup", ns[1], ns[4]);
        #[cfg(feature = "dpdk-baseline")]
        report.ratio("IPv4 one change + publish vs rte_lpm_add", publish, rte.1);
    }
}

/// Per route change on a full table: the change plus a snapshot that a
/// reader keeps until the next change (so every change copies). Returns a
/// reader of the full FIB and the cost of one change published alone.
fn publish_cost_v4(
    report: &Report,
    lpm: &Lpm4,
    routes: &[(u32, u8, u32)],
    rng: &mut SmallRng,
) -> (FibReader, f64) {
    const CHANGES: usize = 2_000;
    let picks: Vec<(u32, u8, u32)> = (0..CHANGES)
        .map(|_| routes[rng.gen_range(0..routes.len())])
        .collect();
    let mut work = lpm.clone();
    let mut snapshot = lpm.clone();
    let lpm_change = once(CHANGES, || {
        for &(p, l, v) in &picks {
            work.insert(Ipv4Addr::from(p), l, v ^ 1).expect("valid");
            snapshot = black_box(work.clone());
        }
    });
    drop(snapshot);
    report.line("ours: Lpm4 replace 1 route + clone snapshot", lpm_change);

    // Through the real FibWriter (ArcSwap publish, next-hop interning,
    // reclaim of the replaced snapshot on the writer thread).
    let (mut w, reader) = fib_channel();
    let nh = |v: u32| NextHop::Gateway {
        port: (v % 8) as u16,
        via: IpAddr::V4(Ipv4Addr::from(0xc000_0200 | (v % 200))),
    };
    let add = |&(p, l, v): &(u32, u8, u32), bump: u32| RouteChange::Add {
        vrf: 0,
        prefix: IpAddr::V4(Ipv4Addr::from(p)),
        len: l,
        next_hop: nh(v + bump),
    };
    let fib_build = once(routes.len(), || {
        for chunk in routes.chunks(100_000) {
            w.apply(chunk.iter().map(|r| add(r, 0)));
        }
    });
    report.line(
        "ours: FibWriter add (batches of 100k, per route)",
        fib_build,
    );
    let mut alone = 0.0;
    for batch in [1usize, 100] {
        let rounds = CHANGES / batch;
        let ns = once(rounds * batch, || {
            for r in 0..rounds {
                // A worker holds the current snapshot while the writer publishes.
                let _held = reader.load_full();
                w.apply(picks[r * batch..(r + 1) * batch].iter().map(|r| add(r, 1)));
            }
        });
        report.line(
            &format!("ours: FibWriter per change, {batch}/batch, publish"),
            ns,
        );
        if batch == 1 {
            alone = ns;
        }
    }
    (reader, alone)
}

/// IPv6: traffic to known destinations (a random route, random host bits).
fn v6_bench(report: &Report, rng: &mut SmallRng) {
    let n = env_usize("LPM_V6_ROUTES", 150_000);
    let lookups = env_usize("LPM_LOOKUPS", 4 << 20);
    let routes = v6_routes(n, rng);
    println!("IPv6: {n} prefixes generated, {lookups} lookups per round");

    let mut lpm = Lpm6::new();
    let ours_insert = once(n, || {
        for &(p, l, v) in &routes {
            lpm.insert(Ipv6Addr::from(p), l, v)
                .expect("generated route is valid");
        }
    });
    let (bytes, nodes) = lpm.memory_bytes();
    println!(
        "  {} distinct routes, our table {nodes} groups, {:.1} MiB",
        lpm.len(),
        bytes as f64 / (1 << 20) as f64
    );
    report.line("ours: Lpm6::insert (build, per route)", ours_insert);

    let addrs: Vec<u128> = (0..lookups)
        .map(|_| {
            let (p, l, _) = routes[rng.gen_range(0..routes.len())];
            let host = if l == 128 {
                0
            } else {
                rng.gen::<u128>() & (u128::MAX >> l)
            };
            p | host
        })
        .collect();

    const CHANGES: usize = 2_000;
    let mut work = lpm.clone();
    let mut snapshot = lpm.clone();
    let change = once(CHANGES, || {
        for _ in 0..CHANGES {
            let (p, l, v) = routes[rng.gen_range(0..routes.len())];
            work.insert(Ipv6Addr::from(p), l, v ^ 1).expect("valid");
            snapshot = black_box(work.clone());
        }
    });
    drop(snapshot);
    report.line("ours: Lpm6 replace 1 route + clone snapshot", change);

    #[cfg(feature = "dpdk-baseline")]
    let (mut rte, rte_insert) = dpdk::build_v6(report, &routes, &addrs, &lpm);
    #[cfg(feature = "dpdk-baseline")]
    let mut bytes: Vec<[u8; 16]> = addrs.iter().map(|a| a.to_be_bytes()).collect();

    let mut jobs: Vec<Job<'_>> = vec![
        (
            "ours: Lpm6::lookup_u128",
            Box::new(|| {
                addrs
                    .iter()
                    .map(|&a| u64::from(lpm.lookup_u128(a).unwrap_or(0)))
                    .sum()
            }),
        ),
        (
            "ours: Lpm6::lookup_bulk x32",
            Box::new(|| {
                let mut out = [None; BURST];
                let mut sum = 0u64;
                for c in addrs.chunks(BURST) {
                    lpm.lookup_bulk(c, &mut out);
                    sum += out.iter().map(|v| u64::from(v.unwrap_or(0))).sum::<u64>();
                }
                sum
            }),
        ),
    ];
    #[cfg(feature = "dpdk-baseline")]
    dpdk::jobs_v6(&mut rte, &mut bytes, &mut jobs);
    let ns = run_interleaved(lookups, &mut jobs);
    for ((name, _), &t) in jobs.iter().zip(&ns) {
        report.line(name, t);
    }
    #[cfg(feature = "dpdk-baseline")]
    {
        report.ratio("IPv6 single lookup", ns[0], ns[2]);
        report.ratio("IPv6 bulk lookup", ns[1], ns[3]);
        report.ratio("IPv6 insert", ours_insert, rte_insert);
        report.ratio(
            "IPv6 one change + snapshot vs rte_lpm6_add",
            change,
            rte_insert,
        );
    }
}

#[cfg(feature = "dpdk-baseline")]
mod dpdk {
    use super::*;
    use sdwan_ffi::rte_lpm::{RteLpm4, RteLpm6};

    /// rte_lpm with the same routes; checks it agrees with ours.
    pub fn build_v4(
        report: &Report,
        routes: &[(u32, u8, u32)],
        random: &[u32],
        ours: &Lpm4,
        ours_insert: f64,
    ) -> (RteLpm4, f64) {
        let mut rte = RteLpm4::new("bench_lpm4", (routes.len() + 1024) as u32, 1 << 17)
            .expect("rte_lpm_create");
        let ns = once(routes.len(), || {
            for &(p, l, v) in routes {
                rte.add(p, l, v).expect("rte_lpm_add");
            }
        });
        let mismatches = random
            .iter()
            .filter(|&&a| rte.lookup(a) != ours.lookup_u32(a))
            .count();
        println!(
            "  cross-check on {} addresses: {mismatches} differ from rte_lpm",
            random.len()
        );
        report.line("DPDK: rte_lpm_add (build, per route)", ns);
        report.ratio("IPv4 insert", ours_insert, ns);
        (rte, ns)
    }

    pub fn jobs_v4<'a>(rte: &'a RteLpm4, random: &'a [u32], jobs: &mut Vec<Job<'a>>) {
        jobs.push((
            "DPDK: rte_lpm_lookup random (shim call)",
            Box::new(|| {
                random
                    .iter()
                    .map(|&a| u64::from(rte.lookup(a).unwrap_or(0)))
                    .sum()
            }),
        ));
        jobs.push((
            "DPDK: rte_lpm_lookup_bulk x32 random",
            Box::new(|| {
                let mut out = [0u32; BURST];
                let mut sum = 0u64;
                for c in random.chunks(BURST) {
                    rte.lookup_bulk(c, &mut out);
                    sum += out.iter().map(|&v| u64::from(v)).sum::<u64>();
                }
                sum
            }),
        ));
    }

    /// rte_lpm6 with the same routes; checks it agrees with ours.
    pub fn build_v6(
        report: &Report,
        routes: &[(u128, u8, u32)],
        addrs: &[u128],
        ours: &Lpm6,
    ) -> (RteLpm6, f64) {
        let mut rte = RteLpm6::new("bench_lpm6", (routes.len() + 1024) as u32, 1 << 18)
            .expect("rte_lpm6_create");
        let ns = once(routes.len(), || {
            for &(p, l, v) in routes {
                rte.add(p.to_be_bytes(), l, v).expect("rte_lpm6_add");
            }
        });
        let mismatches = addrs
            .iter()
            .filter(|&&a| rte.lookup(&a.to_be_bytes()) != ours.lookup_u128(a))
            .count();
        println!(
            "  cross-check on {} addresses: {mismatches} differ from rte_lpm6",
            addrs.len()
        );
        report.line("DPDK: rte_lpm6_add (build, per route)", ns);
        (rte, ns)
    }

    pub fn jobs_v6<'a>(rte: &'a mut RteLpm6, bytes: &'a mut [[u8; 16]], jobs: &mut Vec<Job<'a>>) {
        let rte: &'a RteLpm6 = rte;
        // rte_lpm6_lookup_bulk_func takes the addresses mutably: give the
        // bulk job its own copy.
        let mut scratch = bytes.to_vec();
        let bytes: &'a [[u8; 16]] = bytes;
        jobs.push((
            "DPDK: rte_lpm6_lookup",
            Box::new(move || {
                bytes
                    .iter()
                    .map(|b| u64::from(rte.lookup(b).unwrap_or(0)))
                    .sum()
            }),
        ));
        jobs.push((
            "DPDK: rte_lpm6_lookup_bulk_func x32",
            Box::new(move || {
                let mut out = [0i32; BURST];
                let mut sum = 0u64;
                for c in scratch.chunks_mut(BURST) {
                    rte.lookup_bulk(c, &mut out);
                    sum += out.iter().map(|&v| v as u64).sum::<u64>();
                }
                sum
            }),
        ));
    }

    /// EAL args: hugepages (`--in-memory`) when the machine has some, else
    /// `--no-huge` (which implies legacy memory, incompatible with
    /// `--in-memory` in DPDK 22.11).
    pub fn eal() -> sdwan_ffi::Eal {
        let huge = std::fs::read_to_string("/proc/sys/vm/nr_hugepages")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let no_huge = [
            "bench",
            "--no-huge",
            "-m",
            "2048",
            "--no-pci",
            "--log-level=3",
        ];
        if huge > 0 {
            let args = [
                "bench",
                "-m",
                "2048",
                "--no-pci",
                "--in-memory",
                "--log-level=3",
            ];
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
    println!(
        "TSC {:.0} MHz (cpuinfo {:.0} MHz); medians of {ROUNDS} rounds",
        hz / 1e6,
        cpu_hz_from_cpuinfo() / 1e6
    );
    let report = Report { hz };
    let mut rng = SmallRng::seed_from_u64(0x5d_3a_11);
    v4_bench(&report, &mut rng);
    v6_bench(&report, &mut rng);
}
