//! The mirror's tree and how it changes:
//!
//! ```text
//! DIR/simple/index.html, index.json          the root page (PEP 503, PEP 691)
//! DIR/simple/<normalized>/index.html, .json  a project's page
//! DIR/files/<file>                           every sdist and wheel
//! DIR/files/<file>.metadata                  a wheel's core metadata (PEP 658)
//! DIR/files/<file>.original.sha256           a recompressed wheel's original: `<sha256>  <name>`
//! DIR/files/<file>.yanked                    a yanked file's reason (PEP 592)
//! DIR/files/<sdist>.requires-python          an sdist's Requires-Python, from PKG-INFO
//! DIR/files/<file>.upload-time              PEP 700 upload time, as upstream gave it
//! ```
//!
//! The files under `files/` are the mirror's state: a run adds files to
//! what is there, and the pages are a pure function of the resulting set
//! (so rebuilding from the same inputs gives byte-identical pages, and a
//! page is rewritten only when its bytes change: adding one release
//! rewrites that project's pages and the root). Nothing partial is ever
//! visible: every file is written to a locked temporary file beside it and
//! renamed into place (`kiln_fs::publish::write_atomic`), files and their
//! sidecars before any page names them, project pages before the root, so
//! a reader never sees a page listing a file that is not there. A file of
//! the same name with other bytes is refused, never replaced. Runs on one
//! tree publish one after the other (an exclusive lock on
//! `DIR/.kiln-mirror.lock`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kiln_index::{PageFile, ProjectPage, Yank};

use crate::inputs::{MAX_FILE, read_regular};
use crate::metadata::{requires_python, sdist_pkg_info, wheel_metadata};
use crate::name::project_and_version;
use crate::recompress::Recompressed;
use crate::{MirrorError, sha256_hex};

const METADATA: &str = ".metadata";
/// Held (flock) while a run publishes; hidden, so never served.
const LOCK: &str = ".kiln-mirror.lock";
const ORIGINAL: &str = ".original.sha256";
const YANKED: &str = ".yanked";
const REQUIRES_PYTHON: &str = ".requires-python";
const UPLOAD_TIME: &str = ".upload-time";

/// A file for the mirror, checked and ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub filename: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    /// A wheel's core metadata (PEP 658).
    pub metadata: Option<Vec<u8>>,
    /// An sdist's `Requires-Python`, from its PKG-INFO (an sdist gets no
    /// `.metadata` file: its PKG-INFO may leave fields dynamic).
    pub requires_python: Option<String>,
    /// Yanked, with this reason.
    pub yanked: Option<String>,
    /// PEP 700: when the file was published, as its upstream index says
    /// (a recompressed wheel carries its original's). The mirror never
    /// invents one from the clock: the pages stay a function of the files.
    pub upload_time: Option<String>,
    /// A recompressed wheel's original: (sha256, file name).
    pub original: Option<(String, String)>,
}

impl Entry {
    /// A file whose bytes the caller checked against their stated sha256:
    /// a wheel's RECORD is verified and its METADATA taken.
    pub fn distribution(
        filename: &str,
        bytes: Vec<u8>,
        sha256: &str,
    ) -> Result<Entry, MirrorError> {
        project_and_version(filename)?;
        let (metadata, requires_python) = if filename.ends_with(".whl") {
            (Some(wheel_metadata(filename, &bytes)?), None)
        } else {
            let pkg_info = sdist_pkg_info(filename, &bytes)?;
            (None, pkg_info.as_deref().and_then(requires_python))
        };
        Ok(Entry {
            filename: filename.to_string(),
            sha256: sha256.to_string(),
            bytes,
            metadata,
            requires_python,
            yanked: None,
            upload_time: None,
            original: None,
        })
    }

    /// A recompressed wheel, with its original's digest beside it.
    pub fn recompressed(wheel: Recompressed) -> Result<Entry, MirrorError> {
        let mut entry = Entry::distribution(&wheel.filename, wheel.bytes, &wheel.sha256)?;
        entry.original = Some((wheel.original_sha256, wheel.original_filename));
        Ok(entry)
    }
}

