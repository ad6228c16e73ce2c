//! The `--json` output of every kiln command, as serde types.
//!
//! With `--json`, a command prints exactly one JSON object on stdout: its
//! report ([`Report`], told apart by `"command"`), or, when it failed
//! before it had one, an [`ErrorReport`]. Both carry `"schema":
//! "kiln-report/1"` ([`SCHEMA`]). Within one version fields are only ever
//! added; renaming or removing a field, or changing what a value means,
//! makes `kiln-report/2` (docs/report-format.md).
//!
//! The JSON Schema of all of it ([`json_schema`]) is derived from these
//! very types, so the published schema (docs/kiln-report.schema.json)
//! cannot drift from what the commands print. Diffs embed
//! [`kiln_diff::DiffReport`] as it is; build modes and artifact kinds are
//! `kiln_names`' own types, in the same spelling as release.toml and the
//! record.

mod bench;
mod distfiles;
mod mirror;
mod rebuild;
mod tuf;
pub mod validate;
mod wheelhouse;

pub use bench::{
    BenchArtifact, BenchBackend, BenchBackendPart, BenchInput, BenchMemoryProbe, BenchOperation,
    BenchProject, BenchProjectResult, BenchReport, BenchResult, BenchTarget, ThreadCheck,
    ThreadCheckArtifact,
};
pub use distfiles::{
    ClassificationKind, DistfileClassification, DistfileMismatch, DistfileResult, DistfileStatus,
    DistfilesAction, DistfilesReport, SiteAttempt, SiteResult,
};
pub use wheelhouse::{
    VerifyWheelhouseReport, WheelhouseDifference, WheelhouseReport, WheelhouseWheel,
};

pub use tuf::{TufDownload, TufOperation, TufReport};

pub use mirror::{MirrorFile, MirrorOriginal, MirrorReport, MirrorSource};

pub use rebuild::{
    Inference, RebuildComparison, RebuildFailure, RebuildReport, RebuildTotals, RebuiltArtifact,
    RebuiltRelease, ReleaseStatus,
};

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use kiln_diff::DiffReport;
use kiln_digest::Digests;
use kiln_names::{ArtifactKind, BuildMode};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer};

/// The version of the report format: the value of every report's
/// `"schema"` field.
pub const SCHEMA: &str = "kiln-report/1";

/// The `"schema"` field: always [`SCHEMA`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Version;

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(SCHEMA)
    }
}

impl JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "Version".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "description": "The report format and its version.",
            "type": "string",
            "const": SCHEMA,
        })
    }
}

/// Everything a command prints with `--json`: its report, or an error.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Output {
    Report(Report),
    Error(ErrorReport),
}

/// A command's report, told apart by `"command"`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Report {
    Release(ReleaseReport),
    Build(BuildReport),
    Lock(LockReport),
    Keygen(KeygenReport),
    Verify(VerifyReport),
    Diff(DiffCommandReport),
    Normalize(NormalizeReport),
    Bench(BenchReport),
    Wheelhouse(WheelhouseReport),
    VerifyWheelhouse(VerifyWheelhouseReport),
    Distfiles(DistfilesReport),
    Tuf(TufReport),
    Mirror(MirrorReport),
    Rebuild(RebuildReport),
}

/// The commands, as `"command"` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    Release,
    Build,
    Lock,
    Keygen,
    Verify,
    Diff,
    Normalize,
    Ci,
    Bench,
    Wheelhouse,
    Distfiles,
    Tuf,
    Mirror,
    Serve,
    Rebuild,
}

/// What went wrong, printed instead of a report when a command fails
/// before it has one (a report already printed, such as `verify`'s with
/// `"verified": false`, is not followed by an error object).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorReport {
    pub schema: Version,
    /// The command that failed; null when the command line itself was
    /// not understood.
    pub command: Option<Command>,
    pub error: Error,
}

/// An error: what kind, the message a human sees on stderr, and the file
/// and field it is about where those are known (null otherwise).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Error {
    pub kind: ErrorKind,
    /// The whole message, its causes joined by `: `.
    pub message: String,
    /// The file, directory or URL the error is about, as the error itself
    /// names it (never guessed from the message).
    pub path: Option<String>,
    /// The field or key within it (a TOML key such as `project.version`,
    /// a flag, or an archive's member), as the error itself names it.
    pub field: Option<String>,
}

impl Error {
    /// The error object for `message` (an error and its causes, as the
    /// human line shows it), about no particular file or field.
    pub fn from_message(kind: ErrorKind, message: &str) -> Self {
        Self {
            kind,
            message: message.to_owned(),
            path: None,
            field: None,
        }
    }

