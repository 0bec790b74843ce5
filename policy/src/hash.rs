//! The one hash the fixed tables of this crate use (flow table, NAT
//! indexes, rate-limiter buckets): 64-bit multiply-fold mixing (the
//! wyhash/foldhash construction) with a per-table seed, so that a remote
//! sender cannot aim many keys at one bucket without knowing the seed.
//! Not cryptographic; no allocation.

use crate::flow_key::{Family, FlowKey};

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;

/// 128-bit product of `a` and `b`, high half XOR low half.
#[inline]
pub fn fold_mul(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    // High and low halves; the casts keep exactly 64 bits each.
    (full as u64) ^ ((full >> 64) as u64)
}

/// Hashes a sequence of 64-bit words.
#[inline]
pub fn hash_words(seed: u64, words: &[u64]) -> u64 {
    let mut h = seed ^ P0;
    for w in words {
        h = fold_mul(h ^ *w, P1);
    }
    fold_mul(h, P0 ^ words.len() as u64)
}

/// Hash of every field of a flow key.
#[inline]
pub fn hash_flow(seed: u64, k: &FlowKey) -> u64 {
    let fam = match k.family {
        Family::V4 => 0u64,
        Family::V6 => 1,
    };
    let small = u64::from(k.src_port)
        | u64::from(k.dst_port) << 16
        | u64::from(k.protocol) << 32
        | u64::from(k.dscp) << 40
        | fam << 48;
    let label = u64::from(k.flow_label.map_or(u32::MAX, |l| l)) | u64::from(k.vrf) << 32;
    // Split each u128 address into its two halves (truncating casts).
    hash_words(
        seed,
        &[
            k.src as u64,
            (k.src >> 64) as u64,
            k.dst as u64,
            (k.dst >> 64) as u64,
            small,
            label,
        ],
    )
}

/// A seed from the address of a stack variable and the clock: differs per
/// process and per table without a random-number dependency. Tables take
/// an explicit seed too, for reproducible tests.
pub fn runtime_seed() -> u64 {
    let local = 0u8;
    let addr = &local as *const u8 as u64;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    fold_mul(addr ^ P1, nanos ^ P0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_field_changes_the_hash() {
        let k = FlowKey::v4(
            1,
            [10, 0, 0, 1].into(),
            [10, 0, 0, 2].into(),
            6,
            100,
            200,
            0,
        );
        let base = hash_flow(7, &k);
        let variants = [
            FlowKey {
                src: k.src ^ 1,
                ..k
            },
            FlowKey {
                dst: k.dst ^ 1,
                ..k
            },
            FlowKey { vrf: 2, ..k },
            FlowKey { src_port: 101, ..k },
            FlowKey { dst_port: 201, ..k },
            FlowKey { protocol: 17, ..k },
            FlowKey { dscp: 1, ..k },
            FlowKey {
                flow_label: Some(0),
                ..k
            },
            FlowKey {
                family: Family::V6,
                ..k
            },
        ];
        let mut seen = HashSet::new();
        seen.insert(base);
        for v in variants {
            assert!(seen.insert(hash_flow(7, &v)), "{v:?}");
        }
        assert_ne!(hash_flow(8, &k), base);
    }

    #[test]
    fn low_bits_spread_over_sequential_ports() {
        // 4096 flows differing only in source port fill 1024 buckets evenly.
        let mut buckets = vec![0u32; 1024];
        for p in 0..4096u16 {
            let k = FlowKey::v4(0, [10, 0, 0, 1].into(), [1, 1, 1, 1].into(), 17, p, 53, 0);
            buckets[(hash_flow(3, &k) & 1023) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|b| *b <= 16),
            "max {:?}",
            buckets.iter().max()
        );
    }
}
