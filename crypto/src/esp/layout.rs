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
//! taken; [`write_trailer`] and [`write_header`] then cannot fail on a
//! frame that passed it.
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

/// Checks the inner packet, the outer size limit and the room around the
/// frame for `outer` with `headroom` bytes in front.
#[inline(always)]
pub(super) fn fit(
    outer: &OuterTemplate,
    frame: &Frame<'_>,
    nh: NextHeader,
    headroom: usize,
) -> Result<Fit, DropReason> {
    let inner_len = frame.len();
    let ip_kind = match nh {
        NextHeader::Ipv4 => Some(4),
        NextHeader::Ipv6 => Some(6),
        _ => None,
    };
    let (tos, df) = outer
        .tos_df(ip_kind, frame.data())
        .ok_or(DropReason::BadInner)?;
    // The encrypted part is a multiple of 4 bytes (RFC 4303 §2.4).
    let pad = (4 - (inner_len + TRAILER_LEN) % 4) % 4;
    let tail = pad + TRAILER_LEN + ICV_LEN;
    let esp_len = ESP_HEADER_LEN + IV_LEN + inner_len + tail;
    let udp = if outer.has_udp() { UDP_HEADER_LEN } else { 0 };
    if esp_len + udp > outer.max_payload() {
        return Err(DropReason::TooBig);
    }
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

/// Padding 1, 2, 3 ..., pad length, next header; room for the ICV.
#[inline(always)]
pub(super) fn write_trailer(
    frame: &mut Frame<'_>,
    f: &Fit,
    nh: NextHeader,
) -> Result<(), DropReason> {
    let t = frame.append(f.tail).map_err(|_| DropReason::NoRoom)?;
    for (i, b) in t[..f.pad].iter_mut().enumerate() {
        *b = i as u8 + 1;
    }
    t[f.pad] = f.pad as u8;
    t[f.pad + 1] = nh as u8;
    Ok(())
}

/// SPI, low 32 bits of the sequence number, and the explicit IV (the
/// whole 64-bit sequence number: unique under the key, RFC 4106 §3.1).
#[inline(always)]
pub(super) fn write_header(frame: &mut Frame<'_>, spi: u32, seq: u64) -> Result<(), DropReason> {
    let h = frame
        .prepend(ESP_HEADER_LEN + IV_LEN)
        .map_err(|_| DropReason::NoRoom)?;
    h[..4].copy_from_slice(&spi.to_be_bytes());
    h[4..8].copy_from_slice(&(seq as u32).to_be_bytes());
    h[8..16].copy_from_slice(&seq.to_be_bytes());
    Ok(())
}
