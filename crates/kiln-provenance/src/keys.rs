//! Ed25519 signing keys in their RFC 8410 PEM forms: the private key as
//! PKCS#8 (`-----BEGIN PRIVATE KEY-----`), the public key as SPKI
//! (`-----BEGIN PUBLIC KEY-----`), both as `openssl genpkey -algorithm
//! ed25519` and Python's `cryptography` write and read them.
//!
//! A [`PrivateKey`] never shows its bytes: `Debug` and `Display` print only
//! the public key's id, errors from parsing a PEM never quote the PEM, and
//! the key is wiped from memory when dropped (ed25519-dalek's `zeroize`).
//! Randomness is the caller's: [`PrivateKey::from_seed`] takes the 32 bytes
//! that xtask reads from the operating system.

// ed25519's own KeypairBytes (re-exported by ed25519-dalek): a direct
// dependency so that its `zeroize` feature wipes the key bytes it holds.
use ed25519::pkcs8::KeypairBytes;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use std::fmt;

/// Why a PEM did not give a key. The reasons are the PEM and DER decoders'
/// own descriptions of what was malformed; none quotes the input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "not an ed25519 private key in PKCS#8 PEM (\"-----BEGIN PRIVATE KEY-----\", RFC 8410): {reason}"
    )]
    PrivateKey { reason: String },
    #[error(
        "not an ed25519 public key in SPKI PEM (\"-----BEGIN PUBLIC KEY-----\", RFC 8410): {reason}"
    )]
    PublicKey { reason: String },
}

/// The reason a decoder gave, reworded where the text's shape tells more
/// than the decoder does (no PEM at all, an encrypted key, a public key
/// where a private one was due).
fn reason(pem: &str, error: impl fmt::Display, expected: &str) -> String {
    let pem = pem.trim();
    if pem.is_empty() {
        return "the text is empty".to_owned();
    }
    let Some(rest) = pem.strip_prefix("-----BEGIN ") else {
        return format!("the text does not start with a \"-----BEGIN {expected}-----\" line");
    };
    match rest.split_once("-----").map(|(label, _)| label) {
        Some(label) if label != expected && is_known_label(label) => {
            format!("the PEM holds a {label:?}, not a {expected:?}")
        }
        _ => error.to_string(),
    }
}

/// Labels worth naming back to the user; anything else is not echoed, so a
/// mangled header can never carry key material into an error message.
fn is_known_label(label: &str) -> bool {
    matches!(
        label,
        "PRIVATE KEY"
            | "PUBLIC KEY"
            | "ENCRYPTED PRIVATE KEY"
            | "OPENSSH PRIVATE KEY"
            | "EC PRIVATE KEY"
            | "RSA PRIVATE KEY"
            | "RSA PUBLIC KEY"
            | "CERTIFICATE"
    )
}

/// An ed25519 signing key. Its bytes never appear in `Debug` or `Display`
/// output (`PrivateKey(keyid <hex>)`) and are zeroized on drop.
pub struct PrivateKey {
    inner: SigningKey,
}

impl PrivateKey {
    /// The key whose RFC 8032 secret (the "seed") is `seed`. The caller
    /// supplies the randomness: this crate reads no random source.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        PrivateKey {
            inner: SigningKey::from_bytes(&seed),
        }
    }

    /// Parses a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), either the v1
    /// form (`openssl genpkey`) or v2 with the public key, which must then
    /// match. Surrounding whitespace is ignored. The error never echoes the
    /// PEM.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_pem(pem.trim())
            .map(|inner| PrivateKey { inner })
            .map_err(|e| KeyError::PrivateKey {
                reason: reason(pem, e, "PRIVATE KEY"),
            })
    }

    /// The PKCS#8 v1 PEM of RFC 8410 section 10.3, byte for byte what
    /// `openssl genpkey -algorithm ed25519` writes: one base64 line, LF line
    /// endings, a final newline.
    pub fn to_pkcs8_pem(&self) -> String {
        let bytes = KeypairBytes {
            secret_key: self.inner.to_bytes(),
            public_key: None,
        };
        // Zeroizing<String>: the intermediate copies are wiped; the String
        // returned is the caller's to keep safe.
        match bytes.to_pkcs8_pem(LineEnding::LF) {
            Ok(pem) => pem.as_str().to_owned(),
            // A fixed-size structure (48 bytes of DER) always encodes.
            Err(e) => unreachable!("encoding a 32-byte ed25519 key as PKCS#8 failed: {e}"),
        }
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            inner: self.inner.verifying_key(),
        }
    }

    /// The RFC 8032 ed25519 signature of `message` (deterministic: the same
    /// key and message always give the same 64 bytes).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.inner.sign(message).to_bytes()
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(keyid {})", self.public_key().keyid())
    }
}

impl fmt::Display for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// An ed25519 public key: what `release/keys/` holds and what a verifier
/// trusts.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    inner: VerifyingKey,
}

/// The DER of an ed25519 SubjectPublicKeyInfo (RFC 8410 section 4): this
/// prefix, then the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

impl PublicKey {
    /// Parses an SPKI PEM (`-----BEGIN PUBLIC KEY-----`) holding an ed25519
    /// key. Surrounding whitespace is ignored.
    pub fn from_spki_pem(pem: &str) -> Result<Self, KeyError> {
        VerifyingKey::from_public_key_pem(pem.trim())
            .map(|inner| PublicKey { inner })
            .map_err(|e| KeyError::PublicKey {
                reason: reason(pem, e, "PUBLIC KEY"),
            })
    }

    /// The SPKI PEM as `openssl pkey -pubout` writes it (one base64 line, LF,
    /// a final newline).
    pub fn to_spki_pem(&self) -> String {
        match self.inner.to_public_key_pem(LineEnding::LF) {
            Ok(pem) => pem,
            // A fixed-size structure (44 bytes of DER) always encodes.
            Err(e) => unreachable!("encoding an ed25519 public key as SPKI failed: {e}"),
        }
    }

    /// The key from its 32 raw bytes (RFC 8032), as TUF metadata carries
    /// it; bytes that are not a point on the curve are an error.
    pub fn from_raw(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        VerifyingKey::from_bytes(bytes)
            .map(|inner| PublicKey { inner })
            .map_err(|_| KeyError::PublicKey {
                reason: "the 32 bytes are not an ed25519 public key".to_string(),
            })
    }

    /// The 32 raw key bytes (RFC 8032).
    pub fn to_raw(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    /// The 44-byte DER SubjectPublicKeyInfo of RFC 8410.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.inner.as_bytes());
        der
    }

    /// The key's id: the lowercase hex SHA-256 of its DER SubjectPublicKeyInfo
    /// (the bytes of the PEM's base64), so anyone can recompute it, e.g.
    /// `openssl pkey -pubin -in key.pub.pem -outform DER | sha256sum`.
    /// It is what DSSE envelopes carry as `keyid`: a hint for choosing a key,
    /// never a reason to trust one.
    pub fn keyid(&self) -> String {
        kiln_digest::hex(&kiln_digest::sha256(&self.to_spki_der()))
    }

    /// Whether `signature` is this key's ed25519 signature of `message`.
    /// Strict verification (RFC 8032 section 5.1.7 plus dalek's
    /// `verify_strict`): non-canonical signatures and small-order keys are
    /// refused, so a signature cannot be altered and still verify. A
    /// signature that is not 64 bytes is simply false.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match Signature::from_slice(signature) {
            Ok(signature) => self.inner.verify_strict(message, &signature).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(keyid {})", self.keyid())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
