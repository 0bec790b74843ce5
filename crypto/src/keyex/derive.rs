//! Key agreement without a per-pair IKE exchange (draft §4.3): every WAN
//! port has an X25519 key pair (RFC 7748), a nonce and a rekey counter,
//! advertised over BGP ([`super::params`]). Two ports that see each other's
//! advertisement compute the same shared secret and derive, with
//! HKDF-SHA256 (RFC 5869), one SA per direction:
//!
//! ```text
//! PRK      = HKDF-Extract(salt = nonce(lo) ‖ nonce(hi), IKM = X25519(priv, peer pub))
//! dir(S,R) = ep(S) ‖ ep(R) ‖ counter(S) ‖ counter(R)
//!            ep = family (4|6) ‖ node ID (4|16 B) ‖ port-local ID (4 B)
//! SPI(S→R) = HKDF-Expand(PRK, "sdwan-esp-v1 spi" ‖ dir(S,R), 4), raised to >= 256
//! KEY(S→R) = HKDF-Expand(PRK, "sdwan-esp-v1 key" ‖ transform ‖ dir(S,R)
//!                             ‖ SPI(S→R) ‖ SPI(R→S), key_len + 4)  = key ‖ salt
//! ```
//! `lo`/`hi` order the two endpoints by their `ep` encoding, so both sides
//! agree. Both node IDs, port IDs, both SPIs and both counters are bound.
//! SPIs are derived, not advertised, because one BGP route reaches every
//! peer; the receiver checks a derived SPI against its SADB and, on the
//! (2^-32 per pair) collision, bumps its rekey counter (see `Sadb`).
//!
//! Private keys never leave this type: [`PortSecret`] has no accessor for
//! them, and x25519-dalek zeroizes `StaticSecret` and the shared secret on
//! drop.

use super::params::{NonceParam, PublicKeyParam};
use crate::esp::{Cipher, KeyMaterial, SaParams, MIN_SPI};
use hkdf::Hkdf;
use sha2::Sha256;
use std::net::IpAddr;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

const NONCE_LEN: usize = 16;

/// One end of a tunnel: SD-WAN node ID and the WAN port's Port-Local-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub node: IpAddr,
    pub port: u32,
}

impl Endpoint {
    fn encode(&self, out: &mut Vec<u8>) {
        match self.node {
            IpAddr::V4(a) => {
                out.push(4);
                out.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                out.push(6);
                out.extend_from_slice(&a.octets());
            }
        }
        out.extend_from_slice(&self.port.to_be_bytes());
    }

    fn encoded(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(21);
        self.encode(&mut v);
        v
    }
}

/// Why a pair's SAs could not be derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeriveError {
    /// The peer's public key is a low-order point: the shared secret would
    /// be all zero (RFC 7748 §6.1).
    NonContributory,
    /// Both ends are the same endpoint.
    SameEndpoint,
    /// The operating system's random source failed.
    NoRandom,
}

impl core::fmt::Display for DeriveError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DeriveError::NonContributory => "peer public key is a low-order point",
            DeriveError::SameEndpoint => "local and peer endpoints are the same",
            DeriveError::NoRandom => "random source failed",
        })
    }
}

impl std::error::Error for DeriveError {}

/// A WAN port's key agreement secret: X25519 private key (zeroized on
/// drop, never exported), nonce and rekey counter.
pub struct PortSecret {
    endpoint: Endpoint,
    secret: StaticSecret,
    public: PublicKey,
    nonce: [u8; NONCE_LEN],
    counter: u32,
}

impl core::fmt::Debug for PortSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PortSecret")
            .field("endpoint", &self.endpoint)
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

fn random<const N: usize>() -> Result<[u8; N], DeriveError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|_| DeriveError::NoRandom)?;
    Ok(b)
}

impl PortSecret {
    /// A fresh key pair and nonce from the OS random source.
    pub fn generate(endpoint: Endpoint, counter: u32) -> Result<Self, DeriveError> {
        let secret_bytes = Zeroizing::new(random::<32>()?);
        Ok(Self::from_secret(
            endpoint,
            *secret_bytes,
            random::<NONCE_LEN>()?,
            counter,
        ))
    }

    /// From given bytes (tests, or a key restored from protected storage).
    pub fn from_secret(
        endpoint: Endpoint,
        secret: [u8; 32],
        nonce: [u8; NONCE_LEN],
        counter: u32,
    ) -> Self {
        let secret = StaticSecret::from(secret);
        let public = PublicKey::from(&secret);
        Self {
            endpoint,
            secret,
            public,
            nonce,
            counter,
        }
    }

