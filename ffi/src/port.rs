//! Ethernet ports (`rte_eth_dev_*`) and their rx/tx queues.
use crate::eal::{last_error, EalError};
use crate::mbuf::{Burst, BURST_MAX};
use crate::mempool::Mempool;
use crate::sys;
use std::ffi::{CStr, CString};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct PortConfig {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    pub mtu: Option<u16>,
    pub promiscuous: bool,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            mtu: None,
            promiscuous: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStatus {
    pub up: bool,
    pub speed_mbps: u32,
}

/// Hardware/PMD counters of a port (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PortStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

struct PortInner {
    id: u16,
    name: String,
    _pool: Arc<Mempool>,
}

impl Drop for PortInner {
    fn drop(&mut self) {
        // SAFETY: the last queue handle is gone, so no thread polls the
        // port; stop and close release the device (a TAP vdev's interface
        // disappears here).
        unsafe {
            sys::rte_eth_dev_stop(self.id);
            sys::rte_eth_dev_close(self.id);
        }
    }
}

/// A configured and started port. Cloning shares it; the device is stopped
/// and closed when the last `Port`, `RxQueue` and `TxQueue` is dropped.
#[derive(Clone)]
pub struct Port {
    inner: Arc<PortInner>,
    rx_queues: u16,
    tx_queues: u16,
}

fn check(what: &'static str, ret: i32) -> Result<(), EalError> {
    if ret < 0 {
        Err(last_error(what, ret))
    } else {
        Ok(())
    }
}

impl Port {
    /// Port id of a device by its DPDK name (`net_tap0`, `0000:03:00.0`).
    pub fn id_by_name(name: &str) -> Result<u16, EalError> {
        let cname = CString::new(name).map_err(|_| EalError {
            what: "rte_eth_dev_get_port_by_name",
            errno: libc::EINVAL,
            message: format!("device name {name:?} contains NUL"),
        })?;
        let mut id = 0u16;
        // SAFETY: valid C string and out pointer.
        let ret = unsafe { sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        check("rte_eth_dev_get_port_by_name", ret)?;
        Ok(id)
    }

    /// Ids of all probed ports.
    pub fn available() -> Vec<u16> {
        (0..sys::RTE_MAX_ETHPORTS as u16)
            // SAFETY: pure query.
            .filter(|&id| unsafe { sys::rte_eth_dev_is_valid_port(id) } == 1)
            .collect()
    }

    /// DPDK's name of port `id`.
    pub fn name_of(id: u16) -> String {
        let mut buf = [0 as libc::c_char; 64];
        // SAFETY: buf is RTE_ETH_NAME_MAX_LEN (64) bytes.
        let ret = unsafe { sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) };
        if ret < 0 {
            return format!("port{id}");
        }
        // SAFETY: DPDK wrote a NUL-terminated string into buf.
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    /// Configures queues and starts port `id`.
    pub fn open(id: u16, cfg: &PortConfig, pool: Arc<Mempool>) -> Result<Port, EalError> {
        // SAFETY (whole block): `id` is a valid port (checked first), the
        // config structs are zero-initialised C PODs, and the mempool
        // outlives the port through the Arc kept in PortInner.
        unsafe {
            if sys::rte_eth_dev_is_valid_port(id) != 1 {
                return Err(EalError {
                    what: "rte_eth_dev_configure",
                    errno: libc::ENODEV,
                    message: format!("no port with id {id}"),
                });
            }
            let mut info: sys::rte_eth_dev_info = std::mem::zeroed();
            check(
                "rte_eth_dev_info_get",
                sys::rte_eth_dev_info_get(id, &mut info),
            )?;
            if cfg.rx_queues > info.max_rx_queues || cfg.tx_queues > info.max_tx_queues {
                return Err(EalError {
                    what: "rte_eth_dev_configure",
                    errno: libc::EINVAL,
                    message: format!(
                        "port {} supports {} rx / {} tx queues, {} / {} requested",
                        Port::name_of(id),
                        info.max_rx_queues,
                        info.max_tx_queues,
                        cfg.rx_queues,
                        cfg.tx_queues
                    ),
                });
            }
            let mut conf: sys::rte_eth_conf = std::mem::zeroed();
            if cfg.rx_queues > 1 {
                conf.rxmode.mq_mode = sys::rte_eth_rx_mq_mode_RTE_ETH_MQ_RX_RSS;
                conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads;
            }
            check(
                "rte_eth_dev_configure",
                sys::rte_eth_dev_configure(id, cfg.rx_queues, cfg.tx_queues, &conf),
            )?;
            let mut rxd = cfg.rx_desc;
            let mut txd = cfg.tx_desc;
            check(
                "rte_eth_dev_adjust_nb_rx_tx_desc",
                sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rxd, &mut txd),
            )?;
            let socket = sys::rte_eth_dev_socket_id(id);
            let socket = if socket < 0 { 0 } else { socket as u32 };
            for q in 0..cfg.rx_queues {
                check(
                    "rte_eth_rx_queue_setup",
                    sys::rte_eth_rx_queue_setup(
                        id,
                        q,
                        rxd,
                        socket,
                        std::ptr::null(),
                        pool.as_ptr(),
                    ),
                )?;
            }
            for q in 0..cfg.tx_queues {
                check(
                    "rte_eth_tx_queue_setup",
                    sys::rte_eth_tx_queue_setup(id, q, txd, socket, std::ptr::null()),
                )?;
            }
            if let Some(mtu) = cfg.mtu {
                check("rte_eth_dev_set_mtu", sys::rte_eth_dev_set_mtu(id, mtu))?;
            }
            check("rte_eth_dev_start", sys::rte_eth_dev_start(id))?;
            if cfg.promiscuous {
                // Not every PMD supports it; failure is not fatal.
                sys::rte_eth_promiscuous_enable(id);
            }
        }
        Ok(Port {
            inner: Arc::new(PortInner {
                id,
                name: Port::name_of(id),
                _pool: pool,
            }),
            rx_queues: cfg.rx_queues,
            tx_queues: cfg.tx_queues,
        })
    }

    pub fn id(&self) -> u16 {
        self.inner.id
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn mac(&self) -> [u8; 6] {
        let mut addr = sys::rte_ether_addr::default();
        // SAFETY: valid port, valid out pointer.
        unsafe { sys::rte_eth_macaddr_get(self.inner.id, &mut addr) };
        addr.addr_bytes
    }

    /// Sets the port's MAC address.
    pub fn set_mac(&self, mac: [u8; 6]) -> Result<(), EalError> {
        let mut addr = sys::rte_ether_addr { addr_bytes: mac };
        // SAFETY: valid port, valid in pointer for the call.
        let ret = unsafe { sys::rte_eth_dev_default_mac_addr_set(self.inner.id, &mut addr) };
        check("rte_eth_dev_default_mac_addr_set", ret)
    }

    pub fn link(&self) -> LinkStatus {
        // SAFETY: valid port, zeroed POD out struct.
        unsafe {
            let mut link: sys::rte_eth_link = std::mem::zeroed();
            if sys::rte_eth_link_get_nowait(self.inner.id, &mut link) < 0 {
                return LinkStatus::default();
            }
            LinkStatus {
                up: link.link_status() != 0,
                speed_mbps: link.link_speed,
            }
        }
    }

    pub fn stats(&self) -> PortStats {
        // SAFETY: valid port, zeroed POD out struct.
        unsafe {
            let mut s: sys::rte_eth_stats = std::mem::zeroed();
            if sys::rte_eth_stats_get(self.inner.id, &mut s) < 0 {
                return PortStats::default();
            }
            PortStats {
                ipackets: s.ipackets,
                opackets: s.opackets,
                ibytes: s.ibytes,
                obytes: s.obytes,
                imissed: s.imissed,
                ierrors: s.ierrors,
                oerrors: s.oerrors,
                rx_nombuf: s.rx_nombuf,
            }
        }
    }

    /// Handles for every rx and tx queue; each must be owned by one thread.
    pub fn queues(&self) -> (Vec<RxQueue>, Vec<TxQueue>) {
        let rx = (0..self.rx_queues)
            .map(|q| RxQueue {
                port: self.inner.clone(),
                queue: q,
            })
            .collect();
        let tx = (0..self.tx_queues)
            .map(|q| TxQueue {
                port: self.inner.clone(),
                queue: q,
            })
            .collect();
        (rx, tx)
    }
}

/// Receive side of one queue. Owned by exactly one worker thread.
pub struct RxQueue {
    port: Arc<PortInner>,
    queue: u16,
}

impl RxQueue {
    pub fn port_id(&self) -> u16 {
        self.port.id
    }
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Receives up to `BURST_MAX` packets into the (empty) `burst`.
    #[inline]
    pub fn rx_burst(&mut self, burst: &mut Burst) -> usize {
        burst.clear();
        let (ptrs, _) = burst.raw_parts();
        // SAFETY: this RxQueue is the only user of (port, queue) (it is not
        // Clone and &mut self); ptrs has room for BURST_MAX pointers.
        let n = unsafe { sys::sdwan_rx_burst(self.port.id, self.queue, ptrs, BURST_MAX as u16) };
        burst.set_len_after_rx(n as usize);
        n as usize
    }
}

/// Transmit side of one queue. Owned by exactly one worker thread.
pub struct TxQueue {
    port: Arc<PortInner>,
    queue: u16,
}

impl TxQueue {
    pub fn port_id(&self) -> u16 {
        self.port.id
    }
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Sends as many of `burst` as the queue takes; the unsent stay in the
    /// burst (front-compacted) for the caller to retry or drop and count.
    #[inline]
    pub fn tx_burst(&mut self, burst: &mut Burst) -> usize {
        let (ptrs, len) = burst.raw_parts();
        if len == 0 {
            return 0;
        }
        // SAFETY: exclusive (port, queue) user; ptrs[..len] are owned mbufs
        // whose ownership passes to the PMD for the first `sent`.
        let sent =
            unsafe { sys::sdwan_tx_burst(self.port.id, self.queue, ptrs, len as u16) } as usize;
        burst.consume_front(sent);
        sent
    }
}
