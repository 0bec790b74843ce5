//! The HTTP listener. Requests are answered by a [`Handler`]; the listener
//! thread polls a stop flag so shutdown never hangs on an idle socket.
use crate::config::Listen;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: "application/json",
            body: value.to_string(),
        }
    }
    pub fn text(status: u16, body: String) -> Response {
        Response {
            status,
            content_type: "text/plain; version=0.0.4",
            body,
        }
    }
    /// A JSON error naming what was wrong.
    pub fn error(status: u16, message: impl Into<String>) -> Response {
        Response::json(status, &serde_json::json!({ "error": message.into() }))
    }
}

pub trait Handler: Send + Sync + 'static {
    fn handle(&self, method: &str, path: &str, body: &[u8]) -> Response;
}

/// Largest request body accepted.
const MAX_BODY: u64 = 1 << 20;

pub fn spawn(
    listen: &Listen,
    handler: Arc<dyn Handler>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<JoinHandle<()>> {
    let server = match listen {
        Listen::Tcp(addr) => tiny_http::Server::http(addr),
        Listen::Unix(path) => {
            let _ = std::fs::remove_file(path);
            tiny_http::Server::http_unix(path)
        }
    }
    .map_err(|e| anyhow::anyhow!("management API cannot listen on {listen}: {e}"))?;
    let listen = listen.clone();
    let handle = std::thread::Builder::new()
        .name("sdwan-mgmt".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let mut req = match server.recv_timeout(Duration::from_millis(100)) {
                    Ok(Some(r)) => r,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!("management API accept failed: {e}");
                        continue;
                    }
                };
                let mut body = Vec::new();
                let read = req.as_reader().take(MAX_BODY + 1).read_to_end(&mut body);
                let resp = if read.is_err() {
                    Response::error(400, "cannot read request body")
                } else if body.len() as u64 > MAX_BODY {
                    Response::error(413, format!("request body over {MAX_BODY} bytes"))
                } else {
                    let method = req.method().as_str().to_string();
                    let path = req.url().to_string();
                    handler.handle(&method, &path, &body)
                };
                let ct = tiny_http::Header::from_bytes("Content-Type", resp.content_type)
                    .expect("static header");
                let r = tiny_http::Response::from_string(resp.body)
                    .with_status_code(resp.status)
                    .with_header(ct);
                let _ = req.respond(r);
            }
            if let Listen::Unix(path) = listen {
                let _ = std::fs::remove_file(path);
            }
        })?;
    Ok(handle)
}
