//! The diff engine behind `cargo xtask diff A B` and `cargo xtask verify`
//! (SPEC "Verification and diffing"): for two sdists or two wheels, one of
//! three answers, each with its details.
//!
//! 1. **Identical bytes** -- both files are stream-hashed first; nothing is
//!    parsed when they agree.
//! 2. **Same content, different container** -- content is every regular
//!    file's path (an sdist's relative to its single top-level directory,
//!    `./` stripped; a wheel's as is), bytes and executable bit. Everything
//!    else is container, listed by [`Category`] with a count and examples.
//! 3. **Different content** -- members added, removed, changed (a unified
//!    diff for text, sizes and sha256 for binary), METADATA / PKG-INFO field
//!    by field, and each wheel's RECORD checked against its own members.
//!    The top-level directory of an sdist and a wheel's `.dist-info` /
//!    `.data` directories are paired across a rename (reported once), so a
//!    version bump lists only the members that really changed.
//!
//! Memory is flat in archive size: pass 1 reads each archive once, keeping
//! per member its header fields, sha256 and size (and the bytes of
//! METADATA, PKG-INFO and RECORD, capped); pass 2 re-reads only members
//! whose text diff is shown, in bounded batches. Archives are untrusted:
//! all parsing is `kiln-archive`'s bounded readers', and every refusal is a
//! [`DiffError`] naming the archive and the entry.
//!
//! Codemap: `source` (the readers; pass 1 and pass 2), `pairing` (which
//! member of `a` is which of `b`), `members` (content changes and their
//! text diffs), `container` (container differences), `metadata` (core
//! metadata field by field), `record` (RECORD against members), `text`
//! (unified diffs), `render` (the human report, every untrusted string in
//! it through `escape`), `error`.

mod container;
mod error;
pub mod escape;
mod members;
mod metadata;
mod pairing;
mod record;
mod render;
mod source;
mod text;

use std::fmt;
use std::path::Path;

use serde::Serialize;

pub use error::DiffError;

/// What a diff may read and show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffOptions {
    /// Bounds for reading the (untrusted) archives.
    pub limits: kiln_archive::Limits,
    /// Lines of unified diff shown per member (and per metadata field).
    pub max_diff_lines: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            limits: kiln_archive::Limits::default(),
            max_diff_lines: 200,
        }
    }
}

/// Which kind of artifact both archives are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveKind {
    /// A `.tar.gz` source distribution.
    Sdist,
    /// A `.whl` zip.
    Wheel,
}

impl ArchiveKind {
    /// From a file name: `.whl` or `.tar.gz`.
    pub fn from_file_name(name: &str) -> Option<Self> {
        if name.ends_with(".whl") {
            Some(Self::Wheel)
        } else if name.ends_with(".tar.gz") {
            Some(Self::Sdist)
        } else {
            None
        }
    }
}

impl fmt::Display for ArchiveKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sdist => "an sdist",
            Self::Wheel => "a wheel",
        })
    }
}

/// The answer, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// The same bytes.
    Identical,
    /// The same content (paths, bytes, executable bits) in another container.
    SameContent,
    /// Members added, removed, changed or renamed.
    DifferentContent,
}

/// One archive file: its sha256 (hex) and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct FileDigest {
    pub sha256: String,
    pub size: u64,
}

/// A directory renamed between `a` and `b` (an sdist's top-level
/// directory; a wheel's `.dist-info` or `.data`), whose members were paired
/// across the rename. Both names end in `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Rename {
    pub a: String,
    pub b: String,
}

