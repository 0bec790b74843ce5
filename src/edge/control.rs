//! The control thread's periodic work: drain the workers' event queues
//! into the neighbor manager, publish neighbor snapshots, and send the ARP
//! requests / neighbor solicitations it asks for through a worker's inject
//! queue (tagged and sent on the parent for an 802.1Q sub-interface).
use super::state::EdgeState;
use sdwan_dataplane::neighbor::{NeighborAction, NeighborConfig, NeighborManager};
use sdwan_dataplane::pipeline::{build_arp_request, build_neighbor_solicitation, to_wire};
use sdwan_dataplane::worker::InjectQueue;
use sdwan_ffi::Mempool;
use sdwan_packet::Frame;
use std::sync::Arc;
use std::time::Instant;

pub struct Control {
    pub(super) state: Arc<EdgeState>,
    pub(super) keepalive: super::keepalive::Keepalives,
    /// One per worker; frames for port `p` go to a worker polling `p`.
    injects: Vec<Arc<InjectQueue>>,
    pool: Arc<Mempool>,
    neighbors: NeighborManager,
    actions: Vec<NeighborAction>,
}

impl Control {
    pub fn new(
        state: Arc<EdgeState>,
        injects: Vec<Arc<InjectQueue>>,
        pool: Arc<Mempool>,
    ) -> Control {
        if let Err(e) = sdwan_ffi::register_thread() {
            tracing::warn!("control thread: no DPDK lcore id: {e}");
        }
        let mut neighbors = NeighborManager::new(NeighborConfig::default());
        for n in &state.cfg.neighbors {
            neighbors.add_static(n.port, n.ip, sdwan_packet::MacAddr(n.mac));
        }
        neighbors.publish(&state.neighbors);
        Control {
            state,
            keepalive: Default::default(),
            injects,
            pool,
            neighbors,
            actions: Vec::new(),
        }
    }

    pub fn tick(&mut self) {
        // Reuse the action buffer across ticks (taken out so `act` may
        // borrow self).
        let mut actions = std::mem::take(&mut self.actions);
        self.neighbors.tick(
            &self.state.events,
            Instant::now(),
            &self.state.neighbors,
            &mut actions,
        );
        for a in actions.drain(..) {
            self.act(a);
        }
        self.actions = actions;
        if self.state.cfg.overlay.is_some() {
            self.keepalives();
        }
    }

    fn act(&mut self, a: NeighborAction) {
        let (port, ok) = match a {
            NeighborAction::SendArpRequest {
                port,
                target,
                unicast,
            } => (
                port,
                self.send(port, |frame, pc| {
                    build_arp_request(frame, pc, target, unicast).is_ok()
                }),
            ),
            NeighborAction::SendNeighborSolicit {
                port,
                target,
                unicast,
            } => (
                port,
                self.send(port, |frame, pc| {
                    build_neighbor_solicitation(frame, pc, target, unicast).is_ok()
                }),
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
    pub(super) fn send(
        &mut self,
        port: u16,
        build: impl FnOnce(&mut Frame<'_>, &sdwan_dataplane::pipeline::PortConfig) -> bool,
    ) -> bool {
        let Some(pc) = self.state.pipeline_ports.get(port as usize) else {
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
        // A sub-interface's frame leaves tagged on its parent.
        let Some(port) = to_wire(&mut frame, &self.state.pipeline_ports, port) else {
            return false;
        };
        let (start, len) = (frame.start(), frame.len());
        if !m.set_window(start, len) {
            return false;
        }
        // Any worker can send on any port; prefer one that polls it.
        let worker = self
            .state
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|w| w.queues.iter().any(|(p, _)| *p == port))
            .map_or(0, |w| w.id);
        match self.injects.get(worker).map(|q| q.push((port, m))) {
            Some(Ok(())) => true,
            _ => false, // queue full: the frame is freed; the probe is retried
        }
    }
}
