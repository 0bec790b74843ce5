//! Builds the DPDK binding: finds DPDK with pkg-config (`libdpdk`), compiles
//! the C shim for DPDK's inline functions and runs bindgen over the headers.
//! Without the `dpdk` feature nothing is built (TCP-MD5 needs only libc).
use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=shim/shim.c");
    println!("cargo:rerun-if-changed=shim/shim.h");
    println!("cargo:rerun-if-changed=shim/wrapper.h");
    println!("cargo:rerun-if-changed=shim/ipsec_mb_shim.c");
    println!("cargo:rerun-if-changed=shim/gcm_small.c");
    if env::var_os("CARGO_FEATURE_IPSEC_MB").is_some() {
        // intel-ipsec-mb's burst API is reached through function pointers
        // in IMB_MGR: a small C loop (shim/ipsec_mb_shim.c) drives it.
        // shim/gcm_small.c: AES-GCM for short texts on VAES (its functions
        // carry their own target attributes; used only where the CPU has
        // them, see src/gcm_small.rs).
        cc::Build::new()
            .file("shim/ipsec_mb_shim.c")
            .file("shim/gcm_small.c")
            .opt_level(3)
            .compile("sdwan_ipsec_mb_shim");
        println!("cargo:rustc-link-lib=IPSec_MB");
    }
    if env::var_os("CARGO_FEATURE_DPDK").is_none() {
        return;
    }
    let dpdk = pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
        .expect("DPDK 22.11 development files (libdpdk-dev) not found by pkg-config: run scripts/setup.sh");

    // DPDK's own cflags (include paths, `-include rte_config.h`, the -march
    // the distribution built DPDK with) apply to the shim and to bindgen.
    let extra: Vec<String> = cflags_of("libdpdk");

    let mut build = cc::Build::new();
    build.file("shim/shim.c").opt_level(3).warnings(false);
    for inc in &dpdk.include_paths {
        build.include(inc);
    }
    for flag in &extra {
        build.flag(flag);
    }
    build.compile("sdwan_dpdk_shim");

    let mut clang_args: Vec<String> = dpdk
        .include_paths
        .iter()
        .map(|p| format!("-I{}", p.display()))
        .collect();
    clang_args.extend(extra.iter().cloned());

    let bindings = bindgen::Builder::default()
        .header("shim/wrapper.h")
        .clang_args(&clang_args)
        .allowlist_function("rte_eal_.*|rte_eth_.*|rte_pktmbuf_.*|rte_mempool_.*|rte_lpm_.*|rte_lpm6_.*|rte_thread_register|rte_thread_unregister|rte_strerror|rte_socket_id|rte_lcore_count|sdwan_.*")
        .allowlist_type("rte_mbuf|rte_eth_.*|rte_lpm_config|rte_lpm6_config|rte_ether_addr")
        .allowlist_var("RTE_ETH_.*|RTE_MAX_ETHPORTS|RTE_MBUF_DEFAULT_BUF_SIZE|RTE_PKTMBUF_HEADROOM|SOCKET_ID_ANY|LCORE_ID_ANY")
        .opaque_type("rte_mempool|rte_lpm|rte_lpm6|rte_eth_dev|rte_eth_dev_data")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .generate()
        .expect("bindgen over DPDK headers failed (is libclang-dev installed?)");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("dpdk_bindings.rs");
    bindings.write_to_file(out).expect("writing DPDK bindings");
}

/// The non-include cflags pkg-config reports (e.g. `-include rte_config.h`,
/// `-march=...`), kept in pairs where an option takes an argument.
fn cflags_of(lib: &str) -> Vec<String> {
    let out = std::process::Command::new("pkg-config")
        .args(["--cflags", lib])
        .output()
        .expect("running pkg-config");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut flags = Vec::new();
    let mut words = text.split_whitespace();
    while let Some(w) = words.next() {
        if w.starts_with("-I") {
            continue;
        }
        if w == "-include" {
            if let Some(arg) = words.next() {
                flags.push(w.to_string());
                flags.push(arg.to_string());
            }
            continue;
        }
        flags.push(w.to_string());
    }
    flags
}