    /// Rekey: a new key pair and nonce, counter + 1. The old private key is
    /// zeroized as it is dropped.
    pub fn rekey(&mut self) -> Result<(), DeriveError> {
        let next = Self::generate(self.endpoint, self.counter.wrapping_add(1))?;
        *self = next;
        Ok(())
    }

    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// What BGP advertises for this port (sub-TLVs 68 and 67).
    pub fn advertisement(&self) -> PeerParams {
        PeerParams {
            endpoint: self.endpoint,
            public_key: PublicKeyParam(*self.public.as_bytes()),
            nonce: NonceParam::new(self.counter, &self.nonce).expect("16-byte nonce is in range"),
        }
    }
}

/// A peer port's advertised parameters, as decoded from BGP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerParams {
    pub endpoint: Endpoint,
    pub public_key: PublicKeyParam,
    pub nonce: NonceParam,
}

/// One direction's SA: SPI, key material and the per-SA parameters to
/// build [`InboundSa`](crate::InboundSa) / [`OutboundSa`](crate::OutboundSa)
/// from (`params.spi == spi`). [`derive_pair`] fills `params` with
/// [`SaParams::new`]'s defaults; [`super::Manager`] applies its policy.
#[derive(Debug, Clone)]
pub struct DirectionalSa {
    pub spi: u32,
    pub keys: KeyMaterial,
    pub params: SaParams,
}

/// Both directions between a local and a peer port, plus the counters they
/// were derived from (the generation).
#[derive(Debug, Clone)]
pub struct PairKeys {
    pub outbound: DirectionalSa,
    pub inbound: DirectionalSa,
    pub local_counter: u32,
    pub peer_counter: u32,
}

/// Derives both directions' SAs between `local` and `peer`.
pub fn derive_pair(
    local: &PortSecret,
    peer: &PeerParams,
    cipher: Cipher,
) -> Result<PairKeys, DeriveError> {
    let le = local.endpoint;
    let pe = peer.endpoint;
    if le == pe {
        return Err(DeriveError::SameEndpoint);
    }
    let shared = local
        .secret
        .diffie_hellman(&PublicKey::from(peer.public_key.0));
    if !shared.was_contributory() {
        return Err(DeriveError::NonContributory);
    }
    let (le_b, pe_b) = (le.encoded(), pe.encoded());
    let mut salt = Vec::with_capacity(2 * 32);
    if le_b < pe_b {
        salt.extend_from_slice(&local.nonce);
        salt.extend_from_slice(peer.nonce.nonce());
    } else {
        salt.extend_from_slice(peer.nonce.nonce());
        salt.extend_from_slice(&local.nonce);
    }
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes());
    let lc = local.counter;
    let pc = peer.nonce.rekey_counter;
    let dir_out = dir_info(&le_b, &pe_b, lc, pc);
    let dir_in = dir_info(&pe_b, &le_b, pc, lc);
    let spi_out = spi(&hk, &dir_out);
    let spi_in = spi(&hk, &dir_in);
    Ok(PairKeys {
        outbound: DirectionalSa {
            spi: spi_out,
            keys: keys(&hk, cipher, &dir_out, spi_out, spi_in),
            params: SaParams::new(spi_out),
        },
        inbound: DirectionalSa {
            spi: spi_in,
            keys: keys(&hk, cipher, &dir_in, spi_in, spi_out),
            params: SaParams::new(spi_in),
        },
        local_counter: lc,
        peer_counter: pc,
    })
}

fn dir_info(sender: &[u8], receiver: &[u8], cs: u32, cr: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(sender.len() + receiver.len() + 8);
    v.extend_from_slice(sender);
    v.extend_from_slice(receiver);
    v.extend_from_slice(&cs.to_be_bytes());
    v.extend_from_slice(&cr.to_be_bytes());
    v
}

fn spi(hk: &Hkdf<Sha256>, dir: &[u8]) -> u32 {
    let mut okm = [0u8; 4];
    hk.expand_multi_info(&[b"sdwan-esp-v1 spi", dir], &mut okm)
        .expect("4 bytes is a valid HKDF length");
    let s = u32::from_be_bytes(okm);
    if s < MIN_SPI {
        s + MIN_SPI
    } else {
        s
    }
}