/// What kind of container difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// The same members in another order.
    MemberOrder,
    /// tar mtime, pax mtime/atime/ctime, zip DOS date and time.
    Timestamps,
    /// Permission bits other than the executable bit (which is content).
    Modes,
    /// uid, gid, uname, gname.
    Owners,
    /// zip method or compressed sizes; a different deflate stream in gzip.
    Compression,
    /// gzip mtime, OS, XFL, FNAME, comment, extra field, member count.
    GzipHeader,
    /// pax extended records other than times and owners, per member and
    /// global.
    PaxRecords,
    /// ustar / GNU / V7 headers, GNU long names, the ustar prefix field,
    /// the type flag.
    TarFormat,
    /// Directory entries present on one side only.
    DirectoryEntries,
    /// `./` prefixes on member names.
    DotSlashPrefixes,
    /// zip extra fields (local or central).
    ZipExtraFields,
    /// zip member and archive comments.
    ZipComments,
    /// zip data descriptors (flag bit 3).
    DataDescriptors,
    /// The zip UTF-8 name flag (bit 11).
    Utf8Flag,
    /// zip "version made by" (host system and zip version).
    VersionMadeBy,
    /// zip "version needed to extract".
    VersionNeeded,
    /// Other zip flag bits and the internal attributes.
    ZipFlags,
    /// Zero bytes after the tar end-of-archive blocks, or after the gzip
    /// stream.
    TrailingPadding,
    /// The bytes differ somewhere this diff does not break down.
    Other,
}

impl Category {
    /// How the human report names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::MemberOrder => "member order",
            Self::Timestamps => "timestamps",
            Self::Modes => "modes",
            Self::Owners => "owners",
            Self::Compression => "compression",
            Self::GzipHeader => "gzip header",
            Self::PaxRecords => "pax records",
            Self::TarFormat => "tar format",
            Self::DirectoryEntries => "directory entries",
            Self::DotSlashPrefixes => "./ prefixes",
            Self::ZipExtraFields => "zip extra fields",
            Self::ZipComments => "zip comments",
            Self::DataDescriptors => "data descriptors",
            Self::Utf8Flag => "UTF-8 flag",
            Self::VersionMadeBy => "version made by",
            Self::VersionNeeded => "version needed",
            Self::ZipFlags => "zip flags",
            Self::TrailingPadding => "trailing padding",
            Self::Other => "other container bytes",
        }
    }
}

/// One category of container difference: how many members (or
/// archive-level fields) differ in it, and the first few of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct ContainerDifference {
    pub category: Category,
    pub count: u64,
    /// At most a few, each "member: a-value vs b-value".
    pub examples: Vec<String>,
}

/// Whether a member was added, removed or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Only in `b`.
    Added,
    /// Only in `a`.
    Removed,
    /// In both, with other bytes or another executable bit.
    Changed,
}

/// One side of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct MemberState {
    /// The path in this archive (`./` stripped).
    pub path: String,
    pub size: u64,
    /// Hex.
    pub sha256: String,
    pub executable: bool,
}

/// A unified diff, cut after the caller's line budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct TextDiff {
    /// `---`/`+++` headers, then hunks (`@@`, ` `, `-`, `+` lines), without
    /// line ends.
    pub lines: Vec<String>,
    /// Lines of hunks the whole diff has (the two headers not counted).
    pub total_lines: usize,
    /// `lines` stops short of the whole diff (the caller's budget).
    pub truncated: bool,
    /// A minimal diff. `false` when too many lines differ for one to be
    /// computed in bounded time: the changed region between the common
    /// first and last lines is then shown as one hunk.
    pub minimal: bool,
}

/// How a changed member's bytes are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ChangeDetail {
    /// Added or removed: nothing to compare.
    None,
    /// Same bytes; only the executable bit changed.
    ExecutableBit,
    /// Text on both sides: a unified diff.
    Text(TextDiff),
    /// Text, but too large for a line diff here.
    TextTooLarge { reason: String },
    /// Binary on at least one side: sizes and sha256 (in `a` and `b`).
    Binary,
    /// The core metadata file: compared field by field in `metadata`.
    Metadata,
    /// A wheel's RECORD: checked against the members in `record`.
    Record,
}

/// One member added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct MemberChange {
    /// The path in `a` (in `b` when added), `./` stripped.
    pub path: String,
    pub change: ChangeKind,
    pub a: Option<MemberState>,
    pub b: Option<MemberState>,
    pub detail: ChangeDetail,
}

/// Member changes a report counts but does not list (past the first
/// 10,000 by path).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Unlisted {
    pub changed: usize,
    pub added: usize,
    pub removed: usize,
}