    /// The same, about the file `path` and the `field` within it where the
    /// caller knows them from the error itself (never from its text).
    pub fn located(
        kind: ErrorKind,
        message: &str,
        path: Option<String>,
        field: Option<String>,
    ) -> Self {
        Self {
            path,
            field,
            ..Self::from_message(kind, message)
        }
    }
}

/// Which kind of failure, as the exit code tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// Exit 2: bad input (a missing or malformed file, a bad flag, a
    /// failed build).
    BadInput,
    /// Exit 1: artifacts differ, or a release did not verify.
    Mismatch,
}

impl ErrorKind {
    /// The process exit code that goes with it.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::BadInput => 2,
            Self::Mismatch => 1,
        }
    }
}

/// The epoch an artifact was built with, and where it came from.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EpochReport {
    /// Seconds since 1970-01-01 UTC.
    pub seconds: u64,
    /// `flag`, `SOURCE_DATE_EPOCH`, `record`, `git-commit`,
    /// `release.toml` or `default-1980`.
    pub source: String,
    /// The asked-for epoch was before 1980-01-01 and was raised to it.
    pub clamped: bool,
}

impl From<&kiln_names::ResolvedEpoch> for EpochReport {
    fn from(epoch: &kiln_names::ResolvedEpoch) -> Self {
        Self {
            seconds: epoch.epoch.seconds(),
            source: epoch.source.as_str().to_owned(),
            clamped: epoch.clamped,
        }
    }
}

/// `cargo xtask release --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseReport {
    pub schema: Version,
    /// The release directory.
    pub out: PathBuf,
    pub sha256sums: PathBuf,
    pub projects: Vec<ReleasedProject>,
}

/// One project of a release.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleasedProject {
    pub name: String,
    pub version: String,
    pub mode: BuildMode,
    pub epoch: EpochReport,
    /// The build record, relative to the checkout.
    pub record: PathBuf,
    /// The signed provenance statement, when one was written.
    pub provenance: Option<PathBuf>,
    /// Which key signed it (a human label).
    pub signing: String,
    /// Where the project is published, when release.toml says.
    pub publish: Option<Publish>,
    pub artifacts: Vec<ReleasedArtifact>,
}

/// A project's `[project.publish]`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    pub github: Option<String>,
    pub index: Option<String>,
}

/// One released artifact: built twice, the same bytes both times.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleasedArtifact {
    pub kind: ArtifactKind,
    pub filename: String,
    pub path: PathBuf,
    pub size: u64,
    /// Hex digests of the file.
    pub sha256: String,
    pub sha512: String,
    pub blake2s: String,
    /// Always true: a release fails rather than list an artifact that did
    /// not reproduce.
    pub reproduced: bool,
}

impl ReleasedArtifact {
    /// A reproduced artifact and its digests.
    pub fn new(kind: ArtifactKind, filename: &str, path: &Path, digests: &Digests) -> Self {
        Self {
            kind,
            filename: filename.to_owned(),
            path: path.to_owned(),
            size: digests.size,
            sha256: digests.sha256_hex(),
            sha512: digests.sha512_hex(),
            blake2s: digests.blake2s_hex(),
            reproduced: true,
        }
    }
}

/// `cargo xtask build --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildReport {
    pub schema: Version,
    pub project: String,
    pub version: String,
    pub mode: BuildMode,
    pub epoch: EpochReport,
    pub artifacts: Vec<BuiltArtifact>,
}

/// One built artifact.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuiltArtifact {
    pub kind: ArtifactKind,
    pub filename: String,
    pub path: PathBuf,
    pub size: u64,
    /// Hex.
    pub sha256: String,
}

impl BuiltArtifact {
    /// A built artifact and its digests.
    pub fn new(kind: ArtifactKind, filename: &str, path: &Path, digests: &Digests) -> Self {
        Self {
            kind,
            filename: filename.to_owned(),
            path: path.to_owned(),
            size: digests.size,
            sha256: digests.sha256_hex(),
        }
    }
}

/// `cargo xtask lock --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LockReport {
    pub schema: Version,
    /// The project directory.
    pub project: PathBuf,
    /// The lock file.
    pub lock: PathBuf,
    /// The lock on disk already said this, and was left as it was.
    pub unchanged: bool,
    #[serde(rename = "build-backend")]
    pub build_backend: String,
    /// `[build-system] requires`, as the project says.
    pub requires: Vec<String>,
    pub packages: Vec<LockedPackage>,
}

