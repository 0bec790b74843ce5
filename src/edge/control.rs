//! The control thread's periodic work: drain the workers' event queues
//! into the neighbor manager, publish neighbor snapshots, and send the ARP
//! requests / neighbor solicitations it asks for on the control thread's
//! own tx queue of each port.
use super::state::EdgeState;
use sdwan_dataplane::counters::WorkerCounters;
use sdwan_dataplane::neighbor::{NeighborAction, NeighborConfig, NeighborManager};
use sdwan_dataplane::pipeline::{build_arp_request, build_neighbor_solicitation};
use sdwan_ffi::{Burst, Mempool, TxQueue};
use sdwan_packet::Frame;
use std::sync::Arc;
use std::time::Instant;

pub struct Control {
    state: Arc<EdgeState>,
    tx: Vec<TxQueue>,
    pool: Arc<Mempool>,
    neighbors: NeighborManager,
    actions: Vec<NeighborAction>,
    counters: WorkerCounters,
}

impl Control {
    pub fn new(state: Arc<EdgeState>, tx: Vec<TxQueue>, pool: Arc<Mempool>) -> Control {
        if let Err(e) = sdwan_ffi::register_thread() {
            tracing::warn!("control thread: no DPDK lcore id: {e}");
        }
        let mut neighbors = NeighborManager::new(NeighborConfig::default());
        for n in &state.cfg.neighbors {
            neighbors.add_static(n.port, n.ip, sdwan_packet::MacAddr(n.mac));
        }
        neighbors.publish(&state.neighbors);
        let counters = WorkerCounters::new(state.cfg.ports.len());
        Control {
            state,
            tx,
            pool,
            neighbors,
            actions: Vec::new(),
            counters,
        }
    }

    pub fn tick(&mut self) {
        self.neighbors
            .tick(&self.state.events, Instant::now(), &self.state.neighbors, &mut self.actions);
        let actions = std::mem::take(&mut self.actions);
        for a in &actions {
            self.act(*a);
        }
        self.actions = actions;
        self.actions.clear();
        let control_slot = self.state.counters.slot(self.state.events.len());
        if let Some(slot) = control_slot {
            self.counters.publish(slot);
        }
    }

    fn act(&mut self, a: NeighborAction) {
        let (port, ok) = match a {
            NeighborAction::SendArpRequest { port, target, unicast } => (
                port,
                self.send(port, |frame, pc| build_arp_request(frame, pc, target, unicast).is_ok()),
            ),
            NeighborAction::SendNeighborSolicit { port, target, unicast } => (
                port,
                self.send(port, |frame, pc| build_neighbor_solicitation(frame, pc, target, unicast).is_ok()),
            ),
            NeighborAction::Unreachable { port, ip } => {
                tracing::debug!(port, %ip, "neighbor unreachable");
                return;
            }
        };
        if !ok {
            tracing::debug!(port, "could not send a neighbor solicitation");
        }
    }

    /// Allocates an mbuf, lets `build` write the frame, sends it on `port`.
    fn send(
        &mut self,
        port: u16,
        build: impl FnOnce(&mut Frame<'_>, &sdwan_dataplane::pipeline::PortConfig) -> bool,
    ) -> bool {
        let Some(pc) = self.state.pipeline_ports.get(port as usize) else {
            return false;
        };
        let Some(txq) = self.tx.get_mut(port as usize) else {
            return false;
        };
        let Some(mut m) = self.pool.alloc() else {
            return false;
        };
        let (buf, off, _) = m.buffer_mut();
        let Some(mut frame) = Frame::new(buf, off, 0) else {
            return false;
        };
        if !build(&mut frame, pc) {
            return false;
        }
        let (start, len) = (frame.start(), frame.len());
        if !m.set_window(start, len) {
            return false;
        }
        let mut burst = Burst::new();
        if burst.push(m).is_err() {
            return false;
        }
        let bytes = burst.bytes();
        let sent = txq.tx_burst(&mut burst);
        if sent == 1 {
            self.counters.tx_burst(port, 1, bytes);
        }
        sent == 1
    }
}
