//! Tidy: no Rust source file of the workspace (`xtask/src`, `crates/*/src`)
//! holds more than 600 lines of non-test code, so that each stays one job a
//! reader can hold in mind. A file's trailing `#[cfg(test)] mod … { … }`
//! and `tests.rs` files are test code and do not count. The files over the
//! limit today are listed below with their size now: they may shrink, not
//! grow, and each leaves the list once it is under the limit.

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;

/// Today's files over the limit: (path, non-test lines now, why it is
/// still here). Remove an entry when its file is split or gone.
const ALLOWED: &[(&str, usize, &str)] = &[];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Lines of non-test code: all of them, less a trailing
/// `#[cfg(test)]` + `mod name {` block.
fn non_test_lines(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    (0..lines.len().saturating_sub(1))
        .rev()
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]"
                && lines[i + 1].starts_with("mod ")
                && lines[i + 1].trim_end().ends_with('{')
        })
        .unwrap_or(lines.len())
}

fn sources() -> Vec<(String, usize)> {
    let root = root();
    let mut out = Vec::new();
    // xtask/src/…, and crates/<name>/src/… (not a crate's tests/ or benches/).
    for (dir, src_at) in [("xtask/src", 0), ("crates", 2)] {
        for entry in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name() {
            let entry = entry.expect("source tree walks");
            let path = entry.path();
            let rel = path.strip_prefix(&root).unwrap_or(path);
            let in_src = src_at == 0
                || rel
                    .components()
                    .nth(src_at)
                    .is_some_and(|c| c.as_os_str() == "src");
            if !in_src || path.extension().is_none_or(|e| e != "rs") || path.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(path).expect("source reads");
            out.push((rel.to_string_lossy().into_owned(), non_test_lines(&text)));
        }
    }
    out
}

#[test]
fn no_source_file_is_over_600_lines() {
    let sources = sources();
    let mut problems = Vec::new();
    for (path, lines) in &sources {
        match ALLOWED.iter().find(|(p, _, _)| p == path) {
            None if *lines > MAX_LINES => problems.push(format!(
                "{path}: {lines} lines of non-test code (at most {MAX_LINES}): split it along its jobs"
            )),
            Some((_, was, _)) if lines > was => problems.push(format!(
                "{path}: {lines} lines, grown from {was}: it is on the allow-list to shrink; split it"
            )),
            Some(_) if *lines <= MAX_LINES => problems.push(format!(
                "{path}: {lines} lines, under {MAX_LINES} now: remove it from ALLOWED in {}",
                file!()
            )),
            _ => {}
        }
    }
    for (path, _, _) in ALLOWED {
        if !sources.iter().any(|(p, _)| p == path) {
            problems.push(format!(
                "{path}: gone: remove it from ALLOWED in {}",
                file!()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn test_modules_do_not_count() {
    let text = "//! x\nfn a() {}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {}\n}\n";
    assert_eq!(non_test_lines(text), 3);
    assert_eq!(non_test_lines("fn a() {}\n#[cfg(test)]\nuse x;\n"), 3);
}

/// xtask is the orchestrator: flags, reading the environment, the clock
/// and the CLI, calling the edges, printing. Decisions, formats and engines
/// belong in library crates, where they are tested alone; this cap keeps
/// xtask thin. The bench (`bench.rs`, `bench/`) is a tool of its own.
/// A ratchet: the consumer commands (rebuild, wheelhouse, mirror, tuf,
/// distfiles) landed beside the slimming; lower it as their decisions move
/// into crates, to the goal of 4,000.
const XTASK_MAX_LINES: usize = 7_151;

#[test]
fn xtask_stays_thin() {
    let src = root().join("xtask/src");
    let mut total = 0;
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let entry = entry.expect("xtask/src walks");
        let rel = entry.path().strip_prefix(&src).unwrap_or(entry.path());
        let bench = rel.starts_with("bench") || rel == Path::new("bench.rs");
        if bench || entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("source reads");
        let lines = text.lines().count();
        total += lines;
        files.push((lines, rel.display().to_string()));
    }
    files.sort();
    let largest: Vec<String> = files
        .iter()
        .rev()
        .take(5)
        .map(|(n, f)| format!("{f} ({n})"))
        .collect();
    assert!(
        total <= XTASK_MAX_LINES,
        "xtask/src holds {total} lines without the bench (at most {XTASK_MAX_LINES}): move what is \
         not orchestration -- decisions, formats, engines -- into a library crate. Largest: {}",
        largest.join(", ")
    );
}
