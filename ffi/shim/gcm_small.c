/* AES-GCM (NIST SP 800-38D) for short messages: up to SDWAN_GCM_SMALL_BLOCKS
 * 16-byte blocks, one AAD block at most (ESP's 8 or 12 bytes), 12-byte IV,
 * 16-byte tag. Built only with the sdwan-ffi `ipsec-mb` feature: the round
 * keys come from intel-ipsec-mb's expanded key (struct gcm_key_data starts
 * with them, in order), and longer messages go to that library.
 *
 * Why: for a 64 B client frame the library's one-shot functions spend as
 * long on set-up (J0, AAD, partial block, length block, each its own step)
 * as on the cipher. Here all counter blocks (J0 included) go through the
 * AES rounds together, and GHASH is one sum of carry-less products with
 * precomputed key powers, reduced once:
 *
 *   GHASH is computed as POLYVAL (RFC 8452 Appendix A):
 *     GHASH(H, X1..Xm) = ByteReverse(POLYVAL(mulX(ByteReverse(H)),
 *                                            ByteReverse(X1..Xm)))
 *     POLYVAL(K, X1..Xm) = sum_j Xj * K^(m-j+1) * x^(-128 (m-j+1))
 *                        = reduce(sum_j clmul(Xj, P[m-j+1]))
 *   where P[1] = K, P[i+1] = dot(P[i], K), dot(a, b) = a b x^-128, in
 *   GF(2^128) mod x^128 + x^127 + x^126 + x^121 + 1.
 *
 *   blocks: [AAD, zero-padded] C1 .. Cn (last zero-padded) LEN
 *   LEN = be64(aad bits) || be64(text bits)
 *   tag = E(K, J0) xor GHASH, J0 = IV || 0x00000001, Ci = Pi xor E(K, IV || i+1)
 *
 * Four blocks per VAES / VPCLMULQDQ instruction (AVX-512): the text is
 * read and written with byte-masked 64-byte loads and stores, so nothing
 * past it is touched. Buffers: `buf` holds the text followed by the
 * 16-byte tag (ESP's layout, RFC 4303 §2: the ICV follows the trailer). */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SDWAN_GCM_SMALL_BLOCKS 8
#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,avx2,avx,aes,pclmul,ssse3,sse4.1")))
#define INLINE static inline __attribute__((always_inline))

/* Mirrors `GcmSmallKey` in src/ipsec_mb.rs (size checked at init). */
struct sdwan_gcm_small {
        __m128i rk[15];                         /* round keys 0..rounds */
        /* POLYVAL key powers, descending: desc[t] = P[10 - t] for t < 10,
         * zero after, so the powers of blocks i.. of an n-block text are
         * the consecutive desc[9 - n + i]... (one 64-byte load per four). */
        __m128i desc[16];
        uint32_t rounds;                        /* 10 or 14 */
};

TARGET INLINE __m128i reverse_bytes(__m128i x)
{
        return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* lo/mid/hi += the 256-bit carry-less product a * b (mid: the two cross
 * terms, at bit 64). */
TARGET INLINE void clmul_add(__m128i a, __m128i b, __m128i *lo, __m128i *mid, __m128i *hi)
{
        *lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, b, 0x00));
        *hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, b, 0x11));
        *mid = _mm_xor_si128(*mid, _mm_clmulepi64_si128(a, b, 0x01));
        *mid = _mm_xor_si128(*mid, _mm_clmulepi64_si128(a, b, 0x10));
}

/* (hi:lo + mid << 64) * x^-128 mod the POLYVAL polynomial (two folds by
 * 0xc2000000_00000000, the reduction of x^128 shifted into the low half). */
TARGET INLINE __m128i reduce(__m128i lo, __m128i mid, __m128i hi)
{
        const __m128i poly = _mm_set_epi64x((long long)0xc200000000000000ULL, 1);
        lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
        hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
        __m128i t = _mm_clmulepi64_si128(lo, poly, 0x10);
        lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), t);
        t = _mm_clmulepi64_si128(lo, poly, 0x10);
        lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), t);
        return _mm_xor_si128(hi, lo);
}

