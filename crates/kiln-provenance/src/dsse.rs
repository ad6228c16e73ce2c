//! DSSE v1, the Dead Simple Signing Envelope of secure-systems-lab/dsse
//! (`protocol.md` 1.0.0, `envelope.md` 1.0.2): the pre-authentication
//! encoding that is signed, the JSON envelope kiln writes one per line to
//! `<project>-<version>.intoto.jsonl`, and its verification against the
//! keys the verifier trusts.
//!
//! Verification follows the protocol: decode, then accept the envelope only
//! if a *trusted* key verifies a signature over `PAE(payloadType, payload)`.
//! A signature's `keyid` is an unauthenticated hint; it orders the keys tried
//! and words the error, but every trusted key is tried and a key named by
//! the envelope is never trusted for being named. The payload handed back is
//! the one that was verified, never re-read from the envelope.
//!
//! Parsing is stricter than `envelope.md` asks in one respect: it refuses
//! fields it does not know (the spec says to ignore them), since kiln only
//! reads envelopes kiln wrote and an extra field there means someone else
//! edited the file. Missing `keyid` is accepted (the spec makes it
//! optional), and both standard and URL-safe base64, padded or not, are
//! accepted, as the spec requires of verifiers; kiln writes standard padded
//! base64.

use crate::keys::{PrivateKey, PublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde::{Deserialize, Serialize};

/// The `payloadType` of an in-toto attestation (in-toto Attestation
/// Framework v1, Envelope layer).
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Why an envelope was not parsed or not accepted. Each variant names the
/// check that failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DsseError {
    #[error("not a DSSE JSON envelope: {0}")]
    Json(String),
    #[error("line {line}: {source}")]
    Line {
        line: usize,
        #[source]
        source: Box<DsseError>,
    },
    #[error("no envelope: the file is empty")]
    Empty,
    #[error("the envelope's {field} is not valid base64 (standard or URL-safe)")]
    BadBase64 { field: String },
    #[error("the envelope has no signatures")]
    NoSignatures,
    #[error("no trusted keys were given, so nothing can verify the envelope")]
    NoTrustedKeys,
    #[error(
        "signature {index} names trusted key {keyid} but does not verify with it over the payload: \
         the payload, its type or the signature was altered, or another key signed it"
    )]
    BadSignature { index: usize, keyid: String },
    #[error(
        "no signature is by a trusted key (the envelope names {}; trusted: {})",
        list(.envelope_keyids),
        list(.trusted_keyids)
    )]
    NoTrustedSignature {
        envelope_keyids: Vec<String>,
        trusted_keyids: Vec<String>,
    },
    #[error("the payloadType is {found:?}, expected {expected:?}")]
    WrongPayloadType { expected: String, found: String },
}

fn list(items: &[String]) -> String {
    if items.iter().all(|i| i.is_empty()) {
        "no key".to_owned()
    } else {
        items
            .iter()
            .map(|i| if i.is_empty() { "(no keyid)" } else { i })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The pre-authentication encoding that DSSE signs (`protocol.md`,
/// "Signature Definition"):
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where LEN is the
/// ASCII decimal byte count with no leading zeros.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_bytes = payload_type.as_bytes();
    let mut out = Vec::with_capacity(32 + type_bytes.len() + payload.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_bytes.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(type_bytes);
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// A DSSE JSON envelope as it is stored: `payload` and each `sig` are
/// base64 text (kiln writes standard, padded base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<Signature>,
}

/// One signature of an envelope. `keyid` is a hint (empty when unset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    #[serde(default)]
    pub keyid: String,
    pub sig: String,
}

/// What a verified envelope vouches for: its type and payload as they were
/// verified, and the id of the trusted key that verified them (computed from
/// that key, not read from the envelope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub keyid: String,
}

impl Verified {
    /// The DSSE protocol's last check before the payload is parsed: refuse a
    /// payload type the caller does not support.
    pub fn expect_type(self, expected: &str) -> Result<Verified, DsseError> {
        if self.payload_type == expected {
            Ok(self)
        } else {
            Err(DsseError::WrongPayloadType {
                expected: expected.to_owned(),
                found: self.payload_type,
            })
        }
    }
}

/// Signs `payload` as a DSSE envelope with one signature, whose `keyid` is
/// [`PublicKey::keyid`] of the key.
pub fn sign(payload_type: &str, payload: &[u8], key: &PrivateKey) -> Envelope {
    let sig = key.sign(&pae(payload_type, payload));
    Envelope {
        payload: general_purpose::STANDARD.encode(payload),
        payload_type: payload_type.to_owned(),
        signatures: vec![Signature {
            keyid: key.public_key().keyid(),
            sig: general_purpose::STANDARD.encode(sig),
        }],
    }
}

/// Standard and URL-safe alphabets, padding optional: what `protocol.md`
/// requires verifiers to accept. Trailing bits must be zero, so each byte
/// string has exactly one spelling per alphabet.
const DECODE: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, DECODE);
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, DECODE);

fn decode_base64(text: &str, field: impl FnOnce() -> String) -> Result<Vec<u8>, DsseError> {
    STANDARD_ANY_PAD
        .decode(text)
        .or_else(|_| URL_SAFE_ANY_PAD.decode(text))
        .map_err(|_| DsseError::BadBase64 { field: field() })
}

