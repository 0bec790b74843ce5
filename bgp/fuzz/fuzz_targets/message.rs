//! cargo fuzz run message: whole messages, with and without ADD-PATH / 2-byte AS
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_bgp::wire::*;

fuzz_target!(|data: &[u8]| {
    for ctx in [
        DecodeCtx { four_octet_as: true, ..Default::default() },
        DecodeCtx { add_path_rx: Family::ALL.to_vec(), extended_message: true, ..Default::default() },
    ] {
        if let Ok(d) = decode_message(data, &ctx) {
            // Whatever decodes re-encodes to the same value (the first
            // decode already normalised partial bits and dropped what the
            // RFC says to drop).
            let four = ctx.four_octet_as;
            let bytes = d.message.encode(EncodeCtx { four_octet_as: four });
            let again = decode_message(&bytes, &ctx).expect("re-encoded message decodes");
            assert_eq!(again.message, d.message);
        }
    }
});
