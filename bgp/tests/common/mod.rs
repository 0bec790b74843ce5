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
