//! Inbound SA hot state and ESP decapsulation in place, plus the per-worker
//! set of inbound SAs keyed by SPI.
//!
//! Order of checks (RFC 4303 §3.4): outer header → SPI lookup → length →
//! anti-replay *check* → ICV → anti-replay *update* → padding → next header.
//! Every failure is a [`DropReason`], counted; nothing here panics on any
//! input (see `fuzz/fuzz_targets/decap.rs`).

use super::{
    aad, KeyMaterial, NextHeader, SaCounters, SaParams, ESP_HEADER_LEN, ICV_LEN, IV_LEN, MIN_SPI,
    TRAILER_LEN,
};
use crate::aead::{AeadEngine, BadKey};
use crate::outer::{locate_esp, Located, NATT_PORT};
use crate::replay::{BadWindowSize, ReplayWindow};
use crate::{DropCounters, DropReason};
use sdwan_packet::Frame;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Smallest encrypted part: payload + padding + trailer is a non-zero
/// multiple of 4.
const MIN_CIPHERTEXT: usize = 4;

/// Why an inbound SA could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundError {
    BadKey,
    BadWindow(BadWindowSize),
    ReservedSpi(u32),
}

impl From<BadKey> for InboundError {
    fn from(_: BadKey) -> Self {
        InboundError::BadKey
    }
}

pub struct InboundSa<E: AeadEngine> {
    spi: u32,
    esn: bool,
    salt: [u8; 4],
    engine: E,
    window: ReplayWindow,
    params: SaParams,
    counters: SaCounters,
}

impl<E: AeadEngine> core::fmt::Debug for InboundSa<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("engine", &E::NAME)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl<E: AeadEngine> InboundSa<E> {
    pub fn new(params: SaParams, keys: &KeyMaterial) -> Result<Self, InboundError> {
        if params.spi < MIN_SPI {
            return Err(InboundError::ReservedSpi(params.spi));
        }
        Ok(Self {
            spi: params.spi,
            esn: params.esn,
            salt: keys.salt(),
            engine: E::new(keys.key())?,
            window: ReplayWindow::new(params.replay_window).map_err(InboundError::BadWindow)?,
            params,
            counters: SaCounters::default(),
        })
    }

    pub fn spi(&self) -> u32 {
        self.spi
    }
    pub fn params(&self) -> &SaParams {
        &self.params
    }
    pub fn counters(&self) -> &SaCounters {
        &self.counters
    }
    /// Highest authenticated sequence number.
    pub fn highest_seq(&self) -> u64 {
        self.window.top()
    }

    /// Decrypts the ESP packet at `frame[esp_offset..]` (whose SPI is this
    /// SA's) and leaves `frame` holding just the inner packet. On error the
    /// reason is counted on this SA and the frame content is unspecified.
    #[inline]
    pub fn decap_at(
        &mut self,
        frame: &mut Frame<'_>,
        esp_offset: usize,
    ) -> Result<NextHeader, DropReason> {
        match self.decap_inner(frame, esp_offset) {
            Ok(nh) => Ok(nh),
            Err(r) => {
                self.counters.drops.count(r);
                Err(r)
            }
        }
    }

    #[inline]
    fn decap_inner(
        &mut self,
        frame: &mut Frame<'_>,
        esp_offset: usize,
    ) -> Result<NextHeader, DropReason> {
        let esp = frame
            .data_mut()
            .get_mut(esp_offset..)
            .ok_or(DropReason::Truncated)?;
        if esp.len() < ESP_HEADER_LEN + IV_LEN + MIN_CIPHERTEXT + ICV_LEN {
            return Err(DropReason::Truncated);
        }
        let ct_len = esp.len() - ESP_HEADER_LEN - IV_LEN - ICV_LEN;
        if ct_len & 3 != 0 {
            return Err(DropReason::BadLength);
        }
        let c = &self.counters;
        if self.params.lifetime.hard_reached(c.packets, c.bytes) {
            return Err(DropReason::LifetimeExpired);
        }
        let seq_lo = u32::from_be_bytes([esp[4], esp[5], esp[6], esp[7]]);
        let seq = self
            .window
            .infer(seq_lo, self.esn)
            .ok_or(DropReason::Replay)?;
        self.window.check(seq).map_err(|_| DropReason::Replay)?;

        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&esp[ESP_HEADER_LEN..ESP_HEADER_LEN + IV_LEN]);
        let nonce = super::nonce(self.salt, iv);
        let mut aad_buf = [0u8; 12];
        let aad_len = aad(self.spi, seq, self.esn, &mut aad_buf);
        let body = &mut esp[ESP_HEADER_LEN + IV_LEN..];
        self.engine
            .open(&nonce, &aad_buf[..aad_len], body)
            .map_err(|_| DropReason::IcvFail)?;
        // Authentic: only now may the window move.
        self.window.update(seq).map_err(|_| DropReason::Replay)?;

