//! The worker's [`PacketHandler`]: loads the FIB, neighbor and overlay snapshots
//! once per burst, runs the I/O-free pipeline on each frame, and publishes
//! the worker's counters into its own slot after the burst.
use super::state::EdgeState;
use arc_swap::Cache;
use sdwan_dataplane::drop_reason::DropReason;
use sdwan_dataplane::fib::{Fib, FibCache};
use sdwan_dataplane::neighbor::{EventQueue, NeighborTable};
use sdwan_dataplane::overlay::{OverlayCache, OverlayTable};
use sdwan_dataplane::pipeline::{
    self, Context, IcmpRateLimit, LocalAddrs, PortConfig, Verdict, WorkerState,
};
use sdwan_dataplane::worker::PacketHandler;
use sdwan_packet::Frame;
use std::sync::Arc;
use std::time::Instant;

type NeighborCache = Cache<Arc<arc_swap::ArcSwap<NeighborTable>>, Arc<NeighborTable>>;

pub struct WorkerHandler {
    id: usize,
    state: Arc<EdgeState>,
    /// The ports (fixed for the process lifetime) and our addresses on
    /// them, flattened once for the per-packet check.
    ports: Arc<[PortConfig]>,
    local: LocalAddrs,
    fib_cache: FibCache,
    neighbor_cache: NeighborCache,
    overlay_cache: OverlayCache,
    fib: Arc<Fib>,
    neighbors: Arc<NeighborTable>,
    overlay: Arc<OverlayTable>,
    worker: WorkerState,
    events: Arc<EventQueue>,
    epoch: Instant,
}

impl WorkerHandler {
    pub fn new(id: usize, state: Arc<EdgeState>) -> WorkerHandler {
        let mut fib_cache = state.fib.cache();
        let mut neighbor_cache = Cache::new(state.neighbors.clone());
        let fib = fib_cache.load().clone();
        let neighbors = neighbor_cache.load().clone();
        let mut overlay_cache = state.overlay.cache();
        let overlay = overlay_cache.load().clone();
        let mut worker = WorkerState::new(state.cfg.ports.len(), IcmpRateLimit::default());
        // Each worker owns a block of every breakout NAT's outside ports.
        let workers = u16::try_from(state.events.len()).unwrap_or(u16::MAX);
        worker
            .overlay
            .set_nat_shard(u16::try_from(id).unwrap_or(0), workers);
        WorkerHandler {
            overlay_cache,
            overlay,
            id,
            fib_cache,
            neighbor_cache,
            fib,
            neighbors,
            ports: state.pipeline_ports.clone(),
            local: LocalAddrs::new(&state.pipeline_ports),
            worker,
            events: state.events[id].clone(),
            epoch: Instant::now(),
            state,
        }
    }
}

impl PacketHandler for WorkerHandler {
    #[inline]
    fn begin_burst(&mut self) {
        let fib = self.fib_cache.load();
        if !Arc::ptr_eq(fib, &self.fib) {
            self.fib = fib.clone();
        }
        let neighbors = self.neighbor_cache.load();
        if !Arc::ptr_eq(neighbors, &self.neighbors) {
            self.neighbors = neighbors.clone();
        }
        let overlay = self.overlay_cache.load();
        if !Arc::ptr_eq(overlay, &self.overlay) {
            self.overlay = overlay.clone();
        }
        self.worker.set_now(self.epoch.elapsed().as_nanos() as u64);
    }

    #[inline]
    fn handle(&mut self, frame: &mut Frame<'_>, in_port: u16) -> Option<u16> {
        let ctx = Context {
            ports: &self.ports,
            fib: &self.fib,
            neighbors: &self.neighbors,
            local: &self.local,
            overlay: &self.overlay,
        };
        let events = &self.events;
        let verdict = pipeline::process(frame, in_port, &ctx, &mut self.worker, &mut |e| {
            events.push(e)
        });
        match verdict {
            Verdict::Forward { port } | Verdict::Reply { port } => Some(port),
            Verdict::Local => {
                // No exception path to a host stack yet: counted, freed.
                self.worker.counters.drop(DropReason::LocalUnhandled);
                None
            }
            Verdict::Consumed | Verdict::Drop(_) => None,
        }
    }

    #[inline]
    fn end_burst(&mut self) {
        if let Some(slot) = self.state.counters.slot(self.id) {
            self.worker.counters.publish(slot);
        }
        if let Some(slot) = self.state.overlay_counters.slot(self.id) {
            self.worker.overlay.publish(slot);
        }
        self.worker.overlay.expire_nat(self.worker.now());
    }

    fn tx_result(&mut self, port: u16, sent: u64, sent_bytes: u64, dropped: u64) {
        self.worker.counters.tx_burst(port, sent, sent_bytes);
        self.worker.counters.drop_n(DropReason::TxFull, dropped);
    }

    fn multi_segment(&mut self, _in_port: u16) {
        self.worker.counters.drop(DropReason::MultiSegment);
    }
}
