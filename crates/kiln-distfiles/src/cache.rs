//! The distfile cache: content-addressed, a directory a mirror can serve
//! as it is.
//!
//! A checked file lives at `<algo>/<hex>/<file>` for each digest kiln
//! computes (`sha256/…`, and hard links `sha512/…`, `blake2s/…`), so a
//! distinfo in any syntax finds it by the digest it states and two
//! releases of one file name never collide. A file is moved in only after
//! its size and every digest its distinfo states were checked: it is
//! written elsewhere in the same directory first (the caller's temporary
//! directory inside the cache), checked, then renamed into place, so the
//! cache never holds, even for a moment, a file that was not checked. A
//! file that failed is kept apart, under `rejected/sha256/<hex>/<file>`,
//! for the maintainer to look at; nothing there is ever served as good.

use crate::DistfilesError;
use crate::distinfo::Entry;
use kiln_digest::{Digests, hex};
use std::path::{Path, PathBuf};

/// The directory a cache lives in.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// The last component of a distfile name (OpenBSD's `DIST_SUBDIR/file`).
pub fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// A site URL for one entry: `{sha256}`, `{sha512}` and `{blake2s}` are
/// replaced with the entry's digests in hex, so a kiln cache served over
/// HTTP is a site (`https://mirror/distfiles/sha256/{sha256}/`). `None`
/// when the site names a digest the entry does not state.
pub fn expand_site(site: &str, entry: &Entry) -> Option<String> {
    let mut out = site.to_string();
    for (key, digest) in [
        ("{sha256}", entry.sha256.as_ref().map(|d| &d[..])),
        ("{sha512}", entry.sha512.as_ref().map(|d| &d[..])),
        ("{blake2s}", entry.blake2s.as_ref().map(|d| &d[..])),
    ] {
        if out.contains(key) {
            out = out.replace(key, &hex(digest?));
        }
    }
    Some(out)
}

impl Cache {
    pub fn new(root: &Path) -> Cache {
        Cache {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a file with `sha256` is kept as `name`.
    pub fn path(&self, sha256: &[u8; 32], name: &str) -> PathBuf {
        self.at("sha256", sha256, name)
    }

    fn at(&self, algo: &str, digest: &[u8], name: &str) -> PathBuf {
        self.root.join(algo).join(hex(digest)).join(base_name(name))
    }

    /// Where the entry's file would be: by SHA-256, else SHA-512, else
    /// BLAKE2s, whichever the distinfo states first.
    pub fn lookup_path(&self, name: &str, entry: &Entry) -> Option<PathBuf> {
        if let Some(d) = &entry.sha256 {
            Some(self.at("sha256", d, name))
        } else if let Some(d) = &entry.sha512 {
            Some(self.at("sha512", d, name))
        } else {
            entry.blake2s.as_ref().map(|d| self.at("blake2s", d, name))
        }
    }

    /// The cached copy of `name`, digested again and checked against
    /// `entry`: `None` when absent (or when it no longer matches, which is
    /// reported by the caller as a refetch).
    pub fn lookup(
        &self,
        name: &str,
        entry: &Entry,
    ) -> Result<Option<(PathBuf, Digests, bool)>, DistfilesError> {
        let Some(path) = self.lookup_path(name, entry) else {
            return Ok(None);
        };
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(DistfilesError::Io { path, source }),
        }
        let digests = Digests::of_file(&path)?;
        let good = entry.matches(&digests);
        Ok(Some((path, digests, good)))
    }

    /// Moves the checked file `tmp` (in a directory on the cache's
    /// filesystem) into the cache as `name`, after checking once more that
    /// `digests` agree with `entry`; links it under its other digests.
    pub fn store(
        &self,
        tmp: &Path,
        name: &str,
        digests: &Digests,
        entry: &Entry,
    ) -> Result<PathBuf, DistfilesError> {
        if !entry.is_checkable() || !entry.matches(digests) {
            return Err(DistfilesError::NotChecked {
                name: name.to_string(),
            });
        }
        let path = self.path(&digests.sha256, name);
        place(tmp, &path)?;
        for (algo, digest) in [
            ("sha512", &digests.sha512[..]),
            ("blake2s", &digests.blake2s[..]),
        ] {
            let link = self.at(algo, digest, name);
            make_parent(&link)?;
            match std::fs::hard_link(&path, &link) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(DistfilesError::Io { path: link, source }),
            }
        }
        Ok(path)
    }

    /// Keeps the failed file `tmp` apart, under `rejected/`.
    pub fn reject(
        &self,
        tmp: &Path,
        name: &str,
        digests: &Digests,
    ) -> Result<PathBuf, DistfilesError> {
        let path = self
            .root
            .join("rejected")
            .join("sha256")
            .join(hex(&digests.sha256))
            .join(base_name(name));
        place(tmp, &path)?;
        Ok(path)
    }
}

fn make_parent(path: &Path) -> Result<(), DistfilesError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| DistfilesError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// Renames `from` to `to` (same filesystem), replacing what is there.
fn place(from: &Path, to: &Path) -> Result<(), DistfilesError> {
    make_parent(to)?;
    std::fs::rename(from, to).map_err(|source| DistfilesError::Io {
        path: to.to_path_buf(),
        source,
    })
}
