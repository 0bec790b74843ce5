//! Poll-mode workers (DPDK glue). One thread per (port, rx queue), pinned
//! to a core: rx burst → [`PacketHandler::handle`] per frame (parse, look
//! up, rewrite, decide: the I/O-free pipeline) → tx burst per egress port.
//! Each worker owns one tx queue on every port, so no queue is shared and
//! nothing on this path locks or allocates. Idle workers back off to short
//! sleeps ([`idle::AdaptiveIdle`]). Frames the control thread originates
//! (ARP requests, neighbor solicitations) reach the wire through a worker's
//! bounded [`InjectQueue`], so the control thread needs no tx queue of its
//! own (some PMDs, TAP among them, need as many rx as tx queues).
//!
//! Frames are handled one at a time, start to finish. Measured here and
//! not kept (scripts/bench-overlay.sh, hugepages, alternating runs):
//! leaving ESP seals to a second pass over the burst (the AES-GCM calls
//! back to back: their share of the samples fell from ~47 to ~35 ns per
//! 64 B packet, but the rate did not move, and at 1400 B it fell ~7 %);
//! sealing every 8 or 16 frames instead (no gain); prefetching the packet
//! line of the frame 2 or 4 ahead (no gain: the pcap rx has just written
//! it). The encap path is bound by the work per packet, not by memory or
//! by the cipher's latency; what moved it was less work in the cipher
//! itself for small packets (sdwan-ffi's short-text AES-GCM: 64 B frames
//! ~8.2 -> ~9.3 Mpps with hugepages).

pub mod idle;
pub mod stats;

use crossbeam_queue::ArrayQueue;
use idle::AdaptiveIdle;
use sdwan_ffi::{Burst, Mbuf, RxQueue, TxQueue};
use sdwan_packet::Frame;
use stats::WorkerStats;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the worker loop asks of the forwarding logic.
pub trait PacketHandler {
    /// Before the frames of one rx burst (load snapshots here, once).
    fn begin_burst(&mut self);
    /// Decides one frame received on `in_port` (our port index), rewriting
    /// it in place; `Some(port)` transmits it there, `None` drops it (the
    /// handler counts why).
    fn handle(&mut self, frame: &mut Frame<'_>, in_port: u16) -> Option<u16>;
    /// After the burst (flush counters here).
    fn end_burst(&mut self);
    /// Outcome of a tx burst on `port`: sent packets/bytes and packets the
    /// queue did not take (dropped, `tx_full`).
    fn tx_result(&mut self, port: u16, sent: u64, sent_bytes: u64, dropped: u64);
    /// A chained (multi-segment) mbuf arrived: dropped.
    fn multi_segment(&mut self, in_port: u16);
}

/// Frames handed to a worker for transmission: (our port index, frame).
pub type InjectQueue = ArrayQueue<(u16, Mbuf)>;

pub struct WorkerSpec {
    pub id: usize,
    /// Core to pin to, if any.
    pub core: Option<usize>,
    /// (our port index, queue) pairs this worker polls.
    pub rx: Vec<(u16, RxQueue)>,
    /// This worker's tx queue on every port, indexed by our port index.
    pub tx: Vec<TxQueue>,
    pub idle_threshold: u32,
    pub max_sleep: Duration,
    pub stats: Arc<WorkerStats>,
    /// Frames from the control thread to send.
    pub inject: Arc<InjectQueue>,
}

fn flush<H: PacketHandler>(handler: &mut H, port: u16, q: &mut TxQueue, burst: &mut Burst) {
    if burst.is_empty() {
        return;
    }
    let total_bytes = burst.bytes();
    let mut sent = q.tx_burst(burst);
    if !burst.is_empty() {
        // One retry: the PMD may just have freed descriptors.
        sent += q.tx_burst(burst);
    }
    let unsent_bytes = burst.bytes();
    let dropped = burst.clear();
    handler.tx_result(
        port,
        sent as u64,
        total_bytes - unsent_bytes,
        dropped as u64,
    );
}

/// Runs the worker until `stop` is set. Call on the worker's own thread.
pub fn run<H: PacketHandler>(mut spec: WorkerSpec, mut handler: H, stop: &AtomicBool) {
    if let Err(e) = sdwan_ffi::register_thread() {
        tracing::warn!(worker = spec.id, "no DPDK lcore id for worker thread: {e}");
    }
    if let Some(core) = spec.core {
        if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
            tracing::warn!(worker = spec.id, core, "cannot pin worker to core");
        }
    }
    tracing::info!(
        worker = spec.id,
        core = ?spec.core,
        queues = ?spec.rx.iter().map(|(p, q)| (*p, q.queue_id())).collect::<Vec<_>>(),
        "worker started"
    );
    let started = Instant::now();
    let mut idle = AdaptiveIdle::new(spec.idle_threshold, spec.max_sleep);
    let mut rx_burst = Burst::new();
    let mut tx_bursts: Vec<Burst> = spec.tx.iter().map(|_| Burst::new()).collect();
    let mut loops: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut received = 0;
        for (in_port, rxq) in spec.rx.iter_mut() {
            let n = rxq.rx_burst(&mut rx_burst);
            spec.stats.record_poll(n);
            if n == 0 {
                continue;
            }
            received += n;
            handler.begin_burst();
            for mut m in rx_burst.drain() {
                if m.nb_segs() != 1 {
                    handler.multi_segment(*in_port);
                    continue;
                }
                let (buf, off, len) = m.buffer_mut();
                let Some(mut frame) = Frame::new(buf, off, len) else {
                    handler.multi_segment(*in_port);
                    continue;
                };
                let Some(out) = handler.handle(&mut frame, *in_port) else {
                    continue;
                };
                let (start, len) = (frame.start(), frame.len());
                if !m.set_window(start, len) {
                    continue;
                }
                let out_idx = out as usize;
                let (Some(burst), Some(txq)) =
                    (tx_bursts.get_mut(out_idx), spec.tx.get_mut(out_idx))
                else {
                    continue;
                };
                if let Err(m) = burst.push(m) {
                    flush(&mut handler, out, txq, burst);
                    let _ = burst.push(m);
                }
            }
            for (port, (burst, txq)) in tx_bursts.iter_mut().zip(spec.tx.iter_mut()).enumerate() {
                flush(&mut handler, port as u16, txq, burst);
            }
            handler.end_burst();
        }
        if !spec.inject.is_empty() {
            while let Some((port, m)) = spec.inject.pop() {
                let idx = port as usize;
                if let (Some(burst), Some(txq)) = (tx_bursts.get_mut(idx), spec.tx.get_mut(idx)) {
                    if let Err(m) = burst.push(m) {
                        flush(&mut handler, port, txq, burst);
                        let _ = burst.push(m);
                    }
                }
            }
            for (port, (burst, txq)) in tx_bursts.iter_mut().zip(spec.tx.iter_mut()).enumerate() {
                flush(&mut handler, port as u16, txq, burst);
            }
            handler.end_burst();
        }
        if let Some(sleep) = idle.after_poll(received) {
            let t = Instant::now();
            std::thread::sleep(sleep);
            spec.stats.record_sleep(t.elapsed().as_nanos() as u64);
        }
        loops = loops.wrapping_add(1);
        if loops.is_multiple_of(64) {
            spec.stats.set_run_ns(started.elapsed().as_nanos() as u64);
        }
    }
    spec.stats.set_run_ns(started.elapsed().as_nanos() as u64);
    tracing::info!(worker = spec.id, "worker stopped");
}
