//! Distribution file names as the mirror needs them: a wheel's name split
//! into its five or six fields (the wheel spec's `{distribution}-{version}(-{build
//! tag})?-{python tag}-{abi tag}-{platform tag}.whl`), build tags checked
//! and set, and the normalized project and version of a wheel or sdist.

use crate::MirrorError;

/// A wheel file name, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    pub distribution: String,
    pub version: String,
    pub build: Option<String>,
    /// `{python tag}-{abi tag}-{platform tag}`.
    pub tags: String,
}

impl WheelName {
    pub fn parse(filename: &str) -> Result<WheelName, MirrorError> {
        let bad = |reason: &str| MirrorError::FileName {
            file: filename.to_string(),
            reason: reason.to_string(),
        };
        let stem = filename
            .strip_suffix(".whl")
            .ok_or_else(|| bad("a wheel's name ends in .whl"))?;
        let parts: Vec<&str> = stem.split('-').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad("a wheel's name has no empty field"));
        }
        let (build, tags) = match parts.len() {
            5 => (None, &parts[2..]),
            6 => (Some(parts[2].to_string()), &parts[3..]),
            _ => {
                return Err(bad(
                    "expected {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl",
                ));
            }
        };
        if let Some(build) = &build {
            check_build_tag(build).map_err(|reason| bad(&reason))?;
        }
        Ok(WheelName {
            distribution: parts[0].to_string(),
            version: parts[1].to_string(),
            build,
            tags: tags.join("-"),
        })
    }

    /// The file name with `build` as its build tag.
    pub fn with_build(&self, build: &str) -> String {
        format!(
            "{}-{}-{build}-{}.whl",
            self.distribution, self.version, self.tags
        )
    }
}

/// The wheel spec's build tag: starts with a digit, no `-`; kiln also
/// keeps it to ASCII letters, digits and `_` so that it is one token in
/// every tool's file-name parser.
pub fn check_build_tag(tag: &str) -> Result<(), String> {
    if !tag.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("the build tag {tag:?} must start with a digit"));
    }
    if !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "the build tag {tag:?} may hold only ASCII letters, digits and _"
        ));
    }
    Ok(())
}

/// The wheel spec's ordering of build tags: none sorts first, else by
/// (leading digits as a number, the rest as text).
pub fn build_tag_key(tag: Option<&str>) -> Option<(u128, String)> {
    let tag = tag?;
    let digits = tag.chars().take_while(char::is_ascii_digit).count();
    let number = tag[..digits].parse().unwrap_or(u128::MAX);
    Some((number, tag[digits..].to_string()))
}

/// PEP 503 normalization: lowercase, runs of `-`, `_`, `.` as one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The normalized project name and the version of a distribution file
/// (a wheel, or an sdist `{name}-{version}.tar.gz` / `.zip`).
pub fn project_and_version(filename: &str) -> Result<(String, String), MirrorError> {
    if filename.ends_with(".whl") {
        let wheel = WheelName::parse(filename)?;
        return Ok((normalize(&wheel.distribution), wheel.version));
    }
    let stem = filename
        .strip_suffix(".tar.gz")
        .or_else(|| filename.strip_suffix(".zip"))
        .ok_or_else(|| MirrorError::FileName {
            file: filename.to_string(),
            reason: "a distribution file is a wheel (.whl) or an sdist (.tar.gz, .zip)".into(),
        })?;
    let (name, version) = stem.rsplit_once('-').ok_or_else(|| MirrorError::FileName {
        file: filename.to_string(),
        reason: "an sdist is named {name}-{version}.tar.gz".into(),
    })?;
    if name.is_empty() || version.is_empty() {
        return Err(MirrorError::FileName {
            file: filename.to_string(),
            reason: "an sdist is named {name}-{version}.tar.gz".into(),
        });
    }
    Ok((normalize(name), version.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_names_split_and_take_a_build_tag() {
        let w = WheelName::parse("Foo_Bar-1.0-py3-none-any.whl").unwrap();
        assert_eq!(w.build, None);
        assert_eq!(w.with_build("1kiln"), "Foo_Bar-1.0-1kiln-py3-none-any.whl");
        let w = WheelName::parse("a-1-2x-cp312-cp312-manylinux_2_17_x86_64.whl").unwrap();
        assert_eq!(w.build.as_deref(), Some("2x"));
        assert_eq!(w.tags, "cp312-cp312-manylinux_2_17_x86_64");
        assert!(WheelName::parse("a-1-x-py3-none-any.whl").is_err());
        assert!(WheelName::parse("a-1-any.whl").is_err());
        assert!(check_build_tag("1-a").is_err());
        assert!(build_tag_key(Some("10a")) > build_tag_key(Some("9zz")));
        assert!(build_tag_key(Some("0")) > build_tag_key(None));
        assert_eq!(normalize("Foo__Bar.baz"), "foo-bar-baz");
        assert_eq!(
            project_and_version("kiln_sums-0.1.0.tar.gz").unwrap(),
            ("kiln-sums".to_string(), "0.1.0".to_string())
        );
    }
}
