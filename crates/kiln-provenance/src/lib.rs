//! Format: what kiln signs about a release and how. `keys` holds ed25519
//! keys in their PEM forms and `dsse` the DSSE v1 envelope (PAE, signing,
//! strict parsing, verification against trusted keys only).
//!
//! A library in kiln's sense: no clock, no environment, no randomness, no
//! network, no processes. Times, seeds, digests and identities are
//! parameters; xtask gathers them.

pub mod dsse;
pub mod keys;

pub use dsse::{DsseError, Envelope, IN_TOTO_PAYLOAD_TYPE, Signature, Verified, pae};
pub use keys::{KeyError, PrivateKey, PublicKey};
