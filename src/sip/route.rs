//! The outbound proxy as a loose route (RFC 3261 §8.1.2, §16.12): a
//! configured proxy goes into a `Route: <proxy;lr>` header and the
//! Request-URI stays the target. A proxy URI without `;lr` gets it: strict
//! routers (RFC 2543, which rewrite the Request-URI) are not supported.
//! Pure: it builds the header value and adds it; where requests are sent
//! (the proxy's address) is the caller's.

use super::headers::add_header;
use super::msg::Headers;

/// The `Route` value for an outbound proxy URI (`sip:host[:port][;params]`):
/// in angle brackets, with `;lr` added when the URI does not have it.
pub fn proxy_route(proxy: &str) -> String {
    let uri = proxy.trim().trim_start_matches('<').trim_end_matches('>');
    let has_lr = uri.split(';').skip(1).any(|p| {
        p.split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("lr"))
    });
    if has_lr {
        format!("<{uri}>")
    } else {
        format!("<{uri};lr>")
    }
}

/// Adds the proxy's `Route` to a request outside any dialog (nothing without a proxy).
pub fn add_proxy_route(headers: &mut Headers, proxy: Option<&str>) {
    if let Some(p) = proxy {
        add_header(headers, "Route", proxy_route(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::headers::headers_all;

    #[test]
    fn the_route_is_the_proxy_with_lr() {
        let cases = [
            ("sip:127.0.0.1:5070", "<sip:127.0.0.1:5070;lr>"),
            ("sip:127.0.0.1:5070;lr", "<sip:127.0.0.1:5070;lr>"),
            ("sip:pbx.test;LR", "<sip:pbx.test;LR>"),
            ("sip:pbx.test;lr=on", "<sip:pbx.test;lr=on>"),
            (
                "sip:pbx.test;transport=tcp",
                "<sip:pbx.test;transport=tcp;lr>",
            ),
            ("sips:[2001:db8::1]:5061", "<sips:[2001:db8::1]:5061;lr>"),
            ("<sip:pbx.test>", "<sip:pbx.test;lr>"),
            ("sip:lrhost.test", "<sip:lrhost.test;lr>"),
        ];
        for (proxy, want) in cases {
            assert_eq!(proxy_route(proxy), want, "{proxy}");
        }
    }

    #[test]
    fn added_only_with_a_proxy() {
        let mut h = Headers::default();
        add_proxy_route(&mut h, None);
        assert!(headers_all(&h, "Route").is_empty());
        add_proxy_route(&mut h, Some("sip:127.0.0.1:5070"));
        assert_eq!(headers_all(&h, "Route"), ["<sip:127.0.0.1:5070;lr>"]);
    }
}
