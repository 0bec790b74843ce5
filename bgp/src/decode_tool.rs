//! Library side of `sdwan bgp decode`: one hex line, or the bytes of a
//! pcap / pcapng file, in; JSON out. Each message becomes either
//! `{"ok": true, "message": {...}, "verdict": ..., "errors": [...]}` or,
//! when the session would be reset, `{"ok": false, "verdict":
//! "session-reset", "reason", "offset", "attribute", "notification"}`.
//! RFC 7606 verdicts name the offending attribute and its byte offset.

use crate::pcap::tcp_flows;
use crate::wire::{decode_message, frame_len, Action, DecodeCtx, DecodeError, Family};
use serde_json::{json, Value};

/// How to read the messages (capabilities are not negotiated here).
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    /// Decode AS numbers as 4 bytes (RFC 6793); true for modern peers.
    pub four_octet_as: bool,
    /// Families whose NLRI carry ADD-PATH identifiers.
    pub add_path: Vec<Family>,
    /// TCP ports carrying BGP in a capture.
    pub ports: Vec<u16>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            four_octet_as: true,
            add_path: Vec::new(),
            ports: vec![179],
        }
    }
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::AttributeDiscard => "attribute-discard",
        Action::TreatAsWithdraw => "treat-as-withdraw",
        Action::SessionReset => "session-reset",
    }
}

fn error_json(e: &DecodeError) -> Value {
    json!({
        "reason": e.reason.name(),
        "action": action_name(e.action),
        "offset": e.offset,
        "attribute": e.attr_type,
        "notification": { "code": e.notify.0, "subcode": e.notify.1 },
    })
}

/// Decode one whole message.
pub fn decode_bytes(bytes: &[u8], opts: &DecodeOptions) -> Value {
    let ctx = DecodeCtx {
        four_octet_as: opts.four_octet_as,
        add_path_rx: opts.add_path.clone(),
        ebgp: false,
        extended_message: true,
    };
    match decode_message(bytes, &ctx) {
        Ok(d) => {
            let verdict = d.action().map_or("ok", action_name);
            json!({
                "ok": true,
                "length": bytes.len(),
                "verdict": verdict,
                "errors": d.errors.iter().map(error_json).collect::<Vec<_>>(),
                "message": serde_json::to_value(&d.message).unwrap_or(Value::Null),
            })
        }
        Err(e) => {
            let mut v = error_json(&e);
            v["ok"] = json!(false);
            v["verdict"] = json!("session-reset");
            v["length"] = json!(bytes.len());
            v
        }
    }
}

/// Parse hex (whitespace, ':' and a leading "0x" allowed).
pub fn parse_hex(line: &str) -> Result<Vec<u8>, String> {
    let t = line.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    let digits: Vec<u8> = t
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, p)| {
            let s = std::str::from_utf8(p).map_err(|_| format!("non-ASCII at digit {}", 2 * i))?;
            u8::from_str_radix(s, 16).map_err(|_| format!("bad hex {s:?} at digit {}", 2 * i))
        })
        .collect()
}

/// One line of hex holding one message (marker included).
pub fn decode_hex_line(line: &str, opts: &DecodeOptions) -> Value {
    match parse_hex(line) {
        Ok(b) => decode_bytes(&b, opts),
        Err(e) => json!({ "ok": false, "verdict": "bad-input", "reason": e }),
    }
}

