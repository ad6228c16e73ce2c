//! `cargo xtask release`: build every project of `release/release.toml`,
//! prove the build reproducible, record its digests, and only then put the
//! artifacts into the dist directory.
//!
//! Order matters: artifacts are built into a staging directory beside the
//! dist directory (`kiln_fs::publish::Staging`, locked while the release
//! runs), rebuilt in a copy inside it and compared, checked against the
//! committed record, and the complete new dist directory (artifacts,
//! provenance, `.distinfo`, `SHA256SUMS`) is swapped into place in one
//! step only when all of that passed. A failure, or a kill, at any step
//! leaves the dist directory holding the previous release or the new one,
//! never a part; what a killed run left is removed by the next one.

use crate::config::{EpochPolicy, RELEASE_TOML, ReleaseConfig};
use crate::engine::{BuiltArtifact, build_project};
use crate::flags::Release;
use crate::layout;
use crate::pins::Pins;
use crate::reproduce::reproduce;
use crate::sign::Signer;
use crate::{Mismatch, epoch, project_root, report};
use anyhow::{Context, Result, bail};
use kiln_fs::publish::Staging;
use kiln_names::{BuildMode, ProjectName, ResolvedEpoch};
use kiln_record::{Record, render_sha256sums};
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

struct Released {
    tag: String,
    provenance: Option<PathBuf>,
    name: String,
    version: String,
    mode: BuildMode,
    epoch: ResolvedEpoch,
    artifacts: Vec<BuiltArtifact>,
    record: Record,
    record_path: PathBuf,
    publish: Option<crate::config::Publish>,
}

