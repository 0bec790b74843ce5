//! Just enough capture-file reading for `sdwan bgp decode`: classic pcap
//! (both byte orders, µs/ns) and pcapng (SHB, IDB, EPB, SPB), link types
//! Ethernet (1, with 802.1Q), BSD loopback (0), raw IP (101, 12, 228, 229)
//! and Linux cooked v1/v2 (113, 276); IPv4/IPv6 + TCP. TCP payloads of each
//! direction are reassembled in sequence order (retransmitted bytes are
//! dropped), so BGP messages split over segments come out whole.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One direction of a TCP connection with its reassembled payload.
#[derive(Debug, Default)]
pub struct TcpFlow {
    pub src: Option<SocketAddr>,
    pub dst: Option<SocketAddr>,
    /// Frame number (1-based) of the first payload byte.
    pub first_frame: usize,
    pub payload: Vec<u8>,
    next_seq: Option<u32>,
}

fn rd16(b: &[u8], at: usize, le: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(s)
    } else {
        u16::from_be_bytes(s)
    })
}

fn rd32(b: &[u8], at: usize, le: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(s)
    } else {
        u32::from_be_bytes(s)
    })
}

/// Packets of a capture as (link type, frame bytes).
pub fn packets(file: &[u8]) -> Result<Vec<(u32, &[u8])>, String> {
    let magic = rd32(file, 0, false).ok_or("file too short for a capture header")?;
    match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => classic(file, false),
        0xd4c3_b2a1 | 0x4d3c_b2a1 => classic(file, true),
        0x0a0d_0d0a => pcapng(file),
        m => Err(format!("not a pcap or pcapng file (magic {m:#010x})")),
    }
}

fn classic(file: &[u8], le: bool) -> Result<Vec<(u32, &[u8])>, String> {
    let link = rd32(file, 20, le).ok_or("truncated pcap header")? & 0x0fff_ffff;
    let mut at = 24usize;
    let mut out = Vec::new();
    while at < file.len() {
        let caplen = rd32(file, at + 8, le)
            .ok_or_else(|| format!("truncated record header at byte {at}"))?
            as usize;
        let start = at + 16;
        let data = file
            .get(start..start.saturating_add(caplen))
            .ok_or_else(|| format!("record at byte {at} runs past the end"))?;
        out.push((link, data));
        at = start + caplen;
    }
    Ok(out)
}

fn pcapng(file: &[u8]) -> Result<Vec<(u32, &[u8])>, String> {
    let mut at = 0usize;
    let mut le = true;
    let mut links: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    while at < file.len() {
        let btype_be = rd32(file, at, false).ok_or("truncated block")?;
        if btype_be == 0x0a0d_0d0a {
            // Section header: byte-order magic decides endianness.
            le = rd32(file, at + 8, true) == Some(0x1a2b_3c4d);
            links.clear();
        }
        let btype = rd32(file, at, le).ok_or("truncated block")?;
        let blen = rd32(file, at + 4, le).ok_or("truncated block")? as usize;
        if blen < 12 || blen % 4 != 0 {
            return Err(format!("bad pcapng block length {blen} at byte {at}"));
        }
        let body = file
            .get(at + 8..at + blen - 4)
            .ok_or_else(|| format!("block at byte {at} runs past the end"))?;
        match btype {
            1 => links.push(u32::from(rd16(body, 0, le).ok_or("bad IDB")?)),
            6 => {
                let iface = rd32(body, 0, le).ok_or("bad EPB")? as usize;
                let caplen = rd32(body, 12, le).ok_or("bad EPB")? as usize;
                let data = body.get(20..20 + caplen).ok_or("EPB data past block")?;
                out.push((*links.get(iface).ok_or("EPB for unknown interface")?, data));
            }
            3 => {
                let data = body.get(4..).ok_or("bad SPB")?;
                out.push((*links.first().ok_or("SPB before IDB")?, data));
            }
            _ => {}
        }
        at += blen;
    }
    Ok(out)
}

/// The IP packet inside a link-layer frame.
fn ip_of(link: u32, f: &[u8]) -> Option<&[u8]> {
    match link {
        1 => {
            let mut et = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
            let mut off = 14;
            while et == 0x8100 || et == 0x88a8 {
                et = u16::from_be_bytes([*f.get(off + 2)?, *f.get(off + 3)?]);
                off += 4;
            }
            matches!(et, 0x0800 | 0x86dd)
                .then(|| f.get(off..))
                .flatten()
        }
        0 => f.get(4..),
        101 | 12 | 228 | 229 => Some(f),
        113 => f.get(16..),
        276 => f.get(20..),
        _ => None,
    }
}

/// (src, dst, seq, payload) of a TCP segment.
fn tcp_of(ip: &[u8]) -> Option<(SocketAddr, SocketAddr, u32, &[u8])> {
    let (src, dst, l4) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            if *ip.get(9)? != 6 {
                return None;
            }
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (
                IpAddr::V4(Ipv4Addr::from(s)),
                IpAddr::V4(Ipv4Addr::from(d)),
                ip.get(ihl..total.min(ip.len()))?,
            )
        }
        6 => {
            if *ip.get(6)? != 6 {
                return None;
            }
            let plen = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (
                IpAddr::V6(Ipv6Addr::from(s)),
                IpAddr::V6(Ipv6Addr::from(d)),
                ip.get(40..(40 + plen).min(ip.len()))?,
            )
        }
        _ => return None,
    };
    let sport = u16::from_be_bytes([*l4.first()?, *l4.get(1)?]);
    let dport = u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]);
    let seq = u32::from_be_bytes(l4.get(4..8)?.try_into().ok()?);
    let off = usize::from(l4.get(12)? >> 4) * 4;
    Some((
        SocketAddr::new(src, sport),
        SocketAddr::new(dst, dport),
        seq,
        l4.get(off..)?,
    ))
}

/// Reassembled TCP flows touching one of `ports`, in order of appearance.
pub fn tcp_flows(file: &[u8], ports: &[u16]) -> Result<Vec<TcpFlow>, String> {
    let mut order: Vec<(SocketAddr, SocketAddr)> = Vec::new();
    let mut flows: HashMap<(SocketAddr, SocketAddr), TcpFlow> = HashMap::new();
    for (i, (link, frame)) in packets(file)?.into_iter().enumerate() {
        let Some((src, dst, seq, payload)) = ip_of(link, frame).and_then(tcp_of) else {
            continue;
        };
        if !ports.contains(&src.port()) && !ports.contains(&dst.port()) || payload.is_empty() {
            continue;
        }
        let f = flows.entry((src, dst)).or_insert_with(|| {
            order.push((src, dst));
            TcpFlow {
                src: Some(src),
                dst: Some(dst),
                first_frame: i + 1,
                ..Default::default()
            }
        });
        let expected = f.next_seq.unwrap_or(seq);
        // Bytes before `expected` were seen already (retransmission).
        let skip = expected.wrapping_sub(seq) as usize;
        if skip < payload.len() && (seq == expected || skip < (1 << 30)) {
            f.payload.extend_from_slice(&payload[skip..]);
            f.next_seq = Some(seq.wrapping_add(payload.len() as u32));
        }
    }
    Ok(order.into_iter().filter_map(|k| flows.remove(&k)).collect())
}
