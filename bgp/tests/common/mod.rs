//! Shared helpers of the interop tests: find a peer daemon (fail under
//! CI=true when it is missing, skip with a message otherwise), run it in a
//! temp dir and kill it by PID at the end, wait for conditions, build our
//! speaker's config.
#![allow(dead_code)]

use sdwan_bgp::config::{LocalRoute, PeerConfig, RouteTarget, SpeakerConfig};
use sdwan_bgp::wire::{ExtCommunity, Family};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of `bin`, or `None` (test skipped) when absent outside CI. Under
/// CI=true a missing peer is a failure.
pub fn require(bin: &str) -> Option<PathBuf> {
    let dirs = std::env::var("PATH").unwrap_or_default();
    let found = dirs
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/lib/frr"])
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{bin} not installed (run scripts/setup.sh); interop tests must not skip in CI");
        }
        eprintln!("SKIPPED: {bin} not installed (scripts/setup.sh installs it)");
    }
    found
}

/// A peer daemon, killed by PID when dropped.
pub struct Daemon {
    pub name: String,
    pub child: Child,
    pub dir: tempfile::TempDir,
}

impl Daemon {
    pub fn spawn(name: &str, dir: tempfile::TempDir, cmd: &mut Command) -> Daemon {
        let log = std::fs::File::create(dir.path().join(format!("{name}.out"))).unwrap();
        let child = cmd
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Daemon {
            name: name.into(),
            child,
            dir,
        }
    }

    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// The daemon's output so far (for failure messages).
    pub fn output(&self) -> String {
        let mut s = String::new();
        if let Ok(rd) = std::fs::read_dir(self.dir.path()) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "out" || x == "log") {
                    s += &format!(
                        "--- {}\n{}",
                        p.display(),
                        std::fs::read_to_string(&p).unwrap_or_default()
                    );
                }
            }
        }
        s
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("timed out waiting for {what}");
    false
}

/// A port free on `ip` right now.
pub fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn run(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr)
}

pub fn rt(s: &str) -> RouteTarget {
    RouteTarget(ExtCommunity::route_target(s).unwrap())
}

pub fn our_config(
    router_id: &str,
    listen: &str,
    port: u16,
    peers: Vec<PeerConfig>,
) -> SpeakerConfig {
    SpeakerConfig {
        router_id: router_id.parse().unwrap(),
        asn: 65000,
        listen_address: Some(listen.parse().unwrap()),
        listen_port: port,
        cluster_id: None,
        hold_time: 90,
        connect_retry_secs: 1,
        peers,
        peer_groups: vec![],
        routes: vec![],
        add_path: vec![],
        restart_time: Some(120),
        stale_routes_secs: 360,
        extended_message: true,
    }
}

pub fn peer(
    addr: &str,
    port: u16,
    passive: bool,
    local: &str,
    families: Vec<Family>,
) -> PeerConfig {
    PeerConfig {
        address: addr.parse().unwrap(),
        port,
        remote_as: 65000,
        md5_key: None,
        peer_group: None,
        families,
        passive,
        rr_client: true,
        local_address: Some(local.parse().unwrap()),
    }
}

pub fn vpn_route(
    prefix: &str,
    rd: &str,
    label: u32,
    next_hop: &str,
    rts: &[&str],
    color: Option<u32>,
) -> LocalRoute {
    LocalRoute {
        prefix: prefix.parse().unwrap(),
        rd: Some(rd.parse().unwrap()),
        label: Some(label),
        next_hop: next_hop.parse().unwrap(),
        route_targets: rts.iter().map(|s| rt(s)).collect(),
        color,
        local_pref: None,
        med: None,
        tunnel_encap: None,
        unless_peer_has: None,
    }
}

