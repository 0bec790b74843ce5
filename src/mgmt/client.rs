//! A minimal HTTP/1.0 client for the management API over TCP or a unix
//! socket: one request, read to EOF, split status and body.
use crate::config::Listen;
use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::time::Duration;

pub struct Reply {
    pub status: u16,
    pub body: String,
}

pub fn request(api: &str, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<Reply> {
    let listen = Listen::parse(api).map_err(|e| anyhow::anyhow!("--api: {e}"))?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: sdwan\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut raw = Vec::new();
    let timeout = Some(Duration::from_secs(10));
    match &listen {
        Listen::Tcp(addr) => {
            let mut s = std::net::TcpStream::connect_timeout(addr, Duration::from_secs(3))
                .with_context(|| {
                    format!("cannot reach the management API at {addr} (is the edge running?)")
                })?;
            s.set_read_timeout(timeout)?;
            s.write_all(req.as_bytes())?;
            s.read_to_end(&mut raw)?;
        }
        Listen::Unix(p) => {
            let mut s = std::os::unix::net::UnixStream::connect(p).with_context(|| {
                format!(
                    "cannot reach the management API at {} (is the edge running?)",
                    p.display()
                )
            })?;
            s.set_read_timeout(timeout)?;
            s.write_all(req.as_bytes())?;
            s.read_to_end(&mut raw)?;
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("malformed HTTP reply from {api}");
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP status line")?;
    Ok(Reply {
        status,
        body: body.to_string(),
    })
}

/// GET `path` and parse JSON, turning API errors into messages.
pub fn get_json(api: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    let r = request(api, "GET", path, None)?;
    parse_reply(r)
}

pub fn parse_reply(r: Reply) -> anyhow::Result<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&r.body)
        .with_context(|| format!("API returned non-JSON: {}", r.body))?;
    if r.status >= 400 {
        bail!(
            "API error {}: {}",
            r.status,
            v.get("error").and_then(|e| e.as_str()).unwrap_or(&r.body)
        );
    }
    Ok(v)
}
