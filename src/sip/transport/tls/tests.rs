use super::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::rustls::{self, CertificateError};
use tokio_rustls::TlsAcceptor;

/// A CA, and a server certificate of it for `names`, written as PEM files
/// into `dir`: (ca.pem, server.pem, server.key).
fn pki(dir: &std::path::Path, names: &[&str]) -> (std::path::PathBuf, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    (ca_file, cert.pem(), key.serialize_pem())
}

/// A TLS server on loopback with `cert`/`key`: every connection's first
/// SIP message is sent to the returned channel, then it sends `then` on
/// that connection. Counts accepted TCP connections.
async fn server(
    cert: &str,
    key: &str,
    then: &'static [u8],
) -> (SocketAddr, mpsc::UnboundedReceiver<String>, Arc<AtomicU64>) {
    let certs = vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(client::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let accepted = Arc::new(AtomicU64::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&got).into_owned());
                let _ = tls.write_all(then).await;
                let _ = tls.flush().await;
                // Hold the connection open until the client goes.
                let _ = tls.read(&mut buf).await;
            });
        }
    });
    (addr, rx, accepted)
}

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const OPTIONS: &[u8] = b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5060;branch=z9hG4bKa\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
const NOTIFY: &[u8] = b"NOTIFY sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKb\r\nFrom: <sip:x@127.0.0.1>;tag=2\r\nTo: <sip:a@127.0.0.1>;tag=1\r\nCall-ID: c2\r\nCSeq: 1 NOTIFY\r\nMax-Forwards: 70\r\nEvent: dialog\r\nContent-Length: 0\r\n\r\n";

fn connections(
    settings: &TlsSettings,
) -> (
    TlsConnections,
    mpsc::UnboundedReceiver<Inbound>,
    CancellationToken,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let token = CancellationToken::new();
    let client = TlsClient::new(settings).unwrap();
    (
        TlsConnections::new(Some(client), tx, token.clone()),
        rx,
        token,
    )
}

#[test]
fn retry_waits_double_up_to_a_minute() {
    let secs: Vec<u64> = (1..=9).map(|n| retry_after(n).as_secs()).collect();
    assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    assert_eq!(retry_after(0), Duration::from_secs(1));
    assert_eq!(retry_after(u32::MAX), Duration::from_secs(60));
}

#[test]
fn handshake_failures_name_their_cause() {
    use rustls::Error as E;
    let cert = |c| E::InvalidCertificate(c);
    let cases = [
        (cert(CertificateError::UnknownIssuer), "unknown CA"),
        (
            cert(CertificateError::NotValidForName),
            "host name mismatch",
        ),
        (cert(CertificateError::Expired), "expired"),
        (cert(CertificateError::NotValidYet), "not valid yet"),
        (cert(CertificateError::Revoked), "revoked"),
        (cert(CertificateError::BadSignature), "bad certificate"),
        (
            E::AlertReceived(rustls::AlertDescription::HandshakeFailure),
            "refused the handshake",
        ),
        (E::HandshakeNotComplete, "handshake with pbx.test failed"),
    ];
    for (error, words) in cases {
        let text = describe(&error, "pbx.test");
        assert!(text.contains(words), "{error:?}: {text}");
        assert!(text.contains("pbx.test"), "{text}");
    }
}

#[tokio::test]
async fn requests_and_the_servers_requests_share_one_verified_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = pki(dir.path(), &["pbx.test", "127.0.0.1"]);
    let (addr, mut got, accepted) = server(&cert, &key, NOTIFY).await;
    let settings = TlsSettings {
        ca_file: Some(ca),
        identities: Vec::new(),
    };
    let (tls, mut inbound, token) = connections(&settings);
    tls.names().insert(addr, "PBX.test");
    // Two sends at once: one handshake, one connection.
    let (one, two) = tokio::join!(tls.send(OPTIONS, addr), tls.send(OPTIONS, addr));
    one.unwrap();
    two.unwrap();
    let first = got.recv().await.unwrap();
    assert!(first.starts_with("OPTIONS sip:x@127.0.0.1"), "{first}");
    let back = tokio::time::timeout(Duration::from_secs(5), inbound.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.peer.protocol, Protocol::Tls);
    assert_eq!(back.peer.addr, addr);
    assert!(back.message.start_line().starts_with("NOTIFY"));
    assert!(tls.is_connected(addr));
    tls.send(OPTIONS, addr).await.unwrap();
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "the connection is reused"
    );
    assert_eq!(tls.failure(addr), None);
    token.cancel();
}

#[tokio::test]
async fn an_unknown_ca_fails_with_the_reason_and_backs_off() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = pki(dir.path(), &["127.0.0.1"]);
    let (addr, mut got, accepted) = server(&cert, &key, b"").await;
    let (tls, _inbound, token) = connections(&TlsSettings::default());
    let err = tls.send(OPTIONS, addr).await.unwrap_err();
    assert!(
        matches!(&err, SipError::Tls(r) if r.contains("unknown CA")),
        "{err}"
    );
    assert!(tls.failure(addr).unwrap().contains("unknown CA"));
    // Within the back-off no new attempt is made: the same reason at once.
    let again = tls.send(OPTIONS, addr).await.unwrap_err();
    assert!(again.to_string().contains("unknown CA"), "{again}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    assert!(got.try_recv().is_err(), "nothing was sent in clear");
    assert!(!tls.is_connected(addr));
    token.cancel();
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = pki(dir.path(), &["pbx.test"]);
    let (addr, mut got, _) = server(&cert, &key, b"").await;
    let settings = TlsSettings {
        ca_file: Some(ca),
        identities: Vec::new(),
    };
    let (tls, _inbound, token) = connections(&settings);
    tls.names().insert(addr, "other.test");
    let err = tls.send(OPTIONS, addr).await.unwrap_err().to_string();
    assert!(
        err.contains("host name mismatch") && err.contains("other.test"),
        "{err}"
    );
    assert!(got.try_recv().is_err());
    token.cancel();
}

#[test]
fn unreadable_settings_name_the_file() {
    let settings = TlsSettings {
        ca_file: Some("/nonexistent/ca.pem".into()),
        identities: Vec::new(),
    };
    let err = TlsClient::new(&settings).unwrap_err().to_string();
    assert!(
        err.contains("tls_ca_file") && err.contains("/nonexistent/ca.pem"),
        "{err}"
    );
}

#[tokio::test]
async fn without_settings_the_system_roots_are_read_at_the_first_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = pki(dir.path(), &["127.0.0.1"]);
    let (addr, _got, _) = server(&cert, &key, b"").await;
    let (tx, _rx) = mpsc::unbounded_channel();
    let token = CancellationToken::new();
    let tls = TlsConnections::new(None, tx, token.clone());
    assert!(tls.client.get().is_none(), "read before any connection");
    let err = tls.send(OPTIONS, addr).await.unwrap_err().to_string();
    assert!(err.contains("unknown CA"), "{err}");
    assert!(matches!(tls.client.get(), Some(Ok(_))));
    token.cancel();
}
