//! The GitHub Actions workflows (`.github/workflows/`), checked without
//! GitHub, so that they are trustworthy by construction:
//!
//! - every third-party action (and reusable workflow of another repository)
//!   is pinned by a full 40-hex commit SHA, with its version in a comment
//!   on the same line (`uses: actions/checkout@<sha> # v6.0.2`);
//! - every workflow has top-level `permissions` of at most `contents: read`
//!   and every job its own explicit `permissions`; `id-token: write` only on
//!   a job that signs (`cargo xtask release --keyless`) or publishes
//!   (`pypa/gh-action-pypi-publish`); every checkout drops its credentials;
//! - every `cargo xtask <command> --flag` a `run:` block calls exists: the
//!   built binary's `<command> --help` exits 0 and names each flag;
//! - the toolchains come from the pins (`pinned-toolchain.toml`), and the
//!   lint job runs fmt and clippy exactly as `cargo xtask ci` does;
//! - actionlint (with shellcheck) and `zizmor --offline` find nothing. They
//!   come from the hash-pinned test venv of `KILN_TEST_PYTHON`; without it
//!   that test says why it skips, unless `KILN_REQUIRE_PYTHON` is set.
//!
//! Every rule is also run on a small bad workflow, so each check is seen
//! failing.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

#[path = "support/common.rs"]
mod common;

use common::root;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use yaml_rust2::{Yaml, YamlLoader};

/// The workflows the project must have (tests, release, verification);
/// others found beside them are checked too.
const WORKFLOWS: [&str; 3] = ["ci.yml", "release.yml", "verify.yml"];

/// Every workflow file, sorted by name: (file name, text).
fn workflow_files() -> Vec<(String, String)> {
    let dir = root().join(".github/workflows");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    for wanted in WORKFLOWS {
        assert!(
            files.iter().any(|(name, _)| name == wanted),
            ".github/workflows/{wanted} is missing"
        );
    }
    files
}

// ---------------------------------------------------------------------------
// The workflow model: what the rules look at.
// ---------------------------------------------------------------------------

/// One workflow, parsed.
struct Workflow {
    name: String,
    text: String,
    doc: Yaml,
}

fn parse(name: &str, text: &str) -> Workflow {
    let mut docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(docs.len(), 1, "{name}: expected one YAML document");
    let doc = docs.remove(0);
    assert!(doc.as_hash().is_some(), "{name}: not a mapping");
    Workflow {
        name: name.to_string(),
        text: text.to_string(),
        doc,
    }
}

impl Workflow {
    /// The jobs in file order, with their ids.
    fn jobs(&self) -> Vec<(String, &Yaml)> {
        self.doc["jobs"]
            .as_hash()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.as_str().unwrap_or("?").to_string(), v))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every `uses:` value the YAML holds: reusable-workflow jobs and steps.
    fn uses(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (_, job) in self.jobs() {
            if let Some(u) = job["uses"].as_str() {
                out.push(u.to_string());
            }
            for step in steps(job) {
                if let Some(u) = step["uses"].as_str() {
                    out.push(u.to_string());
                }
            }
        }
        out
    }
}

fn steps(job: &Yaml) -> &[Yaml] {
    job["steps"].as_vec().map_or(&[], Vec::as_slice)
}

fn run_of(step: &Yaml) -> Option<&str> {
    step["run"].as_str()
}

/// A `uses:` as written on its line: the value and the comment after it.
#[derive(Debug)]
struct UsesLine {
    line: usize,
    value: String,
    comment: String,
}

/// Every line of the form `[- ]uses: VALUE [# COMMENT]`.
fn uses_lines(text: &str) -> Vec<UsesLine> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let t = t.strip_prefix("- ").map_or(t, str::trim_start);
        let Some(rest) = t.strip_prefix("uses:") else {
            continue;
        };
        let (value, comment) = match rest.find(" #") {
            Some(at) => (&rest[..at], rest[at + 2..].trim()),
            None => (rest, ""),
        };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        out.push(UsesLine {
            line: i + 1,
            value: value.to_string(),
            comment: comment.to_string(),
        });
    }
    out
}

/// A `uses:` that names this repository's own files (no pin needed: it is
/// the commit that runs).
fn is_local(uses: &str) -> bool {
    uses.starts_with("./") || uses.starts_with("$/")
}

