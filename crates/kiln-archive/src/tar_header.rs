//! The fields of one tar header block and the records of a pax extended
//! header, parsed without trusting them: numbers in octal or GNU base-256
//! (a negative or overflowing one is refused), the header checksum as
//! signed and unsigned sums, and pax records `"%d %s=%s\n"` checked
//! record by record against the per-record and per-archive bounds before
//! any is copied out. `tar_read.rs` walks the archive with these.

use crate::error::Ctx;
use crate::tar_write::BLOCK;
use crate::{ArchiveError, Limits, PAX_RECORD_COST};

/// Bytes up to the first NUL.
pub(crate) fn cstr(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// Octal (space/NUL padded) or GNU base-256 numeric field.
pub(crate) fn parse_number(field: &[u8]) -> Option<u64> {
    let first = *field.first()?;
    if first & 0x80 != 0 {
        if first == 0xff {
            return None; // negative
        }
        let mut v: u64 = u64::from(first & 0x7f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let s = cstr(field);
    let s = s
        .iter()
        .position(|&b| b != b' ')
        .map_or(&s[s.len()..], |i| &s[i..]);
    let end = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
    let (digits, rest) = s.split_at(end);
    if rest.iter().any(|&b| b != b' ') {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

pub(crate) fn check_checksum(h: &[u8; BLOCK]) -> Result<(), String> {
    let stored = parse_number(&h[148..156]).ok_or("bad checksum field")?;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    if stored == unsigned || i64::try_from(stored).ok() == Some(signed) {
        Ok(())
    } else {
        Err(format!(
            "bad header checksum (stored {stored:o}, computed {unsigned:o})"
        ))
    }
}

/// Why a pax header's records were not taken.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PaxError {
    Malformed(&'static str),
    /// One record over `max_pax_record`: its key (lossy, cut) and length.
    RecordTooLarge {
        key: String,
        len: u64,
    },
    /// The records kept for the archive would pass `max_pax_total`; the
    /// member the header is for, when a `path` record already said.
    OverBudget {
        kept: u64,
        path: Option<String>,
    },
}

impl PaxError {
    pub(crate) fn into_error(self, ctx: Ctx<'_>, limits: &Limits, label: &str) -> ArchiveError {
        match self {
            Self::Malformed(reason) => ctx.malformed(label, reason),
            Self::RecordTooLarge { key, len } => ctx.limit(
                format!("{label} record {key:?}"),
                "pax record size",
                len,
                limits.max_pax_record,
            ),
            Self::OverBudget { kept, path } => ctx.limit(
                match path {
                    Some(p) => format!("{label} for member {p:?}"),
                    None => label.to_owned(),
                },
                "pax bytes kept for the archive",
                kept,
                limits.max_pax_total,
            ),
        }
    }
}

/// pax records: "%d %s=%s\n", length self-inclusive. Each record is at
/// most `max_pax_record` bytes, and `kept` (the archive's running total,
/// each record charged `PAX_RECORD_COST` more) may not pass
/// `max_pax_total`: checked before each record is copied out.
pub(crate) fn parse_pax(
    mut body: &[u8],
    limits: &Limits,
    kept: &mut u64,
) -> Result<Vec<(String, Vec<u8>)>, PaxError> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    // Some writers pad the body with NULs.
    while let Some(&first) = body.first() {
        if first == 0 && body.iter().all(|&b| b == 0) {
            break;
        }
        let sp = body
            .iter()
            .take(20)
            .position(|&b| b == b' ')
            .ok_or(PaxError::Malformed("pax record without a length"))?;
        let len: usize = std::str::from_utf8(&body[..sp])
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or(PaxError::Malformed("bad pax record length"))?;
        if len <= sp + 1 || len > body.len() || body[len - 1] != b'\n' {
            return Err(PaxError::Malformed("bad pax record length"));
        }
        let rec = &body[sp + 1..len - 1];
        let eq = rec
            .iter()
            .position(|&b| b == b'=')
            .ok_or(PaxError::Malformed("pax record without `=`"))?;
        let key = std::str::from_utf8(&rec[..eq])
            .map_err(|_| PaxError::Malformed("pax key is not UTF-8"))?;
        if key.is_empty() {
            return Err(PaxError::Malformed("empty pax key"));
        }
        if len as u64 > limits.max_pax_record {
            return Err(PaxError::RecordTooLarge {
                key: key.chars().take(64).collect(),
                len: len as u64,
            });
        }
        *kept = kept
            .saturating_add(len as u64)
            .saturating_add(PAX_RECORD_COST);
        if *kept > limits.max_pax_total {
            let path = out
                .iter()
                .rev()
                .find(|(k, _)| k == "path")
                .map(|(_, v)| String::from_utf8_lossy(v).chars().take(256).collect());
            return Err(PaxError::OverBudget { kept: *kept, path });
        }
        out.push((key.to_owned(), rec[eq + 1..].to_vec()));
        body = &body[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b"0000644\0"), Some(0o644));
        assert_eq!(parse_number(b"   644 \0"), Some(0o644));
        assert_eq!(parse_number(b"\0\0\0\0"), Some(0));
        assert_eq!(parse_number(&[0x80, 0, 0, 2, 0]), Some(512));
        assert_eq!(parse_number(b"0009\0"), None);
        assert_eq!(parse_number(&[0xff, 0xff]), None);
    }

    #[test]
    fn pax_parsing() {
        let l = Limits::default();
        let parse_pax = |body: &[u8]| parse_pax(body, &l, &mut 0);
        assert_eq!(
            parse_pax(b"12 path=abc\n16 mtime=1.5000\n").unwrap(),
            vec![
                ("path".into(), b"abc".to_vec()),
                ("mtime".into(), b"1.5000".to_vec())
            ]
        );
        assert!(parse_pax(b"13 path=abc\n").is_err());
        assert!(parse_pax(b"99999999999999999999999 a=b\n").is_err());
        assert!(parse_pax(b"x path=abc\n").is_err());
        assert!(parse_pax(b"7 =abc\n").is_err());
    }

    #[test]
    fn pax_records_are_bounded_one_by_one_and_per_archive() {
        let l = Limits {
            max_pax_record: 16,
            max_pax_total: 2 * (12 + PAX_RECORD_COST),
            ..Limits::default()
        };
        let mut kept = 0;
        // One record of 17 bytes: over the per-record bound, named by key.
        assert_eq!(
            parse_pax(b"17 comment=abcde\n", &l, &mut kept),
            Err(PaxError::RecordTooLarge {
                key: "comment".into(),
                len: 17
            })
        );
        // Two 12-byte records fit; the third passes the archive's total,
        // across headers, and names the member its header is for.
        parse_pax(b"12 path=abc\n", &l, &mut kept).unwrap();
        assert_eq!(kept, 12 + PAX_RECORD_COST);
        assert_eq!(
            parse_pax(b"12 path=xyz\n12 a=bcdefg\n", &l, &mut kept),
            Err(PaxError::OverBudget {
                kept: 3 * (12 + PAX_RECORD_COST),
                path: Some("xyz".into())
            })
        );
        // Many tiny records are charged their bookkeeping, not just bytes.
        let tiny = b"6 a=b\n".repeat(1000);
        let mut kept = 0;
        let e = parse_pax(&tiny, &Limits::default(), &mut kept).unwrap();
        assert_eq!(e.len(), 1000);
        assert_eq!(kept, 1000 * (6 + PAX_RECORD_COST));
    }
}