/// What is in `files/` for one distribution file, as the pages need it.
#[derive(Debug, Clone)]
struct Listed {
    sha256: String,
    size: u64,
    metadata_sha256: Option<String>,
    requires_python: Option<String>,
    yanked: Option<String>,
    upload_time: Option<String>,
}

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Files added under `files/` (distribution files only).
    pub added: Vec<String>,
    /// Files given again with the same bytes: left as they were.
    pub unchanged: Vec<String>,
    /// Pages written, relative to the mirror's root.
    pub pages_written: Vec<String>,
    pub projects: usize,
    pub files: usize,
}

impl Published {
    /// The paths under `root` (relative, `/`-separated) whose bytes this
    /// publish may have changed: the pages written, and each added file
    /// with whichever of its sidecars exist. What a signer of the tree
    /// (TUF) must sign again.
    pub fn changed_paths(&self, root: &Path) -> Vec<String> {
        let mut paths = self.pages_written.clone();
        for name in &self.added {
            for suffix in ["", METADATA, ORIGINAL, YANKED, REQUIRES_PYTHON, UPLOAD_TIME] {
                let rel = format!("files/{name}{suffix}");
                if root.join(&rel).is_file() {
                    paths.push(rel);
                }
            }
        }
        paths.sort();
        paths.dedup();
        paths
    }
}

