//! The control plane's SA database: which SAs exist, for which tunnel, and
//! when they expire. The workers hold the hot state ([`InboundSa`],
//! [`OutboundSa`]) built from these entries; the SADB never touches
//! packets.
//!
//! - Inbound SAs are keyed by SPI alone (RFC 4303 §2.1 unicast lookup), so
//!   SPIs must be unique on this edge: [`Sadb::allocate_spi`] draws random
//!   free SPIs for static SAs and [`Sadb::add_inbound`] refuses a derived
//!   SPI that collides (the caller then rekeys its port, which changes every
//!   derived SPI of the port).
//! - Outbound SAs are keyed by tunnel: (peer node, local WAN port, remote
//!   WAN port).
//! - Lifetimes in seconds are checked here ([`Sadb::expired`]); packet and
//!   byte lifetimes are counted by the worker owning the SA.
//!
//! Sequence-number uniqueness with several workers: each outbound SA has one
//! owner worker (its `encap` takes `&mut self`; no atomics, no lock). The
//! dataplane steers a tunnel's packets to the owner, or installs one SA per
//! worker, each with its own SPI and keys (RFC 9611 "per-resource SAs").
//!
//! [`InboundSa`]: crate::InboundSa
//! [`OutboundSa`]: crate::OutboundSa

use crate::esp::{Cipher, KeyMaterial, SaParams, MIN_SPI};
use std::collections::HashMap;
use std::net::IpAddr;

/// The tunnel an outbound SA serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelKey {
    pub peer_node: IpAddr,
    pub local_port: u32,
    pub remote_port: u32,
}

/// How an SA came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Derived from BGP-advertised key agreement.
    Derived,
    /// From configuration (third-party gateway).
    Static,
}

#[derive(Debug, Clone)]
pub struct SaEntry {
    pub tunnel: TunnelKey,
    pub params: SaParams,
    pub keys: KeyMaterial,
    pub origin: Origin,
    /// Seconds (caller's monotonic clock) when installed.
    pub installed_at: u64,
}

/// The SPI is already in use on this edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpiCollision(pub u32);

/// An SA whose lifetime in seconds ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Soft: rekey this tunnel.
    SoftOutbound(TunnelKey),
    /// Hard: remove this SA now.
    HardOutbound(TunnelKey),
    HardInbound(u32),
}

#[derive(Debug, Default)]
pub struct Sadb {
    inbound: HashMap<u32, SaEntry>,
    outbound: HashMap<TunnelKey, SaEntry>,
}

/// Static SA configuration for a third-party gateway: both SPIs and both
/// directions' RFC 4106 key material (key ‖ salt) come from configuration.
#[derive(Debug, Clone)]
pub struct StaticSaConfig {
    pub tunnel: TunnelKey,
    pub cipher: Cipher,
    pub spi_in: u32,
    pub spi_out: u32,
    pub key_in: Vec<u8>,
    pub key_out: Vec<u8>,
    pub esn: bool,
    pub replay_window: u32,
}

/// Why a static SA was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaticSaError {
    ReservedSpi(u32),
    Collision(SpiCollision),
    BadKey(crate::esp::BadKeyMaterial),
    BadWindow(u32),
    /// ESN with anti-replay off (window 0).
    EsnWithoutWindow,
}

impl Sadb {
    pub fn new() -> Self {
        Self::default()
    }

    /// A random SPI >= 256 not used by any inbound SA here.
    pub fn allocate_spi(&self) -> Result<u32, getrandom::Error> {
        loop {
            let mut b = [0u8; 4];
            getrandom::getrandom(&mut b)?;
            let spi = u32::from_be_bytes(b);
            if spi >= MIN_SPI && !self.inbound.contains_key(&spi) {
                return Ok(spi);
            }
        }
    }

    pub fn add_inbound(&mut self, entry: SaEntry) -> Result<(), SpiCollision> {
        let spi = entry.params.spi;
        if self.inbound.contains_key(&spi) {
            return Err(SpiCollision(spi));
        }
        self.inbound.insert(spi, entry);
        Ok(())
    }

    pub fn remove_inbound(&mut self, spi: u32) -> Option<SaEntry> {
        self.inbound.remove(&spi)
    }

    /// Sets the tunnel's outbound SA, returning the one it replaces.
    pub fn set_outbound(&mut self, entry: SaEntry) -> Option<SaEntry> {
        self.outbound.insert(entry.tunnel, entry)
    }

    pub fn remove_outbound(&mut self, tunnel: &TunnelKey) -> Option<SaEntry> {
        self.outbound.remove(tunnel)
    }

    pub fn inbound(&self, spi: u32) -> Option<&SaEntry> {
        self.inbound.get(&spi)
    }
    pub fn outbound(&self, tunnel: &TunnelKey) -> Option<&SaEntry> {
        self.outbound.get(tunnel)
    }
    pub fn inbound_count(&self) -> usize {
        self.inbound.len()
    }
    pub fn outbound_count(&self) -> usize {
        self.outbound.len()
    }