/// One package of a build lock.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    pub filename: String,
    /// Hex.
    pub sha256: String,
}

/// `cargo xtask keygen --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeygenReport {
    pub schema: Version,
    pub private_key: PathBuf,
    pub public_key: PathBuf,
    /// The public key's id, as provenance statements name it.
    pub keyid: String,
}

/// `cargo xtask verify --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyReport {
    pub schema: Version,
    pub project: String,
    pub version: String,
    /// The git ref checked out, and the commit it named.
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub commit: String,
    pub mode: BuildMode,
    /// `--faithful`: rebuilt with the project's own backend as-is.
    pub faithful: bool,
    /// Seconds since 1970-01-01 UTC.
    pub epoch: u64,
    /// What the verification could not do as usual.
    pub notes: Vec<String>,
    pub checks: Vec<VerifyCheck>,
    /// Every check is a `match`.
    pub verified: bool,
}

/// What became of one artifact (or one digest statement) from one source.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyCheck {
    /// The rebuild, a directory, a URL or an index, as named.
    pub source: String,
    #[serde(rename = "source-kind")]
    pub source_kind: SourceKind,
    pub artifact: String,
    pub status: CheckStatus,
    /// `differs`: the sha256 (hex) of the copy that differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `differs`: what differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<Box<DiffReport>>,
    /// Why, for every other status but `match` (and `differs` when no
    /// diff could be made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Where a checked copy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// kiln's own rebuild from the source.
    Rebuild,
    /// `--against DIR`.
    Directory,
    /// `--against URL`.
    Url,
    /// `--index URL`.
    Index,
}

impl SourceKind {
    /// The kind a name (`rebuild`, `directory`, `url`, `index`) spells;
    /// any other name is the rebuild's (the source that is no copy).
    pub fn named(name: &str) -> Self {
        match name {
            "directory" => Self::Directory,
            "url" => Self::Url,
            "index" => Self::Index,
            _ => Self::Rebuild,
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// The same bytes as the record.
    Match,
    /// Other bytes: see `diff`.
    Differs,
    /// Not there.
    Missing,
    /// Could not be checked: see `detail`.
    Error,
    /// A published digest says other than the record.
    Disagrees,
}

/// `cargo xtask diff --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffCommandReport {
    pub schema: Version,
    /// The two sides, archives or directories, as given.
    pub a: PathBuf,
    pub b: PathBuf,
    /// Every pair is byte-identical and no file is on one side only.
    pub identical: bool,
    pub results: Vec<DiffResult>,
}

/// One pair compared, or a file on one side only.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DiffResult {
    Pair {
        pair: Box<DiffReport>,
    },
    OnlyIn {
        /// `A` or `B`.
        #[serde(rename = "only-in")]
        only_in: String,
        file: String,
    },
}

/// `cargo xtask normalize --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NormalizeReport {
    pub schema: Version,
    /// Seconds since 1970-01-01 UTC.
    pub epoch: u64,
    pub files: Vec<NormalizedFile>,
}

/// One archive normalized.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NormalizedFile {
    pub input: String,
    pub output: String,
    /// Hex.
    pub sha256_before: String,
    pub sha256_after: String,
    pub size_before: u64,
    pub size_after: u64,
    /// The container was rewritten (the content never changes).
    pub changed: bool,
}

/// The JSON Schema of [`Output`]: every report and the error object.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<Output>();
    schema.insert("title".into(), SCHEMA.into());
    schema.to_value()
}

/// The committed schema file's text: [`json_schema`], pretty, with a final
/// newline.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_says_its_version_and_command() {
        let report = Output::Report(Report::Keygen(KeygenReport {
            schema: Version,
            private_key: "k".into(),
            public_key: "k.pub".into(),
            keyid: "id".into(),
        }));
        let value = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(value["schema"], SCHEMA);
        assert_eq!(value["command"], "keygen");
    }

    #[test]
    fn an_error_names_a_file_and_field_only_when_told() {
        // A message that reads like a place is not taken for one.
        let e = Error::from_message(
            ErrorKind::BadInput,
            "release.toml: project \"a\": `epoch` is x; use \"git-commit\" or a number of seconds",
        );
        assert_eq!((e.path, e.field), (None, None));
        let e = Error::located(
            ErrorKind::BadInput,
            "x",
            Some("release/release.toml".into()),
            Some("epoch".into()),
        );
        assert_eq!(e.path.as_deref(), Some("release/release.toml"));
        assert_eq!(e.field.as_deref(), Some("epoch"));
    }
}
