//! Real sources for the native part: the sdists of two large projects,
//! pinned by sha256 in a manifest of the bench's own (kiln-corpus's format
//! and downloader, so the shared corpus and the tests that walk it stay as
//! they are), downloaded once into the corpus cache and turned into the
//! same three projects as the generated inputs: the package directory of
//! the sdist becomes `src/benchpkg/` (every file, bytes unchanged; the
//! name only makes it fit the generated pyproject.toml of each backend).

use super::generate::SourceFile;
use anyhow::{Context, Result};
use kiln_archive::{Limits, TarKind};
use kiln_corpus::{Cache, Manifest};

/// The real inputs, as PyPI's simple API (PEP 691) lists their sdists.
const MANIFEST: &str = r#"
[[file]]
project = "sympy"
version = "1.13.3"
kind = "sdist"
backend = "setuptools"
filename = "sympy-1.13.3.tar.gz"
url = "https://files.pythonhosted.org/packages/11/8a/5a7fd6284fa8caac23a26c9ddf9c30485a48169344b4bd3b0f02fef1890f/sympy-1.13.3.tar.gz"
sha256 = "b27fd2c6530e0ab39e275fc9b683895367e51d5da91baa8d3d64db2565fec4d9"
size = 7533196

[[file]]
project = "botocore"
version = "1.35.0"
kind = "sdist"
backend = "setuptools"
filename = "botocore-1.35.0.tar.gz"
url = "https://files.pythonhosted.org/packages/38/f5/2b9df08eb22ecc0407e08086ec5c1a424ce66237f3b9fc0b6686712be247/botocore-1.35.0.tar.gz"
sha256 = "6ab2f5a5cbdaa639599e3478c65462c6d6a10173dc8b941bfc69b0c9eb548f45"
size = 12679779
"#;

/// One real input: its label and the files of its package.
#[derive(Debug)]
pub struct Real {
    pub name: String,
    pub files: Vec<SourceFile>,
}

/// The real inputs, downloaded into `cache` on first use.
pub fn inputs(cache: &Cache) -> Result<Vec<Real>> {
    let manifest = Manifest::parse(MANIFEST).context("the bench's manifest of real projects")?;
    let mut out = Vec::new();
    for file in &manifest.file {
        let bytes = cache
            .read(file)
            .with_context(|| format!("failed to fetch {}", file.filename))?;
        let stem = format!("{}-{}/{}/", file.project, file.version, file.project);
        let tgz = kiln_archive::read_tar_gz(&file.filename, &bytes[..], &Limits::default())
            .with_context(|| format!("failed to read {}", file.filename))?;
        let mut files: Vec<SourceFile> = tgz
            .members
            .into_iter()
            .filter(|m| m.kind == TarKind::File)
            .filter_map(|m| {
                let rest = m.path.strip_prefix(&stem)?;
                let skip = rest.contains("__pycache__/") || rest.ends_with(".pyc");
                (!skip).then(|| SourceFile {
                    path: format!("src/benchpkg/{rest}"),
                    bytes: m.data,
                })
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        out.push(Real {
            name: format!("{} {}", file.project, file.version),
            files,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_is_well_formed() {
        let m = Manifest::parse(MANIFEST).unwrap();
        let names: Vec<&str> = m.file.iter().map(|f| f.project.as_str()).collect();
        assert_eq!(names, ["sympy", "botocore"]);
    }
}
