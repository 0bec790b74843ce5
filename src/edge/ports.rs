//! Opening the configured DPDK ports: find each device, configure one tx
//! queue per worker (each worker owns one on every port) and as many rx
//! queues (some PMDs, TAP among them, demand equal counts; the port's
//! workers poll the surplus ones too), set the MAC, start.
use crate::config::Resolved;
use anyhow::Context;
use sdwan_ffi::{Mempool, Port, PortConfig, RxQueue, TxQueue};
use std::sync::Arc;

pub struct OpenedPort {
    pub port: Port,
    pub mac: [u8; 6],
    pub rx: Vec<RxQueue>,
    pub tx: Vec<TxQueue>,
}

pub struct OpenedPorts {
    /// Declared first so ports are closed before the pool is freed.
    pub ports: Vec<OpenedPort>,
    pub pool: Arc<Mempool>,
}

/// Packet buffer: 2048 bytes of data room plus DPDK's default headroom
/// (128), enough for a 1500-byte frame and every header we push.
const DATA_ROOM: u16 = 2048 + 128;

pub fn open_all(cfg: &Resolved) -> anyhow::Result<OpenedPorts> {
    let pool = Arc::new(
        Mempool::new("sdwan_pkts", cfg.mbufs, 256, DATA_ROOM)
            .context("creating the packet mempool")?,
    );
    let mut ports = Vec::new();
    // Sub-interfaces (after the physical ports) have no device of their own.
    for (i, p) in cfg.ports[..cfg.physical_count()].iter().enumerate() {
        let id = Port::id_by_name(&p.dpdk_name)
            .with_context(|| format!("port {:?}: DPDK has no device {:?}", p.name, p.dpdk_name))?;
        let pc = PortConfig {
            rx_queues: cfg.port_queue_count(i),
            tx_queues: cfg.port_queue_count(i),
            rx_desc: cfg.rx_desc,
            tx_desc: cfg.tx_desc,
            mtu: p.mtu,
            promiscuous: false,
        };
        let port = Port::open(id, &pc, pool.clone())
            .with_context(|| format!("port {:?} ({})", p.name, p.device))?;
        if let Some(mac) = p.mac {
            port.set_mac(mac)
                .with_context(|| format!("port {:?}: setting MAC", p.name))?;
        }
        let mac = port.mac();
        let (rx, tx) = port.queues();
        tracing::info!(port = %p.name, dpdk_id = id, device = %p.device, mac = %fmt_mac(mac), "port up");
        ports.push(OpenedPort { port, mac, rx, tx });
    }
    Ok(OpenedPorts { ports, pool })
}

pub fn fmt_mac(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}
