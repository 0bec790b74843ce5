//! cargo fuzz run attributes: path attribute list decoder with RFC 7606 verdicts
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_bgp::wire::*;

fuzz_target!(|data: &[u8]| {
    let ctx = DecodeCtx { four_octet_as: data.first().is_some_and(|b| b & 1 == 1), ..Default::default() };
    let _ = sdwan_bgp::wire::attr_decode::decode_attributes(data, 23, &ctx);
});
