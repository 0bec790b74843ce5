//! Test scaffolding shared by the interop tests: root check, a network
//! namespace joined to the root namespace by a veth pair (removed on drop,
//! also when the test panics), and a raw-socket sender so packets leave
//! with the outer headers *we* built.

use std::io::Write;
use std::process::{Child, Command, Stdio};

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn run(args: &[&str]) {
    let st = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect("spawn");
    assert!(st.success(), "command failed: {args:?}");
}

/// `ns` with veth `<name>b` at `peer_ip/30`, root side `<name>a` at
/// `local_ip/30`.
pub struct Netns {
    pub ns: String,
    veth_root: String,
}

impl Netns {
    pub fn new(tag: &str, local_ip: &str, peer_ip: &str) -> Self {
        let id = std::process::id() % 100_000;
        let ns = format!("sdwc{tag}{id}");
        let a = format!("vc{tag}{id}a");
        let b = format!("vc{tag}{id}b");
        let me = Self {
            ns: ns.clone(),
            veth_root: a.clone(),
        };
        run(&["ip", "netns", "add", &ns]);
        run(&["ip", "link", "add", &a, "type", "veth", "peer", "name", &b]);
        run(&["ip", "link", "set", &b, "netns", &ns]);
        run(&["ip", "addr", "add", &format!("{local_ip}/30"), "dev", &a]);
        run(&["ip", "link", "set", &a, "up"]);
        run(&[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{peer_ip}/30"),
            "dev",
            &b,
        ]);
        run(&["ip", "-n", &ns, "link", "set", &b, "up"]);
        run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        me
    }

    /// Runs `args` inside the namespace with piped stdout.
    pub fn spawn(&self, args: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn in netns")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth_root])
            .status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// Sends whole IPv4 packets (our outer header included) through a raw
/// socket (Linux fills in only the IPv4 checksum and total length).
pub fn send_raw_ipv4(dst: &str, packets: &[Vec<u8>]) {
    let script = "import socket,sys\n\
                  s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\n\
                  d=sys.argv[1]\n\
                  for l in sys.stdin:\n    s.sendto(bytes.fromhex(l.strip()),(d,0))\n";
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", script, dst])
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3 raw sender");
    {
        let stdin = child.stdin.as_mut().unwrap();
        for p in packets {
            let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(stdin, "{hex}").unwrap();
        }
    }
    assert!(child.wait().unwrap().success());
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
