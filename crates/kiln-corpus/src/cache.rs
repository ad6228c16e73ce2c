//! The corpus cache: `<dir>/<kind>/<file name>`, filled on first use and
//! checked against the manifest every time a file is handed out.
//!
//! A miss downloads into a private temporary directory beside the cache
//! entry, checks size and sha256, and publishes the checked bytes with
//! [`kiln_fs::publish::write_atomic`], so a reader (another test process
//! filling the same cache at the same time, say) sees no file or the
//! whole verified one, never a part.

use crate::download::{self, Fetched};
use crate::{CorpusError, CorpusFile};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

/// The setting (an environment variable, read by the caller) naming
/// another cache directory.
pub const CACHE_SETTING: &str = "KILN_CORPUS_CACHE";
/// The setting naming a PEM bundle of certificates to trust besides the
/// bundled roots, where a proxy intercepts TLS (as OpenSSL and curl read
/// it).
pub const ROOTS_SETTING: &str = "SSL_CERT_FILE";

/// The largest corpus file the manifest may pin (a sanity bound; the
/// files are a few hundred KB).
pub(crate) const MAX_SIZE: u64 = 64 << 20;

/// Where the corpus files are kept. The caller chooses the directory:
/// kiln's tests use `target/kiln-corpus/` under the workspace root, or
/// `$KILN_CORPUS_CACHE` when it is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
    roots: Option<PathBuf>,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache {
            dir: dir.into(),
            roots: None,
        }
    }

    /// The cache kiln's tests and bench use: the directory the setting
    /// [`CACHE_SETTING`] names, else `default_dir` (their
    /// `target/kiln-corpus/`), trusting the CA bundle [`ROOTS_SETTING`]
    /// names, if any. `lookup` gives a setting's value (the caller reads
    /// the environment; this crate never does).
    pub fn with_settings(
        default_dir: impl Into<PathBuf>,
        lookup: impl Fn(&'static str) -> Option<PathBuf>,
    ) -> Cache {
        let dir = lookup(CACHE_SETTING).unwrap_or_else(|| default_dir.into());
        Cache::new(dir).trusting(lookup(ROOTS_SETTING))
    }

    /// Downloads trust the certificates of the PEM bundle `roots`, when
    /// given, besides the bundled Mozilla roots. kiln's tests pass
    /// `$SSL_CERT_FILE`, for machines whose TLS a proxy intercepts.
    pub fn trusting(mut self, roots: Option<PathBuf>) -> Cache {
        self.roots = roots;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `file` is kept (whether or not it is there yet).
    pub fn location(&self, file: &CorpusFile) -> PathBuf {
        self.dir.join(file.kind.as_str()).join(&file.filename)
    }

    /// The bytes of `file`, checked against the manifest: from the cache,
    /// or downloaded into it first.
    pub fn read(&self, file: &CorpusFile) -> Result<Vec<u8>, CorpusError> {
        self.read_with(file, |url, dir, name, max| {
            download::download(url, dir, name, max, self.roots.as_deref())
        })
    }

    /// The path of `file` in the cache, checked against the manifest just
    /// now (downloaded first if missing or different).
    pub fn path(&self, file: &CorpusFile) -> Result<PathBuf, CorpusError> {
        self.read(file)?;
        Ok(self.location(file))
    }

    fn read_with(
        &self,
        file: &CorpusFile,
        fetch: impl FnOnce(&str, &Path, &str, u64) -> Result<Fetched, CorpusError>,
    ) -> Result<Vec<u8>, CorpusError> {
        let dest = self.location(file);
        match read_bounded(&dest, file.size) {
            Ok(bytes) if check(file, "the cached copy", &bytes).is_ok() => return Ok(bytes),
            // A stale or damaged copy is replaced.
            Ok(_) => {}
            Err(CorpusError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let parent = dest.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(parent).map_err(|source| CorpusError::Io {
            action: "cannot create",
            path: parent.to_path_buf(),
            source,
        })?;
        let tmp = tempfile::Builder::new()
            .prefix(".kiln-corpus-download-")
            .tempdir_in(parent)
            .map_err(|source| CorpusError::Io {
                action: "cannot create a temporary directory in",
                path: parent.to_path_buf(),
                source,
            })?;
        let fetched = fetch(&file.url, tmp.path(), &file.filename, file.size)?;
        mismatch(file, "the download", fetched.size, &fetched.sha256)?;
        // The bytes published and handed out are the bytes checked here.
        let bytes = read_bounded(&fetched.path, file.size)?;
        check(file, "the download", &bytes)?;
        kiln_fs::publish::write_atomic(&dest, &bytes).map_err(|source| CorpusError::Publish {
            path: dest.clone(),
            source,
        })?;
        Ok(bytes)
    }
}

/// At most `size + 1` bytes of `path`: enough to tell a longer file.
fn read_bounded(path: &Path, size: u64) -> Result<Vec<u8>, CorpusError> {
    let io = |source| CorpusError::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(size.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    Ok(bytes)
}

fn check(file: &CorpusFile, what: &'static str, bytes: &[u8]) -> Result<(), CorpusError> {
    mismatch(file, what, bytes.len() as u64, &kiln_digest::sha256(bytes))
}

fn mismatch(
    file: &CorpusFile,
    what: &'static str,
    size: u64,
    sha256: &[u8; 32],
) -> Result<(), CorpusError> {
    let got = kiln_digest::hex(sha256);
    if size == file.size && got == file.sha256 {
        return Ok(());
    }
    Err(CorpusError::Mismatch {
        url: file.url.clone(),
        what,
        size: file.size,
        sha256: file.sha256.clone(),
        got_size: size,
        got_sha256: got,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;
    use std::cell::Cell;

    const DATA: &[u8] = b"the published bytes";

    fn file() -> CorpusFile {
        CorpusFile {
            project: "pkg".into(),
            version: "1.0".into(),
            kind: Kind::Wheel,
            backend: "test".into(),
            filename: "pkg-1.0-py3-none-any.whl".into(),
            url: "https://files.pythonhosted.org/packages/00/pkg-1.0-py3-none-any.whl".into(),
            sha256: kiln_digest::hex(&kiln_digest::sha256(DATA)),
            size: DATA.len() as u64,
        }
    }

    /// A stand-in for the network serving `body`, counting its calls.
    fn serving<'a>(
        body: &'a [u8],
        calls: &'a Cell<usize>,
    ) -> impl FnOnce(&str, &Path, &str, u64) -> Result<Fetched, CorpusError> + 'a {
        move |_url, dir, name, _max| {
            calls.set(calls.get() + 1);
            let path = dir.join(name);
            std::fs::write(&path, body).unwrap();
            Ok(Fetched {
                path,
                size: body.len() as u64,
                sha256: kiln_digest::sha256(body),
            })
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = walk(dir);
        names.sort();
        names
    }

    fn walk(dir: &Path) -> Vec<String> {
        #[allow(clippy::disallowed_methods)] // sorted by the caller
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_miss_downloads_once_and_later_reads_are_hits() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let calls = Cell::new(0);
        let got = cache.read_with(&file(), serving(DATA, &calls)).unwrap();
        assert_eq!((got.as_slice(), calls.get()), (DATA, 1));
        let got = cache.read_with(&file(), serving(DATA, &calls)).unwrap();
        assert_eq!((got.as_slice(), calls.get()), (DATA, 1));
        assert_eq!(std::fs::read(cache.location(&file())).unwrap(), DATA);
        assert_eq!(entries(&tmp.path().join("wheel")), [file().filename]);
    }

    #[test]
    fn a_damaged_cached_copy_is_downloaded_again() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let at = cache.location(&file());
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        for damaged in [
            &b"the published bytez"[..],
            b"short",
            b"the published bytes!",
        ] {
            std::fs::write(&at, damaged).unwrap();
            let calls = Cell::new(0);
            let got = cache.read_with(&file(), serving(DATA, &calls)).unwrap();
            assert_eq!((got.as_slice(), calls.get()), (DATA, 1));
            assert_eq!(std::fs::read(&at).unwrap(), DATA);
        }
    }

    #[test]
    fn a_download_that_does_not_match_is_refused_and_not_cached() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let calls = Cell::new(0);
        let e = cache
            .read_with(&file(), serving(b"other bytes", &calls))
            .unwrap_err();
        assert!(
            matches!(e, CorpusError::Mismatch { got_size: 11, .. }),
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.contains(&file().url) && text.contains(&file().sha256),
            "{text}"
        );
        assert!(entries(&tmp.path().join("wheel")).is_empty());

        let e = cache
            .read_with(&file(), |url, _, _, _| {
                Err(CorpusError::Fetch {
                    url: url.into(),
                    source: kiln_fetch::FetchError::Network {
                        url: url.into(),
                        message: "offline".into(),
                    },
                })
            })
            .unwrap_err();
        assert!(matches!(e, CorpusError::Fetch { .. }), "{e}");
        assert!(entries(&tmp.path().join("wheel")).is_empty());
    }

    #[test]
    fn settings_name_the_directory_and_the_roots() {
        let none = Cache::with_settings("target/kiln-corpus", |_| None);
        assert_eq!(none, Cache::new("target/kiln-corpus"));
        let set = Cache::with_settings("target/kiln-corpus", |name| {
            Some(PathBuf::from(format!("/set/{name}")))
        });
        assert_eq!(
            set,
            Cache::new("/set/KILN_CORPUS_CACHE")
                .trusting(Some(PathBuf::from("/set/SSL_CERT_FILE")))
        );
    }
}
