//! intel-ipsec-mb AES-GCM binding (libIPSec_MB, Debian `libipsec-mb-dev`
//! 1.3). Declared by hand: the library's direct, architecture-specific GCM
//! functions (`aes_gcm_{pre,enc,dec}_{128,256}_{sse,avx_gen2,avx_gen4}`),
//! picked once per key from the CPU's features. The multi-buffer job/burst
//! API goes through function pointers inside `IMB_MGR`, whose layout we do
//! not mirror; it is not bound here.
//!
//! Safe surface: [`GcmKey`] (expanded key + GHASH tables, 64-byte aligned,
//! zeroized on drop) with in-place [`GcmKey::seal`] and [`GcmKey::open`].

use std::os::raw::c_void;

/// `struct gcm_key_data` (intel-ipsec-mb.h): 15 round keys of 16 bytes and
/// a union of GHASH key tables whose largest member is 48 x 16 bytes;
/// `__attribute__((aligned(64)))`, so 240 + 768 = 1008 rounded to 1024.
#[repr(C, align(64))]
struct GcmKeyData {
    bytes: [u8; 1024],
}

/// `struct gcm_context_data`: aad_hash[16], aad_length, in_length,
/// partial_block_enc_key[16], orig_IV[16], current_counter[16],
/// partial_block_length = 88 bytes.
#[repr(C, align(16))]
struct GcmContextData {
    bytes: [u8; 88],
}

type PreFn = unsafe extern "C" fn(key: *const c_void, key_data: *mut GcmKeyData);
type CryptFn = unsafe extern "C" fn(
    key_data: *const GcmKeyData,
    ctx: *mut GcmContextData,
    out: *mut u8,
    inp: *const u8,
    len: u64,
    iv: *const u8,
    aad: *const u8,
    aad_len: u64,
    tag: *mut u8,
    tag_len: u64,
);

