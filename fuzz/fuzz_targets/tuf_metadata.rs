//! TUF metadata as the mirror's client reads it (`kiln_tuf::metadata`):
//! the envelope and each role's `signed` part, with and without signature
//! checking. Never a panic; a file signed by no trusted key is refused.
#![no_main]

use std::collections::BTreeMap;

use kiln_tuf::metadata::{Root, RoleKeys, Snapshot, Targets, Timestamp, read_unverified, verify};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = read_unverified::<Root>(data, "root");
    let _ = read_unverified::<Targets>(data, "targets");
    let _ = read_unverified::<Snapshot>(data, "snapshot");
    let _ = read_unverified::<Timestamp>(data, "timestamp");
    // No key is trusted: whatever the input, verification must fail.
    let trusted = RoleKeys {
        keyids: Vec::new(),
        threshold: 1,
    };
    assert!(verify::<Root>(data, "root", &BTreeMap::new(), &trusted).is_err());
});
