//! `cargo xtask wheelhouse REQUIREMENTS --out DIR`: the wheels of a
//! hash-pinned requirements file, each built from its sdist twice and
//! compared, published as one directory with `requirements.txt` (the
//! built wheels by hash), the record and a signed statement covering the
//! wheels and that file. The builds are `wheels.rs`'s; the layout, texts
//! and statement `kiln-wheelhouse`'s; this module reads the flags, signs,
//! publishes and reports.

use crate::flags::Wheelhouse;
use crate::pins::Pins;
use crate::sign::Signer;
use crate::wheels::{BuiltWheel, Options, build_all, write_house};
use crate::{Mismatch, fetch, project_root, report};
use anyhow::{Result, bail};
use kiln_fs::publish::Staging;
use kiln_provenance::{Signing, SigningKind};
use kiln_wheelhouse::read_small;
use std::path::Path;

impl Wheelhouse {
    pub fn run(self) -> Result<()> {
        let root = project_root()?;
        let pins = Pins::load(&root)?;
        fetch::pace()?;
        let file = self.requirements.display().to_string();
        let text = read_small(
            &self.requirements,
            kiln_wheelhouse::MAX_REQUIREMENTS_SIZE,
            "the requirements file",
        )?;
        let text = String::from_utf8(text)
            .map_err(|_| anyhow::anyhow!("the requirements file {file}: not UTF-8 text"))?;
        let requirements = kiln_wheelhouse::parse(&file, &text)?;
        refuse_foreign_out(&self.out)?;
        // pip reads it from a directory of its own: an absolute path.
        let constraints = match &self.constraints {
            Some(c) if c.is_file() => Some(std::fs::canonicalize(c)?),
            Some(c) => bail!("--constraints {}: no such file", c.display()),
            None => None,
        };
        let signer = self.signer(&root)?;
        let started = crate::sign::now_seconds();

        let staging = Staging::beside(&self.out)?;
        let options = Options {
            root: &root,
            pins: &pins,
            index: &self.index,
            file: &file,
            locks_from: None,
            twice: true,
            constraints: constraints.as_deref(),
        };
        let wheels = build_all(&options, &staging, &requirements)?;
        let house = kiln_wheelhouse::Wheelhouse {
            entries: wheels.iter().map(|w| w.entry.clone()).collect(),
            pins: pins.flat.clone(),
        };
        let varies: Vec<&BuiltWheel> = wheels.iter().filter(|w| w.difference.is_some()).collect();
        let published = varies.is_empty();
        if published {
            write_house(&staging.dir(), &house, &wheels)?;
            if let Signer::Key { key, .. } = &signer {
                let (builder_id, invocation_id) =
                    crate::sign::builder_and_invocation(crate::sign::random_seed()?);
                let facts = kiln_wheelhouse::RunFacts {
                    index: self.index.clone(),
                    signing: Signing {
                        kind: match &signer {
                            Signer::Key {
                                development: true, ..
                            } => SigningKind::DevelopmentKey,
                            _ => SigningKind::Key,
                        },
                        keyid: Some(key.public_key().keyid()),
                    },
                    builder_id,
                    invocation_id,
                    started_on: kiln_provenance::rfc3339(started),
                    finished_on: kiln_provenance::rfc3339(crate::sign::now_seconds()),
                };
                let statement = kiln_wheelhouse::statement_json(&house, &facts);
                let envelope = kiln_provenance::dsse::sign(
                    kiln_provenance::IN_TOTO_PAYLOAD_TYPE,
                    &statement,
                    key,
                );
                let path = staging.dir().join(kiln_wheelhouse::STATEMENT);
                std::fs::write(&path, envelope.to_json_line())?;
            }
            staging.publish()?;
        }
        self.summarize(&wheels, &signer, published);
        if !published {
            bail!(Mismatch(format!(
                "not reproducible: {}; nothing was written to {}",
                varies
                    .iter()
                    .map(|w| w.entry.wheel_filename.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                self.out.display()
            )));
        }
        Ok(())
    }

    fn signer(&self, root: &Path) -> Result<Signer> {
        if self.no_sign {
            return Ok(Signer::Unsigned);
        }
        crate::sign::key_signer(root, self.key.as_deref(), "--key")
    }

    fn summarize(&self, wheels: &[BuiltWheel], signer: &Signer, published: bool) {
        if self.json {
            report::json(kiln_report::Report::Wheelhouse(
                kiln_report::WheelhouseReport {
                    schema: kiln_report::Version,
                    requirements: self.requirements.clone(),
                    out: self.out.clone(),
                    published,
                    index: self.index.clone(),
                    signing: signer.label(),
                    wheels: wheels
                        .iter()
                        .map(|w| kiln_report::WheelhouseWheel {
                            name: w.entry.name.normalized().to_string(),
                            version: w.entry.version.clone(),
                            sdist: w.entry.sdist_filename.clone(),
                            sdist_sha256: w.entry.sdist_sha256.clone(),
                            epoch: w.entry.epoch.seconds(),
                            wheel: w.entry.wheel_filename.clone(),
                            wheel_sha256: w.entry.wheel.sha256_hex(),
                            size: w.entry.wheel.size,
                            reproducible: w.difference.is_none(),
                            difference: w.difference.clone(),
                        })
                        .collect(),
                },
            ));
        }
        let rows: Vec<Vec<String>> = wheels
            .iter()
            .map(|w| {
                vec![
                    w.entry.wheel_filename.clone(),
                    report::human_size(w.entry.wheel.size),
                    w.entry.wheel.sha256_hex(),
                    match &w.difference {
                        None => report::ok("reproducible"),
                        Some(_) => report::bad("NOT reproducible"),
                    },
                ]
            })
            .collect();
        report::eprint(&report::table(
            &["wheel", "size", "sha256", "second build"],
            &rows,
        ));
        for w in wheels {
            if let Some(d) = &w.difference {
                report::eprint(&format!("{}: {d}", w.entry.wheel_filename));
            }
        }
        if published {
            report::step(&format!(
                "wrote {} ({} wheel(s), requirements.txt, SHA256SUMS, {}; {})",
                self.out.display(),
                wheels.len(),
                kiln_wheelhouse::DISTINFO,
                signer.label()
            ));
        }
    }
}

/// DIR is replaced as a whole: refuse one holding something else than a
/// wheelhouse (naming it), rather than delete it.
fn refuse_foreign_out(out: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    if !meta.is_dir() {
        bail!("--out {}: not a directory", out.display());
    }
    // Only whether it is empty: the order does not matter.
    #[allow(clippy::disallowed_methods)]
    let empty = std::fs::read_dir(out)?.next().is_none();
    if empty || out.join(kiln_wheelhouse::DISTINFO).is_file() {
        return Ok(());
    }
    bail!(
        "--out {}: holds files that are not a wheelhouse (no {}): the directory is replaced as a whole, so choose an empty or new one",
        out.display(),
        kiln_wheelhouse::DISTINFO
    )
}
