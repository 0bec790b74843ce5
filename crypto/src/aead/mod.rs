//! The AEAD engine behind ESP: AES-GCM with a 16-byte tag (RFC 4106). A
//! trait so the fastest engine on the machine serves the fast path; each
//! ESP SA is generic over it (monomorphised, no dynamic dispatch per
//! packet). Backends, each behind a cargo feature:
//!
//! | feature      | type                 | engine                       |
//! |--------------|----------------------|------------------------------|
//! | `aws-lc` (default) | [`AwsLcGcm`]   | aws-lc-rs                    |
//! | `rustcrypto` | [`RustCryptoGcm`]    | RustCrypto `aes-gcm`         |
//! | `ipsec-mb`   | [`IpsecMbGcm`]       | intel-ipsec-mb via sdwan-ffi |
//!
//! With `aws-lc` and `ipsec-mb` (the edge's build) [`DefaultEngine`] is
//! [`BestGcm`]: intel-ipsec-mb (VAES/AVX-512 where present) where the CPU
//! runs it, aws-lc-rs otherwise. On VAES/AVX-512 CPUs, [`IpsecMbGcm`]
//! sends texts up to 128 bytes (a small client packet's ESP payload) to
//! sdwan-ffi's own short-text GCM (`sdwan_ffi::gcm_small`), faster there
//! than the library's one-shot call, and longer ones to the library.
//!
//! The ESP layer builds the 12-byte nonce (salt ‖ explicit IV) and the AAD;
//! the backend only seals and opens, one buffer at a time or a burst of up
//! to [`MAX_BURST`] ([`AeadJob`]s, each with its own key) in one call:
//! intel-ipsec-mb submits the burst to its job manager; the other backends
//! loop.

#[cfg(feature = "aws-lc")]
mod aws_lc;
#[cfg(all(feature = "aws-lc", feature = "ipsec-mb"))]
mod best;
#[cfg(feature = "ipsec-mb")]
mod ipsec_mb;
#[cfg(feature = "rustcrypto")]
mod rustcrypto;

#[cfg(feature = "aws-lc")]
pub use aws_lc::AwsLcGcm;
#[cfg(all(feature = "aws-lc", feature = "ipsec-mb"))]
pub use best::BestGcm;
#[cfg(feature = "ipsec-mb")]
pub use ipsec_mb::IpsecMbGcm;
#[cfg(feature = "rustcrypto")]
pub use rustcrypto::RustCryptoGcm;

/// AES-GCM tag (ESP ICV) length.
pub const TAG_LEN: usize = 16;
/// GCM nonce length: 4-byte salt + 8-byte explicit IV (RFC 4106 §4).
pub const NONCE_LEN: usize = 12;

/// Key length not 16 (AES-128) or 32 (AES-256) bytes, or the engine
/// refused the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadKey;

/// The tag did not verify; the buffer content is unspecified afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagMismatch;

/// Most operations one burst call takes (a DPDK rx burst).
pub const MAX_BURST: usize = 64;

/// One operation of a burst: `buf` as for [`AeadEngine::seal`] /
/// [`AeadEngine::open`] (tag in the last 16 bytes). `ok` is the result:
/// sealed, or tag verified.
pub struct AeadJob<'a, E> {
    pub engine: &'a E,
    pub nonce: [u8; NONCE_LEN],
    pub aad: [u8; 12],
    pub aad_len: usize,
    pub buf: &'a mut [u8],
    pub ok: bool,
}

/// AES-GCM with a 16-byte tag. Implementations hold the expanded key and
/// must zeroize (or let their engine free securely) key material on drop.
pub trait AeadEngine: Sized + Send {
    /// Short name for benches and logs.
    const NAME: &'static str;

    /// `key` is 16 or 32 bytes (AES-128/256-GCM).
    fn new(key: &[u8]) -> Result<Self, BadKey>;

    /// Encrypts `buf[..len-16]` in place and writes the tag into the last
    /// 16 bytes. `buf.len() >= 16`.
    fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]);

    /// Verifies the tag in the last 16 bytes of `buf` and decrypts the rest
    /// in place. `buf.len() >= 16`.
    fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> Result<(), TagMismatch>;

    /// Per-worker state bursts need (intel-ipsec-mb's job manager); `()`
    /// for engines that work one buffer at a time.
    type Burst: Send;

    fn new_burst() -> Self::Burst;

    /// Seals every `Some` job (at most [`MAX_BURST`]) and sets its `ok`.
    fn seal_burst(_ctx: &mut Self::Burst, jobs: &mut [Option<AeadJob<'_, Self>>]) {
        for j in jobs.iter_mut().flatten() {
            j.engine.seal(&j.nonce, &j.aad[..j.aad_len], j.buf);
            j.ok = true;
        }
    }

    /// Opens every `Some` job (at most [`MAX_BURST`]); `ok` = tag verified.
    fn open_burst(_ctx: &mut Self::Burst, jobs: &mut [Option<AeadJob<'_, Self>>]) {
        for j in jobs.iter_mut().flatten() {
            j.ok = j.engine.open(&j.nonce, &j.aad[..j.aad_len], j.buf).is_ok();
        }
    }
}

/// The backend the crate prefers when the caller does not choose: with
/// both fast backends built in, intel-ipsec-mb where the CPU runs it,
/// else aws-lc-rs ([`BestGcm`]).
#[cfg(all(feature = "aws-lc", feature = "ipsec-mb"))]
pub type DefaultEngine = BestGcm;
#[cfg(all(feature = "aws-lc", not(feature = "ipsec-mb")))]
pub type DefaultEngine = AwsLcGcm;
#[cfg(all(not(feature = "aws-lc"), feature = "rustcrypto"))]
pub type DefaultEngine = RustCryptoGcm;
#[cfg(all(
    not(feature = "aws-lc"),
    not(feature = "rustcrypto"),
    feature = "ipsec-mb"
))]
pub type DefaultEngine = IpsecMbGcm;
