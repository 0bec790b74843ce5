//! cargo fuzz run sdwan_subtlvs: the typed SD-WAN sub-TLV values (65, 67,
//! 68, 69, 70). The first byte picks the decoder; the decoders are strict,
//! so whatever decodes must re-encode to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_bgp::wire::sdwan_subtlv::*;

fuzz_target!(|data: &[u8]| {
    let Some((pick, v)) = data.split_first() else {
        return;
    };
    let mut out = Vec::new();
    let ok = match pick % 5 {
        0 => ExtendedPort::decode(v).map(|x| x.encode(&mut out)).is_ok(),
        1 => SaNonce::decode(v).map(|x| x.encode(&mut out)).is_ok(),
        2 => PublicKey::decode(v).map(|x| x.encode(&mut out)).is_ok(),
        3 => SaProposal::decode(v).map(|x| x.encode(&mut out)).is_ok(),
        _ => SimplifiedSa::decode(v).map(|x| x.encode(&mut out)).is_ok(),
    };
    if ok {
        assert_eq!(out, v);
    }
});