TARGET INLINE __m128i dot(__m128i a, __m128i b)
{
        __m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
        clmul_add(a, b, &lo, &mid, &hi);
        return reduce(lo, mid, hi);
}

TARGET INLINE __m128i aes_block(const struct sdwan_gcm_small *k, __m128i b)
{
        b = _mm_xor_si128(b, k->rk[0]);
        for (uint32_t r = 1; r < k->rounds; r++)
                b = _mm_aesenc_si128(b, k->rk[r]);
        return _mm_aesenclast_si128(b, k->rk[k->rounds]);
}

/* `round_keys`: (rounds + 1) x 16 bytes, AES-128 (10) or AES-256 (14).
 * Returns 0, or -1 when `size` is not this struct's size or rounds is
 * neither. */
TARGET int sdwan_gcm_small_init(struct sdwan_gcm_small *k, size_t size, const uint8_t *round_keys,
                                uint32_t rounds)
{
        if (size != sizeof(*k) || (rounds != 10 && rounds != 14))
                return -1;
        memset(k, 0, sizeof(*k));
        k->rounds = rounds;
        for (uint32_t r = 0; r <= rounds; r++)
                k->rk[r] = _mm_loadu_si128((const __m128i *)(round_keys + 16 * r));
        /* H = E(K, 0); h = ByteReverse(H) as a 128-bit integer; K = h * x. */
        __m128i h = reverse_bytes(aes_block(k, _mm_setzero_si128()));
        uint64_t h_lo = (uint64_t)_mm_cvtsi128_si64(h);
        uint64_t h_hi = (uint64_t)_mm_extract_epi64(h, 1);
        uint64_t carry = h_hi >> 63;
        h_hi = (h_hi << 1) | (h_lo >> 63);
        h_lo <<= 1;
        if (carry) {
                h_hi ^= 0xc200000000000000ULL;
                h_lo ^= 1;
        }
        const __m128i p1 = _mm_set_epi64x((long long)h_hi, (long long)h_lo);
        __m128i p = p1;
        for (int i = 1; i <= SDWAN_GCM_SMALL_BLOCKS + 2; i++) {
                k->desc[10 - i] = p;
                p = dot(p, p1);
        }
        return 0;
}

/* Three or two 4-byte words: callers build IVs and AADs from 4- and
 * 8-byte fields (SPI, sequence numbers, salt) stored just before the call;
 * a wider load spanning two of those stores cannot be forwarded from them
 * and would wait until they reach the cache. */
INLINE uint32_t word_at(const uint8_t *p)
{
        uint32_t w;
        memcpy(&w, p, 4);
        return w;
}

/* The IV as the counter block's first 12 bytes, last 4 zero. */
TARGET INLINE __m128i load_iv(const uint8_t *iv)
{
        __m128i v = _mm_cvtsi32_si128((int)word_at(iv));
        v = _mm_insert_epi32(v, (int)word_at(iv + 4), 1);
        return _mm_insert_epi32(v, (int)word_at(iv + 8), 2);
}

/* The AAD zero-padded to one block, byte-reversed; zero when empty. */
TARGET INLINE __m128i load_aad(const uint8_t *aad, size_t len)
{
        __m128i a;
        if (len == 0)
                return _mm_setzero_si128();
        if (len == 8 || len == 12) {
                a = _mm_cvtsi32_si128((int)word_at(aad));
                a = _mm_insert_epi32(a, (int)word_at(aad + 4), 1);
                if (len == 12)
                        a = _mm_insert_epi32(a, (int)word_at(aad + 8), 2);
        } else {
                uint8_t tmp[16] = {0};
                memcpy(tmp, aad, len);
                a = _mm_loadu_si128((const __m128i *)tmp);
        }
        return reverse_bytes(a);
}

TARGET INLINE __m512i reverse_lanes(__m512i x)
{
        const __m128i r = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        return _mm512_shuffle_epi8(x, _mm512_broadcast_i32x4(r));
}

