//! SA key material: AES key and the 4-byte GCM salt (RFC 4106 §8.1: the
//! keying material is key ‖ salt, 20 or 36 bytes). Zeroized on drop.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// The ESP transforms this edge speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    AesGcm128,
    AesGcm256,
}

impl Cipher {
    pub const fn key_len(self) -> usize {
        match self {
            Cipher::AesGcm128 => 16,
            Cipher::AesGcm256 => 32,
        }
    }
}

/// Key material of the wrong length for the cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadKeyMaterial {
    pub cipher: Cipher,
    pub got: usize,
}

impl core::fmt::Display for BadKeyMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:?} needs {} bytes of key material (key + 4-byte salt), got {}",
            self.cipher,
            self.cipher.key_len() + 4,
            self.got
        )
    }
}

impl std::error::Error for BadKeyMaterial {}

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyMaterial {
    #[zeroize(skip)]
    cipher: Cipher,
    key: [u8; 32],
    salt: [u8; 4],
}

impl core::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

impl KeyMaterial {
    /// From RFC 4106 keying material: `key ‖ salt` (20 or 36 bytes), the
    /// form `ip xfrm`, tshark and scapy take.
    pub fn from_rfc4106(cipher: Cipher, material: &[u8]) -> Result<Self, BadKeyMaterial> {
        let n = cipher.key_len();
        if material.len() != n + 4 {
            return Err(BadKeyMaterial {
                cipher,
                got: material.len(),
            });
        }
        let mut key = [0u8; 32];
        key[..n].copy_from_slice(&material[..n]);
        let mut salt = [0u8; 4];
        salt.copy_from_slice(&material[n..]);
        Ok(Self { cipher, key, salt })
    }

    pub fn cipher(&self) -> Cipher {
        self.cipher
    }
    pub fn key(&self) -> &[u8] {
        &self.key[..self.cipher.key_len()]
    }
    pub fn salt(&self) -> [u8; 4] {
        self.salt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_key_and_salt() {
        let m: Vec<u8> = (0..20).collect();
        let k = KeyMaterial::from_rfc4106(Cipher::AesGcm128, &m).unwrap();
        assert_eq!(k.key(), &m[..16]);
        assert_eq!(k.salt(), [16, 17, 18, 19]);
        let e = KeyMaterial::from_rfc4106(Cipher::AesGcm256, &m).unwrap_err();
        assert_eq!(e.got, 20);
        assert!(e.to_string().contains("36 bytes"));
        assert!(!format!("{k:?}").contains("16"));
    }
}