impl Envelope {
    /// The envelope as one compact JSON line, fields in the order of
    /// `envelope.md` (`payload`, `payloadType`, `signatures`; `keyid`,
    /// `sig`), terminated by `\n`.
    pub fn to_json_line(&self) -> String {
        let signatures: Vec<serde_json::Value> = self
            .signatures
            .iter()
            .map(|s| serde_json::json!({ "keyid": s.keyid, "sig": s.sig }))
            .collect();
        let value = serde_json::json!({
            "payload": self.payload,
            "payloadType": self.payload_type,
            "signatures": signatures,
        });
        let mut line = value.to_string();
        line.push('\n');
        line
    }

    /// Parses one envelope (surrounding whitespace, such as the line's `\n`,
    /// is ignored). Strict: a missing, duplicated, unknown or mistyped field
    /// is an error naming it, and so is base64 that does not decode.
    pub fn parse(text: &str) -> Result<Envelope, DsseError> {
        let json = |e: serde_json::Error| DsseError::Json(e.to_string());
        // serde's derive would also take `["payload", "type", []]` for an
        // envelope: objects only.
        let value: serde_json::Value = serde_json::from_str(text.trim()).map_err(json)?;
        let objects_only = |what: &str, v: &serde_json::Value| {
            if v.is_object() {
                Ok(())
            } else {
                Err(DsseError::Json(format!("{what} is not a JSON object")))
            }
        };
        objects_only("the envelope", &value)?;
        if let Some(serde_json::Value::Array(signatures)) = value.get("signatures") {
            for (index, signature) in signatures.iter().enumerate() {
                objects_only(&format!("signatures[{index}]"), signature)?;
            }
        }
        // The derive (not the Value) finds duplicated fields.
        let envelope: Envelope = serde_json::from_str(text.trim()).map_err(json)?;
        decode_base64(&envelope.payload, || "payload".to_owned())?;
        for (index, signature) in envelope.signatures.iter().enumerate() {
            decode_base64(&signature.sig, || format!("signatures[{index}].sig"))?;
        }
        Ok(envelope)
    }

    /// Parses a `.intoto.jsonl` file: one envelope per non-empty line. An
    /// error names the line (counted from 1).
    pub fn parse_jsonl(text: &str) -> Result<Vec<Envelope>, DsseError> {
        let mut envelopes = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let envelope = Envelope::parse(line).map_err(|e| DsseError::Line {
                line: index + 1,
                source: Box::new(e),
            })?;
            envelopes.push(envelope);
        }
        if envelopes.is_empty() {
            return Err(DsseError::Empty);
        }
        Ok(envelopes)
    }

    /// Accepts the envelope if at least one of its signatures verifies over
    /// `PAE(payloadType, payload)` with one of the `trusted` keys; any
    /// payload type is accepted (see [`Envelope::verify_in_toto`] and
    /// [`Verified::expect_type`]).
    ///
    /// Every trusted key is tried on every signature, the one the `keyid`
    /// names first. When none verifies, the error says why: a signature
    /// naming a trusted key that does not verify with it is a
    /// [`DsseError::BadSignature`] (something was altered, or the keyid
    /// lies); otherwise it is [`DsseError::NoTrustedSignature`].
    pub fn verify(&self, trusted: &[PublicKey]) -> Result<Verified, DsseError> {
        let payload = decode_base64(&self.payload, || "payload".to_owned())?;
        let sigs = self
            .signatures
            .iter()
            .enumerate()
            .map(|(index, s)| decode_base64(&s.sig, || format!("signatures[{index}].sig")))
            .collect::<Result<Vec<_>, _>>()?;
        if sigs.is_empty() {
            return Err(DsseError::NoSignatures);
        }
        if trusted.is_empty() {
            return Err(DsseError::NoTrustedKeys);
        }
        let message = pae(&self.payload_type, &payload);
        let trusted: Vec<(String, &PublicKey)> = trusted.iter().map(|k| (k.keyid(), k)).collect();
        let mut bad = None;
        for (index, (signature, sig)) in self.signatures.iter().zip(&sigs).enumerate() {
            let named = trusted.iter().filter(|(id, _)| *id == signature.keyid);
            let others = trusted.iter().filter(|(id, _)| *id != signature.keyid);
            for (keyid, key) in named.clone().chain(others) {
                if key.verify(&message, sig) {
                    return Ok(Verified {
                        payload_type: self.payload_type.clone(),
                        payload,
                        keyid: keyid.clone(),
                    });
                }
            }
            if bad.is_none() && named.clone().next().is_some() {
                bad = Some(DsseError::BadSignature {
                    index,
                    keyid: signature.keyid.clone(),
                });
            }
        }
        Err(bad.unwrap_or_else(|| DsseError::NoTrustedSignature {
            envelope_keyids: self.signatures.iter().map(|s| s.keyid.clone()).collect(),
            trusted_keyids: trusted.into_iter().map(|(id, _)| id).collect(),
        }))
    }

    /// [`Envelope::verify`], then refuse any payload type but
    /// [`IN_TOTO_PAYLOAD_TYPE`].
    pub fn verify_in_toto(&self, trusted: &[PublicKey]) -> Result<Verified, DsseError> {
        self.verify(trusted)?.expect_type(IN_TOTO_PAYLOAD_TYPE)
    }
}
