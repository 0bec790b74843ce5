//! ESP tunnel mode (RFC 4303) with AES-GCM (RFC 4106), in place on a
//! [`Frame`](sdwan_packet::Frame).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               Security Parameters Index (SPI)                 |  ^ AAD
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  | (+ ESN
//! |                 Sequence Number (low 32 bits)                 |  v  high)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Explicit IV (8 bytes, RFC 4106 §3.1)          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ^
//! |          Inner packet (IPv4, IPv6, GRE, MPLS, Ethernet)  ...  | | encrypted
//! +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |
//! |               |   Padding 1, 2, 3 ... (0-3 bytes)             | |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |
//! |                               |  Pad Length   | Next Header   | v
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 ICV (16-byte GCM tag)                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Nonce = 4-byte salt ‖ 8-byte explicit IV. The explicit IV is the full
//! 64-bit sequence number, which never repeats under a key because the
//! sequence number never wraps (overflow means rekey, see
//! [`DropReason::SeqExhausted`](crate::DropReason::SeqExhausted)).

mod inbound;
mod keys;
mod layout;
mod outbound;
mod sa_table;
mod shared;

pub use inbound::{InboundError, InboundSa, InboundSet, Received};
pub use keys::{BadKeyMaterial, Cipher, KeyMaterial};
pub use outbound::{OutboundError, OutboundSa, OuterConfig};
pub use sa_table::SpiHasher;
pub use shared::SharedOutboundSa;

use crate::lifetime::Lifetime;

/// SPI + sequence number.
pub const ESP_HEADER_LEN: usize = 8;
/// RFC 4106 explicit IV.
pub const IV_LEN: usize = 8;
/// Pad Length + Next Header.
pub const TRAILER_LEN: usize = 2;
/// AES-GCM ICV.
pub const ICV_LEN: usize = crate::aead::TAG_LEN;
/// Bytes ESP adds besides padding: header, IV, trailer, ICV.
pub const ESP_OVERHEAD: usize = ESP_HEADER_LEN + IV_LEN + TRAILER_LEN + ICV_LEN;
/// SPIs 1-255 are reserved by IANA and 0 is never sent (RFC 4303 §2.1).
pub const MIN_SPI: u32 = 256;

/// What an ESP tunnel carries (the Next Header field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum NextHeader {
    Ipv4 = 4,
    Ipv6 = 41,
    Gre = 47,
    Mpls = 137,
    Ethernet = 143,
}

impl NextHeader {
    /// Protocol number 59: a dummy (TFC) packet (RFC 4303 §2.6).
    pub const NO_NEXT_HEADER: u8 = 59;

    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            4 => Self::Ipv4,
            41 => Self::Ipv6,
            47 => Self::Gre,
            137 => Self::Mpls,
            143 => Self::Ethernet,
            _ => return None,
        })
    }
}

/// Per-SA configuration shared by both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaParams {
    pub spi: u32,
    /// Extended (64-bit) sequence numbers (RFC 4303 §2.2.1).
    pub esn: bool,
    /// Anti-replay window in packets (inbound only), 64..=4096.
    pub replay_window: u32,
    pub lifetime: Lifetime,
}

impl SaParams {
    pub fn new(spi: u32) -> Self {
        Self {
            spi,
            esn: true,
            replay_window: 1024,
            lifetime: Lifetime::default(),
        }
    }
}

/// Plain per-SA traffic counters, owned by the worker that owns the SA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaCounters {
    pub packets: u64,
    /// Inner (plaintext) bytes.
    pub bytes: u64,
    pub drops: crate::DropCounters,
}

/// The GCM nonce of an ESP packet: salt ‖ explicit IV (RFC 4106 §4).
#[inline]
pub fn nonce(salt: [u8; 4], iv: [u8; IV_LEN]) -> [u8; crate::aead::NONCE_LEN] {
    let mut n = [0u8; crate::aead::NONCE_LEN];
    n[..4].copy_from_slice(&salt);
    n[4..].copy_from_slice(&iv);
    n
}

/// The GCM nonce and ESP AAD of one sequence number, built ahead of time.
/// Why ahead: intel-ipsec-mb reads the IV and AAD with wide vector
/// loads, which cannot take data from the several smaller stores that
/// built them while those are still in flight; building them right
/// before the engine call made every packet wait for its own stores
/// (~16 ns at 64 B here, measured with `examples/esp_loop.rs`). The
/// receive side, which cannot build ahead, re-stores them in one piece
/// instead (`sdwan_ffi::ipsec_mb::GcmKey::open`).
/// An SA builds the next packet's values after sending one, so they are
/// long in the cache when the engine reads them.
///
/// 32 bytes, 32-aligned: nonce and AAD never straddle a cache line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(32))]
pub(crate) struct PreparedIv {
    pub nonce: [u8; crate::aead::NONCE_LEN],
    /// SPI ‖ sequence number; [`aad_len`] bytes of it are the AAD.
    pub aad: [u8; 12],
    pub seq: u64,
}

