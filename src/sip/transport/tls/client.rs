//! The TLS client side's settings: which roots a server certificate is
//! checked against (the system's, plus `[sip] tls_ca_file`), which client
//! certificate is shown to which server (`[[account]] tls_cert` /
//! `tls_key`), and how a failed handshake is told to the user
//! ([`describe`], pure). Owns no sockets; [`super::TlsConnections`] uses it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls::{self, CertificateError, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS settings cannot be used; names the file and the cause.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("cannot read {what} {path}: {detail}")]
    File {
        what: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
}

/// A client certificate and its key (PEM files), shown to `host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The server (host name or address, as the account's URIs name it).
    pub host: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// What the TLS client is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// Extra trusted CA certificates (PEM), besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Client certificates by server.
    pub identities: Vec<ClientIdentity>,
}

/// The TLS client configurations: one without a client certificate, and
/// one per server that gets a client certificate. Cheap to clone.
#[derive(Clone)]
pub struct TlsClient {
    plain: TlsConnector,
    by_host: Arc<HashMap<String, TlsConnector>>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("client_certs_for", &self.by_host.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TlsClient {
    /// Checks servers against the system's roots only, no client certificate.
    pub fn system() -> Result<TlsClient, TlsConfigError> {
        Self::new(&TlsSettings::default())
    }

    /// Reads the CA file and client identities of `settings`.
    pub fn new(settings: &TlsSettings) -> Result<TlsClient, TlsConfigError> {
        let roots = Arc::new(roots(settings.ca_file.as_deref())?);
        let plain = TlsConnector::from(Arc::new(builder(roots.clone())?.with_no_client_auth()));
        let mut by_host = HashMap::new();
        for id in &settings.identities {
            let certs = read_certs(&id.cert, "tls_cert")?;
            let key = PrivateKeyDer::from_pem_file(&id.key).map_err(|e| TlsConfigError::File {
                what: "tls_key",
                path: id.key.clone(),
                detail: e.to_string(),
            })?;
            let config = builder(roots.clone())?.with_client_auth_cert(certs, key)?;
            by_host.insert(
                id.host.to_ascii_lowercase(),
                TlsConnector::from(Arc::new(config)),
            );
        }
        Ok(TlsClient {
            plain,
            by_host: Arc::new(by_host),
        })
    }

    /// The connector for a server named `host` (with its client
    /// certificate when one is configured for it).
    pub fn connector(&self, host: &str) -> &TlsConnector {
        self.by_host
            .get(&host.to_ascii_lowercase())
            .unwrap_or(&self.plain)
    }
}

fn builder(
    roots: Arc<RootCertStore>,
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>, TlsConfigError> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots))
}

/// The crypto of our TLS: rustls over *ring*, which builds without cmake
/// or nasm. Its key exchange has no post-quantum group (X25519MLKEM768),
/// which is what rustls' deprecation of this constructor is about.
#[allow(deprecated)]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's roots plus those of `ca_file`.
fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, TlsConfigError> {
    let mut store = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "system CA certificates: partly unreadable");
    }
    let (added, ignored) = store.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "system CA certificates loaded");
    if let Some(path) = ca_file {
        for cert in read_certs(path, "tls_ca_file")? {
            store.add(cert).map_err(|e| TlsConfigError::File {
                what: "tls_ca_file",
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        }
    }
    Ok(store)
}

fn read_certs(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let err = |detail: String| TlsConfigError::File {
        what,
        path: path.to_path_buf(),
        detail,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// The reason a handshake with `server` failed, as an account's status
/// shows it: the cause in words (unknown CA, host name mismatch, expired),
/// then the library's own text.
pub fn describe(error: &rustls::Error, server: &str) -> String {
    use CertificateError as C;
    let cause = match error {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => format!("certificate of {server} not trusted: unknown CA"),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("certificate is not valid for {server}: host name mismatch")
            }
            C::Expired | C::ExpiredContext { .. } => {
                format!("certificate of {server} expired")
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                format!("certificate of {server} not valid yet")
            }
            C::Revoked => format!("certificate of {server} revoked"),
            _ => format!("bad certificate of {server}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("{server} refused the handshake ({alert:?})")
        }
        _ => format!("handshake with {server} failed"),
    };
    format!("{cause} ({error})")
}
