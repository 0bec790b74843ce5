//! In-memory tests of the whole pipeline: frames built with the packet
//! crate's emitters, run through `process`, rewritten bytes checked by
//! parsing them back.

mod arp;
mod forward_v4;
mod forward_v6;
mod local_v4;
mod malformed;
mod ndp;
mod overlay;
mod resolution;
mod vlan;
mod vrf;

use super::*;
use crate::counters::Event;
use crate::fib::{fib_channel, NextHop, RouteChange};
use crate::neighbor::{ControlEvent, LearnKind, NeighborConfig, NeighborManager, NeighborTable};
use sdwan_packet::ethernet::{ethertype, EthernetFrame, EthernetRepr};
use sdwan_packet::ipv4::{Ipv4Packet, Ipv4Repr};
use sdwan_packet::ipv6::{Ipv6Packet, Ipv6Repr};
use sdwan_packet::{Frame, MacAddr};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Instant;

pub const HEADROOM: usize = 128;
pub const PEER0: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x99]);
pub const GW_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 0xfe]);
pub const MAC0: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
pub const MAC1: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

pub fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}
pub fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// Two ports in VRF 0: port 0 10.0.0.1/24 + 2001:db8::1/64, port 1
/// 10.0.1.1/24 + 2001:db8:1::1/64; routes to 172.16/16 and 2001:db8:100::/48
/// via gateways on port 1, both connected subnets, 192.0.2/24 blackhole.
pub struct Router {
    pub ports: Vec<PortConfig>,
    pub fib: Arc<crate::fib::Fib>,
    pub neighbors: NeighborTable,
    pub worker: WorkerState,
    pub events: Vec<ControlEvent>,
    /// Empty unless a test installs one (see `overlay`).
    pub overlay: crate::overlay::OverlayTable,
}

impl Router {
    pub fn new() -> Self {
        Self::with_icmp(IcmpRateLimit::default())
    }

    pub fn with_icmp(icmp: IcmpRateLimit) -> Self {
        let ports = vec![
            PortConfig::new(0, MAC0, 0)
                .with_ipv4(v4("10.0.0.1"), 24)
                .with_ipv6(v6("2001:db8::1"), 64),
            PortConfig::new(1, MAC1, 0)
                .with_ipv4(v4("10.0.1.1"), 24)
                .with_ipv6(v6("2001:db8:1::1"), 64),
        ];
        let (mut w, r) = fib_channel();
        let add = |p: &str, len, nh| RouteChange::Add {
            vrf: 0,
            prefix: p.parse().unwrap(),
            len,
            next_hop: nh,
        };
        let report = w.apply([
            add(
                "172.16.0.0",
                16,
                NextHop::Gateway {
                    port: 1,
                    via: "10.0.1.254".parse().unwrap(),
                },
            ),
            add("10.0.0.0", 24, NextHop::Connected { port: 0 }),
            add("10.0.1.0", 24, NextHop::Connected { port: 1 }),
            add("192.0.2.0", 24, NextHop::Blackhole),
            add(
                "2001:db8:100::",
                48,
                NextHop::Gateway {
                    port: 1,
                    via: "2001:db8:1::fe".parse().unwrap(),
                },
            ),
            add("2001:db8::", 64, NextHop::Connected { port: 0 }),
            add("2001:db8:1::", 64, NextHop::Connected { port: 1 }),
        ]);
        assert!(report.rejected.is_empty(), "{report:?}");
        let fib = r.load_full();
        let mut mgr = NeighborManager::new(NeighborConfig::default());
        let now = Instant::now();
        let mut acts = Vec::new();
        for ip in ["10.0.1.254", "2001:db8:1::fe"] {
            let ip: IpAddr = ip.parse().unwrap();
            mgr.handle_event(ControlEvent::Resolve { port: 1, ip }, now, &mut acts);
            let kind = LearnKind::Reply { override_: true };
            mgr.handle_event(
                ControlEvent::NeighborLearned {
                    port: 1,
                    ip,
                    mac: GW_MAC,
                    kind,
                },
                now,
                &mut acts,
            );
        }
        let neighbors = mgr.take_snapshot().unwrap();
        Self {
            ports,
            fib,
            neighbors,
            worker: WorkerState::new(2, icmp),
            events: Vec::new(),
            overlay: crate::overlay::OverlayTable::default(),
        }
    }

