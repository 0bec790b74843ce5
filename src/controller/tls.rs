//! The controller's own PKI (rcgen) and its rustls server setup.
//!
//! On first start the controller creates a CA (ECDSA P-256, `ca.pem` +
//! `ca.key` under its state directory, key file mode 0600); on every start
//! it issues a fresh server certificate for the configured names and
//! addresses. Edges trust the CA (`sdwan controller ca-cert` prints it with
//! its SHA-256 fingerprint); an enrolled edge presents a client certificate
//! the CA signed from its CSR (CN = its serial number).
use anyhow::Context;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateSigningRequestParams,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long an edge's client certificate is valid.
const CLIENT_CERT_DAYS: u64 = 365;

pub struct Pki {
    ca: Certificate,
    ca_key: KeyPair,
    ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

/// SHA-256 of `der`, lowercase hex.
pub fn sha256_hex(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 fingerprint of the first certificate in `pem`, as
/// `AB:CD:...` (what `openssl x509 -fingerprint -sha256` prints).
pub fn pem_fingerprint(pem: &str) -> anyhow::Result<String> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("not a PEM certificate: {e}"))?;
    Ok(Sha256::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

fn validity(params: &mut CertificateParams, days: u64) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - Duration::from_secs(3600);
    params.not_after = now + Duration::from_secs(days * 86_400);
}

fn new_ca() -> anyhow::Result<(Certificate, KeyPair)> {
    let key = KeyPair::generate().context("generating the CA key")?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "sdwan controller CA");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, 3650);
    let cert = params.self_signed(&key).context("self-signing the CA")?;
    Ok((cert, key))
}

impl Pki {
    /// Loads the CA from `dir` (creating it on first start) and issues a
    /// server certificate for `names` (DNS names or IP addresses).
    pub fn load_or_create(dir: &Path, names: &[String]) -> anyhow::Result<Pki> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let ca_path = dir.join("ca.pem");
        let key_path = dir.join("ca.key");
        let (ca, ca_key, ca_pem) = if ca_path.exists() {
            let pem = std::fs::read_to_string(&ca_path)
                .with_context(|| format!("reading {}", ca_path.display()))?;
            let key_pem = std::fs::read_to_string(&key_path)
                .with_context(|| format!("reading {}", key_path.display()))?;
            let key = KeyPair::from_pem(&key_pem)
                .with_context(|| format!("{}: not a private key", key_path.display()))?;
            // Re-create the issuer from the stored certificate's subject
            // and key: certificates it signs verify against `ca.pem`.
            let params = CertificateParams::from_ca_cert_pem(&pem)
                .with_context(|| format!("{}: not a CA certificate", ca_path.display()))?;
            let cert = params.self_signed(&key).context("loading the CA")?;
            (cert, key, pem)
        } else {
            let (cert, key) = new_ca()?;
            write_private(&key_path, &key.serialize_pem())?;
            let pem = cert.pem();
            std::fs::write(&ca_path, &pem)
                .with_context(|| format!("writing {}", ca_path.display()))?;
            tracing::info!(ca = %ca_path.display(), "created the controller CA");
            (cert, key, pem)
        };
        let server_key = KeyPair::generate().context("generating the server key")?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "sdwan controller");
        params.distinguished_name = dn;
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n
                    .clone()
                    .try_into()
                    .map(SanType::DnsName)
                    .map_err(|e| anyhow::anyhow!("server name {n:?}: {e}")),
            })
            .collect::<anyhow::Result<_>>()?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        validity(&mut params, 825);
        let server = params
            .signed_by(&server_key, &ca, &ca_key)
            .context("issuing the server certificate")?;
        let server_chain = vec![server.der().clone(), ca.der().clone()];
        let server_key = PrivateKeyDer::try_from(server_key.serialize_der())
            .map_err(|e| anyhow::anyhow!("server key: {e}"))?;
        Ok(Pki {
            ca,
            ca_key,
            ca_pem,
            server_chain,
            server_key,
        })
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Issues a client certificate for `serial` from a PEM CSR (whose
    /// signature proves possession of the key). Only the CSR's public key
    /// is used: subject, SANs and usages are ours. Returns the PEM and the
    /// SHA-256 (hex) of its DER.
    pub fn sign_csr(&self, csr_pem: &str, serial: &str) -> Result<(String, String), String> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| format!("bad CSR: {e}"))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, serial);
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        validity(&mut params, CLIENT_CERT_DAYS);
        csr.params = params;
        let cert = csr
            .signed_by(&self.ca, &self.ca_key)
            .map_err(|e| format!("cannot sign the CSR: {e}"))?;
        Ok((cert.pem(), sha256_hex(cert.der())))
    }

    /// TLS server config: server certificate chain; client certificates
    /// are requested and verified against our CA but optional (operators
    /// use tokens, new edges have none yet); handlers that need one check
    /// for it.
    pub fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(self.ca.der().clone())
            .context("adding the CA to the client verifier")?;
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .allow_unauthenticated()
            .build()
            .context("client certificate verifier")?;
        let cfg = rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())
            .context("server certificate")?;
        Ok(Arc::new(cfg))
    }
}

/// A new key pair and CSR (CN = `serial`) for an edge: (key PEM, CSR PEM).
pub fn new_csr(serial: &str) -> anyhow::Result<(String, String)> {
    let key = KeyPair::generate().context("generating the device key")?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, serial);
    params.distinguished_name = dn;
    let csr = params
        .serialize_request(&key)
        .context("building the CSR")?
        .pem()
        .context("encoding the CSR")?;
    Ok((key.serialize_pem(), csr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_persists_and_signs_csrs_that_verify_against_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = Pki::load_or_create(dir.path(), &["127.0.0.1".into()]).unwrap();
        let b = Pki::load_or_create(dir.path(), &["localhost".into()]).unwrap();
        assert_eq!(a.ca_pem(), b.ca_pem(), "CA kept across restarts");
        let (_key, csr) = new_csr("SN1").unwrap();
        let (pem, fp) = b.sign_csr(&csr, "SN1").unwrap();
        assert_eq!(fp.len(), 64);
        // The certificate signed after "restart" verifies with the first CA.
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(a.ca_pem().as_bytes()).unwrap())
            .unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .unwrap();
        let leaf = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        verifier
            .verify_client_cert(&leaf, &[], rustls::pki_types::UnixTime::now())
            .expect("client cert verifies against the stored CA");
        assert!(b
            .sign_csr("garbage", "SN1")
            .unwrap_err()
            .contains("bad CSR"));
        assert_eq!(pem_fingerprint(a.ca_pem()).unwrap().len(), 95);
    }
}
