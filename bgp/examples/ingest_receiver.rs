//! Receiver for `bench/bgp_ingest_bench.sh` (CUSTOM_START): runs our
//! speaker on $RX_ADDR:$RX_PORT with one passive iBGP VPNv4 peer
//! $BLAST_ADDR (AS $BGP_AS), and keeps $RUN_DIR/count up to date with the
//! peer's accepted routes (CUSTOM_COUNT='cat $RUN_DIR/count'). Runs until
//! killed.
//!
//!     CUSTOM_NAME=sdwan-bgp CUSTOM_START=target/release/examples/ingest_receiver \
//!       CUSTOM_COUNT='cat $RUN_DIR/count' bgp_ingest_bench.sh -n 1000000 -r custom,bird,gobgp

use sdwan_bgp::config::{PeerConfig, SpeakerConfig};
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::Family;
use std::time::Duration;

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} not set (run from bgp_ingest_bench.sh)"))
}

fn main() {
    let addr = env("RX_ADDR");
    let asn: u32 = env("BGP_AS").parse().expect("BGP_AS");
    let cfg = SpeakerConfig {
        router_id: env("ROUTER_ID").parse().expect("ROUTER_ID"),
        asn,
        listen_address: Some(addr.parse().expect("RX_ADDR")),
        listen_port: env("RX_PORT").parse().expect("RX_PORT"),
        cluster_id: None,
        hold_time: 240,
        connect_retry_secs: 5,
        peers: vec![PeerConfig {
            address: env("BLAST_ADDR").parse().expect("BLAST_ADDR"),
            port: 179,
            remote_as: asn,
            md5_key: None,
            peer_group: None,
            families: vec![Family::Vpnv4],
            passive: true,
            rr_client: true,
            local_address: None,
        }],
        peer_groups: vec![],
        routes: vec![],
        add_path: vec![],
        restart_time: Some(120),
        stale_routes_secs: 360,
        extended_message: true,
    };
    let speaker = Speaker::start(cfg).unwrap_or_else(|e| panic!("start: {e}"));
    let dir = env("RUN_DIR");
    let (tmp, out) = (format!("{dir}/count.tmp"), format!("{dir}/count"));
    loop {
        let n = speaker.peers().first().map_or(0, |p| p.counters.accepted);
        if std::fs::write(&tmp, format!("{n}\n")).is_ok() {
            let _ = std::fs::rename(&tmp, &out);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
