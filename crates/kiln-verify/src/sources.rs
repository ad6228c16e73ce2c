//! Where verify's copies come from, apart from the network: the kinds of
//! source, a copy in a local directory (a regular file, or the reason it
//! cannot be used), what an index page lists instead of a missing file,
//! and the capped reading of a small published file (`SHA256SUMS`, a
//! `.distinfo`, provenance, a Sigstore bundle).

use crate::Status;
use std::path::{Path, PathBuf};

/// Where a published copy comes from.
#[derive(Debug, Clone)]
pub enum Source {
    Dir(PathBuf),
    Url(String),
    Index(String),
}

impl Source {
    /// How the report names it.
    pub fn label(&self) -> String {
        match self {
            Source::Dir(d) => d.display().to_string(),
            Source::Url(u) => u.clone(),
            Source::Index(u) => format!("index {u}"),
        }
    }
    /// Its kind, as the JSON report gives it.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Dir(_) => "directory",
            Source::Url(_) => "url",
            Source::Index(_) => "index",
        }
    }
}

/// A published copy on disk, with its (sha256 hex, size) when the download
/// already hashed it as it streamed.
pub type Obtained = (PathBuf, Option<(String, u64)>);

/// `file` in the directory `dir`: only a regular file is read (a FIFO or a
/// device there could block or never end).
pub fn local_copy(dir: &Path, file: &str) -> Result<Obtained, Status> {
    let path = dir.join(file);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok((path, None)),
        Ok(_) => Err(Status::Failed(format!(
            "{} is not a regular file: refusing to read it",
            path.display()
        ))),
        Err(_) => Err(Status::Missing(format!(
            "{file} is not in {}",
            dir.display()
        ))),
    }
}

/// An index page that does not list `file`: what it lists instead.
pub fn not_on_index(file: &str, listing: &kiln_index::Listing) -> Status {
    let mut listed = listing.others.join(", ");
    if listing.links > listing.others.len() + listing.files.len() {
        listed.push_str(&format!(
            " and {} more",
            listing.links - listing.others.len() - listing.files.len()
        ));
    }
    Status::Missing(format!(
        "the index lists no {file} (it lists {})",
        if listing.links == 0 {
            "no files"
        } else {
            listed.as_str()
        }
    ))
}

/// A provenance file is a few kilobytes; anything near this is not one.
/// The same cap holds for a Sigstore bundle, `SHA256SUMS` and a `.distinfo`.
pub const PROVENANCE_MAX: u64 = 16 << 20;

/// A small published file, read whole only after checking that it is a
/// regular file (never a FIFO or device, which could block or never end)
/// of at most `cap` bytes; the read itself stops at `cap` too, in case the
/// file grows meanwhile.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let check = |meta: &std::fs::Metadata| {
        if !meta.is_file() {
            Err(format!(
                "{} is not a regular file: refusing to read it",
                path.display()
            ))
        } else if meta.len() > cap {
            Err(format!(
                "{} is {} bytes, more than the limit of {cap} bytes for such a file: refusing to read it",
                path.display(),
                meta.len()
            ))
        } else {
            Ok(())
        }
    };
    check(&std::fs::metadata(path).map_err(cannot)?)?;
    let file = std::fs::File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    check(&meta)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > cap {
        return Err(format!(
            "{} grew past the limit of {cap} bytes while being read: refusing it",
            path.display()
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_copy_is_a_regular_file_or_the_reason_it_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.whl"), "x").unwrap();
        std::fs::create_dir(tmp.path().join("b.whl")).unwrap();
        let (path, known) = local_copy(tmp.path(), "a.whl").unwrap();
        assert_eq!((path, known), (tmp.path().join("a.whl"), None));
        let refused = local_copy(tmp.path(), "b.whl").unwrap_err();
        assert!(
            matches!(refused, Status::Failed(ref e) if e.ends_with("is not a regular file: refusing to read it"))
        );
        let missing = local_copy(tmp.path(), "c.whl").unwrap_err();
        assert!(matches!(missing, Status::Missing(ref e) if e.starts_with("c.whl is not in ")));
    }

    #[test]
    fn a_file_missing_from_an_index_says_what_it_lists() {
        let mut listing = kiln_index::Listing {
            files: Vec::new(),
            links: 0,
            others: Vec::new(),
        };
        let said = |listing: &kiln_index::Listing| match not_on_index("p-1.0.tar.gz", listing) {
            Status::Missing(m) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            said(&listing),
            "the index lists no p-1.0.tar.gz (it lists no files)"
        );
        listing.links = 5;
        listing.others = vec!["p-0.9.tar.gz".into(), "p-0.8.tar.gz".into()];
        assert_eq!(
            said(&listing),
            "the index lists no p-1.0.tar.gz (it lists p-0.9.tar.gz, p-0.8.tar.gz and 3 more)"
        );
    }

    #[test]
    fn a_small_published_file_is_read_only_within_its_cap() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("SHA256SUMS");
        std::fs::write(&path, "0123456789").unwrap();
        assert_eq!(read_capped(&path, 10).unwrap(), b"0123456789");
        let e = read_capped(&path, 9).unwrap_err();
        assert!(
            e.contains("is 10 bytes, more than the limit of 9 bytes"),
            "{e}"
        );
        let e = read_capped(tmp.path(), 9).unwrap_err();
        assert!(
            e.ends_with("is not a regular file: refusing to read it"),
            "{e}"
        );
        let e = read_capped(&tmp.path().join("none"), 9).unwrap_err();
        assert!(e.starts_with("cannot read "), "{e}");
    }
}
