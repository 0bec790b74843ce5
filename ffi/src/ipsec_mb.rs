//! intel-ipsec-mb AES-GCM binding (libIPSec_MB, Debian `libipsec-mb-dev`
//! 1.3). Declared by hand: the library's direct, architecture-specific GCM
//! functions (`aes_gcm_{pre,enc,dec}_{128,256}_{sse,avx_gen2,avx_gen4,vaes_avx512}`),
//! picked once per key from the CPU's features. The job/burst API
//! (`IMB_GET_NEXT_BURST` / `IMB_SUBMIT_BURST` / `IMB_FLUSH_BURST`) goes
//! through function pointers inside `IMB_MGR`, whose layout we do not
//! mirror: `shim/ipsec_mb_shim.c` drives it and [`GcmBurst`] wraps that.
//!
//! Safe surface: [`GcmKey`] (expanded key + GHASH tables, 64-byte aligned,
//! zeroized on drop) with in-place [`GcmKey::seal`] and [`GcmKey::open`];
//! [`GcmBurst`] (one `IMB_MGR` per worker) sealing or opening up to
//! [`MAX_BURST`] buffers, each with its own key, in one call.

use crate::gcm_small::GcmSmallKey;
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

/// Declares the library's direct GCM functions: `pre` (key expansion)
/// and `crypt` (one-shot encrypt / decrypt, all with [`CryptFn`]'s
/// arguments).
macro_rules! gcm_functions {
    (pre: $($p:ident),* ; crypt: $($c:ident),* $(,)?) => {
        #[link(name = "IPSec_MB")]
        extern "C" {
            $(fn $p(key: *const c_void, key_data: *mut GcmKeyData);)*
            $(fn $c(
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
            );)*
        }
    };
}

gcm_functions! {
    pre: aes_gcm_pre_128_sse, aes_gcm_pre_256_sse, aes_gcm_pre_128_avx_gen2, aes_gcm_pre_256_avx_gen2, aes_gcm_pre_128_avx_gen4, aes_gcm_pre_256_avx_gen4, aes_gcm_pre_128_vaes_avx512, aes_gcm_pre_256_vaes_avx512;
    crypt: aes_gcm_enc_128_sse, aes_gcm_dec_128_sse, aes_gcm_enc_256_sse, aes_gcm_dec_256_sse, aes_gcm_enc_128_avx_gen2, aes_gcm_dec_128_avx_gen2, aes_gcm_enc_256_avx_gen2, aes_gcm_dec_256_avx_gen2, aes_gcm_enc_128_avx_gen4, aes_gcm_dec_128_avx_gen4, aes_gcm_enc_256_avx_gen4, aes_gcm_enc_128_vaes_avx512, aes_gcm_dec_128_vaes_avx512, aes_gcm_enc_256_vaes_avx512, aes_gcm_dec_256_vaes_avx512, aes_gcm_dec_256_avx_gen4,
}

/// `struct sdwan_gcm_op` of shim/ipsec_mb_shim.c.
#[repr(C)]
struct GcmOp {
    key: *const GcmKeyData,
    key_len: u64,
    data: *mut u8,
    len: u64,
    iv: *const u8,
    aad: *const u8,
    aad_len: u64,
    tag: *mut u8,
    status: i32,
}

/// Opaque `IMB_MGR`.
#[repr(C)]
struct ImbMgr {
    _opaque: [u8; 0],
}

// Linked by build.rs (cc emits the static library, then IPSec_MB).
extern "C" {
    fn sdwan_imb_mgr_new(arch: i32) -> *mut ImbMgr;
    fn sdwan_imb_mgr_free(m: *mut ImbMgr);
    fn sdwan_imb_gcm_burst(m: *mut ImbMgr, encrypt: i32, ops: *mut GcmOp, n: u32) -> u32;
}

/// Which code path of the library serves a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Sse,
    /// AVX (gen2).
    Avx,
    /// AVX2 (gen4).
    Avx2,
    /// AVX-512 with VAES and VPCLMULQDQ: several blocks per instruction.
    VaesAvx512,
}

impl Arch {
    /// The best path this CPU runs (AES-NI + PCLMULQDQ required).
    pub fn detect() -> Option<Arch> {
        if !(std::is_x86_feature_detected!("aes") && std::is_x86_feature_detected!("pclmulqdq")) {
            return None;
        }
        Some(
            if std::is_x86_feature_detected!("vaes")
                && std::is_x86_feature_detected!("vpclmulqdq")
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl")
            {
                Arch::VaesAvx512
            } else if std::is_x86_feature_detected!("avx2") {
                Arch::Avx2
            } else if std::is_x86_feature_detected!("avx") {
                Arch::Avx
            } else {
                Arch::Sse
            },
        )
    }
}

