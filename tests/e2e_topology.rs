//! Per-department topologies end to end (issue #7, draft §3.1.3, §5.4):
//! `sdwan controller` and three edges with DPDK TAP ports on one
//! "internet" bridge, VRF "corp" a mesh and VRF "pos" hub-and-spoke on the
//! same three edges, and the payment gateway's prefix announced with its
//! own Route Target.
//!
//! ```text
//!  root namespace: sdwan controller on 127.0.0.1:19300 (TCP-MD5); edges
//!                  dial it from 127.0.0.31 / .32 / .33
//!
//!   tp-c1 10.1.0.2 (+10.99.0.2) ─ corp0 ┐ edge1 (hub)     ┌ 203.0.113.1
//!   tp-p1 10.1.0.2 ─────────────  pos0 ─┘                  │
//!   tp-c2 10.2.0.2 ─ corp0 ┐ edge2 (spoke1, store)  wan0 ──┼─ br0 (tp-inet)
//!   tp-p2 10.2.0.2 ─ pos0 ─┘                               │
//!   tp-c3 10.3.0.2 ─ corp0 ┐ edge3 (spoke2, office)        └ 203.0.113.2/.3
//!   tp-p3 10.3.0.2 ─ pos0 ─┘
//! ```
//!
//! Checks: spoke1 -> spoke2 in pos crosses the hub (the hub's tunnels
//! carry every echo request and reply, the TTL the pinger sees is one
//! lower than on the direct path) while corp goes direct (the hub's
//! tunnel counters do not move); the payment prefix (hub, corp, exported
//! with 65000:900 only) reaches spoke1, which imports it and whose peer
//! group authorizes it, and never reaches spoke2, which imports it too but
//! is not authorized: the reflector did not send it (absent from spoke2's
//! BGP table, not only from its FIB).
#![forbid(unsafe_code)]

mod common;

#[path = "e2e_topology/configs.rs"]
mod configs;

use common::overlay::*;
use common::*;
use configs::*;

/// Everything the test started; fields drop in this order: edges first
/// (SIGTERM, their TAPs vanish), the controller, then the namespaces.
struct Topo {
    edges: Vec<Edge>,
    controller: Proc,
    /// [corp1, pos1, corp2, pos2, corp3, pos3]
    clients: Vec<Netns>,
    _internet: Internet,
    _dir: tempfile::TempDir,
}

impl Topo {
    fn new() -> Topo {
        let dir = tempfile::tempdir().expect("tempdir");
        let internet = Internet::new(&format!("{PREFIX}-inet"));
        let clients: Vec<Netns> = (1..=3)
            .flat_map(|s| ["c", "p"].map(|k| format!("{PREFIX}-{k}{s}")))
            .map(|n| Netns::new(&n))
            .collect();
        let controller = start_controller(&controller_config(), RR_API, dir.path());
        let mut edges = Vec::new();
        for site in 1..=3u8 {
            let t = taps(site);
            let refs: Vec<&str> = t.iter().map(String::as_str).collect();
            edges.push(Edge::start(&edge_config(site), &edge_api(site), &refs));
            internet.plug(&t[0]);
            let base = (usize::from(site) - 1) * 2;
            attach_client(&clients[base], &t[1], site);
            attach_client(&clients[base + 1], &t[2], site);
        }
        // The payment gateway behind the hub's corp client (edge1's static
        // route 10.99.0.0/24 via 10.1.0.2).
        clients[0].must(&["ip", "addr", "add", "10.99.0.2/32", "dev", "lo"]);
        Topo {
            edges,
            controller,
            clients,
            _internet: internet,
            _dir: dir,
        }
    }

    fn edge(&self, site: u8) -> &Edge {
        &self.edges[usize::from(site) - 1]
    }

    fn client(&self, vrf: &str, site: u8) -> &Netns {
        &self.clients[(usize::from(site) - 1) * 2 + usize::from(vrf == "pos")]
    }

    fn diagnostics(&self) -> String {
        let summary = run(sdwan_bin(), &["show", "--api", RR_API, "bgp", "summary"]);
        let mut s = format!(
            "== controller bgp summary\n{}\n== controller log (tail)\n{}\n",
            String::from_utf8_lossy(&summary.stdout),
            tail(&self.controller.output(), 30)
        );
        for site in 1..=3 {
            s.push_str(&edge_report(&format!("edge{site}"), self.edge(site)));
        }
        s
    }

