//! Tests of DSSE: the PAE against the spec's own vector, the envelope's
//! JSON form and strict parsing, sign → verify, and each kind of tampering
//! failing with the error that names it.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kiln_provenance::dsse::{self, DsseError, Envelope, IN_TOTO_PAYLOAD_TYPE, Signature, pae};
use kiln_provenance::{PrivateKey, PublicKey};

const STATEMENT: &[u8] = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;

fn key(n: u8) -> PrivateKey {
    PrivateKey::from_seed([n; 32])
}

#[test]
fn pae_matches_the_spec_vector() {
    // secure-systems-lab/dsse, protocol.md (Version 1.0.0), section "Test
    // Vectors": SERIALIZED_BODY `hello world`, PAYLOAD_TYPE
    // `http://example.com/HelloWorld`, PAE
    // `DSSEv1 29 http://example.com/HelloWorld 11 hello world`.
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
}

#[test]
fn pae_lengths_are_byte_counts_in_decimal() {
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    // Two bytes of UTF-8 for one character; binary bodies as they are.
    assert_eq!(pae("é", &[0, 255]), b"DSSEv1 2 \xc3\xa9 2 \x00\xff");
    let body = vec![b'x'; 1234];
    let out = pae(IN_TOTO_PAYLOAD_TYPE, &body);
    let prefix = b"DSSEv1 28 application/vnd.in-toto+json 1234 ";
    assert_eq!(&out[..prefix.len()], prefix);
    assert_eq!(&out[prefix.len()..], body.as_slice());
}

#[test]
fn the_spec_example_envelope_parses() {
    // protocol.md's "Result" (an ECDSA P-256 signature, so kiln cannot verify
    // it, but it must parse: it has no keyid, which envelope.md allows).
    let text = r#"{"payload": "aGVsbG8gd29ybGQ=",
 "payloadType": "http://example.com/HelloWorld",
 "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]}"#;
    let envelope = Envelope::parse(text).unwrap();
    assert_eq!(envelope.payload_type, "http://example.com/HelloWorld");
    assert_eq!(envelope.signatures[0].keyid, "");
    // Not by a trusted key, and said so.
    let err = envelope.verify(&[key(1).public_key()]).unwrap_err();
    assert!(matches!(err, DsseError::NoTrustedSignature { .. }), "{err}");
}

#[test]
fn sign_then_verify() {
    let signer = key(1);
    let envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &signer);
    assert_eq!(envelope.payload, STANDARD.encode(STATEMENT));
    assert_eq!(envelope.payload_type, IN_TOTO_PAYLOAD_TYPE);
    assert_eq!(envelope.signatures.len(), 1);
    assert_eq!(envelope.signatures[0].keyid, signer.public_key().keyid());
    let sig = STANDARD.decode(&envelope.signatures[0].sig).unwrap();
    assert!(
        signer
            .public_key()
            .verify(&pae(IN_TOTO_PAYLOAD_TYPE, STATEMENT), &sig)
    );

    let trusted = [key(2).public_key(), signer.public_key()];
    let verified = envelope.verify(&trusted).unwrap();
    assert_eq!(verified.payload, STATEMENT);
    assert_eq!(verified.payload_type, IN_TOTO_PAYLOAD_TYPE);
    assert_eq!(verified.keyid, signer.public_key().keyid());
    assert_eq!(envelope.verify_in_toto(&trusted).unwrap(), verified);

    // Through the file form and back.
    let line = envelope.to_json_line();
    let again = Envelope::parse(&line).unwrap();
    assert_eq!(again, envelope);
    assert_eq!(again.verify(&trusted).unwrap(), verified);
}

