//! The command line, as clap types. Each command's work is a method on its
//! flags type, in the file of the same name (`release.rs`, `build.rs`, …).

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};
use kiln_names::BuildMode;
use std::path::PathBuf;

/// kiln: reproducible, verifiable Python releases.
///
/// Exit status: 0 success, 1 verification failed or artifacts differ,
/// 2 bad input or usage.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about, long_about = None)]
pub struct Xtask {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build every project of release/release.toml into the dist directory,
    /// record its digests and prove the build reproducible.
    Release(Release),
    /// Build one Python project directory into an sdist and a wheel.
    Build(Build),
    /// Resolve a project's build requirements into a hash lock (backend mode).
    Lock(Lock),
    /// Make an ed25519 signing key: the private key (PKCS#8 PEM, 0600) at
    /// PATH, the public key (SPKI PEM) at PATH.pub.
    Keygen(Keygen),
    /// Rebuild a release from a clean checkout of its tag and compare it
    /// with its record and with every published copy given.
    Verify(Verify),
    /// Compare two sdists or two wheels (or two directories of them):
    /// identical, same content in another container, or different content.
    Diff(Diff),
    /// Rewrite sdists and wheels made by any tool into kiln's canonical
    /// container, content unchanged.
    Normalize(Normalize),
    /// Run exactly what CI runs: fmt, clippy and every test, Python-side
    /// checks included (it installs what they need).
    Ci(Ci),
    /// Benchmark kiln against uv build and python -m build: native mode on
    /// generated projects, backend mode on the real-world corpus; and the
    /// time and peak memory of diff and normalize.
    Bench(Bench),
    /// Build the wheels of a hash-pinned requirements file from their
    /// sdists, twice each, into a signed wheelhouse pip installs with
    /// --require-hashes.
    Wheelhouse(Wheelhouse),
    /// Fetch the distfiles a distinfo lists into a checked,
    /// content-addressed cache, explaining every file that fails it; or
    /// write a distinfo from files (makesum).
    Distfiles(Distfiles),
    /// TUF metadata for a mirror directory: init, add, timestamp, rotate,
    /// verify, and a client that fetches through it.
    Tuf(Tuf),
    /// Write a static, hash-pinned simple index (PEP 503 HTML and PEP 691
    /// JSON, PEP 658 metadata) of releases, wheelhouses and recompressed
    /// wheels that pip and uv install from.
    Mirror(Mirror),
    /// Serve a mirror directory over HTTP on 127.0.0.1, with PEP 691
    /// content negotiation; every request is logged on stderr.
    Serve(Serve),
    /// Rebuild anyone's release (an sdist, a project directory, or a git
    /// repository at --ref) with the backend and epoch its publisher used,
    /// inferred from the published files, and compare every published copy.
    Rebuild(Rebuild),
}

