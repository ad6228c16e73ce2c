//! Hash-pinned requirements files, the subset of pip's format a wheelhouse
//! needs: `name==version` with at least one `--hash=sha256:<hex>`, comments,
//! blank lines and `\` continuations. Everything else -- an unpinned or
//! unhashed requirement, an environment marker, a URL, an option such as
//! `-e`, `-r` or `--index-url` -- is refused, naming the file, the line and
//! the fix: a wheelhouse is built from exactly the sdists the file pins.
//!
//! [`render`] writes such a file canonically (sorted by normalized name,
//! one hash per requirement, LF line ends), which is how the wheelhouse's
//! `requirements.txt` (the built wheels) and `sources.txt` (the sdists they
//! were built from) are written.

use crate::WheelhouseError;
use kiln_names::ProjectName;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One requirement: the project, its exact version and the sha256 digests
/// (lowercase hex) any of which the sdist must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The line it starts on (1-based), for messages.
    pub line: usize,
    pub name: ProjectName,
    /// The version as written (it parses as PEP 440).
    pub version: String,
    pub sha256: Vec<String>,
}

impl Requirement {
    /// `name==version`, as the user wrote the name.
    pub fn pin(&self) -> String {
        format!("{}=={}", self.name.as_str(), self.version)
    }

    /// Whether `sha256` (hex) is one of the pinned digests.
    pub fn accepts(&self, sha256: &str) -> bool {
        self.sha256.iter().any(|h| h.eq_ignore_ascii_case(sha256))
    }
}

/// A requirements file larger than this is refused before it is read.
pub const MAX_REQUIREMENTS_SIZE: u64 = 4 * 1024 * 1024;

/// Parse a hash-pinned requirements file; `file` names it in errors. The
/// requirements come back sorted by normalized name; a project pinned
/// twice is an error.
pub fn parse(file: &str, text: &str) -> Result<Vec<Requirement>, WheelhouseError> {
    let mut by_name: BTreeMap<String, Requirement> = BTreeMap::new();
    for (line, logical) in logical_lines(text) {
        let bad = |problem: String| WheelhouseError::Requirement {
            file: file.to_string(),
            line,
            text: shorten(&logical),
            problem,
        };
        let mut words = logical.split_whitespace().peekable();
        let Some(spec) = words.next() else { continue };
        if spec.starts_with('-') {
            return Err(bad(format!(
                "the option {spec} is not supported here: a wheelhouse's requirements are only `name==version --hash=sha256:<hex>` lines (give the index with --index)"
            )));
        }
        // `name == version` with spaces: join the comparison back.
        let mut spec = spec.to_string();
        while !spec.contains("==") || spec.ends_with("==") {
            match words.peek() {
                Some(w) if !w.starts_with("--") => {
                    spec.push_str(words.next().unwrap_or_default());
                }
                _ => break,
            }
        }
        if spec.contains(';') || logical.contains(';') {
            return Err(bad(
                "environment markers are not supported: list only the requirements this wheelhouse is for".into(),
            ));
        }
        let Some((name_part, version)) = spec.split_once("==") else {
            return Err(bad(
                "not pinned: write `name==version --hash=sha256:<hex of the sdist>`".into(),
            ));
        };
        let name_text = match name_part.split_once('[') {
            Some((n, extras)) if extras.ends_with(']') => n,
            Some(_) => return Err(bad("unclosed `[` in the extras".into())),
            None => name_part,
        };
        let name = ProjectName::new(name_text).map_err(|e| bad(e.to_string()))?;
        if version.starts_with('=') || version.contains('*') || version.contains('@') {
            return Err(bad(format!(
                "{version:?} is not an exact version: write `{}==<version>`",
                name.as_str()
            )));
        }
        kiln_names::parse_version(version).map_err(|e| bad(e.to_string()))?;
        let mut sha256 = Vec::new();
        while let Some(word) = words.next() {
            let value = match word {
                "--hash" => words.next().unwrap_or_default().to_string(),
                w => match w.strip_prefix("--hash=") {
                    Some(v) => v.to_string(),
                    None => {
                        return Err(bad(format!(
                            "unexpected {w:?} after the requirement (only --hash=sha256:<hex> may follow)"
                        )));
                    }
                },
            };
            let Some((algorithm, hex)) = value.split_once(':') else {
                return Err(bad(format!(
                    "--hash {value:?}: expected sha256:<64 hex digits>"
                )));
            };
            if algorithm != "sha256" {
                return Err(bad(format!(
                    "--hash {algorithm}: kiln checks sdists by sha256; give --hash=sha256:<hex>"
                )));
            }
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!(
                    "--hash sha256:{hex}: a sha256 is 64 hex digits"
                )));
            }
            sha256.push(hex.to_ascii_lowercase());
        }
        if sha256.is_empty() {
            return Err(bad(format!(
                "{} has no --hash: every requirement must pin its sdist's sha256 (`pip hash FILE`, or `pip-compile --generate-hashes`), so what is built is exactly what was reviewed",
                name.as_str()
            )));
        }
        let requirement = Requirement {
            line,
            name,
            version: version.to_string(),
            sha256,
        };
        let key = requirement.name.normalized().to_string();
        if let Some(first) = by_name.get(&key) {
            return Err(bad(format!(
                "{} is pinned twice (also on line {}): keep one",
                requirement.name.as_str(),
                first.line
            )));
        }
        by_name.insert(key, requirement);
    }
    if by_name.is_empty() {
        return Err(WheelhouseError::NoRequirements {
            file: file.to_string(),
        });
    }
    Ok(by_name.into_values().collect())
}