#[link(name = "IPSec_MB")]
extern "C" {
    fn aes_gcm_pre_128_sse(key: *const c_void, key_data: *mut GcmKeyData);
    fn aes_gcm_pre_256_sse(key: *const c_void, key_data: *mut GcmKeyData);
    fn aes_gcm_pre_128_avx_gen2(key: *const c_void, key_data: *mut GcmKeyData);
    fn aes_gcm_pre_256_avx_gen2(key: *const c_void, key_data: *mut GcmKeyData);
    fn aes_gcm_pre_128_avx_gen4(key: *const c_void, key_data: *mut GcmKeyData);
    fn aes_gcm_pre_256_avx_gen4(key: *const c_void, key_data: *mut GcmKeyData);

    fn aes_gcm_enc_128_sse(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_dec_128_sse(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_enc_256_sse(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_dec_256_sse(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_enc_128_avx_gen2(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_dec_128_avx_gen2(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_enc_256_avx_gen2(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_dec_256_avx_gen2(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_enc_128_avx_gen4(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_dec_128_avx_gen4(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_enc_256_avx_gen4(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
    fn aes_gcm_dec_256_avx_gen4(
        k: *const GcmKeyData,
        c: *mut GcmContextData,
        o: *mut u8,
        i: *const u8,
        l: u64,
        iv: *const u8,
        a: *const u8,
        al: u64,
        t: *mut u8,
        tl: u64,
    );
}

/// Which code path of the library serves a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Sse,
    /// AVX (gen2).
    Avx,
    /// AVX2 (gen4).
    Avx2,
}

impl Arch {
    /// The best path this CPU runs (AES-NI + PCLMULQDQ required).
    pub fn detect() -> Option<Arch> {
        if !(std::is_x86_feature_detected!("aes") && std::is_x86_feature_detected!("pclmulqdq")) {
            return None;
        }
        Some(if std::is_x86_feature_detected!("avx2") {
            Arch::Avx2
        } else if std::is_x86_feature_detected!("avx") {
            Arch::Avx
        } else {
            Arch::Sse
        })
    }
}

/// An expanded AES-GCM key with the functions for its size and the CPU.
pub struct GcmKey {
    data: Box<GcmKeyData>,
    enc: CryptFn,
    dec: CryptFn,
    arch: Arch,
}

impl GcmKey {
    /// `key` is 16 or 32 bytes. `None` for other lengths or a CPU without
    /// AES-NI/PCLMULQDQ.
    pub fn new(key: &[u8]) -> Option<Self> {
        let arch = Arch::detect()?;
        let (pre, enc, dec): (PreFn, CryptFn, CryptFn) = match (key.len(), arch) {
            (16, Arch::Sse) => (
                aes_gcm_pre_128_sse,
                aes_gcm_enc_128_sse,
                aes_gcm_dec_128_sse,
            ),
            (32, Arch::Sse) => (
                aes_gcm_pre_256_sse,
                aes_gcm_enc_256_sse,
                aes_gcm_dec_256_sse,
            ),
            (16, Arch::Avx) => (
                aes_gcm_pre_128_avx_gen2,
                aes_gcm_enc_128_avx_gen2,
                aes_gcm_dec_128_avx_gen2,
            ),
            (32, Arch::Avx) => (
                aes_gcm_pre_256_avx_gen2,
                aes_gcm_enc_256_avx_gen2,
                aes_gcm_dec_256_avx_gen2,
            ),
            (16, Arch::Avx2) => (
                aes_gcm_pre_128_avx_gen4,
                aes_gcm_enc_128_avx_gen4,
                aes_gcm_dec_128_avx_gen4,
            ),
            (32, Arch::Avx2) => (
                aes_gcm_pre_256_avx_gen4,
                aes_gcm_enc_256_avx_gen4,
                aes_gcm_dec_256_avx_gen4,
            ),
            _ => return None,
        };
        let mut data = Box::new(GcmKeyData { bytes: [0; 1024] });
        // SAFETY: `key` holds 16 or 32 bytes as the chosen `pre` function
        // (128 or 256) reads; `data` is a writable, 64-byte aligned
        // gcm_key_data of the header's size; the CPU has the instructions
        // the chosen path uses (Arch::detect).
        unsafe { pre(key.as_ptr().cast(), &mut *data) };
        Some(Self {
            data,
            enc,
            dec,
            arch,
        })
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Encrypts `data` in place and writes the 16-byte tag.
    pub fn seal(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8], tag: &mut [u8; 16]) {
        let mut ctx = GcmContextData { bytes: [0; 88] };
        let p = data.as_mut_ptr();
        // SAFETY: key data was initialised by the matching `pre` function;
        // `ctx` is a writable gcm_context_data; in == out is allowed
        // ("Encrypt in-place is allowed"); lengths are the slices' own; the
        // IV is 12 bytes, the tag buffer 16.
        unsafe {
            (self.enc)(
                &*self.data,
                &mut ctx,
                p,
                p,
                data.len() as u64,
                iv.as_ptr(),
                aad.as_ptr(),
                aad.len() as u64,
                tag.as_mut_ptr(),
                16,
            )
        };
    }

    /// Decrypts `data` in place and checks `tag` in constant time. On a
    /// mismatch returns false (the buffer then holds unauthenticated
    /// plaintext the caller must drop).
    pub fn open(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8], tag: &[u8; 16]) -> bool {
        let mut ctx = GcmContextData { bytes: [0; 88] };
        let mut computed = [0u8; 16];
        let p = data.as_mut_ptr();
        // SAFETY: as in `seal`; decryption in place is allowed likewise.
        unsafe {
            (self.dec)(
                &*self.data,
                &mut ctx,
                p,
                p,
                data.len() as u64,
                iv.as_ptr(),
                aad.as_ptr(),
                aad.len() as u64,
                computed.as_mut_ptr(),
                16,
            )
        };
        let diff = computed
            .iter()
            .zip(tag.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

impl Drop for GcmKey {
    fn drop(&mut self) {
        // Round keys and GHASH tables are key material: clear them with
        // volatile writes the optimiser may not remove.
        for b in self.data.bytes.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let key = [
            0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30,
            0x83, 0x08,
        ];
        let Some(k) = GcmKey::new(&key) else {
            eprintln!("SKIPPED: CPU lacks AES-NI/PCLMULQDQ");
            return;
        };
        let iv = [
            0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88,
        ];
        let aad = [
            0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad,
            0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2,
        ];
        let mut data = [0u8; 60];
        data[..4].copy_from_slice(&[0xd9, 0x31, 0x32, 0x25]);
        let orig = data;
        let mut tag = [0u8; 16];
        k.seal(&iv, &aad, &mut data, &mut tag);
        assert_ne!(data, orig);
        assert!(k.open(&iv, &aad, &mut data, &tag));
        assert_eq!(data, orig);
        tag[0] ^= 1;
        assert!(!k.open(&iv, &aad, &mut data.clone(), &tag));
    }
}
