//! In-memory overlay tests: an edge with two client VRFs that share the
//! same address space (blue = VRF 1, label 1001; red = VRF 2, label 2002)
//! and two WAN ports, real AES-GCM SAs on both sides (our
//! `SharedOutboundSa`s and inbound specs; the peer is an independent
//! `OutboundSa` / `InboundSa` pair from the crypto crate).

mod decap;
mod encap;
mod guard;
mod hybrid;
mod transit;
mod underlay;
mod vlan;

use super::{eth, ipv4, ipv6, v4, v6, GW_MAC};
use crate::counters::Event;
use crate::drop_reason::DropReason;
use crate::fib::{fib_channel, NextHop, RouteChange};
use crate::neighbor::{ControlEvent, LearnKind, NeighborConfig, NeighborManager};
use crate::overlay::{
    overlay_channel, DecapEntry, InboundSaSpec, InnerEncap, OverlayPath, OverlayTable,
    OverlayWriter, Tunnel,
};
use crate::pipeline::{IcmpRateLimit, PortConfig, Verdict, WorkerState};
use sdwan_crypto::aead::DefaultEngine;
use sdwan_crypto::outer::{DfPolicy, DscpPolicy, NattPorts};
use sdwan_crypto::{Cipher, InboundSa, InboundSet, KeyMaterial, OuterConfig, SaParams};
use sdwan_crypto::{OutboundSa, SharedOutboundSa};
use sdwan_packet::ethernet::ethertype;
use sdwan_packet::{Frame, MacAddr};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

pub const BLUE_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xb, 1]);
pub const RED_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xe, 1]);
pub const WAN_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xf, 1]);
pub const WAN2_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xf, 2]);
pub const CLIENT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xc, 2]);
pub const BLUE_HOST_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xb, 2]);
pub const RED_HOST_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xe, 2]);
pub const GW2_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xf, 0xfe]);
pub const VLAN_HOST_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xb, 0x64]);

pub const BLUE: u16 = 0;
pub const RED: u16 = 1;
pub const WAN: u16 = 2;
pub const WAN2: u16 = 3;
/// Blue's 802.1Q sub-interface: VLAN 100 on the blue port, 10.100.0.1/24.
pub const BLUE_V100: u16 = 4;
pub const WAN_V4: &str = "192.0.2.1";
pub const WAN_V6: &str = "2001:db8:ffff::1";
pub const WAN2_V4: &str = "198.18.0.1";
pub const PEER_V4: &str = "203.0.113.10";
pub const PEER_V6: &str = "2001:db8:eeee::10";
pub const PEER2_V4: &str = "203.0.113.20";

/// Our outbound SPIs (tunnels 0, 1, 2) and the peer's toward us.
pub const OUT_V4: u32 = 0x1001;
pub const OUT_V6: u32 = 0x1002;
pub const OUT_WAN2: u32 = 0x1003;
pub const IN_V4: u32 = 0x2001;
pub const IN_V6: u32 = 0x2002;

pub fn keys(spi: u32) -> KeyMaterial {
    let mut m = [0u8; 20];
    m[..4].copy_from_slice(&spi.to_be_bytes());
    m[4] = 0x5a;
    KeyMaterial::from_rfc4106(Cipher::AesGcm128, &m).unwrap()
}

pub fn outer(src: &str, dst: &str) -> OuterConfig {
    OuterConfig {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        natt: Some(NattPorts {
            src: 4500,
            dst: 4500,
        }),
        ttl: 64,
        dscp: DscpPolicy::Copy,
        df: DfPolicy::Clear,
    }
}

fn tunnel(local_port: u16, src: &str, remote: &str, spi: u32) -> Tunnel {
    let sa = SharedOutboundSa::new(SaParams::new(spi), &keys(spi), outer(src, remote)).unwrap();
    Tunnel {
        local_port,
        private: false,
        remote: remote.parse().unwrap(),
        sa: Arc::new(sa),
    }
}

fn inbound(spi: u32, peer: &str) -> InboundSaSpec {
    InboundSaSpec {
        spi,
        params: SaParams::new(spi),
        keys: keys(spi),
        local_port: WAN,
        peer: Some(peer.parse().unwrap()),
    }
}

