//! The four top-level roles' metadata and the delegated targets roles, as
//! TUF 1.0 defines them (section 4 of the specification), and their
//! signing and verification over the canonical JSON of `signed`.
//!
//! Keys are ed25519 (`keytype` and `scheme` "ed25519", `keyval.public` the
//! 32 raw bytes in hex); a key id is the hex SHA-256 of the canonical JSON
//! of that key object -- not kiln-provenance's SPKI key id. A file is the
//! canonical JSON of `{"signatures": [...], "signed": {...}}`, so equal
//! inputs give equal bytes (ed25519 signatures are deterministic).

use crate::{TufError, canonical};
use kiln_provenance::{PrivateKey, PublicKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The version of the specification kiln's metadata follows.
pub const SPEC_VERSION: &str = "1.0.31";

/// A public key as metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub keytype: String,
    pub scheme: String,
    pub keyval: KeyVal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    pub public: String,
}

impl Key {
    pub fn ed25519(public: &PublicKey) -> Key {
        Key {
            keytype: "ed25519".to_string(),
            scheme: "ed25519".to_string(),
            keyval: KeyVal {
                public: kiln_digest::hex(&public.to_raw()),
            },
        }
    }

    /// The TUF key id: sha256 of the canonical JSON of the key object.
    pub fn keyid(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        let bytes = canonical::encode(&value).unwrap_or_default();
        kiln_digest::hex(&kiln_digest::sha256(&bytes))
    }

    /// The verifying key, if this is an ed25519 key kiln can use.
    fn public(&self) -> Option<PublicKey> {
        if self.keytype != "ed25519" || self.scheme != "ed25519" {
            return None;
        }
        let raw = unhex(&self.keyval.public)?;
        let raw: [u8; 32] = raw.try_into().ok()?;
        PublicKey::from_raw(&raw).ok()
    }
}

/// Which keys sign a role, and how many must.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    pub keyids: Vec<String>,
    pub threshold: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    pub consistent_snapshot: bool,
    pub version: u64,
    pub expires: String,
    pub keys: BTreeMap<String, Key>,
    pub roles: BTreeMap<String, RoleKeys>,
}

/// A file's length and digests, as targets and snapshot metadata give them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    pub length: u64,
    pub hashes: BTreeMap<String, String>,
}

impl TargetFile {
    /// The length and sha256 of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> TargetFile {
        TargetFile::new(
            bytes.len() as u64,
            kiln_digest::hex(&kiln_digest::sha256(bytes)),
        )
    }

    pub fn new(length: u64, sha256_hex: String) -> TargetFile {
        TargetFile {
            length,
            hashes: BTreeMap::from([("sha256".to_string(), sha256_hex)]),
        }
    }
}

/// A delegation from a targets role to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    pub name: String,
    pub keyids: Vec<String>,
    pub threshold: u32,
    pub terminating: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegations {
    pub keys: BTreeMap<String, Key>,
    pub roles: Vec<DelegatedRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub targets: BTreeMap<String, TargetFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
}

/// A metadata file's entry in snapshot or timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
}

/// Snapshot and timestamp share this shape: `meta` names metadata files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub meta: BTreeMap<String, MetaFile>,
}

/// What every role's `signed` has, for checks common to all.
pub trait Signed: Serialize + DeserializeOwned {
    const TYPE: &'static str;
    fn version(&self) -> u64;
    fn expires(&self) -> &str;
}

macro_rules! signed {
    ($t:ty, $name:literal) => {
        impl Signed for $t {
            const TYPE: &'static str = $name;
            fn version(&self) -> u64 {
                self.version
            }
            fn expires(&self) -> &str {
                &self.expires
            }
        }
    };
}
signed!(Root, "root");
signed!(Targets, "targets");

/// Snapshot metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Snapshot(pub Meta);
/// Timestamp metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub Meta);

impl Signed for Snapshot {
    const TYPE: &'static str = "snapshot";
    fn version(&self) -> u64 {
        self.0.version
    }
    fn expires(&self) -> &str {
        &self.0.expires
    }
}
impl Signed for Timestamp {
    const TYPE: &'static str = "timestamp";
    fn version(&self) -> u64 {
        self.0.version
    }
    fn expires(&self) -> &str {
        &self.0.expires
    }
}