fn is_full_sha(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `v1.2.3` (what a version comment must start with).
fn is_version(comment: &str) -> bool {
    let word = comment.split_whitespace().next().unwrap_or("");
    let Some(digits) = word.strip_prefix('v') else {
        return false;
    };
    let parts: Vec<&str> = digits.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

// ---------------------------------------------------------------------------
// Shell: finding `cargo xtask` invocations in `run:` blocks.
// ---------------------------------------------------------------------------

/// The simple commands of a shell script, as words: line continuations
/// joined, quotes removed, comments dropped, split at newlines, `;`, `&`,
/// `|`, `&&` and `||`. Redirections are kept as words of their own
/// (`>`, `2>`, `2>&1`) so that arguments can stop at them.
fn shell_commands(script: &str) -> Vec<Vec<String>> {
    let script = script.replace("\\\r\n", " ").replace("\\\n", " ");
    let chars: Vec<char> = script.chars().collect();
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let end_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '\\' if i + 1 < chars.len() => {
                in_word = true;
                word.push(chars[i + 1]);
                i += 1;
            }
            '#' if !in_word => {
                while i + 1 < chars.len() && chars[i + 1] != '\n' {
                    i += 1;
                }
            }
            ' ' | '\t' => end_word(&mut word, &mut in_word, &mut words),
            '\n' | ';' | '&' | '|' => {
                end_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
                if (c == '&' || c == '|') && chars.get(i + 1) == Some(&c) {
                    i += 1;
                }
            }
            '>' | '<' => {
                // `2>`, `>>`, `2>&1`, `<`: one redirection word.
                let mut op = if in_word && word.bytes().all(|b| b.is_ascii_digit()) {
                    in_word = false;
                    std::mem::take(&mut word)
                } else {
                    end_word(&mut word, &mut in_word, &mut words);
                    String::new()
                };
                op.push(c);
                while let Some(&n) = chars.get(i + 1) {
                    if n == '>' || n == '&' || (op.ends_with('&') && n.is_ascii_digit()) {
                        op.push(n);
                        i += 1;
                    } else {
                        break;
                    }
                }
                words.push(op);
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
        i += 1;
    }
    end_word(&mut word, &mut in_word, &mut words);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// One `cargo xtask ...` a `run:` block names.
#[derive(Debug, Clone, PartialEq)]
struct Invocation {
    job: String,
    /// The subcommand, if the invocation names one.
    command: Option<String>,
    /// Every `-x` / `--flag` given (an `=value` cut off).
    flags: Vec<String>,
}

/// Every `cargo xtask ...` a job's `run:` blocks name: commands, but also
/// inside `$(...)`, strings and messages (a command a message tells the
/// reader to run must exist as well).
fn xtask_invocations(job_id: &str, job: &Yaml) -> Vec<Invocation> {
    let mut out = Vec::new();
    for run in steps(job).iter().filter_map(run_of) {
        let run = run.replace("\\\r\n", " ").replace("\\\n", " ");
        for (at, m) in run.match_indices("cargo xtask") {
            let before = run[..at].chars().next_back();
            let after = run[at + m.len()..].chars().next();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
                || !after.is_none_or(char::is_whitespace)
            {
                continue;
            }
            let words = xtask_words(&run[at + m.len()..]);
            let command = words
                .first()
                .filter(|w| !w.starts_with('-'))
                .map(|w| w.trim_end_matches([',', '.', ':']).to_string());
            let flags = words
                .iter()
                .filter(|w| w.starts_with('-') && w.len() > 1)
                .map(|w| w.split('=').next().unwrap_or(w).to_string())
                .collect();
            out.push(Invocation {
                job: job_id.to_string(),
                command,
                flags,
            });
        }
    }
    out
}

/// The words after `cargo xtask`, up to the end of the invocation: a
/// newline, `)`, `;`, `|`, `&`, a redirection or a comment, or a quote,
/// backtick or backslash inside a word (the end of the string or message
/// the invocation is quoted in). A quote that opens a word is an argument
/// (`--version "$version"`), read to its closing quote.
fn xtask_words(rest: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\n' | ')' | ';' | '|' | '&' | '<' | '>' => break,
            '#' if word.is_empty() => break,
            '"' | '\'' | '`' if word.is_empty() => {
                let quoted: String = chars.by_ref().take_while(|&q| q != c).collect();
                words.push(quoted);
            }
            '"' | '\'' | '`' | '\\' => break,
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The words of the commands a script really runs with `program` as the
/// command word (after any `NAME=value` assignments): not echoed text.
fn commands_running(script: &str, program: &str) -> Vec<Vec<String>> {
    shell_commands(script)
        .into_iter()
        .filter_map(|words| {
            let first = words
                .iter()
                .position(|w| !w.contains('=') || w.starts_with(['-', '=']))?;
            (words[first] == program).then(|| words[first..].to_vec())
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The rules. Each returns the problems it finds, one line each.
// ---------------------------------------------------------------------------

/// Third-party `uses:` pinned by full SHA with a version comment on the line.
fn pinning_problems(wf: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    let lines = uses_lines(&wf.text);
    // Every `uses` the parser sees must be one the line scan sees (no flow
    // style or multi-line values hiding from the comment check).
    let mut from_yaml = wf.uses();
    let mut from_lines: Vec<String> = lines.iter().map(|l| l.value.clone()).collect();
    from_yaml.sort();
    from_lines.sort();
    if from_yaml != from_lines {
        problems.push(format!(
            "{}: the `uses:` values in the YAML ({from_yaml:?}) are not the ones written one per line as `uses: VALUE # vX.Y.Z` ({from_lines:?})",
            wf.name
        ));
    }
    for l in &lines {
        let at = format!("{}:{}", wf.name, l.line);
        if is_local(&l.value) {
            continue;
        }
        if let Some(image) = l.value.strip_prefix("docker://") {
            if !image.contains("@sha256:") {
                problems.push(format!("{at}: {} is not pinned by digest", l.value));
            }
            continue;
        }
        let Some((action, reference)) = l.value.rsplit_once('@') else {
            problems.push(format!("{at}: {} has no @ref", l.value));
            continue;
        };
        if action.split('/').filter(|p| !p.is_empty()).count() < 2 {
            problems.push(format!("{at}: {} is not OWNER/REPO[/PATH]@SHA", l.value));
        }
        if !is_full_sha(reference) {
            problems.push(format!(
                "{at}: {action}@{reference} is not pinned by a full 40-hex commit SHA"
            ));
        }
        if !is_version(&l.comment) {
            problems.push(format!(
                "{at}: {action} needs its version in a comment on the same line (`# vX.Y.Z`), found {:?}",
                l.comment
            ));
        }
    }
    problems
}

fn is_write(value: &Yaml) -> bool {
    value.as_str() == Some("write")
}

/// Explicit permissions everywhere, least privilege at the top, and
/// `id-token: write` only where something signs or publishes.
fn permission_problems(wf: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    let top = &wf.doc["permissions"];
    match top {
        Yaml::BadValue => problems.push(format!(
            "{}: no top-level `permissions:` (use `permissions: {{}}`)",
            wf.name
        )),
        Yaml::Hash(h) => {
            for (k, v) in h {
                let (k, v) = (k.as_str().unwrap_or("?"), v.as_str().unwrap_or("?"));
                if (k, v) != ("contents", "read") {
                    problems.push(format!(
                        "{}: top-level permission {k}: {v}: grant it on the job that needs it",
                        wf.name
                    ));
                }
            }
        }
        other => problems.push(format!(
            "{}: top-level permissions {other:?}: use `{{}}` or `contents: read`",
            wf.name
        )),
    }
    for (id, job) in wf.jobs() {
        let perms = &job["permissions"];
        match perms {
            Yaml::BadValue => problems.push(format!(
                "{}: job {id} has no explicit `permissions:`",
                wf.name
            )),
            Yaml::Hash(h) => {
                let id_token = h
                    .iter()
                    .any(|(k, v)| k.as_str() == Some("id-token") && is_write(v));
                if id_token && !signs_or_publishes(job) {
                    problems.push(format!(
                        "{}: job {id} has `id-token: write` but neither runs `cargo xtask release --keyless` nor uses pypa/gh-action-pypi-publish",
                        wf.name
                    ));
                }
            }
            other => problems.push(format!(
                "{}: job {id}: permissions {other:?}: list each one (never read-all/write-all)",
                wf.name
            )),
        }
    }
    problems
}

fn signs_or_publishes(job: &Yaml) -> bool {
    let publishes = steps(job).iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("pypa/gh-action-pypi-publish@"))
    });
    let signs = steps(job).iter().filter_map(run_of).any(|run| {
        commands_running(run, "cargo").iter().any(|words| {
            words.get(1..3) == Some(&["xtask".to_string(), "release".to_string()][..])
                && words.iter().any(|w| w == "--keyless")
        })
    });
    publishes || signs
}

/// Every checkout keeps no credentials (`persist-credentials: false`).
fn checkout_problems(wf: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, job) in wf.jobs() {
        for step in steps(job) {
            let is_checkout = step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"));
            let persist = &step["with"]["persist-credentials"];
            let off = persist.as_bool() == Some(false) || persist.as_str() == Some("false");
            if is_checkout && !off {
                problems.push(format!(
                    "{}: job {id}: actions/checkout without `persist-credentials: false`",
                    wf.name
                ));
            }
        }
    }
    problems
}

/// The pins of pinned-toolchain.toml: (rust channel, python version).
fn pins() -> (String, String) {
    let text = std::fs::read_to_string(root().join("pinned-toolchain.toml")).unwrap();
    let t: toml::Table = text.parse().unwrap();
    let channel = t["rust"]["channel"].as_str().unwrap().to_string();
    let python = t["python"]["version"].as_str().unwrap().to_string();
    // The workflows read the channel with
    // sed -n 's/^channel = "\(.*\)"$/\1/p': it must find exactly the pin.
    let by_sed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("channel = \"")?.strip_suffix('"'))
        .collect();
    assert_eq!(
        by_sed,
        [channel.as_str()],
        "pinned-toolchain.toml: the workflows' `sed` must find one `channel = \"...\"` line, the pin"
    );
    (channel, python)
}

/// Toolchains from the pins: a job that runs cargo first installs the
/// channel pinned-toolchain.toml names; setup-python asks for the pinned
/// Python.
fn toolchain_problems(wf: &Workflow, python_pin: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, job) in wf.jobs() {
        let mut installed = false;
        for step in steps(job) {
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/setup-python@"))
            {
                let asked = &step["with"]["python-version"];
                if asked.as_str() != Some(python_pin) {
                    problems.push(format!(
                        "{}: job {id}: setup-python asks for {asked:?}, pinned-toolchain.toml pins {python_pin:?}",
                        wf.name
                    ));
                }
            }
            let Some(run) = run_of(step) else { continue };
            if run.contains("rustup toolchain install") && run.contains("pinned-toolchain.toml") {
                installed = true;
            }
            let runs_cargo = !commands_running(run, "cargo").is_empty();
            if runs_cargo && !installed {
                problems.push(format!(
                    "{}: job {id} runs cargo before installing the toolchain of pinned-toolchain.toml",
                    wf.name
                ));
            }
        }
    }
    problems
}