/// An expanded AES-GCM key with the functions for its size and the CPU.
pub struct GcmKey {
    data: Box<GcmKeyData>,
    /// The short-text path (`gcm_small`) where the CPU runs it.
    small: Option<Box<GcmSmallKey>>,
    enc: CryptFn,
    dec: CryptFn,
    arch: Arch,
    /// 16 or 32.
    key_len: u64,
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
            (16, Arch::VaesAvx512) => (
                aes_gcm_pre_128_vaes_avx512,
                aes_gcm_enc_128_vaes_avx512,
                aes_gcm_dec_128_vaes_avx512,
            ),
            (32, Arch::VaesAvx512) => (
                aes_gcm_pre_256_vaes_avx512,
                aes_gcm_enc_256_vaes_avx512,
                aes_gcm_dec_256_vaes_avx512,
            ),
            _ => return None,
        };
        let mut data = Box::new(GcmKeyData { bytes: [0; 1024] });
        // SAFETY: `key` holds 16 or 32 bytes as the chosen `pre` function
        // (128 or 256) reads; `data` is a writable, 64-byte aligned
        // gcm_key_data of the header's size; the CPU has the instructions
        // the chosen path uses (Arch::detect).
        unsafe { pre(key.as_ptr().cast(), &mut *data) };
        // struct gcm_key_data starts with the AES round keys, in order:
        // rounds + 1 = key words + 7 of them (11 for AES-128, 15 for 256).
        let small = GcmSmallKey::new(&data.bytes[..(key.len() / 4 + 7) * 16]);
        Some(Self {
            data,
            small,
            enc,
            dec,
            arch,
            key_len: key.len() as u64,
        })
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Whether texts up to [`crate::gcm_small::MAX_TEXT`] bytes take the
    /// VAES short-text path.
    pub fn has_small_path(&self) -> bool {
        self.small.is_some()
    }

    /// Encrypts `buf[..len]` in place and writes the tag to `buf[len..]`,
    /// `len = buf.len() - 16` (ESP's layout); short texts through
    /// [`crate::gcm_small`] where the CPU runs it. Panics if `buf` is shorter
    /// than 16 bytes.
    #[inline]
    pub fn seal_in_place(&self, iv: &[u8; 12], aad: &[u8], buf: &mut [u8]) {
        if let Some(Some(())) = self.small.as_ref().map(|s| s.seal(iv, aad, buf)) {
            return;
        }
        let (data, tag) = buf.split_at_mut(buf.len() - 16);
        let tag: &mut [u8; 16] = tag.try_into().expect("split leaves 16 bytes");
        self.seal(iv, aad, data, tag);
    }

    /// Checks the tag at `buf[len..]` in constant time and decrypts
    /// `buf[..len]` in place, `len = buf.len() - 16`; false on a mismatch
    /// (the text is then unauthenticated: drop it). Short texts through
    /// [`crate::gcm_small`] where the CPU runs it. Panics if `buf` is shorter
    /// than 16 bytes.
    #[inline]
    pub fn open_in_place(&self, iv: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> bool {
        if let Some(Some(ok)) = self.small.as_ref().map(|s| s.open(iv, aad, buf)) {
            return ok;
        }
        let (data, tag) = buf.split_at_mut(buf.len() - 16);
        let tag: &[u8; 16] = (&*tag).try_into().expect("split leaves 16 bytes");
        self.open(iv, aad, data, tag)
    }

    /// Encrypts `data` in place and writes the 16-byte tag.
    pub fn seal(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8], tag: &mut [u8; 16]) {
        // Left uninitialised: the one-shot enc/dec functions run `init`
        // first, which writes every field (zeroing it would be stores the
        // library's first loads wait for).
        let mut ctx = std::mem::MaybeUninit::<GcmContextData>::uninit();
        let p = data.as_mut_ptr();
        // SAFETY: key data was initialised by the matching `pre` function;
        // `ctx` is a writable gcm_context_data; in == out is allowed
        // ("Encrypt in-place is allowed"); lengths are the slices' own; the
        // IV is 12 bytes, the tag buffer 16.
        unsafe {
            (self.enc)(
                &*self.data,
                ctx.as_mut_ptr(),
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
        // Left uninitialised: the one-shot enc/dec functions run `init`
        // first, which writes every field (zeroing it would be stores the
        // library's first loads wait for).
        let mut ctx = std::mem::MaybeUninit::<GcmContextData>::uninit();
        let mut computed = [0u8; 16];
        let p = data.as_mut_ptr();
        // A receiver builds IV and AAD right before this call (they come
        // with the packet), in several small stores; the library's wide
        // loads of them cannot be forwarded from those and wait until the
        // stores reach the cache (~20 ns per call at 64 B here). Re-stored
        // with one 16-byte store each, they forward.
        // (ESP's AADs are 8 or 12 bytes; others are passed as they are.)
        let iv = Restored::new(iv);
        let esp_aad = matches!(aad.len(), 8 | 12).then(|| Restored::new(aad));
        let aad_ptr = esp_aad.as_ref().map_or(aad.as_ptr(), |a| a.0.as_ptr());
        // SAFETY: as in `seal`; decryption in place is allowed likewise.
        unsafe {
            (self.dec)(
                &*self.data,
                ctx.as_mut_ptr(),
                p,
                p,
                data.len() as u64,
                iv.0.as_ptr(),
                aad_ptr,
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

/// 12 or 8 bytes (an IV, an ESP AAD) copied with one 16-byte store (see
/// [`GcmKey::open`]), read as 4-byte words: each read fits inside one of
/// the caller's stores (its fields are 4 or 8 bytes at offsets that are
/// multiples of 4).
#[repr(C, align(16))]
struct Restored([u8; 16]);

impl Restored {
    #[inline(always)]
    fn new(src: &[u8]) -> Self {
        use std::arch::x86_64::{_mm_set_epi32, _mm_store_si128};
        let word = |i: usize| -> i32 {
            match src.get(i..i + 4) {
                // black_box: four separate 4-byte loads, not one wide one.
                Some(&[a, b, c, d]) => std::hint::black_box(i32::from_ne_bytes([a, b, c, d])),
                _ => 0,
            }
        };
        let w = [word(0), word(4), word(8), word(12)];
        let mut out = Restored([0; 16]);
        // SAFETY: SSE2 is part of x86_64; `out` is 16 bytes and 16-aligned
        // (repr align 16), as the aligned store requires.
        unsafe {
            let v = _mm_set_epi32(w[3], w[2], w[1], w[0]);
            _mm_store_si128(out.0.as_mut_ptr().cast(), v);
        }
        out
    }
}

/// Most operations one [`GcmBurst`] call submits (a DPDK rx burst; the
/// library takes up to 128).
pub const MAX_BURST: usize = 64;

/// One buffer of a burst: `data` is encrypted or decrypted in place and its
/// last 16 bytes are the tag (written by seal, checked by open), as in
/// ESP. `data.len() >= 16`.
pub struct GcmJob<'a> {
    pub key: &'a GcmKey,
    pub iv: [u8; 12],
    pub aad: &'a [u8],
    pub data: &'a mut [u8],
}

/// An intel-ipsec-mb job manager (`IMB_MGR`) for the same instruction set
/// as [`GcmKey`], owned by one worker (`Send`, not `Sync`).
pub struct GcmBurst {
    mgr: *mut ImbMgr,
    arch: Arch,
}

// SAFETY: the manager is heap state with no thread affinity; `&mut self`
// on every submitting method keeps one thread at a time in it.
unsafe impl Send for GcmBurst {}

impl GcmBurst {
    /// `None` on a CPU without AES-NI/PCLMULQDQ or if allocation fails.
    pub fn new() -> Option<Self> {
        let arch = Arch::detect()?;
        let code = match arch {
            Arch::Sse => 0,
            Arch::Avx => 1,
            Arch::Avx2 => 2,
            Arch::VaesAvx512 => 3,
        };
        // SAFETY: plain constructor; NULL is handled.
        let mgr = unsafe { sdwan_imb_mgr_new(code) };
        (!mgr.is_null()).then_some(Self { mgr, arch })
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Encrypts every job's buffer in place and writes its tag. Returns one
    /// bool per job (false: the library refused it; the buffer is then
    /// unspecified). At most [`MAX_BURST`] jobs per call.
    pub fn seal<'a>(&mut self, jobs: impl IntoIterator<Item = GcmJob<'a>>) -> [bool; MAX_BURST] {
        self.run(true, jobs)
    }

    /// Decrypts every job's buffer in place and checks its tag in constant
    /// time. Returns one bool per job: the tag verified. A false job's
    /// buffer holds unauthenticated bytes the caller must drop.
    pub fn open<'a>(&mut self, jobs: impl IntoIterator<Item = GcmJob<'a>>) -> [bool; MAX_BURST] {
        self.run(false, jobs)
    }

    /// Jobs past the first [`MAX_BURST`] are refused (false).
    fn run<'a>(
        &mut self,
        encrypt: bool,
        jobs: impl IntoIterator<Item = GcmJob<'a>>,
    ) -> [bool; MAX_BURST] {
        let mut ok = [false; MAX_BURST];
        let mut tags = [[0u8; 16]; MAX_BURST];
        // The jobs are consumed one by one: their IVs must live here.
        let mut ivs = [[0u8; 12]; MAX_BURST];
        let mut ops: [GcmOp; MAX_BURST] = std::array::from_fn(|_| GcmOp {
            key: std::ptr::null(),
            key_len: 0,
            data: std::ptr::null_mut(),
            len: 0,
            iv: std::ptr::null(),
            aad: std::ptr::null(),
            aad_len: 0,
            tag: std::ptr::null_mut(),
            status: -1,
        });
        let mut n = 0;
        let mut index = [0usize; MAX_BURST];
        for (i, j) in jobs.into_iter().enumerate().take(MAX_BURST) {
            // A key from another code path has another table layout.
            if j.data.len() < 16 || j.key.arch != self.arch {
                continue;
            }
            let len = j.data.len() - 16;
            let tag_out = if encrypt {
                // SAFETY: in bounds, the last 16 bytes of `data`.
                unsafe { j.data.as_mut_ptr().add(len) }
            } else {
                std::ptr::null_mut()
            };
            ivs[n] = j.iv;
            ops[n] = GcmOp {
                key: &*j.key.data,
                key_len: j.key.key_len,
                data: j.data.as_mut_ptr(),
                len: len as u64,
                iv: std::ptr::null(),
                aad: j.aad.as_ptr(),
                aad_len: j.aad.len() as u64,
                tag: tag_out,
                status: -1,
            };
            index[n] = i;
            n += 1;
        }
        if n == 0 {
            return ok;
        }
        // Pointers into our own arrays, taken once they are filled.
        for (k, op) in ops[..n].iter_mut().enumerate() {
            op.iv = ivs[k].as_ptr();
            if !encrypt {
                op.tag = tags[k].as_mut_ptr();
            }
        }
        // SAFETY: `mgr` is a live manager of this key data's arch; each op
        // points into a distinct `&mut` buffer (data, tag) or our `tags`,
        // and at key data, IV and AAD that outlive the call (borrowed by
        // `jobs`); n <= 64 <= IMB_MAX_BURST_SIZE. The shim completes (flushes)
        // every job before it returns, so no pointer is kept.
        unsafe { sdwan_imb_gcm_burst(self.mgr, i32::from(encrypt), ops.as_mut_ptr(), n as u32) };
        for k in 0..n {
            let i = index[k];
            if ops[k].status != 0 {
                continue;
            }
            ok[i] = if encrypt {
                true
            } else {
                // SAFETY: the job's buffer is borrowed for 'a, which
                // outlives this call; its last 16 bytes are the tag.
                let got =
                    unsafe { std::slice::from_raw_parts(ops[k].data.add(ops[k].len as usize), 16) };
                let diff = tags[k]
                    .iter()
                    .zip(got.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b));
                std::hint::black_box(diff) == 0
            };
        }
        ok
    }
}

impl Drop for GcmBurst {
    fn drop(&mut self) {
        // SAFETY: allocated by sdwan_imb_mgr_new, freed once.
        unsafe { sdwan_imb_mgr_free(self.mgr) };
    }
}

/// Clears key material with volatile writes the optimiser may not remove.
pub(crate) fn wipe(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
}

impl Drop for GcmKey {
    fn drop(&mut self) {
        // Round keys and GHASH tables are key material.
        wipe(&mut self.data.bytes);
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

    /// A burst of mixed sizes and keys (128 and 256) seals to exactly what
    /// the direct functions produce, opens back, and flags a bad tag.
    #[test]
    fn burst_matches_direct_calls() {
        let (Some(k1), Some(k2), Some(mut burst)) = (
            GcmKey::new(&[3; 16]),
            GcmKey::new(&[4; 32]),
            GcmBurst::new(),
        ) else {
            eprintln!("SKIPPED: CPU lacks AES-NI/PCLMULQDQ");
            return;
        };
        let aad = [9u8; 12];
        let sizes = [16usize, 17, 80, 1416, 16 + 255, 64];
        let mut bufs: Vec<Vec<u8>> = sizes
            .iter()
            .map(|n| (0..*n).map(|i| i as u8).collect())
            .collect();
        let expect: Vec<Vec<u8>> = bufs
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let mut d = b.clone();
                let key = if i % 2 == 0 { &k1 } else { &k2 };
                let (data, tag) = d.split_at_mut(b.len() - 16);
                key.seal(&[i as u8; 12], &aad, data, tag.try_into().unwrap());
                d
            })
            .collect();
        let mut jobs: Vec<GcmJob<'_>> = bufs
            .iter_mut()
            .enumerate()
            .map(|(i, d)| GcmJob {
                key: if i % 2 == 0 { &k1 } else { &k2 },
                iv: [i as u8; 12],
                aad: &aad,
                data: d,
            })
            .collect();
        let ok = burst.seal(jobs.drain(..));
        assert!(ok[..sizes.len()].iter().all(|x| *x));
        drop(jobs);
        assert_eq!(bufs, expect);
        bufs[3][5] ^= 1;
        let mut jobs: Vec<GcmJob<'_>> = bufs
            .iter_mut()
            .enumerate()
            .map(|(i, d)| GcmJob {
                key: if i % 2 == 0 { &k1 } else { &k2 },
                iv: [i as u8; 12],
                aad: &aad,
                data: d,
            })
            .collect();
        let ok = burst.open(jobs.drain(..));
        assert_eq!(&ok[..sizes.len()], &[true, true, true, false, true, true]);
        drop(jobs);
        assert_eq!(
            bufs[2][..64],
            (0..64).map(|i| i as u8).collect::<Vec<_>>()[..]
        );
    }

    /// The short-text path seals exactly as intel-ipsec-mb does for every
    /// text length it takes (and one past), AAD of 0, 8, 12 and 16 bytes,
    /// AES-128 and AES-256; opens back; refuses a changed text, tag or
    /// AAD; never writes past the tag.
    #[test]
    fn small_path_matches_ipsec_mb() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as u8
        };
        for key_len in [16usize, 32] {
            let key: Vec<u8> = (0..key_len).map(|_| next()).collect();
            let k = GcmKey::new(&key).expect("AES-NI");
            if !k.has_small_path() {
                eprintln!("SKIPPED: CPU lacks VAES/AVX-512 (short-text path not used)");
                return;
            }
            for len in 0..=crate::gcm_small::MAX_TEXT + 1 {
                for aad_len in [0usize, 8, 12, 16] {
                    let iv: [u8; 12] = std::array::from_fn(|_| next());
                    let aad: Vec<u8> = (0..aad_len).map(|_| next()).collect();
                    let text: Vec<u8> = (0..len).map(|_| next()).collect();
                    // Reference: the library's one-shot function.
                    let mut want = text.clone();
                    let mut tag = [0u8; 16];
                    k.seal(&iv, &aad, &mut want, &mut tag);
                    want.extend_from_slice(&tag);
                    // In place, with a guard region after the tag.
                    let mut buf = text.clone();
                    buf.extend_from_slice(&[0xa5; 16]);
                    buf.extend_from_slice(&[0x5a; 32]);
                    let n = len + 16;
                    k.seal_in_place(&iv, &aad, &mut buf[..n]);
                    assert_eq!(
                        buf[..n],
                        want[..],
                        "seal, key {key_len}, len {len}, aad {aad_len}"
                    );
                    assert!(buf[n..].iter().all(|b| *b == 0x5a), "wrote past the tag");
                    let sealed = buf.clone();
                    assert!(k.open_in_place(&iv, &aad, &mut buf[..n]));
                    assert_eq!(buf[..len], text[..], "open, len {len}");
                    assert!(buf[n..].iter().all(|b| *b == 0x5a), "wrote past the tag");
                    for flip in [0, len / 2, n - 1] {
                        let mut bad = sealed.clone();
                        bad[flip] ^= 0x80;
                        assert!(!k.open_in_place(&iv, &aad, &mut bad[..n]), "flip {flip}");
                    }
                    if aad_len > 0 {
                        let mut bad_aad = aad.clone();
                        bad_aad[aad_len - 1] ^= 1;
                        let mut b = sealed.clone();
                        assert!(!k.open_in_place(&iv, &bad_aad, &mut b[..n]));
                    }
                }
            }
        }
    }
}
