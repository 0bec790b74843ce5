//! Inbound SA hot state and ESP decapsulation in place, plus the per-worker
//! set of inbound SAs keyed by SPI.
//!
//! Order of checks (RFC 4303 §3.4): outer header → SPI lookup → outer
//! source (when the SA pins its peer's address) → length → anti-replay
//! *check* → ICV → anti-replay *update* → padding → next header → ECN
//! (RFC 6040, [`crate::ecn`]). Every failure is a [`DropReason`], counted;
//! nothing here panics on any input (see `fuzz/fuzz_targets/decap.rs`).
//!
//! NAT rebinding: an SA remembers the outer source (address, UDP port) of
//! the newest authenticated packet. When a packet that authenticates and
//! advances the replay window comes from elsewhere, [`Received::Inner`]
//! says `rebound`, so the caller points the outbound SA's NAT-T
//! destination at the new source (RFC 3948 §3; only authenticated packets
//! may move it, so a forged packet cannot redirect the tunnel).

use super::sa_table::SaTable;
use super::{
    aad, KeyMaterial, NextHeader, SaCounters, SaParams, ESP_HEADER_LEN, ICV_LEN, IV_LEN, MIN_SPI,
    TRAILER_LEN,
};
use crate::aead::{AeadEngine, AeadJob, BadKey, MAX_BURST};
use crate::outer::{locate_esp, locate_in_udp, Located, OuterSource, UdpAt, NATT_PORT};
use crate::replay::{BadWindowSize, ReplayWindow};
use crate::{DropCounters, DropReason};
use sdwan_packet::Frame;
use std::net::IpAddr;

/// Smallest encrypted part: payload + padding + trailer is a non-zero
/// multiple of 4.
const MIN_CIPHERTEXT: usize = 4;

