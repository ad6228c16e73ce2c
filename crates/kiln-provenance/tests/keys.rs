//! Tests of the ed25519 keys: PEM round trips, a key pair made by OpenSSL
//! read and reproduced byte for byte (keyid and signature pinned from
//! OpenSSL), and that private key material appears in no `Debug`,
//! `Display` or error text, even for malformed PEMs built from a real key.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kiln_provenance::{KeyError, PrivateKey, PublicKey};

const OPENSSL_PRIVATE: &str = include_str!("data/openssl-ed25519.pem");
const OPENSSL_PUBLIC: &str = include_str!("data/openssl-ed25519.pub.pem");
/// `openssl pkey -pubout -outform DER | sha256sum` (tests/data/README.md).
const OPENSSL_KEYID: &str = "e403be6111e269369d96a317e7e35eb6d4f3027f54293094035709159b7f48a8";
/// `printf kiln | openssl pkeyutl -sign -rawin` (tests/data/README.md).
const OPENSSL_SIG_OF_KILN: &str =
    "W1pekSGEMilwWSxyW3bCsMzPfouJEBioYEGYdE5l25qs25/lJWSOxA8WOo4yq7phe5SOKyFow5JxhZrRzQ8KCA==";

/// The base64 line of a one-line PEM.
fn body(pem: &str) -> &str {
    pem.lines().nth(1).unwrap()
}

/// Every fragment of the secret that could identify it: the PEM's base64
/// and the seed's own base64 and hex, in windows of 12 characters.
fn secret_fragments(pem: &str) -> Vec<String> {
    let der = STANDARD.decode(body(pem)).unwrap();
    let seed = &der[16..];
    assert_eq!(seed.len(), 32);
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = Vec::new();
    for text in [body(pem).to_owned(), STANDARD.encode(seed), hex] {
        let chars: Vec<char> = text.chars().collect();
        for window in chars.windows(12) {
            out.push(window.iter().collect());
        }
    }
    out
}

fn assert_no_secret(text: &str, pem: &str) {
    for fragment in secret_fragments(pem) {
        assert!(
            !text.contains(&fragment),
            "{text:?} shows part of the private key ({fragment})"
        );
    }
}

#[test]
fn openssl_key_pair_is_read_and_reproduced_byte_for_byte() {
    let private = PrivateKey::from_pkcs8_pem(OPENSSL_PRIVATE).unwrap();
    let public = PublicKey::from_spki_pem(OPENSSL_PUBLIC).unwrap();
    assert_eq!(private.public_key(), public);
    assert_eq!(public.keyid(), OPENSSL_KEYID);
    assert_eq!(private.to_pkcs8_pem(), OPENSSL_PRIVATE);
    assert_eq!(public.to_spki_pem(), OPENSSL_PUBLIC);
    assert_eq!(
        public.to_spki_der(),
        STANDARD.decode(body(OPENSSL_PUBLIC)).unwrap()
    );

    // ed25519 is deterministic: OpenSSL's signature is ours.
    let sig = private.sign(b"kiln");
    assert_eq!(STANDARD.encode(sig), OPENSSL_SIG_OF_KILN);
    assert!(public.verify(b"kiln", &sig));
    assert!(!public.verify(b"kiln!", &sig));
}