impl Unlisted {
    /// Nothing left unlisted.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// How a metadata field changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum FieldChangeKind {
    Added,
    Removed,
    Changed,
    /// The same values in another order.
    Reordered,
}

/// One core metadata field (or the body) that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct FieldChange {
    /// As `a` spells it (`b` when added); `(body)` for the description
    /// after the headers.
    pub field: String,
    pub change: FieldChangeKind,
    /// Every value on each side, in order.
    pub a: Vec<String>,
    pub b: Vec<String>,
    /// Values only in `a` / only in `b` (as multisets).
    pub removed: Vec<String>,
    pub added: Vec<String>,
    /// For multi-line values and the body.
    pub diff: Option<TextDiff>,
}

/// The outcome of checking one wheel's RECORD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum RecordStatus {
    /// An sdist: it has no RECORD.
    NotApplicable,
    /// The archives are identical, so neither was opened.
    NotChecked,
    /// Every member has its row, every row its member, hashes and sizes
    /// agree.
    Ok,
    /// See `problems`.
    Problems,
}

/// One thing wrong between a RECORD and the members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct RecordProblem {
    pub member: String,
    pub problem: String,
}

/// One side's RECORD check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct RecordCheck {
    pub status: RecordStatus,
    /// The RECORD's path, when the wheel has one `.dist-info` directory.
    pub record: Option<String>,
    pub problems: Vec<RecordProblem>,
}

/// RECORD checked against its own members, on both sides: a RECORD that
/// does not match its wheel is reported even when both sides agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct RecordChecks {
    pub a: RecordCheck,
    pub b: RecordCheck,
}

/// The answer for one pair of archives. Serializes (kebab-case) for
/// `--json`; [`DiffReport::render`] is the human form.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct DiffReport {
    /// The archives as the caller named them.
    pub a: String,
    pub b: String,
    pub kind: ArchiveKind,
    pub level: Level,
    pub a_file: FileDigest,
    pub b_file: FileDigest,
    /// Directories paired across a rename.
    pub renames: Vec<Rename>,
    /// Container differences (also listed when the content differs).
    pub container: Vec<ContainerDifference>,
    /// Content differences, sorted by path: the first 10,000.
    pub members: Vec<MemberChange>,
    /// Content differences past those, counted (in JSON only when any).
    #[serde(skip_serializing_if = "Unlisted::is_empty")]
    pub unlisted: Unlisted,
    /// Core metadata (wheel METADATA, sdist PKG-INFO), field by field.
    pub metadata: Vec<FieldChange>,
    pub record: RecordChecks,
    /// Anything the diff could not do as usual (no single top-level
    /// directory, a metadata file missing or too large, ...).
    pub notes: Vec<String>,
}

impl DiffReport {
    /// The same bytes.
    pub fn is_identical(&self) -> bool {
        self.level == Level::Identical
    }

    /// (changed, added, removed) members, listed or not.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |k| self.members.iter().filter(|m| m.change == k).count();
        (
            n(ChangeKind::Changed) + self.unlisted.changed,
            n(ChangeKind::Added) + self.unlisted.added,
            n(ChangeKind::Removed) + self.unlisted.removed,
        )
    }

    /// Either side's RECORD disagrees with its members.
    pub fn has_record_problems(&self) -> bool {
        self.record.a.status == RecordStatus::Problems
            || self.record.b.status == RecordStatus::Problems
    }

    /// The human report: a headline (`identical`, `same content, container
    /// differs: timestamps, compression`, `different content: 1 changed, 1
    /// added, 0 removed`), then the details.
    pub fn render(&self) -> String {
        render::render(self)
    }
}

/// The kind of one archive, from its file name (or, failing that, the name
/// it goes by in the report).
fn kind_of(path: &Path, name: &str) -> Result<ArchiveKind, DiffError> {
    path.file_name()
        .and_then(|f| f.to_str())
        .and_then(ArchiveKind::from_file_name)
        .or_else(|| ArchiveKind::from_file_name(name))
        .ok_or_else(|| DiffError::UnknownKind {
            archive: name.to_owned(),
        })
}