/// Why an inbound SA could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundError {
    BadKey,
    BadWindow(BadWindowSize),
    /// ESN infers the high half from the anti-replay window, which is off.
    EsnWithoutWindow,
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
    /// Packets from any other outer source are dropped (`bad_outer_source`).
    expected_peer: Option<OuterSource>,
    /// Outer source of the newest authenticated packet.
    last_source: Option<OuterSource>,
    /// The owner's value for this SA, returned with each packet
    /// ([`Received::Inner::tag`]): e.g. the port the SA is bound to, so
    /// the caller needs no second lookup by SPI.
    tag: u32,
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
        if params.esn && params.replay_window == 0 {
            return Err(InboundError::EsnWithoutWindow);
        }
        Ok(Self {
            spi: params.spi,
            esn: params.esn,
            salt: keys.salt(),
            engine: E::new(keys.key())?,
            window: ReplayWindow::new(params.replay_window).map_err(InboundError::BadWindow)?,
            params,
            counters: SaCounters::default(),
            expected_peer: None,
            last_source: None,
            tag: 0,
        })
    }

    /// Sets the owner's [`tag`](Self::tag) (0 when never set).
    pub fn with_tag(mut self, tag: u32) -> Self {
        self.tag = tag;
        self
    }
    pub fn set_tag(&mut self, tag: u32) {
        self.tag = tag;
    }
    pub fn tag(&self) -> u32 {
        self.tag
    }
    /// Changes (or lifts, with `None`) the expected peer of
    /// [`with_expected_peer`](Self::with_expected_peer).
    pub fn set_expected_peer(&mut self, peer: Option<IpAddr>) {
        self.expected_peer = peer.map(|p| OuterSource::new(p, None));
    }

    /// Accept this SA's packets only from outer source `peer` (a peer
    /// with a known, un-NATed address; a static gateway).
    pub fn with_expected_peer(mut self, peer: IpAddr) -> Self {
        self.set_expected_peer(Some(peer));
        self
    }
    pub fn expected_peer(&self) -> Option<IpAddr> {
        self.expected_peer.map(|p| p.addr())
    }
    /// Outer source of the newest authenticated packet.
    pub fn last_source(&self) -> Option<OuterSource> {
        self.last_source
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
        self.decap_with_ecn(frame, esp_offset, crate::ecn::NOT_ECT)
            .map(|(nh, _)| nh)
    }

    /// [`decap_at`](Self::decap_at) for a packet whose outer header had
    /// ECN field `outer_ecn` (RFC 6040 §4.2 applied to the inner header).
    /// Also returns the packet's 64-bit sequence number.
    #[inline]
    pub fn decap_with_ecn(
        &mut self,
        frame: &mut Frame<'_>,
        esp_offset: usize,
        outer_ecn: u8,
    ) -> Result<(NextHeader, u64), DropReason> {
        match self.decap_inner(frame, esp_offset, outer_ecn) {
            Ok(r) => Ok(r),
            Err(r) => {
                self.counters.drops.count(r);
                Err(r)
            }
        }
    }

    /// Checks the outer source against the expected peer (before any
    /// crypto work); counts `bad_outer_source`.
    #[inline]
    fn check_source(&mut self, source: &OuterSource) -> Result<(), DropReason> {
        match self.expected_peer {
            Some(p) if !p.same_host(source) => {
                self.counters.drops.count(DropReason::BadOuterSource);
                Err(DropReason::BadOuterSource)
            }
            _ => Ok(()),
        }
    }

    /// The `Received` for a packet that passed every check.
    #[inline]
    fn received(&mut self, at: EspAt, next_header: NextHeader, seq: u64) -> Received {
        let rebound = self.note_source(at.source, seq);
        Received::Inner {
            spi: at.spi,
            tag: self.tag,
            next_header,
            source: at.source,
            rebound,
        }
    }

    /// Records the source of an authenticated packet with sequence `seq`;
    /// true when it moved (only the newest packet may move it).
    #[inline]
    fn note_source(&mut self, source: OuterSource, seq: u64) -> bool {
        if seq != self.window.top() {
            return false;
        }
        let moved = self.last_source.is_some_and(|s| s != source);
        self.last_source = Some(source);
        moved
    }

    #[inline]
    fn decap_inner(
        &mut self,
        frame: &mut Frame<'_>,
        esp_offset: usize,
        outer_ecn: u8,
    ) -> Result<(NextHeader, u64), DropReason> {
        let c = self.check(frame, esp_offset)?;
        let body = esp_body(frame, esp_offset)?;
        self.engine
            .open(&c.nonce, &c.aad[..c.aad_len], body)
            .map_err(|_| DropReason::IcvFail)?;
        self.finish(frame, esp_offset, c, outer_ecn)
    }

    /// Everything before the ICV: length, lifetime, sequence number
    /// inference and the anti-replay check; the nonce and AAD to open with.
    #[inline]
    fn check(&self, frame: &Frame<'_>, esp_offset: usize) -> Result<Checked, DropReason> {
        let esp = frame
            .data()
            .get(esp_offset..)
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
        let mut aad_buf = [0u8; 12];
        let aad_len = aad(self.spi, seq, self.esn, &mut aad_buf);
        Ok(Checked {
            seq,
            ct_len,
            nonce: super::nonce(self.salt, iv),
            aad: aad_buf,
            aad_len,
        })
    }

    /// After the ICV verified: window update (again: a burst may hold the
    /// same sequence number twice), padding, next header, trimming to the
    /// inner packet, ECN, counters.
    #[inline]
    fn finish(
        &mut self,
        frame: &mut Frame<'_>,
        esp_offset: usize,
        c: Checked,
        outer_ecn: u8,
    ) -> Result<(NextHeader, u64), DropReason> {
        // Authentic: only now may the window move.
        self.window.update(c.seq).map_err(|_| DropReason::Replay)?;
        let ct_len = c.ct_len;
        let pt = esp_body(frame, esp_offset)?
            .get(..ct_len)
            .ok_or(DropReason::Truncated)?;
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
        crate::ecn::decap(outer_ecn, next, frame.data_mut())?;
        self.counters.packets += 1;
        self.counters.bytes += inner_len as u64;
        Ok((next, c.seq))
    }
}

/// Where an ESP packet of a known SA starts, and its outer fields.
#[derive(Debug, Clone, Copy)]
struct EspAt {
    spi: u32,
    esp_offset: usize,
    /// The outer IP packet's length (the frame may hold link padding).
    ip_len: usize,
    source: OuterSource,
    ecn: u8,
}

/// What [`InboundSet::front`] decided.
enum Front {
    Done(Received),
    Esp(EspAt),
}

/// What [`InboundSa::check`] learnt before the ICV.
#[derive(Debug, Clone, Copy)]
struct Checked {
    seq: u64,
    ct_len: usize,
    nonce: [u8; crate::aead::NONCE_LEN],
    aad: [u8; 12],
    aad_len: usize,
}

