//! Canonicalizing archives made by other tools (SPEC "Canonicalizing"):
//! every member's path, bytes and executable bit are kept; only the
//! container is rewritten into kiln's canonical form.
//!
//! CONTRACT (skeleton by the integrator; the implementer keeps these
//! signatures and may add):
//!
//! ```ignore
//! pub fn canonicalize_sdist(archive_name: &str, bytes: &[u8], epoch: Epoch, deflate: Deflate, limits: &Limits) -> Result<Vec<u8>, CanonError>;
//! pub fn canonicalize_wheel(archive_name: &str, bytes: &[u8], epoch: Epoch, deflate: Deflate, limits: &Limits) -> Result<Vec<u8>, CanonError>;
//! pub fn check_record(archive_name: &str, wheel: &ZipArchive) -> Result<(), CanonError>;
//! pub fn member_differences(a: &[u8], b: &[u8], kind: ArchiveKind, limits: &Limits) -> Result<Vec<MemberDifference>, CanonError>;
//! ```