impl PreparedIv {
    #[inline]
    pub fn new(salt: [u8; 4], spi: u32, esn: bool, seq: u64) -> Self {
        let mut aad_buf = [0u8; 12];
        aad(spi, seq, esn, &mut aad_buf);
        Self {
            nonce: nonce(salt, seq.to_be_bytes()),
            aad: aad_buf,
            seq,
        }
    }

    /// The same SA's values for another sequence number: only the
    /// sequence bytes change (salt and SPI stay), two 8-byte stores.
    #[inline]
    pub fn set_seq(&mut self, seq: u64, esn: bool) {
        self.seq = seq;
        self.nonce[4..].copy_from_slice(&seq.to_be_bytes());
        self.aad[4..].copy_from_slice(&aad_seq(seq, esn));
    }

    /// The AAD bytes.
    #[inline]
    pub fn aad(&self, esn: bool) -> &[u8] {
        &self.aad[..aad_len(esn)]
    }
}

/// ESP AAD length (RFC 4106 §5): SPI + 32-bit or 64-bit sequence number.
#[inline]
pub(crate) const fn aad_len(esn: bool) -> usize {
    if esn {
        12
    } else {
        8
    }
}

/// Sequence numbers a worker reserved from a shared SA's counter
/// ([`SEQ_BLOCK`] at a time: one atomic add per block instead of per
/// packet), with their nonces and AADs built at reservation, ahead of the
/// engine calls that read them (see `PreparedIv`). Kept by the worker
/// beside its counters of the SA and handed to
/// `SharedOutboundSa::encap_reserved`. Numbers stay unique under the key
/// (each is reserved once); packets of different workers interleave by
/// up to a block, which the receiver's anti-replay window absorbs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqBlock {
    /// Identity of the sequence space the block came from (a block of
    /// another SA is never used).
    owner: usize,
    next: u64,
    end: u64,
    ivs: [PreparedIv; SEQ_BLOCK],
}

/// Sequence numbers reserved at a time by [`SeqBlock`].
pub const SEQ_BLOCK: usize = 16;

impl SeqBlock {
    /// The next reserved number, if the block (of sequence space `owner`)
    /// has one left whose nonce/AAD was built.
    #[inline]
    pub(crate) fn take(&mut self, owner: usize) -> Option<u64> {
        if self.owner != owner || self.next >= self.end {
            return None;
        }
        let seq = self.next;
        self.next += 1;
        (self.iv(seq).seq == seq).then_some(seq)
    }

    /// The prepared nonce and AAD of `seq` (one taken from this block).
    #[inline]
    pub(crate) fn iv(&self, seq: u64) -> &PreparedIv {
        &self.ivs[seq as usize % SEQ_BLOCK]
    }

    /// Refills with `start..end` of space `owner`, building every nonce
    /// and AAD now.
    #[cold]
    pub(crate) fn refill(
        &mut self,
        owner: usize,
        start: u64,
        end: u64,
        iv: impl Fn(u64) -> PreparedIv,
    ) {
        self.owner = owner;
        self.next = start;
        self.end = end;
        for s in start..end {
            self.ivs[s as usize % SEQ_BLOCK] = iv(s);
        }
    }
}

/// Builds the ESP AAD (RFC 4106 §5) into `out`, returning its length:
/// SPI ‖ seq (8 bytes), or SPI ‖ seq high ‖ seq low (12 bytes) with ESN.
///
/// Seq high ‖ seq low is the 64-bit number big-endian, and without ESN
/// the number fits 32 bits, so both cases are one 8-byte store of the
/// number shifted (no branch on the per-packet path); the 4 bytes after
/// a 32-bit AAD are zero and not part of it.
#[inline]
pub fn aad(spi: u32, seq: u64, esn: bool, out: &mut [u8; 12]) -> usize {
    out[..4].copy_from_slice(&spi.to_be_bytes());
    out[4..].copy_from_slice(&aad_seq(seq, esn));
    aad_len(esn)
}

/// The AAD's sequence-number bytes: the 64-bit number, or the 32-bit one
/// followed by 4 zero bytes that are not part of the AAD.
#[inline]
fn aad_seq(seq: u64, esn: bool) -> [u8; 8] {
    let shift = if esn { 0 } else { 32 };
    (seq << shift).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_iv_set_seq_equals_a_fresh_build() {
        let (salt, spi) = ([1, 2, 3, 4], 0x0102_0304);
        for esn in [true, false] {
            let last = if esn { u64::MAX } else { u64::from(u32::MAX) };
            let mut iv = PreparedIv::new(salt, spi, esn, 1);
            for seq in [2, 8, 0x1_0000, last - 1, last] {
                iv.set_seq(seq, esn);
                assert_eq!(
                    iv,
                    PreparedIv::new(salt, spi, esn, seq),
                    "esn {esn} seq {seq}"
                );
                let mut want = [0u8; 12];
                let n = aad(spi, seq, esn, &mut want);
                assert_eq!(iv.aad(esn), &want[..n]);
                assert_eq!(iv.nonce, nonce(salt, seq.to_be_bytes()));
            }
        }
        assert_eq!(std::mem::size_of::<PreparedIv>(), 32);
    }
}
