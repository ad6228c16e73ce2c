//! Building a wheelhouse's wheels, shared by `wheelhouse` (which builds
//! each wheel twice and publishes the directory) and `verify --wheelhouse`
//! (which rebuilds a published one from its `sources.txt` and locks).
//!
//! For each requirement: the sdist's page on the index, the one sdist of
//! the pinned version, downloaded (size-capped) and its sha256 checked
//! against the requirement **before** anything opens it; unpacked with
//! `kiln-wheelhouse`'s bounded reader; its build requirements locked
//! (`kiln-pep517`'s resolution under the user's pip constraints, and,
//! when the index states the sdist's PEP 700 upload time, each build
//! requirement capped at its newest release uploaded before it, as the
//! publisher's build could have seen) or, when verifying, the published lock;
//! the wheel built in backend mode (`engine.rs`) with the sdist's epoch and
//! canonicalized; and, when asked, built again by `reproduce.rs` from a
//! perturbed copy under umask 077, the bytes compared.

use crate::engine::build_project;
use crate::flags::Mode;
use crate::pins::Pins;
use crate::{Mismatch, fetch, report};
use anyhow::{Context, Result, bail};
use kiln_fs::publish::Staging;
use kiln_names::ArtifactKind;
use kiln_wheelhouse::{Entry, Requirement, Sdist, read_small};
use std::path::{Path, PathBuf};

/// An sdist larger than this is refused while downloading.
const MAX_SDIST: u64 = 512 << 20;
/// A lock file larger than this is refused before it is read.
const MAX_LOCK: u64 = 1 << 20;

/// What to build from, and how.
#[derive(Debug)]
pub struct Options<'a> {
    pub root: &'a Path,
    pub pins: &'a Pins,
    pub index: &'a str,
    /// The requirements file, for messages.
    pub file: &'a str,
    /// A published wheelhouse whose `locks/` to build with, instead of
    /// resolving new locks.
    pub locks_from: Option<&'a Path>,
    /// Build each wheel a second time, under variation, and compare.
    pub twice: bool,
    /// pip constraints for resolving new locks.
    pub constraints: Option<&'a Path>,
}

/// One wheel as built: its entry in the wheelhouse, where its bytes are,
/// and (built twice) how the second build differed.
#[derive(Debug)]
pub struct BuiltWheel {
    pub entry: Entry,
    pub path: PathBuf,
    pub difference: Option<String>,
}

/// Build every requirement's wheel, in order, with scratch space under
/// `staging`; the first failure stops, naming the requirement.
pub fn build_all(
    options: &Options<'_>,
    staging: &Staging,
    requirements: &[Requirement],
) -> Result<Vec<BuiltWheel>> {
    let scratch = tempfile::Builder::new()
        .prefix("wheels-")
        .tempdir_in(staging.scratch())
        .context("failed to create a directory for the builds")?;
    let mut built = Vec::new();
    for (i, requirement) in requirements.iter().enumerate() {
        report::step(&format!(
            "[{}/{}] {}",
            i + 1,
            requirements.len(),
            requirement.pin()
        ));
        let dir = scratch.path().join(format!("{i}"));
        let wheel = build_one(options, staging, &dir, requirement).with_context(|| {
            format!(
                "{} ({}:{})",
                requirement.pin(),
                options.file,
                requirement.line
            )
        })?;
        built.push(wheel);
    }
    // The scratch directory goes with the staging directory's scratch.
    let _ = scratch.keep();
    Ok(built)
}

