//! The office bed most multi-host tests share: a `pbx` host and an
//! `office` host on one LAN (network namespaces of a [`Bed`]), and on the
//! pbx kamailio with baresip 1002 answering with a tone. Also what those
//! tests look for in the SIP we send: the lines that carry an address.

use super::baresip::Baresip;
use super::kamailio::Kamailio;
use super::netns::{Bed, Netns, Place};
use super::TestDir;

/// A bed with the hosts `pbx` and `office` on one LAN at the given
/// addresses (with prefix length). Bind the three in this order, so the
/// hosts go before the bed when the test ends.
pub fn office_lan(pbx_cidr: &str, office_cidr: &str) -> (Bed, Netns, Netns) {
    let mut bed = Bed::new();
    let pbx = bed.host("pbx");
    let office = bed.host("office");
    bed.lan(&[(&pbx, pbx_cidr), (&office, office_cidr)]);
    (bed, pbx, office)
}

/// Kamailio from `kamailio_cfg` on port 5060 at `at_pbx`, and baresip
/// 1002 registered there, answering with `tone` (Hz, seconds).
pub fn pbx_peers(
    t: &TestDir,
    kamailio_cfg: &str,
    at_pbx: &Place,
    tone: (f64, f64),
) -> (Kamailio, Baresip) {
    let k = Kamailio::start_in(&t.sub("kamailio"), kamailio_cfg, Some(5060), at_pbx);
    let b = Baresip::tone_callee_in(&t.sub("baresip-1002"), "1002", k.addr(), tone, at_pbx);
    (k, b)
}

/// The lines of `msg` that carry an address we advertise.
pub fn address_lines(msg: &str) -> Vec<&str> {
    msg.lines()
        .map(str::trim)
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            ["via:", "v:", "contact:", "m:", "c=", "o="]
                .iter()
                .any(|p| lower.starts_with(p))
        })
        .collect()
}
