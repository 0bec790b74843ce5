//! The ESP packet layout both outbound SA kinds write (RFC 4303 §2,
//! RFC 4106 §3 for the IV):
//!
//! ```text
//! 0                   1                   2                   3
//! 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               Security Parameters Index (SPI)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Sequence Number (low 32 bits)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            Explicit IV (8 bytes) = the 64-bit sequence        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                 inner packet (encrypted in place)             ~
//! +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               | Padding 1, 2, 3 (0-3) | Pad Length | Next Hdr |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 ICV (16 bytes, AES-GCM tag)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`fit`] does every check that can fail before a sequence number is
//! taken; [`wrap`] then cannot fail on a frame that passed it.
use super::{NextHeader, ESP_HEADER_LEN, ICV_LEN, IV_LEN, TRAILER_LEN};
use crate::outer::{OuterTemplate, UDP_HEADER_LEN};
use crate::DropReason;
use sdwan_packet::Frame;

/// What [`fit`] found: padding, trailer + ICV length, and the outer
/// TOS / DF the policy takes from the inner header.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fit {
    pub pad: usize,
    pub tail: usize,
    pub tos: u8,
    pub df: bool,
    pub inner_len: usize,
}

/// Checks the inner packet, the outer size limit (`max_inner`, from
/// [`max_inner`] of `outer`) and the room around the frame: `outer`, the
/// ESP header and the IV in front, padding, trailer and ICV behind.
#[inline(always)]
pub(super) fn fit(
    outer: &OuterTemplate,
    max_inner: usize,
    frame: &Frame<'_>,
    nh: NextHeader,
) -> Result<Fit, DropReason> {
    let headroom = headroom(outer);
    let inner_len = frame.len();
    let ip_kind = match nh {
        NextHeader::Ipv4 => Some(4),
        NextHeader::Ipv6 => Some(6),
        _ => None,
    };
    let (tos, df) = outer
        .tos_df(ip_kind, frame.data())
        .ok_or(DropReason::BadInner)?;
    if inner_len > max_inner {
        return Err(DropReason::TooBig);
    }
    // The encrypted part is a multiple of 4 bytes (RFC 4303 §2.4).
    let pad = (4 - (inner_len + TRAILER_LEN) % 4) % 4;
    let tail = pad + TRAILER_LEN + ICV_LEN;
    if frame.headroom() < headroom || frame.tailroom() < tail {
        return Err(DropReason::NoRoom);
    }
    Ok(Fit {
        pad,
        tail,
        tos,
        df,
        inner_len,
    })
}

/// Bytes in front of the inner packet: the outer headers, the ESP header
/// and the IV.
#[inline(always)]
pub(super) fn headroom(outer: &OuterTemplate) -> usize {
    outer.len() + ESP_HEADER_LEN + IV_LEN
}

/// The longest inner packet whose ESP packet (header, IV, padding to 4
/// bytes, trailer, ICV) and UDP header fit the outer header's payload
/// limit: `16 + round_up4(inner + 2) + 16 + udp <= max`. SAs compute it
/// once (as a per-packet sum it cost ~10 instructions).
pub(super) fn max_inner(outer: &OuterTemplate) -> usize {
    let udp = if outer.has_udp() { UDP_HEADER_LEN } else { 0 };
    let room = outer.max_payload() - udp - (ESP_HEADER_LEN + IV_LEN + ICV_LEN);
    (room & !3) - TRAILER_LEN
}

/// Grows `frame` around the inner packet in one step, `front` bytes before
/// it (outer headers, then the ESP header and IV in its last 16 bytes) and
/// `f.tail` after it (padding, trailer, ICV room), and writes the ESP
/// header, IV and trailer. The outer headers are left to the caller
/// (after the seal: the IPv6 UDP checksum covers the ciphertext). Cannot
/// fail on a frame [`fit`] passed with `front` as its headroom.
#[inline(always)]
pub(super) fn wrap(
    frame: &mut Frame<'_>,
    front: usize,
    f: &Fit,
    nh: NextHeader,
    spi: u32,
    seq: u64,
) -> Result<(), DropReason> {
    let (h, t) = frame
        .grow_around::<{ ESP_HEADER_LEN + IV_LEN }, 8>(front, f.tail)
        .map_err(|_| DropReason::NoRoom)?;
    // SPI, low 32 bits of the sequence number, and the explicit IV (the
    // whole 64-bit sequence number: unique under the key, RFC 4106 §3.1).
    let mut header = [0u8; ESP_HEADER_LEN + IV_LEN];
    header[..4].copy_from_slice(&spi.to_be_bytes());
    header[4..8].copy_from_slice(&(seq as u32).to_be_bytes());
    header[8..].copy_from_slice(&seq.to_be_bytes());
    *h = header;
    // Padding 1, 2, 3 ... (RFC 4303 §2.4 default), pad length, next
    // header: at most 5 bytes, followed by the 16 bytes of ICV room, so
    // they go out as one little-endian 8-byte store whose surplus bytes
    // land in the ICV room, which the seal overwrites (a byte loop here
    // cost ~20 instructions per packet).
    const PADDING: [u64; 4] = [0, 0x01, 0x0201, 0x03_0201];
    let pad = f.pad & 3;
    let word = PADDING[pad] | (pad as u64) << (8 * pad) | (nh as u64) << (8 * (pad + 1));
    *t = word.to_le_bytes();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outer::{DfPolicy, DscpPolicy, NattPorts};
    use std::net::IpAddr;

    #[test]
    fn max_inner_is_the_last_length_whose_esp_packet_fits() {
        let v4: [IpAddr; 2] = ["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()];
        let v6: [IpAddr; 2] = [
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        ];
        let natt = NattPorts {
            src: 4500,
            dst: 4500,
        };
        for [src, dst] in [v4, v6] {
            for udp in [None, Some(natt)] {
                let t = OuterTemplate::new(src, dst, udp, 64, DscpPolicy::Copy, DfPolicy::Copy, 1)
                    .unwrap();
                let udp_len = if udp.is_some() { UDP_HEADER_LEN } else { 0 };
                let fits = |inner: usize| {
                    let pad = (4 - (inner + TRAILER_LEN) % 4) % 4;
                    ESP_HEADER_LEN + IV_LEN + inner + pad + TRAILER_LEN + ICV_LEN + udp_len
                        <= t.max_payload()
                };
                let m = max_inner(&t);
                assert!(fits(m), "{src} {udp:?}");
                assert!((m + 1..m + 8).all(|n| !fits(n)), "{src} {udp:?}");
            }
        }
    }
}
