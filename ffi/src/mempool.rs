//! Packet-buffer pools (`rte_pktmbuf_pool_create`).
use crate::eal::{last_error, EalError};
use crate::mbuf::Mbuf;
use crate::sys;
use std::ffi::CString;
use std::ptr::NonNull;

/// A DPDK mbuf pool. DPDK's mempool is multi-producer/multi-consumer safe,
/// so the pool is shared (`Arc<Mempool>`) by ports and workers.
pub struct Mempool {
    raw: NonNull<sys::rte_mempool>,
}

// SAFETY: rte_mempool get/put are MP/MC-safe; the pointer is only freed in
// Drop, once no Arc (ports, workers) refers to the pool.
unsafe impl Send for Mempool {}
unsafe impl Sync for Mempool {}

impl Mempool {
    /// `n` mbufs of `data_room` bytes (headroom included), `cache` per lcore.
    pub fn new(name: &str, n: u32, cache: u32, data_room: u16) -> Result<Mempool, EalError> {
        let cname = CString::new(name).map_err(|_| EalError {
            what: "rte_pktmbuf_pool_create",
            errno: libc::EINVAL,
            message: format!("pool name {name:?} contains NUL"),
        })?;
        // SAFETY: cname is a valid C string for the duration of the call;
        // SOCKET_ID_ANY lets DPDK choose the memory.
        let raw = unsafe {
            sys::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, sys::SOCKET_ID_ANY)
        };
        NonNull::new(raw)
            .map(|raw| Mempool { raw })
            .ok_or_else(|| last_error("rte_pktmbuf_pool_create", 0))
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.raw.as_ptr()
    }

    /// One fresh mbuf (data_off = default headroom, length 0).
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: pool pointer valid while self lives.
        let m = unsafe { sys::sdwan_pktmbuf_alloc(self.raw.as_ptr()) };
        // SAFETY: a non-null mbuf from the pool is exclusively ours.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m) })
    }

    /// Mbufs currently available in the pool (approximate under load).
    pub fn available(&self) -> u32 {
        // SAFETY: pool pointer valid while self lives.
        unsafe { sys::rte_mempool_avail_count(self.raw.as_ptr()) }
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: the last Arc is gone, so no port or worker uses the pool.
        unsafe { sys::rte_mempool_free(self.raw.as_ptr()) }
    }
}
