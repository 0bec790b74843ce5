//! The flow hash that spreads client flows over a path's tunnels: the
//! 5-tuple (addresses, protocol, and TCP/UDP/SCTP ports of unfragmented
//! packets) mixed into 32 bits. Equal tuples hash equal on every worker
//! and every run (no random seed), so a flow stays on one tunnel while the
//! path's tunnel list is unchanged, and both ends of a test can predict it.

use super::inner::Family;

const K: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline(always)]
fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(K).rotate_left(29)
}

#[inline(always)]
fn be32(d: &[u8], at: usize) -> u64 {
    match d.get(at..at + 4) {
        Some(b) => u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => 0,
    }
}

fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132)
}

/// Hash of the client packet at the start of `ip` (a validated IPv4 or
/// IPv6 header). IPv6 extension headers are not walked: such packets hash
/// on addresses and the first next header, which keeps a flow together.
#[inline]
pub fn hash(ip: &[u8], family: Family) -> u32 {
    let mut h = 0u64;
    match family {
        Family::V4 => {
            let ihl = ip.first().map_or(20, |b| usize::from(b & 0x0f) * 4);
            let proto = ip.get(9).copied().unwrap_or(0);
            let frag = ip
                .get(6..8)
                .map_or(0, |f| u16::from_be_bytes([f[0], f[1]]) & 0x3fff);
            h = mix(h, be32(ip, 12) << 32 | be32(ip, 16));
            h = mix(h, u64::from(proto));
            if has_ports(proto) && frag == 0 {
                h = mix(h, be32(ip, ihl));
            }
        }
        Family::V6 => {
            let proto = ip.get(6).copied().unwrap_or(0);
            for at in [8, 16, 24, 32] {
                h = mix(h, be32(ip, at) << 32 | be32(ip, at + 4));
            }
            h = mix(h, u64::from(proto));
            if has_ports(proto) {
                h = mix(h, be32(ip, 40));
            }
        }
    }
    (h ^ (h >> 32)) as u32
}

/// Index in `0..n` for `hash` (multiply-shift, no division); `n > 0`.
#[inline(always)]
pub fn pick(hash: u32, n: usize) -> usize {
    ((u64::from(hash) * n as u64) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(sport: u16, frag: bool) -> [u8; 24] {
        let mut p = [0u8; 24];
        p[0] = 0x45;
        p[9] = 17;
        p[12..16].copy_from_slice(&[10, 0, 0, 2]);
        p[16..20].copy_from_slice(&[10, 9, 0, 1]);
        p[20..22].copy_from_slice(&sport.to_be_bytes());
        p[22..24].copy_from_slice(&53u16.to_be_bytes());
        if frag {
            p[7] = 10;
        }
        p
    }

    #[test]
    fn ports_matter_unless_fragmented_and_picks_spread() {
        assert_eq!(
            hash(&v4(1000, false), Family::V4),
            hash(&v4(1000, false), Family::V4)
        );
        assert_ne!(
            hash(&v4(1000, false), Family::V4),
            hash(&v4(1001, false), Family::V4)
        );
        assert_eq!(
            hash(&v4(1000, true), Family::V4),
            hash(&v4(1001, true), Family::V4)
        );
        let mut seen = [0u32; 2];
        for sport in 0..200u16 {
            seen[pick(hash(&v4(sport, false), Family::V4), 2)] += 1;
        }
        assert!(seen[0] > 60 && seen[1] > 60, "{seen:?}");
        // Truncated input hashes without panicking.
        let _ = hash(&[0x45], Family::V4);
        let _ = hash(&[], Family::V6);
    }
}
