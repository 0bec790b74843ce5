//! Typed values of the SD-WAN-Hybrid tunnel sub-TLVs that carry key
//! agreement (draft-ietf-bess-bgp-sdwan-usage §4.3; code points from
//! draft-ietf-idr-sdwan-edge-discovery). This module defines only the
//! *value* bytes; bgp/ adds the sub-TLV type and length (RFC 9012 §2).
//! The drafts leave these layouts open; these are ours, versioned by the
//! key-type and transform octets.
//!
//! ```text
//! Sub-TLV 68, Public Key (34 bytes):
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  | Key Type (1=X25519) | Reserved (0) |  X25519 public key ...   |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                ... (32 bytes in total, RFC 7748)              |
//!
//! Sub-TLV 67, IPsec SA Nonce with Rekey Counter (5 + N bytes):
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                  Rekey Counter (32 bits)                      |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  | Nonce Len (16..32) | Nonce (N bytes) ...                      |
//!
//! Sub-TLV 70, Simplified IPsec SA (12 bytes):
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  | Transform     | Flags E N 0..  |    Replay Window (packets)    |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                 SA Lifetime (seconds)                         |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                 SPI Base (32 bits, informational)             |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!   Transform: 1 = AES-GCM-128 with 16-byte ICV, 2 = AES-GCM-256.
//!   E (0x80) = extended sequence numbers, N (0x40) = NAT-T capable.
//! ```
//!
//! SPIs are not advertised per peer (one BGP route reaches all peers); each
//! direction's SPI is derived from the pair's shared secret, see
//! [`super::derive`].

use crate::esp::Cipher;
use crate::replay::{MAX_WINDOW, MIN_WINDOW};

pub const SUBTLV_REKEY_COUNTER: u8 = 67;
pub const SUBTLV_PUBLIC_KEY: u8 = 68;
pub const SUBTLV_SIMPLIFIED_SA: u8 = 70;

pub const KEY_TYPE_X25519: u8 = 1;
pub const MIN_NONCE: usize = 16;
pub const MAX_NONCE: usize = 32;

/// A sub-TLV value that does not parse: which sub-TLV, at which byte, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamError {
    pub subtlv: u8,
    pub offset: usize,
    pub what: &'static str,
}

impl core::fmt::Display for ParamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "sub-TLV {} byte {}: {}",
            self.subtlv, self.offset, self.what
        )
    }
}

impl std::error::Error for ParamError {}

fn err(subtlv: u8, offset: usize, what: &'static str) -> ParamError {
    ParamError {
        subtlv,
        offset,
        what,
    }
}

/// Sub-TLV 68: the advertiser's X25519 public key for one WAN port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKeyParam(pub [u8; 32]);

impl PublicKeyParam {
    pub const LEN: usize = 34;

    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = KEY_TYPE_X25519;
        b[2..].copy_from_slice(&self.0);
        b
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self, ParamError> {
        let s = SUBTLV_PUBLIC_KEY;
        if b.len() != Self::LEN {
            return Err(err(s, b.len().min(Self::LEN), "length is not 34"));
        }
        if b[0] != KEY_TYPE_X25519 {
            return Err(err(s, 0, "key type is not 1 (X25519)"));
        }
        if b[1] != 0 {
            return Err(err(s, 1, "reserved octet is not zero"));
        }
        let mut k = [0u8; 32];
        k.copy_from_slice(&b[2..]);
        if k == [0u8; 32] {
            return Err(err(s, 2, "all-zero public key"));
        }
        Ok(Self(k))
    }
}

/// Sub-TLV 67: rekey counter and a fresh nonce (changes with the counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceParam {
    pub rekey_counter: u32,
    len: u8,
    nonce: [u8; MAX_NONCE],
}

impl NonceParam {
    /// `nonce` must be 16..=32 bytes.
    pub fn new(rekey_counter: u32, nonce: &[u8]) -> Result<Self, ParamError> {
        if !(MIN_NONCE..=MAX_NONCE).contains(&nonce.len()) {
            return Err(err(SUBTLV_REKEY_COUNTER, 4, "nonce length outside 16..=32"));
        }
        let mut n = [0u8; MAX_NONCE];
        n[..nonce.len()].copy_from_slice(nonce);
        Ok(Self {
            rekey_counter,
            len: nonce.len() as u8,
            nonce: n,
        })
    }

    pub fn nonce(&self) -> &[u8] {
        &self.nonce[..usize::from(self.len)]
    }

    pub fn encoded_len(&self) -> usize {
        5 + usize::from(self.len)
    }

