//! Prometheus series of a BGP speaker, per peer: session state, prefixes
//! received / accepted / advertised, UPDATEs, RFC 7606 errors by reason,
//! and the Loc-RIB size. The controller and the edge export the same
//! names.
use super::bgp_view::to_json;
use crate::metrics::Metrics;
use sdwan_bgp::speaker::Speaker;
use std::collections::BTreeSet;
use std::sync::Mutex;

#[derive(Default)]
pub struct BgpMetrics {
    /// Peers in the last refresh: one removed since (a revoked device, a
    /// reconfigured peer) has its gauges set to 0 rather than frozen.
    exported: Mutex<BTreeSet<String>>,
}

const PEER_GAUGES: [&str; 4] = [
    "sdwan_bgp_peer_established",
    "sdwan_bgp_prefixes_received",
    "sdwan_bgp_prefixes_accepted",
    "sdwan_bgp_prefixes_advertised",
];

impl BgpMetrics {
    pub fn register(m: &mut Metrics) {
        let help = [
            "1 when the session is Established",
            "Prefixes received from the peer",
            "Prefixes accepted into Adj-RIB-In",
            "Prefixes advertised to the peer",
        ];
        for (name, help) in PEER_GAUGES.into_iter().zip(help) {
            m.gauge(name, help, &["peer"]);
        }
        m.counter(
            "sdwan_bgp_updates_received_total",
            "UPDATE messages received",
            &["peer"],
        );
        m.counter(
            "sdwan_bgp_updates_sent_total",
            "UPDATE messages sent",
            &["peer"],
        );
        m.counter(
            "sdwan_bgp_errors_total",
            "Malformed input by RFC 7606 reason",
            &["peer", "reason"],
        );
        m.gauge("sdwan_bgp_loc_rib_routes", "Routes in the Loc-RIB", &[]);
    }

    pub fn refresh(&self, speaker: &Speaker, m: &Metrics) {
        let Some(c) = speaker.counters() else {
            return;
        };
        let now: BTreeSet<String> = c.peers.iter().map(|p| p.address.to_string()).collect();
        {
            let mut exported = self.exported.lock().unwrap_or_else(|e| e.into_inner());
            for gone in exported.difference(&now) {
                for g in PEER_GAUGES {
                    m.set_gauge(g, &[gone.as_str()], 0);
                }
            }
            *exported = now;
        }
        for p in &c.peers {
            let peer = p.address.to_string();
            let l = [peer.as_str()];
            let up = to_json(&p.state)
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("established"));
            let pc = &p.counters;
            m.set_gauge("sdwan_bgp_peer_established", &l, i64::from(up));
            m.set_gauge(
                "sdwan_bgp_prefixes_received",
                &l,
                pc.prefixes_received as i64,
            );
            m.set_gauge("sdwan_bgp_prefixes_accepted", &l, pc.accepted as i64);
            m.set_gauge(
                "sdwan_bgp_prefixes_advertised",
                &l,
                pc.prefixes_advertised as i64,
            );
            m.set_total("sdwan_bgp_updates_received_total", &l, pc.updates_received);
            m.set_total("sdwan_bgp_updates_sent_total", &l, pc.updates_sent);
            for (reason, n) in &pc.errors {
                m.set_total("sdwan_bgp_errors_total", &[&peer, reason], *n);
            }
        }
        m.set_gauge("sdwan_bgp_loc_rib_routes", &[], c.loc_rib_routes as i64);
    }
}
