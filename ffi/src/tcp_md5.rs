//! TCP-MD5 signature option (RFC 2385) for BGP sessions: `setsockopt(TCP_MD5SIG)`.
//!
//! Linux keys the option per peer address on a socket: set it on a
//! listening socket for every peer that may connect, and on an outgoing
//! socket before `connect()`. An empty key removes the peer's entry.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

/// `TCP_MD5SIG_MAXKEYLEN` from `<linux/tcp.h>`.
pub const MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` from `<linux/tcp.h>` (libc does not define it).
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: u32,
    key: [u8; MAX_KEY_LEN],
}

/// Install (or, with an empty `key`, remove) the MD5 key for `peer` on `fd`.
pub fn set_tcp_md5sig(fd: RawFd, peer: SocketAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP-MD5 key is {} bytes, at most {MAX_KEY_LEN}", key.len()),
        ));
    }
    // SAFETY: sockaddr_storage and TcpMd5Sig are plain C data for which all
    // zero bytes is a valid value.
    let mut sig: TcpMd5Sig = unsafe { std::mem::zeroed() };
    match peer {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for
            // sockaddr_in; we write exactly one sockaddr_in at its start.
            unsafe {
                std::ptr::write(
                    (&mut sig.addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>(),
                    sin,
                )
            };
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe {
                std::ptr::write(
                    (&mut sig.addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>(),
                    sin6,
                )
            };
        }
    }
    sig.keylen = key.len() as u16;
    sig.key[..key.len()].copy_from_slice(key);
    // SAFETY: `sig` is a valid, initialised tcp_md5sig that lives across
    // the call; the length passed is its exact size. An invalid `fd` makes
    // the kernel return EBADF, which we report.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (&sig as *const TcpMd5Sig).cast::<libc::c_void>(),
            std::mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn struct_matches_kernel_layout() {
        assert_eq!(std::mem::size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn sets_and_clears_a_key_on_a_tcp_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer: SocketAddr = "127.0.0.2:179".parse().unwrap();
        set_tcp_md5sig(l.as_raw_fd(), peer, b"secret").unwrap();
        set_tcp_md5sig(l.as_raw_fd(), peer, b"").unwrap();
        assert!(set_tcp_md5sig(l.as_raw_fd(), peer, &[0u8; 81]).is_err());
        assert!(set_tcp_md5sig(-1, peer, b"x").is_err());
    }
}