/// Paths: 0 blue MPLS over IPv4, 1 blue MPLS over IPv6, 2 red MPLS over
/// IPv4, 3 blue over both WAN ports, 4 blue GRE, 5 blue VXLAN over IPv4,
/// 6 blue VXLAN over IPv6.
pub fn table() -> OverlayTable {
    let mpls = |label| InnerEncap::Mpls { label };
    let path = |inner, tunnels: &[u32]| OverlayPath {
        inner,
        tunnels: tunnels.to_vec(),
        private: 0,
    };
    OverlayTable {
        generation: 0,
        tunnels: vec![
            tunnel(WAN, WAN_V4, PEER_V4, OUT_V4),
            tunnel(WAN, WAN_V6, PEER_V6, OUT_V6),
            tunnel(WAN2, WAN2_V4, PEER2_V4, OUT_WAN2),
        ],
        paths: vec![
            path(mpls(1001), &[0]),
            path(mpls(1001), &[1]),
            path(mpls(2002), &[0]),
            path(mpls(1001), &[0, 2]),
            path(InnerEncap::Gre { key: 1001 }, &[0]),
            path(InnerEncap::Vxlan { vni: 1001 }, &[0]),
            path(InnerEncap::Vxlan { vni: 1001 }, &[1]),
        ],
        decap: vec![
            DecapEntry {
                key: mpls(1001),
                vrf: 1,
                transit: false,
            },
            DecapEntry {
                key: mpls(2002),
                vrf: 2,
                transit: false,
            },
            DecapEntry {
                key: InnerEncap::Gre { key: 1001 },
                vrf: 1,
                transit: false,
            },
            DecapEntry {
                key: InnerEncap::Vxlan { vni: 1001 },
                vrf: 1,
                transit: false,
            },
        ],
        inbound: vec![inbound(IN_V4, PEER_V4), inbound(IN_V6, PEER_V6)],
        mss_clamp: Some(1300),
        ..OverlayTable::default()
    }
}

/// The test [`Router`](super::Router) (ports, FIB, neighbors, worker,
/// `run`) with the overlay snapshots published through a real writer, so
/// generations advance as in the edge.
pub struct Edge {
    pub router: super::Router,
    pub writer: OverlayWriter,
}

impl std::ops::Deref for Edge {
    type Target = super::Router;
    fn deref(&self) -> &super::Router {
        &self.router
    }
}

impl std::ops::DerefMut for Edge {
    fn deref_mut(&mut self) -> &mut super::Router {
        &mut self.router
    }
}

fn learn(mgr: &mut NeighborManager, port: u16, ip: &str, mac: MacAddr) {
    let (now, mut acts) = (Instant::now(), Vec::new());
    let ip: IpAddr = ip.parse().unwrap();
    mgr.handle_event(ControlEvent::Resolve { port, ip }, now, &mut acts);
    let kind = LearnKind::Reply { override_: true };
    let learned = ControlEvent::NeighborLearned {
        port,
        ip,
        mac,
        kind,
    };
    mgr.handle_event(learned, now, &mut acts);
}

impl Edge {
    pub fn new() -> Self {
        let ports = vec![
            PortConfig::new(BLUE, BLUE_MAC, 1)
                .with_ipv4(v4("10.1.0.1"), 24)
                .with_ipv6(v6("2001:db8:a::1"), 64),
            PortConfig::new(RED, RED_MAC, 2).with_ipv4(v4("10.1.0.1"), 24),
            PortConfig::new(WAN, WAN_MAC, 0)
                .with_ipv4(v4(WAN_V4), 24)
                .with_ipv6(v6(WAN_V6), 64),
            PortConfig::new(WAN2, WAN2_MAC, 0).with_ipv4(v4(WAN2_V4), 24),
            PortConfig::new(BLUE_V100, BLUE_MAC, 1)
                .with_ipv4(v4("10.100.0.1"), 24)
                .on_vlan(BLUE, 100),
        ];
        let (mut w, r) = fib_channel();
        let add = |vrf, p: &str, len, next_hop| RouteChange::Add {
            vrf,
            prefix: p.parse().unwrap(),
            len,
            next_hop,
        };
        let gw = |port, via: &str| NextHop::Gateway {
            port,
            via: via.parse().unwrap(),
        };
        let ov = |path| NextHop::Overlay { path };
        let report = w.apply([
            add(0, "0.0.0.0", 0, gw(WAN, "192.0.2.254")),
            add(0, "::", 0, gw(WAN, "2001:db8:ffff::fe")),
            add(0, PEER2_V4, 32, gw(WAN2, "198.18.0.254")),
            add(0, "192.0.2.0", 24, NextHop::Connected { port: WAN }),
            add(1, "10.1.0.0", 24, NextHop::Connected { port: BLUE }),
            add(1, "2001:db8:a::", 64, NextHop::Connected { port: BLUE }),
            add(2, "10.1.0.0", 24, NextHop::Connected { port: RED }),
            add(1, "10.100.0.0", 24, NextHop::Connected { port: BLUE_V100 }),
            add(1, "10.2.0.0", 16, ov(0)),
            add(1, "2001:db8:b::", 48, ov(1)),
            add(2, "10.2.0.0", 16, ov(2)),
            add(1, "10.3.0.0", 16, ov(3)),
            add(1, "10.4.0.0", 16, ov(4)),
            add(1, "10.5.0.0", 16, ov(5)),
            add(1, "10.6.0.0", 16, ov(6)),
            add(1, "10.7.0.0", 16, ov(1)),
            add(1, "2001:db8:c::", 48, ov(0)),
            add(1, "10.9.0.0", 16, ov(9)),
        ]);
        assert!(report.rejected.is_empty(), "{report:?}");
        let mut mgr = NeighborManager::new(NeighborConfig::default());
        learn(&mut mgr, WAN, "192.0.2.254", GW_MAC);
        learn(&mut mgr, WAN, "2001:db8:ffff::fe", GW_MAC);
        learn(&mut mgr, WAN2, "198.18.0.254", GW2_MAC);
        learn(&mut mgr, BLUE, "10.1.0.2", BLUE_HOST_MAC);
        learn(&mut mgr, BLUE, "2001:db8:a::2", BLUE_HOST_MAC);
        learn(&mut mgr, RED, "10.1.0.2", RED_HOST_MAC);
        learn(&mut mgr, BLUE_V100, "10.100.0.2", VLAN_HOST_MAC);
        let (mut writer, _reader) = overlay_channel();
        writer.publish(table());
        let router = super::Router {
            fib: r.load_full(),
            neighbors: mgr.take_snapshot().unwrap(),
            worker: WorkerState::new(ports.len(), IcmpRateLimit::default()),
            ports,
            events: Vec::new(),
            overlay: (*writer.current()).clone(),
        };
        Self { router, writer }
    }