/// Originates the two VPN routes every interop test expects from us:
/// 10.20.0.0/24 (label 300, Color 200) and 2001:db8:20::/48 (label 301,
/// Color `v6_color`), RD 65000:20, RT 65000:1.
pub fn originate_test_routes(us: &sdwan_bgp::speaker::Speaker, v6_color: Option<u32>) {
    us.originate(vpn_route(
        "10.20.0.0/24",
        "65000:20",
        300,
        "192.0.2.20",
        &["65000:1"],
        Some(200),
    ))
    .unwrap();
    us.originate(vpn_route(
        "2001:db8:20::/48",
        "65000:20",
        301,
        "2001:db8::20",
        &["65000:1"],
        v6_color,
    ))
    .unwrap();
}

/// The SD-WAN sub-TLVs of draft-ietf-idr-sdwan-edge-discovery with typed
/// values: 65 Extended Port, 67 nonce + rekey counter, 68 X25519 public
/// key, 69 proposal, 70 Simplified IPsec SA.
pub fn sdwan_sub_tlvs() -> Vec<sdwan_bgp::wire::SubTlv> {
    use sdwan_bgp::wire::sdwan_subtlv::*;
    use sdwan_bgp::wire::SubTlv;
    vec![
        SubTlv::ExtendedPort {
            port: ExtendedPort {
                nat_type: NatType::PortRestrictedCone,
                encap_type: 1,
                transport_network_id: 1,
                rd_id: 0,
                local_addr: "192.168.1.10".parse().unwrap(),
                local_port: 4500,
                public_addr: "198.51.100.7".parse().unwrap(),
                public_port: 61000,
                sub_tlvs: vec![PortSubTlv::Underlay {
                    connection_type: 1,
                    port_type: 1,
                    speed_mbps: 1000,
                }],
            },
        },
        SubTlv::RekeyCounter {
            nonce: SaNonce {
                rekey_counter: 3,
                nonce: (0xa0..0xb4).collect(),
            },
        },
        SubTlv::PublicKey {
            key: PublicKey {
                x25519: core::array::from_fn(|i| i as u8 + 1),
            },
        },
        SubTlv::Proposal {
            proposal: SaProposal {
                proposals: vec![Proposal {
                    number: 1,
                    transforms: vec![
                        Transform {
                            transform_type: 1,
                            id: 20,
                            key_bits: 256,
                        },
                        Transform {
                            transform_type: 4,
                            id: 31,
                            key_bits: 0,
                        },
                    ],
                }],
            },
        },
        SubTlv::SimplifiedIpsecSa {
            sa: SimplifiedSa {
                transform: SaTransform::AesGcm256,
                esn: true,
                natt: true,
                replay_window: 1024,
                lifetime_secs: 3600,
                spi_base: 0,
            },
        },
    ]
}

/// A running gobgpd and the port of its gRPC API (for the `gobgp` CLI).
pub struct Gobgp {
    pub daemon: Daemon,
    pub api: String,
}

impl Gobgp {
    /// `gobgp -u 127.0.0.1 -p API <args>`, output (stdout + stderr).
    pub fn cli(&self, args: &[&str]) -> String {
        let mut a = vec!["-u", "127.0.0.1", "-p", &self.api];
        a.extend_from_slice(args);
        run("gobgp", &a)
    }

    /// `gobgp global rib -a FAMILY -j` as JSON (Null when unparsable).
    pub fn rib(&self, family: &str) -> serde_json::Value {
        serde_json::from_str(&self.cli(&["global", "rib", "-a", family, "-j"]))
            .unwrap_or(serde_json::Value::Null)
    }
}

/// One `[[neighbors]]` block of gobgpd.toml: iBGP AS 65000, GoBGP passive
/// on `local`, the given afi-safi names, optionally as route reflector
/// for this client with `cluster_id`.
pub fn gobgp_neighbor(
    addr: &str,
    local: &str,
    afi_safis: &[&str],
    rr_cluster: Option<&str>,
) -> String {
    let mut s = format!(
        r#"[[neighbors]]
  [neighbors.config]
    neighbor-address = "{addr}"
    peer-as = 65000
  [neighbors.transport.config]
    passive-mode = true
    local-address = "{local}"
"#
    );
    if let Some(c) = rr_cluster {
        s += &format!(
            r#"  [neighbors.route-reflector.config]
    route-reflector-client = true
    route-reflector-cluster-id = "{c}"
"#
        );
    }
    for f in afi_safis {
        s += &format!(
            r#"  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "{f}"
"#
        );
    }
    s
}

