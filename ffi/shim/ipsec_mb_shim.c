/* intel-ipsec-mb job/burst API shim: IMB_MGR's entry points are function
 * pointers inside a struct whose layout Rust does not mirror, and IMB_JOB
 * is large and version-specific, so the burst loop lives here. Built only
 * with the sdwan-ffi `ipsec-mb` feature; see src/ipsec_mb.rs. */
#include <stdint.h>
#include <string.h>
#include <intel-ipsec-mb.h>

/* One AES-GCM operation; mirrors `GcmOp` in src/ipsec_mb.rs. */
struct sdwan_gcm_op {
        const struct gcm_key_data *key;
        uint64_t key_len;       /* 16 or 32 */
        uint8_t *data;          /* in place */
        uint64_t len;
        const uint8_t *iv;      /* 12 bytes */
        const uint8_t *aad;
        uint64_t aad_len;
        uint8_t *tag;           /* 16 bytes out: the computed tag */
        int32_t status;         /* out: 0 done, else IMB status/errno */
};

/* A manager for the instruction set `arch` (0 SSE, 1 AVX, 2 AVX2, 3 AVX-512), the
 * same path the direct GCM functions use, so gcm_key_data layouts match. */
IMB_MGR *sdwan_imb_mgr_new(int arch)
{
        IMB_MGR *m = alloc_mb_mgr(0);
        if (m == NULL)
                return NULL;
        switch (arch) {
        case 0: init_mb_mgr_sse(m); break;
        case 1: init_mb_mgr_avx(m); break;
        case 2: init_mb_mgr_avx2(m); break;
        case 3: init_mb_mgr_avx512(m); break;
        default: free_mb_mgr(m); return NULL;
        }
        if (imb_get_errno(m) != 0) {
                free_mb_mgr(m);
                return NULL;
        }
        return m;
}

void sdwan_imb_mgr_free(IMB_MGR *m)
{
        free_mb_mgr(m);
}

static void fill(IMB_JOB *job, struct sdwan_gcm_op *op, int encrypt)
{
        job->cipher_mode = IMB_CIPHER_GCM;
        job->hash_alg = IMB_AUTH_AES_GMAC;
        job->cipher_direction = encrypt ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
        job->chain_order = encrypt ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
        job->enc_keys = op->key;
        job->dec_keys = op->key;
        job->key_len_in_bytes = op->key_len;
        job->src = op->data;
        job->dst = op->data;
        job->cipher_start_src_offset_in_bytes = 0;
        job->msg_len_to_cipher_in_bytes = op->len;
        job->hash_start_src_offset_in_bytes = 0;
        job->msg_len_to_hash_in_bytes = op->len;
        job->iv = op->iv;
        job->iv_len_in_bytes = 12;
        job->u.GCM.aad = op->aad;
        job->u.GCM.aad_len_in_bytes = op->aad_len;
        job->auth_tag_output = op->tag;
        job->auth_tag_output_len_in_bytes = 16;
        job->user_data = op;
}

static void done(IMB_JOB *job)
{
        struct sdwan_gcm_op *op = job->user_data;
        op->status = job->status == IMB_STATUS_COMPLETED ? 0 : (int32_t)job->status;
}

/* Runs `n` (<= IMB_MAX_BURST_SIZE) operations of one direction through
 * IMB_GET_NEXT_BURST / IMB_SUBMIT_BURST / IMB_FLUSH_BURST. Returns how many
 * completed; each op's status says which. */
uint32_t sdwan_imb_gcm_burst(IMB_MGR *m, int encrypt, struct sdwan_gcm_op *ops, uint32_t n)
{
        IMB_JOB *jobs[IMB_MAX_BURST_SIZE];
        uint32_t i, got, completed = 0;

        if (n > IMB_MAX_BURST_SIZE)
                n = IMB_MAX_BURST_SIZE;
        for (i = 0; i < n; i++)
                ops[i].status = -1;
        got = IMB_GET_NEXT_BURST(m, n, jobs);
        if (got < n) {
                /* Queue holds earlier jobs: complete them, then retry. */
                while (IMB_FLUSH_BURST(m, IMB_MAX_BURST_SIZE, jobs) > 0)
                        ;
                got = IMB_GET_NEXT_BURST(m, n, jobs);
                if (got < n)
                        return 0;
        }
        for (i = 0; i < n; i++)
                fill(jobs[i], &ops[i], encrypt);
        got = IMB_SUBMIT_BURST_NOCHECK(m, n, jobs);
        if (got == 0 && imb_get_errno(m) != 0)
                return 0;
        for (i = 0; i < got; i++)
                done(jobs[i]);
        completed = got;
        if (completed < n) {
                got = IMB_FLUSH_BURST(m, n - completed, jobs);
                for (i = 0; i < got; i++)
                        done(jobs[i]);
                completed += got;
        }
        return completed;
}
