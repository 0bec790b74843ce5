//! An outbound SA that several dataplane workers encrypt with at once.
//!
//! Why: client packets toward one remote WAN port arrive on every LAN rx
//! queue, so every worker needs the tunnel's SA. Handing packets to an
//! owner worker (VPP's handoff) costs a ring hop per packet; deriving one SA
//! per worker needs the peer to know our worker count. Instead the only
//! state that must be unique per packet, the sequence number, is an
//! [`AtomicU64`] on its own cache line: each packet takes the next number
//! with one `fetch_add` (no lock, no retry loop). Everything else is
//! read-only after construction (key schedule, outer header template), and
//! traffic counters are per worker ([`SaCounters`] passed in by the caller,
//! summed by the management side).
//!
//! Sequence numbers therefore stay unique under the key (the GCM nonce is
//! the sequence number, RFC 4106 §3.1) and never wrap: a number past the
//! last usable one is refused with [`DropReason::SeqExhausted`]. They can
//! reach the wire slightly out of order across workers, which the peer's
//! anti-replay window (64..4096) absorbs.
//!
//! The hard packet lifetime is enforced from the sequence number; byte
//! lifetimes and soft limits are the control plane's job (it sums the
//! workers' counters and rekeys, see `keyex`).

use super::{aad, layout, KeyMaterial, NextHeader, SaCounters, SaParams};
use super::{OutboundError, OuterConfig, ICV_LEN, TRAILER_LEN};
use crate::aead::AeadEngine;
use crate::outer::OuterTemplate;
use crate::DropReason;
use sdwan_packet::Frame;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The sequence counter alone on a cache line, so workers bumping it do not
/// also invalidate the read-only fields next to it.
#[repr(align(64))]
#[derive(Debug)]
struct SeqCounter(AtomicU64);

pub struct SharedOutboundSa<E: AeadEngine> {
    /// Shared with the objects [`Self::with_outer`] makes: one key, one
    /// sequence space, whatever outer header a copy writes.
    next_seq: Arc<SeqCounter>,
    spi: u32,
    esn: bool,
    /// Last usable sequence number: 2^32-1, 2^64-1 with ESN, or lower when
    /// the hard packet lifetime says so.
    last_seq: u64,
    salt: [u8; 4],
    engine: E,
    outer: OuterTemplate,
    /// The longest inner packet `outer` can carry ([`layout::max_inner`]).
    max_inner: usize,
    outer_cfg: OuterConfig,
    params: SaParams,
}

impl<E: AeadEngine> core::fmt::Debug for SharedOutboundSa<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedOutboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("engine", &E::NAME)
            .field("next_seq", &self.next_seq())
            .finish_non_exhaustive()
    }
}

impl<E: AeadEngine> SharedOutboundSa<E> {
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
        let space = if params.esn {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        // Sequence numbers start at 1, so the n-th packet carries n.
        let last_seq = space.min(params.lifetime.hard_packets);
        Ok(Self {
            next_seq: Arc::new(SeqCounter(AtomicU64::new(1))),
            spi: params.spi,
            esn: params.esn,
            last_seq,
            salt: keys.salt(),
            engine: E::new(keys.key())?,
            max_inner: layout::max_inner(&template),
            outer: template,
            outer_cfg: outer,
            params,
        })
    }

    /// The same SA (key, SPI and sequence counter) with another outer
    /// header, e.g. after the peer's address changed. The counter is
    /// shared, never restarted: a restart would repeat (key, IV) pairs,
    /// which breaks AES-GCM (RFC 4106 §3.1). `keys` must be the SA's own.
    pub fn with_outer(
        &self,
        keys: &KeyMaterial,
        outer: OuterConfig,
    ) -> Result<Self, OutboundError> {
        let mut sa = Self::new(self.params, keys, outer)?;
        sa.next_seq = Arc::clone(&self.next_seq);
        Ok(sa)
    }

    pub fn spi(&self) -> u32 {
        self.spi
    }
    pub fn params(&self) -> &SaParams {
        &self.params
    }
    /// Where the outer headers go (local WAN address, remote endpoint, NAT-T).
    pub fn outer(&self) -> &OuterConfig {
        &self.outer_cfg
    }

    /// Writes a NAT-keepalive (RFC 3948 §2.3: UDP payload 0xFF) toward
    /// this SA's peer into `frame`, replacing its content (IP id 0: the
    /// packet is never fragmented). `NotEsp` when the SA has no UDP
    /// encapsulation, `NoRoom` when the buffer is too small.
    pub fn write_keepalive(&self, frame: &mut Frame<'_>) -> Result<(), DropReason> {
        self.outer.write_keepalive(frame, 0)
    }
    /// The sequence number the next packet will take (a hint under load).
    pub fn next_seq(&self) -> u64 {
        self.next_seq.0.load(Ordering::Relaxed)
    }

