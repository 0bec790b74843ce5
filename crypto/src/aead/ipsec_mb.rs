//! intel-ipsec-mb backend (feature `ipsec-mb`), through sdwan-ffi's safe
//! [`GcmKey`](sdwan_ffi::ipsec_mb::GcmKey): the library's direct AES-GCM
//! functions for the best instruction set the CPU has, and for bursts its
//! job manager ([`GcmBurst`](sdwan_ffi::ipsec_mb::GcmBurst), one per
//! worker).

use super::{AeadEngine, AeadJob, BadKey, TagMismatch, NONCE_LEN, TAG_LEN};
use sdwan_ffi::ipsec_mb::{GcmBurst, GcmJob, GcmKey};

/// AES-128/256-GCM through intel-ipsec-mb. The expanded key is cleared on
/// drop by `GcmKey`.
pub struct IpsecMbGcm(GcmKey);

impl AeadEngine for IpsecMbGcm {
    const NAME: &'static str = "ipsec-mb";

    /// `None` when the job manager could not be made: bursts then run
    /// one buffer at a time through the direct functions.
    type Burst = Option<GcmBurst>;

    fn new_burst() -> Self::Burst {
        GcmBurst::new()
    }

    fn seal_burst(ctx: &mut Self::Burst, jobs: &mut [Option<AeadJob<'_, Self>>]) {
        let Some(mgr) = ctx else {
            for j in jobs.iter_mut().flatten() {
                j.engine.seal(&j.nonce, &j.aad[..j.aad_len], j.buf);
                j.ok = true;
            }
            return;
        };
        let ok = mgr.seal(jobs.iter_mut().flatten().map(as_gcm_job));
        for (j, ok) in jobs.iter_mut().flatten().zip(ok) {
            j.ok = ok;
        }
    }

    fn open_burst(ctx: &mut Self::Burst, jobs: &mut [Option<AeadJob<'_, Self>>]) {
        let Some(mgr) = ctx else {
            for j in jobs.iter_mut().flatten() {
                j.ok = j.engine.open(&j.nonce, &j.aad[..j.aad_len], j.buf).is_ok();
            }
            return;
        };
        let ok = mgr.open(jobs.iter_mut().flatten().map(as_gcm_job));
        for (j, ok) in jobs.iter_mut().flatten().zip(ok) {
            j.ok = ok;
        }
    }

    fn new(key: &[u8]) -> Result<Self, BadKey> {
        GcmKey::new(key).map(Self).ok_or(BadKey)
    }

    /// Short texts (a 64 B client frame's ESP payload) take sdwan-ffi's
    /// VAES short-text path where the CPU has it, longer ones the
    /// library's one-shot function.
    #[inline(always)]
    fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) {
        assert!(buf.len() >= TAG_LEN, "AEAD buffer shorter than its tag");
        self.0.seal_in_place(nonce, aad, buf);
    }

    fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> Result<(), TagMismatch> {
        if buf.len() < TAG_LEN {
            return Err(TagMismatch);
        }
        if self.0.open_in_place(nonce, aad, buf) {
            Ok(())
        } else {
            Err(TagMismatch)
        }
    }
}

fn as_gcm_job<'a>(j: &'a mut AeadJob<'_, IpsecMbGcm>) -> GcmJob<'a> {
    GcmJob {
        key: &j.engine.0,
        iv: j.nonce,
        aad: &j.aad[..j.aad_len],
        data: &mut *j.buf,
    }
}
