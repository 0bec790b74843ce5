//! RustCrypto `aes-gcm` backend (pure Rust; slower, no C toolchain).

use super::{AeadEngine, BadKey, TagMismatch, NONCE_LEN, TAG_LEN};
use aes_gcm::aead::{generic_array::GenericArray, AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};

/// AES-128-GCM or AES-256-GCM through RustCrypto.
pub enum RustCryptoGcm {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
}

impl AeadEngine for RustCryptoGcm {
    const NAME: &'static str = "rustcrypto";

    type Burst = ();
    fn new_burst() {}

    fn new(key: &[u8]) -> Result<Self, BadKey> {
        match key.len() {
            16 => Ok(Self::Aes128(Box::new(
                Aes128Gcm::new_from_slice(key).map_err(|_| BadKey)?,
            ))),
            32 => Ok(Self::Aes256(Box::new(
                Aes256Gcm::new_from_slice(key).map_err(|_| BadKey)?,
            ))),
            _ => Err(BadKey),
        }
    }

    fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) {
        let (data, tag_out) = buf.split_at_mut(buf.len() - TAG_LEN);
        let n = GenericArray::from_slice(nonce);
        let tag = match self {
            Self::Aes128(k) => k.encrypt_in_place_detached(n, aad, data),
            Self::Aes256(k) => k.encrypt_in_place_detached(n, aad, data),
        }
        // Fails only beyond GCM's length limit, far above 64 KiB.
        .expect("GCM seal of an ESP-sized buffer");
        tag_out.copy_from_slice(&tag);
    }

    fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> Result<(), TagMismatch> {
        let (data, tag) = buf.split_at_mut(buf.len() - TAG_LEN);
        let n = GenericArray::from_slice(nonce);
        let t = GenericArray::from_slice(tag);
        match self {
            Self::Aes128(k) => k.decrypt_in_place_detached(n, aad, data, t),
            Self::Aes256(k) => k.decrypt_in_place_detached(n, aad, data, t),
        }
        .map_err(|_| TagMismatch)
    }
}