    /// Publishes `table` as a new generation.
    pub fn publish(&mut self, table: OverlayTable) {
        self.writer.publish(table);
        self.router.overlay = (*self.writer.current()).clone();
    }
}

/// A UDP datagram (checksum filled) from `sport` to port 53.
pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, payload_len: usize) -> Vec<u8> {
    let mut u = vec![0u8; 8 + payload_len];
    for (i, b) in u[8..].iter_mut().enumerate() {
        *b = i as u8;
    }
    sdwan_packet::udp::UdpRepr {
        src_port: sport,
        dst_port: 53,
        payload_len,
    }
    .emit(&mut u, &src, &dst)
    .unwrap();
    u
}

/// A blue client's IPv4/UDP packet in a frame to our blue port.
pub fn lan_v4(src: &str, dst: &str, sport: u16, payload_len: usize) -> Vec<u8> {
    let (s, d) = (v4(src), v4(dst));
    let u = udp(s.into(), d.into(), sport, payload_len);
    eth(
        BLUE_MAC,
        CLIENT_MAC,
        ethertype::IPV4,
        &ipv4(s, d, 17, 64, &u),
    )
}

pub fn lan_v6(src: &str, dst: &str, sport: u16, payload_len: usize) -> Vec<u8> {
    let (s, d) = (v6(src), v6(dst));
    let u = udp(s.into(), d.into(), sport, payload_len);
    eth(
        BLUE_MAC,
        CLIENT_MAC,
        ethertype::IPV6,
        &ipv6(s, d, 17, 64, &u),
    )
}

/// The remote edge: decrypts what we send on its inbound SAs (our
/// outbound SPIs), encrypts toward us with its outbound SAs (our inbound
/// SPIs).
pub struct Peer {
    pub inbound: InboundSet<DefaultEngine>,
}

impl Peer {
    pub fn new() -> Self {
        let mut inbound = InboundSet::new(4500);
        for spi in [OUT_V4, OUT_V6, OUT_WAN2] {
            inbound.insert(InboundSa::new(SaParams::new(spi), &keys(spi)).unwrap());
        }
        Self { inbound }
    }

    /// Decrypts a frame we sent (Ethernet / outer IP / UDP / ESP); returns
    /// the SPI, ESP next header and the inner payload.
    pub fn open(&mut self, frame: &[u8]) -> (u32, sdwan_crypto::NextHeader, Vec<u8>) {
        let mut b = frame[14..].to_vec();
        let n = b.len();
        let mut f = Frame::new(&mut b, 0, n).unwrap();
        match self.inbound.decap(&mut f).unwrap() {
            sdwan_crypto::Received::Inner {
                spi, next_header, ..
            } => (spi, next_header, f.data().to_vec()),
            other => panic!("not ESP: {other:?}"),
        }
    }
}

/// An outbound SA of the remote edge toward us.
pub fn peer_sa(spi: u32, src: &str, dst: &str) -> OutboundSa<DefaultEngine> {
    OutboundSa::new(SaParams::new(spi), &keys(spi), outer(src, dst)).unwrap()
}

/// `inner` (VPN header + client packet) sealed by `sa` into a frame from
/// the underlay gateway to our WAN port.
pub fn wan_frame(
    sa: &mut OutboundSa<DefaultEngine>,
    nh: sdwan_crypto::NextHeader,
    inner: &[u8],
) -> Vec<u8> {
    let mut buf = vec![0u8; 128 + inner.len() + 64];
    buf[128..128 + inner.len()].copy_from_slice(inner);
    let mut f = Frame::new(&mut buf, 128, inner.len()).unwrap();
    sa.encap(&mut f, nh).unwrap();
    let et = if f.data()[0] >> 4 == 6 {
        ethertype::IPV6
    } else {
        ethertype::IPV4
    };
    eth(WAN_MAC, GW_MAC, et, f.data())
}

/// One MPLS label stack entry (S=1) in front of `packet`.
pub fn mpls(label: u32, ttl: u8, packet: &[u8]) -> Vec<u8> {
    let lse = (label << 12) | 0x100 | u32::from(ttl);
    let mut v = lse.to_be_bytes().to_vec();
    v.extend_from_slice(packet);
    v
}
