use super::*;

fn peer(protocol: Protocol, addr: &str) -> Peer {
    Peer {
        protocol,
        addr: addr.parse().unwrap(),
    }
}

fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Srv {
    Srv {
        priority,
        weight,
        port,
        target: target.to_string(),
    }
}

fn naptr(order: u16, preference: u16, flags: &str, service: &str, to: &str) -> Naptr {
    Naptr {
        order,
        preference,
        flags: flags.into(),
        service: service.into(),
        replacement: to.into(),
    }
}

#[test]
fn plans() {
    use Protocol::*;
    let service = |host: &str, naptr, protocols: Vec<Protocol>| Plan::Service {
        host: host.into(),
        naptr,
        protocols,
    };
    let cases = [
        // Numeric hosts skip DNS, with the default port.
        (
            "sip:1002@127.0.0.1",
            Plan::Direct(peer(Udp, "127.0.0.1:5060")),
        ),
        (
            "sip:[::1]:5070;transport=tcp",
            Plan::Direct(peer(Tcp, "[::1]:5070")),
        ),
        // A port: only A/AAAA.
        (
            "sip:pbx.test:5080",
            Plan::Address {
                host: "pbx.test".into(),
                port: 5080,
                protocol: Udp,
            },
        ),
        // No port, no transport: NAPTR, then SRV of both transports.
        ("sip:PBX.test.", service("pbx.test", true, vec![Udp, Tcp])),
        // An explicit transport skips NAPTR.
        (
            "sip:pbx.test;transport=tcp",
            service("pbx.test", false, vec![Tcp]),
        ),
        (
            "sip:pbx.test;transport=udp",
            service("pbx.test", false, vec![Udp]),
        ),
        ("sips:pbx.test", service("pbx.test", false, vec![Tls])),
        (
            "sip:pbx.test;transport=TLS",
            service("pbx.test", false, vec![Tls]),
        ),
        // TLS without a port: 5061.
        (
            "sips:1002@127.0.0.1",
            Plan::Direct(peer(Tls, "127.0.0.1:5061")),
        ),
        (
            "sip:10.0.0.1:5071;transport=tls",
            Plan::Direct(peer(Tls, "10.0.0.1:5071")),
        ),
    ];
    for (uri, want) in cases {
        assert_eq!(plan(&SipUri::parse(uri).unwrap()), want, "{uri}");
    }
}

#[test]
fn srv_names() {
    assert_eq!(srv_name(Protocol::Udp, "pbx.test"), "_sip._udp.pbx.test");
    assert_eq!(srv_name(Protocol::Tcp, "pbx.test"), "_sip._tcp.pbx.test");
    assert_eq!(srv_name(Protocol::Tls, "pbx.test"), "_sips._tcp.pbx.test");
}

#[test]
fn naptr_by_order_then_preference_and_only_what_we_speak() {
    let records = [
        naptr(20, 10, "S", "SIP+D2U", "_sip._udp.pbx.test."),
        naptr(10, 20, "s", "SIP+D2T", "_sip._tcp.pbx.test"),
        naptr(10, 10, "S", "SIPS+D2T", "_sips._tcp.pbx.test"),
        naptr(5, 5, "U", "SIP+D2U", "!.*!sip:x@y!"),
        naptr(10, 30, "S", "SIP+D2U", "_sip._udp.pbx.test"),
        naptr(30, 10, "S", "SIP+D2U", "_sip._udp.PBX.test"),
    ];
    assert_eq!(
        naptr_order(&records),
        vec![
            (Protocol::Tcp, "_sip._tcp.pbx.test".to_string()),
            (Protocol::Udp, "_sip._udp.pbx.test".to_string()),
        ]
    );
    assert!(naptr_order(&[naptr(1, 1, "S", "SIPS+D2T", "_sips._tcp.x")]).is_empty());
}

#[test]
fn srv_by_priority_first() {
    let records = [
        srv(20, 0, 5062, "sip2.pbx.test."),
        srv(10, 0, 5061, "sip1.pbx.test."),
        srv(30, 5, 5063, "sip3.pbx.test."),
    ];
    let order: Vec<u16> = srv_order(&records, |_| 0).iter().map(|s| s.port).collect();
    assert_eq!(order, vec![5061, 5062, 5063]);
}

#[test]
fn srv_weights_choose_within_a_priority() {
    // Zero weights first, the rest as given: a 0, c 30, b 10, so the
    // running sums are 0, 30, 40.
    let records = [
        srv(10, 30, 3, "c"),
        srv(10, 10, 2, "b"),
        srv(10, 0, 1, "a"),
        srv(20, 1, 9, "z"),
    ];
    // (first pick, the order it leads to, with later picks at 0)
    let cases = [
        (0, vec![1, 3, 2, 9]),
        (1, vec![3, 1, 2, 9]),
        (30, vec![3, 1, 2, 9]),
        (31, vec![2, 1, 3, 9]),
        (40, vec![2, 1, 3, 9]),
        // Out of range is clamped to the total.
        (99, vec![2, 1, 3, 9]),
    ];
    for (first, want) in cases {
        let mut picks = vec![first].into_iter();
        let order: Vec<u16> = srv_order(&records, |_| picks.next().unwrap_or(0))
            .iter()
            .map(|s| s.port)
            .collect();
        assert_eq!(order, want, "first pick {first}");
    }
}

#[test]
fn srv_weights_are_respected_over_many_draws() {
    let records = [srv(10, 90, 1, "heavy"), srv(10, 10, 2, "light")];
    let heavy_first = (0..2000)
        .filter(|_| srv_order(&records, random_pick)[0].port == 1)
        .count();
    assert!((1600..=1990).contains(&heavy_first), "{heavy_first}");
}

#[test]
fn srv_dot_means_no_service_and_all_zero_weights_keep_every_record() {
    assert!(srv_order(&[srv(0, 0, 0, ".")], |_| 0).is_empty());
    let records = [srv(10, 0, 1, "a"), srv(10, 0, 2, "b")];
    assert_eq!(srv_order(&records, |_| 0).len(), 2);
}

#[tokio::test]
async fn numeric_hosts_need_no_name_server() {
    // A name server that is not there: numeric hosts never ask it.
    let resolver = Resolver::new(&["127.0.0.1:9".parse().unwrap()]);
    assert_eq!(
        resolver.resolve("sip:1002@127.0.0.1:5070").await.unwrap(),
        vec![peer(Protocol::Udp, "127.0.0.1:5070")]
    );
    assert!(matches!(
        resolver.resolve("mailto:x").await,
        Err(DnsError::Uri(_))
    ));
}

#[test]
fn the_reason_names_the_host() {
    let e = DnsError::NoRecords {
        host: "pbx.test".into(),
        detail: String::new(),
    };
    assert_eq!(e.to_string(), "DNS: pbx.test: no SRV/A records");
}

#[test]
fn what_moves_to_the_next_target() {
    let cases = [
        (503, false, true),
        (503, true, true),
        (408, false, true),
        (408, true, false),
        (200, false, false),
        (401, true, false),
        (486, true, false),
        (500, true, false),
    ];
    for (code, tagged, want) in cases {
        assert_eq!(should_fail_over(code, tagged), want, "{code} {tagged}");
    }
}
