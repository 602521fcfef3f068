//! Checks an outbound proxy value: a SIP URI `sip:host[:port]` (or `sips:`),
//! optionally with `;params` such as `;transport=tcp` or `;lr`.
//!
//! A config-local check on purpose: `config` is a leaf and does not use
//! `sip`, and a bad value must be reported with the file, line and key while
//! the config is read. It only decides accept or reject, with a message for
//! the user; the SIP layers parse the value again with `sip::uri` (the one
//! URI parser) when they send to it.

use std::net::Ipv6Addr;

/// Returns a description of what is wrong with `uri`, or `Ok(())`.
pub(crate) fn check(uri: &str) -> Result<(), String> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .ok_or_else(|| "it must start with `sip:` or `sips:`".to_string())?;
    let hostport = rest.split(';').next().unwrap_or_default();
    if hostport.contains('@') {
        return Err("a proxy URI has no user part (`sip:host[:port]`)".into());
    }
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| "unclosed `[` in the IPv6 address".to_string())?;
        addr.parse::<Ipv6Addr>()
            .map_err(|_| format!("`{addr}` is not an IPv6 address"))?;
        match after {
            "" => (addr, None),
            p => (
                addr,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("unexpected `{p}` after the address"))?,
                ),
            ),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("the host is missing".into());
    }
    if !hostport.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(format!("`{host}` is not a host name or IP address"));
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => return Err(format!("`{port}` is not a port number (1-65535)")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_host_and_port_forms() {
        for ok in [
            "sip:127.0.0.1:5070",
            "sip:127.0.0.1",
            "sips:pbx.example.org:5061",
            "sip:[::1]:5070",
            "sip:[::1]",
            "sip:pbx.test.local;transport=tcp",
            "sip:10.0.0.1:5060;lr",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "127.0.0.1:5070",
            "sip:",
            "sip:host:0",
            "sip:host:99999",
            "sip:host:port",
            "sip:bob@host",
            "sip:[::1",
            "sip:[zz]:5060",
            "sip:ho st",
            "http://host",
        ] {
            assert!(check(bad).is_err(), "{bad} should be rejected");
        }
    }
}
