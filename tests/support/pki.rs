//! A test's own certificate authority (rcgen): a CA certificate and server
//! certificates it signs, written as PEM files for kamailio's TLS module and
//! for termphone's `[sip] tls_ca_file`.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use std::path::{Path, PathBuf};

/// A CA with its certificate in `<dir>/<name>-ca.pem`.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pub ca_file: PathBuf,
}

/// A server certificate and key written to files.
pub struct ServerCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    pub fn new(dir: &Path, name: &str) -> TestCa {
        std::fs::create_dir_all(dir).expect("pki dir");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("termphone test CA {name}"),
        );
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let ca_file = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&ca_file, issuer.pem()).expect("write CA");
        TestCa { issuer, ca_file }
    }

    /// A certificate for `names` (host names or IP addresses), signed by
    /// this CA, in `<dir>/<file>.pem` and `<dir>/<file>.key`.
    pub fn server(&self, dir: &Path, file: &str, names: &[&str]) -> ServerCert {
        let key = KeyPair::generate().expect("server key");
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let cert = CertificateParams::new(names)
            .expect("server params")
            .signed_by(&key, &self.issuer)
            .expect("server certificate");
        let out = ServerCert {
            cert: dir.join(format!("{file}.pem")),
            key: dir.join(format!("{file}.key")),
        };
        std::fs::write(&out.cert, cert.pem()).expect("write cert");
        std::fs::write(&out.key, key.serialize_pem()).expect("write key");
        out
    }
}
