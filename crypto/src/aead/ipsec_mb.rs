//! intel-ipsec-mb backend (feature `ipsec-mb`), through sdwan-ffi's safe
//! [`GcmKey`](sdwan_ffi::ipsec_mb::GcmKey): the library's direct AES-GCM
//! functions for the best instruction set the CPU has.

use super::{AeadEngine, BadKey, TagMismatch, NONCE_LEN, TAG_LEN};
use sdwan_ffi::ipsec_mb::GcmKey;

/// AES-128/256-GCM through intel-ipsec-mb. The expanded key is cleared on
/// drop by `GcmKey`.
pub struct IpsecMbGcm(GcmKey);

impl AeadEngine for IpsecMbGcm {
    const NAME: &'static str = "ipsec-mb";

    fn new(key: &[u8]) -> Result<Self, BadKey> {
        GcmKey::new(key).map(Self).ok_or(BadKey)
    }

    fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) {
        let (data, tag) = buf.split_at_mut(buf.len() - TAG_LEN);
        let tag: &mut [u8; TAG_LEN] = tag.try_into().expect("split leaves 16 bytes");
        self.0.seal(nonce, aad, data, tag);
    }

    fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> Result<(), TagMismatch> {
        let (data, tag) = buf.split_at_mut(buf.len() - TAG_LEN);
        let tag: &[u8; TAG_LEN] = (&*tag).try_into().expect("split leaves 16 bytes");
        if self.0.open(nonce, aad, data, tag) {
            Ok(())
        } else {
            Err(TagMismatch)
        }
    }
}
