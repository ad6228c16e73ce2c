//! The consumer side's commands, as clap types: rebuilding others'
//! releases, wheelhouses, the mirror and its server, TUF metadata and
//! distfiles. Re-exported by `flags`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Build a wheelhouse: for each `name==version --hash=sha256:<hex>` of
/// REQUIREMENTS, fetch the sdist from the index (its sha256 checked before
/// it is opened), lock its build requirements, build its wheel twice under
/// different conditions and compare; then write DIR with the wheels,
/// requirements.txt (the wheels by hash), sources.txt, the locks,
/// SHA256SUMS, wheelhouse.distinfo and the signed statement, in one step.
/// Exit 0 all reproducible, 1 a hash mismatch or a wheel that varies, 2
/// bad input.
#[derive(Debug, Parser)]
pub struct Wheelhouse {
    /// The hash-pinned requirements file (sdists' sha256).
    pub requirements: PathBuf,
    /// The wheelhouse directory (replaced as a whole).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The simple index (PEP 503 HTML or PEP 691 JSON) the sdists come from.
    #[arg(long, value_name = "URL", default_value = "https://pypi.org/simple/")]
    pub index: String,
    /// A pip constraints file for the build requirements every lock is
    /// resolved with (e.g. `setuptools==75.8.0` to build with the backend
    /// the publishers used); default: the newest that satisfy each sdist.
    #[arg(long, value_name = "FILE")]
    pub constraints: Option<PathBuf>,
    /// Sign the statement with this ed25519 private key (PKCS#8 PEM, 0600).
    /// Default: this checkout's development key, labelled as such.
    #[arg(long, value_name = "PATH", conflicts_with = "no_sign")]
    pub key: Option<PathBuf>,
    /// Write no statement.
    #[arg(long)]
    pub no_sign: bool,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Parser)]
pub struct Distfiles {
    #[command(subcommand)]
    pub action: DistfilesAction,
}

#[derive(Debug, Subcommand)]
pub enum DistfilesAction {
    /// Fetch each distfile of DISTINFO from the sites in order, check its
    /// size and every digest before anything else touches it, and keep it
    /// in the cache. Exit 0 all cached, 1 a file failed its distinfo (each
    /// classified: re-rolled, content-changed, unreadable) or none could be
    /// fetched, 2 bad input.
    Fetch(DistfilesFetch),
    /// Write or update a distinfo from files. An entry whose digests would
    /// change is refused (exit 1) unless --update, and either way the
    /// change is classified against the cached old copy.
    Makesum(DistfilesMakesum),
}

#[derive(Debug, Parser)]
pub struct DistfilesFetch {
    /// The distinfo, in kiln's, OpenBSD's or NetBSD's syntax.
    pub distinfo: PathBuf,
    /// A master site or mirror (repeatable, tried in order): the file's
    /// name is appended to it. `{sha256}`, `{sha512}` or `{blake2s}` in it
    /// is replaced by the file's digest, so another kiln cache served over
    /// HTTP is a site: `https://mirror/distfiles/sha256/{sha256}/`.
    #[arg(long = "site", value_name = "URL", required = true)]
    pub sites: Vec<String>,
    /// The cache directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub cache: PathBuf,
    /// Ask every site, even when the cache or an earlier site gave a
    /// good copy: each file a site serves is checked, and each that fails
    /// is classified against the good copy (auditing the mirrors).
    #[arg(long)]
    pub all_sites: bool,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// A distinfo syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DistinfoFormat {
    Kiln,
    Openbsd,
    Netbsd,
    Freebsd,
}

