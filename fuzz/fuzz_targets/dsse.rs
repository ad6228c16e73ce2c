//! The DSSE envelope reader (`Envelope::parse_jsonl`, `Envelope::parse`)
//! and verification against a trusted key, with the in-toto statement
//! reader on each envelope's decoded payload: never a panic, and an
//! envelope it accepts serializes to a line that parses back to itself.
#![no_main]

use base64::Engine as _;
use kiln_provenance::{Envelope, PrivateKey, parse_statement};

/// The key the seeds are signed with (`examples/seeds.rs`).
pub const SEED_KEY: [u8; 32] = [7; 32];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Envelope::parse(text);
    let Ok(envelopes) = Envelope::parse_jsonl(text) else {
        return;
    };
    let trusted = [PrivateKey::from_seed(SEED_KEY).public_key()];
    for envelope in envelopes {
        let line = envelope.to_json_line();
        let back = Envelope::parse(&line)
            .unwrap_or_else(|e| panic!("a serialized envelope does not parse: {e}\n{line}"));
        assert_eq!(back, envelope);
        let _ = envelope.verify(&trusted);
        if let Ok(verified) = envelope.verify_in_toto(&trusted) {
            let _ = parse_statement(&verified.payload);
        }
        // What a verified payload would be: the statement reader sees
        // fuzzed payloads too, not only the seeds' signed one.
        if let Ok(payload) = base64::engine::general_purpose::STANDARD.decode(&envelope.payload) {
            let _ = parse_statement(&payload);
        }
    }
});
