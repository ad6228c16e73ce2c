//! The `.distinfo` release record parser (`kiln_record::Record::parse`):
//! never a panic, and a record it accepts renders to text that parses back
//! to the same record and renders to the same text.
#![no_main]

use kiln_record::Record;

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
});
