//! Bounds for reading untrusted archives. Every reader checks each bound
//! *before* allocating or inflating on the strength of a header's claim.

/// Bounds applied by `read_tar_gz` and `read_zip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Members (including directories and metadata headers such as pax).
    pub max_entries: u64,
    /// Uncompressed bytes of one member.
    pub max_entry_size: u64,
    /// Uncompressed bytes of all members together.
    pub max_total_size: u64,
    /// Uncompressed / compressed bytes (whole gzip stream, or per zip
    /// member); only checked once the uncompressed side passes
    /// `ratio_floor`, since tiny inputs compress absurdly well.
    pub max_ratio: u64,
    /// Size below which the ratio is not checked.
    pub ratio_floor: u64,
    /// Bytes of a member path.
    pub max_path_len: u64,
    /// Bytes of one pax extended header or GNU long-name block.
    pub max_pax_header: u64,
}

impl Default for Limits {
    /// Generous for real sdists and wheels (the largest wheels on PyPI hold
    /// members of a few hundred MiB), small enough that a bomb is stopped
    /// long before it exhausts a CI runner.
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_entry_size: 2 << 30,
            max_total_size: 8 << 30,
            // Deflate cannot beat ~1032:1, so this only trips on nested or
            // degenerate streams; kept as a second line behind the sizes.
            max_ratio: 1_000,
            ratio_floor: 1 << 20,
            max_path_len: 4_096,
            max_pax_header: 1 << 20,
        }
    }
}
