//! Bounds for reading untrusted archives. Every reader checks each bound
//! *before* allocating or inflating on the strength of a header's claim.
//!
//! What each bound is for, and why its default is what it is:
//!
//! - `max_entries`, `max_entry_size`, `max_total_size`, `max_path_len`:
//!   what a member list and its data may claim. Generous for real sdists
//!   and wheels (the largest wheels on PyPI hold members of a few hundred
//!   MiB); a zip's 65,535 entries without zip64 are well inside.
//! - `max_pax_header` (1 MiB): the body of one pax `x`/`g` header or GNU
//!   long-name block, read into memory whole before it is parsed.
//! - `max_pax_record` (128 KiB): one pax record, length and newline
//!   included. A path is at most `max_path_len`; the largest legitimate
//!   records are extended attributes (Linux caps a value at 64 KiB, which
//!   base64 makes 86 KiB).
//! - `max_pax_total` (16 MiB): the pax records *kept* for one archive (every
//!   member's and every global header's), each record charged its length
//!   plus [`PAX_RECORD_COST`] bytes for the bookkeeping of keeping it. The
//!   readers hand every member's records to the caller and keep them for
//!   the result, so without this a small archive of many large (or many
//!   tiny) records costs gigabytes: 200 headers of 1 MiB of six-byte
//!   records once made `diff` reach 7.6 GB. 16 MiB holds the time and path
//!   records GNU tar's `--format=posix` writes for every member of an
//!   archive of some 30,000 members.
//! - `max_path_total` (16 MiB): the bytes of a tar's member paths, which
//!   are kept for every member. A tar.gz compresses names as well as data,
//!   so 100,000 GNU long names of 4 KiB each fit in 1.5 MB and once made
//!   `diff` reach 1 GB; 16 MiB is 100,000 paths of 167 bytes. (A zip
//!   stores each name twice, uncompressed: its size bounds its names.)
//! - `max_ratio` over `ratio_window` (1000 over each 8 MiB): the gzip
//!   stream's uncompressed / compressed bytes, checked over each window of
//!   `ratio_window` uncompressed bytes, never cumulatively, so incompressible
//!   data at the front buys no budget for a bomb behind it; a bomb is
//!   stopped within two windows of output. Deflate cannot beat ~1032:1, so
//!   only a window of nearly constant bytes trips it. A zip member's ratio
//!   is checked on its declared sizes, above `ratio_floor`.
//! - [`MAX_TAR_TRAILING_ZEROS`] and [`MAX_GZIP_TRAILING_ZEROS`] (1 MiB
//!   each): zero bytes after the tar end-of-archive blocks (tools pad to a
//!   10,240-byte record, some to more) and after the last gzip member (tape
//!   and block-device padding; GNU gzip ignores it). Any non-zero byte
//!   there is refused: nothing may hide behind the archive.

/// What keeping one pax record costs beyond its bytes (the key's `String`,
/// the value's `Vec` and their allocations), charged against
/// `max_pax_total` so that many tiny records cannot slip under it.
pub const PAX_RECORD_COST: u64 = 128;

/// Zero bytes tolerated after a tar's two end-of-archive blocks.
pub const MAX_TAR_TRAILING_ZEROS: u64 = 1 << 20;

/// Zero bytes tolerated after the last member of a gzip stream.
pub const MAX_GZIP_TRAILING_ZEROS: u64 = 1 << 20;

/// Bounds applied by `read_tar_gz` and `read_zip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Members (including directories and metadata headers such as pax).
    pub max_entries: u64,
    /// Uncompressed bytes of one member.
    pub max_entry_size: u64,
    /// Uncompressed bytes of all members together.
    pub max_total_size: u64,
    /// Uncompressed / compressed bytes: over each window of `ratio_window`
    /// uncompressed bytes of a gzip stream, or per zip member (declared
    /// sizes, once the member passes `ratio_floor`, since tiny inputs
    /// compress absurdly well).
    pub max_ratio: u64,
    /// Size of a zip member below which its ratio is not checked.
    pub ratio_floor: u64,
    /// Uncompressed bytes of a gzip stream over which `max_ratio` is
    /// checked, window after window; a stream (or its last part) shorter
    /// than one window is not checked.
    pub ratio_window: u64,
    /// Bytes of a member path.
    pub max_path_len: u64,
    /// Bytes of all member paths of a tar together.
    pub max_path_total: u64,
    /// Bytes of one pax extended header or GNU long-name block.
    pub max_pax_header: u64,
    /// Bytes of one pax record (`"%d %s=%s\n"`, all of it).
    pub max_pax_record: u64,
    /// Bytes of pax records kept per archive, each charged its length
    /// plus [`PAX_RECORD_COST`].
    pub max_pax_total: u64,
}

impl Default for Limits {
    /// Generous for real sdists and wheels, small enough that a bomb is
    /// stopped long before it exhausts a CI runner; see the module
    /// documentation for each value's reason.
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_entry_size: 2 << 30,
            max_total_size: 8 << 30,
            // Deflate cannot beat ~1032:1, so this only trips on nested or
            // degenerate streams; kept as a second line behind the sizes.
            max_ratio: 1_000,
            ratio_floor: 1 << 20,
            ratio_window: 8 << 20,
            max_path_len: 4_096,
            max_path_total: 16 << 20,
            max_pax_header: 1 << 20,
            max_pax_record: 128 << 10,
            max_pax_total: 16 << 20,
        }
    }
}
