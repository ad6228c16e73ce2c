//! Native mode: kiln packs a `uv_build` project's sdist and `py3-none-any`
//! wheel itself, without Python.
//!
//! File selection and metadata follow uv_build 0.13.6 (see `select` and
//! kiln-metadata), so the wheel has the same members with the same bytes as
//! uv_build's, except `WHEEL`'s `Generator:` line and `RECORD`. The
//! containers are kiln's canonical ones (kiln-archive): members sorted
//! bytewise, the wheel's `.dist-info/` last and `RECORD` final.
//!
//! Determinism: nothing here reads the clock or the environment; the epoch
//! and the generator string come in through [`NativeOptions`]. Walks are
//! sorted, permission bits are reduced to "executable or not", and the
//! absolute project path never reaches an artifact. The sdist and the wheel
//! are written concurrently, each streaming one file at a time from disk
//! (memory is flat in file size).
//!
//! Every project file is opened through `kiln_fs::project`: by its path
//! relative to the project, resolved inside it, regular files only, and
//! what is read whole (pyproject.toml, readme, license texts) capped.

mod error;
mod pack;
mod select;

pub use error::NativeError;
pub use select::{Selection, SourceFile, WheelFile};

use kiln_archive::{ArchiveWriter, Deflate, TarGzWriter, ZipWriter};
use kiln_fs::project::{MemberReader, PYPROJECT_LIMIT, ProjectFileError, ProjectRoot, TEXT_LIMIT};
use kiln_metadata::{MetadataInputs, PyProject};
pub use kiln_names::ArtifactKind;
use kiln_names::{Epoch, ProjectName, Version, WheelTags};
use sha2::Digest;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Inputs that are not part of the project: all of them are pins or
/// parameters recorded by the caller.
#[derive(Debug, Clone)]
pub struct NativeOptions {
    pub epoch: Epoch,
    pub deflate: Deflate,
    /// `WHEEL`'s `Generator:` value, e.g. `kiln 0.1.0`.
    pub generator: String,
}

/// A loaded and validated uv_build project.
#[derive(Debug, Clone)]
pub struct NativeProject {
    pub name: ProjectName,
    pub version: Version,
    pub dir: PathBuf,
    /// `dir`, through which every project file is opened.
    pub root: ProjectRoot,
    pub pyproject: PyProject,
}

impl NativeProject {
    /// Read `dir/pyproject.toml`, validate it, and check that the project
    /// declares uv_build and uses only what native mode supports.
    pub fn load(dir: &Path) -> Result<Self, NativeError> {
        let path = dir.join("pyproject.toml");
        let no_pyproject = || NativeError::NoPyproject {
            dir: dir.to_path_buf(),
        };
        let root = ProjectRoot::new(dir).map_err(|e| match e {
            ProjectFileError::NotFound { .. } => no_pyproject(),
            other => NativeError::from_fs(other),
        })?;
        let text = root
            .read_to_string_capped("pyproject.toml", PYPROJECT_LIMIT)
            .map_err(|e| match e {
                ProjectFileError::NotFound { .. } => no_pyproject(),
                other => NativeError::from_fs(other),
            })?;
        let pyproject = PyProject::parse(&path, &text)?;
        if pyproject.build_backend() != Some("uv_build") {
            return Err(NativeError::NotUvBuild {
                path,
                backend: pyproject
                    .build_backend()
                    .map_or_else(|| "not declared".to_string(), |b| format!("{b:?}")),
            });
        }
        Ok(Self {
            name: pyproject.name().clone(),
            version: pyproject.version().clone(),
            dir: dir.to_path_buf(),
            root,
            pyproject,
        })
    }

    /// `{name}-{version}`, the sdist's top directory.
    pub fn sdist_stem(&self) -> String {
        kiln_names::sdist_stem(&self.name, &self.version)
    }

    pub fn dist_info_dir(&self) -> String {
        kiln_names::dist_info_dir(&self.name, &self.version)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub kind: ArtifactKind,
    pub filename: String,
    pub path: PathBuf,
}

/// Progress reports for a caller's progress bar. `Packed` arrives from two
/// threads (sdist and wheel) in any interleaving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Selection done: how many members each archive will have.
    Selected {
        sdist_members: usize,
        wheel_members: usize,
    },
    /// One more member written.
    Packed {
        kind: ArtifactKind,
        done: usize,
        total: usize,
    },
}

