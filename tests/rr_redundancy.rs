//! Two route reflectors side by side (issue: redundant route reflectors):
//! two `sdwan controller` processes with the same cluster id (RFC 4456
//! §7), two edges (in-process `sdwan_bgp` speakers, TCP-MD5) each peering
//! with both. Each edge's route reaches the other through both
//! reflectors; stopping one reflector loses no route: the other edge's
//! Loc-RIB never sees the route withdrawn, not even for a moment.
#![forbid(unsafe_code)]

mod common;

use common::*;
use sdwan_bgp::config::{LocalRoute, PeerConfig, RouteTarget, SpeakerConfig};
use sdwan_bgp::fsm::State;
use sdwan_bgp::speaker::Speaker;
use sdwan_bgp::wire::{ExtCommunity, Family};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLUSTER: &str = "192.0.2.100";
const RR_IPS: [&str; 2] = ["127.0.0.61", "127.0.0.62"];
const EDGE_IPS: [&str; 2] = ["127.0.0.63", "127.0.0.64"];
const KEY: &str = "rr-redundancy";

fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

struct Reflector {
    child: Option<Child>,
    log: std::path::PathBuf,
}

impl Reflector {
    fn start(dir: &Path, n: usize, bgp_port: u16, api: &str) -> Reflector {
        let peers: String = EDGE_IPS
            .iter()
            .map(|e| {
                format!(
                    "[[bgp.peers]]\naddress = \"{e}\"\nremote_as = 65000\nmd5_key = \"{KEY}\"\n\
                     peer_group = \"t1\"\npassive = true\n\n"
                )
            })
            .collect();
        let cfg = format!(
            r#"
[bgp]
router_id = "192.0.2.{id}"
asn = 65000
cluster_id = "{CLUSTER}"
listen_address = "{ip}"
listen_port = {bgp_port}
hold_time = 9
connect_retry_secs = 1

[[bgp.peer_groups]]
name = "t1"
route_targets = ["65000:1"]

{peers}
[management]
listen = "{api}"
"#,
            id = 101 + n,
            ip = RR_IPS[n],
        );
        let path = dir.join(format!("rr{n}.toml"));
        std::fs::write(&path, cfg).unwrap();
        let log = dir.join(format!("rr{n}.log"));
        let child = Command::new(sdwan_bin())
            .args(["controller", "--config"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let r = Reflector {
            child: Some(child),
            log,
        };
        assert!(
            wait_until(20, || http(api, "GET", "/api/health", "").is_ok()),
            "reflector {n} not up:\n{}",
            r.log()
        );
        r
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = run("kill", &["-TERM", &c.id().to_string()]);
            let st = c.wait().unwrap();
            assert!(st.success(), "reflector exit {st}:\n{}", self.log());
        }
    }
}

impl Drop for Reflector {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = run("kill", &["-TERM", &c.id().to_string()]);
            let _ = c.wait();
        }
    }
}

fn rt(s: &str) -> RouteTarget {
    RouteTarget(ExtCommunity::route_target(s).unwrap())
}

/// An edge's BGP side: one active peer per reflector, from its own source.
fn edge(n: usize, rr_ports: [u16; 2]) -> Speaker {
    let peers = (0..2)
        .map(|r| PeerConfig {
            address: RR_IPS[r].parse().unwrap(),
            port: rr_ports[r],
            remote_as: 65000,
            md5_key: Some(KEY.into()),
            peer_group: None,
            families: vec![Family::Vpnv4],
            passive: false,
            rr_client: false,
            local_address: Some(EDGE_IPS[n].parse().unwrap()),
        })
        .collect();
    let s = Speaker::start(SpeakerConfig {
        router_id: format!("10.255.0.{}", n + 1).parse().unwrap(),
        asn: 65000,
        listen_address: None,
        listen_port: 179,
        cluster_id: None,
        hold_time: 9,
        connect_retry_secs: 1,
        peers,
        peer_groups: vec![],
        routes: vec![],
        add_path: vec![],
        restart_time: Some(120),
        stale_routes_secs: 360,
        extended_message: true,
    })
    .unwrap();
    s.originate(LocalRoute {
        prefix: format!("10.{}.0.0/24", n + 1).parse().unwrap(),
        rd: Some(format!("10.255.0.{}:1", n + 1).parse().unwrap()),
        label: Some(1001),
        next_hop: format!("10.255.0.{}", n + 1).parse().unwrap(),
        route_targets: vec![rt("65000:1")],
        color: None,
        local_pref: None,
        med: None,
        tunnel_encap: None,
        unless_peer_has: None,
    })
    .unwrap();
    s
}