/// Compare the archives at `a` and `b`. `a_name`/`b_name` are how the
/// archives are named in the report and errors. The kind comes from the
/// file names (`.whl` / `.tar.gz`); both must agree.
pub fn diff_files(
    a: &Path,
    b: &Path,
    a_name: &str,
    b_name: &str,
    opts: &DiffOptions,
) -> Result<DiffReport, DiffError> {
    let kind = kind_of(a, a_name)?;
    let b_kind = kind_of(b, b_name)?;
    if kind != b_kind {
        return Err(DiffError::KindMismatch {
            a: a_name.to_owned(),
            b: b_name.to_owned(),
            a_kind: kind,
            b_kind,
        });
    }
    diff_as(kind, a, b, a_name, b_name, opts)
}

/// [`diff_files`] for two archives of a kind the caller knows (a `.tgz`
/// or `.zip` distfile, whose name does not say sdist or wheel: a tar.gz
/// is read as an sdist, a zip as a wheel).
pub fn diff_as(
    kind: ArchiveKind,
    a: &Path,
    b: &Path,
    a_name: &str,
    b_name: &str,
    opts: &DiffOptions,
) -> Result<DiffReport, DiffError> {
    let (a_sha, a_size) = source::hash_file(a, a_name, 0)?;
    let (b_sha, b_size) = source::hash_file(b, b_name, 0)?;
    let digest = |sha256: &[u8; 32], size| FileDigest {
        sha256: kiln_digest::hex(sha256),
        size,
    };
    let mut report = DiffReport {
        a: a_name.to_owned(),
        b: b_name.to_owned(),
        kind,
        level: Level::Identical,
        a_file: digest(&a_sha, a_size),
        b_file: digest(&b_sha, b_size),
        renames: Vec::new(),
        container: Vec::new(),
        members: Vec::new(),
        unlisted: Unlisted::default(),
        metadata: Vec::new(),
        record: RecordChecks {
            a: record::not(kind),
            b: record::not(kind),
        },
        notes: Vec::new(),
    };
    if (a_sha, a_size) == (b_sha, b_size) {
        return Ok(report);
    }

    let capture = |path: &str| pairing::is_captured(kind, path);
    let scan_a = source::scan(kind, a, a_name, &opts.limits, &capture)?;
    let scan_b = source::scan(kind, b, b_name, &opts.limits, &capture)?;
    let pairs = pairing::pair(kind, &scan_a, &scan_b);
    report.notes.extend(pairs.notes.iter().cloned());
    report.renames = pairs
        .renames
        .iter()
        .map(|(a, b)| Rename {
            a: format!("{a}/"),
            b: format!("{b}/"),
        })
        .collect();

    let meta = pairing::metadata_members(kind, &pairs, &scan_a, &scan_b);
    let sides = members::Sides {
        kind,
        a: members::Side {
            path: a,
            name: a_name,
            scan: &scan_a,
        },
        b: members::Side {
            path: b,
            name: b_name,
            scan: &scan_b,
        },
    };
    (report.members, report.unlisted) = members::changes(&sides, &pairs, &meta, opts)?;
    let unlisted = report.unlisted.changed + report.unlisted.added + report.unlisted.removed;
    if unlisted > 0 {
        report.notes.push(format!(
            "{unlisted} more member changes are counted, not listed (a report lists the first {} by path)",
            members::MAX_LISTED_CHANGES
        ));
    }
    let (fields, notes) = metadata::compare(&sides, &meta, opts.max_diff_lines);
    report.metadata = fields;
    report.notes.extend(notes);
    if kind == ArchiveKind::Wheel {
        report.record = RecordChecks {
            a: record::check(&sides.a, &opts.limits)?,
            b: record::check(&sides.b, &opts.limits)?,
        };
    }
    let content_differs = !report.members.is_empty() || !report.renames.is_empty();
    report.container =
        container::compare(
            &sides,
            &pairs,
            content_differs,
            &mut |(start_a, end_a), (start_b, end_b)| {
                Ok(source::hash_range(a, a_name, start_a, end_a)?
                    != source::hash_range(b, b_name, start_b, end_b)?)
            },
        )?;
    report.level = if content_differs {
        Level::DifferentContent
    } else {
        Level::SameContent
    };
    Ok(report)
}
