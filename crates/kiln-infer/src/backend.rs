//! The backend and its version from a wheel's `WHEEL` file: the
//! `Generator:` line each backend writes (`hatchling 1.32.0`, `flit 3.12.0`,
//! `setuptools (84.0.0)`, `poetry-core 2.3.1`, `bdist_wheel (0.45.1)`),
//! mapped to the distribution a lock must pin to build the same way.

use crate::InferError;
use kiln_archive::{Limits, ZipKind, read_zip};

/// The backend a published wheel was built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInference {
    /// The distribution to pin (`flit_core` for `flit`, `wheel` for
    /// setuptools' old `bdist_wheel`).
    pub distribution: String,
    pub version: String,
    /// The Generator line as written (untrusted text: escape it to print).
    pub generator: String,
    /// Where it was read: `<wheel>: <dist-info>/WHEEL`.
    pub evidence: String,
}

impl BackendInference {
    /// The pip constraint that pins it: `hatchling==1.32.0`.
    pub fn constraint(&self) -> String {
        format!("{}=={}", self.distribution, self.version)
    }
}

/// The published wheel the backend is read from, among a release's file
/// names: the first pure-Python one (`-none-any.whl`), else the first
/// wheel.
pub fn wheel_to_read<'a>(filenames: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    filenames
        .into_iter()
        .filter(|f| f.ends_with(".whl"))
        .min_by_key(|f| !f.ends_with("-none-any.whl"))
}

/// The distribution and version a `Generator:` value names, if it is one
/// kiln knows how to pin.
pub fn generator_backend(generator: &str) -> Option<(String, String)> {
    let cleaned = generator.replace(['(', ')'], " ");
    let mut parts = cleaned.split_whitespace();
    let (tool, version) = (parts.next()?, parts.next()?);
    let version_ok = !version.is_empty()
        && version.len() <= 64
        && version.chars().next().is_some_and(|c| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '_' | '!'));
    if !version_ok {
        return None;
    }
    let distribution = match tool {
        "flit" | "flit_core" => "flit_core",
        "bdist_wheel" => "wheel",
        "uv" => "uv_build",
        "hatchling" | "setuptools" | "poetry-core" | "pdm-backend" | "maturin"
        | "scikit-build-core" | "meson-python" | "uv_build" | "wheel" => tool,
        _ => return None,
    };
    Some((distribution.to_string(), version.to_string()))
}

/// The backend `wheel` (named `wheel_name`) names in its
/// `.dist-info/WHEEL` `Generator:` line; `None` when it names none kiln
/// knows.
pub fn infer_backend(
    wheel_name: &str,
    wheel: &[u8],
    limits: &Limits,
) -> Result<Option<BackendInference>, InferError> {
    let zip = read_zip(wheel_name, wheel, limits).map_err(|source| InferError::Archive {
        name: wheel_name.to_string(),
        source: Box::new(source),
    })?;
    let Some(member) = zip.members.iter().find(|m| {
        m.kind == ZipKind::File
            && m.path
                .split_once('/')
                .is_some_and(|(top, rest)| top.ends_with(".dist-info") && rest == "WHEEL")
    }) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&member.data);
    let Some(generator) = text
        .lines()
        .find_map(|l| l.strip_prefix("Generator:"))
        .map(str::trim)
    else {
        return Ok(None);
    };
    Ok(
        generator_backend(generator).map(|(distribution, version)| BackendInference {
            distribution,
            version,
            generator: generator.to_string(),
            evidence: format!("{wheel_name}: {}", member.path),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pure_python_wheel_is_read_first() {
        let files = [
            "a-1.0.tar.gz",
            "a-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            "a-1.0-py3-none-any.whl",
            "a-1.0-py2.py3-none-any.whl",
        ];
        assert_eq!(wheel_to_read(files), Some("a-1.0-py3-none-any.whl"));
        assert_eq!(
            wheel_to_read(files[..2].iter().copied()),
            Some("a-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")
        );
        assert_eq!(wheel_to_read(["a-1.0.tar.gz"]), None);
    }

    #[test]
    fn generators_map_to_distributions() {
        let cases = [
            ("hatchling 1.32.0", Some(("hatchling", "1.32.0"))),
            ("flit 3.12.0", Some(("flit_core", "3.12.0"))),
            ("setuptools (84.0.0)", Some(("setuptools", "84.0.0"))),
            ("poetry-core 2.3.1", Some(("poetry-core", "2.3.1"))),
            ("bdist_wheel (0.45.1)", Some(("wheel", "0.45.1"))),
            ("uv 0.9.2", Some(("uv_build", "0.9.2"))),
            ("kiln 0.1.0", None),
            ("hatchling", None),
            ("hatchling 1.0;rm", None),
            ("setuptools (x)", None),
        ];
        for (generator, want) in cases {
            let got = generator_backend(generator);
            let want = want.map(|(d, v)| (d.to_string(), v.to_string()));
            assert_eq!(got, want, "{generator}");
        }
    }
}
