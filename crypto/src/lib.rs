//! IPsec core of the edge: ESP (RFC 4303/4106) with AES-GCM, NAT-T
//! (RFC 3948), anti-replay (RFC 6479), the SA database and key agreement from
//! parameters exchanged over BGP (draft §4.3). I/O-free: bytes in, bytes out.
#![forbid(unsafe_code)]
