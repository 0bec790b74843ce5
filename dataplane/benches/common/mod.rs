//! What the overlay benches (`overlay_encap`, `overlay_decap`) share: two
//! ports (LAN 0 in VRF 1, WAN 1 in VRF 0), their FIB, a learned neighbor,
//! the pipeline context, and the callgrind loop.

use sdwan_dataplane::fib::{fib_channel, Fib, NextHop, RouteChange};
use sdwan_dataplane::neighbor::{NeighborConfig, NeighborManager, NeighborTable};
use sdwan_dataplane::overlay::{overlay_channel, OverlayTable};
use sdwan_dataplane::pipeline::{Context, LocalAddrs, PortConfig, Verdict};
use sdwan_packet::{Frame, MacAddr};
use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;

/// Room in front of a frame, as an mbuf's.
pub const HEADROOM: usize = 128;
pub const LAN: u16 = 0;
pub const WAN: u16 = 1;

pub struct Setup {
    pub ports: Vec<PortConfig>,
    pub fib: Arc<Fib>,
    pub neighbors: NeighborTable,
    pub local: LocalAddrs,
    pub overlay: Arc<OverlayTable>,
}

impl Setup {
    /// `ports` with `routes` installed, one static neighbor (`port`, `ip`,
    /// `mac`) and `overlay` published.
    pub fn new(
        ports: Vec<PortConfig>,
        routes: Vec<RouteChange>,
        neighbor: (u16, IpAddr, MacAddr),
        overlay: OverlayTable,
    ) -> Self {
        let (mut writer, reader) = fib_channel();
        let report = writer.apply(routes);
        assert!(report.rejected.is_empty());
        let (port, ip, mac) = neighbor;
        let mut mgr = NeighborManager::new(NeighborConfig::default());
        mgr.add_static(port, ip, mac);
        let (mut ow, _or) = overlay_channel();
        ow.publish(overlay);
        Self {
            local: LocalAddrs::new(&ports),
            ports,
            fib: reader.load_full(),
            neighbors: mgr.take_snapshot().unwrap(),
            overlay: ow.current(),
        }
    }

    pub fn context(&self) -> Context<'_> {
        Context {
            ports: &self.ports,
            fib: &self.fib,
            neighbors: &self.neighbors,
            local: &self.local,
            overlay: &self.overlay,
        }
    }
}

/// `prefix/len` in `vrf` via `next_hop`.
pub fn route(vrf: u16, prefix: &str, len: u8, next_hop: NextHop) -> RouteChange {
    RouteChange::Add {
        vrf,
        prefix: prefix.parse().unwrap(),
        len,
        next_hop,
    }
}

/// The routes both benches have: VRF 0's default via `gw` on the WAN port
/// and its connected 192.0.2.0/24, VRF 1's connected 10.1.0.0/24 on the
/// LAN port.
pub fn base_routes(gw: IpAddr) -> Vec<RouteChange> {
    vec![
        route(0, "0.0.0.0", 0, NextHop::Gateway { port: WAN, via: gw }),
        route(0, "192.0.2.0", 24, NextHop::Connected { port: WAN }),
        route(1, "10.1.0.0", 24, NextHop::Connected { port: LAN }),
    ]
}

/// The frame `len` bytes at `HEADROOM` in `src`, copied into `buf`.
pub fn reset<'b>(buf: &'b mut [u8], src: &[u8], len: usize) -> Frame<'b> {
    buf[HEADROOM..HEADROOM + len].copy_from_slice(&src[HEADROOM..HEADROOM + len]);
    Frame::new(buf, HEADROOM, len).unwrap()
}

/// Instruction counting under callgrind: with `OVERLAY_LOOP=<mode>|copy`,
/// `OVERLAY_SIZE` (default 64) and `OVERLAY_ITERS=N` (default 0) set, runs
/// N iterations of `one` (or of the frame reset alone, `copy`) on the
/// frame `frame(size)` gives (bytes at `HEADROOM`, length) and exits the
/// process; returns when `OVERLAY_LOOP` is unset.
pub fn env_loop(
    buf: &mut [u8],
    frame: impl Fn(usize) -> (Vec<u8>, usize),
    mut one: impl FnMut(&mut [u8], &[u8], usize) -> Verdict,
) {
    let Ok(mode) = std::env::var("OVERLAY_LOOP") else {
        return;
    };
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("OVERLAY_ITERS", 0);
    let (src, len) = frame(env("OVERLAY_SIZE", 64) as usize);
    for _ in 0..n {
        if mode == "copy" {
            black_box(&mut reset(buf, &src, len));
        } else {
            black_box(one(buf, &src, len));
        }
    }
    std::process::exit(0);
}
