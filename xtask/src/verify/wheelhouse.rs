//! `cargo xtask verify --wheelhouse DIR`: rebuild a wheelhouse made by
//! `cargo xtask wheelhouse` from what it says it was built from (its
//! `sources.txt`, each sdist fetched from `--index` and checked against it
//! before it is opened, and its `locks/`), then compare every file of DIR
//! with the rebuild's by sha256 and check the signed statement: a valid
//! signature by a trusted key (release/keys/ at HEAD, or this checkout's
//! development key), whose subjects are exactly DIR's wheels and
//! `requirements.txt`. Exit 0 only if everything agrees; 1 naming each
//! file that does not.

use crate::flags::Verify;
use crate::pins::Pins;
use crate::wheels::{Options, build_all};
use crate::{Mismatch, fetch, project_root, report};
use anyhow::{Context, Result, bail};
use kiln_digest::Digests;
use kiln_fs::publish::Staging;
use kiln_wheelhouse::{DISTINFO, SOURCES, STATEMENT, published_files, read_small};
use std::collections::BTreeMap;
use std::path::Path;

/// The statement is read whole only up to this size.
const STATEMENT_MAX: u64 = 16 << 20;
const DEFAULT_INDEX: &str = "https://pypi.org/simple/";

impl Verify {
    pub(super) fn run_wheelhouse(&self, dir: &Path) -> Result<()> {
        let root = project_root()?;
        let pins = Pins::load(&root)?;
        fetch::pace()?;
        let index = self.index.first().map_or(DEFAULT_INDEX, String::as_str);
        if !dir.join(DISTINFO).is_file() {
            bail!(
                "{}: not a wheelhouse (no {DISTINFO}); make one with `cargo xtask wheelhouse REQUIREMENTS --out DIR`",
                dir.display()
            );
        }
        let sources_path = dir.join(SOURCES);
        let file = sources_path.display().to_string();
        let text = read_small(
            &sources_path,
            kiln_wheelhouse::MAX_REQUIREMENTS_SIZE,
            "the sources file",
        )?;
        let text =
            String::from_utf8(text).map_err(|_| anyhow::anyhow!("{file}: not UTF-8 text"))?;
        let sources = kiln_wheelhouse::parse(&file, &text)?;

        let tmp = tempfile::tempdir().context("failed to create a directory for the rebuild")?;
        let staging = Staging::beside(&tmp.path().join("rebuild"))?;
        let options = Options {
            root: &root,
            pins: &pins,
            index,
            file: &file,
            locks_from: Some(dir),
            twice: false,
            constraints: None,
        };
        let wheels = build_all(&options, &staging, &sources)?;
        let house = kiln_wheelhouse::Wheelhouse {
            entries: wheels.iter().map(|w| w.entry.clone()).collect(),
            pins: pins.flat.clone(),
        };
        let rebuilt = house.listing();
        let published = published_files(dir)?;
        let differences = kiln_wheelhouse::compare(
            &published
                .iter()
                .map(|(n, d)| (n.clone(), d.sha256_hex()))
                .collect(),
            &rebuilt,
        );
        let (statement, statement_ok) = check_statement(&root, dir, &published);
        let verified = differences.is_empty() && statement_ok;

        if self.json {
            report::json(kiln_report::Report::VerifyWheelhouse(
                kiln_report::VerifyWheelhouseReport {
                    schema: kiln_report::Version,
                    wheelhouse: dir.to_path_buf(),
                    index: index.to_string(),
                    verified,
                    differences: differences
                        .iter()
                        .map(|d| kiln_report::WheelhouseDifference {
                            file: d.file.clone(),
                            what: d.what.clone(),
                        })
                        .collect(),
                    statement: statement.clone(),
                },
            ));
        }
        let mut rows: Vec<Vec<String>> = differences
            .iter()
            .map(|d| vec![d.file.clone(), report::bad(&d.what)])
            .collect();
        let matched = published.len()
            - differences
                .iter()
                .filter(|d| published.contains_key(&d.file))
                .count();
        rows.push(vec![
            format!("{matched} file(s)"),
            report::ok("match the rebuild"),
        ]);
        rows.push(vec![
            STATEMENT.to_string(),
            if statement_ok {
                report::ok(&statement)
            } else {
                report::bad(&statement)
            },
        ]);
        report::eprint(&report::table(&["file", "verdict"], &rows));
        if !self.json {
            explain_wheels(dir, &differences, &wheels);
        }
        if !verified {
            let mut named: Vec<String> = differences
                .iter()
                .map(|d| format!("{} {}", d.file, d.what))
                .collect();
            if !statement_ok {
                named.push(format!("{STATEMENT}: {statement}"));
            }
            bail!(Mismatch(format!(
                "the wheelhouse {} does not verify: {}",
                dir.display(),
                named.join("; ")
            )));
        }
        report::step(&format!(
            "verified: {} is what its sources build, file for file",
            dir.display()
        ));
        Ok(())
    }
}

/// For each wheel of DIR that differs from the rebuild's, what differs
/// (kiln-verify's explanation; the published wheel is opened only because
/// its digest did not match).
fn explain_wheels(
    dir: &Path,
    differences: &[kiln_wheelhouse::Difference],
    wheels: &[crate::wheels::BuiltWheel],
) {
    for d in differences {
        let Some(rebuilt) = wheels.iter().find(|w| w.entry.wheel_filename == d.file) else {
            continue;
        };
        let published = dir.join(&d.file);
        if !published.is_file() {
            continue;
        }
        let explained = kiln_verify::rebuilt::explain_wheel(&published, &rebuilt.path);
        report::eprint(&format!("{}:\n{explained}\n", d.file));
    }
}

/// The statement's verdict and whether it passes: it must be there (a
/// wheelhouse made with --no-sign does not verify: nothing says who made
/// it), verify with a trusted key and cover exactly DIR's wheels and
/// requirements.txt.
fn check_statement(
    root: &Path,
    dir: &Path,
    published: &BTreeMap<String, Digests>,
) -> (String, bool) {
    let path = dir.join(STATEMENT);
    if !path.exists() {
        return (
            format!(
                "missing: the wheelhouse is unsigned (made with --no-sign, or {STATEMENT} was removed)"
            ),
            false,
        );
    }
    let expected = kiln_wheelhouse::signed_files(published);
    let result = (|| -> Result<String> {
        let text = String::from_utf8(read_small(&path, STATEMENT_MAX, "the statement")?)
            .map_err(|_| anyhow::anyhow!("not UTF-8 text"))?;
        let trusted = crate::provenance::trusted_keys(root, None)?;
        let signers = kiln_wheelhouse::check_statement(&text, &trusted, &expected)?;
        Ok(format!("signed by {}", signers.join(", ")))
    })();
    match result {
        Ok(text) => (text, true),
        Err(e) => (format!("{e:#}"), false),
    }
}