#[test]
fn pem_round_trips() {
    for seed in [[0u8; 32], [7u8; 32], core::array::from_fn(|i| i as u8)] {
        let key = PrivateKey::from_seed(seed);
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
        let again = PrivateKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(again.to_pkcs8_pem(), pem);
        assert_eq!(again.sign(b"m"), key.sign(b"m"));

        let public = key.public_key();
        let spki = public.to_spki_pem();
        assert!(spki.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(PublicKey::from_spki_pem(&spki).unwrap(), public);
        assert_eq!(public.keyid().len(), 64);
        assert!(
            public
                .keyid()
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
    assert_ne!(
        PrivateKey::from_seed([1; 32]).public_key().keyid(),
        PrivateKey::from_seed([2; 32]).public_key().keyid()
    );
}

#[test]
fn pem_variants_are_read() {
    // CRLF line endings, no final newline, surrounding blank lines.
    let crlf = OPENSSL_PRIVATE.replace('\n', "\r\n");
    assert_eq!(
        PrivateKey::from_pkcs8_pem(&crlf)
            .unwrap()
            .public_key()
            .keyid(),
        OPENSSL_KEYID
    );
    let bare = OPENSSL_PUBLIC.trim_end();
    assert_eq!(
        PublicKey::from_spki_pem(bare).unwrap().keyid(),
        OPENSSL_KEYID
    );
    let padded = format!("\n\n{OPENSSL_PRIVATE}\n");
    assert!(PrivateKey::from_pkcs8_pem(&padded).is_ok());

    // PKCS#8 v2 (RFC 5958 OneAsymmetricKey with the public key), as some
    // tools write it: read, and written back as v1.
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    let dalek = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let v2 = dalek.to_pkcs8_pem(LineEnding::LF).unwrap();
    assert!(v2.len() > PrivateKey::from_seed([9; 32]).to_pkcs8_pem().len());
    let key = PrivateKey::from_pkcs8_pem(&v2).unwrap();
    assert_eq!(
        key.to_pkcs8_pem(),
        PrivateKey::from_seed([9; 32]).to_pkcs8_pem()
    );
}

#[test]
fn debug_and_display_show_the_keyid_only() {
    let key = PrivateKey::from_pkcs8_pem(OPENSSL_PRIVATE).unwrap();
    let expected = format!("PrivateKey(keyid {OPENSSL_KEYID})");
    assert_eq!(format!("{key:?}"), expected);
    assert_eq!(format!("{key}"), expected);
    assert_eq!(format!("{key:#?}"), expected);
    assert_no_secret(&format!("{key:?} {key} {key:#?}"), OPENSSL_PRIVATE);
    assert_eq!(
        format!("{:?}", key.public_key()),
        format!("PublicKey(keyid {OPENSSL_KEYID})")
    );
}

#[test]
fn malformed_pems_never_echo_the_key() {
    let b64 = body(OPENSSL_PRIVATE);
    let pem = |label: &str, body: &str| {
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    };
    let mut der = STANDARD.decode(b64).unwrap();
    der[4] = 5; // version 5: neither PKCS#8 v1 (0) nor v2 (1)
    let wrong_version = STANDARD.encode(&der);
    let mut der = STANDARD.decode(b64).unwrap();
    der[11] = 0x71; // OID 1.3.101.113: Ed448
    let ed448 = STANDARD.encode(&der);

    let cases: Vec<(&str, String)> = vec![
        (
            "truncated base64",
            pem("PRIVATE KEY", &b64[..b64.len() - 4]),
        ),
        (
            "a bad character",
            pem("PRIVATE KEY", &format!("{}*{}", &b64[..20], &b64[21..])),
        ),
        ("an encrypted-key label", pem("ENCRYPTED PRIVATE KEY", b64)),
        ("an EC label", pem("EC PRIVATE KEY", b64)),
        ("the key as label", pem(b64, b64)),
        (
            "no END line",
            format!("-----BEGIN PRIVATE KEY-----\n{b64}\n"),
        ),
        (
            "no BEGIN line",
            format!("{b64}\n-----END PRIVATE KEY-----\n"),
        ),
        (
            "mismatched END",
            format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PUBLIC KEY-----\n"),
        ),
        ("the bare base64", b64.to_owned()),
        ("text before", format!("key: {OPENSSL_PRIVATE}")),
        ("trailing data", pem("PRIVATE KEY", &format!("{b64}AAAA"))),
        ("a wrong version", pem("PRIVATE KEY", &wrong_version)),
        ("another algorithm", pem("PRIVATE KEY", &ed448)),
    ];
    for (what, text) in &cases {
        let err = match PrivateKey::from_pkcs8_pem(text) {
            Ok(_) => panic!("{what}: accepted"),
            Err(err) => err,
        };
        assert!(
            matches!(err, KeyError::PrivateKey { .. }),
            "{what}: {err:?}"
        );
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("PKCS#8"), "{what}: {shown}");
        assert_no_secret(&shown, OPENSSL_PRIVATE);
        // The same text offered as a public key fails without echoing it either.
        let err = PublicKey::from_spki_pem(text).unwrap_err();
        assert_no_secret(&format!("{err} {err:?}"), OPENSSL_PRIVATE);
    }

    // A private key where a public key is due, and the reverse, say so.
    let err = PublicKey::from_spki_pem(OPENSSL_PRIVATE).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not an ed25519 public key in SPKI PEM (\"-----BEGIN PUBLIC KEY-----\", RFC 8410): \
         the PEM holds a \"PRIVATE KEY\", not a \"PUBLIC KEY\""
    );
    assert_no_secret(&format!("{err:?}"), OPENSSL_PRIVATE);
    let err = PrivateKey::from_pkcs8_pem(&format!("key: {OPENSSL_PRIVATE}")).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("the text does not start with a \"-----BEGIN PRIVATE KEY-----\" line"),
        "{err}"
    );
    let err = PrivateKey::from_pkcs8_pem(" \n").unwrap_err();
    assert!(err.to_string().ends_with("the text is empty"), "{err}");
    let err = PrivateKey::from_pkcs8_pem(OPENSSL_PUBLIC).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("the PEM holds a \"PUBLIC KEY\", not a \"PRIVATE KEY\""),
        "{err}"
    );
}

#[test]
fn a_v2_key_whose_public_key_does_not_match_is_refused() {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    let bytes = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: [3; 32],
        public_key: Some(ed25519_dalek::pkcs8::PublicKeyBytes(
            *PrivateKey::from_seed([4; 32]).public_key().to_spki_der()[12..]
                .as_array::<32>()
                .unwrap(),
        )),
    };
    let pem = bytes.to_pkcs8_pem(LineEnding::LF).unwrap();
    let err = PrivateKey::from_pkcs8_pem(&pem).unwrap_err();
    assert!(matches!(err, KeyError::PrivateKey { .. }));
    assert_no_secret(
        &format!("{err} {err:?}"),
        &PrivateKey::from_seed([3; 32]).to_pkcs8_pem(),
    );
}

#[test]
fn verify_refuses_malformed_signatures() {
    let key = PrivateKey::from_seed([5; 32]);
    let public = key.public_key();
    let sig = key.sign(b"message");
    assert!(public.verify(b"message", &sig));
    assert!(!public.verify(b"message", &sig[..63]));
    assert!(!public.verify(b"message", &[sig.as_slice(), &[0]].concat()));
    assert!(!public.verify(b"message", &[]));
    for i in [0, 31, 32, 63] {
        let mut bad = sig;
        bad[i] ^= 1;
        assert!(!public.verify(b"message", &bad), "byte {i}");
    }
    assert!(
        !PrivateKey::from_seed([6; 32])
            .public_key()
            .verify(b"message", &sig)
    );
}
