//! cargo fuzz run nlri_rt_constraint: NLRI decoder of family RtConstraint
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_bgp::wire::*;

fuzz_target!(|data: &[u8]| {
    for add_path in [false, true] {
        if let Ok(list) = sdwan_bgp::wire::nlri::decode_nlri_list(data, Family::RtConstraint, add_path) {
            let mut out = Vec::new();
            for n in &list {
                sdwan_bgp::wire::nlri::encode_nlri(n, &mut out);
            }
            assert_eq!(sdwan_bgp::wire::nlri::decode_nlri_list(&out, Family::RtConstraint, add_path).ok(), Some(list));
        }
    }
});
