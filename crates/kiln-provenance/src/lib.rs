//! Format: what kiln signs about a release and how. `keys` holds ed25519
//! keys in their PEM forms, `dsse` the DSSE v1 envelope (PAE, signing,
//! strict parsing, verification against trusted keys only), and `statement`
//! the in-toto Statement v1 with a SLSA Provenance v1 predicate, serialized
//! deterministically; `check` decides whether a release's provenance file
//! holds (trusted signer, exact subjects, the tag's commit); `keyfile` keeps
//! keys on disk (0600, never overwritten, never seen partial); `release`
//! makes a release's statement from what the release knows.
//!
//! A library in kiln's sense: no clock, no environment, no randomness, no
//! network, no processes; files only at paths it is given. Times, seeds, digests and identities are
//! parameters; xtask gathers them.

pub mod check;
pub mod dsse;
pub mod keyfile;
pub mod keys;
pub mod release;
pub mod statement;

pub use check::{
    CheckError, ExpectedSubjects, StatementCheck, check_file, check_statement, file_name, rfc3339,
};
pub use dsse::{DsseError, Envelope, IN_TOTO_PAYLOAD_TYPE, Signature, Verified, pae};
pub use keyfile::KeyFileError;
pub use keys::{KeyError, PrivateKey, PublicKey};
pub use release::{ReleaseFacts, release_statement};
pub use statement::{
    BUILD_TYPE, BuildParameters, Dependency, PREDICATE_TYPE, ParsedStatement, ParsedSubject,
    ProvenanceInput, STATEMENT_TYPE, Signing, SigningKind, StatementError, Subject,
    parse_statement, statement_json,
};
