//! aws-lc-rs AES-GCM backend (the portable default).

use super::{AeadEngine, BadKey, TagMismatch, NONCE_LEN, TAG_LEN};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};

/// AES-GCM through aws-lc-rs (`LessSafeKey`: ESP supplies unique nonces).
/// The key schedule lives in aws-lc's context and is freed by aws-lc;
/// our copy of the raw key ([`crate::KeyMaterial`]) is zeroized.
pub struct AwsLcGcm(LessSafeKey);

impl AeadEngine for AwsLcGcm {
    const NAME: &'static str = "aws-lc-rs";

    type Burst = ();
    fn new_burst() {}

    fn new(key: &[u8]) -> Result<Self, BadKey> {
        let alg = match key.len() {
            16 => &AES_128_GCM,
            32 => &AES_256_GCM,
            _ => return Err(BadKey),
        };
        let k = UnboundKey::new(alg, key).map_err(|_| BadKey)?;
        Ok(Self(LessSafeKey::new(k)))
    }

    fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) {
        let (data, tag_out) = buf.split_at_mut(buf.len() - TAG_LEN);
        let tag = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), data)
            // aws-lc fails only for inputs beyond GCM's 2^36-byte limit.
            .expect("GCM seal of an ESP-sized buffer");
        tag_out.copy_from_slice(tag.as_ref());
    }

    fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> Result<(), TagMismatch> {
        self.0
            .open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
            .map(|_| ())
            .map_err(|_| TagMismatch)
    }
}
