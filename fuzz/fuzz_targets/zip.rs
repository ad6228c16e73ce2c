//! The zip reader: `ZipReader::open`, `copy_member`, `read_zip` and
//! canonicalizing (`kiln_fuzz::check_zip`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_fuzz::check_zip(data));
