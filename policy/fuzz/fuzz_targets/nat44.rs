//! NAT44 outbound then inbound on arbitrary bytes: never panics; a packet
//! it refuses is left unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdwan_policy::nat44::{Nat44, Nat44Config, NatTimeouts};

fuzz_target!(|data: &[u8]| {
    let cfg = Nat44Config {
        public_addrs: vec![[203, 0, 113, 1].into()],
        port_lo: 1024,
        port_hi: 1100,
        max_mappings: 16,
        timeouts: NatTimeouts::default(),
        shard: 0,
        shards: 1,
        seed: 0,
    };
    let mut nat = Nat44::new(&cfg).expect("valid config");
    let mut out = data.to_vec();
    if nat.outbound(&mut out, 0).is_err() {
        assert_eq!(out, data);
    }
    let mut inb = data.to_vec();
    if nat.inbound(&mut inb, 0).is_err() {
        assert_eq!(inb, data);
    }
});
