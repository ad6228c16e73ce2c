//! The `.distinfo` release record parser (`kiln_record::Record::parse`)
//! and the `SHA256SUMS` parser (`kiln_record::parse_sha256sums`): never a
//! panic, and what they accept renders to text that parses back to the
//! same value (and, for a record, renders to the same text).
#![no_main]

use kiln_record::{Record, parse_sha256sums, render_sha256sums};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = Record::parse("fuzz.distinfo", text) {
        let rendered = record.render();
        let again = Record::parse("rendered.distinfo", &rendered)
            .unwrap_or_else(|e| panic!("a rendered record does not parse: {e}\n{rendered}"));
        assert_eq!(again, record);
        assert_eq!(again.render(), rendered);
    }
    if let Ok(lines) = parse_sha256sums("SHA256SUMS", text) {
        let mut pairs: Vec<(&str, &str)> = lines
            .iter()
            .map(|l| (l.file.as_str(), l.sha256.as_str()))
            .collect();
        let rendered = render_sha256sums(pairs.iter().copied());
        let again = parse_sha256sums("rendered", &rendered)
            .unwrap_or_else(|e| panic!("rendered sums do not parse: {e}\n{rendered}"));
        pairs.sort();
        let again: Vec<(&str, &str)> = again
            .iter()
            .map(|l| (l.file.as_str(), l.sha256.as_str()))
            .collect();
        assert_eq!(again, pairs);
    }
});