fn has_route(s: &Speaker, prefix: &str) -> bool {
    s.snapshot()
        .iter()
        .any(|(k, _)| k.to_string().ends_with(prefix))
}

#[test]
fn stopping_one_of_two_route_reflectors_loses_no_route() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let ports = [free_port(RR_IPS[0]), free_port(RR_IPS[1])];
    let apis = [
        format!("127.0.0.1:{}", free_port("127.0.0.1")),
        format!("127.0.0.1:{}", free_port("127.0.0.1")),
    ];
    let mut rr0 = Reflector::start(tmp.path(), 0, ports[0], &apis[0]);
    let rr1 = Reflector::start(tmp.path(), 1, ports[1], &apis[1]);
    let edges = [edge(0, ports), edge(1, ports)];
    let all_up = |s: &Speaker| {
        let p = s.peers();
        p.len() == 2 && p.iter().all(|p| p.state == State::Established)
    };
    assert!(
        wait_until(30, || edges.iter().all(all_up)),
        "sessions: {:?} {:?}\n{}\n{}",
        edges[0].peers().iter().map(|p| p.state).collect::<Vec<_>>(),
        edges[1].peers().iter().map(|p| p.state).collect::<Vec<_>>(),
        rr0.log(),
        rr1.log()
    );
    // Each edge's route arrives through both reflectors.
    let both = |e: &Speaker| e.peers().iter().all(|p| p.counters.accepted == 1);
    assert!(
        wait_until(20, || has_route(&edges[0], "10.2.0.0/24")
            && has_route(&edges[1], "10.1.0.0/24")
            && edges.iter().all(both)),
        "{:?}",
        edges[1].peers()
    );
    let (_, p) = edges[1]
        .snapshot()
        .into_iter()
        .find(|(k, _)| k.to_string().ends_with("10.1.0.0/24"))
        .unwrap();
    assert_eq!(
        p.attrs.cluster_list,
        vec![CLUSTER.parse::<std::net::Ipv4Addr>().unwrap()]
    );
    assert_eq!(p.attrs.originator_id, Some("10.255.0.1".parse().unwrap()));

    // Reflector 0 stops (Cease to both edges): every route stays, and no
    // Loc-RIB change on either edge ever withdraws the other's route.
    let events = [edges[0].subscribe(), edges[1].subscribe()];
    rr0.stop();
    let rr0_ip: IpAddr = RR_IPS[0].parse().unwrap();
    let rr0_down = |e: &Speaker| {
        e.peers()
            .iter()
            .any(|p| p.address == rr0_ip && p.state != State::Established)
    };
    assert!(wait_until(20, || edges.iter().all(rr0_down)));
    std::thread::sleep(Duration::from_millis(500));
    for (e, other) in [(0, "10.2.0.0/24"), (1, "10.1.0.0/24")] {
        let withdrawn: Vec<String> = events[e]
            .try_iter()
            .filter(|c| c.best.is_none())
            .map(|c| c.key.to_string())
            .collect();
        assert!(withdrawn.is_empty(), "edge {e} lost {withdrawn:?}");
        assert!(has_route(&edges[e], other), "edge {e} lost {other}");
        let (_, p) = edges[e]
            .snapshot()
            .into_iter()
            .find(|(k, _)| k.to_string().ends_with(other))
            .unwrap();
        assert_eq!(p.peer_addr.to_string(), RR_IPS[1], "now via reflector 1");
    }
    let c = edges[1].peers();
    let to_rr0 = c.iter().find(|p| p.address == rr0_ip).unwrap();
    assert_eq!(to_rr0.counters.last_notification_received, Some((6, 2)));
    drop(edges);
    drop(rr1);
}