#[derive(Debug, Parser)]
pub struct Release {
    /// Release only this project (repeatable); default: every project.
    #[arg(long = "project", value_name = "NAME")]
    pub projects: Vec<String>,
    /// The dist directory.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub out: PathBuf,
    /// The epoch, in seconds (default: SOURCE_DATE_EPOCH, then the last
    /// commit touching the project, then 1980-01-01).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub source_date_epoch: Option<i64>,
    /// Release with a Rust toolchain other than the pinned one; the actual
    /// toolchain is then recorded.
    #[arg(long)]
    pub allow_toolchain_mismatch: bool,
    /// Sign the provenance with this ed25519 private key (PKCS#8 PEM, mode
    /// 0600; `cargo xtask keygen` makes one). Default: the development key
    /// of this checkout (target/kiln-dev-key/), created on first use and
    /// labelled as such.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["keyless", "no_sign"])]
    pub key: Option<PathBuf>,
    /// Sign keyless with Sigstore from the ambient GitHub Actions OIDC token
    /// (needs `permissions: id-token: write`): a Sigstore bundle per
    /// artifact and for the provenance.
    #[arg(long, conflicts_with = "no_sign")]
    pub keyless: bool,
    /// Sign nothing and write no provenance (a quick local release; verify
    /// then reports the provenance as missing).
    #[arg(long)]
    pub no_sign: bool,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The build mode under the name the commands not yet moved to
/// `BuildMode` import it by.
pub use kiln_names::BuildMode as Mode;

/// `--mode`: the values of `BuildMode`, each with its line of `--help`.
fn build_mode() -> impl TypedValueParser<Value = BuildMode> {
    PossibleValuesParser::new(BuildMode::ALL.map(|mode| {
        PossibleValue::new(mode.as_str()).help(match mode {
            BuildMode::Native => "kiln packs the project itself (uv_build projects)",
            BuildMode::Backend => "kiln runs the project's PEP 517 backend from its hash lock",
        })
    }))
    .try_map(|mode| mode.parse::<BuildMode>())
}

#[derive(Debug, Parser)]
pub struct Build {
    /// The Python project directory (it holds pyproject.toml).
    pub path: PathBuf,
    /// Where to write the sdist and the wheel.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub out: PathBuf,
    /// native (default when uv_build is declared) or backend.
    #[arg(long, value_parser = build_mode())]
    pub mode: Option<BuildMode>,
    /// Backend mode: the build lock (default: release/locks/<name>.lock.toml
    /// in the kiln checkout, <name> being the release.toml project at PATH or
    /// else PATH's directory name; written by `cargo xtask lock`).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// The epoch, in seconds (default: SOURCE_DATE_EPOCH, then the last
    /// commit touching PATH, then 1980-01-01).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub source_date_epoch: Option<i64>,
    /// Backend mode: keep the backend's own bytes instead of canonicalizing
    /// them (SOURCE_DATE_EPOCH is still given to the backend).
    #[arg(long)]
    pub faithful: bool,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Resolve the build requirements of a project into a hash lock: what
/// [build-system] requires plus what the backend asks for, every package
/// with its exact version, file and sha256, for the pinned Python.
#[derive(Debug, Parser)]
pub struct Lock {
    /// The Python project directory (instead of --project).
    pub path: Option<PathBuf>,
    /// A project of release/release.toml.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Where to write the lock (default: release/locks/<name>.lock.toml in
    /// the kiln checkout: the --project NAME, the release.toml project at
    /// PATH, or else PATH's directory name).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// A pip constraints file the project keeps (e.g. requirements/build.txt).
    #[arg(long, value_name = "FILE")]
    pub constraints: Option<PathBuf>,
    /// Pin the backend (and its version) a published wheel names in its
    /// WHEEL `Generator:` line, as its publisher built it.
    #[arg(long, value_name = "WHEEL")]
    pub like: Option<PathBuf>,
    /// Resolve as on DATE (YYYY-MM-DD or an RFC 3339 UTC time): each of
    /// `[build-system].requires` at most its newest release uploaded
    /// before it, from the index's PEP 700 upload times.
    #[arg(long, value_name = "DATE")]
    pub exclude_newer: Option<String>,
    /// The simple index --exclude-newer reads (default: PyPI).
    #[arg(long, value_name = "URL", default_value = "https://pypi.org/simple/")]
    pub index: String,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Rebuild a release from a clean checkout of its tag (uncommitted and
/// untracked files cannot leak in) with the recorded epoch, pins and lock;
/// compare it with the committed record, then fetch every published copy
/// given, check its digest against the record before opening it, and
/// explain every difference. Exit 0 only if everything matches.
#[derive(Debug, Parser)]
pub struct Verify {
    /// The release.toml project (default: the only one).
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// The version (default: the newest committed record).
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// The git ref to rebuild (default: release.toml's tag for the version).
    #[arg(long = "ref", value_name = "GITREF")]
    pub git_ref: Option<String>,
    /// A published copy: a directory holding the artifacts, or a base URL
    /// (http/https) under which each artifact is `URL/<file name>`, such as
    /// a GitHub release's download address. Repeatable.
    #[arg(long, value_name = "DIR|URL")]
    pub against: Vec<String>,
    /// A PyPI-compatible simple index (PEP 503 HTML or PEP 691 JSON), e.g.
    /// https://pypi.org/simple/. Repeatable.
    #[arg(long, value_name = "URL")]
    pub index: Vec<String>,
    /// Verify a release not made by kiln: rebuild with the project's own
    /// backend (backend mode, no canonicalization) and require identical
    /// bytes; a content comparison is reported, labelled, when bytes differ.
    #[arg(long)]
    pub faithful: bool,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
    /// Verify a wheelhouse made by `cargo xtask wheelhouse` instead of a
    /// release: rebuild it from its sources.txt and locks (sdists from
    /// --index, default PyPI) and compare every file and the statement.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["project", "version", "git_ref", "against", "faithful"])]
    pub wheelhouse: Option<PathBuf>,
}

/// Compare two artifacts. Exit 0 identical, 1 different (same content in
/// another container, or different content), 2 unreadable input.
#[derive(Debug, Parser)]
pub struct Diff {
    /// An sdist (.tar.gz) or wheel (.whl), or a directory of them.
    pub a: PathBuf,
    /// The same kind as A; directories are paired by file name.
    pub b: PathBuf,
    /// Lines of unified diff shown per changed text member.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_diff_lines: usize,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Canonicalize sdists and wheels: member paths, bytes and executable bits
/// kept; order, timestamps, modes, owners, compression and headers
/// rewritten. Normalizing twice is the identity; two archives with the
/// same content normalize to the same bytes.
#[derive(Debug, Parser)]
pub struct Normalize {
    /// The sdists (.tar.gz) and wheels (.whl) to normalize.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where to write the normalized archives (same file names).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The timestamp written into every member (default:
    /// SOURCE_DATE_EPOCH, then 1980-01-01, the earliest a zip can hold).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub source_date_epoch: Option<i64>,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Parser)]
pub struct Keygen {
    /// Where to write the private key; the public key goes to PATH.pub.
    /// Neither may exist. Keep the private key out of the repository; put
    /// the public key in release/keys/ and commit it.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Parser)]
pub struct Ci {
    /// Skip `cargo fmt --check` and clippy (tests only).
    #[arg(long)]
    pub tests_only: bool,
}

/// Which part of the benchmark to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchPart {
    /// Native mode on generated projects, against uv build and python -m build.
    Native,
    /// Backend mode on the real-world corpus (pinned sdists, downloaded
    /// once into target/kiln-corpus), warm caches, against isolated
    /// `python -m build` and `uv build` with the same backend versions.
    Backend,
    /// `diff` and `normalize` on the generated projects' artifacts (kiln's
    /// and uv's): time, and peak memory small vs large.
    Tools,
}

#[derive(Debug, Parser)]
pub struct Bench {
    /// Timed runs per tool and input (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Only the small project, and one run (a quick smoke run).
    #[arg(long)]
    pub quick: bool,
    /// Run only this part (default: both).
    #[arg(long, value_enum, value_name = "PART")]
    pub only: Option<BenchPart>,
    /// Backend part: only this corpus project (repeatable; e.g. `tuf`);
    /// default: every sdist of the corpus.
    #[arg(long = "project", value_name = "NAME")]
    pub projects: Vec<String>,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

mod consumer;
pub use consumer::*;