    /// Installs a statically configured SA pair.
    pub fn add_static(&mut self, c: &StaticSaConfig, now: u64) -> Result<(), StaticSaError> {
        for spi in [c.spi_in, c.spi_out] {
            if spi < MIN_SPI {
                return Err(StaticSaError::ReservedSpi(spi));
            }
        }
        let w = c.replay_window;
        if !crate::replay::valid_size(w) {
            return Err(StaticSaError::BadWindow(w));
        }
        if c.esn && w == 0 {
            return Err(StaticSaError::EsnWithoutWindow);
        }
        if self.inbound.contains_key(&c.spi_in) {
            return Err(StaticSaError::Collision(SpiCollision(c.spi_in)));
        }
        let key_in =
            KeyMaterial::from_rfc4106(c.cipher, &c.key_in).map_err(StaticSaError::BadKey)?;
        let key_out =
            KeyMaterial::from_rfc4106(c.cipher, &c.key_out).map_err(StaticSaError::BadKey)?;
        let params = |spi| SaParams {
            spi,
            esn: c.esn,
            replay_window: c.replay_window,
            lifetime: crate::Lifetime::UNLIMITED,
        };
        let entry = |spi, keys| SaEntry {
            tunnel: c.tunnel,
            params: params(spi),
            keys,
            origin: Origin::Static,
            installed_at: now,
        };
        self.inbound.insert(c.spi_in, entry(c.spi_in, key_in));
        self.outbound.insert(c.tunnel, entry(c.spi_out, key_out));
        Ok(())
    }

    /// SAs whose lifetime in seconds is over at `now`.
    pub fn expired(&self, now: u64) -> Vec<Expiry> {
        let mut v = Vec::new();
        for e in self.outbound.values() {
            let age = now.saturating_sub(e.installed_at);
            if age >= e.params.lifetime.hard_seconds {
                v.push(Expiry::HardOutbound(e.tunnel));
            } else if age >= e.params.lifetime.soft_seconds {
                v.push(Expiry::SoftOutbound(e.tunnel));
            }
        }
        for (spi, e) in &self.inbound {
            if now.saturating_sub(e.installed_at) >= e.params.lifetime.hard_seconds {
                v.push(Expiry::HardInbound(*spi));
            }
        }
        v.sort_by_key(|x| format!("{x:?}"));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lifetime;

    fn tunnel() -> TunnelKey {
        TunnelKey {
            peer_node: "192.0.2.9".parse().unwrap(),
            local_port: 1,
            remote_port: 2,
        }
    }

    fn entry(spi: u32, now: u64) -> SaEntry {
        let mut params = SaParams::new(spi);
        params.lifetime = Lifetime {
            soft_seconds: 10,
            hard_seconds: 20,
            ..Lifetime::UNLIMITED
        };
        SaEntry {
            tunnel: tunnel(),
            params,
            keys: KeyMaterial::from_rfc4106(Cipher::AesGcm128, &[1; 20]).unwrap(),
            origin: Origin::Derived,
            installed_at: now,
        }
    }

    #[test]
    fn spis_are_unique_and_allocated_free() {
        let mut db = Sadb::new();
        db.add_inbound(entry(1000, 0)).unwrap();
        assert_eq!(db.add_inbound(entry(1000, 0)), Err(SpiCollision(1000)));
        for _ in 0..1000 {
            let s = db.allocate_spi().unwrap();
            assert!(s >= MIN_SPI);
            db.add_inbound(entry(s, 0)).unwrap();
        }
        assert_eq!(db.inbound_count(), 1001);
    }

    #[test]
    fn lifetimes_in_seconds() {
        let mut db = Sadb::new();
        db.set_outbound(entry(500, 100));
        db.add_inbound(entry(600, 100)).unwrap();
        assert!(db.expired(105).is_empty());
        assert_eq!(db.expired(110), vec![Expiry::SoftOutbound(tunnel())]);
        assert_eq!(
            db.expired(120),
            vec![Expiry::HardInbound(600), Expiry::HardOutbound(tunnel())]
        );
    }

    #[test]
    fn static_sa_checked() {
        let mut db = Sadb::new();
        let mut c = StaticSaConfig {
            tunnel: tunnel(),
            cipher: Cipher::AesGcm256,
            spi_in: 0x1001,
            spi_out: 0x2002,
            key_in: vec![3; 36],
            key_out: vec![4; 36],
            esn: false,
            replay_window: 64,
        };
        db.add_static(&c, 0).unwrap();
        assert_eq!(db.outbound(&tunnel()).unwrap().params.spi, 0x2002);
        assert_eq!(
            db.add_static(&c, 0),
            Err(StaticSaError::Collision(SpiCollision(0x1001)))
        );
        c.spi_in = 7;
        assert_eq!(db.add_static(&c, 0), Err(StaticSaError::ReservedSpi(7)));
        c.spi_in = 0x3003;
        c.key_in = vec![1; 20];
        assert!(matches!(
            db.add_static(&c, 0),
            Err(StaticSaError::BadKey(_))
        ));
        c.key_in = vec![3; 36];
        c.replay_window = 63;
        assert_eq!(db.add_static(&c, 0), Err(StaticSaError::BadWindow(63)));
        c.replay_window = 0;
        c.esn = true;
        assert_eq!(db.add_static(&c, 0), Err(StaticSaError::EsnWithoutWindow));
        c.esn = false;
        db.add_static(&c, 0).unwrap();
        assert_eq!(db.inbound(0x3003).unwrap().params.replay_window, 0);
    }
}