/// The encrypted part and ICV of the ESP packet at `esp_offset`.
#[inline]
fn esp_body<'f>(frame: &'f mut Frame<'_>, esp_offset: usize) -> Result<&'f mut [u8], DropReason> {
    frame
        .data_mut()
        .get_mut(esp_offset + ESP_HEADER_LEN + IV_LEN..)
        .ok_or(DropReason::Truncated)
}

/// What arrived, after [`InboundSet::decap`] succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The frame now holds the inner packet of this type, from SA `spi`,
    /// sent from outer `source`. `rebound`: this authenticated, newest
    /// packet came from another source than the SA's previous one (NAT
    /// rebinding): update the outbound SA's NAT-T destination port/address.
    Inner {
        spi: u32,
        /// The SA's [`InboundSa::tag`].
        tag: u32,
        next_header: NextHeader,
        source: OuterSource,
        rebound: bool,
    },
    /// A NAT-keepalive; nothing to forward.
    Keepalive,
    /// IKE behind the non-ESP marker; the frame holds the IKE message.
    Ike,
}

/// One worker's inbound SAs, by SPI, with the drops that happen before an
/// SA is known (outer header, unknown SPI).
pub struct InboundSet<E: AeadEngine> {
    sas: SaTable<InboundSa<E>>,
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
            sas: SaTable::default(),
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
        self.sas.remove(spi)
    }
    pub fn get(&self, spi: u32) -> Option<&InboundSa<E>> {
        self.sas.get(spi)
    }
    pub fn get_mut(&mut self, spi: u32) -> Option<&mut InboundSa<E>> {
        self.sas.get_mut(spi)
    }
    pub fn len(&self) -> usize {
        self.sas.len()
    }
    pub fn is_empty(&self) -> bool {
        self.sas.len() == 0
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
        let front = self.front(frame)?;
        self.decap_front(frame, front)
    }

    /// [`decap`](Self::decap) of ESP in UDP whose outer IP header the
    /// caller has validated already (see [`UdpAt`]): `frame` starts at the
    /// outer IP header as for `decap`; only the UDP part is parsed here.
    #[inline(always)]
    pub fn decap_udp(&mut self, frame: &mut Frame<'_>, at: UdpAt) -> Result<Received, DropReason> {
        let located = locate_in_udp(frame.data(), at, self.natt_port);
        let front = self.front_located(frame, located)?;
        self.decap_front(frame, front)
    }

    #[inline(always)]
    fn decap_front(&mut self, frame: &mut Frame<'_>, front: Front) -> Result<Received, DropReason> {
        match front {
            Front::Done(r) => Ok(r),
            Front::Esp(at) => {
                let sa = Self::sa_for(&mut self.sas, &mut self.drops, frame, &at)?;
                let (nh, seq) = sa.decap_with_ecn(frame, at.esp_offset, at.ecn)?;
                Ok(sa.received(at, nh, seq))
            }
        }
    }

    /// The one SA lookup of a packet: `at`'s SA (else `bad_spi`), its
    /// outer source check, then the link padding after the IP packet is
    /// dropped from `frame`.
    #[inline(always)]
    fn sa_for<'s>(
        sas: &'s mut SaTable<InboundSa<E>>,
        drops: &mut DropCounters,
        frame: &mut Frame<'_>,
        at: &EspAt,
    ) -> Result<&'s mut InboundSa<E>, DropReason> {
        let Some(sa) = sas.get_mut(at.spi) else {
            drops.count(DropReason::BadSpi);
            return Err(DropReason::BadSpi);
        };
        sa.check_source(&at.source)?;
        if frame.set_len(at.ip_len).is_err() {
            drops.count(DropReason::Truncated);
            return Err(DropReason::Truncated);
        }
        Ok(sa)
    }

    /// Decapsulates a burst (e.g. one rx burst), opening the packets with
    /// one engine call per [`MAX_BURST`] (intel-ipsec-mb's job manager;
    /// other engines loop). Same checks and counters as [`decap`](Self::decap);
    /// the anti-replay window is checked before and updated after the
    /// burst's ICVs, so a sequence number twice in one burst is a replay.
    /// `results[i]` is `frames[i]`'s outcome.
    pub fn decap_burst(
        &mut self,
        frames: &mut [Frame<'_>],
        ctx: &mut E::Burst,
        results: &mut [Result<Received, DropReason>],
    ) {
        for (f, r) in frames
            .chunks_mut(MAX_BURST)
            .zip(results.chunks_mut(MAX_BURST))
        {
            self.decap_chunk(f, ctx, r);
        }
    }

    fn decap_chunk(
        &mut self,
        frames: &mut [Frame<'_>],
        ctx: &mut E::Burst,
        results: &mut [Result<Received, DropReason>],
    ) {
        let mut pending: [Option<(EspAt, Checked)>; MAX_BURST] = [None; MAX_BURST];
        for ((f, p), r) in frames.iter_mut().zip(&mut pending).zip(results.iter_mut()) {
            *r = match self.front(f) {
                Ok(Front::Done(x)) => Ok(x),
                Ok(Front::Esp(at)) => match Self::sa_for(&mut self.sas, &mut self.drops, f, &at) {
                    Ok(sa) => match sa.check(f, at.esp_offset) {
                        Ok(c) => {
                            *p = Some((at, c));
                            continue;
                        }
                        Err(e) => {
                            sa.counters.drops.count(e);
                            Err(e)
                        }
                    },
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
        }
        let mut opened = [false; MAX_BURST];
        {
            let sas = &self.sas;
            let mut jobs: [Option<AeadJob<'_, E>>; MAX_BURST] = std::array::from_fn(|_| None);
            for ((f, p), j) in frames.iter_mut().zip(&pending).zip(&mut jobs) {
                let Some((at, c)) = p else { continue };
                let (Some(sa), Ok(buf)) = (sas.get(at.spi), esp_body(f, at.esp_offset)) else {
                    continue;
                };
                *j = Some(AeadJob {
                    engine: &sa.engine,
                    nonce: c.nonce,
                    aad: c.aad,
                    aad_len: c.aad_len,
                    buf,
                    ok: false,
                });
            }
            E::open_burst(ctx, &mut jobs);
            for (o, j) in opened.iter_mut().zip(&jobs) {
                *o = j.as_ref().is_some_and(|j| j.ok);
            }
        }
        for (((f, p), r), ok) in frames
            .iter_mut()
            .zip(pending)
            .zip(results.iter_mut())
            .zip(opened)
        {
            let Some((at, c)) = p else { continue };
            let Some(sa) = self.sas.get_mut(at.spi) else {
                continue;
            };
            let got = if ok {
                sa.finish(f, at.esp_offset, c, at.ecn)
            } else if sa.window.check(c.seq).is_err() {
                // As one by one: an earlier packet of the burst took the
                // number, and the replay check comes before the ICV.
                Err(DropReason::Replay)
            } else {
                Err(DropReason::IcvFail)
            };
            *r = match got {
                Ok((nh, seq)) => Ok(sa.received(at, nh, seq)),
                Err(e) => {
                    sa.counters.drops.count(e);
                    Err(e)
                }
            };
        }
    }

    /// Everything before the SA: outer header, keepalive and IKE demux,
    /// the SPI ([`sa_for`](Self::sa_for) then finds the SA, checks the
    /// outer source and drops the Ethernet padding). Counts the drops it
    /// decides.
    #[inline]
    fn front(&mut self, frame: &mut Frame<'_>) -> Result<Front, DropReason> {
        let located = locate_esp(frame.data(), self.natt_port);
        self.front_located(frame, located)
    }

    /// [`front`](Self::front) past the outer IP header: `located` is what
    /// [`locate_esp`] or [`locate_in_udp`] found.
    #[inline(always)]
    fn front_located(
        &mut self,
        frame: &mut Frame<'_>,
        located: Result<Located, DropReason>,
    ) -> Result<Front, DropReason> {
        let located = match located {
            Ok(l) => l,
            Err(r) => {
                self.drops.count(r);
                return Err(r);
            }
        };
        match located {
            Located::Keepalive => {
                self.keepalives += 1;
                Ok(Front::Done(Received::Keepalive))
            }
            Located::Ike { offset, ip_len } => {
                self.ike += 1;
                // Both within the frame: locate_esp checked them.
                frame
                    .set_len(ip_len)
                    .and_then(|()| frame.trim_front(offset))
                    .map_err(|_| DropReason::Truncated)?;
                Ok(Front::Done(Received::Ike))
            }
            Located::Esp {
                esp_offset,
                ip_len,
                source,
                ecn,
            } => {
                let d = frame.data();
                let spi = match d.get(esp_offset..esp_offset + 4) {
                    Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
                    None => {
                        self.drops.count(DropReason::Truncated);
                        return Err(DropReason::Truncated);
                    }
                };
                Ok(Front::Esp(EspAt {
                    spi,
                    esp_offset,
                    ip_len,
                    source,
                    ecn,
                }))
            }
        }
    }
}
