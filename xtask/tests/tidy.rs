//! Conventions, enforced by `cargo test`: the pins agree with each other,
//! the crate graph points the way ARCHITECTURE.md says, every crate takes
//! its versions and lints from the workspace, every module says what it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn toml_file(path: &Path) -> toml::Table {
    toml::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn crate_manifests() -> BTreeMap<String, toml::Table> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root().join("crates"))
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.expect("crates/ walks");
        let manifest = entry.path().join("Cargo.toml");
        if manifest.is_file() {
            out.insert(
                entry.file_name().to_string_lossy().into_owned(),
                toml_file(&manifest),
            );
        }
    }
    out.insert("xtask".into(), toml_file(&root().join("xtask/Cargo.toml")));
    out
}

#[test]
fn rust_toolchain_agrees_with_the_pin() {
    let pins = toml_file(&root().join("pinned-toolchain.toml"));
    let toolchain = toml_file(&root().join("rust-toolchain.toml"));
    assert_eq!(
        pins["rust"]["channel"].as_str(),
        toolchain["toolchain"]["channel"].as_str(),
        "rust-toolchain.toml and pinned-toolchain.toml must pin the same Rust"
    );
}

#[test]
fn deflate_implementation_agrees_with_cargo_lock() {
    let pins = toml_file(&root().join("pinned-toolchain.toml"));
    let lock = toml_file(&root().join("Cargo.lock"));
    let implementation = pins["compression"]["implementation"].as_str().unwrap();
    let pinned = pins["compression"][implementation].as_str().unwrap();
    let locked: Vec<_> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"].as_str() == Some(implementation))
        .map(|p| p["version"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        locked,
        vec![pinned.to_string()],
        "Cargo.lock must hold exactly the pinned {implementation}"
    );
}

#[test]
fn mirror_recompressor_agrees_with_cargo_lock() {
    let pins = toml_file(&root().join("pinned-toolchain.toml"));
    let lock = toml_file(&root().join("Cargo.lock"));
    let pinned = pins["mirror"]["zopfli"].as_str().unwrap();
    let locked: Vec<_> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"].as_str() == Some("zopfli"))
        .map(|p| p["version"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        locked,
        vec![pinned.to_string()],
        "Cargo.lock must hold exactly the pinned zopfli"
    );
}

/// The layers of ARCHITECTURE.md, bottom to top.
fn layer(name: &str) -> usize {
    match name {
        "kiln-names" | "kiln-digest" | "kiln-fs" => 0,
        "kiln-archive" | "kiln-metadata" | "kiln-record" | "kiln-lock" | "kiln-provenance"
        | "kiln-index" => 1,
        "kiln-native" | "kiln-canon" => 2,
        // The wheelhouse's decisions: formats and archives, no edge.
        "kiln-wheelhouse" => 2,
        // TUF metadata over kiln-provenance's ed25519 keys: an engine.
        "kiln-tuf" => 2,
        // What a publisher used, inferred from their files: an engine over kiln-archive.
        "kiln-infer" => 2,
        // The edge crates (network, Sigstore, git): above the formats they
        // speak, beside the engines.
        "kiln-fetch" | "kiln-sigstore" | "kiln-git" => 2,
        "kiln-diff" | "kiln-pep517" => 3,
        // The mirror: over kiln-canon's RECORD check and the formats.
        "kiln-mirror" => 3,
        // The mirror's loopback HTTP server: a network edge.
        "kiln-serve" => 2,
        // Test support: a dev-dependency of the libraries whose tests read
        // the real-world corpus, never their dependency (checked below).
        "kiln-corpus" => 3,
        // Every command's --json report: above kiln-diff, whose report it embeds.
        "kiln-report" => 4,
        // The release pipeline's decisions, over records, locks and kiln-diff.
        "kiln-release" => 4,
        // verify's decisions: over kiln-diff, whose reports explain a difference.
        "kiln-verify" => 4,
        // Distfiles: distinfo syntaxes, the cache and the classification over kiln-diff.
        "kiln-distfiles" => 4,
        "xtask" => 5,
        other => panic!("crate {other} has no layer: add it to tidy.rs and ARCHITECTURE.md"),
    }
}

#[test]
fn dependencies_point_down_and_format_crates_are_independent() {
    for (name, manifest) in crate_manifests() {
        let deps = manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .cloned()
            .unwrap_or_default();
        for dep in deps.keys().filter(|d| d.starts_with("kiln-")) {
            assert!(
                layer(dep) < layer(&name),
                "{name} depends on {dep}: dependencies must point to a lower layer (ARCHITECTURE.md)"
            );
        }
        if name == "kiln-archive" {
            assert!(
                !deps.keys().any(|d| d.starts_with("kiln-")),
                "kiln-archive knows nothing of Python, so it depends on no other kiln crate"
            );
        }
        assert!(
            name == "xtask" || !deps.contains_key("kiln-corpus"),
            "{name} depends on kiln-corpus: it is test support (and the bench's), only a [dev-dependencies] entry of a library"
        );
        if name != "xtask" {
            for banned in ["clap", "indicatif"] {
                assert!(
                    !deps.contains_key(banned),
                    "{name} depends on {banned}: the CLI belongs to xtask"
                );
            }
            if !NETWORK_EDGES.contains(&name.as_str()) {
                let network: Vec<_> = deps.keys().filter(|d| is_network_crate(d)).collect();
                assert!(
                    network.is_empty(),
                    "{name} depends on {network:?}: only xtask and the network edge crates ({}) touch the network",
                    NETWORK_EDGES.join(", ")
                );
            }
            let edge = |c: &str| NETWORK_EDGES.contains(&c) || PROCESS_EDGES.contains(&c);
            for dep in deps.keys().filter(|d| edge(d)) {
                assert!(
                    edge(&name),
                    "{name} depends on the edge crate {dep}: a library that is no edge itself must not reach the network or spawn processes through one"
                );
            }
            if !PROCESS_EDGES.contains(&name.as_str()) {
                assert!(
                    !deps.contains_key("xshell"),
                    "{name} depends on xshell: only xtask and the process edge crates ({}) spawn processes",
                    PROCESS_EDGES.join(", ")
                );
            }
        }
    }
}

/// The crates besides xtask that may use the network (HTTP, Sigstore's
/// services), and so depend on the crates that do. kiln-corpus downloads
/// the pinned corpus for tests and the bench (no library depends on it).
const NETWORK_EDGES: &[&str] = &["kiln-fetch", "kiln-sigstore", "kiln-corpus", "kiln-serve"];
/// The crates besides xtask that may spawn processes.
const PROCESS_EDGES: &[&str] = &["kiln-git", "kiln-pep517"];

fn is_network_crate(dep: &str) -> bool {
    ["reqwest", "ureq", "hyper", "tokio"].contains(&dep) || dep.starts_with("sigstore-")
}

#[test]
fn only_the_process_edges_spawn_processes() {
    for name in crate_manifests().keys() {
        if name == "xtask" || PROCESS_EDGES.contains(&name.as_str()) {
            continue;
        }
        let src = root().join("crates").join(name).join("src");
        for entry in walkdir::WalkDir::new(&src).sort_by_file_name() {
            let entry = entry.unwrap();
            if entry.path().extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = read(entry.path());
            // The library's own code: a test module (at the end, as ours
            // are) may set up fixtures with a process.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for spawn in ["Command::new", "process::Command", "xshell", "Command::"] {
                assert!(
                    !code.contains(spawn),
                    "{} uses {spawn}: only xtask and the process edge crates ({}) spawn processes",
                    entry.path().display(),
                    PROCESS_EDGES.join(", ")
                );
            }
        }
    }
}

#[test]
fn versions_and_lints_come_from_the_workspace() {
    for (name, manifest) in crate_manifests() {
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(deps) = manifest.get(section).and_then(|d| d.as_table()) else {
                continue;
            };
            for (dep, spec) in deps {
                assert!(
                    spec.get("workspace").and_then(|w| w.as_bool()) == Some(true),
                    "{name}: [{section}] {dep} must be `{dep}.workspace = true` (versions live in the root Cargo.toml)"
                );
            }
        }
        assert!(
            manifest
                .get("lints")
                .and_then(|l| l.get("workspace"))
                .and_then(|w| w.as_bool())
                == Some(true),
            "{name}: add `[lints] workspace = true`"
        );
        assert_eq!(
            manifest["package"]
                .get("publish")
                .and_then(|p| p.get("workspace"))
                .and_then(|w| w.as_bool()),
            Some(true),
            "{name}: add `publish.workspace = true` (nothing is published)"
        );
    }
}