/// Every problem the static rules find in one workflow.
fn static_problems(wf: &Workflow, python_pin: &str) -> Vec<String> {
    let mut problems = pinning_problems(wf);
    problems.extend(permission_problems(wf));
    problems.extend(checkout_problems(wf));
    problems.extend(toolchain_problems(wf, python_pin));
    problems
}

/// Every `cargo xtask` invocation a workflow names.
fn invocations(wf: &Workflow) -> Vec<Invocation> {
    wf.jobs()
        .iter()
        .flat_map(|(id, job)| xtask_invocations(id, job))
        .collect()
}

/// Runs the built binary's `<command> --help` for each command used (once
/// each) and checks the command exists and names every flag used.
fn help_problems(wf: &str, calls: &[Invocation]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut helps: BTreeMap<String, Result<String, String>> = BTreeMap::new();
    for call in calls {
        let Some(command) = &call.command else {
            problems.push(format!(
                "{wf}: job {}: `cargo xtask` without a command",
                call.job
            ));
            continue;
        };
        let help = helps.entry(command.clone()).or_insert_with(|| {
            let out = xtask(&[command, "--help"]);
            if out.status.success() {
                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
            } else {
                Err(String::from_utf8_lossy(&out.stderr).into_owned())
            }
        });
        match help {
            Err(stderr) => problems.push(format!(
                "{wf}: job {}: `cargo xtask {command}` is not a command: `{command} --help` failed: {}",
                call.job,
                stderr.lines().next().unwrap_or("")
            )),
            Ok(text) => {
                for flag in &call.flags {
                    if !names_flag(text, flag) {
                        problems.push(format!(
                            "{wf}: job {}: `cargo xtask {command}` has no flag {flag} (see `cargo xtask {command} --help`)",
                            call.job
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// Whether `help` lists `flag` as a whole word (`--key` is not `--keyless`).
fn names_flag(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(at, _)| {
        let before = help[..at].chars().next_back();
        let after = help[at + flag.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '-')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
    })
}

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

// ---------------------------------------------------------------------------
// The real workflows.
// ---------------------------------------------------------------------------

#[test]
fn workflows_are_pinned_least_privilege_and_use_the_pinned_toolchains() {
    let (_, python_pin) = pins();
    let mut problems = Vec::new();
    for (name, text) in workflow_files() {
        let wf = parse(&name, &text);
        assert!(!wf.jobs().is_empty(), "{name}: no jobs");
        problems.extend(static_problems(&wf, &python_pin));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn workflows_call_only_xtask_commands_and_flags_that_exist() {
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for (name, text) in workflow_files() {
        let wf = parse(&name, &text);
        let calls = invocations(&wf);
        problems.extend(help_problems(&name, &calls));
        seen.extend(calls.into_iter().filter_map(|c| c.command));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The commands the workflows exist to run are really there.
    for command in ["ci", "release", "verify"] {
        assert!(
            seen.iter().any(|c| c == command),
            "no workflow runs `cargo xtask {command}`"
        );
    }
}

#[test]
fn the_workflows_test_release_sign_publish_and_verify() {
    let files: BTreeMap<String, Workflow> = workflow_files()
        .into_iter()
        .map(|(n, t)| (n.clone(), parse(&n, &t)))
        .collect();
    let mut problems = Vec::new();

    // ci.yml: fmt and clippy exactly as `cargo xtask ci` runs them, the
    // tests, and a release on Linux and macOS whose SHA256SUMS are compared.
    let ci = &files["ci.yml"];
    let ci_rs = include_str!("../src/ci.rs");
    for command in [
        "fmt --all --check",
        "clippy --workspace --all-targets --locked -- -D warnings",
    ] {
        assert!(
            ci_rs.contains(command),
            "xtask/src/ci.rs no longer runs `cargo {command}`: update ci.yml and this test"
        );
        if !ci.text.contains(&format!("cargo {command}")) {
            problems.push(format!(
                "ci.yml does not run `cargo {command}` as cargo xtask ci does"
            ));
        }
    }
    let ci_calls = invocations(ci);
    if !ci_calls.iter().any(|c| c.command.as_deref() == Some("ci")) {
        problems.push("ci.yml does not run `cargo xtask ci`".into());
    }
    if !ci_calls.iter().any(|c| {
        c.command.as_deref() == Some("release") && c.flags.iter().any(|f| f == "--no-sign")
    }) {
        problems.push("ci.yml does not run `cargo xtask release --no-sign`".into());
    }
    for os in ["ubuntu-latest", "macos-latest"] {
        if !ci.text.contains(os) {
            problems.push(format!("ci.yml does not release on {os}"));
        }
    }
    if !ci.text.contains("cmp -s") {
        problems.push("ci.yml does not compare the SHA256SUMS byte for byte".into());
    }

    // release.yml: on the release tags, keyless, no caches, PyPI through
    // the environment.
    let release = &files["release.yml"];
    let tags = &release.doc["on"]["push"]["tags"];
    if tags.as_vec().map(Vec::as_slice) != Some(&[Yaml::String("kiln-sums-v*".into())][..]) {
        problems.push(format!(
            "release.yml runs on tags {tags:?}, not kiln-sums-v*"
        ));
    }
    if !invocations(release).iter().any(|c| {
        c.command.as_deref() == Some("release") && c.flags.iter().any(|f| f == "--keyless")
    }) {
        problems.push("release.yml does not run `cargo xtask release --keyless`".into());
    }
    if release.text.contains("actions/cache") || release.text.contains("cache:") {
        problems.push("release.yml uses a cache (cache poisoning)".into());
    }
    let pypi_jobs: Vec<String> = release
        .jobs()
        .into_iter()
        .filter(|(_, job)| {
            steps(job).iter().any(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("pypa/gh-action-pypi-publish@"))
            })
        })
        .map(|(id, job)| {
            if job["environment"]["name"].as_str() != Some("pypi") {
                problems.push(format!(
                    "release.yml: job {id} publishes without `environment: pypi`"
                ));
            }
            id
        })
        .collect();
    if pypi_jobs.len() != 1 {
        problems.push(format!(
            "release.yml: {} PyPI publish jobs, expected one",
            pypi_jobs.len()
        ));
    }
    for (id, job) in release.jobs() {
        // The other direction of the id-token rule: signing keyless and
        // trusted publishing both need the OIDC token.
        if signs_or_publishes(job) && !is_write(&job["permissions"]["id-token"]) {
            problems.push(format!(
                "release.yml: job {id} signs or publishes without `id-token: write`"
            ));
        }
        let contents = &job["permissions"]["contents"];
        let attaches = steps(job)
            .iter()
            .filter_map(run_of)
            .any(|r| r.contains("gh release"));
        if is_write(contents) != attaches {
            problems.push(format!(
                "release.yml: job {id}: `contents: write` belongs to the job attaching to the GitHub release, and only there"
            ));
        }
    }

    // verify.yml: published releases, weekly, by hand; verify against the
    // GitHub release and PyPI; the explanation in the job summary.
    let verify = &files["verify.yml"];
    for trigger in ["release", "schedule", "workflow_dispatch"] {
        if verify.doc["on"][trigger].is_badvalue() {
            problems.push(format!("verify.yml does not run on {trigger}"));
        }
    }
    let verify_calls = invocations(verify);
    let Some(call) = verify_calls
        .iter()
        .find(|c| c.command.as_deref() == Some("verify"))
    else {
        panic!("verify.yml does not run `cargo xtask verify`");
    };
    for flag in ["--project", "--version", "--against", "--index", "--json"] {
        if !call.flags.iter().any(|f| f == flag) {
            problems.push(format!("verify.yml: `cargo xtask verify` without {flag}"));
        }
    }
    for needle in [
        "https://pypi.org/simple/",
        "/releases/download/",
        "GITHUB_STEP_SUMMARY",
    ] {
        if !verify.text.contains(needle) {
            problems.push(format!("verify.yml does not mention {needle}"));
        }
    }
    let release_runners: Vec<&str> = release
        .jobs()
        .iter()
        .filter_map(|(_, j)| j["runs-on"].as_str())
        .collect();
    for (id, job) in verify.jobs() {
        let runner = job["runs-on"].as_str().unwrap_or("");
        if release_runners.contains(&runner) {
            problems.push(format!(
                "verify.yml: job {id} runs on {runner}, as the release does"
            ));
        }
    }

    // Concurrency groups everywhere: CI cancels, release and verify never do.
    for (name, cancel) in [
        ("ci.yml", true),
        ("release.yml", false),
        ("verify.yml", false),
    ] {
        let c = &files[name].doc["concurrency"];
        if c["group"].as_str().is_none() || c["cancel-in-progress"].as_bool() != Some(cancel) {
            problems.push(format!(
                "{name}: needs `concurrency:` with a group and `cancel-in-progress: {cancel}`"
            ));
        }
    }
    // No secrets: CI needs none, trusted publishing and keyless need none.
    for (name, wf) in &files {
        if wf.text.contains("secrets.") {
            problems.push(format!("{name} uses a secret"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// Each rule, failing on a small bad workflow.
// ---------------------------------------------------------------------------

const SHA: &str = "de0fac2e4500dabe0009e67214ff5f5447ce83dd";

/// A one-job workflow with these steps (indented for `steps:`) and job
/// permissions.
fn one_job(permissions: &str, steps: &str) -> Workflow {
    let text = format!(
        "name: t\non: push\npermissions: {{}}\njobs:\n  j:\n    runs-on: ubuntu-24.04\n{permissions}    steps:\n{steps}"
    );
    parse("bad.yml", &text)
}

const READ: &str = "    permissions:\n      contents: read\n";

fn checkout(with: &str) -> String {
    format!(
        "      - uses: actions/checkout@{SHA} # v6.0.2\n        with:\n          persist-credentials: false\n{with}"
    )
}

fn problems_of(wf: &Workflow) -> Vec<String> {
    static_problems(wf, "3.11")
}

fn assert_one_problem(wf: &Workflow, containing: &str) {
    let problems = problems_of(wf);
    assert!(
        problems.len() == 1 && problems[0].contains(containing),
        "expected one problem containing {containing:?}, got {problems:#?}"
    );
}

#[test]
fn a_good_small_workflow_has_no_problems() {
    let wf = one_job(READ, &checkout(""));
    assert_eq!(problems_of(&wf), Vec::<String>::new());
}

#[test]
fn unpinned_actions_are_refused() {
    let wf = one_job(
        READ,
        "      - uses: actions/checkout@v4 # v4.2.2\n        with:\n          persist-credentials: false\n",
    );
    assert_one_problem(&wf, "not pinned by a full 40-hex commit SHA");
    let short = one_job(
        READ,
        "      - uses: actions/checkout@de0fac2 # v6.0.2\n        with:\n          persist-credentials: false\n",
    );
    assert_one_problem(&short, "not pinned by a full 40-hex commit SHA");
    let upper = one_job(READ, &checkout("").replace(SHA, &SHA.to_uppercase()));
    assert_one_problem(&upper, "not pinned by a full 40-hex commit SHA");
    let reusable = parse(
        "bad.yml",
        "on: push\npermissions: {}\njobs:\n  j:\n    permissions: {}\n    uses: octo/repo/.github/workflows/x.yml@main # v1.0.0\n",
    );
    assert_one_problem(
        &reusable,
        "octo/repo/.github/workflows/x.yml@main is not pinned",
    );
    let docker = one_job(READ, "      - uses: docker://alpine:3.20\n");
    assert_one_problem(&docker, "not pinned by digest");
}

#[test]
fn a_pin_needs_its_version_in_a_comment_on_the_same_line() {
    let none = one_job(READ, &checkout("").replace(" # v6.0.2", ""));
    assert_one_problem(&none, "needs its version in a comment");
    let not_a_version = one_job(READ, &checkout("").replace("# v6.0.2", "# main"));
    assert_one_problem(&not_a_version, "needs its version in a comment");
    let major_only = one_job(READ, &checkout("").replace("# v6.0.2", "# v6"));
    assert_one_problem(&major_only, "needs its version in a comment");
    let next_line = one_job(
        READ,
        &checkout("").replace(" # v6.0.2", "\n        # v6.0.2"),
    );
    assert_one_problem(&next_line, "needs its version in a comment");
    // A `uses` the line scan cannot see is a problem, not a pass.
    let flow = one_job(
        READ,
        &format!(
            "      - {{ uses: actions/checkout@{SHA}, with: {{ persist-credentials: false }} }} # v6.0.2\n"
        ),
    );
    assert_one_problem(&flow, "not the ones written one per line");
    // Local actions and workflows are the commit that runs: no pin.
    let local = one_job(
        READ,
        "      - uses: ./.github/actions/x\n      - uses: $/.github/actions/y\n",
    );
    assert_eq!(problems_of(&local), Vec::<String>::new());
}

#[test]
fn every_job_needs_explicit_permissions() {
    let wf = one_job("", &checkout(""));
    assert_one_problem(&wf, "job j has no explicit `permissions:`");
    let write_all = one_job("    permissions: write-all\n", &checkout(""));
    assert_one_problem(&write_all, "never read-all/write-all");
    let no_top = parse(
        "bad.yml",
        &one_job(READ, &checkout(""))
            .text
            .replace("permissions: {}\n", ""),
    );
    assert_one_problem(&no_top, "no top-level `permissions:`");
    let top_write = parse(
        "bad.yml",
        &one_job(READ, &checkout(""))
            .text
            .replace("permissions: {}\n", "permissions:\n  contents: write\n"),
    );
    assert_one_problem(&top_write, "top-level permission contents: write");
}

#[test]
fn id_token_write_only_where_something_signs_or_publishes() {
    let id_token = "    permissions:\n      contents: read\n      id-token: write\n";
    let plain = one_job(
        id_token,
        &format!("{}      - run: cargo xtask release --no-sign\n", install()),
    );
    assert_one_problem(&plain, "has `id-token: write` but");
    let keyless = one_job(
        id_token,
        &format!(
            "{}      - run: |\n          cargo xtask release \\\n            --keyless --json > release.json\n",
            install()
        ),
    );
    assert_eq!(problems_of(&keyless), Vec::<String>::new());
    let publish = one_job(
        id_token,
        "      - uses: pypa/gh-action-pypi-publish@ed0c53931b1dc9bd32cbe73a98c7f6766f8a527e # v1.13.0\n",
    );
    assert_eq!(problems_of(&publish), Vec::<String>::new());
    // Echoing a keyless release is not one.
    let echo = one_job(
        id_token,
        "      - run: echo cargo xtask release --keyless\n",
    );
    assert_one_problem(&echo, "has `id-token: write` but");
}

#[test]
fn checkouts_must_drop_their_credentials() {
    let wf = one_job(
        READ,
        &checkout("").replace(
            "          persist-credentials: false\n",
            "          fetch-depth: 0\n",
        ),
    );
    assert_one_problem(&wf, "persist-credentials: false");
}

fn install() -> String {
    "      - run: |\n          channel=\"$(sed -n 's/^channel = \"\\(.*\\)\"$/\\1/p' pinned-toolchain.toml)\"\n          rustup toolchain install \"$channel\"\n".to_string()
}

#[test]
fn toolchains_come_from_the_pins() {
    let no_install = one_job(READ, "      - run: cargo xtask ci\n");
    assert_one_problem(&no_install, "runs cargo before installing the toolchain");
    let ok = one_job(READ, &format!("{}      - run: cargo xtask ci\n", install()));
    assert_eq!(problems_of(&ok), Vec::<String>::new());
    let python = one_job(
        READ,
        "      - uses: actions/setup-python@a309ff8b426b58ec0e2a45f0f869d46889d02405 # v6.2.0\n        with:\n          python-version: \"3.12\"\n",
    );
    assert_one_problem(&python, "setup-python asks for");
}

#[test]
fn shell_commands_split_like_a_shell() {
    let words = shell_commands(
        "cargo xtask verify --project kiln-sums \\\n  --against \"$url\" --json > verify.json 2> err || status=$?  # comment\necho 'a b' && cargo fmt",
    );
    assert_eq!(
        words,
        [
            vec![
                "cargo",
                "xtask",
                "verify",
                "--project",
                "kiln-sums",
                "--against",
                "$url",
                "--json",
                ">",
                "verify.json",
                "2>",
                "err"
            ],
            vec!["status=$?"],
            vec!["echo", "a b"],
            vec!["cargo", "fmt"],
        ]
    );
    assert_eq!(shell_commands("a 2>&1 | b"), [vec!["a", "2>&1"], vec!["b"]]);
}

/// The invocations and help problems of a one-job workflow running `script`.
fn call_problems(script: &str) -> Vec<String> {
    let indented: String = script.lines().map(|l| format!("          {l}\n")).collect();
    let wf = one_job(READ, &format!("{}      - run: |\n{indented}", install()));
    help_problems("bad.yml", &invocations(&wf))
}

#[test]
fn unknown_xtask_commands_and_flags_are_refused() {
    assert_eq!(
        call_problems("cargo xtask release --keyless --json > r.json"),
        Vec::<String>::new()
    );
    assert_eq!(
        call_problems(
            "cargo xtask verify --project kiln-sums \\\n  --against \"$u\" --index=https://pypi.org/simple/ --json"
        ),
        Vec::<String>::new()
    );

    let p = call_problems("cargo xtask relase --no-sign");
    assert!(
        p.len() == 1 && p[0].contains("`cargo xtask relase` is not a command"),
        "{p:#?}"
    );
    let p = call_problems("cargo xtask release --keyles");
    assert!(
        p.len() == 1 && p[0].contains("has no flag --keyles"),
        "{p:#?}"
    );
    // A prefix of a real flag is not that flag: --key exists, --ke does not.
    let p = call_problems("cargo xtask release --ke x");
    assert!(p.len() == 1 && p[0].contains("has no flag --ke"), "{p:#?}");
    // A flag after a line continuation still counts.
    let p =
        call_problems("cargo xtask verify --project kiln-sums \\\n  --againts https://example.org");
    assert!(
        p.len() == 1 && p[0].contains("has no flag --againts"),
        "{p:#?}"
    );
    let p = call_problems("cargo xtask --json");
    assert!(p.len() == 1 && p[0].contains("without a command"), "{p:#?}");
    // Inside a substitution or a message, a command must exist as well.
    let p = call_problems("out=\"$(cargo xtask relase)\"");
    assert!(
        p.len() == 1 && p[0].contains("`cargo xtask relase` is not a command"),
        "{p:#?}"
    );
    let p = call_problems("echo \"::error::run `cargo xtask verify --versoin 1` first\"");
    assert!(
        p.len() == 1 && p[0].contains("has no flag --versoin"),
        "{p:#?}"
    );
    let p = call_problems("cargo xtask verify --version \"$v\" --agianst \"$u\" --json > v.json");
    assert!(
        p.len() == 1 && p[0].contains("has no flag --agianst"),
        "{p:#?}"
    );
    // Not a word boundary: not an invocation.
    assert_eq!(
        call_problems("echo mycargo xtask relase"),
        Vec::<String>::new()
    );
}

#[test]
fn names_flag_matches_whole_flags_only() {
    let help = "      --key <PATH>   a key\n      --keyless      keyless\n  -h, --help\n";
    assert!(names_flag(help, "--key"));
    assert!(names_flag(help, "--keyless"));
    assert!(names_flag(help, "-h"));
    assert!(!names_flag(help, "--ke"));
    assert!(!names_flag(help, "--keyles"));
    assert!(!names_flag(help, "-k"));
}

// ---------------------------------------------------------------------------
// actionlint and zizmor, from the hash-pinned test venv.
// ---------------------------------------------------------------------------

/// A tool installed beside the interpreter (the venv's bin directory).
fn venv_tool(python: &Path, name: &str) -> PathBuf {
    let tool = python.parent().unwrap().join(name);
    assert!(
        tool.is_file(),
        "{} is missing: xtask/python/requirements.txt installs it (cargo xtask ci rebuilds the venv when that file changes)",
        tool.display()
    );
    tool
}

fn run(tool: &Path, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// actionlint on `files` (none: every workflow of the repository at `dir`),
/// with the venv's shellcheck on every `run:` block.
fn actionlint(python: &Path, dir: &Path, files: &[&str]) -> (bool, String) {
    let shellcheck = venv_tool(python, "shellcheck");
    let mut args = vec!["-no-color", "-shellcheck", shellcheck.to_str().unwrap()];
    args.extend(files);
    run(&venv_tool(python, "actionlint"), &args, dir)
}

fn zizmor(python: &Path, dir: &Path) -> (bool, String) {
    run(
        &venv_tool(python, "zizmor"),
        &[
            "--offline",
            "--no-progress",
            "--color",
            "never",
            ".github/workflows",
        ],
        dir,
    )
}

#[test]
fn actionlint_and_zizmor_find_nothing() {
    let Some(python) = common::python("actionlint and zizmor") else {
        return;
    };
    let root = root();
    let (ok, out) = actionlint(&python, &root, &[]);
    assert!(ok, "actionlint found problems in .github/workflows:\n{out}");
    let (ok, out) = zizmor(&python, &root);
    assert!(
        ok,
        "zizmor --offline found problems in .github/workflows:\n{out}"
    );
}

#[test]
fn actionlint_and_zizmor_do_find_problems() {
    let Some(python) = common::python("actionlint and zizmor") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    // Template injection, an unpinned action with its credentials kept, a
    // job that needs one that does not exist, and an unquoted variable
    // (shellcheck, through actionlint).
    std::fs::write(
        workflows.join("bad.yml"),
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    needs: nope\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo \"${{ github.event.pull_request.title }}\" && ls $HOME\n",
    )
    .unwrap();
    let (ok, out) = actionlint(&python, dir.path(), &[".github/workflows/bad.yml"]);
    assert!(!ok, "actionlint passed a bad workflow:\n{out}");
    assert!(out.contains("nope") && out.contains("SC2086"), "{out}");
    let (ok, out) = zizmor(&python, dir.path());
    assert!(!ok, "zizmor passed a bad workflow:\n{out}");
    for audit in ["template-injection", "unpinned-uses", "artipacked"] {
        assert!(out.contains(audit), "zizmor did not report {audit}:\n{out}");
    }
}
