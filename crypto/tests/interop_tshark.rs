//! Wireshark's ESP dissector as an independent checker: we encapsulate
//! packets (plain ESP and ESP-in-UDP), write them to a pcap (raw IPv4
//! link type), and tshark, given our keys, decrypts them, verifies the ICV
//! and the outer IPv4 checksum, and shows the inner packet.
//!
//! Needs /usr/bin/tshark (Debian tshark 4.0); no root, no network.

use sdwan_crypto::esp::OuterConfig;
use sdwan_crypto::outer::{DfPolicy, DscpPolicy, NattPorts, NATT_PORT};
use sdwan_crypto::{Cipher, KeyMaterial, NextHeader, OutboundSa, SaParams};
use sdwan_packet::Frame;
use std::process::Command;

type E = sdwan_crypto::aead::DefaultEngine;

const SPI: u32 = 0x0042_4242;
const SRC: &str = "192.0.2.10";
const DST: &str = "198.51.100.20";

/// pcap file (LINKTYPE_RAW = 101: each record is an IP packet).
fn pcap(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&0i32.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&101u32.to_le_bytes());
    for (i, p) in packets.iter().enumerate() {
        f.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(p);
    }
    f
}

/// An inner IPv4/UDP packet 10.1.1.1:1000 → 10.2.2.2:2000 with `payload`.
fn inner_udp(payload: &[u8]) -> Vec<u8> {
    let total = 28 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[1] = 0x28; // DSCP AF11
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 63;
    p[9] = 17;
    p[12..16].copy_from_slice(&[10, 1, 1, 1]);
    p[16..20].copy_from_slice(&[10, 2, 2, 2]);
    let c = sdwan_crypto::outer::ipv4_checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20..22].copy_from_slice(&1000u16.to_be_bytes());
    p[22..24].copy_from_slice(&2000u16.to_be_bytes());
    p[24..26].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p[28..].copy_from_slice(payload);
    p
}

#[test]
fn tshark_decrypts_our_esp_with_valid_icv() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("SKIPPED tshark interop: tshark not installed (scripts/setup.sh installs it)");
        return;
    }
    let material: Vec<u8> = (0..20u8).map(|i| 0xa0 ^ i).collect();
    let keys = KeyMaterial::from_rfc4106(Cipher::AesGcm128, &material).unwrap();
    let mut params = SaParams::new(SPI);
    params.esn = false; // tshark 4.0's SA table has no ESN setting
    let mut packets = Vec::new();
    for natt in [
        None,
        Some(NattPorts {
            src: NATT_PORT,
            dst: NATT_PORT,
        }),
    ] {
        let outer = OuterConfig {
            src: SRC.parse().unwrap(),
            dst: DST.parse().unwrap(),
            natt,
            ttl: 64,
            dscp: DscpPolicy::Copy,
            df: DfPolicy::Set,
        };
        let mut out = OutboundSa::<E>::new(params, &keys, outer).unwrap();
        for i in 0..3 {
            let inner = inner_udp(format!("tshark-check-{i}").as_bytes());
            let mut buf = vec![0u8; 512];
            buf[128..128 + inner.len()].copy_from_slice(&inner);
            let mut f = Frame::new(&mut buf, 128, inner.len()).unwrap();
            out.encap(&mut f, NextHeader::Ipv4).unwrap();
            packets.push(f.data().to_vec());
        }
    }
    let dir = std::env::temp_dir().join(format!("sdwan-crypto-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("esp.pcap");
    std::fs::write(&file, pcap(&packets)).unwrap();

    let key_hex: String = material.iter().map(|b| format!("{b:02x}")).collect();
    let sa = format!(
        "uat:esp_sa:\"IPv4\",\"{SRC}\",\"{DST}\",\"{SPI:#010x}\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x{key_hex}\",\"NULL\",\"\""
    );
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&file)
        .args([
            "-o",
            "esp.enable_encryption_decode:TRUE",
            "-o",
            "esp.enable_authentication_check:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            &sa,
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "esp.spi",
            "-e",
            "esp.sequence",
            "-e",
            "ip.src",
            "-e",
            "ip.checksum.status",
            "-e",
            "esp.icv_good",
            "-e",
            "udp.dstport",
            "-e",
            "data.data",
        ])
        .output()
        .expect("run tshark");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    for (n, line) in lines.iter().enumerate() {
        let f: Vec<&str> = line.split('|').collect();
        let seq = n % 3 + 1;
        assert_eq!(f[0], format!("{SPI:#010x}"), "{line}");
        assert_eq!(f[1], seq.to_string(), "{line}");
        // Outer then inner source address: the inner packet was decrypted.
        assert_eq!(f[2], format!("{SRC},10.1.1.1"), "{line}");
        // Outer and inner IPv4 checksums verified good (status 1).
        assert_eq!(f[3], "1,1", "{line}");
        assert_eq!(f[4], "1", "ICV must verify: {line}");
        let payload: String = format!("tshark-check-{}", n % 3)
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(f[6], payload, "{line}");
        let natt = n >= 3;
        assert_eq!(f[5], if natt { "4500,2000" } else { "2000" }, "{line}");
    }
}

