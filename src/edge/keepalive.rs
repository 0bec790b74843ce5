//! Tunnel keepalives (RFC 3948 §2.3 NAT-keepalive, one 0xFF byte in UDP
//! 4500): every `KEEPALIVE_INTERVAL` the control thread sends one on each
//! tunnel of the current overlay snapshot, from the tunnel's local WAN
//! address to its remote endpoint. They keep NAT bindings on the path
//! open and are the peer's liveness signal for the tunnel
//! (`resolver::liveness`): a peer that stops hearing them takes the tunnel
//! off its paths, so flows fail over within a second.
//!
//! The Ethernet next hop is the tunnel's underlay next hop (the remote
//! endpoint looked up in the WAN port's VRF) from the neighbor snapshot;
//! an unknown one is handed to the neighbor manager to resolve, and that
//! tunnel's keepalive waits for the next round.
use super::control::Control;
use crate::edge::overlay::resolver::KEEPALIVE_INTERVAL;
use sdwan_dataplane::fib::NextHop;
use sdwan_dataplane::neighbor::ControlEvent;
use sdwan_packet::ethernet::{ethertype, EthernetRepr, HEADER_LEN as ETH_LEN};
use std::net::IpAddr;
use std::time::Instant;

pub struct Keepalives {
    last: Instant,
    /// Keepalives sent, and the ones that waited for a neighbor.
    pub sent: u64,
    pub unresolved: u64,
}

impl Default for Keepalives {
    fn default() -> Self {
        Self {
            last: Instant::now(),
            sent: 0,
            unresolved: 0,
        }
    }
}

impl Control {
    /// Sends this round's keepalives when one is due.
    pub(super) fn keepalives(&mut self) {
        if self.keepalive.last.elapsed() < KEEPALIVE_INTERVAL {
            return;
        }
        self.keepalive.last = Instant::now();
        let table = self.state.overlay.load_full();
        let fib = self.state.fib.load_full();
        let neighbors = self.state.neighbors.load_full();
        for t in &table.tunnels {
            let Some(pc) = self.state.pipeline_ports.get(usize::from(t.local_port)) else {
                continue;
            };
            let via = match t.remote {
                IpAddr::V4(a) => fib.lookup_v4(pc.vrf, a),
                IpAddr::V6(a) => fib.lookup_v6(pc.vrf, a),
            };
            let via = match via {
                Some(NextHop::Connected { port }) if *port == pc.id => t.remote,
                Some(NextHop::Gateway { port, via }) if *port == pc.id => *via,
                _ => continue,
            };
            let Some(mac) = neighbors.lookup(pc.id, via).and_then(|e| e.mac) else {
                if let Some(q) = self.state.events.first() {
                    q.push(ControlEvent::Resolve {
                        port: pc.id,
                        ip: via,
                    });
                }
                self.keepalive.unresolved += 1;
                continue;
            };
            let sa = t.sa.clone();
            let ok = self.send(t.local_port, |frame, pc| {
                // The mbuf's headroom takes the Ethernet header after.
                if sa.write_keepalive(frame).is_err() {
                    return false;
                }
                let Ok(h) = frame.prepend(ETH_LEN) else {
                    return false;
                };
                EthernetRepr {
                    dst: mac,
                    src: pc.mac,
                    vlan_id: None,
                    ethertype: if t.remote.is_ipv6() {
                        ethertype::IPV6
                    } else {
                        ethertype::IPV4
                    },
                }
                .emit(h)
                .is_ok()
            });
            if ok {
                self.keepalive.sent += 1;
            }
        }
    }
}
