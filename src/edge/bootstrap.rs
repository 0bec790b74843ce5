//! Zero-touch enrollment of an edge (draft §3.1.4): `sdwan edge
//! --bootstrap https://HOST:PORT --ca ca.pem --serial S --hardware hw.toml`.
//!
//! 1. A new key pair and CSR (CN = serial); the request carries a fresh
//!    random nonce and the time, and goes over TLS to the controller,
//!    verified against the given CA only.
//! 2. The reply holds our client certificate and the rendered overlay
//!    config (`[node]`, `[bgp]`, `[[wan]]`, `[[vrf]]`), merged here with
//!    the box-local hardware file into a full edge config under the state
//!    directory (`edge.toml`; key, certificates and the controller's part
//!    beside it).
//! 3. The edge runs with it, while [`poll`] long-polls the controller with
//!    the client certificate and hands each new version to a callback
//!    (writes `edge.toml` and raises SIGHUP: the running edge reloads it,
//!    applying routes and VRF changes live; see `edge::reload`).
use crate::cli::EdgeArgs;
use crate::controller::client::Client;
use crate::controller::render::RenderedConfig;
use anyhow::{bail, Context};
use serde_json::json;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Sections the hardware file may hold; the others come from the
/// controller. `[[wan]]` is shared: the controller gives id, color and
/// kind; the box may add its local facts (`gateway`, `public_address`)
/// for a port the controller made a WAN port.
const HARDWARE_SECTIONS: [&str; 8] = [
    "eal",
    "dataplane",
    "port",
    "route",
    "neighbor",
    "management",
    "metrics",
    "wan",
];
const CONTROLLER_SECTIONS: [&str; 5] = ["node", "bgp", "wan", "vrf", "policy"];
/// Keys of a hardware `[[wan]]` entry.
const LOCAL_WAN_KEYS: [&str; 3] = ["port", "gateway", "public_address"];

/// Longest wait asked of the controller per config poll.
const POLL_WAIT_SECS: u64 = 25;

pub struct Enrolled {
    pub certificate: String,
    pub key: String,
    pub config: RenderedConfig,
    pub version: u64,
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn write_file(path: &Path, text: &str, private: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Enrolls `serial` with the controller at `url`; stores the key and
/// certificates under `state_dir`.
pub fn enroll(
    url: &str,
    ca_pem: &str,
    serial: &str,
    bgp_source: Option<IpAddr>,
    state_dir: &Path,
) -> anyhow::Result<Enrolled> {
    let (key, csr) = crate::controller::tls::new_csr(serial)?;
    let mut nonce = [0u8; 16];
    getrandom::getrandom(&mut nonce).map_err(|e| anyhow::anyhow!("random nonce: {e}"))?;
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let req = json!({
        "serial": serial,
        "csr": csr,
        "nonce": nonce,
        "timestamp": timestamp,
        "bgp_source": bgp_source,
    });
    let client = Client::new(url, ca_pem, None)?;
    let reply = client
        .request(
            "POST",
            "/api/v1/enroll",
            None,
            Some(&req),
            Duration::from_secs(20),
        )?
        .json()
        .context("enrollment refused")?;
    let text = |k: &str| -> anyhow::Result<String> {
        reply[k]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("enrollment reply without {k:?}"))
    };
    let certificate = text("certificate")?;
    let config_text = text("config")?;
    let version = reply["version"]
        .as_u64()
        .context("enrollment reply without \"version\"")?;
    let config = RenderedConfig::from_toml(&config_text).map_err(|e| anyhow::anyhow!(e))?;
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("creating {}", state_dir.display()))?;
    write_file(&state_dir.join("key.pem"), &key, true)?;
    write_file(&state_dir.join("cert.pem"), &certificate, false)?;
    write_file(&state_dir.join("ca.pem"), ca_pem, false)?;
    write_file(&state_dir.join("controller.toml"), &config_text, true)?;
    Ok(Enrolled {
        certificate,
        key,
        config,
        version,
    })
}