    /// Waits until every edge resolved the routes its topology gives it.
    fn wait_converged(&self, secs: u64) {
        let want: [(u8, &str, &[&str]); 6] = [
            (1, "corp", &["10.2.0.0/24", "10.3.0.0/24"]),
            (1, "pos", &["10.2.0.0/24", "10.3.0.0/24", "fd00:2::/64"]),
            (2, "corp", &["10.1.0.0/24", "10.3.0.0/24", PAYMENT]),
            (2, "pos", &["0.0.0.0/0", "::/0", "10.1.0.0/24"]),
            (3, "corp", &["10.1.0.0/24", "10.2.0.0/24"]),
            (3, "pos", &["0.0.0.0/0", "::/0", "10.1.0.0/24"]),
        ];
        let start = std::time::Instant::now();
        let done = wait_for(secs, || {
            want.iter()
                .all(|(site, vrf, prefixes)| {
                    let have = overlay_routes(self.edge(*site), vrf);
                    prefixes.iter().all(|p| have.iter().any(|h| h == p))
                })
                .then_some(())
        });
        assert!(
            done.is_some(),
            "topology routes not resolved in {secs} s\n{}",
            self.diagnostics()
        );
        eprintln!("converged in {:?}", start.elapsed());
    }

    /// Waits for a first echo reply (SAs confirmed, neighbors learned).
    fn reachable(&self, from: &Netns, dst: &str) {
        let v6 = if dst.contains(':') { "-6" } else { "-4" };
        let ok = wait_for(30, || {
            from.exec(&["ping", v6, "-c", "1", "-W", "1", dst])
                .status
                .success()
                .then_some(())
        });
        assert!(
            ok.is_some(),
            "{} cannot ping {dst}\n{}",
            from.name,
            self.diagnostics()
        );
    }

