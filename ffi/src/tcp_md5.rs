//! TCP-MD5 signature option (RFC 2385) for BGP sessions: `setsockopt(TCP_MD5SIG)`.
