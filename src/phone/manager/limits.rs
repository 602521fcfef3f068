//! Turns the `[sip]` limit keys into the SIP layer's connection and
//! transaction limits. Pure mapping; owns no state.

use crate::config::SipLimits;
use crate::sip::transaction::ServerLimits;
use crate::sip::transport::ConnLimits;
use std::time::Duration;

pub(super) fn sip_limits(config: &SipLimits) -> (ConnLimits, ServerLimits) {
    (
        ConnLimits {
            max_total: config.tcp_max_connections,
            max_per_source: config.tcp_max_connections_per_source,
            idle_timeout: Duration::from_secs(config.tcp_idle_timeout_s),
            read_timeout: Duration::from_secs(config.tcp_read_timeout_s),
        },
        ServerLimits {
            max_live: config.max_transactions,
            per_source_per_s: config.max_requests_per_source,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_are_the_sip_layers_defaults() {
        let (conn, server) = sip_limits(&SipLimits::default());
        assert_eq!(conn, ConnLimits::default());
        assert_eq!(server, ServerLimits::default());
    }
}