    /// Packets edge `site` sent into its tunnels, per remote node.
    fn tunnel_tx(&self, site: u8) -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        let t = self.edge(site).api_get("/api/tunnels").unwrap_or_default();
        for row in t.as_array().into_iter().flatten() {
            let node = row["remote_node"].as_str().unwrap_or("?").to_string();
            *out.entry(node).or_default() += row["packets"].as_u64().unwrap_or(0);
        }
        out
    }

    /// `sdwan_events_total{event="overlay_transit"}` of edge `site`:
    /// packets its transit VRFs sent back into the overlay.
    fn transit_events(&self, site: u8) -> u64 {
        let (_, m) = http(&self.edge(site).api, "GET", "/metrics", "").expect("/metrics");
        m.lines()
            .find(|l| l.starts_with("sdwan_events_total{event=\"overlay_transit\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }

    /// BGP routes (Loc-RIB, any VRF) of edge `site` for `prefix`.
    fn bgp_has(&self, site: u8, prefix: &str) -> bool {
        let routes = self
            .edge(site)
            .api_get("/api/bgp/routes")
            .unwrap_or_default();
        routes
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["route"].as_str().is_some_and(|s| s.contains(prefix)))
    }
}

fn delta(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
    node: &str,
) -> u64 {
    after.get(node).copied().unwrap_or(0) - before.get(node).copied().unwrap_or(0)
}

const PINGS: usize = 10;

#[test]
fn pos_spokes_talk_through_the_hub_corp_is_a_mesh_and_payment_reaches_only_the_store() {
    let _g = serial();
    if !is_root() {
        eprintln!("skipping: the topology end-to-end test creates network namespaces and TAP devices; run it as root");
        return;
    }
    let mut t = Topo::new();
    t.wait_converged(90);

    // The hub's pos VRF is the only transit VRF.
    let overview = t.edge(1).api_get("/api/overlay").unwrap_or_default();
    let vrf = |o: &serde_json::Value, name: &str| {
        o["vrfs"]
            .as_array()
            .and_then(|a| a.iter().find(|v| v["name"] == name).cloned())
            .unwrap_or_default()
    };
    assert_eq!(vrf(&overview, "pos")["transit"], true, "{overview}");
    assert_eq!(vrf(&overview, "pos")["topology"], "hub", "{overview}");
    assert_eq!(vrf(&overview, "corp")["transit"], false, "{overview}");
    let spoke = t.edge(2).api_get("/api/overlay").unwrap_or_default();
    assert_eq!(vrf(&spoke, "pos")["transit"], false, "{spoke}");
    let table = must(sdwan_bin(), &["show", "--api", &t.edge(1).api, "vrfs"]);
    eprintln!("== hub: sdwan show vrfs\n{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("pos ") && l.contains(" hub ")),
        "{table}"
    );

    // A spoke never learns the other spoke's pos routes: only the hub's
    // and its summaries.
    for (site, other) in [(2u8, "10.3.0.0/24"), (3, "10.2.0.0/24")] {
        let pos = overlay_routes(t.edge(site), "pos");
        assert!(!pos.iter().any(|p| p == other), "edge{site} pos: {pos:?}");
    }

    // corp, spoke1 -> spoke2: direct, the hub's tunnels carry nothing.
    t.reachable(t.client("corp", 2), "10.3.0.2");
    let before = t.tunnel_tx(1);
    let transit_before = t.transit_events(1);
    let direct = ping_ttl(t.client("corp", 2), "10.3.0.2", PINGS);
    let after = t.tunnel_tx(1);
    assert_eq!(direct.received, PINGS, "{}", direct.text);
    assert_eq!(
        (before, transit_before),
        (after, t.transit_events(1)),
        "corp spoke-to-spoke must not cross the hub\n{}",
        direct.text
    );

    // pos, spoke1 -> spoke2: through the hub, one hop more each way.
    t.reachable(t.client("pos", 2), "10.3.0.2");
    let before = t.tunnel_tx(1);
    let transit_before = t.transit_events(1);
    let via_hub = ping_ttl(t.client("pos", 2), "10.3.0.2", PINGS);
    let after = t.tunnel_tx(1);
    let transit = t.transit_events(1) - transit_before;
    assert_eq!(via_hub.received, PINGS, "{}", via_hub.text);
    assert!(
        transit >= 2 * PINGS as u64,
        "the hub counted {transit} transit packets for {PINGS} echo requests and replies"
    );
    let (to_spoke2, to_spoke1) = (
        delta(&before, &after, "10.255.0.3"),
        delta(&before, &after, "10.255.0.2"),
    );
    assert!(
        to_spoke2 >= PINGS as u64 && to_spoke1 >= PINGS as u64,
        "the hub forwarded {to_spoke2} packets to spoke2 and {to_spoke1} to spoke1 for {PINGS} pings\n{}",
        t.diagnostics()
    );
    let d = direct.ttls[0];
    assert!(direct.ttls.iter().all(|&x| x == d), "{}", direct.text);
    assert!(
        via_hub.ttls.iter().all(|&x| x == d - 1),
        "TTL through the hub must be one lower than direct ({d}):\n{}",
        via_hub.text
    );
    eprintln!(
        "corp direct ttl={d}; pos via hub ttl={}, hub tx +{to_spoke2} to spoke2, +{to_spoke1} to spoke1, overlay_transit +{transit}",
        via_hub.ttls[0]
    );
    // IPv6 too, the other way round (through the ::/0 summary).
    t.reachable(t.client("pos", 3), "fd00:2::2");
    let v6 = ping_ttl(t.client("pos", 3), "fd00:2::2", 3);
    assert_eq!(v6.received, 3, "{}", v6.text);
    let drops = t.edge(1).api_get("/api/drops").unwrap_or_default();
    assert_eq!(drop_count(&drops, "overlay_loop"), 0, "{drops}");

    // The payment gateway: the store has it, the office never got it.
    assert!(t.bgp_has(2, PAYMENT), "{}", t.diagnostics());
    assert!(
        !t.bgp_has(3, PAYMENT),
        "the reflector sent {PAYMENT} to spoke2, which is not authorized for {PAYMENT_RT}"
    );
    let corp3 = overlay_routes(t.edge(3), "corp");
    assert!(!corp3.iter().any(|p| p == PAYMENT), "{corp3:?}");
    t.reachable(t.client("corp", 2), PAYMENT_HOST);
    let out = t
        .client("corp", 3)
        .exec(&["ping", "-c", "2", "-i", "0.3", "-W", "1", PAYMENT_HOST]);
    assert!(
        !out.status.success(),
        "spoke2 reached the payment gateway:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Live reload of the hub: one IPv4 summary instead of both defaults.
    // The spokes lose 0.0.0.0/0 and ::/0 (withdrawn), learn 10.0.0.0/8,
    // and pos spoke to spoke still crosses the hub.
    let hub = t.edge(1);
    let path = hub.dir.path().join("edge.toml");
    let text = std::fs::read_to_string(&path).expect("hub config");
    let narrowed = text.replacen(
        "role = \"hub\"",
        "role = \"hub\"\nhub_summary = [\"10.0.0.0/8\"]",
        1,
    );
    assert_ne!(narrowed, text);
    std::fs::write(&path, narrowed).expect("write hub config");
    let (code, body) = http(&hub.api, "POST", "/api/reload", "").expect("reload");
    assert_eq!(code, 202, "{body}");
    let moved = wait_for(30, || {
        let pos = overlay_routes(t.edge(2), "pos");
        let has = |p: &str| pos.iter().any(|x| x == p);
        (has("10.0.0.0/8") && !has("0.0.0.0/0") && !has("::/0")).then_some(())
    });
    assert!(
        moved.is_some(),
        "spoke1 pos after the hub's reload: {:?}, reload: {}\n{}",
        overlay_routes(t.edge(2), "pos"),
        hub.api_get("/api/reload").unwrap_or_default(),
        t.diagnostics()
    );
    let again = ping_ttl(t.client("pos", 2), "10.3.0.2", 3);
    assert_eq!(again.received, 3, "{}", again.text);
    assert!(again.ttls.iter().all(|&x| x == d - 1), "{}", again.text);

    for e in &mut t.edges {
        let st = e.stop();
        assert!(st.success(), "edge exit status {st}:\n{}", e.log());
    }
}
