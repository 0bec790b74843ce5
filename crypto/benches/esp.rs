//! ESP encap/decap (IPv4 outer + NAT-T UDP, AES-128-GCM, ESN) beside the
//! same backend's raw AEAD seal/open on the same inner sizes, in one run,
//! for every backend compiled in. After criterion finishes, prints a table
//! of ns and cycles per packet and the ratio raw/ESP (goal at 1400 B:
//! encap >= 0.90 of seal).
//!
//! A second set of groups (`{backend}/burst{size}`, 64 and 1400 B) runs 64
//! packets per iteration through the per-packet calls (`encap_1x64`,
//! `decap_1x64`, `InboundSet::decap`) and through `encap_burst` /
//! `decap_burst` (one engine call per 64: intel-ipsec-mb's job manager),
//! and prints ns per packet, Mpps, Gbps and the ratio burst/per-packet.
//!
//! `cargo bench -p sdwan-crypto --features rustcrypto,ipsec-mb --bench esp`
//! (`-- burst` for the burst groups only).
//!
//! Time is the benchmark thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not
//! wall time, so other processes on this shared 2-core machine do not
//! inflate it; cycles = CPU ns x the "cpu MHz" of /proc/cpuinfo.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{black_box, BatchSize, Criterion, Throughput};
use sdwan_crypto::aead::{AeadEngine, MAX_BURST};
use sdwan_crypto::esp::OuterConfig;
use sdwan_crypto::{
    Cipher, DropReason, InboundSa, InboundSet, KeyMaterial, NextHeader, OutboundSa, Received,
    SaParams,
};
use sdwan_packet::Frame;
use std::time::Duration;

const HEAD: usize = 128;
const SIZES: &[usize] = &[64, 512, 1400];
/// Simple IMIX, 7:4:1 of 64, 576 and 1500-byte inner packets.
const IMIX: &[usize] = &[64, 64, 576, 64, 64, 1500, 64, 576, 64, 576, 64, 576];
const SPI: u32 = 0x1234_5678;

fn keys() -> KeyMaterial {
    KeyMaterial::from_rfc4106(Cipher::AesGcm128, &[0x42; 20]).unwrap()
}

fn outbound<E: AeadEngine>() -> OutboundSa<E> {
    let outer = OuterConfig::natt(
        "192.0.2.1".parse().unwrap(),
        "198.51.100.1".parse().unwrap(),
    );
    OutboundSa::new(SaParams::new(SPI), &keys(), outer).unwrap()
}

fn inner(len: usize) -> Vec<u8> {
    let mut b = vec![0u8; HEAD + len + 64];
    b[HEAD] = 0x45;
    b
}

/// A fresh encapsulated packet (buffer, start, len) for decap.
fn encapsulated<E: AeadEngine>(sa: &mut OutboundSa<E>, len: usize) -> (Vec<u8>, usize, usize) {
    let mut b = inner(len);
    let mut f = Frame::new(&mut b, HEAD, len).unwrap();
    sa.encap(&mut f, NextHeader::Ipv4).unwrap();
    let (s, l) = (f.start(), f.len());
    (b, s, l)
}

/// Criterion measurement: CPU time of the measuring thread, in ns.
struct ThreadCpu;

struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "ns (cpu)"
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        _t: &Throughput,
        _values: &mut [f64],
    ) -> &'static str {
        "ns (cpu)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for ThreadCpu {
    type Intermediate = cpu_time::ThreadTime;
    type Value = Duration;
    fn start(&self) -> Self::Intermediate {
        cpu_time::ThreadTime::now()
    }
    fn end(&self, i: Self::Intermediate) -> Self::Value {
        i.elapsed()
    }
    fn add(&self, a: &Self::Value, b: &Self::Value) -> Self::Value {
        *a + *b
    }
    fn zero(&self) -> Self::Value {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Self::Value) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

