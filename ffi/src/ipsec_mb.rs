//! intel-ipsec-mb AES-GCM binding (libIPSec_MB).
