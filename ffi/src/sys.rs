//! Raw bindgen output over DPDK 22.11 plus the shim (see build.rs).
#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    clippy::all,
    clippy::pedantic
)]
include!(concat!(env!("OUT_DIR"), "/dpdk_bindings.rs"));
