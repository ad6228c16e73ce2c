//! What `rebuild` builds: SOURCE as an sdist (a file, or a URL fetched
//! size-capped) or a project directory (given, or a clean checkout of a
//! repository at `--ref`), and the release's name and version.

use crate::rebuild::published::MAX_ARTIFACT;
use anyhow::{Context, Result, bail};
use kiln_names::filename_release;
use std::path::{Path, PathBuf};

/// What to build: a published sdist, or a project directory.
pub enum Source {
    Sdist { filename: String, path: PathBuf },
    Project(PathBuf),
}

/// A file read whole, refused past [`MAX_ARTIFACT`] bytes.
pub fn read_capped(path: &Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() || meta.len() > MAX_ARTIFACT {
        bail!(
            "{}: not a regular file of at most {MAX_ARTIFACT} bytes",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// SOURCE as something to build, and the (normalized name, version) of
/// the release it is.
pub fn locate(
    source: &str,
    git_ref: Option<&str>,
    tmp: &Path,
) -> Result<(Source, (String, Option<String>))> {
    let sdist = |filename: String, path: PathBuf| -> Result<(Source, (String, Option<String>))> {
        let (name, version) = filename_release(&filename).with_context(|| {
            format!("{source}: not an sdist name (<name>-<version>.tar.gz) nor a directory")
        })?;
        Ok((Source::Sdist { filename, path }, (name, Some(version))))
    };
    let url = source.contains("://") || source.starts_with("git@");
    if let (true, Some(r)) = (url, git_ref) {
        let checkout = tmp.join("checkout");
        kiln_git::clone_url(source, &checkout)
            .with_context(|| format!("{source}: cannot clone the repository"))?;
        let repo = kiln_git::Repo::at(&checkout);
        let commit = repo
            .commit(r)
            .with_context(|| format!("{source}: cannot resolve --ref {r}"))?;
        repo.checkout_detached(&commit)?;
        let release = project_release(&checkout)?;
        return Ok((Source::Project(checkout), release));
    }
    if source.starts_with("https://") || source.starts_with("http://") {
        let filename = kiln_names::url_filename(source).to_string();
        if !filename.ends_with(".tar.gz") {
            bail!("{source}: a URL SOURCE must name an sdist (.tar.gz)");
        }
        let fetched = crate::fetch::download(source, tmp, &filename, MAX_ARTIFACT)?;
        return sdist(filename, fetched.path);
    }
    let path = PathBuf::from(source);
    let dir = match git_ref {
        Some(r) => {
            let path = path
                .canonicalize()
                .with_context(|| format!("{source}: no such repository"))?;
            let commit = kiln_git::Repo::at(&path)
                .commit(r)
                .with_context(|| format!("{source}: cannot resolve --ref {r}"))?;
            let checkout = tmp.join("checkout");
            kiln_git::clean_checkout(&path, &checkout, &commit)?;
            checkout
        }
        None if path.is_file() => {
            let filename = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            return sdist(filename, path);
        }
        None if path.is_dir() => path,
        None => bail!("{source}: no such file or directory"),
    };
    let release = project_release(&dir)?;
    Ok((Source::Project(dir), release))
}

/// A project directory's name and, when static, version from its
/// pyproject.toml (PEP 621).
fn project_release(dir: &Path) -> Result<(String, Option<String>)> {
    let path = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read it", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}: not TOML", path.display()))?;
    let project = table.get("project").and_then(|p| p.as_table());
    let field = |key: &str| project.and_then(|p| p.get(key)).and_then(|v| v.as_str());
    let Some(name) = field("name") else {
        bail!(
            "{}: rebuild needs the [project] name to find the published files (or give the sdist as SOURCE)",
            path.display()
        );
    };
    let (name, version) = filename_release(&format!(
        "{name}-{}.tar.gz",
        field("version").unwrap_or("0")
    ))
    .with_context(|| format!("{}: [project] name", path.display()))?;
    Ok((name, field("version").map(|_| version)))
}
