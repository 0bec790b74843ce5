//! HTTPS client for the provisioning API, used by the operator CLI
//! (`sdwan controller device ...`, token auth) and by edges (enrollment,
//! then config polling with their client certificate). The server is
//! verified against the controller's CA only.
use anyhow::{bail, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

pub struct Client {
    host: String,
    port: u16,
    tls: Arc<rustls::ClientConfig>,
}

pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// The body as JSON; API errors (status >= 400) become messages.
    pub fn json(self) -> anyhow::Result<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_str(&self.body)
            .with_context(|| format!("API returned non-JSON ({}): {}", self.status, self.body))?;
        if self.status >= 400 {
            bail!(
                "API error {}: {}",
                self.status,
                v.get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or(&self.body)
            );
        }
        Ok(v)
    }
}

/// `https://host:port[/]` into (host, port).
pub fn parse_url(url: &str) -> anyhow::Result<(String, u16)> {
    let rest = url
        .strip_prefix("https://")
        .with_context(|| format!("{url:?}: the controller URL must start with https://"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (h, p) = v6
            .split_once("]:")
            .with_context(|| format!("{url:?}: expected https://[v6]:port"))?;
        (h.to_string(), p)
    } else {
        let (h, p) = rest
            .rsplit_once(':')
            .with_context(|| format!("{url:?}: expected https://host:port"))?;
        (h.to_string(), p)
    };
    let port = port
        .parse()
        .with_context(|| format!("{url:?}: bad port {port:?}"))?;
    Ok((host, port))
}

impl Client {
    /// `ca_pem`: the controller CA; `identity`: (certificate PEM, key PEM)
    /// of an enrolled edge.
    pub fn new(url: &str, ca_pem: &str, identity: Option<(&str, &str)>) -> anyhow::Result<Client> {
        let (host, port) = parse_url(url)?;
        let mut roots = rustls::RootCertStore::empty();
        let mut n = 0;
        for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots
                .add(c.map_err(|e| anyhow::anyhow!("CA file: {e}"))?)
                .context("CA file: unusable certificate")?;
            n += 1;
        }
        if n == 0 {
            bail!("CA file holds no PEM certificate");
        }
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        let tls = match identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| anyhow::anyhow!("client certificate: {e}"))?;
                let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                    .map_err(|e| anyhow::anyhow!("client key: {e}"))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .context("client certificate")?
            }
        };
        Ok(Client {
            host,
            port,
            tls: Arc::new(tls),
        })
    }

    /// One request; `timeout` bounds the whole exchange (long polls pass
    /// their wait plus a margin).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
        timeout: Duration,
    ) -> anyhow::Result<Reply> {
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .with_context(|| format!("resolving {}", self.host))?
            .next()
            .with_context(|| format!("{} has no address", self.host))?;
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .with_context(|| format!("cannot reach the controller at {addr}"))?;
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))?;
        let name = ServerName::try_from(self.host.clone())
            .with_context(|| format!("server name {:?}", self.host))?;
        let conn = rustls::ClientConnection::new(self.tls.clone(), name)?;
        let mut s = rustls::StreamOwned::new(conn, tcp);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.host,
            body.len()
        );
        s.write_all(req.as_bytes())
            .context("TLS handshake or request to the controller failed")?;
        let mut raw = Vec::new();
        match s.read_to_end(&mut raw) {
            Ok(_) => {}
            // Servers that close without close_notify: keep what we got.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
            Err(e) => return Err(e).context("reading the controller's reply"),
        }
        let text = String::from_utf8_lossy(&raw);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            bail!("malformed HTTP reply from the controller");
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
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("https://127.0.0.1:8443/").unwrap(),
            ("127.0.0.1".into(), 8443)
        );
        assert_eq!(parse_url("https://[::1]:9").unwrap(), ("::1".into(), 9));
        assert!(parse_url("http://x:1").is_err());
        assert!(parse_url("https://x").is_err());
    }
}
