//! Canonical archives: the tar.gz and zip containers of kiln's canonical
//! form, written byte for byte as SPEC.md "The determinism contract" says,
//! and bounded readers for archives made by anyone.
//!
//! This crate knows nothing of Python: it moves (path, bytes, executable)
//! triples in and out of containers. What goes in, and in which order, is
//! the caller's business; how it is laid out on disk is this crate's.
//!
//! CONTRACT (skeleton written by the integrator; the implementer may add to
//! it but must keep these signatures):
//!
//! - `ArchiveWriter` is implemented by `TarGzWriter`, `ZipWriter` and the
//!   dry-run `ListWriter`.
//! - `add_file` takes members in the order they must appear. `TarGzWriter`
//!   refuses a path that is not bytewise greater than the previous one
//!   (canonical sdists are sorted); all writers refuse duplicates, empty
//!   paths, absolute paths, `.`/`..` components and backslashes.
//! - Writers stream: memory is bounded by a window of pending members /
//!   chunks (compressed in parallel with rayon), never by archive size. The
//!   bytes never depend on the number of threads.
//! - `finish` returns the inner writer after writing the trailer.

use std::io::Write;

/// Deflate settings; both values are pins from `pinned-toolchain.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflate {
    /// 0..=9; miniz_oxide's levels.
    pub level: u32,
    /// Uncompressed bytes per independently-compressed gzip chunk.
    pub gzip_chunk_size: usize,
}

/// Anything that accepts the members of an archive.
pub trait ArchiveWriter {
    fn add_file(&mut self, path: &str, data: &[u8], executable: bool) -> Result<(), ArchiveError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("placeholder")]
    Placeholder,
}

/// Canonical pax tar inside a canonical gzip stream.
#[derive(Debug)]
pub struct TarGzWriter<W: Write> {
    inner: W,
}

impl<W: Write> TarGzWriter<W> {
    /// `mtime` is the epoch in seconds (every member gets it).
    pub fn new(_inner: W, _mtime: u64, _deflate: Deflate) -> Self {
        unimplemented!()
    }
    pub fn finish(self) -> Result<W, ArchiveError> {
        unimplemented!()
    }
}

/// Canonical zip.
#[derive(Debug)]
pub struct ZipWriter<W: Write> {
    inner: W,
}

impl<W: Write> ZipWriter<W> {
    /// `mtime` is the epoch in seconds, stored as a DOS time in UTC.
    pub fn new(_inner: W, _mtime: u64, _deflate: Deflate) -> Result<Self, ArchiveError> {
        unimplemented!()
    }
    pub fn finish(self) -> Result<W, ArchiveError> {
        unimplemented!()
    }
}

/// One member as a dry run sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub path: String,
    pub size: u64,
    pub executable: bool,
}

/// Dry-run writer: records what would be written.
#[derive(Debug, Default)]
pub struct ListWriter {
    pub files: Vec<ListedFile>,
}