impl Release {
    pub fn run(self) -> Result<()> {
        let started = crate::sign::now_seconds();
        let root = project_root()?;
        // Keyless signing needs the CI's OIDC token: fail before any work.
        if self.keyless {
            crate::keyless::check_ambient_credentials()?;
        }
        let mut pins = Pins::load(&root)?;
        check_toolchain(&root, &mut pins, self.allow_toolchain_mismatch)?;
        let signer = self.signer(&root)?;
        let config = ReleaseConfig::load(&root)?;
        let projects = config.select(&self.projects)?;

        kiln_release::check_replaceable(
            &self.out,
            &[
                ".tar.gz",
                ".whl",
                layout::RECORD_SUFFIX,
                ".intoto.jsonl",
                kiln_sigstore::BUNDLE_SUFFIX,
            ],
        )?;
        let staging = Staging::beside(&self.out).with_context(|| {
            format!(
                "failed to stage a release beside the dist directory {}",
                self.out.display()
            )
        })?;
        let new_dist = staging.dir();
        let builds = staging.scratch().join("build");

        let mut released = Vec::new();
        for project in &projects {
            let dir = root.join(&project.path);
            let mode = project.mode;
            let fixed = match project.epoch_policy()? {
                EpochPolicy::Fixed(n) => Some(n),
                EpochPolicy::GitCommit => None,
            };
            let epoch = epoch::resolve(self.source_date_epoch, None, fixed, &dir)?;
            report::step(&format!(
                "building {} (epoch {} from {})",
                project.name,
                epoch.epoch,
                epoch.source.as_str()
            ));
            let out = builds.join(&project.name);
            let lock = match mode {
                BuildMode::Native => None,
                BuildMode::Backend => Some(load_lock(&root, &project.name)?),
            };
            let lock_path = lock.as_ref().map(|(path, _, _)| path.as_path());
            let built = build_project(&dir, &out, mode, epoch.epoch, &pins, lock_path, false)?;
            let configured = ProjectName::new(&project.name)
                .with_context(|| format!("{RELEASE_TOML}: project name"))?;
            let actual = ProjectName::new(&built.name)?;
            if configured.normalized() != actual.normalized() {
                bail!(
                    "{RELEASE_TOML}: project {:?} builds a distribution named {:?}: make `name` in release.toml match pyproject.toml",
                    project.name,
                    built.name
                );
            }

            report::step(&format!(
                "rebuilding {} elsewhere to prove it reproducible",
                project.name
            ));
            let bar = report::progress(0, "reproducing");
            let outcomes = reproduce(
                &root,
                &staging,
                &dir,
                mode,
                epoch.epoch,
                lock_path,
                &built.artifacts,
            );
            bar.finish_and_clear();
            if let Some(refusal) = kiln_release::record::not_reproducible(
                &built.name,
                &built.version,
                outcomes?,
                &self.out,
            ) {
                return Err(Mismatch(refusal).into());
            }

            let mut record_pins = pins.flat.clone();
            record_pins.insert("kiln.version".into(), env!("CARGO_PKG_VERSION").into());
            let record = kiln_release::record::record(kiln_release::record::Built {
                project: actual.normalized(),
                version: &built.version,
                epoch: epoch.epoch.seconds(),
                mode,
                pins: record_pins,
                lock: lock
                    .as_ref()
                    .map(|(_, sha256, lock)| (sha256.as_str(), lock)),
                artifacts: built
                    .artifacts
                    .iter()
                    .map(|a| (a.filename.as_str(), &a.digests))
                    .collect(),
            });
            let record_path = layout::record_path(&root, actual.normalized(), &built.version);
            if let Some(refusal) = kiln_release::reroll(&record_path, &record)? {
                return Err(Mismatch(refusal).into());
            }
            released.push(Released {
                tag: project.tag.replace("{version}", &built.version),
                provenance: None,
                name: built.name,
                version: built.version,
                mode,
                epoch,
                artifacts: built.artifacts,
                record,
                record_path,
                publish: project.publish.clone(),
            });
        }

        // Provenance, signed (keyless also signs every artifact), in staging:
        // a signing failure leaves the dist directory as it was.
        let finished = crate::sign::now_seconds();
        let seed = crate::sign::random_seed()?;
        for r in &mut released {
            if matches!(signer, Signer::Unsigned) {
                continue;
            }
            let facts = crate::provenance::ReleaseFacts {
                root: &root,
                project: &r.record.project,
                version: &r.version,
                tag: r.tag.clone(),
                mode: r.record.mode,
                epoch: r.record.epoch,
                pins: &r.record.pins,
                artifacts: r
                    .artifacts
                    .iter()
                    .map(|a| {
                        (
                            a.filename.clone(),
                            a.digests.sha256_hex(),
                            a.digests.sha512_hex(),
                        )
                    })
                    .collect(),
                locked: kiln_release::record::locked(&r.record),
                lock_sha256: r.record.lock.clone(),
                github: r.publish.as_ref().and_then(|p| p.github.as_deref()),
                started,
                finished,
                seed,
            };
            let statement = crate::provenance::statement(&facts, &signer)?;
            // Written into the new dist directory, published with the artifacts.
            let path = new_dist.join(kiln_provenance::file_name(&r.record.project, &r.version));
            match &signer {
                Signer::Key { key, .. } => {
                    let envelope = kiln_provenance::dsse::sign(
                        kiln_provenance::IN_TOTO_PAYLOAD_TYPE,
                        &statement,
                        key,
                    );
                    write_staged(&path, envelope.to_json_line().as_bytes())?;
                }
                Signer::Keyless => {
                    let line = crate::keyless::sign_statement(&statement, &path)?;
                    write_staged(&path, line.as_bytes())?;
                    let files: Vec<PathBuf> = r.artifacts.iter().map(|a| a.path.clone()).collect();
                    crate::keyless::sign_files(&files)?;
                }
                Signer::Unsigned => {}
            }
            r.provenance = Some(path);
        }

        // Everything passed: complete the new dist directory, then swap it
        // into place in one step.
        let mut sums = Vec::new();
        for r in &mut released {
            for a in &mut r.artifacts {
                move_with_bundle(&a.path, &new_dist.join(&a.filename))?;
                a.path = self.out.join(&a.filename);
                sums.push((a.filename.clone(), a.digests.sha256_hex()));
            }
            if let Some(p) = &r.provenance {
                r.provenance = Some(self.out.join(p.file_name().unwrap_or_default()));
            }
            write_staged(
                &new_dist.join(layout::published_record_name(&r.record.project, &r.version)),
                r.record.render().as_bytes(),
            )?;
        }
        let sums_text = render_sha256sums(sums.iter().map(|(f, s)| (f.as_str(), s.as_str())));
        write_staged(&new_dist.join("SHA256SUMS"), sums_text.as_bytes())?;
        staging.publish().with_context(|| {
            format!(
                "failed to publish the release into {} (it holds the previous release)",
                self.out.display()
            )
        })?;

        // The records, each written atomically; what killed runs left
        // beside them is removed first.
        for r in &released {
            if let Some(dir) = r.record_path.parent() {
                kiln_release::clean_records(dir)?;
            }
            let text = r.record.render();
            let existing = std::fs::read_to_string(&r.record_path).ok();
            if existing.as_deref() != Some(text.as_str()) {
                kiln_fs::publish::write_atomic(&r.record_path, text.as_bytes())?;
            }
        }

        self.summarize(&root, &released, &signer);
        Ok(())
    }

