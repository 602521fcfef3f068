//! Time helpers for the views: RFC 3339 UTC stamps of the phone
//! (`2026-11-25T13:15:02Z`) to Unix seconds, durations and clock times.

/// Unix seconds of `YYYY-MM-DDTHH:MM:SS[.fff]Z`; None when malformed.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// `m:ss` or `h:mm:ss`.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// `HH:MM:SS.mmm` (UTC) of milliseconds since the epoch.
pub fn clock_ms(ms: u64) -> String {
    let day_ms = ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_phone_stamps() {
        // Stamps as the phone writes them (`YYYY-MM-DDTHH:MM:SSZ`, the
        // format `store::time` pins in its own test).
        for (stamp, secs) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T00:00:00Z", 951_782_400),
            ("2024-02-29T23:59:59Z", 1_709_251_199),
            ("2026-11-18T11:06:40Z", 1_795_000_000),
            ("2100-01-01T00:00:00Z", 4_102_444_800),
        ] {
            assert_eq!(parse_rfc3339(stamp), Some(secs), "{stamp}");
        }
        assert_eq!(
            parse_rfc3339("2026-11-25T13:15:02.250Z"),
            parse_rfc3339("2026-11-25T13:15:02Z")
        );
        assert_eq!(parse_rfc3339("garbage"), None);
        assert_eq!(parse_rfc3339("2026-13-25T13:15:02Z"), None);
    }

    #[test]
    fn formats() {
        assert_eq!(duration(5), "0:05");
        assert_eq!(duration(3725), "1:02:05");
        assert_eq!(duration(-3), "0:00");
        assert_eq!(clock_ms(86_400_000 + 3_723_004), "01:02:03.004");
    }
}