    /// Writes the value into `out` (at least `encoded_len()` bytes) and
    /// returns the length written.
    pub fn write(&self, out: &mut [u8]) -> Option<usize> {
        let n = self.encoded_len();
        let o = out.get_mut(..n)?;
        o[..4].copy_from_slice(&self.rekey_counter.to_be_bytes());
        o[4] = self.len;
        o[5..].copy_from_slice(self.nonce());
        Some(n)
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.encoded_len()];
        self.write(&mut v);
        v
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self, ParamError> {
        let s = SUBTLV_REKEY_COUNTER;
        if b.len() < 5 {
            return Err(err(s, b.len(), "shorter than counter + nonce length"));
        }
        let counter = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let n = usize::from(b[4]);
        if !(MIN_NONCE..=MAX_NONCE).contains(&n) {
            return Err(err(s, 4, "nonce length outside 16..=32"));
        }
        if b.len() != 5 + n {
            return Err(err(
                s,
                b.len().min(5 + n),
                "length does not match nonce length",
            ));
        }
        Self::new(counter, &b[5..])
    }
}

/// Sub-TLV 70: the SA parameters the advertiser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimplifiedSaParam {
    pub cipher: Cipher,
    pub esn: bool,
    pub natt: bool,
    pub replay_window: u16,
    pub lifetime_seconds: u32,
    /// Informational (e.g. SPI of a static SA to a third-party gateway);
    /// derived SAs do not use it.
    pub spi_base: u32,
}

impl SimplifiedSaParam {
    pub const LEN: usize = 12;
    const FLAG_ESN: u8 = 0x80;
    const FLAG_NATT: u8 = 0x40;

    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = match self.cipher {
            Cipher::AesGcm128 => 1,
            Cipher::AesGcm256 => 2,
        };
        b[1] =
            if self.esn { Self::FLAG_ESN } else { 0 } | if self.natt { Self::FLAG_NATT } else { 0 };
        b[2..4].copy_from_slice(&self.replay_window.to_be_bytes());
        b[4..8].copy_from_slice(&self.lifetime_seconds.to_be_bytes());
        b[8..12].copy_from_slice(&self.spi_base.to_be_bytes());
        b
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self, ParamError> {
        let s = SUBTLV_SIMPLIFIED_SA;
        if b.len() != Self::LEN {
            return Err(err(s, b.len().min(Self::LEN), "length is not 12"));
        }
        let cipher = match b[0] {
            1 => Cipher::AesGcm128,
            2 => Cipher::AesGcm256,
            _ => return Err(err(s, 0, "unknown transform")),
        };
        if b[1] & !(Self::FLAG_ESN | Self::FLAG_NATT) != 0 {
            return Err(err(s, 1, "unknown flag set"));
        }
        let replay_window = u16::from_be_bytes([b[2], b[3]]);
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&u32::from(replay_window)) {
            return Err(err(s, 2, "replay window outside 64..=4096"));
        }
        Ok(Self {
            cipher,
            esn: b[1] & Self::FLAG_ESN != 0,
            natt: b[1] & Self::FLAG_NATT != 0,
            replay_window,
            lifetime_seconds: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            spi_base: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn errors_name_subtlv_and_offset() {
        let e = PublicKeyParam::from_bytes(&[2; 34]).unwrap_err();
        assert_eq!((e.subtlv, e.offset), (68, 0));
        assert_eq!(
            e.to_string(),
            "sub-TLV 68 byte 0: key type is not 1 (X25519)"
        );
        let e = NonceParam::from_bytes(&[0, 0, 0, 1, 8, 1, 2]).unwrap_err();
        assert_eq!((e.subtlv, e.offset), (67, 4));
        let mut sa = SimplifiedSaParam {
            cipher: Cipher::AesGcm256,
            esn: true,
            natt: false,
            replay_window: 1024,
            lifetime_seconds: 3600,
            spi_base: 0,
        }
        .to_bytes();
        sa[2] = 0;
        sa[3] = 1;
        assert_eq!(SimplifiedSaParam::from_bytes(&sa).unwrap_err().offset, 2);
    }

    proptest! {
        #[test]
        fn public_key_round_trips(k in any::<[u8; 32]>()) {
            prop_assume!(k != [0; 32]);
            let p = PublicKeyParam(k);
            prop_assert_eq!(PublicKeyParam::from_bytes(&p.to_bytes()), Ok(p));
        }

        #[test]
        fn nonce_round_trips(c: u32, n in proptest::collection::vec(any::<u8>(), 16..=32)) {
            let p = NonceParam::new(c, &n).unwrap();
            prop_assert_eq!(NonceParam::from_bytes(&p.to_vec()), Ok(p));
        }

        #[test]
        fn simplified_sa_round_trips(big: bool, esn: bool, natt: bool, w in 64u16..=4096, life: u32, spi: u32) {
            let p = SimplifiedSaParam {
                cipher: if big { Cipher::AesGcm256 } else { Cipher::AesGcm128 },
                esn, natt, replay_window: w, lifetime_seconds: life, spi_base: spi,
            };
            prop_assert_eq!(SimplifiedSaParam::from_bytes(&p.to_bytes()), Ok(p));
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = PublicKeyParam::from_bytes(&b);
            let _ = NonceParam::from_bytes(&b);
            let _ = SimplifiedSaParam::from_bytes(&b);
        }
    }
}
