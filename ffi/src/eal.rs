//! EAL (Environment Abstraction Layer) life cycle.
use crate::sys;
use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};

static EAL_UP: AtomicBool = AtomicBool::new(false);

#[derive(Debug)]
pub struct EalError {
    pub what: &'static str,
    pub errno: i32,
    pub message: String,
}

impl std::fmt::Display for EalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} failed: {} (rte_errno {})",
            self.what, self.message, self.errno
        )
    }
}

impl std::error::Error for EalError {}

pub(crate) fn last_error(what: &'static str, ret: i32) -> EalError {
    // SAFETY: reading the thread-local rte_errno through the shim has no
    // preconditions; rte_strerror returns a static or thread-local string.
    let errno = if ret < 0 {
        -ret
    } else {
        unsafe { sys::sdwan_errno() }
    };
    let message = unsafe { CStr::from_ptr(sys::rte_strerror(errno)) }
        .to_string_lossy()
        .into_owned();
    EalError {
        what,
        errno,
        message,
    }
}

/// The initialised EAL. Dropping it calls `rte_eal_cleanup`; DPDK cannot be
/// initialised a second time in the same process.
pub struct Eal {
    _private: (),
}

impl Eal {
    /// Initialises DPDK with `args` (argv[0] included), e.g.
    /// `["sdwan", "--no-huge", "-m", "1024", "--no-pci", "--vdev=net_tap0,iface=lan0"]`.
    pub fn init<S: AsRef<str>>(args: &[S]) -> Result<Eal, EalError> {
        if EAL_UP.swap(true, Ordering::SeqCst) {
            return Err(EalError {
                what: "rte_eal_init",
                errno: libc::EALREADY,
                message: "EAL already initialised in this process".into(),
            });
        }
        let owned: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_ref()).unwrap_or_default())
            .collect();
        let mut argv: Vec<*mut libc::c_char> = owned
            .iter()
            .map(|c| c.as_ptr() as *mut libc::c_char)
            .collect();
        argv.push(std::ptr::null_mut());
        let argc = owned.len() as libc::c_int;
        // SAFETY: argv holds `argc` valid NUL-terminated strings followed by
        // NULL; rte_eal_init may permute the array but not free it, and the
        // CStrings outlive the call (EAL copies what it keeps).
        let ret = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            EAL_UP.store(false, Ordering::SeqCst);
            return Err(last_error("rte_eal_init", 0));
        }
        Ok(Eal { _private: () })
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: all ports are stopped/closed by their owners before the
        // Eal (which outlives them in the wiring) is dropped.
        unsafe {
            sys::rte_eal_cleanup();
        }
    }
}

/// Registers the calling (non-EAL) thread with DPDK so it gets an lcore id
/// and mempool caches. Call once at the start of each worker thread.
pub fn register_thread() -> Result<(), EalError> {
    // SAFETY: no preconditions beyond an initialised EAL; fails cleanly if
    // no lcore id is free.
    let ret = unsafe { sys::rte_thread_register() };
    if ret < 0 {
        return Err(last_error("rte_thread_register", 0));
    }
    Ok(())
}

/// Reads the time-stamp counter.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no preconditions.
    unsafe { sys::sdwan_rdtsc() }
}

/// TSC frequency measured by the EAL.
pub fn tsc_hz() -> u64 {
    // SAFETY: valid after rte_eal_init.
    unsafe { sys::sdwan_tsc_hz() }
}