    /// Half the sequence space, or the soft packet lifetime, is used: the
    /// control plane should rekey.
    pub fn needs_rekey(&self) -> bool {
        let next = self.next_seq();
        next == 0 || next > self.last_seq / 2 || next > self.params.lifetime.soft_packets
    }

    /// Bytes this SA adds in front of an inner packet.
    pub fn headroom_needed(&self) -> usize {
        layout::headroom(&self.outer)
    }

    /// Most bytes this SA adds after an inner packet.
    pub fn tailroom_needed(&self) -> usize {
        3 + TRAILER_LEN + ICV_LEN
    }

    /// Total bytes encapsulation adds to an inner packet of `inner_len`
    /// bytes (outer headers, ESP header, IV, padding, trailer, ICV): what a
    /// tunnel MTU check subtracts.
    pub fn overhead(&self, inner_len: usize) -> usize {
        let pad = (4 - (inner_len + TRAILER_LEN) % 4) % 4;
        self.headroom_needed() + pad + TRAILER_LEN + ICV_LEN
    }

    /// Encrypts the inner packet in `frame` into an ESP tunnel packet with
    /// outer headers, in place; counts into the caller's (per-worker)
    /// `counters`. On error the frame is unchanged, nothing is consumed
    /// from the sequence space except on `SeqExhausted`, and the reason is
    /// counted.
    #[inline]
    pub fn encap(
        &self,
        frame: &mut Frame<'_>,
        next_header: NextHeader,
        counters: &mut SaCounters,
    ) -> Result<(), DropReason> {
        match self.encap_inner(frame, next_header, counters) {
            Ok(()) => Ok(()),
            Err(r) => {
                counters.drops.count(r);
                Err(r)
            }
        }
    }

    /// As [`Self::encap`], taking the sequence number from the worker's
    /// reserved `block` (refilled from the shared counter every
    /// [`super::SEQ_BLOCK`] packets): one atomic add per block, and the
    /// engine reads a nonce and AAD built a block ahead instead of just
    /// before the call (intel-ipsec-mb waited for those stores, see
    /// `PreparedIv`). A worker keeps one block per SA it sends on.
    #[inline]
    pub fn encap_reserved(
        &self,
        frame: &mut Frame<'_>,
        next_header: NextHeader,
        counters: &mut SaCounters,
        block: &mut super::SeqBlock,
    ) -> Result<(), DropReason> {
        match self.encap_block(frame, next_header, counters, block) {
            Ok(()) => Ok(()),
            Err(r) => {
                counters.drops.count(r);
                Err(r)
            }
        }
    }

    #[inline]
    fn encap_block(
        &self,
        frame: &mut Frame<'_>,
        nh: NextHeader,
        counters: &mut SaCounters,
        block: &mut super::SeqBlock,
    ) -> Result<(), DropReason> {
        let f = layout::fit(&self.outer, self.max_inner, frame, nh)?;
        let owner = Arc::as_ptr(&self.next_seq) as usize;
        let seq = match block.take(owner) {
            Some(seq) => seq,
            None => {
                self.reserve(owner, block)?;
                block.take(owner).ok_or(DropReason::SeqExhausted)?
            }
        };
        let iv = block.iv(seq);
        let front = self.headroom_needed();
        layout::wrap(frame, front, &f, nh, self.spi, seq)?;
        self.engine
            .seal(&iv.nonce, iv.aad(self.esn), &mut frame.data_mut()[front..]);
        self.outer
            .write_front(frame.data_mut(), f.tos, f.df, seq as u16)?;
        counters.packets += 1;
        counters.bytes += f.inner_len as u64;
        Ok(())
    }

    /// A new block from the shared counter (never past `last_seq`; the
    /// counter parks past the end like `encap`'s).
    #[cold]
    fn reserve(&self, owner: usize, block: &mut super::SeqBlock) -> Result<(), DropReason> {
        let n = super::SEQ_BLOCK as u64;
        let start = self.next_seq.0.fetch_add(n, Ordering::Relaxed);
        if start > self.last_seq || start == 0 {
            return Err(DropReason::SeqExhausted);
        }
        let end = start.saturating_add(n).min(self.last_seq.saturating_add(1));
        if end <= start {
            // Only at 2^64 - 1: that last number is not worth a block.
            return Err(DropReason::SeqExhausted);
        }
        let (salt, spi, esn) = (self.salt, self.spi, self.esn);
        block.refill(owner, start, end, |s| {
            super::PreparedIv::new(salt, spi, esn, s)
        });
        Ok(())
    }

