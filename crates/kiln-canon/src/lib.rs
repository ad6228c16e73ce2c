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
//! `error` (the one error type), `file` (files on disk normalized
//! atomically, many on a few threads: `normalize`'s engine). Archives are untrusted: everything is read
//! through `kiln-archive`'s bounded readers.
//!
//! ```text
//! pub fn canonicalize_sdist(archive_name: &str, bytes: &[u8], epoch: Epoch, deflate: Deflate, limits: &Limits) -> Result<Vec<u8>, CanonError>;
//! pub fn canonicalize_wheel(archive_name: &str, bytes: &[u8], epoch: Epoch, deflate: Deflate, limits: &Limits) -> Result<Vec<u8>, CanonError>;
//! pub fn canonicalize_sdist_stream<R: Read, W: Write>(archive_name: &str, reader: R, spool: &mut std::fs::File,
//!     epoch: Epoch, deflate: Deflate, limits: &Limits, out: W) -> Result<W, CanonError>;
//! pub fn canonicalize_wheel_stream<R: Read + Seek, W: Write + Seek>(archive_name: &str, reader: R,
//!     epoch: Epoch, deflate: Deflate, limits: &Limits, out: W) -> Result<W, CanonError>;
//! pub fn check_record(archive_name: &str, wheel: &ZipArchive) -> Result<(), CanonError>;
//! pub struct MemberDigest { pub path: String, pub sha256: [u8; 32], pub size: u64 }   // + MemberDigest::of_bytes(path, bytes)
//! pub struct RecordProblem { pub member: String, pub problem: String }
//! pub fn record_path<'p>(archive_name: &str, member_paths: impl IntoIterator<Item = &'p str> + Clone) -> Result<String, CanonError>;
//! pub fn record_problems(archive_name: &str, members: &[MemberDigest], record_bytes: &[u8],
//!     sha512_of: &mut dyn FnMut(&str) -> Result<[u8; 64], CanonError>) -> Result<Vec<RecordProblem>, CanonError>;
//! pub fn member_differences(a: &[u8], b: &[u8], kind: ArchiveKind, limits: &Limits) -> Result<Vec<MemberDifference>, CanonError>;
//! ```
//!
//! The `_stream` forms give the same bytes and the same errors as the
//! in-memory ones (which are built on them) with memory bounded by the
//! largest member (an sdist's: flat): an sdist's data is spooled, in archive
//! order, into the caller's empty temporary `spool` file and streamed back
//! in sorted order; a
//! wheel is read twice (hash every member for the RECORD check, then copy
//! in canonical order). `record_problems` checks RECORD from the digests of
//! the wheel's regular files (`members`), listing every problem sorted by
//! member; it errs only when RECORD cannot be found (not exactly one
//! `.dist-info`, no RECORD: `record_path` says which) or `sha512_of` fails.
//! `sha512_of(path)` is asked only for a row that records a sha512.
//! `check_record` refuses on the first problem, as a typed `CanonError`.

mod csv;
mod diff;
mod error;
pub mod file;
mod record;
mod sdist;
mod wheel;

pub use diff::{ArchiveKind, MemberDifference, member_differences};
pub use error::CanonError;
pub use record::{MemberDigest, RecordProblem, check_record, record_path, record_problems};
pub use sdist::{canonicalize_sdist, canonicalize_sdist_stream};
pub use wheel::{canonicalize_wheel, canonicalize_wheel_stream};
