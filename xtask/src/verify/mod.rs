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

mod checks;
mod report;
mod sources;
mod wheelhouse;

use crate::config::{EpochPolicy, ReleaseConfig};
use crate::engine::{BuiltArtifact, build_project};
use crate::fetch;
use crate::flags::{Mode, Verify};
use crate::pins::Pins;
use crate::{Mismatch, epoch, project_root};
use anyhow::{Context, Result, bail};
use kiln_diff::DiffOptions;
use kiln_digest::Digests;
use kiln_git::Repo;
use kiln_names::{Epoch, ProjectName};
use kiln_record::Record;
use std::collections::BTreeMap;
use std::path::PathBuf;

use checks::{Keyless, NO_POLICY, check_provenance, published_statements};
use kiln_verify::{Expected, Status, compare, expectations, pin_differences, provenance_subjects};
use sources::{Source, clean_checkout, fetch_optional, obtain};

#[derive(Debug)]
struct Check {
    source: String,
    source_kind: &'static str,
    artifact: String,
    status: Status,
}

impl Verify {
    pub fn run(self) -> Result<()> {
        if let Some(dir) = &self.wheelhouse {
            return self.run_wheelhouse(dir);
        }
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
        let project = config.one(self.project.as_deref())?;
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
        crate::report::step(&format!(
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
            let mut current = pins.flat.clone();
            current.insert("kiln.version".into(), env!("CARGO_PKG_VERSION").into());
            notes.extend(pin_differences(r, &current));
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

        crate::report::step(&format!(
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
        let digests: BTreeMap<String, Expected> = rebuilt
            .iter()
            .map(|(f, a)| (f.clone(), Expected::from(&a.digests)))
            .collect();
        // The rebuild against the record; what the copies must have.
        let (expected, against_record) = expectations(record.as_ref(), &digests);
        let mut checks: Vec<Check> = against_record
            .into_iter()
            .map(|(artifact, status)| Check {
                source: "rebuild".into(),
                source_kind: "rebuild",
                artifact,
                status,
            })
            .collect();

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
        let policy = head_project
            .as_ref()
            .and_then(crate::config::keyless_policy);
        let provenance_expected = provenance_subjects(&expected, record.as_ref());
        for (n, source) in sources.iter().enumerate() {
            crate::report::step(&format!("comparing with {}", source.label()));
            let dir = downloads.join(n.to_string());
            let (found, statements) = obtain(source, &name, &expected, &dir)?;
            for (file, want) in &expected {
                let status = match found.get(file) {
                    Some(Ok((path, known))) => compare(
                        path,
                        known.clone(),
                        file,
                        want,
                        rebuilt.get(file).map(|a| a.path.as_path()),
                        &options,
                    ),
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
                let file = kiln_provenance::file_name(&normalized, &version);
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
}

fn same_name(a: &str, normalized: &str) -> bool {
    ProjectName::new(a).is_ok_and(|n| n.normalized() == normalized)
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
    crate::layout::newest_recorded(&listing).with_context(|| {
        format!(
            "no committed record under {dir} at HEAD: release the project and commit its record, or give --version"
        )
    })
}
