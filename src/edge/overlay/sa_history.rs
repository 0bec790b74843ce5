//! Which SAs (SPI + key material) this process has put into service, so
//! that one is never put into service twice.
//!
//! Keys are derived from both ports' advertised parameters. When a peer's
//! WAN route is withdrawn and comes back unchanged (a reflector session
//! flap, a port taken down and up), the manager derives the very same SAs
//! again. Using one of them afresh would restart its sequence number under
//! the same key, i.e. repeat AES-GCM nonces (RFC 4106 §3.1, fatal for
//! GCM), and a fresh inbound replay window would accept old packets
//! again. So such an SA is refused and the local port is rekeyed (new
//! nonce, new keys for every pair on it, make-before-break) instead.
//!
//! Only a 128-bit digest of each SA is kept, never the key itself.
use sdwan_crypto::keyex::DirectionalSa;
use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};

/// Digests kept; the oldest are forgotten first. Far more than the SAs a
/// process can go through between restarts at the default lifetimes.
const CAPACITY: usize = 1 << 16;

#[derive(Default)]
pub struct SaHistory {
    seen: HashSet<[u8; 16]>,
    order: VecDeque<[u8; 16]>,
}

fn digest(sa: &DirectionalSa) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"sdwan sa history");
    h.update(sa.spi.to_be_bytes());
    h.update(sa.keys.key());
    h.update(sa.keys.salt());
    let d = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

impl SaHistory {
    /// Records `sa` as in service; `false` when it already was once.
    pub fn first_use(&mut self, sa: &DirectionalSa) -> bool {
        let d = digest(sa);
        if !self.seen.insert(d) {
            return false;
        }
        self.order.push_back(d);
        if self.order.len() > CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}
