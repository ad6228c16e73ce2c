//! The tar.gz reader on raw bytes: the gzip layer and everything above it
//! (`kiln_fuzz::check_tar_gz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_fuzz::check_tar_gz(data));