#[test]
fn workspace_dependencies_are_exact() {
    let manifest = toml_file(&root().join("Cargo.toml"));
    for (dep, spec) in manifest["workspace"]["dependencies"].as_table().unwrap() {
        if spec.get("path").is_some() {
            continue;
        }
        let version = spec
            .as_str()
            .or_else(|| spec.get("version").and_then(|v| v.as_str()))
            .unwrap_or("");
        assert!(
            version.starts_with('='),
            "[workspace.dependencies] {dep} = {version:?}: pin it with `=x.y.z`"
        );
    }
}

#[test]
fn architecture_md_names_every_crate() {
    let text = read(&root().join("ARCHITECTURE.md"));
    for name in crate_manifests().keys() {
        assert!(
            text.contains(name.as_str()),
            "ARCHITECTURE.md does not mention {name}"
        );
    }
}

#[test]
fn every_rust_file_says_what_it_is() {
    for dir in ["crates", "xtask/src"] {
        for entry in walkdir::WalkDir::new(root().join(dir)).sort_by_file_name() {
            let entry = entry.unwrap();
            let path = entry.path();
            let in_src = path.components().any(|c| c.as_os_str() == "src");
            if path.extension().is_some_and(|e| e == "rs") && in_src && !path.ends_with("tests.rs")
            {
                let text = read(path);
                assert!(
                    text.trim_start().starts_with("//!"),
                    "{} must open with a `//!` paragraph on what it is and why",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn readme_gives_the_two_commands_and_ci_runs_the_test_command() {
    let readme = read(&root().join("README.md"));
    assert!(
        readme.contains("cargo xtask release"),
        "README.md must give the main command"
    );
    assert!(
        readme.contains("cargo xtask ci"),
        "README.md must give the test command"
    );
    let ci = read(&root().join(".ci/run"));
    assert!(
        ci.contains("cargo xtask ci"),
        ".ci/run must run the README's test command"
    );
}

/// The command modules of xtask (`main.rs` dispatches to them); each is a
/// file `<name>.rs`, with its own folder `<name>/` when it has parts.
const COMMANDS: &[&str] = &[
    "release",
    "build",
    "lock",
    "keygen",
    "verify",
    "diff",
    "normalize",
    "ci",
    "bench",
    "wheelhouse",
    "distfiles",
    "tuf",
];

/// The top-level modules `text` names as `crate::X` (in paths and in
/// `use crate::{X, Y::Z}` groups).
fn crate_modules(text: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group, at brace depth 0 (a nested group
            // names items inside a module already listed), up to its `}`.
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.push(ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

#[test]
fn crate_modules_are_found_in_paths_and_groups() {
    let text = "use crate::build::X;\nuse crate::{lock, report::{a, b}, pins::Pins};\nlet _ = crate::diff::f();";
    assert_eq!(
        crate_modules(text),
        ["build", "lock", "report", "pins", "diff"]
    );
}

#[test]
fn no_module_imports_a_command_module() {
    let src = root().join("xtask/src");
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(&src).unwrap();
        // `bench/tools.rs` and `bench.rs` are both the bench module.
        let own = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if own == "main" || own == "tidy" {
            continue;
        }
        for module in crate_modules(&read(path)) {
            if module != own && COMMANDS.contains(&module.as_str()) {
                problems.push(format!(
                    "{}: uses crate::{module}, a command module",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "a command module is used only by main.rs; move what is shared into a support module or a crate:\n{}",
        problems.join("\n")
    );
}

/// The repository's own text files (what git would track), sorted.
fn repository_text_files() -> Vec<PathBuf> {
    let skip = ["target", ".git", "dist", "__pycache__"];
    let text = [
        "rs", "toml", "md", "yml", "yaml", "py", "txt", "json", "cfg", "sh", "in",
    ];
    walkdir::WalkDir::new(root())
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !skip.contains(&e.file_name().to_string_lossy().as_ref()))
        .map(|e| e.expect("the repository walks"))
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| text.contains(&x.to_string_lossy().as_ref()))
                || p.file_name().is_some_and(|n| n == "run")
        })
        .collect()
}

#[test]
fn nothing_reaches_outside_the_repository_or_cites_an_issue_number() {
    // Spelled in pieces so this file does not match itself.
    let outside = ["..", "/shared"].concat();
    let mut problems = Vec::new();
    for path in repository_text_files() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let shown = path
            .strip_prefix(root())
            .unwrap_or(&path)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            if lower.contains(&outside) {
                problems.push(format!("{shown}:{}: reads outside the repository", n + 1));
            }
            let cites = lower.match_indices("issue").any(|(i, _)| {
                let rest = lower[i + 5..].trim_start_matches([' ', '#']);
                rest.len() < lower.len() - i - 5 && rest.starts_with(|c: char| c.is_ascii_digit())
            });
            if cites {
                problems.push(format!(
                    "{shown}:{}: cites an issue number; say the reason instead",
                    n + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
