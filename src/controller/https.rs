//! A small HTTPS/1.1 server for the provisioning API (rustls over std
//! TCP, one thread per connection, `Connection: close`). Unlike the
//! localhost management listener it must see the client certificate an
//! edge presents (mTLS) and hold long polls, so it is its own loop.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest request head and body accepted.
const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 1 << 20;
/// Connections served at once; more are closed at accept.
const MAX_CONNECTIONS: usize = 512;
/// Time a client has to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Request {
    pub method: String,
    /// Path with query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// SHA-256 (hex) of the client certificate, verified against our CA
    /// by rustls, when the client presented one.
    pub client_cert_sha256: Option<String>,
    pub peer: SocketAddr,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Value of query parameter `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        let (_, q) = self.path.split_once('?')?;
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }
}

pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, v: &serde_json::Value) -> Reply {
        Reply {
            status,
            body: v.to_string(),
        }
    }
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply::json(status, &serde_json::json!({ "error": message.into() }))
    }
}

pub trait Service: Send + Sync + 'static {
    fn handle(&self, req: &Request) -> Reply;
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        _ => "Status",
    }
}

/// Binds `addr` and serves `svc` until `stop` is set. Returns the bound
/// address (port 0 picks one) and the accept thread.
pub fn spawn(
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    svc: Arc<dyn Service>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| anyhow::anyhow!("provisioning API cannot listen on {addr}: {e}"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let active = Arc::new(AtomicUsize::new(0));
    let handle = std::thread::Builder::new()
        .name("sdwan-https".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (stream, peer) = match listener.accept() {
                    Ok(c) => c,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!("provisioning API accept failed: {e}");
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                };
                if active.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
                    tracing::warn!(%peer, "provisioning API: too many connections, closing");
                    continue;
                }
                active.fetch_add(1, Ordering::Relaxed);
                let (tls, svc, active) = (tls.clone(), svc.clone(), active.clone());
                let spawned = std::thread::Builder::new()
                    .name("sdwan-https-conn".into())
                    .spawn(move || {
                        if let Err(e) = serve(stream, peer, tls, &*svc) {
                            tracing::debug!(%peer, "provisioning API connection: {e}");
                        }
                        active.fetch_sub(1, Ordering::Relaxed);
                    });
                if spawned.is_err() {
                    tracing::warn!("provisioning API: cannot spawn a connection thread");
                }
            }
        })?;
    Ok((local, handle))
}

fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    svc: &dyn Service,
) -> anyhow::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    let conn = rustls::ServerConnection::new(tls)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let parsed = read_request(&mut tls, peer);
    let reply = match parsed {
        Ok(req) => svc.handle(&req),
        Err(ReadError::Io(e)) => return Err(e.into()),
        Err(ReadError::Bad(status, m)) => Reply::error(status, m),
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    tls.write_all(head.as_bytes())?;
    tls.write_all(reply.body.as_bytes())?;
    tls.conn.send_close_notify();
    tls.flush()?;
    Ok(())
}

enum ReadError {
    Io(std::io::Error),
    Bad(u16, String),
}

fn read_request<S>(
    tls: &mut rustls::StreamOwned<rustls::ServerConnection, S>,
    peer: SocketAddr,
) -> Result<Request, ReadError>
where
    S: Read + Write,
{
    let mut reader = BufReader::new(&mut *tls);
    let mut head_len = 0usize;
    let mut line = String::new();
    let mut next_line = |reader: &mut BufReader<_>, line: &mut String| -> Result<(), ReadError> {
        line.clear();
        let n = reader
            .by_ref()
            .take((MAX_HEAD - head_len.min(MAX_HEAD)) as u64 + 1)
            .read_line(line)
            .map_err(ReadError::Io)?;
        head_len += n;
        if n == 0 {
            return Err(ReadError::Bad(
                400,
                "connection closed in the request head".into(),
            ));
        }
        if head_len > MAX_HEAD {
            return Err(ReadError::Bad(
                413,
                format!("request head over {MAX_HEAD} bytes"),
            ));
        }
        Ok(())
    };
    next_line(&mut reader, &mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(
            400,
            format!("bad request line {:?}", line.trim_end()),
        ));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(
            400,
            format!("unsupported HTTP version {version:?}"),
        ));
    }
    let (method, path) = (method.to_string(), path.to_string());
    let mut headers = Vec::new();
    loop {
        next_line(&mut reader, &mut line)?;
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let Some((k, v)) = l.split_once(':') else {
            return Err(ReadError::Bad(400, format!("bad header line {l:?}")));
        };
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len = match headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        None => 0,
        Some((_, v)) => v
            .parse::<usize>()
            .map_err(|_| ReadError::Bad(400, format!("bad Content-Length {v:?}")))?,
    };
    if len > MAX_BODY {
        return Err(ReadError::Bad(
            413,
            format!("request body over {MAX_BODY} bytes"),
        ));
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).map_err(ReadError::Io)?;
    drop(reader);
    let client_cert_sha256 = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| super::tls::sha256_hex(c.as_ref()));
    Ok(Request {
        method,
        path,
        headers,
        body,
        client_cert_sha256,
        peer,
    })
}
