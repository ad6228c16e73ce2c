//! The mirror's local inputs: a kiln release's dist directory or a
//! wheelhouse, each holding distribution files and the `SHA256SUMS` that
//! vouches for them. Every sdist and wheel of the directory must be listed
//! there, every listed file must be present, and each is hashed and
//! compared with its line **before** anything parses it.

use std::path::Path;

use crate::{MirrorError, sha256_hex};

/// A distribution file whose bytes matched the digest stated for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub filename: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// The largest distribution file read (they are held in memory).
pub const MAX_FILE: u64 = 2 << 30;
/// The largest `SHA256SUMS` read.
const MAX_SUMS: u64 = 16 << 20;

fn is_distribution(name: &str) -> bool {
    name.ends_with(".whl") || name.ends_with(".tar.gz")
}

/// Reads a regular file of at most `cap` bytes; a symlink, a directory or
/// a FIFO is refused without being opened.
pub fn read_regular(path: &Path, cap: u64) -> Result<Vec<u8>, MirrorError> {
    let bad = |reason: String| MirrorError::Input {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::symlink_metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.file_type().is_file() {
        return Err(bad("not a regular file".into()));
    }
    if meta.len() > cap {
        return Err(bad(format!("larger than {cap} bytes")));
    }
    std::fs::read(path).map_err(|e| bad(e.to_string()))
}

/// Every sdist and wheel of `dir`, checked against `dir/SHA256SUMS`.
pub fn read_sums_dir(dir: &Path) -> Result<Vec<Checked>, MirrorError> {
    let sums_path = dir.join("SHA256SUMS");
    let text = read_regular(&sums_path, MAX_SUMS)?;
    let text = String::from_utf8(text).map_err(|_| MirrorError::Input {
        path: sums_path.clone(),
        reason: "not UTF-8".into(),
    })?;
    let lines =
        kiln_record::parse_sha256sums(&sums_path.display().to_string(), &text).map_err(|e| {
            MirrorError::Input {
                path: sums_path.clone(),
                reason: e.to_string(),
            }
        })?;
    let mut present = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| MirrorError::Input {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_distribution(&name) {
            present.push(name);
        }
    }
    for name in &present {
        if !lines.iter().any(|l| &l.file == name) {
            return Err(MirrorError::Input {
                path: dir.join(name),
                reason: format!(
                    "not listed in {}: nothing vouches for it",
                    sums_path.display()
                ),
            });
        }
    }
    let mut out = Vec::new();
    for line in lines.iter().filter(|l| is_distribution(&l.file)) {
        if line.file.contains('/') || line.file.starts_with('.') {
            return Err(MirrorError::Input {
                path: sums_path.clone(),
                reason: format!(
                    "line {} names {:?}, not a file of the directory",
                    line.line, line.file
                ),
            });
        }
        let path = dir.join(&line.file);
        let bytes = read_regular(&path, MAX_FILE)?;
        let sha256 = sha256_hex(&bytes);
        if sha256 != line.sha256 {
            return Err(MirrorError::Digest {
                file: path.display().to_string(),
                expected: format!(
                    "{} ({} line {})",
                    line.sha256,
                    sums_path.display(),
                    line.line
                ),
                actual: sha256,
            });
        }
        out.push(Checked {
            filename: line.file.clone(),
            bytes,
            sha256,
        });
    }
    if out.is_empty() {
        return Err(MirrorError::Input {
            path: dir.to_path_buf(),
            reason: "holds no sdist or wheel listed in SHA256SUMS".into(),
        });
    }
    Ok(out)
}