#[derive(Debug, Serialize)]
struct SignatureOut {
    keyid: String,
    sig: String,
}

/// The file bytes of `signed` signed by `keys`: canonical JSON throughout.
pub fn sign<T: Signed>(signed: &T, keys: &[&PrivateKey], role: &str) -> Result<Vec<u8>, TufError> {
    let value = serde_json::to_value(signed).map_err(|e| TufError::Encode {
        role: role.to_string(),
        message: e.to_string(),
    })?;
    let message = canonical::encode(&value).map_err(|at| TufError::Encode {
        role: role.to_string(),
        message: format!("a float at {at}"),
    })?;
    let mut signatures: Vec<SignatureOut> = keys
        .iter()
        .map(|k| SignatureOut {
            keyid: Key::ed25519(&k.public_key()).keyid(),
            sig: kiln_digest::hex(&k.sign(&message)),
        })
        .collect();
    signatures.sort_by(|a, b| a.keyid.cmp(&b.keyid));
    signatures.dedup_by(|a, b| a.keyid == b.keyid);
    let envelope = serde_json::json!({ "signatures": signatures, "signed": value });
    canonical::encode(&envelope).map_err(|at| TufError::Encode {
        role: role.to_string(),
        message: format!("a float at {at}"),
    })
}

/// Parses a metadata file and checks that at least `threshold` of the keys
/// `keyids` (looked up in `keys`) signed the canonical JSON of its
/// `signed`, and that it is of type `T`. It names `role` in every error.
/// Signatures by other keys, or repeated, count for nothing.
pub fn verify<T: Signed>(
    bytes: &[u8],
    role: &str,
    keys: &BTreeMap<String, Key>,
    trusted: &RoleKeys,
) -> Result<T, TufError> {
    let (value, message, signatures) = parse_envelope(bytes, role)?;
    let mut counted: Vec<&str> = Vec::new();
    for (keyid, sig) in &signatures {
        if counted.contains(&keyid.as_str()) || !trusted.keyids.contains(keyid) {
            continue;
        }
        let Some(key) = keys.get(keyid).and_then(Key::public) else {
            continue;
        };
        if unhex(sig).is_some_and(|sig| key.verify(&message, &sig)) {
            counted.push(keyid);
        }
    }
    if trusted.threshold == 0 || (counted.len() as u64) < u64::from(trusted.threshold) {
        return Err(TufError::Signatures {
            role: role.to_string(),
            valid: counted.len(),
            threshold: trusted.threshold,
        });
    }
    typed(value, role)
}

/// The `signed` part of a file as `T`, without checking any signature (for
/// a repository reading back its own metadata).
pub fn read_unverified<T: Signed>(bytes: &[u8], role: &str) -> Result<T, TufError> {
    let (value, _, _) = parse_envelope(bytes, role)?;
    typed(value, role)
}

fn typed<T: Signed>(value: Value, role: &str) -> Result<T, TufError> {
    if value.get("_type").and_then(Value::as_str) != Some(T::TYPE) {
        return Err(TufError::Malformed {
            role: role.to_string(),
            message: format!("its _type is not \"{}\"", T::TYPE),
        });
    }
    serde_json::from_value(value).map_err(|e| TufError::Malformed {
        role: role.to_string(),
        message: e.to_string(),
    })
}

type Envelope = (Value, Vec<u8>, Vec<(String, String)>);

fn parse_envelope(bytes: &[u8], role: &str) -> Result<Envelope, TufError> {
    let malformed = |message: String| TufError::Malformed {
        role: role.to_string(),
        message,
    };
    let mut top: Value = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    let signed = top
        .get_mut("signed")
        .map(Value::take)
        .ok_or_else(|| malformed("it has no \"signed\"".to_string()))?;
    let message = canonical::encode(&signed).map_err(|at| malformed(format!("a float at {at}")))?;
    let mut signatures = Vec::new();
    for sig in top
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("it has no \"signatures\" list".to_string()))?
    {
        let field = |name: &str| sig.get(name).and_then(Value::as_str).map(str::to_string);
        match (field("keyid"), field("sig")) {
            (Some(keyid), Some(sig)) => signatures.push((keyid, sig)),
            _ => return Err(malformed("a signature lacks keyid or sig".to_string())),
        }
    }
    Ok((signed, message, signatures))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
