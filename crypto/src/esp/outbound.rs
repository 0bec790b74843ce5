//! Outbound SA hot state and ESP tunnel-mode encapsulation in place.
//!
//! Sequence numbers stay unique without locks because an [`OutboundSa`] has
//! exactly one owner: every method that sends takes `&mut self`, and the
//! dataplane gives each SA to one worker (packets for it from other workers
//! go through that worker's ring). Where one SA cannot carry a peer's load,
//! the control plane derives several SAs (one per worker, distinct SPIs,
//! RFC 9611 style) from the same key agreement; see `keyex`.

use super::{aad, layout, KeyMaterial, NextHeader, SaCounters, SaParams, ICV_LEN, TRAILER_LEN};
use crate::aead::{AeadEngine, AeadJob, BadKey, MAX_BURST};
use crate::outer::{BadOuter, DfPolicy, DscpPolicy, NattPorts, OuterTemplate, NATT_PORT};
use crate::DropReason;
use sdwan_packet::Frame;
use std::net::IpAddr;

/// Where and how the outer headers are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OuterConfig {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// UDP encapsulation (RFC 3948) when set.
    pub natt: Option<NattPorts>,
    /// Outer TTL / hop limit.
    pub ttl: u8,
    pub dscp: DscpPolicy,
    pub df: DfPolicy,
}

impl OuterConfig {
    /// ESP in UDP from port 4500 to port 4500 (RFC 3948), TTL 64, DSCP and
    /// DF copied from the inner header: the common NAT-T tunnel.
    pub fn natt(src: IpAddr, dst: IpAddr) -> Self {
        Self {
            src,
            dst,
            natt: Some(NattPorts {
                src: NATT_PORT,
                dst: NATT_PORT,
            }),
            ttl: 64,
            dscp: DscpPolicy::Copy,
            df: DfPolicy::Copy,
        }
    }
}

/// Why an SA could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundError {
    BadKey,
    BadOuter(BadOuter),
    ReservedSpi(u32),
}

impl From<BadKey> for OutboundError {
    fn from(_: BadKey) -> Self {
        OutboundError::BadKey
    }
}

/// An inner packet wrapped in ESP, waiting for its seal.
#[derive(Debug, Clone, Copy)]
struct Prepared {
    seq: u64,
    tos: u8,
    df: bool,
    inner_len: usize,
}

/// How many packets ahead an SA builds nonces and AADs.
const AHEAD: usize = 8;

pub struct OutboundSa<E: AeadEngine> {
    spi: u32,
    esn: bool,
    /// The next sequence number to send (starts at 1).
    next_seq: u64,
    /// Last usable sequence number: 2^32-1, or 2^64-1 with ESN.
    last_seq: u64,
    salt: [u8; 4],
    engine: E,
    outer: OuterTemplate,
    /// The longest inner packet `outer` can carry ([`layout::max_inner`]).
    max_inner: usize,
    ip_id: u16,
    params: SaParams,
    counters: SaCounters,
    /// Nonces and AADs of the next `AHEAD` sequence numbers (slot
    /// `seq % AHEAD`), each built `AHEAD` packets before its use.
    prepared: [super::PreparedIv; AHEAD],
}