/// Where a member's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberSource {
    /// A project file, by its `/`-separated path relative to the project,
    /// opened through the project root when it is packed.
    File(String),
    Generated(Vec<u8>),
}

/// One archive member, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMember {
    pub path: String,
    pub source: MemberSource,
    pub executable: bool,
}

/// Both archives' members in archive order, before anything is written.
/// The wheel plan ends with the `.dist-info/` files; `RECORD` is not in it
/// (it is computed while packing and always written last).
#[derive(Debug, Clone)]
pub struct Plan {
    pub sdist: Vec<PlannedMember>,
    pub wheel: Vec<PlannedMember>,
    pub selection: Selection,
    /// The project the `File` members are opened from.
    pub root: ProjectRoot,
}

impl Plan {
    /// The sdist's member paths (a dry run).
    pub fn sdist_paths(&self) -> Vec<String> {
        self.sdist.iter().map(|m| m.path.clone()).collect()
    }

    /// The wheel's member paths, `RECORD` included (a dry run).
    pub fn wheel_paths(&self, project: &NativeProject) -> Vec<String> {
        let mut paths: Vec<String> = self.wheel.iter().map(|m| m.path.clone()).collect();
        paths.push(format!("{}/RECORD", project.dist_info_dir()));
        paths
    }
}

/// A text the metadata carries (readme, license text), read whole and
/// capped, from inside the project.
fn read_string(project: &NativeProject, relative: &str) -> Result<String, NativeError> {
    project
        .root
        .read_to_string_capped(relative, TEXT_LIMIT)
        .map_err(NativeError::from_fs)
}

/// Select the files and render the metadata: everything but the packing.
pub fn plan(project: &NativeProject, opts: &NativeOptions) -> Result<Plan, NativeError> {
    let selection = select::select(project)?;
    let py = &project.pyproject;
    let inputs = MetadataInputs {
        readme: py
            .readme_path()
            .map(|r| read_string(project, r))
            .transpose()?,
        license_text_file: py
            .license_file()
            .map(|f| read_string(project, f))
            .transpose()?,
        license_files: selection.license_files.clone(),
    };
    let metadata = py.core_metadata(&inputs).into_bytes();

    let stem = project.sdist_stem();
    let mut sdist = vec![
        PlannedMember {
            path: format!("{stem}/PKG-INFO"),
            source: MemberSource::Generated(metadata.clone()),
            executable: false,
        },
        PlannedMember {
            path: format!("{stem}/pyproject.toml"),
            source: MemberSource::Generated(py.sdist_pyproject_toml()?.into_bytes()),
            executable: false,
        },
        PlannedMember {
            path: format!("{stem}/pyproject.toml.orig"),
            // The bytes load() parsed, not a second read of the file.
            source: MemberSource::Generated(py.text().as_bytes().to_vec()),
            executable: false,
        },
    ];
    sdist.extend(selection.sdist_files.iter().map(|f| PlannedMember {
        path: format!("{stem}/{}", f.relative),
        source: MemberSource::File(f.relative.clone()),
        executable: f.executable,
    }));
    sdist.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));

    let dist_info = project.dist_info_dir();
    let dist_info_prefix = format!("{dist_info}/");
    let mut content = Vec::new();
    let mut meta = vec![
        PlannedMember {
            path: format!("{dist_info}/METADATA"),
            source: MemberSource::Generated(metadata),
            executable: false,
        },
        PlannedMember {
            path: format!("{dist_info}/WHEEL"),
            source: MemberSource::Generated(
                kiln_metadata::wheel_file(&opts.generator, &WheelTags::py3_none_any()).into_bytes(),
            ),
            executable: false,
        },
    ];
    if let Some(ep) = py.entry_points_txt() {
        meta.push(PlannedMember {
            path: format!("{dist_info}/entry_points.txt"),
            source: MemberSource::Generated(ep.into_bytes()),
            executable: false,
        });
    }
    for f in &selection.wheel_files {
        let m = PlannedMember {
            path: f.member.clone(),
            source: MemberSource::File(f.source.relative.clone()),
            executable: f.source.executable,
        };
        if f.member.starts_with(&dist_info_prefix) {
            meta.push(m);
        } else {
            content.push(m);
        }
    }
    let by_bytes = |a: &PlannedMember, b: &PlannedMember| a.path.as_bytes().cmp(b.path.as_bytes());
    content.sort_by(by_bytes);
    meta.sort_by(by_bytes);
    content.extend(meta);
    Ok(Plan {
        sdist,
        wheel: content,
        selection,
        root: project.root.clone(),
    })
}