fn bench_backend<E: AeadEngine>(c: &mut Criterion<ThreadCpu>) {
    let name = E::NAME;
    let mut workloads: Vec<(String, Vec<usize>)> =
        SIZES.iter().map(|s| (s.to_string(), vec![*s])).collect();
    workloads.push(("imix".to_string(), IMIX.to_vec()));
    for (label, sizes) in &workloads {
        let mut g = c.benchmark_group(format!("{name}/{label}"));
        g.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(30);
        let engine = E::new(&[0x42; 16]).unwrap();
        let nonce = [7u8; 12];
        let aad = [1u8; 12];

        // The raw seals run on the inner packets where `encap` finds them
        // (same buffers, same offset): the engine's speed depends on the
        // data's alignment (here up to 7% between offsets 0 and 32 mod
        // 64), which must not tilt the ratio either way.
        let mut bufs: Vec<Vec<u8>> = sizes.iter().map(|s| inner(*s)).collect();
        g.bench_function("seal", |b| {
            b.iter(|| {
                for (buf, s) in bufs.iter_mut().zip(sizes.iter()) {
                    engine.seal(black_box(&nonce), &aad, &mut buf[HEAD..HEAD + s + 16]);
                }
            })
        });
        g.bench_function("open", |b| {
            b.iter_batched(
                || {
                    sizes
                        .iter()
                        .map(|s| {
                            let mut v = vec![0u8; s + 16];
                            engine.seal(&nonce, &aad, &mut v);
                            v
                        })
                        .collect::<Vec<_>>()
                },
                |mut v| {
                    for buf in v.iter_mut() {
                        engine.open(&nonce, &aad, buf).unwrap();
                    }
                    v
                },
                BatchSize::SmallInput,
            )
        });

        let mut sa = outbound::<E>();
        let mut ibufs: Vec<Vec<u8>> = sizes.iter().map(|s| inner(*s)).collect();
        g.bench_function("encap", |b| {
            b.iter(|| {
                for (buf, s) in ibufs.iter_mut().zip(sizes.iter()) {
                    let mut f = Frame::new(buf, HEAD, *s).unwrap();
                    sa.encap(&mut f, NextHeader::Ipv4).unwrap();
                }
            })
        });

        let mut src = outbound::<E>();
        let mut inb = InboundSa::<E>::new(SaParams::new(SPI), &keys()).unwrap();
        g.bench_function("decap", |b| {
            b.iter_batched(
                || {
                    sizes
                        .iter()
                        .map(|s| encapsulated(&mut src, *s))
                        .collect::<Vec<_>>()
                },
                |mut v| {
                    for (buf, start, len) in v.iter_mut() {
                        let mut f = Frame::new(buf, *start, *len).unwrap();
                        // ESP starts after outer IPv4 (20) + UDP (8).
                        inb.decap_at(&mut f, 28).unwrap();
                    }
                    v
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

/// Sizes of the burst comparison.
const BURST_SIZES: &[usize] = &[64, 1400];

fn bench_burst<E: AeadEngine>(c: &mut Criterion<ThreadCpu>) {
    let name = E::NAME;
    for &size in BURST_SIZES {
        let mut g = c.benchmark_group(format!("{name}/burst{size}"));
        g.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(30);
        let mut ctx = E::new_burst();

        let mut sa = outbound::<E>();
        let mut bufs: Vec<Vec<u8>> = (0..MAX_BURST).map(|_| inner(size)).collect();
        // Raw seals of the same 64 inner packets in their buffers (plus
        // tag), one call each: the baseline of `encap_1x64`.
        let engine = E::new(&[0x42; 16]).unwrap();
        let seal_len = size + 16;
        let (nonce, aad) = ([7u8; 12], [1u8; 12]);
        g.bench_function("seal_1x64", |b| {
            b.iter(|| {
                for buf in bufs.iter_mut() {
                    engine.seal(black_box(&nonce), &aad, &mut buf[HEAD..HEAD + seal_len]);
                }
            })
        });
        g.bench_function("encap_1x64", |b| {
            b.iter(|| {
                for buf in bufs.iter_mut() {
                    let mut f = Frame::new(buf, HEAD, size).unwrap();
                    sa.encap(&mut f, NextHeader::Ipv4).unwrap();
                }
            })
        });
        // NotEsp: "not run" (filtered out); checked below when it ran.
        let mut results: Vec<Result<(), DropReason>> = vec![Err(DropReason::NotEsp); MAX_BURST];
        g.bench_function("encap_burst64", |b| {
            b.iter(|| {
                let mut frames: Vec<Frame<'_>> = bufs
                    .iter_mut()
                    .map(|buf| Frame::new(buf, HEAD, size).unwrap())
                    .collect();
                sa.encap_burst(&mut frames, NextHeader::Ipv4, &mut ctx, &mut results);
                black_box(&results);
            })
        });
        let ran = |r: &[Result<(), DropReason>]| r.iter().any(|x| *x != Err(DropReason::NotEsp));
        assert!(!ran(&results) || results.iter().all(|r| r.is_ok()));

        let mut src = outbound::<E>();
        let mut set = InboundSet::<E>::default();
        set.insert(InboundSa::new(SaParams::new(SPI), &keys()).unwrap());
        let mut burst = || {
            (0..MAX_BURST)
                .map(|_| encapsulated(&mut src, size))
                .collect::<Vec<_>>()
        };
        g.bench_function("decap_1x64", |b| {
            b.iter_batched(
                &mut burst,
                |mut v| {
                    for (buf, start, len) in v.iter_mut() {
                        let mut f = Frame::new(buf, *start, *len).unwrap();
                        set.decap(&mut f).unwrap();
                    }
                    v
                },
                BatchSize::SmallInput,
            )
        });
        let mut dres: Vec<Result<Received, DropReason>> = vec![Err(DropReason::NotEsp); MAX_BURST];
        g.bench_function("decap_burst64", |b| {
            b.iter_batched(
                &mut burst,
                |mut v| {
                    let mut frames: Vec<Frame<'_>> = v
                        .iter_mut()
                        .map(|(buf, start, len)| Frame::new(buf, *start, *len).unwrap())
                        .collect();
                    set.decap_burst(&mut frames, &mut ctx, &mut dres);
                    drop(frames);
                    v
                },
                BatchSize::SmallInput,
            )
        });
        let ran = dres.iter().any(|x| *x != Err(DropReason::NotEsp));
        assert!(!ran || dres.iter().all(|r| matches!(r, Ok(Received::Inner { .. }))));
        g.finish();
    }
}

fn print_burst_table(backends: &[&str]) {
    println!("\nper packet, median of 64-packet iterations over 64 buffers; seal/enc = raw seal ns / encap ns, one call each; ratio = per-packet ns / burst ns (>1: burst faster)");
    println!(
        "{:<12} {:>5} | {:>9} {:>9} {:>9} {:>6} {:>9} {:>8} | {:>9} {:>9} {:>6}",
        "backend",
        "size",
        "seal/enc",
        "encap ns",
        "burst ns",
        "ratio",
        "burst Mpps",
        "Gbps",
        "decap ns",
        "burst ns",
        "ratio"
    );
    for b in backends {
        for size in BURST_SIZES {
            let g = format!("{b}/burst{size}");
            let get = |f| median_ns(&g, f).map(|x| x / MAX_BURST as f64);
            let (Some(e1), Some(eb), Some(d1), Some(db)) = (
                get("encap_1x64"),
                get("encap_burst64"),
                get("decap_1x64"),
                get("decap_burst64"),
            ) else {
                println!(
                    "{b:<12} {size:>5} | (no criterion results: was this group filtered out?)"
                );
                continue;
            };
            // The raw seals of the same 64 buffers (64 B lines of the
            // working set as encap's), for the ESP ratio over many buffers.
            let seal = get("seal_1x64").map_or("-".to_string(), |s| format!("{:.2}", s / e1));
            println!(
                "{:<12} {:>5} | {:>9} {:>9.1} {:>9.1} {:>6.2} {:>9.2} {:>8.1} | {:>9.1} {:>9.1} {:>6.2}",
                b,
                size,
                seal,
                e1,
                eb,
                e1 / eb,
                1000.0 / eb,
                *size as f64 * 8.0 / eb,
                d1,
                db,
                d1 / db
            );
        }
    }
}

fn criterion_dir() -> std::path::PathBuf {
    if let Some(h) = std::env::var_os("CRITERION_HOME") {
        return h.into();
    }
    // Criterion writes under the workspace's target dir, while cargo runs
    // a bench from its package dir (crypto/): find the workspace one.
    let t = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    t.join("criterion")
}

/// Median point estimate (ns) criterion stored for `group/func`.
fn median_ns(group: &str, func: &str) -> Option<f64> {
    let p = criterion_dir()
        .join(group.replace('/', "_"))
        .join(func)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(p).ok()?;
    let m = text.find("\"median\"")?;
    let rest = &text[m..];
    let pe = rest.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    let end = rest[pe..].find([',', '}'])?;
    rest[pe..pe + end].trim().parse().ok()
}

fn cpu_mhz() -> f64 {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("cpu MHz"))
                .and_then(|l| l.split(':').nth(1)?.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

fn print_table(backends: &[&str]) {
    let mhz = cpu_mhz();
    println!("\nper packet, median; cycles at {mhz:.0} MHz; ratio = raw AEAD / ESP (1.0 = no ESP overhead)");
    println!(
        "{:<12} {:>5} | {:>8} {:>8} {:>7} {:>6} | {:>8} {:>8} {:>7} {:>6} | {:>7} {:>7}",
        "backend",
        "size",
        "seal ns",
        "encap ns",
        "enc cyc",
        "ratio",
        "open ns",
        "decap ns",
        "dec cyc",
        "ratio",
        "enc Mpps",
        "enc Gbps"
    );
    for b in backends {
        for label in ["64", "512", "1400", "imix"] {
            let n = if label == "imix" {
                IMIX.len() as f64
            } else {
                1.0
            };
            let bytes: f64 = if label == "imix" {
                IMIX.iter().sum::<usize>() as f64 / n
            } else {
                label.parse::<f64>().unwrap()
            };
            let g = format!("{b}/{label}");
            let get = |f| median_ns(&g, f).map(|x| x / n);
            let (Some(seal), Some(encap), Some(open), Some(decap)) =
                (get("seal"), get("encap"), get("open"), get("decap"))
            else {
                println!(
                    "{b:<12} {label:>5} | (no criterion results: was this group filtered out?)"
                );
                continue;
            };
            println!(
                "{:<12} {:>5} | {:>8.1} {:>8.1} {:>7.0} {:>6.2} | {:>8.1} {:>8.1} {:>7.0} {:>6.2} | {:>7.2} {:>7.1}",
                b,
                label,
                seal,
                encap,
                encap * mhz / 1000.0,
                seal / encap,
                open,
                decap,
                decap * mhz / 1000.0,
                open / decap,
                1000.0 / encap,
                bytes * 8.0 / encap
            );
        }
    }
}

/// Rounds and packets per round of [`paired`].
const PAIRED_ROUNDS: usize = 1000;
const PAIRED_BATCH: usize = 100;

/// Raw seal and ESP encap of one inner size on the same buffer, in
/// alternating rounds of [`PAIRED_BATCH`] packets, so both see the same
/// machine at the same moments; the fastest round of each is its
/// undisturbed cost (other load on this shared machine only adds time,
/// and criterion's medians of separate 2-second runs catch different
/// noise). Returns (seal ns, encap ns) per packet.
fn paired<E: AeadEngine>(size: usize) -> (f64, f64) {
    let engine = E::new(&[0x42; 16]).unwrap();
    let mut sa = outbound::<E>();
    let mut buf = inner(size);
    let (nonce, aad) = ([7u8; 12], [1u8; 12]);
    let per_packet = |t: cpu_time::ThreadTime| t.elapsed().as_nanos() as f64 / PAIRED_BATCH as f64;
    let (mut seal, mut encap) = (f64::MAX, f64::MAX);
    for _ in 0..PAIRED_ROUNDS {
        let t = cpu_time::ThreadTime::now();
        for _ in 0..PAIRED_BATCH {
            engine.seal(black_box(&nonce), &aad, &mut buf[HEAD..HEAD + size + 16]);
        }
        seal = seal.min(per_packet(t));
        let t = cpu_time::ThreadTime::now();
        for _ in 0..PAIRED_BATCH {
            let mut f = Frame::new(&mut buf, HEAD, size).unwrap();
            sa.encap(&mut f, NextHeader::Ipv4).unwrap();
        }
        encap = encap.min(per_packet(t));
    }
    (seal, encap)
}

fn print_paired(rows: &[(&str, usize, (f64, f64))]) {
    println!(
        "\nfastest of {PAIRED_ROUNDS} alternating rounds of {PAIRED_BATCH} packets, same buffer; ratio = seal / encap"
    );
    println!(
        "{:<12} {:>5} | {:>8} {:>8} {:>6}",
        "backend", "size", "seal ns", "encap ns", "ratio"
    );
    for (b, size, (seal, encap)) in rows {
        println!(
            "{b:<12} {size:>5} | {seal:>8.1} {encap:>8.1} {:>6.2}",
            seal / encap
        );
    }
}

fn main() {
    let mut c = Criterion::default()
        .with_measurement(ThreadCpu)
        .configure_from_args();
    let mut backends = Vec::new();
    let mut paired_rows = Vec::new();
    #[cfg(feature = "aws-lc")]
    {
        bench_backend::<sdwan_crypto::aead::AwsLcGcm>(&mut c);
        bench_burst::<sdwan_crypto::aead::AwsLcGcm>(&mut c);
        backends.push(sdwan_crypto::aead::AwsLcGcm::NAME);
        for size in BURST_SIZES {
            let r = paired::<sdwan_crypto::aead::AwsLcGcm>(*size);
            paired_rows.push((sdwan_crypto::aead::AwsLcGcm::NAME, *size, r));
        }
    }
    #[cfg(feature = "rustcrypto")]
    {
        bench_backend::<sdwan_crypto::aead::RustCryptoGcm>(&mut c);
        bench_burst::<sdwan_crypto::aead::RustCryptoGcm>(&mut c);
        backends.push(sdwan_crypto::aead::RustCryptoGcm::NAME);
        for size in BURST_SIZES {
            let r = paired::<sdwan_crypto::aead::RustCryptoGcm>(*size);
            paired_rows.push((sdwan_crypto::aead::RustCryptoGcm::NAME, *size, r));
        }
    }
    #[cfg(feature = "ipsec-mb")]
    {
        bench_backend::<sdwan_crypto::aead::IpsecMbGcm>(&mut c);
        bench_burst::<sdwan_crypto::aead::IpsecMbGcm>(&mut c);
        backends.push(sdwan_crypto::aead::IpsecMbGcm::NAME);
        for size in BURST_SIZES {
            let r = paired::<sdwan_crypto::aead::IpsecMbGcm>(*size);
            paired_rows.push((sdwan_crypto::aead::IpsecMbGcm::NAME, *size, r));
        }
    }
    c.final_summary();
    print_table(&backends);
    print_burst_table(&backends);
    print_paired(&paired_rows);
}