/// Start gobgpd (AS 65000) listening on `ip:port` with `neighbors`
/// (from [`gobgp_neighbor`]), its API on a free loopback port.
pub fn start_gobgpd(router_id: &str, ip: &str, port: u16, neighbors: &[String]) -> Gobgp {
    let api = free_port("127.0.0.1").to_string();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("gobgpd.toml");
    let mut text = format!(
        r#"[global.config]
  as = 65000
  router-id = "{router_id}"
  port = {port}
  local-address-list = ["{ip}"]
"#
    );
    for n in neighbors {
        text += n;
    }
    std::fs::write(&conf, text).unwrap();
    let daemon = Daemon::spawn(
        "gobgpd",
        dir,
        Command::new("gobgpd").args([
            "-f",
            conf.to_str().unwrap(),
            "--api-hosts",
            &format!("127.0.0.1:{api}"),
            "--pprof-disable",
            "-l",
            "info",
        ]),
    );
    Gobgp { daemon, api }
}

/// A running BIRD 2 and its control socket.
pub struct Bird {
    pub daemon: Daemon,
    pub sock: String,
}

impl Bird {
    pub fn cli(&self, args: &[&str]) -> String {
        let mut a = vec!["-s", self.sock.as_str()];
        a.extend_from_slice(args);
        run("birdc", &a)
    }
}

/// Start BIRD in the foreground with `conf` (a log line to the temp dir
/// is prepended).
pub fn start_bird(conf: &str) -> Bird {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    std::fs::write(
        dir.path().join("bird.conf"),
        format!("log \"{d}/bird.log\" all;\n{conf}"),
    )
    .unwrap();
    let sock = format!("{d}/bird.ctl");
    let daemon = Daemon::spawn(
        "bird",
        dir,
        Command::new("bird").args([
            "-f",
            "-c",
            &format!("{d}/bird.conf"),
            "-s",
            &sock,
            "-P",
            &format!("{d}/bird.pid"),
        ]),
    );
    Bird { daemon, sock }
}

/// An SD-WAN-Hybrid tunnel (draft-ietf-idr-sdwan-edge-discovery): egress
/// endpoint, Color, UDP port 4500 (ESP in UDP) and the key-agreement
/// sub-TLVs 67, 68, 70.
pub fn sdwan_hybrid_tunnel(endpoint: &str, color: u32) -> sdwan_bgp::wire::TunnelEncap {
    use sdwan_bgp::wire::tunnel::TUNNEL_SDWAN_HYBRID;
    use sdwan_bgp::wire::{SubTlv, Tunnel, TunnelEncap};
    let mut sub_tlvs = vec![
        SubTlv::EgressEndpoint {
            address: Some(endpoint.parse().unwrap()),
        },
        SubTlv::Color { flags: 0, color },
        SubTlv::UdpDestPort { port: 4500 },
    ];
    sub_tlvs.extend(
        sdwan_sub_tlvs()
            .into_iter()
            .filter(|s| matches!(s.code(), 67 | 68 | 70)),
    );
    TunnelEncap {
        tunnels: vec![Tunnel {
            tunnel_type: TUNNEL_SDWAN_HYBRID,
            sub_tlvs,
        }],
    }
}

/// The same tunnels with each tunnel's sub-TLVs in a canonical order
/// (route reflectors may reorder them).
pub fn canonical(t: &sdwan_bgp::wire::TunnelEncap) -> Vec<(u16, Vec<String>)> {
    t.tunnels
        .iter()
        .map(|t| {
            let mut s: Vec<String> = t
                .sub_tlvs
                .iter()
                .map(|s| serde_json::to_string(s).unwrap())
                .collect();
            s.sort();
            (t.tunnel_type, s)
        })
        .collect()
}