/// Lines with `\` continuations joined and comments removed, each with the
/// number of its first physical line; blank ones are left out.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (index, raw) in text.lines().enumerate() {
        if current.is_empty() {
            start = index + 1;
        }
        let line = strip_comment(raw);
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    out.push((start, current.trim().to_string()));
                }
                current.clear();
            }
        }
    }
    if !current.trim().is_empty() {
        out.push((start, current.trim().to_string()));
    }
    out
}

/// pip's rule: `#` at the start of a line or after whitespace starts a comment.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return line[..i].trim_end();
        }
    }
    line.trim_end()
}

fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(200).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// One line of a rendered requirements file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    pub name: ProjectName,
    pub version: String,
    pub sha256: String,
}

/// A requirements file pinning `entries` by hash, canonically: `header`
/// lines as comments, then one requirement per normalized name, sorted,
/// `name==version \` and `    --hash=sha256:<hex>`, LF line ends.
pub fn render(header: &[&str], entries: &[Pinned]) -> String {
    let mut sorted: Vec<&Pinned> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.normalized().cmp(b.name.normalized()));
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "# {line}");
    }
    for p in sorted {
        let _ = writeln!(
            out,
            "{}=={} \\\n    --hash=sha256:{}",
            p.name.normalized(),
            p.version,
            p.sha256
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "9cc28d4129fcf6bec72f9c457d911217015d3f8e09cdc59a09be8e805e1126b0";
    const B: &str = "b9995d97b64d0431a5af837d8ca8cd6238104d1f319f04bd93ea43124d6c861e";

    fn err(text: &str) -> String {
        parse("reqs.txt", text).unwrap_err().to_string()
    }

    #[test]
    fn pip_compile_output_parses() {
        let text = format!(
            "#\n# pip-compile --generate-hashes\n#\nsix==1.17.0 \\\n    --hash=sha256:{A} \\\n    --hash=sha256:{B}\n    # via -r requirements.in\nClick == 8.5.1 --hash sha256:{}\n",
            B.to_ascii_uppercase()
        );
        let reqs = parse("r.txt", &text).unwrap();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].name.normalized(), "click");
        assert_eq!(reqs[0].version, "8.5.1");
        assert_eq!(reqs[0].line, 8);
        assert_eq!(reqs[0].sha256, [B]);
        assert_eq!(reqs[1].pin(), "six==1.17.0");
        assert_eq!(reqs[1].line, 4);
        assert!(reqs[1].accepts(A) && reqs[1].accepts(B) && !reqs[0].accepts(A));
    }

    #[test]
    fn bad_lines_are_refused_naming_the_line_and_the_fix() {
        let e = err(&format!("six==1.17.0 --hash=sha256:{A}\nidna==3.10\n"));
        assert!(
            e.contains("reqs.txt:2") && e.contains("idna has no --hash"),
            "{e}"
        );
        assert!(e.contains("pip hash"), "{e}");
        let e = err(&format!("idna>=3 --hash=sha256:{A}\n"));
        assert!(e.contains("reqs.txt:1") && e.contains("not pinned"), "{e}");
        let e = err(&format!("idna==3.* --hash=sha256:{A}\n"));
        assert!(e.contains("not an exact version"), "{e}");
        let e = err(&format!(
            "idna==3.10 ; python_version < \"3.9\" --hash=sha256:{A}\n"
        ));
        assert!(e.contains("environment markers"), "{e}");
        let e = err("--index-url https://example.org/simple\n");
        assert!(e.contains("--index-url is not supported"), "{e}");
        let e = err("idna==3.10 --hash=md5:abcd\n");
        assert!(e.contains("sha256"), "{e}");
        let e = err("idna==3.10 --hash=sha256:abcd\n");
        assert!(e.contains("64 hex digits"), "{e}");
        let e = err(&format!(
            "idna==3.10 --hash=sha256:{A}\nIDNA==3.10 --hash=sha256:{A}\n"
        ));
        assert!(
            e.contains("reqs.txt:2") && e.contains("pinned twice"),
            "{e}"
        );
        let e = err("# nothing\n\n");
        assert!(e.contains("no requirement"), "{e}");
        let e = err(&format!("../x==1 --hash=sha256:{A}\n"));
        assert!(e.contains("invalid project name"), "{e}");
    }

    #[test]
    fn render_is_canonical_and_parses_back() {
        let pin = |n: &str, v: &str, h: &str| Pinned {
            name: ProjectName::new(n).unwrap(),
            version: v.into(),
            sha256: h.into(),
        };
        let a = render(
            &["head"],
            &[pin("Six", "1.17.0", A), pin("click", "8.5.1", B)],
        );
        let b = render(
            &["head"],
            &[pin("click", "8.5.1", B), pin("Six", "1.17.0", A)],
        );
        assert_eq!(a, b);
        assert_eq!(
            a,
            format!(
                "# head\nclick==8.5.1 \\\n    --hash=sha256:{B}\nsix==1.17.0 \\\n    --hash=sha256:{A}\n"
            )
        );
        let back = parse("requirements.txt", &a).unwrap();
        assert_eq!(back[1].sha256, [A]);
    }
}
