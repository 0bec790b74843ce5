//! `sdwan bgp decode`: the operator's tool for "what did that peer send?".
//! Hex lines on stdin or a pcap in, one JSON object per message out (the
//! decoded message, or the RFC 7606 verdict naming attribute and offset).
use crate::cli::BgpCommand;
use anyhow::Context;
use sdwan_bgp::decode_tool::{decode_hex_line, decode_pcap, DecodeOptions};
use std::io::{BufRead, Write};

pub fn run(cmd: BgpCommand) -> anyhow::Result<()> {
    let BgpCommand::Decode {
        pcap,
        port,
        two_octet_as,
    } = cmd;
    let opts = DecodeOptions {
        four_octet_as: !two_octet_as,
        ports: port,
        ..DecodeOptions::default()
    };
    let out = std::io::stdout();
    let mut out = out.lock();
    match pcap {
        Some(path) => {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let msgs = decode_pcap(&bytes, &opts)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            for m in msgs {
                writeln!(out, "{m}")?;
            }
        }
        None => {
            for line in std::io::stdin().lock().lines() {
                let line = line.context("reading stdin")?;
                if line.trim().is_empty() || line.trim_start().starts_with('#') {
                    continue;
                }
                writeln!(out, "{}", decode_hex_line(&line, &opts))?;
            }
        }
    }
    Ok(())
}