    #[inline]
    fn encap_inner(
        &self,
        frame: &mut Frame<'_>,
        nh: NextHeader,
        counters: &mut SaCounters,
    ) -> Result<(), DropReason> {
        let f = layout::fit(&self.outer, self.max_inner, frame, nh)?;
        // Every check that can fail without consuming a number is done:
        // take the sequence number now.
        let seq = self.next_seq.0.fetch_add(1, Ordering::Relaxed);
        if seq > self.last_seq || seq == 0 {
            // Keep the counter parked past the end (it cannot come back
            // into range: fetch_add only grows it until u64 wrap, which
            // needs 2^64 packets).
            return Err(DropReason::SeqExhausted);
        }

        let front = self.headroom_needed();
        layout::wrap(frame, front, &f, nh, self.spi, seq)?;

        let nonce = super::nonce(self.salt, seq.to_be_bytes());
        let mut aad_buf = [0u8; 12];
        let aad_len = aad(self.spi, seq, self.esn, &mut aad_buf);
        self.engine
            .seal(&nonce, &aad_buf[..aad_len], &mut frame.data_mut()[front..]);

        // The IPv4 ID only has to be unique among fragments in flight; the
        // low bits of the sequence number are, per SA.
        self.outer
            .write_front(frame.data_mut(), f.tos, f.df, seq as u16)?;

        counters.packets += 1;
        counters.bytes += f.inner_len as u64;
        Ok(())
    }
}

#[cfg(all(test, feature = "aws-lc"))]
mod tests {
    use super::*;
    use crate::aead::DefaultEngine;
    use crate::esp::{Cipher, InboundSa, InboundSet, Received};
    use crate::outer::{DfPolicy, DscpPolicy, NattPorts};
    use std::sync::Arc;

    fn keys() -> KeyMaterial {
        KeyMaterial::from_rfc4106(Cipher::AesGcm128, &[7u8; 20]).unwrap()
    }

    fn outer() -> OuterConfig {
        OuterConfig {
            src: "192.0.2.1".parse().unwrap(),
            dst: "198.51.100.2".parse().unwrap(),
            natt: Some(NattPorts {
                src: 4500,
                dst: 4500,
            }),
            ttl: 64,
            dscp: DscpPolicy::Copy,
            df: DfPolicy::Clear,
        }
    }

    fn inner_v4(buf: &mut [u8], id: u8) -> usize {
        let len = 40;
        let p = &mut buf[..len];
        p.fill(0);
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 17;
        p[12..16].copy_from_slice(&[10, 1, 0, 2]);
        p[16..20].copy_from_slice(&[10, 2, 0, 2]);
        p[39] = id;
        let c = crate::outer::ipv4_checksum(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        len
    }

    #[test]
    fn threads_share_one_sa_and_every_packet_decrypts_once() {
        let sa = Arc::new(
            SharedOutboundSa::<DefaultEngine>::new(SaParams::new(0x1234), &keys(), outer())
                .unwrap(),
        );
        let per_thread = 200;
        let packets: Vec<Vec<u8>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4u8)
                .map(|t| {
                    let sa = sa.clone();
                    s.spawn(move || {
                        let mut counters = SaCounters::default();
                        let mut out = Vec::new();
                        for i in 0..per_thread {
                            let mut buf = vec![0u8; 256];
                            let n = inner_v4(&mut buf[128..], t.wrapping_mul(50) ^ i as u8);
                            let mut f = Frame::new(&mut buf, 128, n).unwrap();
                            sa.encap(&mut f, NextHeader::Ipv4, &mut counters).unwrap();
                            out.push(f.data().to_vec());
                        }
                        assert_eq!(counters.packets, per_thread as u64);
                        out
                    })
                })
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(sa.next_seq(), 4 * per_thread as u64 + 1);
        let mut params = SaParams::new(0x1234);
        params.replay_window = 4096;
        let mut inb = InboundSet::<DefaultEngine>::new(4500);
        inb.insert(InboundSa::new(params, &keys()).unwrap());
        let mut ok = 0;
        for mut p in packets {
            let n = p.len();
            let mut f = Frame::new(&mut p, 0, n).unwrap();
            if let Ok(Received::Inner { .. }) = inb.decap(&mut f) {
                ok += 1;
            }
        }
        // Unique sequence numbers: none is refused as a replay.
        assert_eq!(ok, 4 * per_thread);
    }

