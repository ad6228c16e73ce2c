//! Normalizing files on disk: one sdist or wheel canonicalized into a
//! target written atomically (a locked temporary file renamed into place,
//! so a failure leaves nothing half-written), with the digests before and
//! after; and many of them on a few threads, each result in the order
//! given. The sdist's members are spooled into a private, already-unlinked
//! temporary file, so memory is bounded by one member.

use crate::CanonError;
use kiln_archive::{Deflate, Limits};
use kiln_digest::{DigestError, Digests};
use kiln_fs::publish::{AtomicFile, PublishError};
use kiln_names::{ArtifactKind, Epoch};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

/// What went wrong normalizing one file, naming it.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("failed to open {}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Canon(#[from] CanonError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error("failed to create a spool file")]
    Spool(#[source] std::io::Error),
    #[error("failed to write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: normalizing did not finish", path.display())]
    Unfinished { path: PathBuf },
}

impl FileError {
    /// Where the error is, for a `--json` error object: the file, or the
    /// canonicalizer's archive and member.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        match self {
            // Transparent: its chain skips the inner error, so look inside.
            Self::Canon(inner) => inner.location(),
            Self::Open { path, .. } | Self::Write { path, .. } | Self::Unfinished { path } => {
                Some((Some(path.display().to_string()), None))
            }
            Self::Publish(_) | Self::Digest(_) | Self::Spool(_) => None,
        }
    }
}

/// The digests of one input and of its canonical form.
#[derive(Debug, Clone)]
pub struct Normalized {
    pub before: Digests,
    pub after: Digests,
}

/// Canonicalize `input` (an sdist or a wheel, as `kind` says) into
/// `target`, atomically.
pub fn normalize_file(
    input: &Path,
    kind: ArtifactKind,
    target: &Path,
    epoch: Epoch,
    deflate: Deflate,
    limits: &Limits,
) -> Result<Normalized, FileError> {
    let before = Digests::of_file(input)?;
    let reader = std::fs::File::open(input).map_err(|source| FileError::Open {
        path: input.to_path_buf(),
        source,
    })?;
    let mut atomic = AtomicFile::create(target)?;
    let out = BufWriter::new(atomic.file());
    let label = input.display().to_string();
    let reader = BufReader::new(reader);
    let out = match kind {
        ArtifactKind::Wheel => {
            crate::canonicalize_wheel_stream(&label, reader, epoch, deflate, limits, out)?
        }
        ArtifactKind::Sdist => {
            // The sdist's members are spooled in archive order into a
            // private, already-unlinked temporary file, then written sorted.
            let mut spool = tempfile::tempfile().map_err(FileError::Spool)?;
            crate::canonicalize_sdist_stream(
                &label, reader, &mut spool, epoch, deflate, limits, out,
            )?
        }
    };
    out.into_inner().map_err(|e| FileError::Write {
        path: target.to_path_buf(),
        source: e.into_error(),
    })?;
    atomic.commit(0o644)?;
    let after = Digests::of_file(target)?;
    Ok(Normalized { before, after })
}

/// One file to normalize: the input, its kind and the target.
pub type Job = (PathBuf, ArtifactKind, PathBuf);

/// Normalize every job on up to `workers` threads (inflating one overlaps
/// with compressing another); `done` is called after each. The results are
/// in the order of `jobs`.
pub fn normalize_files(
    jobs: &[Job],
    workers: usize,
    epoch: Epoch,
    deflate: Deflate,
    limits: &Limits,
    done: &(dyn Fn() + Sync),
) -> Vec<Result<Normalized, FileError>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<Normalized, FileError>>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((input, kind, target)) = jobs.get(i) else {
                        break;
                    };
                    let result = normalize_file(input, *kind, target, epoch, deflate, limits);
                    done();
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .zip(jobs)
        .map(|(slot, (input, _, _))| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(FileError::Unfinished {
                    path: input.clone(),
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_error_is_at_its_file() {
        let err = FileError::Unfinished {
            path: "dist/a.whl".into(),
        };
        assert_eq!(err.location(), Some((Some("dist/a.whl".into()), None)));
    }
}
