//! The in-toto Statement / SLSA provenance reader
//! (`kiln_provenance::parse_statement`) on raw bytes: never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kiln_provenance::parse_statement(data);
});