    /// How this release signs: --keyless, --no-sign, --key, or the
    /// development key (created on first use).
    fn signer(&self, root: &Path) -> Result<Signer> {
        if self.keyless {
            return Ok(Signer::Keyless);
        }
        if self.no_sign {
            return Ok(Signer::Unsigned);
        }
        crate::sign::key_signer(
            root,
            self.key.as_deref(),
            "--key or --keyless for a real release",
        )
    }

    fn summarize(&self, root: &Path, released: &[Released], signer: &Signer) {
        if self.json {
            let projects = released
                .iter()
                .map(|r| kiln_report::ReleasedProject {
                    name: r.name.clone(),
                    version: r.version.clone(),
                    mode: r.mode,
                    epoch: (&r.epoch).into(),
                    record: r
                        .record_path
                        .strip_prefix(root)
                        .unwrap_or(&r.record_path)
                        .to_path_buf(),
                    provenance: r.provenance.clone(),
                    signing: signer.label(),
                    publish: r.publish.as_ref().map(|p| kiln_report::Publish {
                        github: p.github.clone(),
                        index: p.index.clone(),
                    }),
                    artifacts: r
                        .artifacts
                        .iter()
                        .map(|a| {
                            kiln_report::ReleasedArtifact::new(
                                a.kind,
                                &a.filename,
                                &a.path,
                                &a.digests,
                            )
                        })
                        .collect(),
                })
                .collect();
            report::json(kiln_report::Report::Release(kiln_report::ReleaseReport {
                schema: kiln_report::Version,
                out: self.out.clone(),
                sha256sums: self.out.join("SHA256SUMS"),
                projects,
            }));
            return;
        }
        let rows: Vec<Vec<String>> = released
            .iter()
            .flat_map(|r| r.artifacts.iter())
            .map(|a| {
                vec![
                    a.filename.clone(),
                    report::human_size(a.digests.size),
                    a.digests.sha256_hex(),
                    report::ok("yes"),
                ]
            })
            .collect();
        report::eprint("\n");
        report::eprint(&report::table(
            &["artifact", "size", "sha256", "reproduced"],
            &rows,
        ));
        for r in released {
            if let Some(p) = &r.provenance {
                report::step(&format!(
                    "provenance {} signed with the {}",
                    p.display(),
                    signer.label()
                ));
            } else {
                report::warn("no provenance written (--no-sign)");
            }
            report::step(&format!(
                "released {} {} into {} (record: {})",
                r.name,
                r.version,
                self.out.display(),
                r.record_path
                    .strip_prefix(root)
                    .unwrap_or(&r.record_path)
                    .display()
            ));
        }
    }
}

/// A backend-mode project's lock: `release/locks/<name>.lock.toml`, its
/// sha256 and its contents.
fn load_lock(root: &Path, name: &str) -> Result<(PathBuf, String, kiln_lock::Lock)> {
    let path = layout::lock_path(root, name);
    let (sha256, lock) = kiln_release::load_lock(&path, name)?;
    Ok((path, sha256, lock))
}

/// The running rustc must be the pinned one, unless overridden (then the
/// actual version is recorded as a pin of its own).
fn check_toolchain(root: &Path, pins: &mut Pins, allow_mismatch: bool) -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(root);
    let version = cmd!(sh, "rustc --version")
        .quiet()
        .read()
        .context("failed to run `rustc --version`")?;
    let actual = version
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    if actual == pins.rust_channel {
        return Ok(());
    }
    if !allow_mismatch {
        bail!(
            "the Rust toolchain is {actual}, but pinned-toolchain.toml pins {}: install it (rustup honours rust-toolchain.toml) \
             or pass --allow-toolchain-mismatch, which records the toolchain actually used",
            pins.rust_channel
        );
    }
    report::warn(&format!(
        "releasing with rustc {actual} instead of the pinned {}; this is recorded",
        pins.rust_channel
    ));
    pins.flat.insert("rust.actual".into(), actual);
    Ok(())
}

/// Move a file into the dist directory (a rename), and its Sigstore bundle
/// `<file>.sigstore.json` with it when keyless signing made one.
fn move_with_bundle(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to)
        .with_context(|| format!("failed to move {} to {}", from.display(), to.display()))?;
    let bundle = kiln_sigstore::bundle_path;
    if bundle(from).is_file() {
        std::fs::rename(bundle(from), bundle(to))
            .with_context(|| format!("failed to move the Sigstore bundle of {}", from.display()))?;
    }
    Ok(())
}

/// Write a file into the staging directory, which nobody else sees (the
/// publication syncs it before the swap), mode 0644.
fn write_staged(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, bytes)
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)))
        .with_context(|| format!("failed to write {}", path.display()))
}
