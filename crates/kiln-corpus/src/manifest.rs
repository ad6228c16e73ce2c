//! `corpus.toml` read and checked: every entry is a file PyPI serves, with
//! a well-formed sha256 and size, so a typo in the manifest is an error
//! naming the entry rather than a download of the wrong thing.

use crate::CorpusError;
use serde::Deserialize;
use std::fmt;

/// Where every corpus file is downloaded from.
const PYPI_FILES: &str = "https://files.pythonhosted.org/packages/";

/// What a corpus file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Sdist,
    Wheel,
}

impl Kind {
    /// The cache's subdirectory for this kind, and its name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sdist => "sdist",
            Kind::Wheel => "wheel",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One pinned release file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusFile {
    pub project: String,
    pub version: String,
    pub kind: Kind,
    /// The build backend and what the project shows of it (for people).
    pub backend: String,
    pub filename: String,
    pub url: String,
    /// Lowercase hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

/// The whole manifest, in its order (by project, then sdist before wheel).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub file: Vec<CorpusFile>,
}

impl Manifest {
    /// The committed manifest, [`crate::MANIFEST`].
    pub fn committed() -> Result<Manifest, CorpusError> {
        Manifest::parse(crate::MANIFEST)
    }

    /// Parses and checks a manifest's text.
    pub fn parse(text: &str) -> Result<Manifest, CorpusError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| CorpusError::Manifest {
            message: e.to_string(),
        })?;
        for (i, file) in manifest.file.iter().enumerate() {
            check(file)?;
            if manifest.file[..i]
                .iter()
                .any(|f| f.filename == file.filename)
            {
                return Err(entry(file, "filename", "is listed twice"));
            }
        }
        Ok(manifest)
    }

    /// The files of one kind, in manifest order.
    pub fn files(&self, kind: Kind) -> Vec<&CorpusFile> {
        self.file.iter().filter(|f| f.kind == kind).collect()
    }

    /// The file of `kind` of `project` (as the manifest spells it).
    pub fn get(&self, project: &str, kind: Kind) -> Result<&CorpusFile, CorpusError> {
        self.file
            .iter()
            .find(|f| f.project == project && f.kind == kind)
            .ok_or_else(|| CorpusError::NotInManifest {
                project: project.to_string(),
                kind,
            })
    }
}

fn entry(file: &CorpusFile, field: &'static str, message: &str) -> CorpusError {
    CorpusError::Entry {
        filename: file.filename.clone(),
        field,
        message: message.to_string(),
    }
}

fn check(file: &CorpusFile) -> Result<(), CorpusError> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
    };
    if !plain(&file.filename) || file.filename.starts_with('.') {
        return Err(entry(
            file,
            "filename",
            "must be one plain file name (letters, digits, '.', '_', '-', '+')",
        ));
    }
    let extension = match file.kind {
        Kind::Sdist => ".tar.gz",
        Kind::Wheel => ".whl",
    };
    if !file.filename.ends_with(extension) {
        return Err(entry(
            file,
            "filename",
            &format!("must end in {extension} for a {}", file.kind),
        ));
    }
    let stem = format!("{}-{}", file.project, file.version);
    if !plain(&file.project)
        || !plain(&file.version)
        || !file
            .filename
            .to_lowercase()
            .starts_with(&stem.to_lowercase())
    {
        return Err(entry(
            file,
            "project",
            &format!("and version must begin the file name ({stem})"),
        ));
    }
    let Some(rest) = file.url.strip_prefix(PYPI_FILES) else {
        return Err(entry(file, "url", &format!("must begin with {PYPI_FILES}")));
    };
    if !rest.ends_with(&format!("/{}", file.filename))
        || rest.contains(['?', '#', '%'])
        || rest.split('/').any(|part| part.is_empty() || part == "..")
    {
        return Err(entry(
            file,
            "url",
            "must be a plain path that ends with the file name",
        ));
    }
    if file.sha256.len() != 64
        || !file
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(entry(file, "sha256", "must be 64 lowercase hex digits"));
    }
    if file.size == 0 || file.size > crate::cache::MAX_SIZE {
        return Err(entry(
            file,
            "size",
            &format!("must be between 1 and {} bytes", crate::cache::MAX_SIZE),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_manifest_pins_an_sdist_and_a_wheel_per_project() {
        let m = Manifest::committed().unwrap();
        let projects = [
            "certifi",
            "click",
            "idna",
            "markupsafe",
            "packaging",
            "rich",
            "six",
            "tuf",
        ];
        assert_eq!(m.file.len(), 2 * projects.len());
        for project in projects {
            let sdist = m.get(project, Kind::Sdist).unwrap();
            let wheel = m.get(project, Kind::Wheel).unwrap();
            assert_eq!(sdist.version, wheel.version, "{project}");
            assert_eq!(
                sdist.filename,
                format!("{project}-{}.tar.gz", sdist.version)
            );
        }
        assert_eq!(m.files(Kind::Sdist).len(), projects.len());
        assert!(matches!(
            m.get("nope", Kind::Wheel),
            Err(CorpusError::NotInManifest { .. })
        ));
    }

    const GOOD: &str = r#"
[[file]]
project = "six"
version = "1.17.0"
kind = "sdist"
backend = "setup.py only"
filename = "six-1.17.0.tar.gz"
url = "https://files.pythonhosted.org/packages/94/e7/b2/six-1.17.0.tar.gz"
sha256 = "ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81"
size = 34031
"#;

    fn refused(from: &str, to: &str) -> String {
        let text = GOOD.replace(from, to);
        assert_ne!(text, GOOD, "{from}");
        Manifest::parse(&text).unwrap_err().to_string()
    }

    #[test]
    fn malformed_entries_are_refused_naming_the_field() {
        Manifest::parse(GOOD).unwrap();
        let e = refused("ff70335d", "FF70335D");
        assert!(e.contains("\"six-1.17.0.tar.gz\": sha256"), "{e}");
        let e = refused("size = 34031", "size = 0");
        assert!(e.contains(": size"), "{e}");
        let e = refused("https://files.pythonhosted.org", "http://example.com");
        assert!(e.contains(": url"), "{e}");
        let e = refused("b2/six-1.17.0.tar.gz", "b2/../six-1.17.0.tar.gz");
        assert!(e.contains(": url"), "{e}");
        let e = refused("\"six-1.17.0.tar.gz\"", "\"../six-1.17.0.tar.gz\"");
        assert!(e.contains(": filename"), "{e}");
        let e = refused("kind = \"sdist\"", "kind = \"wheel\"");
        assert!(e.contains("must end in .whl"), "{e}");
        let e = refused("version = \"1.17.0\"", "version = \"1.16.0\"");
        assert!(e.contains(": project"), "{e}");
        let e = refused("kind = \"sdist\"", "kind = \"egg\"");
        assert!(e.starts_with("the corpus manifest is not valid"), "{e}");
        let e = refused("size = 34031", "size = 34031\nextra = 1");
        assert!(e.contains("extra"), "{e}");
        let twice = format!("{GOOD}{GOOD}");
        let e = Manifest::parse(&twice).unwrap_err().to_string();
        assert!(e.contains("listed twice"), "{e}");
    }
}
