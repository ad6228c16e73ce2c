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
//!   pieces (compressed in parallel with rayon), never by archive size. The
//!   bytes never depend on the number of threads.
//! - `Deflated::new` deflates a member's data once, on any thread;
//!   `TarGzWriter::add_deflated` and `ZipWriter::add_deflated` take it and
//!   write exactly the bytes `add_file` writes from the raw data.
//! - `finish` returns the inner writer after writing the trailer.
//! - Readers of untrusted archives stream, so memory is flat in the size
//!   of the archive (a buffer, plus each member's metadata):
//!
//! ```text
//! pub fn visit_tar_gz<R: Read>(archive: &str, reader: R, limits: &Limits,
//!     visit: &mut dyn FnMut(&TarMember, &mut dyn Read) -> Result<(), ArchiveError>)
//!     -> Result<TarGzArchive, ArchiveError>;
//! pub fn read_tar_gz<R: Read>(archive: &str, reader: R, limits: &Limits) -> Result<TarGzArchive, ArchiveError>;
//! impl<R: Read + Seek> ZipReader<R> {
//!     pub fn open(archive: &str, reader: R, limits: &Limits) -> Result<Self, ArchiveError>;
//!     pub fn archive(&self) -> &ZipArchive;
//!     pub fn copy_member(&mut self, index: usize, out: &mut dyn Write) -> Result<u64, ArchiveError>;
//!     pub fn member_reader(&mut self, index: usize) -> Result<MemberReader<'_, R>, ArchiveError>;
//!     pub fn into_inner(self) -> R;
//! }
//! pub fn read_zip(archive: &str, bytes: &[u8], limits: &Limits) -> Result<ZipArchive, ArchiveError>;
//! ```
//!
//!   `visit_tar_gz` calls `visit` once per member (files and directories,
//!   in archive order) with its metadata (`data` empty, `size` set) and a
//!   reader over exactly its data; what the visitor leaves unread is
//!   drained. A failure underneath the visitor's reads (a bound,
//!   truncation, corrupt gzip) is returned as that precise error naming
//!   the entry, whatever the visitor returned. `ZipReader::open` makes
//!   every check that needs no inflating; `copy_member` streams one
//!   member, stopping as soon as the output passes the declared size and
//!   checking size and CRC32. `read_tar_gz` and `read_zip` are the
//!   in-memory forms (every member's `data` filled), built on these.
//!
//! Codemap: `tar_write` + `gzip_write` (the sdist container), `zip_write`
//! (the wheel container), `list` (dry run), `limits` + `tar_read` +
//! `gunzip` + `zip_read` (bounded readers for untrusted archives, exposing
//! the container metadata a diff engine compares).

mod deflated;
mod error;
mod gunzip;
mod gzip_write;
mod limits;
mod list;
mod path;
mod tar_header;
mod tar_read;
mod tar_write;
mod zip_member;
mod zip_read;
mod zip_write;

pub use deflated::{Deflated, FINAL_EMPTY_BLOCK};
pub use error::ArchiveError;
pub use gunzip::GzipInfo;
pub use limits::{Limits, MAX_GZIP_TRAILING_ZEROS, MAX_TAR_TRAILING_ZEROS, PAX_RECORD_COST};
pub use list::{ListWriter, ListedFile};
pub use path::validate_member_path;
pub use tar_read::{TarFormat, TarGzArchive, TarKind, TarMember, read_tar_gz, visit_tar_gz_with};

/// [`visit_tar_gz_with`], refusing a member whose name an earlier one had.
pub fn visit_tar_gz<R: std::io::Read>(
    archive: &str,
    reader: R,
    limits: &Limits,
    visit: &mut dyn FnMut(&TarMember, &mut dyn std::io::Read) -> Result<(), ArchiveError>,
) -> Result<TarGzArchive, ArchiveError> {
    visit_tar_gz_with(archive, reader, limits, false, visit)
}
pub use tar_write::{PAX_HEADER_NAME, TarGzWriter};
pub use zip_member::MemberReader;
pub use zip_read::{ZipArchive, ZipKind, ZipMember, ZipReader, read_zip};
pub use zip_write::{
    STREAM_ABOVE as ZIP_STREAM_ABOVE, ZIP_VERSION_MADE_BY, ZIP_VERSION_NEEDED, ZipWriter,
    dos_date_time,
};

/// gzip header XFL byte kiln writes; see `gzip_write` for why.
pub use gzip_write::GZIP_XFL;

/// Deflate settings; every value is a pin from `pinned-toolchain.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflate {
    /// 0..=9; zlib's levels (zlib-rs). The level of every wheel member and
    /// of the sdist's data segments shared with the wheel.
    pub level: u32,
    /// Uncompressed bytes per independently deflated piece of a member's
    /// data (and of the tar headers between members); see `Deflated`.
    pub gzip_chunk_size: usize,
    /// Members of fewer bytes than this (and more than none) are *solid*:
    /// the sdist deflates them together with the tar headers around them,
    /// with the stream's history, and the wheel deflates them on their own
    /// as complete streams. At most [`ZIP_STREAM_ABOVE`].
    pub solid_below: u64,
    /// 0..=9: the level of what only the sdist deflates (its headers,
    /// padding and solid members).
    pub solid_level: u32,
}

impl Deflate {
    /// Whether a member of `size` bytes is solid (see `solid_below`).
    pub fn is_solid(&self, size: u64) -> bool {
        size > 0 && size < self.solid_below
    }
}

/// Anything that accepts the members of an archive.
pub trait ArchiveWriter {
    fn add_file(&mut self, path: &str, data: &[u8], executable: bool) -> Result<(), ArchiveError>;

    /// Adds a member whose `size` bytes come from `data` (which must yield
    /// exactly that many: fewer is an error naming the member, and bytes
    /// past `size` are not read). The bytes written are exactly those of
    /// `add_file` with the same data. `TarGzWriter` streams them (memory
    /// flat in `size`); this default reads them whole, so writers that
    /// cannot stream (or, for `ZipWriter`, have no `Seek`: see
    /// `ZipWriter::add_reader_seekable`) still take readers.
    fn add_reader(
        &mut self,
        path: &str,
        size: u64,
        data: &mut dyn std::io::Read,
        executable: bool,
    ) -> Result<(), ArchiveError> {
        let bytes = read_exact_member(path, size, data)?;
        self.add_file(path, &bytes, executable)
    }
}

/// The `size` bytes of a member from `data`, as `add_reader` takes them.
pub(crate) fn read_exact_member(
    path: &str,
    size: u64,
    data: &mut dyn std::io::Read,
) -> Result<Vec<u8>, ArchiveError> {
    let read_err = |source| ArchiveError::Read {
        archive: "source".to_owned(),
        entry: path.to_owned(),
        source,
    };
    let len = usize::try_from(size).map_err(|_| {
        read_err(std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            "the member does not fit in memory",
        ))
    })?;
    let mut bytes = vec![0u8; len];
    data.read_exact(&mut bytes).map_err(read_err)?;
    Ok(bytes)
}