fn build_one(
    options: &Options<'_>,
    staging: &Staging,
    dir: &Path,
    requirement: &Requirement,
) -> Result<BuiltWheel> {
    let page = fetch::project_files(options.index, requirement.name.as_str(), |f| {
        kiln_wheelhouse::is_sdist_of(requirement, f)
    })?
    .with_context(|| format!("the project is not on the index {}", options.index))?;
    let names: Vec<&str> = page
        .listing
        .files
        .iter()
        .map(|f| f.filename.as_str())
        .collect();
    let filename = kiln_wheelhouse::choose(requirement, &names)?.to_string();
    let Some(file) = page.listing.files.iter().find(|f| f.filename == filename) else {
        bail!("{filename}: vanished from the page");
    };
    if let Some(stated) = &file.sha256 {
        kiln_wheelhouse::check_index_sha256(requirement, &filename, stated)
            .map_err(|e| Mismatch(e.to_string()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let fetched = fetch::download(&file.url, dir, &filename, MAX_SDIST)?;
    let sha256 = kiln_digest::hex(&fetched.sha256);
    kiln_wheelhouse::check_sdist_sha256(requirement, &filename, &file.url, &sha256)
        .map_err(|e| Mismatch(e.to_string()))?;
    // Only now, its digest checked, is the sdist opened.
    let bytes = std::fs::read(&fetched.path)
        .with_context(|| format!("failed to read {}", fetched.path.display()))?;
    let sdist = Sdist::read(&filename, &bytes)?;
    let epoch = sdist.epoch();
    let top = sdist.unpack(&dir.join("src"))?;
    drop(bytes);

    let lock_name = kiln_wheelhouse::lock_file(&requirement.name, &requirement.version);
    let lock_text = match options.locks_from {
        Some(house) => read_small(&house.join(&lock_name), MAX_LOCK, "the lock")?,
        None => {
            let as_of = as_of_upload(options, &top, file.upload_time.as_deref(), dir)?;
            let constraints = as_of.as_deref().or(options.constraints);
            crate::engine::resolve_lock(options.root, &top, options.pins, constraints)
                .context("cannot lock its build requirements")?
                .render()
                .into_bytes()
        }
    };
    let lock_path = dir.join("build.lock.toml");
    std::fs::write(&lock_path, &lock_text)
        .with_context(|| format!("failed to write {}", lock_path.display()))?;
    let lock =
        kiln_pep517::read_lock(&lock_path).with_context(|| format!("the lock {lock_name}"))?;

    let built = build_project(
        &top,
        &dir.join("out"),
        Mode::Backend,
        epoch,
        options.pins,
        Some(&lock_path),
        false,
    )
    .context("the sdist does not build")?;
    kiln_wheelhouse::check_built(requirement, &built.name, &built.version)?;
    let Some(wheel) = built
        .artifacts
        .iter()
        .find(|a| a.kind == ArtifactKind::Wheel)
    else {
        bail!("the build made no wheel");
    };
    let difference = if options.twice {
        report::step(&format!(
            "building {} again, elsewhere, to compare",
            wheel.filename
        ));
        let outcomes = crate::reproduce::reproduce(
            options.root,
            staging,
            &top,
            Mode::Backend,
            epoch,
            Some(&lock_path),
            std::slice::from_ref(wheel),
        )?;
        outcomes
            .into_iter()
            .find(|o| o.filename == wheel.filename)
            .and_then(|o| o.difference)
    } else {
        None
    };
    Ok(BuiltWheel {
        entry: Entry {
            name: requirement.name.clone(),
            version: requirement.version.clone(),
            sdist_filename: filename,
            sdist_sha256: sha256,
            epoch,
            wheel_filename: wheel.filename.clone(),
            wheel: wheel.digests.clone(),
            lock: lock_text,
            locked: lock
                .packages
                .iter()
                .map(|p| (p.name.clone(), p.version.clone(), p.sha256.clone()))
                .collect(),
        },
        path: wheel.path.clone(),
        difference,
    })
}

/// Write the wheelhouse's files but the statement into `dir`: the wheels,
/// the locks, requirements.txt, sources.txt, SHA256SUMS and the record.
pub fn write_house(
    dir: &Path,
    house: &kiln_wheelhouse::Wheelhouse,
    wheels: &[BuiltWheel],
) -> Result<()> {
    let write = |rel: &str, bytes: &[u8]| -> Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("failed to write {}", path.display()))
    };
    for w in wheels {
        let bytes = std::fs::read(&w.path)
            .with_context(|| format!("failed to read {}", w.path.display()))?;
        write(&w.entry.wheel_filename, &bytes)?;
        write(
            &kiln_wheelhouse::lock_file(&w.entry.name, &w.entry.version),
            &w.entry.lock,
        )?;
    }
    write(
        kiln_wheelhouse::REQUIREMENTS,
        house.requirements_txt().as_bytes(),
    )?;
    write(kiln_wheelhouse::SOURCES, house.sources_txt().as_bytes())?;
    write(kiln_wheelhouse::SHA256SUMS, house.sha256sums().as_bytes())?;
    write(kiln_wheelhouse::DISTINFO, house.distinfo().as_bytes())?;
    Ok(())
}

/// When the index states when the sdist was uploaded: a constraints file in
/// `dir` holding the user's `--constraints` and, for each of the sdist's
/// build requirements, its newest release uploaded before then (from the
/// same index's upload times). `None` when the index states no time.
fn as_of_upload(
    options: &Options<'_>,
    top: &Path,
    uploaded: Option<&str>,
    dir: &Path,
) -> Result<Option<PathBuf>> {
    let Some(date) = uploaded else {
        return Ok(None);
    };
    let requires = crate::engine::build_system(top)?.requires;
    let lines = match crate::asof::exclude_newer(&requires, options.index, date) {
        Ok(lines) => lines,
        // A private index of sdists need not list the build requirements:
        // say so, and resolve the newest (the lock records what was used).
        Err(e) => {
            report::warn(&format!(
                "{}: its build requirements cannot be taken as of its upload ({date}): {e:#}; resolving the newest",
                top.display()
            ));
            return Ok(None);
        }
    };
    if lines.is_empty() {
        return Ok(None);
    }
    report::step(&format!("as of {date}: {}", lines.join(", ")));
    let path = dir.join("as-of-upload.constraints.txt");
    crate::asof::write_constraints(options.constraints, &lines, &path)?;
    Ok(Some(path))
}