/// A mirror tree at `root`, being added to.
#[derive(Debug)]
pub struct Mirror {
    root: PathBuf,
    entries: BTreeMap<String, Entry>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> MirrorError {
    MirrorError::Input {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

impl Mirror {
    pub fn new(root: &Path) -> Mirror {
        Mirror {
            root: root.to_path_buf(),
            entries: BTreeMap::new(),
        }
    }

    /// Adds `entry`; the same name twice with other bytes is refused.
    pub fn add(&mut self, entry: Entry) -> Result<(), MirrorError> {
        if let Some(old) = self.entries.get(&entry.filename) {
            if old.sha256 != entry.sha256 {
                return Err(MirrorError::Conflict {
                    file: entry.filename.clone(),
                    existing: old.sha256.clone(),
                    new: entry.sha256,
                });
            }
            return Ok(());
        }
        self.entries.insert(entry.filename.clone(), entry);
        Ok(())
    }

    /// Writes the new files, then every page whose bytes change.
    pub fn publish(self) -> Result<Published, MirrorError> {
        let files_dir = self.root.join("files");
        let simple = self.root.join("simple");
        for dir in [&self.root, &files_dir, &simple] {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        // One publisher at a time: a second run waits for the first, then
        // sees its files (flock: released when the process ends, however).
        let lock_path = self.root.join(LOCK);
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_err(&lock_path, e))?;
        lock.lock().map_err(|e| io_err(&lock_path, e))?;
        for dir in [&files_dir, &simple] {
            kiln_fs::publish::clean_stale(dir).map_err(|e| io_err(dir, e))?;
        }
        let mut listed = read_listed(&files_dir)?;
        let mut published = Published::default();
        for (name, entry) in &self.entries {
            if let Some(old) = listed.get(name) {
                if old.sha256 != entry.sha256 {
                    return Err(MirrorError::Conflict {
                        file: name.clone(),
                        existing: old.sha256.clone(),
                        new: entry.sha256.clone(),
                    });
                }
                published.unchanged.push(name.clone());
                continue;
            }
            write_entry(&files_dir, entry)?;
            listed.insert(name.clone(), listing_of(entry));
            published.added.push(name.clone());
        }
        let projects = group(&listed)?;
        for (project, page) in &projects {
            let dir = simple.join(project);
            std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
            kiln_fs::publish::clean_stale(&dir).map_err(|e| io_err(&dir, e))?;
            for (file, text) in [
                ("index.html", kiln_index::project_html(page)),
                ("index.json", kiln_index::project_json(page)),
            ] {
                if write_if_changed(&dir.join(file), text.as_bytes())? {
                    published
                        .pages_written
                        .push(format!("simple/{project}/{file}"));
                }
            }
        }
        let names: Vec<String> = projects.keys().cloned().collect();
        for (file, text) in [
            ("index.html", kiln_index::root_html(&names)),
            ("index.json", kiln_index::root_json(&names)),
        ] {
            if write_if_changed(&simple.join(file), text.as_bytes())? {
                published.pages_written.push(format!("simple/{file}"));
            }
        }
        published.projects = projects.len();
        published.files = listed.len();
        Ok(published)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), MirrorError> {
    kiln_fs::publish::write_atomic(path, bytes).map_err(|e| MirrorError::Write {
        file: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Sidecars first, the file last: once the file is there, all it needs is.
fn write_entry(files_dir: &Path, entry: &Entry) -> Result<(), MirrorError> {
    let at = |suffix: &str| files_dir.join(format!("{}{suffix}", entry.filename));
    if let Some(metadata) = &entry.metadata {
        write_atomic(&at(METADATA), metadata)?;
    }
    if let Some(reason) = &entry.yanked {
        write_atomic(&at(YANKED), reason.as_bytes())?;
    }
    if let Some(requires) = &entry.requires_python {
        write_atomic(&at(REQUIRES_PYTHON), requires.as_bytes())?;
    }
    if let Some(time) = &entry.upload_time {
        write_atomic(&at(UPLOAD_TIME), time.as_bytes())?;
    }
    if let Some((sha256, name)) = &entry.original {
        write_atomic(&at(ORIGINAL), format!("{sha256}  {name}\n").as_bytes())?;
    }
    write_atomic(&at(""), &entry.bytes)
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, MirrorError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    write_atomic(path, bytes)?;
    Ok(true)
}

fn listing_of(entry: &Entry) -> Listed {
    Listed {
        sha256: entry.sha256.clone(),
        size: entry.bytes.len() as u64,
        metadata_sha256: entry.metadata.as_deref().map(sha256_hex),
        requires_python: entry
            .metadata
            .as_deref()
            .and_then(requires_python)
            .or_else(|| entry.requires_python.clone()),
        yanked: entry.yanked.clone(),
        upload_time: entry.upload_time.clone(),
    }
}

/// The distribution files already under `files/`, with their sidecars.
fn read_listed(files_dir: &Path) -> Result<BTreeMap<String, Listed>, MirrorError> {
    let mut names = BTreeSet::new();
    for entry in walkdir::WalkDir::new(files_dir)
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| io_err(files_dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && (name.ends_with(".whl") || name.ends_with(".tar.gz")) {
            names.insert(name);
        }
    }
    let mut out = BTreeMap::new();
    for name in names {
        let bytes = read_regular(&files_dir.join(&name), MAX_FILE)?;
        let sidecar = |suffix: &str| std::fs::read(files_dir.join(format!("{name}{suffix}"))).ok();
        let metadata = sidecar(METADATA);
        out.insert(
            name.clone(),
            Listed {
                sha256: sha256_hex(&bytes),
                size: bytes.len() as u64,
                metadata_sha256: metadata.as_deref().map(sha256_hex),
                requires_python: metadata.as_deref().and_then(requires_python).or_else(|| {
                    sidecar(REQUIRES_PYTHON).map(|r| String::from_utf8_lossy(&r).trim().to_string())
                }),
                yanked: sidecar(YANKED).map(|r| String::from_utf8_lossy(&r).trim().to_string()),
                upload_time: sidecar(UPLOAD_TIME)
                    .map(|t| String::from_utf8_lossy(&t).trim().to_string()),
            },
        );
    }
    Ok(out)
}

/// The project pages of `listed`, by normalized name; versions in PEP 440
/// order (a version PEP 440 cannot read sorts first, as text).
fn group(listed: &BTreeMap<String, Listed>) -> Result<BTreeMap<String, ProjectPage>, MirrorError> {
    let mut pages: BTreeMap<String, ProjectPage> = BTreeMap::new();
    for (name, file) in listed {
        let (project, version) = project_and_version(name)?;
        let page = pages.entry(project.clone()).or_insert_with(|| ProjectPage {
            name: project,
            versions: Vec::new(),
            files: Vec::new(),
        });
        if !page.versions.contains(&version) {
            page.versions.push(version);
        }
        page.files.push(PageFile {
            filename: name.clone(),
            href: kiln_index::files_href(name),
            sha256: file.sha256.clone(),
            size: file.size,
            requires_python: file.requires_python.clone(),
            core_metadata_sha256: file.metadata_sha256.clone(),
            upload_time: file.upload_time.clone(),
            yanked: match &file.yanked {
                Some(reason) => Yank::Yes(reason.clone()),
                None => Yank::No,
            },
        });
    }
    for page in pages.values_mut() {
        page.versions
            .sort_by_cached_key(|v| (kiln_names::parse_version(v).ok(), v.clone()));
    }
    Ok(pages)
}
