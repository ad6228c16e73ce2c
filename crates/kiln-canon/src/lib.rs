//! Canonicalizing archives made by other tools (SPEC "Canonicalizing"):
//! every member's path, bytes and executable bit are kept; only the
//! container is rewritten into kiln's canonical form, so two archives with
//! the same content canonicalize to the same bytes whatever tool, machine
//! or clock made them, and canonicalizing a canonical archive is the
//! identity.
//!
//! Codemap: `sdist` (tar.gz: files kept, directories dropped, one top-level
//! directory required), `wheel` (zip: RECORD checked, then members in the
//! canonical order), `record` (RECORD against the members) with `csv` (its
//! RFC 4180 reader), `diff` (which members differ between two archives),
//! `error` (the one error type). Archives are untrusted: everything is read
//! through `kiln-archive`'s bounded readers.
//!
//! ```text
//! pub fn canonicalize_sdist(archive_name: &str, bytes: &[u8], epoch: Epoch, deflate: Deflate, limits: &Limits) -> Result<Vec<u8>, CanonError>;
//! pub fn canonicalize_wheel(archive_name: &str, bytes: &[u8], epoch: Epoch, deflate: Deflate, limits: &Limits) -> Result<Vec<u8>, CanonError>;
//! pub fn check_record(archive_name: &str, wheel: &ZipArchive) -> Result<(), CanonError>;
//! pub fn member_differences(a: &[u8], b: &[u8], kind: ArchiveKind, limits: &Limits) -> Result<Vec<MemberDifference>, CanonError>;
//! ```

mod csv;
mod diff;
mod error;
mod record;
mod sdist;
mod wheel;

pub use diff::{ArchiveKind, MemberDifference, member_differences};
pub use error::CanonError;
pub use record::check_record;
pub use sdist::canonicalize_sdist;
pub use wheel::canonicalize_wheel;
