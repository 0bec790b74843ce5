//! DPDK's rte_lpm / rte_lpm6, bound only as the baseline our own LPM is
//! benchmarked against (benches/lpm.rs).
use crate::eal::{last_error, EalError};
use crate::sys;
use std::ffi::CString;
use std::ptr::NonNull;

const LOOKUP_SUCCESS: u32 = 0x0100_0000;

fn cname(name: &str) -> CString {
    CString::new(name.replace('\0', "_")).unwrap_or_default()
}

/// `rte_lpm` (DIR-24-8) for IPv4. Requires an initialised EAL.
pub struct RteLpm4 {
    raw: NonNull<sys::rte_lpm>,
}

// SAFETY: lookups are read-only; adds need &mut self.
unsafe impl Send for RteLpm4 {}
unsafe impl Sync for RteLpm4 {}

impl RteLpm4 {
    pub fn new(name: &str, max_rules: u32, number_tbl8s: u32) -> Result<Self, EalError> {
        let cfg = sys::rte_lpm_config {
            max_rules,
            number_tbl8s,
            flags: 0,
        };
        let n = cname(name);
        // SAFETY: valid name and config for the duration of the call.
        let raw = unsafe { sys::rte_lpm_create(n.as_ptr(), sys::SOCKET_ID_ANY, &cfg) };
        NonNull::new(raw)
            .map(|raw| RteLpm4 { raw })
            .ok_or_else(|| last_error("rte_lpm_create", 0))
    }

    /// `ip` in host byte order.
    pub fn add(&mut self, ip: u32, depth: u8, next_hop: u32) -> Result<(), EalError> {
        // SAFETY: valid table, exclusive access.
        let ret = unsafe { sys::rte_lpm_add(self.raw.as_ptr(), ip, depth, next_hop) };
        if ret < 0 {
            return Err(last_error("rte_lpm_add", ret));
        }
        Ok(())
    }

    #[inline]
    pub fn lookup(&self, ip: u32) -> Option<u32> {
        let mut nh = 0u32;
        // SAFETY: valid table; lookups do not mutate it.
        let ret = unsafe { sys::sdwan_lpm_lookup(self.raw.as_ptr(), ip, &mut nh) };
        (ret == 0).then_some(nh)
    }

    /// Looks up `ips` (host order); `out[i]` is the next hop or `u32::MAX`.
    #[inline]
    pub fn lookup_bulk(&self, ips: &[u32], out: &mut [u32]) {
        let n = ips.len().min(out.len());
        // SAFETY: both slices hold at least n elements.
        unsafe {
            sys::sdwan_lpm_lookup_bulk(self.raw.as_ptr(), ips.as_ptr(), out.as_mut_ptr(), n as u32)
        };
        for v in &mut out[..n] {
            *v = if *v & LOOKUP_SUCCESS != 0 {
                *v & 0x00ff_ffff
            } else {
                u32::MAX
            };
        }
    }
}

impl Drop for RteLpm4 {
    fn drop(&mut self) {
        // SAFETY: we own the table.
        unsafe { sys::rte_lpm_free(self.raw.as_ptr()) }
    }
}

/// `rte_lpm6` for IPv6. Requires an initialised EAL.
pub struct RteLpm6 {
    raw: NonNull<sys::rte_lpm6>,
}

// SAFETY: as RteLpm4.
unsafe impl Send for RteLpm6 {}
unsafe impl Sync for RteLpm6 {}

impl RteLpm6 {
    pub fn new(name: &str, max_rules: u32, number_tbl8s: u32) -> Result<Self, EalError> {
        let cfg = sys::rte_lpm6_config {
            max_rules,
            number_tbl8s,
            flags: 0,
        };
        let n = cname(name);
        // SAFETY: valid name and config for the duration of the call.
        let raw = unsafe { sys::rte_lpm6_create(n.as_ptr(), sys::SOCKET_ID_ANY, &cfg) };
        NonNull::new(raw)
            .map(|raw| RteLpm6 { raw })
            .ok_or_else(|| last_error("rte_lpm6_create", 0))
    }

    pub fn add(&mut self, ip: [u8; 16], depth: u8, next_hop: u32) -> Result<(), EalError> {
        // SAFETY: valid table, exclusive access, ip is 16 bytes.
        let ret = unsafe { sys::rte_lpm6_add(self.raw.as_ptr(), ip.as_ptr(), depth, next_hop) };
        if ret < 0 {
            return Err(last_error("rte_lpm6_add", ret));
        }
        Ok(())
    }

    #[inline]
    pub fn lookup(&self, ip: &[u8; 16]) -> Option<u32> {
        let mut nh = 0u32;
        // SAFETY: valid table, ip is 16 bytes.
        let ret = unsafe { sys::rte_lpm6_lookup(self.raw.as_ptr(), ip.as_ptr(), &mut nh) };
        (ret == 0).then_some(nh)
    }

    /// `out[i]` is the next hop of `ips[i]` or -1.
    pub fn lookup_bulk(&self, ips: &mut [[u8; 16]], out: &mut [i32]) {
        let n = ips.len().min(out.len());
        // SAFETY: both slices hold at least n elements.
        unsafe {
            sys::rte_lpm6_lookup_bulk_func(
                self.raw.as_ptr(),
                ips.as_mut_ptr(),
                out.as_mut_ptr(),
                n as u32,
            )
        };
    }
}

impl Drop for RteLpm6 {
    fn drop(&mut self) {
        // SAFETY: we own the table.
        unsafe { sys::rte_lpm6_free(self.raw.as_ptr()) }
    }
}
