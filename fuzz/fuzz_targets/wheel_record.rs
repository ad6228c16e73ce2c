//! A wheel's RECORD against its members (`kiln_canon::record_problems`,
//! the CSV parsing and every check): never a panic, never an error for a
//! layout that has its RECORD, problems sorted by member, and none for
//! the RECORD that lists the members exactly.
#![no_main]

use kiln_canon::{MemberDigest, record_problems};

const RECORD: &str = "p-1.0.dist-info/RECORD";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let members = [
        MemberDigest::of_bytes("p/__init__.py", b"x = 1\n"),
        MemberDigest::of_bytes("p/data.bin", &[0, 1, 2, 255]),
        MemberDigest::of_bytes(
            "p-1.0.dist-info/METADATA",
            b"Metadata-Version: 2.4\nName: p\nVersion: 1.0\n",
        ),
        MemberDigest::of_bytes(RECORD, data),
    ];
    let problems = record_problems("p-1.0-py3-none-any.whl", &members, data, &mut |path| {
        let bytes: &[u8] = match path {
            "p/__init__.py" => b"x = 1\n",
            "p/data.bin" => &[0, 1, 2, 255],
            _ => b"",
        };
        Ok(kiln_digest::Digests::of_bytes(bytes).sha512)
    })
    .expect("the layout has its RECORD");
    assert!(problems.windows(2).all(|w| w[0].member <= w[1].member));
    for p in &problems {
        assert!(!p.problem.is_empty());
    }
});
