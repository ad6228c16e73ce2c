//! `cargo xtask verify`: prove that a release is what its tag produces.
//!
//! The steps, in SPEC order: find the committed record (HEAD's, never the
//! working tree's) and the release's git ref; clone the repository into a
//! private temporary directory and check that commit out (uncommitted and
//! untracked files cannot leak in); rebuild there with the recorded epoch,
//! the checkout's pins and lock; compare with the record; then, for every
//! published copy given (`--against DIR|URL`, `--index URL`), obtain the
//! file, **check its digest against the record before opening it**, and
//! explain any difference with the diff engine. Exit 0 only if every copy
//! matches; 1 when something differs or is missing; 2 when verify cannot
//! run (no record, no such ref, a broken checkout).
//!
//! `--faithful` verifies a release that kiln did not make: the rebuild is a
//! backend-mode build keeping the backend's own bytes, and each published
//! copy must be byte-identical to it; when it is not, the content comparison
//! is reported, labelled as such, and verify still fails.

use crate::config::{EpochPolicy, ProjectConfig, ReleaseConfig};
use crate::engine::{BuiltArtifact, build_project};
use crate::fetch::{self, FetchError};
use crate::flags::{Mode, Verify};
use crate::pins::Pins;
use crate::{Mismatch, epoch, project_root, report};
use anyhow::{Context, Result, bail};
use kiln_diff::{DiffOptions, DiffReport, Level, diff_files};
use kiln_digest::Digests;
use kiln_git::Repo;
use kiln_names::{Epoch, ProjectName};
use kiln_record::Record;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Downloads may exceed the recorded size by this much before we stop
/// reading (a larger copy differs anyway; the slack lets the diff say how).
const DOWNLOAD_SLACK: u64 = 64 << 20;

/// Where a published copy comes from.
#[derive(Debug, Clone)]
enum Source {
    Dir(PathBuf),
    Url(String),
    Index(String),
}

impl Source {
    fn label(&self) -> String {
        match self {
            Source::Dir(d) => d.display().to_string(),
            Source::Url(u) => u.clone(),
            Source::Index(u) => format!("index {u}"),
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Source::Dir(_) => "directory",
            Source::Url(_) => "url",
            Source::Index(_) => "index",
        }
    }
}

/// What became of one artifact from one source.
#[derive(Debug, Clone)]
enum Status {
    Match,
    /// Bytes differ; the diff explains (or says why it could not).
    Differs {
        sha256: String,
        explanation: Result<Box<DiffReport>, String>,
    },
    Missing(String),
    Failed(String),
    /// A published digest statement (`SHA256SUMS`, a `.distinfo`, an
    /// index link's sha256) says other than the record.
    Disagrees(String),
}

impl Status {
    fn word(&self) -> &'static str {
        match self {
            Status::Match => "match",
            Status::Differs { .. } => "differs",
            Status::Missing(_) => "missing",
            Status::Failed(_) => "error",
            Status::Disagrees(_) => "disagrees",
        }
    }
}

#[derive(Debug)]
struct Check {
    source: String,
    source_kind: &'static str,
    artifact: String,
    status: Status,
}

/// The digests a published copy must have: the record's, or in faithful
/// mode without a record, the rebuild's.
#[derive(Debug, Clone)]
struct Expected {
    sha256: String,
    size: u64,
}

