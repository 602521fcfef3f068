//! Digest tests: RFC 2617 and RFC 7616 example responses, the -sess and
//! legacy forms, and `DigestState::authorize` on whole requests.

use super::*;
use crate::sip::headers;

fn qop(nc: &str, cnonce: &str) -> QopParams {
    QopParams {
        qop: "auth",
        nc: nc.into(),
        cnonce: cnonce.into(),
    }
}

#[test]
fn rfc2617_example() {
    let r = digest_response(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
        "GET",
        "/dir/index.html",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        Some(&qop("00000001", "0a4f113b")),
    );
    assert_eq!(r, "6629fae49393a05397450978507c4ef1");
}

#[test]
fn rfc7616_examples() {
    let q = qop("00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
    let args = (
        "Mufasa",
        "http-auth@example.org",
        "Circle of Life",
        "GET",
        "/dir/index.html",
        "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    );
    let sha = digest_response(
        Algorithm::Sha256,
        args.0,
        args.1,
        args.2,
        args.3,
        args.4,
        args.5,
        Some(&q),
    );
    assert_eq!(
        sha,
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
    let md5 = digest_response(
        Algorithm::Md5,
        args.0,
        args.1,
        args.2,
        args.3,
        args.4,
        args.5,
        Some(&q),
    );
    assert_eq!(md5, "8ca523f5e9506fed4657c9700eebdbec");
}

#[test]
fn legacy_and_sess_forms() {
    // Values computed independently (Python hashlib).
    let legacy = digest_response(
        Algorithm::Md5,
        "alice",
        "test.local",
        "pw1001",
        "REGISTER",
        "sip:test.local",
        "abc",
        None,
    );
    assert_eq!(legacy, "6b7b142ddb617dc095d829a7c06167a1");
    let sess = digest_response(
        Algorithm::Sha256Sess,
        "alice",
        "r",
        "pw",
        "INVITE",
        "sip:bob@r",
        "n",
        Some(&qop("00000001", "cn")),
    );
    assert_eq!(
        sess,
        "072d0d06a0e3dfdaca74d00ac34c6f64f0d144dd2fa1bd8ad14d17d7d0469129"
    );
}

fn register() -> Request {
    Request::try_from(
        "REGISTER sip:test.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bKfirst\r\n\
         From: <sip:1001@test.local>;tag=f\r\n\
         To: <sip:1001@test.local>\r\n\
         Call-ID: reg-1\r\n\
         CSeq: 5 REGISTER\r\n\
         Contact: <sip:1001@127.0.0.1:5070>\r\n\
         Content-Length: 0\r\n\r\n",
    )
    .unwrap()
}

fn challenge(status: u16, name: &str, values: &[&str]) -> Response {
    let mut text = format!(
        "SIP/2.0 {status} Challenge\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;branch=z9hG4bKfirst\r\n\
         From: <sip:1001@test.local>;tag=f\r\n\
         To: <sip:1001@test.local>;tag=srv\r\n\
         Call-ID: reg-1\r\n\
         CSeq: 5 REGISTER\r\n"
    );
    for v in values {
        text.push_str(&format!("{name}: {v}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    Response::try_from(text.as_str()).unwrap()
}

fn creds() -> Credentials {
    Credentials {
        user: "1001".into(),
        password: "pw1001".into(),
        scope: Default::default(),
    }
}

fn auth_values(r: &Request, proxy: bool) -> Vec<String> {
    r.headers
        .iter()
        .filter_map(|h| match h {
            Header::Authorization(v) if !proxy => Some(v.value().to_string()),
            Header::ProxyAuthorization(v) if proxy => Some(v.value().to_string()),
            _ => None,
        })
        .collect()
}

/// Pulls `name=value` (quoted or not) out of a credentials value.
fn param(v: &str, name: &str) -> String {
    let start = v.find(&format!("{name}=")).unwrap() + name.len() + 1;
    let rest = &v[start..];
    if let Some(rest) = rest.strip_prefix('"') {
        rest[..rest.find('"').unwrap()].to_string()
    } else {
        rest.split(',').next().unwrap().trim().to_string()
    }
}

#[test]
fn authorize_prefers_sha256_and_counts_nonces() {
    let mut state = DigestState::default();
    let ch = challenge(
        401,
        "WWW-Authenticate",
        &[
            r#"Digest realm="test.local", nonce="n1", qop="auth", algorithm=MD5"#,
            r#"Digest realm="test.local", nonce="n2", qop="auth", algorithm=SHA-256, opaque="op""#,
        ],
    );
    let req = register();
    let out = state.authorize(&req, &ch, &creds()).unwrap();
    let values = auth_values(&out, false);
    assert_eq!(values.len(), 1);
    let v = &values[0];
    assert_eq!(param(v, "algorithm"), "SHA-256");
    assert_eq!(param(v, "nonce"), "n2");
    assert_eq!(param(v, "nc"), "00000001");
    assert_eq!(param(v, "opaque"), "op");
    assert_eq!(param(v, "uri"), "sip:test.local");
    assert_eq!(param(v, "username"), "1001");
    let expected = digest_response(
        Algorithm::Sha256,
        "1001",
        "test.local",
        "pw1001",
        "REGISTER",
        "sip:test.local",
        "n2",
        Some(&qop("00000001", &param(v, "cnonce"))),
    );
    assert_eq!(param(v, "response"), expected);
    assert!(!v.contains("pw1001"));
    // CSeq + 1, new branch, everything else kept.
    assert_eq!(headers::cseq(&out).unwrap().0, 6);
    let branch = headers::via_branch(&headers::top_via(&out).unwrap()).unwrap();
    assert!(branch.starts_with("z9hG4bK") && branch != "z9hG4bKfirst");
    assert_eq!(headers::call_id(&out).unwrap(), "reg-1");

    // The same nonce again: nc 2, and the old credentials are replaced.
    let again = state.authorize(&out, &ch, &creds()).unwrap();
    let values = auth_values(&again, false);
    assert_eq!(values.len(), 1);
    assert_eq!(param(&values[0], "nc"), "00000002");
    assert_eq!(headers::cseq(&again).unwrap().0, 7);
}

#[test]
fn proxy_challenge_and_legacy_md5() {
    let mut state = DigestState::default();
    let ch = challenge(
        407,
        "Proxy-Authenticate",
        &[r#"Digest realm="proxy", nonce="abc""#],
    );
    let out = state.authorize(&register(), &ch, &creds()).unwrap();
    assert!(auth_values(&out, false).is_empty());
    let v = &auth_values(&out, true)[0];
    assert_eq!(param(v, "algorithm"), "MD5");
    assert!(!v.contains("qop") && !v.contains("cnonce") && !v.contains("nc="));
    let expected = digest_response(
        Algorithm::Md5,
        "1001",
        "proxy",
        "pw1001",
        "REGISTER",
        "sip:test.local",
        "abc",
        None,
    );
    assert_eq!(param(v, "response"), expected);
}

#[test]
fn unanswerable_challenges_are_clear_errors() {
    let mut state = DigestState::default();
    let ch = challenge(
        401,
        "WWW-Authenticate",
        &[r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#],
    );
    let err = state.authorize(&register(), &ch, &creds()).unwrap_err();
    assert!(
        matches!(&err, SipError::Auth(m) if m.contains("SHA-512-256")),
        "{err}"
    );
    let ch = challenge(
        401,
        "WWW-Authenticate",
        &[r#"Digest realm="r", nonce="n", qop="auth-int""#],
    );
    let err = state.authorize(&register(), &ch, &creds()).unwrap_err();
    assert!(
        matches!(&err, SipError::Auth(m) if m.contains("auth-int")),
        "{err}"
    );
    let ch = challenge(401, "WWW-Authenticate", &[]);
    assert!(matches!(
        state.authorize(&register(), &ch, &creds()),
        Err(SipError::Auth(_))
    ));
    let ok = challenge(200, "X", &[]);
    assert!(matches!(
        state.authorize(&register(), &ok, &creds()),
        Err(SipError::Auth(_))
    ));
}

#[test]
fn debug_never_shows_the_password() {
    let text = format!("{:?}", creds());
    assert!(!text.contains("pw1001"));
}
