//! Installing a locked wheel into the build environment without pip and
//! without resolving anything: the wheel (already checked against the
//! lock's sha256) is read with kiln-archive's bounded zip reader, every
//! member is checked against the wheel's RECORD, and the members are laid
//! out as the wheel spec says: `<name>.data/{purelib,platlib}` into
//! site-packages, `scripts` into `bin` (a `#!python` shebang rewritten to
//! the environment's interpreter), `headers` into `include`, `data` into
//! the environment's root; `console_scripts` entry points get a wrapper.

use crate::Pep517Error;
use kiln_archive::{Limits, ZipKind, read_zip};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, Pep517Error>;

/// Where things go in the environment being built. `python` is the path
/// the interpreter will have once the environment is in its final place.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub site_packages: PathBuf,
    pub bin: PathBuf,
    pub include: PathBuf,
    pub python: PathBuf,
}

/// Install one wheel file (`name` for errors) into `layout`.
pub fn install_wheel(package: &str, filename: &str, bytes: &[u8], layout: &Layout) -> Result<()> {
    let archive = read_zip(filename, bytes, &Limits::default()).map_err(|source| {
        Pep517Error::InstallRead {
            package: package.to_string(),
            filename: filename.to_string(),
            source: Box::new(source),
        }
    })?;
    let bad = |problem: String| Pep517Error::Install {
        package: package.to_string(),
        filename: filename.to_string(),
        problem,
    };
    let files: Vec<_> = archive
        .members
        .iter()
        .filter(|m| m.kind == ZipKind::File)
        .collect();
    let dist_infos: Vec<&str> = {
        let mut v: Vec<&str> = files
            .iter()
            .filter_map(|m| m.path.split_once('/').map(|(top, _)| top))
            .filter(|top| top.ends_with(".dist-info"))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let [dist_info] = dist_infos[..] else {
        return Err(bad(format!(
            "a wheel holds exactly one .dist-info directory, found {dist_infos:?}"
        )));
    };
    let record_path = format!("{dist_info}/RECORD");
    let Some(record) = files.iter().find(|m| m.path == record_path) else {
        return Err(bad(format!("{record_path} is missing")));
    };
    let record = parse_record(&String::from_utf8_lossy(&record.data));
    let data_dir = format!("{}.data/", dist_info.trim_end_matches(".dist-info"));

    for member in &files {
        let path = member.path.as_str();
        let is_record_file = path == record_path
            || path == format!("{record_path}.jws")
            || path == format!("{record_path}.p7s");
        if !is_record_file {
            match record.get(path) {
                None => return Err(bad(format!("{path} is not listed in {record_path}"))),
                Some(None) => return Err(bad(format!("{path} has no hash in {record_path}"))),
                Some(Some(expected)) => {
                    let actual = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(&member.data));
                    if &actual != expected {
                        return Err(bad(format!(
                            "{path} does not match {record_path} (recorded {expected}, actual {actual})"
                        )));
                    }
                }
            }
        }
        let (target, mut data, mut executable) = match path.strip_prefix(&data_dir) {
            None => (layout.site_packages.join(path), None, member.executable),
            Some(rest) => {
                let (scheme, rel) = rest.split_once('/').unwrap_or((rest, ""));
                if rel.is_empty() {
                    return Err(bad(format!("{path}: stray file in {data_dir}")));
                }
                match scheme {
                    "purelib" | "platlib" => {
                        (layout.site_packages.join(rel), None, member.executable)
                    }
                    "headers" => (layout.include.join(rel), None, false),
                    "data" => (layout.root.join(rel), None, member.executable),
                    "scripts" => {
                        let data = rewrite_shebang(&member.data, &layout.python);
                        (layout.bin.join(rel), Some(data), true)
                    }
                    other => {
                        return Err(bad(format!(
                            "{path}: unknown wheel data directory {other:?}"
                        )));
                    }
                }
            }
        };
        if path.starts_with(&data_dir) && path.contains("/scripts/") {
            executable = true;
        }
        let bytes = data.take().unwrap_or_else(|| member.data.clone());
        write_file(&target, &bytes, executable)?;
    }

    // console_scripts wrappers, as an installer would write them.
    let entry_points = format!("{dist_info}/entry_points.txt");
    if let Some(ep) = files.iter().find(|m| m.path == entry_points) {
        for (name, target) in console_scripts(&String::from_utf8_lossy(&ep.data)) {
            let Some((module, attr)) = target.split_once(':') else {
                continue;
            };
            let attr = attr.split('[').next().unwrap_or(attr).trim();
            let top = attr.split('.').next().unwrap_or(attr);
            let script = format!(
                "#!{}\nimport sys\nfrom {} import {top}\nif __name__ == \"__main__\":\n    sys.exit({attr}())\n",
                layout.python.display(),
                module.trim()
            );
            write_file(&layout.bin.join(name), script.as_bytes(), true)?;
        }
    }
    Ok(())
}

fn write_file(target: &Path, bytes: &[u8], executable: bool) -> Result<()> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(Pep517Error::io("create", parent))?;
    }
    std::fs::write(target, bytes).map_err(Pep517Error::io("write", target))?;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(target, std::fs::Permissions::from_mode(mode))
        .map_err(Pep517Error::io("set the mode of", target))
}

/// `#!python` (or `#!pythonw`) becomes `#!<env python>`, as the wheel spec says.
fn rewrite_shebang(data: &[u8], python: &Path) -> Vec<u8> {
    if let Some(rest) = data.strip_prefix(b"#!python") {
        let rest = rest.strip_prefix(b"w").unwrap_or(rest);
        let mut out = format!("#!{}", python.display()).into_bytes();
        out.extend_from_slice(rest);
        out
    } else {
        data.to_vec()
    }
}

/// RECORD rows: path -> the `sha256=` value (None when the row has none).
/// Paths may be CSV-quoted; the hash and size never hold a comma, so the
/// row is split from the right.
pub fn parse_record(text: &str) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let mut parts = line.rsplitn(3, ',');
        let (_size, hash, path) = (parts.next(), parts.next(), parts.next());
        let (Some(hash), Some(path)) = (hash, path) else {
            continue;
        };
        let path = match path.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            Some(inner) => inner.replace("\"\"", "\""),
            None => path.to_string(),
        };
        let hash = hash
            .strip_prefix("sha256=")
            .filter(|h| !h.is_empty())
            .map(str::to_string);
        out.insert(path, hash);
    }
    out
}

fn console_scripts(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == "[console_scripts]";
        } else if in_section && let Some((name, target)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.contains('/') {
                out.push((name.to_string(), target.trim().to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_rows_with_quotes() {
        let r = parse_record("a/b.py,sha256=xyz,3\n\"c,d.py\",sha256=q,1\nx/RECORD,,\n");
        assert_eq!(r["a/b.py"].as_deref(), Some("xyz"));
        assert_eq!(r["c,d.py"].as_deref(), Some("q"));
        assert_eq!(r["x/RECORD"], None);
    }

    #[test]
    fn shebangs() {
        let out = rewrite_shebang(b"#!python\nprint(1)\n", Path::new("/e/bin/python"));
        assert_eq!(out, b"#!/e/bin/python\nprint(1)\n");
        assert_eq!(
            rewrite_shebang(b"#!/bin/sh\n", Path::new("/p")),
            b"#!/bin/sh\n"
        );
    }
}