        let pt = &body[..ct_len];
        let pad_len = usize::from(pt[ct_len - 2]);
        let nh = pt[ct_len - 1];
        let inner_len = ct_len
            .checked_sub(pad_len + TRAILER_LEN)
            .ok_or(DropReason::BadPadding)?;
        // RFC 4303 §2.4: default padding is 1, 2, 3, ...; check it.
        let pad_ok = pt[inner_len..inner_len + pad_len]
            .iter()
            .enumerate()
            .all(|(i, b)| usize::from(*b) == i + 1);
        if !pad_ok {
            return Err(DropReason::BadPadding);
        }
        let next = match NextHeader::from_u8(nh) {
            Some(n) => n,
            None if nh == NextHeader::NO_NEXT_HEADER => return Err(DropReason::Dummy),
            None => return Err(DropReason::BadNextHeader),
        };
        frame
            .trim_back(ICV_LEN + pad_len + TRAILER_LEN)
            .and_then(|()| frame.trim_front(esp_offset + ESP_HEADER_LEN + IV_LEN))
            .map_err(|_| DropReason::Truncated)?;
        self.counters.packets += 1;
        self.counters.bytes += inner_len as u64;
        Ok(next)
    }
}

/// What arrived, after [`InboundSet::decap`] succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The frame now holds the inner packet of this type, from SA `spi`.
    Inner { spi: u32, next_header: NextHeader },
    /// A NAT-keepalive; nothing to forward.
    Keepalive,
    /// IKE behind the non-ESP marker; the frame holds the IKE message.
    Ike,
}

/// Identity-like hasher for SPIs: they are random or HKDF output already,
/// so a multiply spreads them and SipHash would only cost cycles.
#[derive(Default)]
pub struct SpiHasher(u64);

impl Hasher for SpiHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// One worker's inbound SAs, by SPI, with the drops that happen before an
/// SA is known (outer header, unknown SPI).
pub struct InboundSet<E: AeadEngine> {
    sas: HashMap<u32, InboundSa<E>, BuildHasherDefault<SpiHasher>>,
    natt_port: u16,
    drops: DropCounters,
    keepalives: u64,
    ike: u64,
}

impl<E: AeadEngine> Default for InboundSet<E> {
    fn default() -> Self {
        Self::new(NATT_PORT)
    }
}

impl<E: AeadEngine> InboundSet<E> {
    /// A set that accepts ESP directly and in UDP to `natt_port`.
    pub fn new(natt_port: u16) -> Self {
        Self {
            sas: HashMap::default(),
            natt_port,
            drops: DropCounters::default(),
            keepalives: 0,
            ike: 0,
        }
    }

    /// Installs (or replaces) the SA for its SPI; returns the one replaced.
    pub fn insert(&mut self, sa: InboundSa<E>) -> Option<InboundSa<E>> {
        self.sas.insert(sa.spi, sa)
    }
    pub fn remove(&mut self, spi: u32) -> Option<InboundSa<E>> {
        self.sas.remove(&spi)
    }
    pub fn get(&self, spi: u32) -> Option<&InboundSa<E>> {
        self.sas.get(&spi)
    }
    pub fn len(&self) -> usize {
        self.sas.len()
    }
    pub fn is_empty(&self) -> bool {
        self.sas.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &InboundSa<E>> {
        self.sas.values()
    }
    /// Drops counted before an SA was found (per-SA drops are on the SA).
    pub fn drops(&self) -> &DropCounters {
        &self.drops
    }
    pub fn keepalives(&self) -> u64 {
        self.keepalives
    }
    pub fn ike_packets(&self) -> u64 {
        self.ike
    }

    /// Decapsulates `frame`, which starts at the outer IP header: parses the
    /// outer IPv4/IPv6 (and NAT-T UDP) header, finds the SA by SPI and
    /// decrypts in place. On success the frame holds the inner packet (or
    /// the IKE message).
    #[inline]
    pub fn decap(&mut self, frame: &mut Frame<'_>) -> Result<Received, DropReason> {
        let located = match locate_esp(frame.data(), self.natt_port) {
            Ok(l) => l,
            Err(r) => {
                self.drops.count(r);
                return Err(r);
            }
        };
        match located {
            Located::Keepalive => {
                self.keepalives += 1;
                Ok(Received::Keepalive)
            }
            Located::Ike { offset, ip_len } => {
                self.ike += 1;
                // Both within the frame: locate_esp checked them.
                frame
                    .set_len(ip_len)
                    .and_then(|()| frame.trim_front(offset))
                    .map_err(|_| DropReason::Truncated)?;
                Ok(Received::Ike)
            }
            Located::Esp { esp_offset, ip_len } => {
                let d = frame.data();
                let spi = match d.get(esp_offset..esp_offset + 4) {
                    Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
                    None => {
                        self.drops.count(DropReason::Truncated);
                        return Err(DropReason::Truncated);
                    }
                };
                let Some(sa) = self.sas.get_mut(&spi) else {
                    self.drops.count(DropReason::BadSpi);
                    return Err(DropReason::BadSpi);
                };
                // Drop Ethernet padding after the IP packet.
                if frame.set_len(ip_len).is_err() {
                    self.drops.count(DropReason::Truncated);
                    return Err(DropReason::Truncated);
                }
                let next_header = sa.decap_at(frame, esp_offset)?;
                Ok(Received::Inner { spi, next_header })
            }
        }
    }
}