#[derive(Debug, Parser)]
pub struct DistfilesMakesum {
    /// The distfiles (each entered under its file name).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The syntax (default: the existing --out file's, else kiln).
    #[arg(long, value_enum)]
    pub format: Option<DistinfoFormat>,
    /// The distinfo to write or update (default: print it on stdout).
    #[arg(long, value_name = "DISTINFO")]
    pub out: Option<PathBuf>,
    /// Replace an entry whose digests differ (the change is still
    /// classified and printed).
    #[arg(long)]
    pub update: bool,
    /// The fetch cache holding the old copies, to classify a change with.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Parser)]
pub struct Tuf {
    #[command(subcommand)]
    pub command: TufCommand,
}

#[derive(Debug, Subcommand)]
pub enum TufCommand {
    /// Create root v1 and sign every file DIR holds (creating any missing
    /// key of KEYDIR: root.pem, targets.pem, snapshot.pem, timestamp.pem,
    /// bins.pem).
    Init(TufInit),
    /// Targets added, replaced or removed: re-sign only their bins, then
    /// snapshot and timestamp (online keys only).
    Add(TufAdd),
    /// Sign a new timestamp (and snapshot, if it would expire first).
    Timestamp(TufTimestamp),
    /// Replace a role's key by a new one: root version N+1, signed by the
    /// old root key (and the new one when root's key is replaced).
    Rotate(TufRotate),
    /// Verify DIR's whole metadata tree and every target offline, from a
    /// trusted root.
    Verify(TufVerify),
    /// A TUF client: refresh from URL and download a target, every check made.
    Fetch(TufFetch),
}

#[derive(Debug, Parser)]
pub struct TufRepoArgs {
    /// The mirror directory (metadata in DIR/metadata).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The key directory (outside DIR).
    #[arg(long, value_name = "KEYDIR")]
    pub keys: PathBuf,
    /// Sign as of this time, in seconds since 1970 (default: now).
    #[arg(long, value_name = "SECONDS")]
    pub now: Option<u64>,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
    /// The offline root key (default: KEYDIR/root.pem); init and rotate only.
    #[arg(long, value_name = "FILE")]
    pub root_key: Option<PathBuf>,
    /// The offline targets key (default: KEYDIR/targets.pem); init and
    /// rotate only.
    #[arg(long, value_name = "FILE")]
    pub targets_key: Option<PathBuf>,
}

#[derive(Debug, Parser)]
pub struct TufInit {
    #[command(flatten)]
    pub repo: TufRepoArgs,
    /// Hashed bins: a power of two from 1 to 65536.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub bins: u32,
}

#[derive(Debug, Parser)]
pub struct TufAdd {
    #[command(flatten)]
    pub repo: TufRepoArgs,
    /// Target paths relative to DIR (e.g. files/x.whl, simple/x/index.html).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,
}

#[derive(Debug, Parser)]
pub struct TufTimestamp {
    #[command(flatten)]
    pub repo: TufRepoArgs,
}

#[derive(Debug, Parser)]
pub struct TufRotate {
    #[command(flatten)]
    pub repo: TufRepoArgs,
    /// The role whose key is replaced: root, targets, snapshot, timestamp
    /// or bins.
    #[arg(long, value_name = "ROLE")]
    pub role: String,
}

#[derive(Debug, Parser)]
pub struct TufVerify {
    /// The mirror directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The root to trust (e.g. a copy of 1.root.json kept apart).
    #[arg(long, value_name = "FILE")]
    pub root: PathBuf,
    /// Verify as of this time, in seconds since 1970 (default: now).
    #[arg(long, value_name = "SECONDS")]
    pub now: Option<u64>,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Parser)]
