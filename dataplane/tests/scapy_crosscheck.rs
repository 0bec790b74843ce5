//! Cross-check against an independent implementation: scapy crafts the
//! frames a neighbor would send (ARP request, echo, TTL/hop-limit 1, NS,
//! plain forwarding), the pipeline answers, and scapy parses the answers,
//! recomputes every checksum and checks the fields
//! (`tests/scapy_crosscheck.py`). Needs Debian's python3-scapy
//! (scripts/setup.sh installs it).

use sdwan_dataplane::fib::{fib_channel, NextHop, RouteChange};
use sdwan_dataplane::neighbor::{ControlEvent, LearnKind, NeighborConfig, NeighborManager};
use sdwan_dataplane::pipeline::{
    process, Context, IcmpRateLimit, LocalAddrs, PortConfig, Verdict, WorkerState,
};
use sdwan_packet::{Frame, MacAddr};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Instant;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scapy_crosscheck.py");

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Parses the flat JSON object `{"name": "hex", ...}` the script prints.
fn parse_json_map(s: &str) -> BTreeMap<String, String> {
    let body = s.trim().trim_start_matches('{').trim_end_matches('}');
    body.split(',')
        .map(|kv| {
            let (k, v) = kv.split_once(':').expect("key: value");
            (
                k.trim().trim_matches('"').to_string(),
                v.trim().trim_matches('"').to_string(),
            )
        })
        .collect()
}

#[test]
fn scapy_frames_in_scapy_verified_answers_out() {
    let gen = Command::new("/usr/bin/python3")
        .arg(SCRIPT)
        .arg("gen")
        .output()
        .expect("run /usr/bin/python3");
    assert!(
        gen.status.success(),
        "scapy gen failed (python3-scapy installed?): {}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let inputs = parse_json_map(&String::from_utf8(gen.stdout).unwrap());
    assert_eq!(inputs.len(), 7);

    let mac = |last| MacAddr([2, 0, 0, 0, 0, last]);
    let ports = vec![
        PortConfig::new(0, mac(1), 0)
            .with_ipv4("10.0.0.1".parse().unwrap(), 24)
            .with_ipv6("2001:db8::1".parse().unwrap(), 64),
        PortConfig::new(1, mac(2), 0)
            .with_ipv4("10.0.1.1".parse().unwrap(), 24)
            .with_ipv6("2001:db8:1::1".parse().unwrap(), 64),
    ];
    let (mut w, r) = fib_channel();
    let gw4: IpAddr = "10.0.1.254".parse().unwrap();
    let gw6: IpAddr = "2001:db8:1::fe".parse().unwrap();
    w.apply([
        RouteChange::Add {
            vrf: 0,
            prefix: "172.16.0.0".parse().unwrap(),
            len: 16,
            next_hop: NextHop::Gateway { port: 1, via: gw4 },
        },
        RouteChange::Add {
            vrf: 0,
            prefix: "2001:db8:100::".parse().unwrap(),
            len: 48,
            next_hop: NextHop::Gateway { port: 1, via: gw6 },
        },
    ]);
    let fib = r.load_full();
    let mut mgr = NeighborManager::new(NeighborConfig::default());
    let (now, mut acts) = (Instant::now(), Vec::new());
    for ip in [gw4, gw6] {
        mgr.handle_event(ControlEvent::Resolve { port: 1, ip }, now, &mut acts);
        let kind = LearnKind::Reply { override_: true };
        let gw_mac = MacAddr([2, 0, 0, 0, 1, 0xfe]);
        mgr.handle_event(
            ControlEvent::NeighborLearned {
                port: 1,
                ip,
                mac: gw_mac,
                kind,
            },
            now,
            &mut acts,
        );
    }
    let neighbors = mgr.take_snapshot().unwrap();
    let local = LocalAddrs::new(&ports);
    let overlay = sdwan_dataplane::overlay::OverlayTable::default();
    let ctx = Context {
        ports: &ports,
        fib: &fib,
        neighbors: &neighbors,
        local: &local,
        overlay: &overlay,
    };
    let mut worker = WorkerState::new(2, IcmpRateLimit::default());

    let mut answers = Vec::new();
    for (name, h) in &inputs {
        let bytes = unhex(h);
        let mut buf = vec![0u8; 128 + bytes.len() + 256];
        buf[128..128 + bytes.len()].copy_from_slice(&bytes);
        let mut f = Frame::new(&mut buf, 128, bytes.len()).unwrap();
        let v = process(&mut f, 0, &ctx, &mut worker, &mut |_| {});
        let want = if name == "forward_v4" {
            Verdict::Forward { port: 1 }
        } else {
            Verdict::Reply { port: 0 }
        };
        assert_eq!(v, want, "{name}");
        answers.push(format!("\"{name}\": \"{}\"", hex(f.data())));
    }

    let mut check = Command::new("/usr/bin/python3")
        .arg(SCRIPT)
        .arg("check")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{{{}}}", answers.join(", ")).as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success(),
        "scapy rejected our answers:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report.lines().filter(|l| !l.starts_with("FAIL")).count(), 7);
}
