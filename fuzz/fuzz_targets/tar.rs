//! The tar.gz reader on a tar the fuzzer writes, gzipped here: mutations
//! reach the tar headers, pax records and padding instead of dying at the
//! gzip CRC (`kiln_fuzz::check_tar_gz`).
#![no_main]

use std::io::Write;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("writing to memory");
    kiln_fuzz::check_tar_gz(&gz.finish().expect("writing to memory"));
});
