//! The Internet checksum (RFC 1071), the pseudo headers TCP/UDP/ICMPv6 sum
//! over (RFC 768, RFC 793, RFC 8200 §8.1) and incremental update (RFC 1624).
//!
//! Sums are carried as a u32 of 16-bit one's-complement words and folded at
//! the end, so partial sums over several slices combine by addition.

use std::net::{Ipv4Addr, Ipv6Addr};

/// One's-complement sum of `data` as big-endian 16-bit words (an odd last
/// byte is padded with zero), not yet folded or inverted. Summed four
/// bytes at a time: a 32-bit word `hi·2^16 + lo` is congruent to `hi + lo`
/// modulo 0xffff, so the folded result is the 16-bit words' sum (RFC 1071
/// §2 (B): any word size works); the unfolded value may differ.
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let mut pairs = words.remainder().chunks_exact(2);
    for c in &mut pairs {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    fold64(acc)
}

/// [`sum`] of a fixed 20-byte block (an IPv4 header without options) in
/// the machine's byte order: equal to `sum` after folding on a big-endian
/// machine and byte-swapped after folding on a little-endian one (RFC 1071
/// §2 (B)). For verification only: `fold(sum_native(h)) == 0xffff` exactly
/// when `fold(sum(h)) == 0xffff`.
#[inline(always)]
pub fn sum_native(data: &[u8; 20]) -> u32 {
    let mut acc: u64 = 0;
    for w in data.chunks_exact(4) {
        acc += u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    }
    fold64(acc)
}

/// End-around carry from 64 to 32 bits: two rounds always suffice (the
/// first leaves at most 0x1_ffff_fffe).
#[inline]
fn fold64(acc: u64) -> u32 {
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc as u32
}

/// Adds two partial sums.
#[inline]
pub fn combine(a: u32, b: u32) -> u32 {
    fold64(u64::from(a) + u64::from(b))
}

/// Folds a partial sum to 16 bits (end-around carry): two rounds always
/// suffice (the first leaves at most 0x1fffe).
#[inline]
pub fn fold(s: u32) -> u16 {
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// The checksum field value for data whose partial sum is `s`.
#[inline]
pub fn finish(s: u32) -> u16 {
    !fold(s)
}

/// Checksum of `data` (the checksum field inside must be zero when
/// computing; when verifying, a correct buffer gives 0).
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(data))
}

/// IPv4 pseudo header (RFC 768/793): src, dst, zero, protocol, length.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u32 {
    let mut s = sum(&src.octets());
    s = combine(s, sum(&dst.octets()));
    combine(s, u32::from(protocol) + u32::from(length))
}

/// IPv6 pseudo header (RFC 8200 §8.1): src, dst, 32-bit upper-layer length,
/// three zero bytes, next header.
#[inline]
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u32 {
    let mut s = sum(&src.octets());
    s = combine(s, sum(&dst.octets()));
    s = combine(s, (length >> 16) + (length & 0xffff));
    combine(s, u32::from(next_header))
}

/// RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered
/// data changes from `old` to `new`: HC' = ~(~HC + ~m + m').
#[inline]
pub fn update16(checksum: u16, old: u16, new: u16) -> u16 {
    let s = u32::from(!checksum) + u32::from(!old) + u32::from(new);
    !fold(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&d)), 0xddf2);
        assert_eq!(checksum(&d), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    proptest! {
        /// The native-order sum is the big-endian one byte-swapped after
        /// folding, so both verify the same headers.
        #[test]
        fn native_sum_verifies_like_the_big_endian_sum(mut h in any::<[u8; 20]>(), fix in any::<bool>()) {
            if fix {
                h[10] = 0;
                h[11] = 0;
                let c = checksum(&h);
                h[10..12].copy_from_slice(&c.to_be_bytes());
            }
            let (be, ne) = (fold(sum(&h)), fold(sum_native(&h)));
            let expect = if cfg!(target_endian = "little") { be.swap_bytes() } else { be };
            prop_assert_eq!(ne, expect);
            prop_assert_eq!(be == 0xffff, ne == 0xffff);
            if fix {
                prop_assert_eq!(ne, 0xffff);
            }
        }

        #[test]
        fn incremental_equals_recomputed(mut data in proptest::collection::vec(any::<u8>(), 4..64),
                                         word in 0usize..32, new in any::<u16>()) {
            if data.len() % 2 == 1 { data.pop(); }
            let idx = (word * 2) % (data.len() - 2);
            // Checksum field lives in the last word.
            let n = data.len();
            data[n - 2] = 0; data[n - 1] = 0;
            let c = checksum(&data);
            data[n - 2..].copy_from_slice(&c.to_be_bytes());
            let old = u16::from_be_bytes([data[idx], data[idx + 1]]);
            data[idx..idx + 2].copy_from_slice(&new.to_be_bytes());
            let updated = update16(c, old, new);
            data[n - 2..].copy_from_slice(&updated.to_be_bytes());
            // The buffer still verifies (sum folds to 0xffff, i.e. -0).
            prop_assert_eq!(fold(sum(&data)), 0xffff);
        }

        #[test]
        fn word_sums_fold_like_the_16_bit_definition(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            // RFC 1071 §1 literally: 16-bit big-endian words, odd byte
            // padded, end-around carry after each addition.
            let mut r: u32 = 0;
            for c in data.chunks(2) {
                r += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
                r = (r & 0xffff) + (r >> 16);
            }
            prop_assert_eq!(fold(sum(&data)), r as u16);
        }

        #[test]
        fn split_sums_combine(data in proptest::collection::vec(any::<u8>(), 0..100), cut in 0usize..50) {
            let cut = (cut * 2).min(data.len() & !1);
            prop_assert_eq!(fold(combine(sum(&data[..cut]), sum(&data[cut..]))), fold(sum(&data)));
        }
    }
}