impl<E: AeadEngine> core::fmt::Debug for OutboundSa<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OutboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("engine", &E::NAME)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl<E: AeadEngine> OutboundSa<E> {
    pub fn new(
        params: SaParams,
        keys: &KeyMaterial,
        outer: OuterConfig,
    ) -> Result<Self, OutboundError> {
        if params.spi < super::MIN_SPI {
            return Err(OutboundError::ReservedSpi(params.spi));
        }
        let template = OuterTemplate::new(
            outer.src, outer.dst, outer.natt, outer.ttl, outer.dscp, outer.df, params.spi,
        )
        .map_err(OutboundError::BadOuter)?;
        Ok(Self {
            spi: params.spi,
            esn: params.esn,
            next_seq: 1,
            last_seq: if params.esn {
                u64::MAX
            } else {
                u64::from(u32::MAX)
            },
            salt: keys.salt(),
            engine: E::new(keys.key())?,
            max_inner: layout::max_inner(&template),
            outer: template,
            ip_id: 0,
            params,
            counters: SaCounters::default(),
            prepared: std::array::from_fn(|i| {
                // Slot i holds the first sequence number >= 1 that is i mod AHEAD.
                let seq = if i == 0 { AHEAD as u64 } else { i as u64 };
                super::PreparedIv::new(keys.salt(), params.spi, params.esn, seq)
            }),
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
    /// The sequence number the next packet will carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Starts the sequence at `seq` instead of 1 (tests of the overflow
    /// path; a peer that resumes a static SA).
    pub fn set_next_seq(&mut self, seq: u64) {
        self.next_seq = seq.max(1);
    }

    /// The soft lifetime (packets/bytes) is reached or the sequence space is
    /// nearly used: the control plane should rekey now.
    pub fn needs_rekey(&self) -> bool {
        let c = &self.counters;
        let exhausted = self.next_seq == 0 || self.next_seq > self.last_seq;
        exhausted
            || self.params.lifetime.soft_reached(c.packets, c.bytes)
            || self.last_seq - self.next_seq < self.last_seq / 2
    }

    /// Bytes this SA adds in front of an inner packet (outer headers, ESP
    /// header, IV): the headroom `encap` needs.
    pub fn headroom_needed(&self) -> usize {
        layout::headroom(&self.outer)
    }

    /// Most bytes this SA adds after an inner packet (padding, trailer,
    /// ICV): the tailroom `encap` may need.
    pub fn tailroom_needed(&self) -> usize {
        3 + TRAILER_LEN + ICV_LEN
    }

    /// Encrypts the inner packet in `frame` (from its first byte to its
    /// last) into an ESP tunnel packet with outer headers, in place. On
    /// error the frame is unchanged and the reason is counted.
    #[inline]
    pub fn encap(
        &mut self,
        frame: &mut Frame<'_>,
        next_header: NextHeader,
    ) -> Result<(), DropReason> {
        match self.encap_inner(frame, next_header) {
            Ok(()) => Ok(()),
            Err(r) => {
                self.counters.drops.count(r);
                Err(r)
            }
        }
    }

    #[inline(always)]
    fn encap_inner(&mut self, frame: &mut Frame<'_>, nh: NextHeader) -> Result<(), DropReason> {
        let p = self.prepare(frame, nh)?;
        let slot = (p.seq % AHEAD as u64) as usize;
        if self.prepared[slot].seq != p.seq {
            self.prepared[slot] = super::PreparedIv::new(self.salt, self.spi, self.esn, p.seq);
        }
        let iv = &self.prepared[slot];
        self.engine.seal(
            &iv.nonce,
            iv.aad(self.esn),
            &mut frame.data_mut()[self.headroom_needed()..],
        );
        self.finish(frame, p)?;
        // This slot's next user, AHEAD packets from now.
        let ahead = p.seq.wrapping_add(AHEAD as u64);
        self.prepared[slot].set_seq(ahead, self.esn);
        Ok(())
    }

    /// Encapsulates a burst of inner packets (e.g. one rx burst's packets
    /// for this SA), sealing them with one engine call per [`MAX_BURST`]
    /// (intel-ipsec-mb's job manager; other engines loop). `results[i]` is
    /// `frames[i]`'s outcome; drops are counted. A frame whose seal the
    /// engine refused (`engine_error`) has unspecified content.
    pub fn encap_burst(
        &mut self,
        frames: &mut [Frame<'_>],
        nh: NextHeader,
        ctx: &mut E::Burst,
        results: &mut [Result<(), DropReason>],
    ) {
        for (f, r) in frames
            .chunks_mut(MAX_BURST)
            .zip(results.chunks_mut(MAX_BURST))
        {
            self.encap_chunk(f, nh, ctx, r);
        }
    }

    fn encap_chunk(
        &mut self,
        frames: &mut [Frame<'_>],
        nh: NextHeader,
        ctx: &mut E::Burst,
        results: &mut [Result<(), DropReason>],
    ) {
        let mut prepared: [Option<Prepared>; MAX_BURST] = [None; MAX_BURST];
        for ((f, p), r) in frames.iter_mut().zip(&mut prepared).zip(results.iter_mut()) {
            match self.prepare(f, nh) {
                Ok(x) => *p = Some(x),
                Err(e) => {
                    self.counters.drops.count(e);
                    *r = Err(e);
                }
            }
        }
        let mut sealed = [false; MAX_BURST];
        let front = self.headroom_needed();
        {
            let mut jobs: [Option<AeadJob<'_, E>>; MAX_BURST] = std::array::from_fn(|_| None);
            for ((f, p), j) in frames.iter_mut().zip(&prepared).zip(&mut jobs) {
                if let Some(p) = p {
                    let (nonce, aad, aad_len) = self.nonce_aad(p.seq);
                    *j = Some(AeadJob {
                        engine: &self.engine,
                        nonce,
                        aad,
                        aad_len,
                        buf: &mut f.data_mut()[front..],
                        ok: false,
                    });
                }
            }
            E::seal_burst(ctx, &mut jobs);
            for (s, j) in sealed.iter_mut().zip(&jobs) {
                *s = j.as_ref().is_some_and(|j| j.ok);
            }
        }
        for (((f, p), r), ok) in frames
            .iter_mut()
            .zip(prepared)
            .zip(results.iter_mut())
            .zip(sealed)
        {
            let Some(p) = p else { continue };
            *r = if ok {
                self.finish(f, p)
            } else {
                Err(DropReason::EngineError)
            };
            if let Err(e) = r {
                self.counters.drops.count(*e);
            }
        }
    }

    #[inline]
    fn nonce_aad(&self, seq: u64) -> ([u8; crate::aead::NONCE_LEN], [u8; 12], usize) {
        let nonce = super::nonce(self.salt, seq.to_be_bytes());
        let mut aad_buf = [0u8; 12];
        let aad_len = aad(self.spi, seq, self.esn, &mut aad_buf);
        (nonce, aad_buf, aad_len)
    }

    /// Checks, writes the trailer and ESP header around the inner packet
    /// and takes the sequence number; the frame is untouched on error.
    // Always inlined, like `finish`: when the compiler made them calls,
    // `Prepared` went through memory between them and encap cost ~25 ns
    // more at 1400 B (examples/esp_loop.rs, `paired`).
    #[inline(always)]
    fn prepare(&mut self, frame: &mut Frame<'_>, nh: NextHeader) -> Result<Prepared, DropReason> {
        let seq = self.next_seq;
        if seq > self.last_seq || seq == 0 {
            return Err(DropReason::SeqExhausted);
        }
        let c = &self.counters;
        if self
            .params
            .lifetime
            .hard_reached(c.packets, c.bytes.saturating_add(frame.len() as u64))
        {
            return Err(DropReason::LifetimeExpired);
        }
        let f = layout::fit(&self.outer, self.max_inner, frame, nh)?;
        layout::wrap(frame, self.headroom_needed(), &f, nh, self.spi, seq)?;
        // After 2^64-1 this is 0, which `encap` refuses: exhausted, never
        // reused.
        self.next_seq = seq.wrapping_add(1);
        Ok(Prepared {
            seq,
            tos: f.tos,
            df: f.df,
            inner_len: f.inner_len,
        })
    }

    /// After sealing: the outer headers (headroom checked in `prepare`)
    /// and the counters.
    #[inline(always)]
    fn finish(&mut self, frame: &mut Frame<'_>, p: Prepared) -> Result<(), DropReason> {
        // `prepare` made the room (see `layout::wrap`).
        self.outer
            .write_front(frame.data_mut(), p.tos, p.df, self.ip_id)?;
        self.ip_id = self.ip_id.wrapping_add(1);
        self.counters.packets += 1;
        self.counters.bytes += p.inner_len as u64;
        Ok(())
    }

    /// Writes a NAT-keepalive (RFC 3948 §2.3: UDP payload 0xFF) to this
    /// SA's peer into `frame`, replacing its content. Fails with `NoRoom`
    /// when the buffer is too small, `NotEsp` when the SA is not UDP
    /// encapsulated.
    pub fn write_keepalive(&mut self, frame: &mut Frame<'_>) -> Result<(), DropReason> {
        self.outer.write_keepalive(frame, self.ip_id)?;
        self.ip_id = self.ip_id.wrapping_add(1);
        Ok(())
    }
}