/// IPv6 outer with NAT-T: IPv6 makes the UDP checksum mandatory, and we
/// compute it over the whole ESP packet; tshark verifies it and the ICV.
#[test]
fn tshark_checks_ipv6_udp_checksum_and_icv() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("SKIPPED tshark interop: tshark not installed (scripts/setup.sh installs it)");
        return;
    }
    const SRC6: &str = "2001:db8:1::10";
    const DST6: &str = "2001:db8:2::20";
    let material: Vec<u8> = (0..36u8).map(|i| 0x5c ^ i).collect();
    let keys = KeyMaterial::from_rfc4106(Cipher::AesGcm256, &material).unwrap();
    let mut params = SaParams::new(SPI);
    params.esn = false;
    let outer = OuterConfig {
        src: SRC6.parse().unwrap(),
        dst: DST6.parse().unwrap(),
        natt: Some(NattPorts {
            src: 4501,
            dst: NATT_PORT,
        }),
        ttl: 32,
        dscp: DscpPolicy::Set(46),
        df: DfPolicy::Copy,
    };
    let mut out = OutboundSa::<E>::new(params, &keys, outer).unwrap();
    let mut packets = Vec::new();
    for i in 0..3 {
        let inner = inner_udp(format!("v6-check-{i}").as_bytes());
        let mut buf = vec![0u8; 512];
        buf[128..128 + inner.len()].copy_from_slice(&inner);
        let mut f = Frame::new(&mut buf, 128, inner.len()).unwrap();
        out.encap(&mut f, NextHeader::Ipv4).unwrap();
        packets.push(f.data().to_vec());
    }
    let dir = std::env::temp_dir().join(format!("sdwan-crypto-tshark6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("esp6.pcap");
    std::fs::write(&file, pcap(&packets)).unwrap();
    let key_hex: String = material.iter().map(|b| format!("{b:02x}")).collect();
    let sa = format!(
        "uat:esp_sa:\"IPv6\",\"{SRC6}\",\"{DST6}\",\"{SPI:#010x}\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x{key_hex}\",\"NULL\",\"\""
    );
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&file)
        .args([
            "-o",
            "esp.enable_encryption_decode:TRUE",
            "-o",
            "esp.enable_authentication_check:TRUE",
        ])
        .args([
            "-o",
            "udp.check_checksum:TRUE",
            "-o",
            &sa,
            "-T",
            "fields",
            "-E",
            "separator=|",
        ])
        .args([
            "-e",
            "ipv6.src",
            "-e",
            "ipv6.tclass.dscp",
            "-e",
            "ipv6.hlim",
            "-e",
            "udp.checksum.status",
        ])
        .args(["-e", "esp.icv_good", "-e", "ip.src", "-e", "data.data"])
        .output()
        .expect("run tshark");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (i, line) in lines.iter().enumerate() {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f[0], SRC6, "{line}");
        assert_eq!(f[1], "46", "{line}");
        assert_eq!(f[2], "32", "{line}");
        // Outer UDP checksum good (1); the inner UDP has checksum 0
        // (not present, status 2).
        assert!(f[3].starts_with("1"), "UDP checksum must verify: {line}");
        assert_eq!(f[4], "1", "ICV must verify: {line}");
        assert_eq!(f[5], "10.1.1.1", "{line}");
        let payload: String = format!("v6-check-{i}")
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(f[6], payload, "{line}");
    }
}