TARGET INLINE void clmul_add4(__m512i a, __m512i b, __m512i *lo, __m512i *mid, __m512i *hi)
{
        *lo = _mm512_xor_si512(*lo, _mm512_clmulepi64_epi128(a, b, 0x00));
        *hi = _mm512_xor_si512(*hi, _mm512_clmulepi64_epi128(a, b, 0x11));
        *mid = _mm512_xor_si512(*mid, _mm512_clmulepi64_epi128(a, b, 0x01));
        *mid = _mm512_xor_si512(*mid, _mm512_clmulepi64_epi128(a, b, 0x10));
}

/* XOR of the four 128-bit lanes. */
TARGET INLINE __m128i fold4(__m512i x)
{
        const __m256i y = _mm256_xor_si256(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64(x, 1));
        return _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
}

/* Bytes [0, len) of a 64-byte chunk (len may exceed 64). */
INLINE __mmask64 byte_mask(size_t len)
{
        return len >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << len) - 1);
}

/* The key stream: E(K, J0) in `j0`, counters 2..5 in `z0`, 6..9 in `z1`
 * (when `two`), all rounds interleaved, four blocks per VAES instruction. */
TARGET INLINE void key_stream(const struct sdwan_gcm_small *k, __m128i iv, const int two, __m128i *j0, __m512i *z0,
                              __m512i *z1)
{
        const __m512i base = _mm512_broadcast_i32x4(iv);
        __m512i a = _mm512_or_si512(base, _mm512_set_epi32(0x05000000, 0, 0, 0, 0x04000000, 0, 0, 0,
                                                           0x03000000, 0, 0, 0, 0x02000000, 0, 0, 0));
        __m512i b = _mm512_or_si512(base, _mm512_set_epi32(0x09000000, 0, 0, 0, 0x08000000, 0, 0, 0,
                                                           0x07000000, 0, 0, 0, 0x06000000, 0, 0, 0));
        __m128i x = _mm_insert_epi32(iv, 0x01000000, 3);
        __m512i rk = _mm512_broadcast_i32x4(k->rk[0]);
        a = _mm512_xor_si512(a, rk);
        if (two)
                b = _mm512_xor_si512(b, rk);
        x = _mm_xor_si128(x, k->rk[0]);
        for (uint32_t r = 1; r < k->rounds; r++) {
                rk = _mm512_broadcast_i32x4(k->rk[r]);
                a = _mm512_aesenc_epi128(a, rk);
                if (two)
                        b = _mm512_aesenc_epi128(b, rk);
                x = _mm_aesenc_si128(x, k->rk[r]);
        }
        rk = _mm512_broadcast_i32x4(k->rk[k->rounds]);
        *z0 = _mm512_aesenclast_epi128(a, rk);
        if (two)
                *z1 = _mm512_aesenclast_epi128(b, rk);
        *j0 = _mm_aesenclast_si128(x, k->rk[k->rounds]);
}

/* GHASH(AAD, C1..Cn, LEN) xor E(K, J0), n = ceil(len / 16), from the text
 * blocks in c0 (1..4) and c1 (5..8), zero past `len`, not yet reversed. */
TARGET INLINE __m128i tag_of(const struct sdwan_gcm_small *k, __m128i aad, size_t aad_len, __m512i c0, __m512i c1,
                             const int two, size_t len, __m128i j0)
{
        const int n = (int)((len + 15) / 16);
        __m512i lo4 = _mm512_setzero_si512(), mid4 = lo4, hi4 = lo4;
        clmul_add4(reverse_lanes(c0), _mm512_loadu_si512(&k->desc[9 - n]), &lo4, &mid4, &hi4);
        if (two)
                clmul_add4(reverse_lanes(c1), _mm512_loadu_si512(&k->desc[13 - n]), &lo4, &mid4, &hi4);
        __m128i lo = fold4(lo4), mid = fold4(mid4), hi = fold4(hi4);
        if (aad_len)
                clmul_add(aad, k->desc[8 - n], &lo, &mid, &hi);
        const __m128i len_block = _mm_set_epi64x((long long)(aad_len * 8), (long long)(len * 8));
        clmul_add(len_block, k->desc[9], &lo, &mid, &hi);
        return _mm_xor_si128(reverse_bytes(reduce(lo, mid, hi)), j0);
}