fn keys(
    hk: &Hkdf<Sha256>,
    cipher: Cipher,
    dir: &[u8],
    spi_this: u32,
    spi_other: u32,
) -> KeyMaterial {
    let transform = [match cipher {
        Cipher::AesGcm128 => 1u8,
        Cipher::AesGcm256 => 2u8,
    }];
    let n = cipher.key_len() + 4;
    let mut okm = Zeroizing::new([0u8; 36]);
    hk.expand_multi_info(
        &[
            b"sdwan-esp-v1 key",
            &transform,
            dir,
            &spi_this.to_be_bytes(),
            &spi_other.to_be_bytes(),
        ],
        &mut okm[..n],
    )
    .expect("36 bytes is a valid HKDF length");
    KeyMaterial::from_rfc4106(cipher, &okm[..n]).expect("length matches the cipher")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(n: u8, port: u32) -> Endpoint {
        Endpoint {
            node: IpAddr::from([192, 0, 2, n]),
            port,
        }
    }

    #[test]
    fn both_sides_derive_mirrored_sas() {
        let a = PortSecret::from_secret(ep(1, 1), [1; 32], [0xa; 16], 7);
        let b = PortSecret::from_secret(ep(2, 3), [2; 32], [0xb; 16], 9);
        for cipher in [Cipher::AesGcm128, Cipher::AesGcm256] {
            let ab = derive_pair(&a, &b.advertisement(), cipher).unwrap();
            let ba = derive_pair(&b, &a.advertisement(), cipher).unwrap();
            assert_eq!(ab.outbound.spi, ba.inbound.spi);
            assert_eq!(ab.inbound.spi, ba.outbound.spi);
            assert_eq!(ab.outbound.keys.key(), ba.inbound.keys.key());
            assert_eq!(ab.outbound.keys.salt(), ba.inbound.keys.salt());
            assert_eq!(ab.inbound.keys.key(), ba.outbound.keys.key());
            assert_ne!(ab.outbound.keys.key(), ab.inbound.keys.key());
            assert_ne!(ab.outbound.spi, ab.inbound.spi);
            assert!(ab.outbound.spi >= MIN_SPI && ab.inbound.spi >= MIN_SPI);
            assert_eq!(ab.outbound.keys.key().len(), cipher.key_len());
        }
    }

    #[test]
    fn every_bound_input_changes_the_keys() {
        let a = PortSecret::from_secret(ep(1, 1), [1; 32], [0xa; 16], 7);
        let b = PortSecret::from_secret(ep(2, 3), [2; 32], [0xb; 16], 9);
        let base = derive_pair(&a, &b.advertisement(), Cipher::AesGcm128).unwrap();
        let variants = [
            PortSecret::from_secret(ep(2, 3), [2; 32], [0xb; 16], 10), // counter
            PortSecret::from_secret(ep(2, 4), [2; 32], [0xb; 16], 9),  // port
            PortSecret::from_secret(ep(5, 3), [2; 32], [0xb; 16], 9),  // node
            PortSecret::from_secret(ep(2, 3), [2; 32], [0xc; 16], 9),  // nonce
            PortSecret::from_secret(ep(2, 3), [3; 32], [0xb; 16], 9),  // key
        ];
        for v in variants {
            let d = derive_pair(&a, &v.advertisement(), Cipher::AesGcm128).unwrap();
            assert_ne!(d.outbound.keys.key(), base.outbound.keys.key(), "{v:?}");
            assert_ne!(d.outbound.spi, base.outbound.spi, "{v:?}");
        }
    }

    #[test]
    fn low_order_and_self_refused() {
        let a = PortSecret::from_secret(ep(1, 1), [1; 32], [0xa; 16], 0);
        let mut bad = a.advertisement();
        bad.endpoint = ep(2, 1);
        bad.public_key = PublicKeyParam({
            let mut k = [0u8; 32];
            k[0] = 1; // the point of order 1 (u = 1)
            k
        });
        assert_eq!(
            derive_pair(&a, &bad, Cipher::AesGcm128).unwrap_err(),
            DeriveError::NonContributory
        );
        assert_eq!(
            derive_pair(&a, &a.advertisement(), Cipher::AesGcm128).unwrap_err(),
            DeriveError::SameEndpoint
        );
    }

    #[test]
    fn rekey_changes_key_pair_and_counter() {
        let mut a = PortSecret::generate(ep(1, 1), 0).unwrap();
        let before = a.advertisement();
        a.rekey().unwrap();
        let after = a.advertisement();
        assert_eq!(after.nonce.rekey_counter, 1);
        assert_ne!(before.public_key, after.public_key);
        assert_ne!(before.nonce.nonce(), after.nonce.nonce());
        assert!(!format!("{a:?}").contains("secret:"));
    }
}