#[test]
fn json_line_is_compact_ordered_and_terminated() {
    let envelope = Envelope {
        payload: "aGk=".into(),
        payload_type: "text/plain".into(),
        signatures: vec![Signature {
            keyid: "k".into(),
            sig: "c2ln".into(),
        }],
    };
    assert_eq!(
        envelope.to_json_line(),
        "{\"payload\":\"aGk=\",\"payloadType\":\"text/plain\",\"signatures\":[{\"keyid\":\"k\",\"sig\":\"c2ln\"}]}\n"
    );
    // A kiln envelope is one line.
    let line = dsse::sign(IN_TOTO_PAYLOAD_TYPE, b"a\nb\n", &key(1)).to_json_line();
    assert_eq!(line.matches('\n').count(), 1);
    assert!(line.ends_with("}\n"));
}

#[test]
fn jsonl_holds_one_envelope_per_line() {
    let a = dsse::sign(IN_TOTO_PAYLOAD_TYPE, b"one", &key(1));
    let b = dsse::sign(IN_TOTO_PAYLOAD_TYPE, b"two", &key(2));
    let file = format!("{}{}", a.to_json_line(), b.to_json_line());
    assert_eq!(Envelope::parse_jsonl(&file).unwrap(), vec![a.clone(), b]);

    let broken = format!("{}{{\"payload\":\"\"}}\n", a.to_json_line());
    let err = Envelope::parse_jsonl(&broken).unwrap_err();
    assert!(matches!(err, DsseError::Line { line: 2, .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("line 2: not a DSSE JSON envelope: missing field `payloadType`"),
        "{err}"
    );
    assert_eq!(Envelope::parse_jsonl("\n\n").unwrap_err(), DsseError::Empty);
}

#[test]
fn parsing_is_strict_and_names_the_field() {
    let good = r#"{"payload":"aGk=","payloadType":"t","signatures":[{"keyid":"k","sig":"c2ln"}]}"#;
    assert!(Envelope::parse(good).is_ok());
    let cases = [
        (
            r#"{"payloadType":"t","signatures":[]}"#,
            "missing field `payload`",
        ),
        (
            r#"{"payload":"aGk=","signatures":[]}"#,
            "missing field `payloadType`",
        ),
        (
            r#"{"payload":"aGk=","payloadType":"t"}"#,
            "missing field `signatures`",
        ),
        (
            r#"{"payload":"aGk=","payloadType":"t","signatures":[{"keyid":"k"}]}"#,
            "missing field `sig`",
        ),
        (
            r#"{"payload":"aGk=","payloadType":"t","signatures":[],"extra":1}"#,
            "unknown field `extra`",
        ),
        (
            r#"{"payload":"aGk=","payloadType":"t","signatures":[{"sig":"c2ln","cert":""}]}"#,
            "unknown field `cert`",
        ),
        (
            r#"{"payload":"aGk=","payload":"aGk=","payloadType":"t","signatures":[]}"#,
            "duplicate field `payload`",
        ),
        (
            r#"{"payload":1,"payloadType":"t","signatures":[]}"#,
            "invalid type: integer `1`, expected a string",
        ),
        (r#"["aGk=","t",[]]"#, "the envelope is not a JSON object"),
        (
            r#"{"payload":"aGk=","payloadType":"t","signatures":[["k","c2ln"]]}"#,
            "signatures[0] is not a JSON object",
        ),
        (
            r#"{"payload":"aGk=","payloadType":"t","signatures":{}}"#,
            "invalid type: map, expected a sequence",
        ),
        ("", "EOF while parsing"),
    ];
    for (text, expected) in cases {
        match Envelope::parse(text) {
            Err(DsseError::Json(message)) => {
                assert!(message.starts_with(expected), "{text}: {message}")
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    let bad_base64 = [
        (
            r#"{"payload":"a*k=","payloadType":"t","signatures":[{"sig":"c2ln"}]}"#,
            "payload",
        ),
        (
            r#"{"payload":"aGk=","payloadType":"t","signatures":[{"sig":"c2ln"},{"sig":"c2l"}]}"#,
            "signatures[1].sig",
        ),
        // Non-zero trailing bits: "aGl=" would also decode to "hi" if allowed.
        (
            r#"{"payload":"aGl=","payloadType":"t","signatures":[{"sig":"c2ln"}]}"#,
            "payload",
        ),
    ];
    for (text, field) in bad_base64 {
        let err = Envelope::parse(text).unwrap_err();
        assert_eq!(
            err,
            DsseError::BadBase64 {
                field: field.into()
            },
            "{text}"
        );
        assert!(err.to_string().contains(field));
    }
}

#[test]
fn url_safe_and_unpadded_base64_are_accepted() {
    // protocol.md: "verifiers MUST accept either" encoding.
    let signer = key(1);
    // A payload whose standard base64 has '+' and '/' and padding.
    let payload: Vec<u8> = (0..=255u8).rev().collect();
    let envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, &payload, &signer);
    assert!(envelope.payload.contains('+') && envelope.payload.contains('/'));
    let sig = STANDARD.decode(&envelope.signatures[0].sig).unwrap();
    let url_safe = Envelope {
        payload: URL_SAFE_NO_PAD.encode(&payload),
        signatures: vec![Signature {
            keyid: String::new(),
            sig: URL_SAFE_NO_PAD.encode(&sig),
        }],
        ..envelope.clone()
    };
    let text = url_safe.to_json_line();
    let verified = Envelope::parse(&text)
        .unwrap()
        .verify(&[signer.public_key()])
        .unwrap();
    assert_eq!(verified.payload, payload);
}

#[test]
fn a_flipped_payload_byte_is_a_bad_signature() {
    let signer = key(1);
    let mut envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &signer);
    let mut payload = STANDARD.decode(&envelope.payload).unwrap();
    payload[10] ^= 0x01;
    envelope.payload = STANDARD.encode(&payload);
    let err = envelope.verify(&[signer.public_key()]).unwrap_err();
    assert_eq!(
        err,
        DsseError::BadSignature {
            index: 0,
            keyid: signer.public_key().keyid()
        }
    );
    assert!(err.to_string().contains("altered"), "{err}");
}

#[test]
fn a_changed_payload_type_is_a_bad_signature() {
    // payloadType is authenticated: it is part of the PAE.
    let signer = key(1);
    let mut envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &signer);
    envelope.payload_type = "application/json".into();
    let err = envelope.verify(&[signer.public_key()]).unwrap_err();
    assert!(
        matches!(err, DsseError::BadSignature { index: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn a_flipped_signature_byte_is_a_bad_signature() {
    let signer = key(1);
    for byte in [0, 31, 32, 63] {
        let mut envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &signer);
        let mut sig = STANDARD.decode(&envelope.signatures[0].sig).unwrap();
        sig[byte] ^= 0x80;
        envelope.signatures[0].sig = STANDARD.encode(&sig);
        let err = envelope.verify(&[signer.public_key()]).unwrap_err();
        assert!(
            matches!(err, DsseError::BadSignature { index: 0, .. }),
            "byte {byte}: {err:?}"
        );
    }
}

#[test]
fn a_truncated_signature_is_a_bad_signature() {
    let signer = key(1);
    let mut envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &signer);
    let sig = STANDARD.decode(&envelope.signatures[0].sig).unwrap();
    envelope.signatures[0].sig = STANDARD.encode(&sig[..48]);
    let err = envelope.verify(&[signer.public_key()]).unwrap_err();
    assert!(
        matches!(err, DsseError::BadSignature { index: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn a_signature_by_an_untrusted_key_is_refused() {
    let stranger = key(9);
    let envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &stranger);
    let trusted = key(1).public_key();
    let err = envelope.verify(std::slice::from_ref(&trusted)).unwrap_err();
    assert_eq!(
        err,
        DsseError::NoTrustedSignature {
            envelope_keyids: vec![stranger.public_key().keyid()],
            trusted_keyids: vec![trusted.keyid()],
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "no signature is by a trusted key (the envelope names {}; trusted: {})",
            stranger.public_key().keyid(),
            trusted.keyid()
        )
    );
    // No trusted keys at all is its own error.
    assert_eq!(envelope.verify(&[]).unwrap_err(), DsseError::NoTrustedKeys);
}

#[test]
fn a_keyid_naming_a_trusted_key_does_not_make_another_keys_signature_trusted() {
    let trusted = key(1);
    let attacker = key(9);
    let mut envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &attacker);
    envelope.signatures[0].keyid = trusted.public_key().keyid();
    let err = envelope.verify(&[trusted.public_key()]).unwrap_err();
    assert_eq!(
        err,
        DsseError::BadSignature {
            index: 0,
            keyid: trusted.public_key().keyid()
        }
    );
    // The attacker's own key, were it trusted, would verify it: the keyid is
    // only a hint.
    let verified = envelope
        .verify(&[trusted.public_key(), attacker.public_key()])
        .unwrap();
    assert_eq!(verified.keyid, attacker.public_key().keyid());
}

#[test]
fn a_wrong_or_missing_keyid_still_verifies_with_the_right_trusted_key() {
    let signer = key(1);
    let mut envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &signer);
    for keyid in ["", "not-a-key", &key(2).public_key().keyid()] {
        envelope.signatures[0].keyid = keyid.to_owned();
        let verified = envelope
            .verify(&[key(2).public_key(), signer.public_key()])
            .unwrap();
        // The id reported is the trusted key's, never the envelope's.
        assert_eq!(verified.keyid, signer.public_key().keyid());
    }
}

#[test]
fn one_good_signature_among_bad_ones_is_enough() {
    let signer = key(1);
    let good = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &signer);
    let stranger = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &key(9));
    let mut envelope = good.clone();
    envelope.signatures = vec![stranger.signatures[0].clone(), good.signatures[0].clone()];
    assert_eq!(
        envelope.verify(&[signer.public_key()]).unwrap().keyid,
        signer.public_key().keyid()
    );
    envelope.signatures.clear();
    assert_eq!(
        envelope.verify(&[signer.public_key()]).unwrap_err(),
        DsseError::NoSignatures
    );
}

#[test]
fn bad_base64_is_reported_by_verify_too() {
    let signer = key(1);
    let mut envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &signer);
    envelope.signatures[0].sig.insert(3, '!');
    assert_eq!(
        envelope.verify(&[signer.public_key()]).unwrap_err(),
        DsseError::BadBase64 {
            field: "signatures[0].sig".into()
        }
    );
}

#[test]
fn the_payload_type_is_checked_after_the_signature() {
    let signer = key(1);
    let envelope = dsse::sign("application/json", STATEMENT, &signer);
    let trusted = [signer.public_key()];
    // Authentic, but not an in-toto statement.
    assert!(envelope.verify(&trusted).is_ok());
    let err = envelope.verify_in_toto(&trusted).unwrap_err();
    assert_eq!(
        err,
        DsseError::WrongPayloadType {
            expected: IN_TOTO_PAYLOAD_TYPE.into(),
            found: "application/json".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "the payloadType is \"application/json\", expected \"application/vnd.in-toto+json\""
    );
    let verified = envelope.verify(&trusted).unwrap();
    assert_eq!(
        verified.clone().expect_type("application/json").unwrap(),
        verified
    );
    // An untrusted envelope reports the signature, not the type.
    let stranger = dsse::sign("application/json", STATEMENT, &key(9));
    assert!(matches!(
        stranger.verify_in_toto(&trusted).unwrap_err(),
        DsseError::NoTrustedSignature { .. }
    ));
}

#[test]
fn public_keys_from_pem_verify_what_the_private_key_signed() {
    let signer = PrivateKey::from_pkcs8_pem(include_str!("data/openssl-ed25519.pem")).unwrap();
    let trusted = PublicKey::from_spki_pem(include_str!("data/openssl-ed25519.pub.pem")).unwrap();
    let envelope = dsse::sign(IN_TOTO_PAYLOAD_TYPE, STATEMENT, &signer);
    assert_eq!(
        envelope.signatures[0].keyid,
        "e403be6111e269369d96a317e7e35eb6d4f3027f54293094035709159b7f48a8"
    );
    assert!(envelope.verify_in_toto(&[trusted]).is_ok());
}