fn archive_err(artifact: &str) -> impl Fn(kiln_archive::ArchiveError) -> NativeError + '_ {
    move |source| NativeError::Archive {
        artifact: artifact.to_string(),
        source,
    }
}

/// A member streamed from the project: stops when the other artifact of a
/// concurrent build failed, and hashes what it reads when asked to.
struct Member<'a> {
    inner: MemberReader,
    sha256: Option<sha2::Sha256>,
    cancel: &'a AtomicBool,
}

impl Read for Member<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("stopped: the other artifact failed"));
        }
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.sha256 {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

fn open_member<'a>(
    plan: &Plan,
    relative: &str,
    hash: bool,
    cancel: &'a AtomicBool,
) -> Result<Member<'a>, NativeError> {
    let file = plan.root.open(relative).map_err(NativeError::from_fs)?;
    Ok(Member {
        inner: file.reader(),
        sha256: hash.then(sha2::Sha256::new),
        cancel,
    })
}

fn check_cancel(cancel: &AtomicBool) -> Result<(), NativeError> {
    if cancel.load(Ordering::Relaxed) {
        return Err(NativeError::Cancelled);
    }
    Ok(())
}

/// Write the sdist to `w`, streaming each project file from disk.
pub fn write_sdist<W: Write>(
    plan: &Plan,
    w: W,
    opts: &NativeOptions,
    filename: &str,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<W, NativeError> {
    write_sdist_until(plan, w, opts, filename, progress, &AtomicBool::new(false))
}

fn write_sdist_until<W: Write>(
    plan: &Plan,
    w: W,
    opts: &NativeOptions,
    filename: &str,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Result<W, NativeError> {
    let mut tar = TarGzWriter::new(w, opts.epoch.seconds(), opts.deflate);
    let total = plan.sdist.len();
    for (i, m) in plan.sdist.iter().enumerate() {
        check_cancel(cancel)?;
        match &m.source {
            MemberSource::Generated(data) => tar.add_file(&m.path, data, m.executable),
            MemberSource::File(relative) => {
                let mut r = open_member(plan, relative, false, cancel)?;
                let size = r.inner.len();
                tar.add_reader(&m.path, size, &mut r, m.executable)
            }
        }
        .map_err(archive_err(filename))?;
        progress(Progress::Packed {
            kind: ArtifactKind::Sdist,
            done: i + 1,
            total,
        });
    }
    tar.finish().map_err(archive_err(filename))
}

/// Write the wheel to `w`, computing `RECORD` on the way. Members larger
/// than a few MiB are deflated as they stream from disk, which needs `Seek`
/// to patch their headers.
pub fn write_wheel<W: Write + Seek>(
    project: &NativeProject,
    plan: &Plan,
    w: W,
    opts: &NativeOptions,
    filename: &str,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<W, NativeError> {
    write_wheel_until(
        project,
        plan,
        w,
        opts,
        filename,
        progress,
        &AtomicBool::new(false),
    )
}

fn write_wheel_until<W: Write + Seek>(
    project: &NativeProject,
    plan: &Plan,
    w: W,
    opts: &NativeOptions,
    filename: &str,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Result<W, NativeError> {
    let mut zip =
        ZipWriter::new(w, opts.epoch.seconds(), opts.deflate).map_err(archive_err(filename))?;
    let total = plan.wheel.len() + 1;
    let mut record = String::new();
    for (i, m) in plan.wheel.iter().enumerate() {
        check_cancel(cancel)?;
        let (digest, size) = match &m.source {
            MemberSource::Generated(data) => {
                zip.add_file(&m.path, data, m.executable)
                    .map_err(archive_err(filename))?;
                (kiln_digest::sha256(data), data.len() as u64)
            }
            MemberSource::File(relative) => {
                let mut r = open_member(plan, relative, true, cancel)?;
                let size = r.inner.len();
                zip.add_reader_seekable(&m.path, size, &mut r, m.executable)
                    .map_err(archive_err(filename))?;
                let digest: [u8; 32] = r.sha256.take().unwrap_or_default().finalize().into();
                (digest, size)
            }
        };
        record.push_str(&record_line_digest(&m.path, &digest, size));
        progress(Progress::Packed {
            kind: ArtifactKind::Wheel,
            done: i + 1,
            total,
        });
    }
    let record_path = format!("{}/RECORD", project.dist_info_dir());
    record.push_str(&format!("{record_path},,\n"));
    zip.add_file(&record_path, record.as_bytes(), false)
        .map_err(archive_err(filename))?;
    progress(Progress::Packed {
        kind: ArtifactKind::Wheel,
        done: total,
        total,
    });
    zip.finish().map_err(archive_err(filename))
}

/// One `RECORD` line. Paths with a comma, quote or line break are quoted
/// CSV-style, as the `csv` module that reads RECORD expects.
#[cfg(test)]
fn record_line(path: &str, data: &[u8]) -> String {
    record_line_digest(path, &kiln_digest::sha256(data), data.len() as u64)
}

/// `record_line` from a digest and a length.
fn record_line_digest(path: &str, sha256: &[u8; 32], size: u64) -> String {
    let hash = kiln_digest::urlsafe_b64_nopad(sha256);
    let path = if path.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", path.replace('"', "\"\""))
    } else {
        path.to_string()
    };
    format!("{path},sha256={hash},{size}\n")
}

/// A new temporary file in `out_dir`; the caller persists it.
fn temporary(out_dir: &Path) -> Result<tempfile::NamedTempFile, NativeError> {
    tempfile::Builder::new()
        .prefix(".kiln-tmp-")
        .tempfile_in(out_dir)
        .map_err(|source| NativeError::Write {
            path: out_dir.to_path_buf(),
            source,
        })
}

/// Flushes and syncs a written temporary file and makes it 0644.
fn complete(out_dir: &Path, buf: BufWriter<&std::fs::File>) -> Result<(), NativeError> {
    let write_err = |source| NativeError::Write {
        path: out_dir.to_path_buf(),
        source,
    };
    let file = buf.into_inner().map_err(|e| write_err(e.into_error()))?;
    file.sync_all().map_err(write_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(write_err)?;
    }
    Ok(())
}

/// Writes the sdist and the wheel into `out_dir` atomically (temporary
/// files in `out_dir`, renamed only when both are complete: nothing partial
/// is left on error) and returns `[sdist, wheel]`.
pub fn build(
    project: &NativeProject,
    out_dir: &Path,
    opts: &NativeOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Vec<Artifact>, NativeError> {
    let plan = plan(project, opts)?;
    progress(Progress::Selected {
        sdist_members: plan.sdist.len(),
        wheel_members: plan.wheel.len() + 1,
    });
    let sdist_name = kiln_names::sdist_filename(&project.name, &project.version);
    let wheel_name = kiln_names::wheel_filename(
        &project.name,
        &project.version,
        None,
        &WheelTags::py3_none_any(),
    )
    .map_err(|e| {
        NativeError::Metadata(kiln_metadata::MetadataError::Field {
            path: project.pyproject.path().to_path_buf(),
            field: "project.name".into(),
            problem: e.to_string(),
            fix: "use a valid project name".into(),
        })
    })?;
    // Refused before anything is written: the zip writer cannot hold it.
    for f in &plan.selection.wheel_files {
        if f.source.size >= u64::from(u32::MAX) {
            return Err(NativeError::TooLargeForWheel {
                path: f.source.path.clone(),
                size: f.source.size,
            });
        }
    }
    // One pass writes both (each file read and deflated once); the
    // temporary files are removed if it fails.
    let (sdist, wheel) = (temporary(out_dir)?, temporary(out_dir)?);
    let (sdist_buf, wheel_buf) = pack::write_both(
        project,
        &plan,
        BufWriter::with_capacity(1 << 20, sdist.as_file()),
        BufWriter::with_capacity(1 << 20, wheel.as_file()),
        opts,
        pack::Names {
            sdist: &sdist_name,
            wheel: &wheel_name,
        },
        progress,
    )?;
    complete(out_dir, sdist_buf)?;
    complete(out_dir, wheel_buf)?;
    let mut artifacts = Vec::new();
    for (tmp, kind, filename) in [
        (sdist, ArtifactKind::Sdist, sdist_name),
        (wheel, ArtifactKind::Wheel, wheel_name),
    ] {
        let path = out_dir.join(&filename);
        tmp.persist(&path).map_err(|e| NativeError::Write {
            path: path.clone(),
            source: e.error,
        })?;
        artifacts.push(Artifact {
            kind,
            filename,
            path,
        });
    }
    Ok(artifacts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines() {
        assert_eq!(
            record_line("a/b.py", b""),
            "a/b.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"
        );
        assert!(record_line("a,b", b"x").starts_with("\"a,b\",sha256="));
    }
}
