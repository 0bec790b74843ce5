//! cargo fuzz run open: OPEN body and capabilities
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_bgp::wire::*;

fuzz_target!(|data: &[u8]| {
    let _ = Open::decode(data, 19);
});
