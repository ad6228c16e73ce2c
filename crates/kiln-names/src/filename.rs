//! What an sdist or wheel file name states, read back: the project name
//! (PEP 503 normalized, in the `_` spelling file names use) and the
//! version, without validating either (a published file may predate the
//! rules; the caller compares, it does not build); the names a release's
//! files likely have, and the file name a URL names.

/// PEP 503 normalization of `name`, without validating it: lowercase, each
/// run of `-`, `_` and `.` one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.chars() {
        if matches!(c, '.' | '-' | '_') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_separator = false;
        }
    }
    out
}

/// The version an sdist (`<name>-<version>.tar.gz`) or wheel
/// (`<name>-<version>-….whl`) file name states.
pub fn filename_version(filename: &str) -> Option<&str> {
    if let Some(stem) = filename.strip_suffix(".tar.gz") {
        return stem.rsplit_once('-').map(|(_, v)| v);
    }
    filename.strip_suffix(".whl")?.split('-').nth(1)
}

/// The (normalized name with `_` for `-`, version) an sdist or wheel file
/// name states.
pub fn filename_release(filename: &str) -> Option<(String, String)> {
    let name = match filename.strip_suffix(".tar.gz") {
        Some(stem) => stem.rsplit_once('-')?.0,
        None => filename.strip_suffix(".whl")?.split('-').next()?,
    };
    let version = filename_version(filename)?;
    Some((normalize(name).replace('-', "_"), version.to_string()))
}

/// The files a release `<name>-<version>` (the name as file names spell
/// it) most likely has on a plain file server that cannot be listed: its
/// sdist and a pure-Python wheel, for Python 3 or for both.
pub fn likely_filenames(name: &str, version: &str) -> [String; 3] {
    let stem = format!("{name}-{version}");
    [
        format!("{stem}.tar.gz"),
        format!("{stem}-py3-none-any.whl"),
        format!("{stem}-py2.py3-none-any.whl"),
    ]
}

/// The file name a URL ends with: its last path segment, without a query
/// or fragment.
pub fn url_filename(url: &str) -> &str {
    let last = url.rsplit('/').next().unwrap_or_default();
    last.split(['?', '#']).next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_from_file_names() {
        let release = |f: &str| filename_release(f);
        assert_eq!(
            release("Friendly.Bard__Tools-1.0.tar.gz"),
            Some(("friendly_bard_tools".into(), "1.0".into()))
        );
        assert_eq!(
            release("zope.interface-7.0.1-cp312-cp312-manylinux_2_17_x86_64.whl"),
            Some(("zope_interface".into(), "7.0.1".into()))
        );
        assert_eq!(
            release("my-pkg-2.0rc1.tar.gz"),
            Some(("my_pkg".into(), "2.0rc1".into()))
        );
        for other in ["a-1.0.zip", "nodash.tar.gz", "a.whl", "a-1.0.tar"] {
            assert_eq!(release(other), None, "{other}");
        }
        assert_eq!(filename_version("h-1.10.0.tar.gz"), Some("1.10.0"));
        assert_eq!(
            filename_version("h-1.9-1kiln-py3-none-any.whl"),
            Some("1.9")
        );
        assert_eq!(normalize("A_.-b"), "a-b");
        assert_eq!(normalize("a b"), "a b");
        assert_eq!(
            likely_filenames("a_b", "1.0"),
            [
                "a_b-1.0.tar.gz",
                "a_b-1.0-py3-none-any.whl",
                "a_b-1.0-py2.py3-none-any.whl"
            ]
        );
        assert_eq!(
            url_filename("https://x/p/a-1.0.tar.gz?x=1#sha256=00"),
            "a-1.0.tar.gz"
        );
        assert_eq!(url_filename("https://x/p/"), "");
        assert_eq!(url_filename("a-1.0.tar.gz"), "a-1.0.tar.gz");
    }
}