/// Every BGP message of a capture file, per TCP direction in order.
pub fn decode_pcap(file: &[u8], opts: &DecodeOptions) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for flow in tcp_flows(file, &opts.ports)? {
        let from = flow.src.map(|a| a.to_string());
        let to = flow.dst.map(|a| a.to_string());
        let mut rest: &[u8] = &flow.payload;
        let mut offset = 0usize;
        while !rest.is_empty() {
            let v = match frame_len(rest, 65535) {
                Ok(Some(n)) if n <= rest.len() => {
                    let v = decode_bytes(&rest[..n], opts);
                    rest = &rest[n..];
                    offset += n;
                    v
                }
                Ok(_) => {
                    let v = json!({"ok": false, "verdict": "truncated", "reason": "capture ends inside a message", "bytes": rest.len()});
                    rest = &[];
                    v
                }
                Err(e) => {
                    // Lost framing: nothing after this point can be trusted.
                    let v = error_json(&e);
                    rest = &[];
                    json!({"ok": false, "verdict": "session-reset", "error": v})
                }
            };
            let mut v = v;
            v["from"] = json!(from);
            v["to"] = json!(to);
            v["stream_offset"] = json!(offset);
            out.push(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{EncodeCtx, Message, Update};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn keepalive_line_and_bad_inputs() {
        let o = DecodeOptions::default();
        let v = decode_hex_line(&"ff".repeat(16).to_string().add("001304"), &o);
        assert_eq!(v["ok"], true);
        assert_eq!(v["message"]["type"], "keepalive");
        let v = decode_hex_line("zz", &o);
        assert_eq!(v["verdict"], "bad-input");
        let v = decode_hex_line(&"ff".repeat(16).to_string().add("001309"), &o);
        assert_eq!(
            (v["verdict"].as_str(), v["reason"].as_str()),
            (Some("session-reset"), Some("bad_message_type"))
        );
        assert_eq!(v["notification"]["code"], 1);
    }

    #[test]
    fn rfc7606_verdict_names_attribute_and_offset() {
        // UPDATE with ORIGIN, AS_PATH, NEXT_HOP, a 3-byte COMMUNITIES and one NLRI.
        let mut u = Update::default();
        u.attrs.origin = Some(crate::wire::Origin::Igp);
        u.attrs.as_path = Some(Default::default());
        u.attrs.next_hop = Some("192.0.2.1".parse().unwrap());
        u.attrs.unknown.push(crate::wire::attr::RawAttr {
            flags: 0xc0,
            code: 8,
            value: vec![1, 2, 3],
        });
        u.nlri.push(crate::wire::PathNlri {
            path_id: None,
            nlri: crate::wire::Nlri::Unicast {
                prefix: "10.0.0.0/8".parse().unwrap(),
            },
        });
        let b = Message::Update(u).encode(EncodeCtx {
            four_octet_as: true,
        });
        let v = decode_hex_line(&hex(&b), &DecodeOptions::default());
        assert_eq!(v["verdict"], "treat-as-withdraw");
        assert_eq!(v["errors"][0]["attribute"], 8);
        assert_eq!(v["errors"][0]["reason"], "malformed_communities");
        // Offset of the COMMUNITIES value: header 19 + 2 + 2 + 4 + 3 + 7 + 3.
        assert_eq!(v["errors"][0]["offset"], 40);
    }

    #[test]
    fn classic_pcap_with_a_message_split_over_two_segments() {
        let ka = Message::Keepalive.encode(EncodeCtx::default());
        let upd = Message::Update(Update::end_of_rib(Family::Vpnv4)).encode(EncodeCtx::default());
        let stream: Vec<u8> = [ka.clone(), upd.clone()].concat();
        let (a, b) = stream.split_at(25);
        let mut file = Vec::new();
        for w in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 101] {
            match w {
                0xa1b2_c3d4 => file.extend_from_slice(&w.to_le_bytes()),
                0x0004_0002 => file.extend_from_slice(&[2, 0, 4, 0]),
                _ => file.extend_from_slice(&w.to_le_bytes()),
            }
        }
        let mut seq = 1000u32;
        for part in [a, b] {
            let mut pkt = vec![
                0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
            ];
            let total = (20 + 20 + part.len()) as u16;
            pkt[2..4].copy_from_slice(&total.to_be_bytes());
            pkt.extend_from_slice(&40000u16.to_be_bytes());
            pkt.extend_from_slice(&179u16.to_be_bytes());
            pkt.extend_from_slice(&seq.to_be_bytes());
            pkt.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
            pkt.extend_from_slice(part);
            seq += part.len() as u32;
            for w in [0u32, 0, pkt.len() as u32, pkt.len() as u32] {
                file.extend_from_slice(&w.to_le_bytes());
            }
            file.extend_from_slice(&pkt);
        }
        let v = decode_pcap(&file, &DecodeOptions::default()).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["message"]["type"], "keepalive");
        assert_eq!(v[1]["message"]["type"], "update");
        assert_eq!(v[1]["from"], "10.0.0.1:40000");
        assert!(decode_pcap(b"nope", &DecodeOptions::default()).is_err());
    }

    trait Add {
        fn add(self, s: &str) -> String;
    }
    impl Add for String {
        fn add(mut self, s: &str) -> String {
            self.push_str(s);
            self
        }
    }
}
