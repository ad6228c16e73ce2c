//! TUF's `expires`: `YYYY-MM-DDTHH:MM:SSZ` (UTC, no fractions), to and from
//! seconds since 1970. The library never reads the clock: "now" is always
//! the caller's.

/// `seconds` since 1970 as `2030-01-01T00:00:00Z`.
pub fn format(seconds: u64) -> String {
    kiln_provenance::check::rfc3339(seconds)
}

/// The seconds since 1970 of an `expires` value, or None if it is not of
/// the form `YYYY-MM-DDTHH:MM:SSZ` with a valid date at or after 1970.
pub fn parse(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if mo > 2 { mo - 3 } else { mo + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + s).ok()
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_malformed_dates() {
        for s in [0, 951_782_400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse(&format(s)), Some(s), "{}", format(s));
        }
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in [
            "2001-02-29T00:00:00Z",
            "2000-01-01T00:00:00",
            "2000-01-01 00:00:00Z",
            "2000-13-01T00:00:00Z",
            "+000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
