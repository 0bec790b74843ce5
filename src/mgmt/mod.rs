//! Management API: a small HTTP/JSON server on a localhost address or unix
//! socket (the running edge), the matching client, and the `sdwan show` /
//! `sdwan route` commands built on it.

pub mod bgp_metrics;
pub mod bgp_view;
pub mod client;
pub mod route_cmd;
pub mod server;
pub mod show;