    #[test]
    fn reserved_blocks_give_unique_in_order_numbers_that_all_decrypt() {
        use crate::esp::{SeqBlock, SEQ_BLOCK};
        let sa = SharedOutboundSa::<DefaultEngine>::new(SaParams::new(0x5151), &keys(), outer())
            .unwrap();
        // Two "workers" interleaving on one SA, plus per-packet `encap`.
        let (mut a, mut b) = (SeqBlock::default(), SeqBlock::default());
        let mut counters = SaCounters::default();
        let mut seqs = Vec::new();
        let mut packets = Vec::new();
        for i in 0..100u8 {
            let mut buf = vec![0u8; 256];
            let n = inner_v4(&mut buf[128..], i);
            let mut f = Frame::new(&mut buf, 128, n).unwrap();
            match i % 5 {
                0 | 1 => sa.encap_reserved(&mut f, NextHeader::Ipv4, &mut counters, &mut a),
                2 | 3 => sa.encap_reserved(&mut f, NextHeader::Ipv4, &mut counters, &mut b),
                _ => sa.encap(&mut f, NextHeader::Ipv4, &mut counters),
            }
            .unwrap();
            // ESP sequence number (low 32 bits) after IPv4 (20) + UDP (8) + SPI.
            let d = f.data();
            seqs.push(u32::from_be_bytes([d[32], d[33], d[34], d[35]]));
            packets.push(d.to_vec());
        }
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 100, "a sequence number was used twice");
        // One worker's numbers rise one by one inside its block.
        let of_a: Vec<u32> = seqs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 5 < 2)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(of_a[1], of_a[0] + 1);
        // The shared counter moved by whole blocks (plus the single ones).
        assert!(sa.next_seq() > 2 * SEQ_BLOCK as u64);
        let mut params = SaParams::new(0x5151);
        params.replay_window = 1024;
        let mut inb = InboundSet::<DefaultEngine>::new(4500);
        inb.insert(InboundSa::new(params, &keys()).unwrap());
        let mut ok = 0;
        for p in packets.iter_mut() {
            let n = p.len();
            let mut f = Frame::new(p, 0, n).unwrap();
            if matches!(inb.decap(&mut f), Ok(Received::Inner { .. })) {
                ok += 1;
            }
        }
        assert_eq!(ok, 100);
        // A block of another SA is never used: a fresh reservation.
        let other = SharedOutboundSa::<DefaultEngine>::new(SaParams::new(0x5252), &keys(), outer())
            .unwrap();
        let mut buf = vec![0u8; 256];
        let n = inner_v4(&mut buf[128..], 1);
        let mut f = Frame::new(&mut buf, 128, n).unwrap();
        other
            .encap_reserved(&mut f, NextHeader::Ipv4, &mut counters, &mut a)
            .unwrap();
        assert_eq!(u32::from_be_bytes(f.data()[32..36].try_into().unwrap()), 1);
    }

    #[test]
    fn a_new_outer_header_continues_the_sequence() {
        let a = SharedOutboundSa::<DefaultEngine>::new(SaParams::new(0x4242), &keys(), outer())
            .unwrap();
        let send = |sa: &SharedOutboundSa<DefaultEngine>| {
            let mut buf = vec![0u8; 256];
            let len = inner_v4(&mut buf[100..], 1);
            let mut f = Frame::new(&mut buf, 100, len).unwrap();
            sa.encap(&mut f, NextHeader::Ipv4, &mut SaCounters::default())
                .unwrap();
        };
        for _ in 0..3 {
            send(&a);
        }
        let mut moved = outer();
        moved.dst = "198.51.100.3".parse().unwrap();
        let b = a.with_outer(&keys(), moved).unwrap();
        assert_eq!(b.next_seq(), 4, "the copy continues, never restarts");
        assert_eq!(b.outer().dst, moved.dst);
        // Both copies draw from one counter.
        send(&a);
        send(&b);
        assert_eq!(a.next_seq(), 6);
    }

    #[test]
    fn hard_packet_lifetime_exhausts_the_sequence_space() {
        let mut params = SaParams::new(0x999);
        params.lifetime.hard_packets = 2;
        let sa = SharedOutboundSa::<DefaultEngine>::new(params, &keys(), outer()).unwrap();
        let mut c = SaCounters::default();
        for i in 0..3 {
            let mut buf = vec![0u8; 256];
            let n = inner_v4(&mut buf[128..], i);
            let mut f = Frame::new(&mut buf, 128, n).unwrap();
            let r = sa.encap(&mut f, NextHeader::Ipv4, &mut c);
            if i < 2 {
                r.unwrap();
            } else {
                assert_eq!(r, Err(DropReason::SeqExhausted));
                assert_eq!(f.len(), n, "frame unchanged on error");
            }
        }
        assert_eq!(c.drops.get(DropReason::SeqExhausted), 1);
    }
}
