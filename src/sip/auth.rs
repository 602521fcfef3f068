//! HTTP digest authentication for SIP (RFC 2617, RFC 8760): challenge
//! parsing, MD5 / SHA-256 (and -sess), qop=auth with nc/cnonce, and adding
//! Authorization / Proxy-Authorization to a request, only where the
//! credentials' [`AuthScope`] lets them go (`scope.rs`). Pure, no IO.
//! Passwords are never logged nor shown by `Debug`.

mod challenge;
mod scope;

pub use challenge::{parse_challenges, Algorithm, Challenge};
pub use scope::{check as check_scope, request_target, AuthHost, AuthScope, OutOfScope};

use super::headers;
use super::msg::{self, Header, HeadersExt, Request, Response, StatusCode};
use super::{Result, SipError};
use md5::Md5;
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// User name and password for one account, and where they may go.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
    /// The account's realms and hosts ([`AuthScope::default`]: anywhere,
    /// the first realm pinned).
    pub scope: AuthScope,
}

impl Drop for Credentials {
    /// The password does not outlive the credentials in memory.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: <redacted>, scope: {:?} }}",
            self.user, self.scope
        )
    }
}

/// Remembers nonce counts per nonce across requests of one account.
#[derive(Debug, Default)]
pub struct DigestState {
    nonce_counts: HashMap<String, u32>,
    /// The realms answered so far (when no realm is configured, the first
    /// one answered is the only one answered after it).
    realms: Vec<String>,
}

impl DigestState {
    /// Given a request that got `challenge` (401 or 407), returns the request
    /// to send again: Authorization (401) or Proxy-Authorization (407) added
    /// for every challenge, CSeq incremented, a new Via branch.
    /// Errors when the challenge cannot be answered (unknown algorithm, ...)
    /// or must not be: a realm or a host outside the credentials' scope.
    pub fn authorize(
        &mut self,
        request: &Request,
        challenge: &Response,
        creds: &Credentials,
    ) -> Result<Request> {
        let proxy = match challenge.status_code {
            StatusCode::Unauthorized => false,
            StatusCode::ProxyAuthenticationRequired => true,
            ref other => {
                return Err(SipError::Auth(format!(
                    "{} {} is not a challenge",
                    other.code(),
                    other.text()
                )))
            }
        };
        let offered: Vec<Challenge> = challenge
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::WwwAuthenticate(v) if !proxy => Some(v.value()),
                Header::ProxyAuthenticate(v) if proxy => Some(v.value()),
                _ => None,
            })
            .flat_map(parse_challenges)
            .collect();
        if offered.is_empty() {
            return Err(SipError::Auth(format!(
                "{} without a digest challenge",
                challenge.status_code.code()
            )));
        }
        let chosen = choose(&offered)?;
        let realms: Vec<&str> = chosen.iter().map(|(c, _, _)| c.realm.as_str()).collect();
        let first_route = headers::header(&request.headers, "Route");
        let target = request_target(first_route, &request.uri.to_string());
        match check_scope(&creds.scope, &self.realms, target.as_ref(), &realms) {
            Ok(pinned) => self.realms = pinned,
            Err(e) => {
                tracing::warn!(user = %creds.user, "digest challenge not answered: {e}");
                return Err(SipError::Auth(e.to_string()));
            }
        }

        let mut out = request.clone();
        out.headers.retain(|h| {
            let value = match h {
                Header::Authorization(v) if !proxy => v.value(),
                Header::ProxyAuthorization(v) if proxy => v.value(),
                _ => return true,
            };
            !challenge::realm_of(value).is_some_and(|r| realms.contains(&r.as_str()))
        });
        let uri = request.uri.to_string();
        let method = request.method.to_string();
        for (c, algorithm, qop) in &chosen {
            let qop = match qop {
                Some(qop) => {
                    let nc = self.nonce_counts.entry(c.nonce.clone()).or_insert(0);
                    *nc += 1;
                    Some(QopParams {
                        qop,
                        nc: format!("{:08x}", *nc),
                        cnonce: Alphanumeric.sample_string(&mut rand::rng(), 16),
                    })
                }
                None => None,
            };
            let response = digest_response(
                *algorithm,
                &creds.user,
                &c.realm,
                &creds.password,
                &method,
                &uri,
                &c.nonce,
                qop.as_ref(),
            );
            let value =
                credentials_value(c, *algorithm, &creds.user, &uri, &response, qop.as_ref());
            out.headers.push(if proxy {
                Header::ProxyAuthorization(msg::ProxyAuthorization::new(value))
            } else {
                Header::Authorization(msg::Authorization::new(value))
            });
        }

        let (seq, method) = headers::cseq(request)?;
        let next = format!("{} {method}", seq.wrapping_add(1));
        if let Ok(h) = out.cseq_header_mut() {
            h.replace(next);
        }
        let via =
            headers::top_via(&out)?.with_branch(msg::param::Branch::new(headers::new_branch()));
        headers::set_top_via(&mut out, &via)?;
        tracing::debug!(
            user = %creds.user,
            realms = ?realms,
            proxy,
            "answering digest challenge"
        );
        Ok(out)
    }
}