pub struct TufFetch {
    /// The repository's base URL (metadata at URL/metadata/).
    #[arg(value_name = "URL")]
    pub url: String,
    /// The root to trust on first use (later runs trust STATE/root.json).
    #[arg(long, value_name = "FILE")]
    pub root: PathBuf,
    /// Where the client keeps the metadata it trusts between runs.
    #[arg(long, value_name = "STATE")]
    pub state: PathBuf,
    /// A target to download (e.g. files/x.whl); without it, refresh only.
    #[arg(long, value_name = "PATH")]
    pub target: Option<String>,
    /// Where to write the target (default: its file name, here).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Check expiry as of this time, in seconds since 1970 (default: now).
    #[arg(long, value_name = "SECONDS")]
    pub now: Option<u64>,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

impl Tuf {
    /// Whether `--json` was given to the subcommand.
    pub fn json(&self) -> bool {
        match &self.command {
            TufCommand::Init(c) => c.repo.json,
            TufCommand::Add(c) => c.repo.json,
            TufCommand::Timestamp(c) => c.repo.json,
            TufCommand::Rotate(c) => c.repo.json,
            TufCommand::Verify(c) => c.json,
            TufCommand::Fetch(c) => c.json,
        }
    }
}

#[derive(Debug, Parser)]
pub struct Mirror {
    /// The mirror's directory (created; files already there are kept).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A kiln release's dist directory: every sdist and wheel, checked
    /// against its SHA256SUMS (repeatable).
    #[arg(long = "from", value_name = "DIST_DIR")]
    pub from: Vec<PathBuf>,
    /// A wheelhouse: its wheels, checked against its SHA256SUMS (repeatable).
    #[arg(long = "wheelhouse", value_name = "DIR")]
    pub wheelhouses: Vec<PathBuf>,
    /// A publisher's wheel to recompress: a file, or a URL ending in
    /// `#sha256=<hex>`, checked before it is opened (repeatable).
    #[arg(long = "recompress", value_name = "FILE|URL")]
    pub recompress: Vec<String>,
    /// Recompress every wheel that this simple index lists for each
    /// `--project`, each checked against the index's sha256.
    #[arg(long, value_name = "URL", requires = "projects")]
    pub recompress_from_index: Option<String>,
    /// With --recompress-from-index: a project release (repeatable).
    #[arg(
        long = "project",
        value_name = "NAME==VERSION",
        requires = "recompress_from_index"
    )]
    pub projects: Vec<String>,
    /// The build tag recompressed wheels get (starts with a digit).
    #[arg(long, value_name = "TAG", default_value = "1")]
    pub build_tag: String,
    /// Keep the mirror's TUF metadata (`tuf init DIR --keys KEYDIR` first)
    /// current: the bins of the files and pages this run wrote are signed
    /// again, then snapshot and timestamp, with KEYDIR's online keys.
    #[arg(long, value_name = "KEYDIR")]
    pub tuf_keys: Option<PathBuf>,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Parser)]
pub struct Serve {
    /// The mirror directory (`mirror --out`).
    pub dir: PathBuf,
    /// The port on 127.0.0.1 (0: any free port; the URL is printed).
    #[arg(long, value_name = "N", default_value_t = 8000)]
    pub port: u16,
}

/// Rebuild a release not made by kiln and compare it with what was
/// published. Exit 0 only if every published copy is byte-identical, 1 if
/// any differs or a release of a --list fails, 2 bad input.
#[derive(Debug, Parser)]
pub struct Rebuild {
    /// An sdist (.tar.gz file or http(s) URL): its wheel is built from it
    /// as pip does; or a project directory; or a git repository with --ref.
    #[arg(required_unless_present = "list")]
    pub source: Option<String>,
    /// The git ref to check out (cleanly) when SOURCE is a repository.
    #[arg(long = "ref", value_name = "GITREF")]
    pub git_ref: Option<String>,
    /// Published copies: a directory holding the artifacts, or a base URL
    /// under which each is `URL/<file name>` (a GitHub release's download
    /// address). Repeatable.
    #[arg(long, value_name = "DIR|URL")]
    pub against: Vec<String>,
    /// A PyPI-compatible simple index to fetch the published copies from,
    /// e.g. https://pypi.org/simple/. Repeatable.
    #[arg(long, value_name = "URL")]
    pub index: Vec<String>,
    /// Write the rebuilt artifacts and the lock here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The SOURCE_DATE_EPOCH the backend sees, in seconds, or `unset`
    /// (default: inferred from the published files).
    #[arg(long, value_name = "N|unset")]
    pub epoch: Option<String>,
    /// pip constraints for the build requirements (default: the backend
    /// and version the published wheel names).
    #[arg(long, value_name = "FILE")]
    pub constraints: Option<PathBuf>,
    /// A census: rebuild every SOURCE listed in FILE (one per line, `#`
    /// comments) and print one row per release and the totals.
    #[arg(long, value_name = "FILE", conflicts_with = "source")]
    pub list: Option<PathBuf>,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}
