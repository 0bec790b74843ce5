//! The engine the edge uses when both fast backends are built in:
//! intel-ipsec-mb where the CPU runs it (AES-NI + PCLMULQDQ; its VAES /
//! AVX-512 path where present: about 3x aws-lc's rate at 64 B on this
//! machine), aws-lc-rs otherwise. Chosen once per key; the per-packet
//! cost of the choice is one predictable branch.
use super::{AeadEngine, AwsLcGcm, BadKey, IpsecMbGcm, TagMismatch, NONCE_LEN};

pub enum BestGcm {
    IpsecMb(IpsecMbGcm),
    AwsLc(AwsLcGcm),
}

impl AeadEngine for BestGcm {
    const NAME: &'static str = "best (ipsec-mb, else aws-lc)";

    type Burst = ();

    fn new_burst() -> Self::Burst {}

    fn new(key: &[u8]) -> Result<Self, BadKey> {
        match IpsecMbGcm::new(key) {
            Ok(e) => Ok(BestGcm::IpsecMb(e)),
            Err(_) => AwsLcGcm::new(key).map(BestGcm::AwsLc),
        }
    }

    #[inline(always)]
    fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) {
        match self {
            BestGcm::IpsecMb(e) => e.seal(nonce, aad, buf),
            BestGcm::AwsLc(e) => e.seal(nonce, aad, buf),
        }
    }

    #[inline(always)]
    fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> Result<(), TagMismatch> {
        match self {
            BestGcm::IpsecMb(e) => e.open(nonce, aad, buf),
            BestGcm::AwsLc(e) => e.open(nonce, aad, buf),
        }
    }
}