/// For each realm, the best challenge we can answer (SHA-256 preferred).
fn choose(offered: &[Challenge]) -> Result<Vec<(&Challenge, Algorithm, Option<&'static str>)>> {
    let mut best: Vec<(&Challenge, Algorithm, Option<&'static str>)> = Vec::new();
    let mut first_error = None;
    for c in offered {
        let usable = c.algorithm().and_then(|a| c.qop().map(|q| (a, q)));
        let (algorithm, qop) = match usable {
            Ok(v) => v,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        match best.iter_mut().find(|(b, _, _)| b.realm == c.realm) {
            Some(slot) if algorithm.rank() < slot.1.rank() => *slot = (c, algorithm, qop),
            Some(_) => {}
            None => best.push((c, algorithm, qop)),
        }
    }
    if best.is_empty() {
        return Err(
            first_error.unwrap_or_else(|| SipError::Auth("no usable digest challenge".into()))
        );
    }
    Ok(best)
}

/// The qop part of a digest computation.
#[derive(Debug, Clone)]
pub struct QopParams {
    pub qop: &'static str,
    /// Eight hex digits.
    pub nc: String,
    pub cnonce: String,
}

fn hash(algorithm: Algorithm, data: &str) -> String {
    let bytes: Vec<u8> = match algorithm {
        Algorithm::Md5 | Algorithm::Md5Sess => Md5::digest(data.as_bytes()).to_vec(),
        Algorithm::Sha256 | Algorithm::Sha256Sess => Sha256::digest(data.as_bytes()).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `response` value (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1).
#[allow(clippy::too_many_arguments)]
pub fn digest_response(
    algorithm: Algorithm,
    user: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<&QopParams>,
) -> String {
    let mut ha1 = hash(algorithm, &format!("{user}:{realm}:{password}"));
    if algorithm.is_sess() {
        let cnonce = qop.map(|q| q.cnonce.as_str()).unwrap_or("");
        ha1 = hash(algorithm, &format!("{ha1}:{nonce}:{cnonce}"));
    }
    let ha2 = hash(algorithm, &format!("{method}:{uri}"));
    match qop {
        Some(q) => hash(
            algorithm,
            &format!("{ha1}:{nonce}:{}:{}:{}:{ha2}", q.nc, q.cnonce, q.qop),
        ),
        None => hash(algorithm, &format!("{ha1}:{nonce}:{ha2}")),
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn credentials_value(
    c: &Challenge,
    algorithm: Algorithm,
    user: &str,
    uri: &str,
    response: &str,
    qop: Option<&QopParams>,
) -> String {
    let mut v = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
        quote(user),
        quote(&c.realm),
        quote(&c.nonce),
        quote(uri),
        quote(response),
        algorithm.as_str()
    );
    if let Some(q) = qop {
        v.push_str(&format!(
            ", cnonce={}, nc={}, qop={}",
            quote(&q.cnonce),
            q.nc,
            q.qop
        ));
    }
    if let Some(opaque) = &c.opaque {
        v.push_str(&format!(", opaque={}", quote(opaque)));
    }
    v
}

#[cfg(test)]
mod tests;