    /// Runs `bytes` (received on `in_port`) through `process` in a buffer
    /// with 128 B headroom and 256 B tailroom; returns the verdict and the
    /// frame bytes afterwards.
    pub fn run(&mut self, bytes: &[u8], in_port: u16) -> (Verdict, Vec<u8>) {
        self.run_with_room(bytes, in_port, HEADROOM, 256)
    }

    pub fn run_with_room(
        &mut self,
        bytes: &[u8],
        in_port: u16,
        head: usize,
        tail: usize,
    ) -> (Verdict, Vec<u8>) {
        let mut buf = vec![0u8; head + bytes.len() + tail];
        buf[head..head + bytes.len()].copy_from_slice(bytes);
        let mut f = Frame::new(&mut buf, head, bytes.len()).unwrap();
        let local = LocalAddrs::new(&self.ports);
        let ctx = Context {
            ports: &self.ports,
            fib: &self.fib,
            neighbors: &self.neighbors,
            local: &local,
            overlay: &self.overlay,
        };
        let events = &mut self.events;
        let v = process(&mut f, in_port, &ctx, &mut self.worker, &mut |e| {
            events.push(e)
        });
        (v, f.data().to_vec())
    }

    pub fn drops(&self, r: DropReason) -> u64 {
        self.worker.counters.drops(r)
    }
    pub fn count(&self, e: Event) -> u64 {
        self.worker.counters.events(e)
    }
}

pub fn eth(dst: MacAddr, src: MacAddr, et: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 14 + payload.len()];
    EthernetRepr {
        dst,
        src,
        vlan_id: None,
        ethertype: et,
    }
    .emit(&mut b)
    .unwrap();
    b[14..].copy_from_slice(payload);
    b
}

pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 20 + payload.len()];
    Ipv4Repr {
        src,
        dst,
        protocol: proto,
        ttl,
        dscp_ecn: 0,
        ident: 7,
        dont_frag: true,
        payload_len: payload.len(),
    }
    .emit(&mut b)
    .unwrap();
    b[20..].copy_from_slice(payload);
    b
}

pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, nh: u8, hop: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 40 + payload.len()];
    Ipv6Repr {
        src,
        dst,
        next_header: nh,
        hop_limit: hop,
        traffic_class: 0,
        flow_label: 0,
        payload_len: payload.len(),
    }
    .emit(&mut b)
    .unwrap();
    b[40..].copy_from_slice(payload);
    b
}

/// A frame from PEER0 to port 0 carrying an IPv4 packet.
pub fn v4_frame(src: &str, dst: &str, proto: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    eth(
        MAC0,
        PEER0,
        ethertype::IPV4,
        &ipv4(v4(src), v4(dst), proto, ttl, payload),
    )
}

pub fn v6_frame(src: &str, dst: &str, nh: u8, hop: u8, payload: &[u8]) -> Vec<u8> {
    eth(
        MAC0,
        PEER0,
        ethertype::IPV6,
        &ipv6(v6(src), v6(dst), nh, hop, payload),
    )
}

pub fn eth_of(b: &[u8]) -> EthernetFrame<&[u8]> {
    EthernetFrame::new_checked(b).unwrap()
}
pub fn ipv4_of(b: &[u8]) -> Ipv4Packet<&[u8]> {
    Ipv4Packet::new_checked(&b[14..]).unwrap()
}
pub fn ipv6_of(b: &[u8]) -> Ipv6Packet<&[u8]> {
    Ipv6Packet::new_checked(&b[14..]).unwrap()
}

#[test]
fn unknown_port_is_dropped_and_counted() {
    let mut r = Router::new();
    let (v, _) = r.run(&v4_frame("10.0.0.2", "172.16.0.1", 17, 64, &[0; 8]), 7);
    assert_eq!(v, Verdict::Drop(DropReason::UnknownPort));
    assert_eq!(r.drops(DropReason::UnknownPort), 1);
}