TARGET INLINE void seal_v(const struct sdwan_gcm_small *k, __m128i iv, __m128i aad, size_t aad_len, uint8_t *buf,
                          size_t len, const int two)
{
        const __mmask64 m0 = byte_mask(len), m1 = two ? byte_mask(len - 64) : 0;
        /* Loads first: they may wait for the caller's last stores to the
         * text while the AES rounds run. */
        const __m512i p0 = _mm512_maskz_loadu_epi8(m0, buf);
        const __m512i p1 = two ? _mm512_maskz_loadu_epi8(m1, buf + 64) : _mm512_setzero_si512();
        __m128i j0;
        __m512i z0, z1 = _mm512_setzero_si512();
        key_stream(k, iv, two, &j0, &z0, &z1);
        const __m512i c0m = _mm512_maskz_mov_epi8(m0, _mm512_xor_si512(p0, z0));
        _mm512_mask_storeu_epi8(buf, m0, c0m);
        __m512i c1m = _mm512_setzero_si512();
        if (two) {
                c1m = _mm512_maskz_mov_epi8(m1, _mm512_xor_si512(p1, z1));
                _mm512_mask_storeu_epi8(buf + 64, m1, c1m);
        }
        _mm_storeu_si128((__m128i *)(buf + len), tag_of(k, aad, aad_len, c0m, c1m, two, len, j0));
}

/* Encrypts buf[0..len) in place and writes the tag to buf[len..len+16).
 * len <= 16 * SDWAN_GCM_SMALL_BLOCKS, aad_len <= 16 (checked by the
 * caller). */
TARGET void sdwan_gcm_small_seal(const struct sdwan_gcm_small *k, const uint8_t *iv, const uint8_t *aad,
                                 size_t aad_len, uint8_t *buf, size_t len)
{
        const __m128i ivb = load_iv(iv);
        const __m128i a = load_aad(aad, aad_len);
        if (len <= 64)
                seal_v(k, ivb, a, aad_len, buf, len, 0);
        else
                seal_v(k, ivb, a, aad_len, buf, len, 1);
}

TARGET INLINE int open_v(const struct sdwan_gcm_small *k, __m128i iv, __m128i aad, size_t aad_len, uint8_t *buf,
                         size_t len, const int two)
{
        const __mmask64 m0 = byte_mask(len), m1 = two ? byte_mask(len - 64) : 0;
        const __m512i c0 = _mm512_maskz_loadu_epi8(m0, buf);
        const __m512i c1 = two ? _mm512_maskz_loadu_epi8(m1, buf + 64) : _mm512_setzero_si512();
        __m128i j0;
        __m512i z0, z1 = _mm512_setzero_si512();
        key_stream(k, iv, two, &j0, &z0, &z1);
        const __m128i want = tag_of(k, aad, aad_len, c0, c1, two, len, j0);
        const __m128i got = _mm_loadu_si128((const __m128i *)(buf + len));
        /* Constant time: all 16 bytes compared at once. */
        const int ok = _mm_movemask_epi8(_mm_cmpeq_epi8(want, got)) == 0xffff;
        /* Decrypted either way: the caller drops the packet on a mismatch. */
        _mm512_mask_storeu_epi8(buf, m0, _mm512_xor_si512(c0, z0));
        if (two)
                _mm512_mask_storeu_epi8(buf + 64, m1, _mm512_xor_si512(c1, z1));
        return ok;
}

/* Checks the tag at buf[len..len+16) and decrypts buf[0..len) in place.
 * Returns 1 when the tag matched. Limits as for seal. */
TARGET int sdwan_gcm_small_open(const struct sdwan_gcm_small *k, const uint8_t *iv, const uint8_t *aad,
                                size_t aad_len, uint8_t *buf, size_t len)
{
        const __m128i ivb = load_iv(iv);
        const __m128i a = load_aad(aad, aad_len);
        if (len <= 64)
                return open_v(k, ivb, a, aad_len, buf, len, 0);
        return open_v(k, ivb, a, aad_len, buf, len, 1);
}