impl Verify {
    pub fn run(self) -> Result<()> {
        let root = project_root()?;
        // A bad download limit is a usage error, before any work.
        fetch::pace()?;
        let git = Repo::at(&root);
        if git.git_dir().is_err() {
            bail!(
                "{} is not a git repository: verify rebuilds a release from its git tag, so it needs the repository's history (clone it, do not download an archive)",
                root.display()
            );
        }
        // release.toml as HEAD has it: an uncommitted edit cannot change
        // which tag is rebuilt or who may sign.
        let config = match git_show(&git, "HEAD", crate::config::RELEASE_TOML)? {
            Some(text) => ReleaseConfig::parse(&text)?,
            None => ReleaseConfig::load(&root)?,
        };
        let project = select_project(&config, self.project.as_deref())?;
        let name = ProjectName::new(&project.name)
            .with_context(|| format!("{}: project name", crate::config::RELEASE_TOML))?;
        let normalized = name.normalized().to_string();

        // The committed record: HEAD's, so an edit in the working tree
        // cannot change what is verified.
        let version = match &self.version {
            Some(v) => v.clone(),
            None => newest_recorded_version(&git, &normalized)?,
        };
        let record_rel = crate::layout::record_rel(&normalized, &version);
        let record = match git_show(&git, "HEAD", &record_rel)? {
            Some(text) => Some(Record::parse(&format!("HEAD:{record_rel}"), &text)?),
            None if self.faithful => None,
            None => bail!(
                "{record_rel}: no committed record of {} {version} at HEAD: verify checks a release against its record; \
                 release it (`cargo xtask release`) and commit the record, or pick --version",
                project.name
            ),
        };

        let git_ref = match &self.git_ref {
            Some(r) => r.clone(),
            None => project.tag.replace("{version}", &version),
        };
        let peeled = format!("{git_ref}^{{commit}}");
        let commit = git
            .rev_parse(&peeled)
            .ok()
            .flatten()
            .with_context(|| {
                format!(
                    "no git ref {git_ref:?} in {}: fetch the release tags (`git fetch --tags`), or name the commit with --ref",
                    root.display()
                )
            })?;
        let commit = commit.trim().to_string();

        // A private temporary directory for the checkout, the rebuild and
        // every download; removed when verify ends, whatever happens.
        let work = tempfile::Builder::new()
            .prefix("kiln-verify-")
            .tempdir()
            .context("failed to create a temporary directory")?;
        let src = work.path().join("src");
        report::step(&format!(
            "checking out {git_ref} ({}) into a clean temporary directory",
            &commit[..commit.len().min(12)]
        ));
        clean_checkout(&root, &src, &commit)?;

        // The project as the tag describes it (its path may have moved).
        let project = ReleaseConfig::load(&src)
            .ok()
            .and_then(|c| {
                c.projects
                    .into_iter()
                    .find(|p| same_name(&p.name, &normalized))
            })
            .unwrap_or(project);
        let pins = Pins::load(&src)?;
        let mode = if self.faithful {
            Mode::Backend
        } else {
            record.as_ref().map_or(project.mode, |r| r.mode)
        };
        let epoch = match &record {
            Some(r) => Epoch::clamped(i64::try_from(r.epoch).unwrap_or(i64::MAX)),
            None => {
                let fixed = match project.epoch_policy()? {
                    EpochPolicy::Fixed(n) => Some(n),
                    EpochPolicy::GitCommit => None,
                };
                epoch::resolve(None, None, fixed, &src.join(&project.path))?.epoch
            }
        };
        let mut notes = Vec::new();
        if let Some(r) = &record {
            notes.extend(pin_differences(r, &pins));
        }
        // The rebuild runs this kiln: say so when its code differs from the
        // kiln at the tag (bytes may then differ for kiln's reasons).
        let changed: Vec<&str> = ["crates", "xtask", "Cargo.lock"]
            .into_iter()
            .filter(|path| {
                let tree = |rev: &str| git.rev_parse(&format!("{rev}:{path}")).ok();
                tree(&commit) != tree("HEAD")
            })
            .collect();
        if !changed.is_empty() {
            notes.push(format!(
                "kiln's own code ({}) differs between {git_ref} and HEAD: the rebuild uses HEAD's kiln",
                changed.join(", ")
            ));
        }
        let lock = match mode {
            Mode::Native => None,
            Mode::Backend => {
                let path = crate::layout::lock_path(&src, &project.name);
                if let Some(recorded) = record.as_ref().and_then(|r| r.lock.as_ref()) {
                    let actual = Digests::of_file(&path)
                        .with_context(|| {
                            format!(
                                "{}: the record names a build lock, but the checkout has none",
                                path.display()
                            )
                        })?
                        .sha256_hex();
                    if &actual != recorded {
                        notes.push(format!(
                            "the lock at {git_ref} has sha256 {actual}, the record says {recorded}"
                        ));
                    }
                }
                Some(path)
            }
        };

        report::step(&format!(
            "rebuilding {} {version} ({} mode{}, epoch {})",
            project.name,
            mode,
            if self.faithful { ", faithful" } else { "" },
            epoch.seconds()
        ));
        let out = work.path().join("rebuilt");
        let built = build_project(
            &src.join(&project.path),
            &out,
            mode,
            epoch,
            &pins,
            lock.as_deref(),
            self.faithful,
        )?;
        if built.version != version {
            bail!(
                "{git_ref} builds {} {}, not version {version}: is --ref right?",
                built.name,
                built.version
            );
        }

        let options = DiffOptions::default();
        let rebuilt: BTreeMap<String, &BuiltArtifact> = built
            .artifacts
            .iter()
            .map(|a| (a.filename.clone(), a))
            .collect();
        let mut checks = Vec::new();
        let expected: BTreeMap<String, Expected> = match &record {
            Some(r) => {
                // The rebuild against the record.
                for (file, d) in &r.artifacts {
                    let status = match rebuilt.get(file) {
                        None => Status::Missing(format!(
                            "the record lists {file}, the rebuild did not produce it"
                        )),
                        Some(a)
                            if a.digests.sha256_hex() == d.sha256 && a.digests.size == d.size =>
                        {
                            Status::Match
                        }
                        Some(a) => Status::Differs {
                            sha256: a.digests.sha256_hex(),
                            explanation: Err(format!(
                                "the rebuild has sha256 {} ({} bytes), the record {} ({} bytes); give a published copy (--against, --index) to see what differs",
                                a.digests.sha256_hex(),
                                a.digests.size,
                                d.sha256,
                                d.size
                            )),
                        },
                    };
                    checks.push(Check {
                        source: "rebuild".into(),
                        source_kind: "rebuild",
                        artifact: file.clone(),
                        status,
                    });
                }
                for file in rebuilt.keys().filter(|f| !r.artifacts.contains_key(*f)) {
                    checks.push(Check {
                        source: "rebuild".into(),
                        source_kind: "rebuild",
                        artifact: file.clone(),
                        status: Status::Failed(format!(
                            "the rebuild produced {file}, which the record does not list"
                        )),
                    });
                }
                r.artifacts
                    .iter()
                    .map(|(f, d)| {
                        (
                            f.clone(),
                            Expected {
                                sha256: d.sha256.clone(),
                                size: d.size,
                            },
                        )
                    })
                    .collect()
            }
            None => built
                .artifacts
                .iter()
                .map(|a| {
                    (
                        a.filename.clone(),
                        Expected {
                            sha256: a.digests.sha256_hex(),
                            size: a.digests.size,
                        },
                    )
                })
                .collect(),
        };

        let mut sources: Vec<Source> = self
            .against
            .iter()
            .map(|a| {
                if a.starts_with("http://") || a.starts_with("https://") {
                    Source::Url(a.clone())
                } else {
                    Source::Dir(PathBuf::from(a))
                }
            })
            .collect();
        sources.extend(self.index.iter().cloned().map(Source::Index));
        let downloads = work.path().join("downloads");
        // Provenance: keys from release/ as HEAD has them, never from the
        // artifacts; subjects must be exactly the expected artifacts.
        // Who may sign comes from release/ as HEAD has it: never from the
        // working tree, never from what is being verified.
        let head_project = config
            .projects
            .iter()
            .find(|p| same_name(&p.name, &normalized))
            .cloned();
        let signing = head_project.as_ref().and_then(|p| p.signing.as_ref());
        let configured = signing.and_then(|s| s.public_keys.as_deref());
        let trusted = crate::provenance::trusted_keys(&root, configured)?;
        let policy = head_project.as_ref().and_then(|p| p.keyless_policy());
        let provenance_expected: BTreeMap<String, (String, Option<String>)> = expected
            .iter()
            .map(|(f, e)| {
                let sha512 = record
                    .as_ref()
                    .and_then(|r| r.artifacts.get(f))
                    .map(|d| d.sha512.clone());
                (f.clone(), (e.sha256.clone(), sha512))
            })
            .collect();
        for (n, source) in sources.iter().enumerate() {
            report::step(&format!("comparing with {}", source.label()));
            let dir = downloads.join(n.to_string());
            let (found, statements) = obtain(source, &name, &expected, &dir)?;
            for (file, want) in &expected {
                let status = match found.get(file) {
                    Some(Ok((path, known))) => {
                        compare(path, known.clone(), file, want, rebuilt.get(file), &options)
                    }
                    Some(Err(status)) => status.clone(),
                    None => Status::Missing(format!("{file}: not found")),
                };
                checks.push(Check {
                    source: source.label(),
                    source_kind: source.kind(),
                    artifact: file.clone(),
                    status,
                });
            }
            // Every digest the source states (an index link's sha256,
            // SHA256SUMS, the .distinfo beside the artifacts) must be the
            // record's.
            let distinfo = crate::layout::published_record_name(
                record
                    .as_ref()
                    .map_or(project.name.as_str(), |r| r.project.as_str()),
                &version,
            );
            let statements = match source {
                Source::Index(_) => statements,
                _ => published_statements(source, &dir, &distinfo, record.as_ref(), &expected),
            };
            for (artifact, status) in statements {
                checks.push(Check {
                    source: source.label(),
                    source_kind: source.kind(),
                    artifact,
                    status,
                });
            }
            // The provenance published beside the artifacts (an index
            // carries none; a release kiln did not make has no kiln
            // provenance).
            if !matches!(source, Source::Index(_)) && !self.faithful {
                let file = crate::provenance::file_name(&normalized, &version);
                let copies: BTreeMap<String, PathBuf> = found
                    .iter()
                    .filter_map(|(f, r)| r.as_ref().ok().map(|(p, _)| (f.clone(), p.clone())))
                    .collect();
                let keyless = Keyless {
                    policy: policy.as_ref(),
                    copies: &copies,
                };
                let status = check_provenance(
                    source,
                    &file,
                    &dir,
                    &trusted,
                    &provenance_expected,
                    &commit,
                    &keyless,
                );
                checks.push(Check {
                    source: source.label(),
                    source_kind: source.kind(),
                    artifact: file,
                    status,
                });
                // Each artifact's own Sigstore bundle, where one is published.
                for (file, path) in &copies {
                    let bundle = kiln_sigstore::bundle_name(file);
                    let Some(bytes) = fetch_optional(source, &bundle, &dir) else {
                        continue;
                    };
                    let status = match (&bytes, policy.as_ref()) {
                        (Err(e), _) => Status::Failed(e.clone()),
                        (Ok(_), None) => Status::Failed(NO_POLICY.into()),
                        (Ok(b), Some(p)) => match crate::keyless::verify_bundle(b, path, p, None) {
                            Ok(_) => Status::Match,
                            Err(e) => Status::Failed(format!("{e:#}")),
                        },
                    };
                    checks.push(Check {
                        source: source.label(),
                        source_kind: source.kind(),
                        artifact: bundle,
                        status,
                    });
                }
            }
        }

        let ok = checks.iter().all(|c| matches!(c.status, Status::Match));
        self.summarize(
            &project.name,
            &version,
            &git_ref,
            &commit,
            mode,
            epoch,
            &notes,
            &checks,
            ok,
        );
        drop(work);
        if ok {
            Ok(())
        } else {
            let failed = checks
                .iter()
                .filter(|c| !matches!(c.status, Status::Match))
                .count();
            Err(Mismatch(format!(
                "{} {version} did not verify: {failed} of {} checks failed (see above)",
                project.name,
                checks.len()
            ))
            .into())
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn summarize(
        &self,
        name: &str,
        version: &str,
        git_ref: &str,
        commit: &str,
        mode: Mode,
        epoch: Epoch,
        notes: &[String],
        checks: &[Check],
        ok: bool,
    ) {
        if self.json {
            use kiln_report::CheckStatus as S;
            let checks = checks
                .iter()
                .map(|c| {
                    let (status, sha256, diff, detail) = match &c.status {
                        Status::Match => (S::Match, None, None, None),
                        Status::Differs {
                            sha256: h,
                            explanation: x,
                        } => (S::Differs, Some(h.clone()), x.clone().ok(), x.clone().err()),
                        Status::Missing(d) => (S::Missing, None, None, Some(d.clone())),
                        Status::Failed(d) => (S::Error, None, None, Some(d.clone())),
                        Status::Disagrees(d) => (S::Disagrees, None, None, Some(d.clone())),
                    };
                    kiln_report::VerifyCheck {
                        source: c.source.clone(),
                        source_kind: kiln_report::SourceKind::named(c.source_kind),
                        artifact: c.artifact.clone(),
                        status,
                        sha256,
                        diff,
                        detail,
                    }
                })
                .collect();
            report::json(kiln_report::Report::Verify(kiln_report::VerifyReport {
                schema: kiln_report::Version,
                project: name.to_string(),
                version: version.to_string(),
                git_ref: git_ref.to_string(),
                commit: commit.to_string(),
                mode,
                faithful: self.faithful,
                epoch: epoch.seconds(),
                notes: notes.to_vec(),
                checks,
                verified: ok,
            }));
            return;
        }
        for note in notes {
            report::warn(note);
        }
        let rows: Vec<Vec<String>> = checks
            .iter()
            .map(|c| {
                vec![
                    c.artifact.clone(),
                    c.source.clone(),
                    match c.status {
                        Status::Match => report::ok("match"),
                        _ => report::bad(c.status.word()),
                    },
                ]
            })
            .collect();
        report::eprint("\n");
        report::eprint(&report::table(&["artifact", "against", "result"], &rows));
        for c in checks {
            match &c.status {
                Status::Match => {}
                Status::Missing(d) | Status::Failed(d) | Status::Disagrees(d) => {
                    report::eprint(&format!("\n{} from {}: {d}\n", c.artifact, c.source));
                }
                Status::Differs { explanation, .. } => {
                    report::eprint(&format!("\n{} from {}:\n", c.artifact, c.source));
                    match explanation {
                        Ok(r) => {
                            if self.faithful && r.level == Level::SameContent {
                                report::eprint(
                                    "bytes differ (faithful verification requires identical bytes); \
                                     content comparison: the same files, in another container\n",
                                );
                            }
                            report::eprint(&r.render());
                        }
                        Err(e) => report::eprint(&format!("{e}\n")),
                    }
                }
            }
        }
        if ok {
            report::step(&format!(
                "verified {name} {version}: {git_ref} ({}) rebuilds to the recorded bytes{}",
                &commit[..commit.len().min(12)],
                if checks.iter().any(|c| c.source_kind != "rebuild") {
                    ", and every published copy matches"
                } else {
                    ""
                }
            ));
        }
    }
}

fn same_name(a: &str, normalized: &str) -> bool {
    ProjectName::new(a).is_ok_and(|n| n.normalized() == normalized)
}

fn select_project(config: &ReleaseConfig, wanted: Option<&str>) -> Result<ProjectConfig> {
    match wanted {
        Some(name) => Ok(config
            .select(&[name.to_string()])?
            .into_iter()
            .next()
            .context("no such project")?),
        None => match config.projects.as_slice() {
            [one] => Ok(one.clone()),
            [] => bail!(
                "{}: no [[project]]: nothing to verify",
                crate::config::RELEASE_TOML
            ),
            many => bail!(
                "{} lists {} projects ({}): pick one with --project",
                crate::config::RELEASE_TOML,
                many.len(),
                many.iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

/// `git show REV:PATH`, or None when the path is not in that commit.
/// The text ends in exactly one newline (a final CR or LF is replaced).
fn git_show(git: &Repo, rev: &str, path: &str) -> Result<Option<String>> {
    let text = git
        .read_file(rev, path)
        .with_context(|| format!("failed to read {rev}:{path} from git"))?;
    Ok(text.map(|text| {
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        format!("{text}\n")
    }))
}

/// The newest version with a record committed at HEAD.
fn newest_recorded_version(git: &Repo, normalized: &str) -> Result<String> {
    let dir = crate::layout::records_dir_rel(normalized);
    let listing = git.list("HEAD", &dir).unwrap_or_default();
    let mut versions: Vec<(kiln_names::Version, String)> = listing
        .iter()
        .filter_map(|l| l.rsplit('/').next())
        .filter_map(|f| f.strip_suffix(crate::layout::RECORD_SUFFIX))
        .filter_map(|v| {
            kiln_names::parse_version(v)
                .ok()
                .map(|p| (p, v.to_string()))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, v)| v).with_context(|| {
        format!(
            "no committed record under {dir} at HEAD: release the project and commit its record, or give --version"
        )
    })
}

/// Clone the repository at `root` into `dest` and check out `commit`,
/// detached. The clone holds only committed objects.
fn clean_checkout(root: &Path, dest: &Path, commit: &str) -> Result<()> {
    kiln_git::clone_without_checkout(root, dest)
        .with_context(|| format!("failed to clone {} into {}", root.display(), dest.display()))?;
    Repo::at(dest)
        .checkout_detached(commit)
        .with_context(|| format!("failed to check out {commit} in {}", dest.display()))?;
    Ok(())
}

/// Record pins that differ from the checkout's: a rebuild with other pins
/// may well differ, and the report should say why up front.
fn pin_differences(record: &Record, pins: &Pins) -> Vec<String> {
    let mut current = pins.flat.clone();
    current.insert("kiln.version".into(), env!("CARGO_PKG_VERSION").into());
    let mut notes = Vec::new();
    for (key, recorded) in &record.pins {
        if key == "rust.actual" {
            notes.push(format!(
                "the release was made with rustc {recorded} instead of the pinned toolchain"
            ));
            continue;
        }
        match current.get(key) {
            Some(now) if now == recorded => {}
            Some(now) => notes.push(format!(
                "pin {key}: the record says {recorded}, this verification uses {now}"
            )),
            None => notes.push(format!(
                "pin {key}: the record says {recorded}, this kiln has no such pin"
            )),
        }
    }
    notes
}

/// What a source gave: each expected artifact as a local file (or why it
/// could not be had), and the checks of the digests an index page states.
type Found = (
    BTreeMap<String, Result<Obtained, Status>>,
    Vec<(String, Status)>,
);

/// Each expected artifact as a local file, or why it could not be had;
/// for an index, also each link's sha256 checked against the record.
fn obtain(
    source: &Source,
    name: &ProjectName,
    expected: &BTreeMap<String, Expected>,
    dir: &Path,
) -> Result<Found> {
    let mut out = BTreeMap::new();
    let mut statements = Vec::new();
    match source {
        Source::Dir(d) => {
            if !d.is_dir() {
                bail!("--against {}: no such directory", d.display());
            }
            for file in expected.keys() {
                let path = d.join(file);
                // Only a regular file is read: a FIFO or a device there
                // could block or never end.
                let entry = match std::fs::metadata(&path) {
                    Ok(meta) if meta.is_file() => Ok((path, None)),
                    Ok(_) => Err(Status::Failed(format!(
                        "{} is not a regular file: refusing to read it",
                        path.display()
                    ))),
                    Err(_) => Err(Status::Missing(format!("{file} is not in {}", d.display()))),
                };
                out.insert(file.clone(), entry);
            }
        }
        Source::Url(base) => {
            std::fs::create_dir_all(dir)?;
            for (file, want) in expected {
                let url = format!("{}/{file}", base.trim_end_matches('/'));
                out.insert(file.clone(), download(&url, dir, file, want));
            }
        }
        Source::Index(index_url) => {
            std::fs::create_dir_all(dir)?;
            let page = match fetch::project_files(index_url, name.as_str(), |f| {
                expected.contains_key(f)
            }) {
                Ok(Some(page)) => page,
                Ok(None) => {
                    for file in expected.keys() {
                        out.insert(
                            file.clone(),
                            Err(Status::Missing(format!(
                                "the index {index_url} has no project {:?}",
                                name.normalized()
                            ))),
                        );
                    }
                    return Ok((out, statements));
                }
                Err(e) => {
                    for file in expected.keys() {
                        out.insert(
                            file.clone(),
                            Err(Status::Failed(format!(
                                "cannot read the index {index_url}: {e:#}"
                            ))),
                        );
                    }
                    return Ok((out, statements));
                }
            };
            let listing = &page.listing;
            for (file, want) in expected {
                let Some(entry) = listing.files.iter().find(|f| &f.filename == file) else {
                    let mut listed = listing.others.join(", ");
                    if listing.links > listing.others.len() + listing.files.len() {
                        listed.push_str(&format!(
                            " and {} more",
                            listing.links - listing.others.len() - listing.files.len()
                        ));
                    }
                    out.insert(
                        file.clone(),
                        Err(Status::Missing(format!(
                            "the index lists no {file} (it lists {})",
                            if listing.links == 0 {
                                "no files"
                            } else {
                                listed.as_str()
                            }
                        ))),
                    );
                    continue;
                };
                // The index's own statement of the digest: it must be the
                // record's, whatever the download turns out to be.
                if let Some(stated) = &entry.sha256 {
                    let status = if stated.eq_ignore_ascii_case(&want.sha256) {
                        Status::Match
                    } else {
                        Status::Disagrees(format!(
                            "the index page {} links {file} with sha256 {stated}; the record says {}",
                            page.url, want.sha256
                        ))
                    };
                    statements.push((format!("{file} (sha256 on the index page)"), status));
                }
                out.insert(file.clone(), download(&entry.url, dir, file, want));
            }
        }
    }
    Ok((out, statements))
}

/// The digest statements published beside the artifacts, each checked
/// against the record (or, without one, the expected digests): every
/// `SHA256SUMS` line naming an expected artifact, and the `.distinfo`
/// field by field. A file that is not published is no check; one that
/// cannot be read or parsed fails, naming the file and line.
fn published_statements(
    source: &Source,
    dir: &Path,
    distinfo: &str,
    record: Option<&Record>,
    expected: &BTreeMap<String, Expected>,
) -> Vec<(String, Status)> {
    let mut checks = Vec::new();
    if let Some(bytes) = fetch_optional(source, SUMS, dir) {
        checks.push((SUMS.to_string(), check_sums(bytes, expected)));
    }
    if let Some(bytes) = fetch_optional(source, distinfo, dir) {
        checks.push((
            distinfo.to_string(),
            check_distinfo(bytes, distinfo, record, expected),
        ));
    }
    checks
}

const SUMS: &str = "SHA256SUMS";

fn check_sums(bytes: Result<Vec<u8>, String>, expected: &BTreeMap<String, Expected>) -> Status {
    let text =
        match bytes.and_then(|b| String::from_utf8(b).map_err(|_| format!("{SUMS}: not UTF-8"))) {
            Ok(text) => text,
            Err(e) => return Status::Failed(e),
        };
    let lines = match kiln_record::parse_sha256sums(SUMS, &text) {
        Ok(lines) => lines,
        Err(e) => return Status::Disagrees(e.to_string()),
    };
    let problems: Vec<String> = lines
        .iter()
        .filter_map(|l| {
            let name = l.file.strip_prefix("./").unwrap_or(&l.file);
            let want = expected.get(name)?;
            (l.sha256 != want.sha256).then(|| {
                format!(
                    "{SUMS}:{}: {name} has sha256 {}; the record says {}",
                    l.line, l.sha256, want.sha256
                )
            })
        })
        .collect();
    if problems.is_empty() {
        Status::Match
    } else {
        Status::Disagrees(problems.join("\n"))
    }
}

/// A published `.distinfo` must be the record: every digest and size of
/// every artifact, and the fields that determine the bytes.
fn check_distinfo(
    bytes: Result<Vec<u8>, String>,
    file: &str,
    record: Option<&Record>,
    expected: &BTreeMap<String, Expected>,
) -> Status {
    let text =
        match bytes.and_then(|b| String::from_utf8(b).map_err(|_| format!("{file}: not UTF-8"))) {
            Ok(text) => text,
            Err(e) => return Status::Failed(e),
        };
    let published = match Record::parse(file, &text) {
        Ok(r) => r,
        Err(e) => return Status::Disagrees(e.to_string()),
    };
    // Where a field is written, for the message.
    let at = |prefix: &str| {
        text.lines()
            .position(|l| l.starts_with(prefix))
            .map_or_else(|| file.to_string(), |n| format!("{file}:{}", n + 1))
    };
    let mut problems = Vec::new();
    let mut differ = |key: String, stated: Option<String>, recorded: Option<String>| {
        if stated != recorded {
            let place = at(&format!("{key} = "));
            let stated = stated.unwrap_or_else(|| "nothing".into());
            let recorded = recorded.unwrap_or_else(|| "nothing".into());
            problems.push(format!(
                "{place}: {key} says {stated}; the record says {recorded}"
            ));
        }
    };
    match record {
        Some(r) => {
            differ(
                "PROJECT".into(),
                Some(published.project.clone()),
                Some(r.project.clone()),
            );
            differ(
                "VERSION".into(),
                Some(published.version.clone()),
                Some(r.version.clone()),
            );
            differ(
                "EPOCH".into(),
                Some(published.epoch.to_string()),
                Some(r.epoch.to_string()),
            );
            differ(
                "MODE".into(),
                Some(published.mode.to_string()),
                Some(r.mode.to_string()),
            );
            differ("LOCK".into(), published.lock.clone(), r.lock.clone());
            let pins: std::collections::BTreeSet<&String> =
                published.pins.keys().chain(r.pins.keys()).collect();
            for key in pins {
                differ(
                    format!("PIN ({key})"),
                    published.pins.get(key).cloned(),
                    r.pins.get(key).cloned(),
                );
            }
            let requires: std::collections::BTreeSet<&String> = published
                .build_requires
                .keys()
                .chain(r.build_requires.keys())
                .collect();
            for key in requires {
                differ(
                    format!("BUILD-REQUIRES ({key})"),
                    published.build_requires.get(key).cloned(),
                    r.build_requires.get(key).cloned(),
                );
            }
            let names: std::collections::BTreeSet<&String> = published
                .artifacts
                .keys()
                .chain(r.artifacts.keys())
                .collect();
            for name in names {
                let (p, d) = (published.artifacts.get(name), r.artifacts.get(name));
                differ(
                    format!("SHA256 ({name})"),
                    p.map(|p| p.sha256.clone()),
                    d.map(|d| d.sha256.clone()),
                );
                differ(
                    format!("SHA512 ({name})"),
                    p.map(|p| p.sha512.clone()),
                    d.map(|d| d.sha512.clone()),
                );
                differ(
                    format!("BLAKE2s ({name})"),
                    p.map(|p| p.blake2s.clone()),
                    d.map(|d| d.blake2s.clone()),
                );
                differ(
                    format!("SIZE ({name})"),
                    p.map(|p| p.size.to_string()),
                    d.map(|d| d.size.to_string()),
                );
            }
        }
        // Without a record (faithful), the rebuild's digests are expected.
        None => {
            for (name, want) in expected {
                let p = published.artifacts.get(name);
                differ(
                    format!("SHA256 ({name})"),
                    p.map(|p| p.sha256.clone()),
                    Some(want.sha256.clone()),
                );
                differ(
                    format!("SIZE ({name})"),
                    p.map(|p| p.size.to_string()),
                    Some(want.size.to_string()),
                );
            }
        }
    }
    if problems.is_empty() {
        Status::Match
    } else {
        Status::Disagrees(problems.join("\n"))
    }
}

/// A published copy on disk, with its (sha256 hex, size) when the download
/// already hashed it as it streamed.
type Obtained = (PathBuf, Option<(String, u64)>);

fn download(url: &str, dir: &Path, file: &str, want: &Expected) -> Result<Obtained, Status> {
    match fetch::download(url, dir, file, want.size.saturating_add(DOWNLOAD_SLACK)) {
        Ok(f) => Ok((f.path, Some((kiln_digest::hex(&f.sha256), f.size)))),
        Err(FetchError::NotFound { .. }) => Err(Status::Missing(format!("{url}: 404 Not Found"))),
        Err(e) => Err(Status::Failed(e.to_string())),
    }
}

/// Digest first; only a copy whose digest differs is opened, by the
/// bounded readers of the diff engine, against the rebuilt artifact.
fn compare(
    path: &Path,
    known: Option<(String, u64)>,
    file: &str,
    want: &Expected,
    rebuilt: Option<&&BuiltArtifact>,
    options: &DiffOptions,
) -> Status {
    let (sha256, size) = match known {
        Some(known) => known,
        None => match Digests::of_file(path) {
            Ok(d) => (d.sha256_hex(), d.size),
            Err(e) => return Status::Failed(format!("cannot read {}: {e}", path.display())),
        },
    };
    if sha256 == want.sha256 && size == want.size {
        return Status::Match;
    }
    let explanation = match rebuilt {
        None => Err(format!(
            "sha256 {} ({} bytes), expected {} ({} bytes); no rebuilt {file} to compare it with",
            sha256, size, want.sha256, want.size
        )),
        Some(a) => diff_files(
            &a.path,
            path,
            &format!("rebuilt {file}"),
            &format!("published {file}"),
            options,
        )
        .map(Box::new)
        .map_err(|e| {
            format!(
                "sha256 {} ({} bytes), expected {}; and it cannot be read: {e}",
                sha256, size, want.sha256
            )
        }),
    };
    Status::Differs {
        sha256,
        explanation,
    }
}

/// The provenance file from one source, checked: signature by a trusted
/// key, subjects exactly the artifacts, the tag's commit.
fn check_provenance(
    source: &Source,
    file: &str,
    dir: &Path,
    trusted: &[(kiln_provenance::PublicKey, String)],
    expected: &BTreeMap<String, (String, Option<String>)>,
    commit: &str,
    keyless: &Keyless<'_>,
) -> Status {
    // Keyless: the provenance's Sigstore bundle vouches for the statement
    // (identity from release.toml, Sigstore's trusted root), for every
    // artifact it names.
    if let Some(bundle) = fetch_optional(source, &kiln_sigstore::bundle_name(file), dir) {
        let bundle = match bundle {
            Ok(b) => b,
            Err(e) => return Status::Failed(e),
        };
        let Some(policy) = keyless.policy else {
            return Status::Failed(NO_POLICY.into());
        };
        for (artifact, path) in keyless.copies {
            if let Err(e) = crate::keyless::verify_bundle(&bundle, path, policy, None) {
                return Status::Failed(format!(
                    "{} for {artifact}: {e:#}",
                    kiln_sigstore::bundle_name(file)
                ));
            }
        }
        let payload = crate::keyless::envelope_line(&bundle)
            .and_then(|line| Ok(kiln_provenance::Envelope::parse(line.trim_end())?))
            .and_then(|e| {
                use base64::Engine as _;
                Ok(base64::engine::general_purpose::STANDARD.decode(e.payload)?)
            });
        return match payload.and_then(|p| crate::provenance::check_statement(&p, expected, commit))
        {
            Ok(()) => Status::Match,
            Err(e) => Status::Failed(format!("{file}: {e:#}")),
        };
    }
    let path = match source {
        Source::Dir(d) => {
            let p = d.join(file);
            if std::fs::symlink_metadata(&p).is_err() {
                return Status::Missing(format!("{file} is not in {}", d.display()));
            }
            p
        }
        Source::Url(base) => {
            let url = format!("{}/{file}", base.trim_end_matches('/'));
            if let Err(e) = std::fs::create_dir_all(dir) {
                return Status::Failed(format!("cannot create {}: {e}", dir.display()));
            }
            match fetch::download(&url, dir, file, PROVENANCE_MAX) {
                Ok(f) => f.path,
                Err(FetchError::NotFound { .. }) => {
                    return Status::Missing(format!("{url}: 404 Not Found"));
                }
                Err(e) => return Status::Failed(e.to_string()),
            }
        }
        Source::Index(_) => return Status::Missing("an index carries no provenance".into()),
    };
    let text = match read_capped(&path, PROVENANCE_MAX) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => return Status::Failed(format!("{file}: not UTF-8")),
        },
        Err(e) => return Status::Failed(e),
    };
    match crate::provenance::check(&text, trusted, expected, commit) {
        Ok(_) => Status::Match,
        Err(e) => Status::Failed(format!("{file}: {e:#}")),
    }
}

/// What keyless checks need: release.toml's identity and the published
/// copies of the artifacts at this source.
struct Keyless<'a> {
    policy: Option<&'a crate::keyless::IdentityPolicy>,
    copies: &'a BTreeMap<String, PathBuf>,
}

const NO_POLICY: &str = "a Sigstore bundle is published, but release.toml gives no [project.signing] keyless-issuer and keyless-identity to check it against";

/// A small file published beside the artifacts, if the source has it:
/// None when absent (a 404), Some(Err) when it could not be read.
fn fetch_optional(source: &Source, file: &str, dir: &Path) -> Option<Result<Vec<u8>, String>> {
    match source {
        Source::Dir(d) => {
            let p = d.join(file);
            // Present in any form (a FIFO, a directory) is a file to refuse.
            std::fs::symlink_metadata(&p)
                .is_ok()
                .then(|| read_capped(&p, PROVENANCE_MAX))
        }
        Source::Url(base) => {
            let url = format!("{}/{file}", base.trim_end_matches('/'));
            if let Err(e) = std::fs::create_dir_all(dir) {
                return Some(Err(format!("cannot create {}: {e}", dir.display())));
            }
            match fetch::download(&url, dir, file, PROVENANCE_MAX) {
                Ok(f) => Some(read_capped(&f.path, PROVENANCE_MAX)),
                Err(FetchError::NotFound { .. }) => None,
                Err(e) => Some(Err(e.to_string())),
            }
        }
        Source::Index(_) => None,
    }
}

/// A provenance file is a few kilobytes; anything near this is not one.
/// The same cap holds for a Sigstore bundle, `SHA256SUMS` and a `.distinfo`.
const PROVENANCE_MAX: u64 = 16 << 20;

/// A small published file, read whole only after checking that it is a
/// regular file (never a FIFO or device, which could block or never end)
/// of at most `cap` bytes; the read itself stops at `cap` too, in case the
/// file grows meanwhile.
fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let check = |meta: &std::fs::Metadata| {
        if !meta.is_file() {
            Err(format!(
                "{} is not a regular file: refusing to read it",
                path.display()
            ))
        } else if meta.len() > cap {
            Err(format!(
                "{} is {} bytes, more than the limit of {cap} bytes for such a file: refusing to read it",
                path.display(),
                meta.len()
            ))
        } else {
            Ok(())
        }
    };
    check(&std::fs::metadata(path).map_err(cannot)?)?;
    let file = std::fs::File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    check(&meta)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > cap {
        return Err(format!(
            "{} grew past the limit of {cap} bytes while being read: refusing it",
            path.display()
        ));
    }
    Ok(bytes)
}