/// The full edge config: the hardware file's sections plus the
/// controller's. Refuses a hardware file that sets controller sections,
/// WAN roles on unknown ports, and LAN ports in VRFs the controller did
/// not give us.
pub fn merge(
    hardware: &str,
    hardware_path: &Path,
    rendered: &RenderedConfig,
    version: u64,
) -> anyhow::Result<String> {
    let name = hardware_path.display();
    let mut table: toml::Table =
        toml::from_str(hardware).with_context(|| format!("{name}: not valid TOML"))?;
    for key in table.keys() {
        if key == "wan" {
            continue;
        }
        if CONTROLLER_SECTIONS.contains(&key.as_str()) {
            bail!("{name}: [{key}] comes from the controller; remove it from the hardware file");
        }
        if !HARDWARE_SECTIONS.contains(&key.as_str()) {
            bail!(
                "{name}: unknown section [{key}] (a hardware file holds {})",
                HARDWARE_SECTIONS.join(", ")
            );
        }
    }
    let ports: Vec<(String, Option<String>)> = table
        .get("port")
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p.get("name")
                            .and_then(|n| n.as_str())
                            .unwrap_or("")
                            .to_string(),
                        p.get("vrf").and_then(|n| n.as_str()).map(str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    for w in &rendered.wans {
        match ports.iter().find(|(n, _)| n == &w.port) {
            None => bail!(
                "{name}: the controller assigns WAN port id {} to port {:?}, which this box lacks",
                w.id,
                w.port
            ),
            Some((_, Some(vrf))) if vrf != "default" => bail!(
                "{name}: port {:?} is a WAN port (underlay, VRF default) but is in VRF {vrf:?}",
                w.port
            ),
            Some(_) => {}
        }
    }
    for (port, vrf) in &ports {
        if let Some(v) = vrf {
            if v != "default" && !rendered.vrfs.iter().any(|r| &r.name == v) {
                bail!(
                    "{name}: port {port:?} is in VRF {v:?}, which the controller did not assign \
                     to this device ({})",
                    rendered
                        .vrfs
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
    }
    let local_wans = match table.remove("wan") {
        None => Vec::new(),
        Some(toml::Value::Array(a)) => a,
        Some(_) => bail!("{name}: `wan` must be an array of tables ([[wan]])"),
    };
    let mut ours = toml::Table::try_from(rendered).context("rendered config")?;
    if let Some(toml::Value::Array(wans)) = ours.get_mut("wan") {
        for local in &local_wans {
            let Some(local) = local.as_table() else {
                bail!("{name}: [[wan]] entries must be tables");
            };
            if let Some(k) = local.keys().find(|k| !LOCAL_WAN_KEYS.contains(&k.as_str())) {
                bail!(
                    "{name}: [[wan]] {k:?} comes from the controller (the box sets only {})",
                    LOCAL_WAN_KEYS.join(", ")
                );
            }
            let port = local.get("port").and_then(|p| p.as_str()).unwrap_or("");
            let Some(w) = wans
                .iter_mut()
                .filter_map(|w| w.as_table_mut())
                .find(|w| w.get("port").and_then(|p| p.as_str()) == Some(port))
            else {
                bail!("{name}: [[wan]] port {port:?} is not a WAN port the controller assigned");
            };
            for (k, v) in local.iter().filter(|(k, _)| k.as_str() != "port") {
                w.insert(k.clone(), v.clone());
            }
        }
    } else if !local_wans.is_empty() {
        bail!("{name}: [[wan]] given but the controller assigned no WAN port");
    }
    for (k, v) in ours {
        table.insert(k, v);
    }
    Ok(format!(
        "# Generated by `sdwan edge --bootstrap`: {name} + controller config version {version}.\n{}",
        toml::to_string(&table).context("merged config")?
    ))
}

/// Long-polls the controller for new config versions, calling `apply`
/// with each (in order). Transport errors back off (1 s doubling to 30 s);
/// returns when the controller refuses us (revoked, unknown certificate)
/// or `apply` fails.
pub fn poll(
    client: &Client,
    mut version: u64,
    mut apply: impl FnMut(u64, RenderedConfig) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut backoff = Duration::from_secs(1);
    loop {
        let path = format!("/api/v1/config?version={version}&wait={POLL_WAIT_SECS}");
        let reply = match client.request(
            "GET",
            &path,
            None,
            None,
            Duration::from_secs(POLL_WAIT_SECS + 15),
        ) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("config poll: {e:#}; retrying in {backoff:?}");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        backoff = Duration::from_secs(1);
        if reply.status == 401 || reply.status == 403 {
            bail!("the controller refuses our config polls: {}", reply.body);
        }
        let v = match reply.json() {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("config poll: {e:#}");
                std::thread::sleep(backoff);
                continue;
            }
        };
        if v["changed"] != true {
            continue;
        }
        let (Some(new), Some(text)) = (v["version"].as_u64(), v["config"].as_str()) else {
            tracing::warn!("config poll: reply without version/config: {v}");
            continue;
        };
        let cfg = RenderedConfig::from_toml(text).map_err(|e| anyhow::anyhow!(e))?;
        apply(new, cfg)?;
        version = new;
    }
}

/// `sdwan edge --bootstrap ...`.
pub fn run(args: &EdgeArgs) -> anyhow::Result<()> {
    let (Some(url), Some(ca), Some(serial), Some(hw)) =
        (&args.bootstrap, &args.ca, &args.serial, &args.hardware)
    else {
        bail!("--bootstrap needs --ca, --serial and --hardware");
    };
    let ca_pem =
        std::fs::read_to_string(ca).with_context(|| format!("reading {}", ca.display()))?;
    let hardware =
        std::fs::read_to_string(hw).with_context(|| format!("reading {}", hw.display()))?;
    let started = Instant::now();
    let e = enroll(url, &ca_pem, serial, args.bgp_source, &args.state_dir)?;
    let config_path: PathBuf = args.state_dir.join("edge.toml");
    write_file(
        &config_path,
        &merge(&hardware, hw, &e.config, e.version)?,
        true,
    )?;
    let enroll_ms = started.elapsed().as_secs_f64() * 1e3;
    tracing::info!(serial, version = e.version, node = %e.config.node.id, enroll_ms,
        config = %config_path.display(), "enrolled");
    let line = |version: u64| {
        println!(
            "{}",
            json!({"serial": serial, "version": version, "config": config_path,
                   "enroll_ms": enroll_ms, "unix_ms": unix_ms() as u64})
        )
    };
    if args.enroll_only {
        line(e.version);
        return Ok(());
    }
    let client = Client::new(url, &ca_pem, Some((&e.certificate, &e.key)))?;
    let apply_to_file = {
        let (hardware, hw, config_path) = (hardware.clone(), hw.clone(), config_path.clone());
        move |version: u64, cfg: RenderedConfig| -> anyhow::Result<()> {
            write_file(&config_path, &merge(&hardware, &hw, &cfg, version)?, true)
        }
    };
    if args.follow_only {
        line(e.version);
        let apply = apply_to_file;
        return poll(&client, e.version, |v, cfg| {
            apply(v, cfg)?;
            line(v);
            Ok(())
        });
    }
    let first = e.version;
    let apply = apply_to_file;
    // SIGHUP means "reload" from now on, never the default "terminate":
    // a push may land before the edge installed its own handler (the
    // edge then notices the newer file itself).
    signal_hook::flag::register(
        signal_hook::consts::SIGHUP,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    )
    .context("installing the SIGHUP handler")?;
    std::thread::Builder::new()
        .name("sdwan-config-poll".into())
        .spawn(move || {
            let r = poll(&client, first, |v, cfg| {
                apply(v, cfg)?;
                // The running edge re-reads edge.toml on SIGHUP and applies
                // what may change live (or refuses the version whole).
                tracing::info!(
                    version = v,
                    "new config from the controller written; reloading"
                );
                signal_hook::low_level::raise(signal_hook::consts::SIGHUP)
                    .map_err(|e| anyhow::anyhow!("raising SIGHUP for the reload: {e}"))?;
                Ok(())
            });
            if let Err(e) = r {
                tracing::error!("config polling stopped: {e:#}");
            }
        })?;
    crate::edge::run(&config_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::render::*;

    fn rendered() -> RenderedConfig {
        RenderedConfig {
            node: Node {
                id: "10.255.0.1".parse().unwrap(),
                asn: 65000,
            },
            bgp: Bgp {
                hold_time: None,
                peers: vec![BgpPeer {
                    address: "127.0.0.1".parse().unwrap(),
                    port: 1179,
                    remote_as: 65000,
                    md5_key: Some("k".into()),
                    local_address: None,
                }],
            },
            wans: vec![Wan {
                port: "wan0".into(),
                id: 1,
                color: 100,
                kind: "internet".into(),
                breakout: false,
            }],
            vrfs: vec![Vrf {
                name: "blue".into(),
                id: 1,
                rd: "10.255.0.1:1".into(),
                import: vec!["65000:1".into()],
                export: vec!["65000:1".into()],
                label: 1001,
                color: None,
                encap: "mpls".into(),
                topology: None,
                role: None,
                hub_rt: None,
                spoke_rt: None,
                hub_summary: vec![],
            }],
            policies: vec![],
        }
    }

    const HW: &str = r#"
[eal]
args = ["--no-huge"]
[[port]]
name = "wan0"
device = "net_tap0,iface=w0"
addresses = ["203.0.113.1/24"]
[[port]]
name = "lan0"
device = "net_tap1,iface=l0"
vrf = "blue"
addresses = ["10.1.0.1/24"]
[management]
listen = "127.0.0.1:9900"
"#;

    #[test]
    fn merges_hardware_and_controller_sections() {
        let text = merge(HW, Path::new("hw.toml"), &rendered(), 4).unwrap();
        assert!(text.starts_with("# Generated"), "{text}");
        let t: toml::Table = toml::from_str(&text).unwrap();
        for k in ["eal", "port", "management", "node", "bgp", "wan", "vrf"] {
            assert!(t.contains_key(k), "{k} missing in\n{text}");
        }
        // The controller's part parses back with the contract's structs.
        let ours: toml::Table = t
            .iter()
            .filter(|(k, _)| CONTROLLER_SECTIONS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let back: RenderedConfig = ours.try_into().unwrap();
        assert_eq!(back, rendered());
    }

    #[test]
    fn box_local_wan_facts_join_the_controllers_wan_port() {
        let hw = format!("{HW}\n[[wan]]\nport = \"wan0\"\ngateway = \"203.0.113.254\"\n");
        let text = merge(&hw, Path::new("hw.toml"), &rendered(), 1).unwrap();
        let t: toml::Table = toml::from_str(&text).unwrap();
        let w = &t["wan"][0];
        assert_eq!(w["gateway"].as_str(), Some("203.0.113.254"));
        assert_eq!(w["color"].as_integer(), Some(100));
        assert_eq!(t["wan"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn refuses_inconsistent_hardware_files() {
        let p = Path::new("hw.toml");
        let e = merge(
            &format!("{HW}\n[node]\nid = \"1.2.3.4\"\n"),
            p,
            &rendered(),
            1,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("[node] comes from the controller"),
            "{e}"
        );
        let e = merge(&HW.replace("\"wan0\"", "\"wan9\""), p, &rendered(), 1).unwrap_err();
        assert!(
            e.to_string().contains("\"wan0\", which this box lacks"),
            "{e}"
        );
        let e = merge(
            &HW.replace("vrf = \"blue\"", "vrf = \"red\""),
            p,
            &rendered(),
            1,
        )
        .unwrap_err();
        assert!(e.to_string().contains("VRF \"red\""), "{e}");
        let e = merge(
            &format!("{HW}\n[[wan]]\nport = \"wan0\"\ncolor = 5\n"),
            p,
            &rendered(),
            1,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("\"color\" comes from the controller"),
            "{e}"
        );
        let e = merge(
            &format!("{HW}\n[[wan]]\nport = \"lan0\"\n"),
            p,
            &rendered(),
            1,
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a WAN port"), "{e}");
        let e = merge("[foo]\n", p, &rendered(), 1).unwrap_err();
        assert!(e.to_string().contains("unknown section [foo]"), "{e}");
    }
}
