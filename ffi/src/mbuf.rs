//! Owned mbufs and bursts of them.
//!
//! An [`Mbuf`] owns one single-segment `rte_mbuf` and frees it on drop. Its
//! memory is lent to the rest of the program as an [`sdwan_packet::Frame`]-
//! compatible triple (whole buffer, data offset, data length) so packet code
//! never sees a raw pointer.
use crate::sys;
use std::ptr::NonNull;

/// Largest burst the wrappers move at once.
pub const BURST_MAX: usize = 64;

pub struct Mbuf {
    raw: NonNull<sys::rte_mbuf>,
}

// SAFETY: an mbuf is exclusively owned by whoever holds the Mbuf; DPDK
// allows freeing it from any thread (mempool put is MP-safe).
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// # Safety
    /// `raw` must be a valid mbuf that the caller owns exclusively.
    pub(crate) unsafe fn from_raw(raw: NonNull<sys::rte_mbuf>) -> Mbuf {
        Mbuf { raw }
    }

    pub(crate) fn into_raw(self) -> *mut sys::rte_mbuf {
        let p = self.raw.as_ptr();
        std::mem::forget(self);
        p
    }

    fn hdr(&self) -> &sys::rte_mbuf {
        // SAFETY: we own a valid mbuf.
        unsafe { self.raw.as_ref() }
    }

    fn hdr_mut(&mut self) -> &mut sys::rte_mbuf {
        // SAFETY: we own a valid mbuf exclusively.
        unsafe { self.raw.as_mut() }
    }

    /// Port the mbuf was received on.
    pub fn port(&self) -> u16 {
        self.hdr().port
    }

    pub fn nb_segs(&self) -> u16 {
        self.hdr().nb_segs
    }

    pub fn data_len(&self) -> usize {
        self.hdr().data_len as usize
    }

    pub fn data_off(&self) -> usize {
        self.hdr().data_off as usize
    }

    /// The packet bytes of the first segment.
    pub fn data(&self) -> &[u8] {
        let h = self.hdr();
        // SAFETY: buf_addr points to buf_len bytes owned by this mbuf, and
        // data_off + data_len <= buf_len is a DPDK invariant.
        unsafe {
            std::slice::from_raw_parts(
                (h.buf_addr as *const u8).add(h.data_off as usize),
                h.data_len as usize,
            )
        }
    }

    /// The whole data buffer with the packet at `[off .. off+len]`: the
    /// shape of `sdwan_packet::Frame::new(buf, off, len)`.
    pub fn buffer_mut(&mut self) -> (&mut [u8], usize, usize) {
        let h = self.hdr_mut();
        let (off, len) = (h.data_off as usize, h.data_len as usize);
        // SAFETY: buf_addr points to buf_len bytes owned by this mbuf for as
        // long as &mut self is borrowed; no other reference exists.
        let buf =
            unsafe { std::slice::from_raw_parts_mut(h.buf_addr as *mut u8, h.buf_len as usize) };
        (buf, off, len)
    }

    /// Sets the packet window after an in-place rewrite (single segment).
    /// Returns false (and changes nothing) if it does not fit the buffer.
    pub fn set_window(&mut self, off: usize, len: usize) -> bool {
        let h = self.hdr_mut();
        match off.checked_add(len) {
            Some(end) if end <= h.buf_len as usize && off <= u16::MAX as usize => {
                h.data_off = off as u16;
                h.data_len = len as u16;
                h.pkt_len = len as u32;
                true
            }
            _ => false,
        }
    }

    /// Copies `bytes` into a fresh-looking mbuf (default headroom).
    pub fn fill(&mut self, bytes: &[u8]) -> bool {
        let (buf, off, _) = self.buffer_mut();
        if off + bytes.len() > buf.len() {
            return false;
        }
        buf[off..off + bytes.len()].copy_from_slice(bytes);
        self.set_window(off, bytes.len())
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf; after this it is back in its pool.
        unsafe { sys::sdwan_pktmbuf_free(self.raw.as_ptr()) }
    }
}

/// A fixed-capacity array of owned mbufs: what rx fills and tx drains,
/// without allocating. Remaining mbufs are freed on drop or `clear`.
pub struct Burst {
    ptrs: [*mut sys::rte_mbuf; BURST_MAX],
    len: usize,
}

// SAFETY: the burst owns its mbufs exclusively (see Mbuf).
unsafe impl Send for Burst {}

impl Default for Burst {
    fn default() -> Self {
        Self::new()
    }
}

impl Burst {
    pub const fn new() -> Burst {
        Burst {
            ptrs: [std::ptr::null_mut(); BURST_MAX],
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn is_full(&self) -> bool {
        self.len == BURST_MAX
    }

    /// Adds an mbuf; gives it back if the burst is full.
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.is_full() {
            return Err(m);
        }
        self.ptrs[self.len] = m.into_raw();
        self.len += 1;
        Ok(())
    }

    /// Moves every mbuf out, in order, leaving the burst empty.
    pub fn drain(&mut self) -> impl Iterator<Item = Mbuf> + '_ {
        let n = std::mem::replace(&mut self.len, 0);
        self.ptrs[..n].iter_mut().map(|p| {
            let raw = std::mem::replace(p, std::ptr::null_mut());
            // SAFETY: slots below len hold owned, valid mbufs; each is moved
            // out exactly once (the slot is nulled).
            unsafe { Mbuf::from_raw(NonNull::new_unchecked(raw)) }
        })
    }

    /// Frees every mbuf (bulk). Returns how many were freed.
    pub fn clear(&mut self) -> usize {
        let n = std::mem::replace(&mut self.len, 0);
        if n > 0 {
            // SAFETY: slots below len hold owned, valid mbufs.
            unsafe { sys::rte_pktmbuf_free_bulk(self.ptrs.as_mut_ptr(), n as u32) };
        }
        n
    }

    /// Sum of the packets' lengths (for byte counters).
    pub fn bytes(&self) -> u64 {
        self.ptrs[..self.len]
            .iter()
            // SAFETY: slots below len hold owned, valid mbufs.
            .map(|&p| unsafe { (*p).pkt_len } as u64)
            .sum()
    }

    pub(crate) fn raw_parts(&mut self) -> (*mut *mut sys::rte_mbuf, usize) {
        (self.ptrs.as_mut_ptr(), self.len)
    }

    /// After rx wrote `n` pointers into an empty burst.
    pub(crate) fn set_len_after_rx(&mut self, n: usize) {
        debug_assert!(self.len == 0 && n <= BURST_MAX);
        self.len = n;
    }

    /// After tx took the first `sent` mbufs: shift the rest to the front.
    pub(crate) fn consume_front(&mut self, sent: usize) {
        let sent = sent.min(self.len);
        self.ptrs.copy_within(sent..self.len, 0);
        self.len -= sent;
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        self.clear();
    }
}
